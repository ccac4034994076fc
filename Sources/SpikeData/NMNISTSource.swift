import Foundation
import SpikeCore

/// How an N-MNIST event stream becomes a network input (Deng et al. 2020, section 3.1 and Fig. 4).
/// All tensors are HWC on the 34x34 sensor; event channels are polarities (0 = OFF, 1 = ON).
public enum EventRepresentation: Sendable, Equatable, CustomStringConvertible {
    /// ANN input of model 5: events per pixel and polarity divided by the peak count,
    /// `34 x 34 x 2` (``EventBinning/intensityImage(_:height:width:)``).
    case intensity
    /// ANN input of model 4: the unrolled binary image, `bins` binary frames of `binMicroseconds`
    /// stacked along the channel axis, `34 x 34 x (2 * bins)`, channel `t * 2 + polarity`
    /// (``EventBinning/unrolledBinaryImage(_:binMicroseconds:bins:height:width:)``).
    case binary(binMicroseconds: Int, bins: Int)
    /// SNN input: `timesteps` binary frames `34 x 34 x 2` of `binMicroseconds` each
    /// (``EventBinning/frames(_:binMicroseconds:timesteps:height:width:)``), concatenated frame after
    /// frame into one vector of `timesteps * 2312` values.
    case frames(binMicroseconds: Int, timesteps: Int)

    /// Nominal length of an N-MNIST recording (three 100 ms saccades): 300 ms. The recordings of
    /// nmnist-small last 297...336 ms; events after the last bin are dropped.
    public static let recordingMicroseconds = 300_000

    /// Parses a command-line representation name (case-insensitive):
    /// - `intensity`: ``intensity`` (`binMilliseconds` and `timesteps` are not used);
    /// - `binary`: ``binary(binMicroseconds:bins:)`` with `bins = ceil(300 ms / bin)` so the bins
    ///   cover the nominal recording (10 ms -> 30 bins); `binary:N` gives `N` bins instead;
    /// - `frames`: ``frames(binMicroseconds:timesteps:)`` with `timesteps` frames.
    ///
    /// `binMilliseconds` (the users' `--bin-ms`) is converted to microseconds exactly: it must be
    /// positive and a whole number of microseconds (`0.5` is 500 µs; `0.0005` is rejected).
    public init(parsing text: String, binMilliseconds: Double, timesteps: Int) throws {
        let name = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = name.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "intensity" where parts.count == 1:
            self = .intensity
        case "binary":
            let bin = try Self.binMicroseconds(milliseconds: binMilliseconds)
            var bins = (Self.recordingMicroseconds + bin - 1) / bin
            if parts.count == 2 {
                guard let n = Int(parts[1]), n > 0 else {
                    throw SpikeError("representation '\(text)': the number of bins after 'binary:' must be a positive integer")
                }
                bins = n
            }
            self = .binary(binMicroseconds: bin, bins: bins)
        case "frames" where parts.count == 1:
            let bin = try Self.binMicroseconds(milliseconds: binMilliseconds)
            guard timesteps > 0 else {
                throw SpikeError("representation 'frames': timesteps must be positive, got \(timesteps)")
            }
            self = .frames(binMicroseconds: bin, timesteps: timesteps)
        default:
            throw SpikeError("unknown N-MNIST event representation '\(text)'; expected intensity, binary (or binary:BINS) or frames")
        }
    }

    /// A bin width in milliseconds as whole microseconds; throws unless it is finite, positive and a
    /// whole number of microseconds (up to the rounding of the decimal `ms * 1000` in a Double).
    public static func binMicroseconds(milliseconds ms: Double) throws -> Int {
        guard ms.isFinite, ms > 0 else {
            throw SpikeError("bin width \(ms) ms: must be a positive number of milliseconds")
        }
        let us = ms * 1000, whole = us.rounded()
        guard whole >= 1, abs(us - whole) <= max(1, whole) * 1e-12 else {
            throw SpikeError("bin width \(ms) ms: must be a whole number of microseconds (\(us) µs is not)")
        }
        guard whole <= Double(Int32.max) else { throw SpikeError("bin width \(ms) ms: too large") }
        return Int(whole)
    }

    /// The network input shape: per frame for ``frames(binMicroseconds:timesteps:)``
    /// (`34 x 34 x 2`; a sample holds `timesteps` of them), else the whole image.
    public var shape: Shape {
        let s = NMNIST.sensorSize
        switch self {
        case .intensity, .frames: return Shape(s, s, EventBinning.channels)
        case .binary(_, let bins): return Shape(s, s, EventBinning.channels * bins)
        }
    }

    /// Values per sample: `shape.count`, times `timesteps` for frames.
    public var valuesPerSample: Int {
        if case .frames(_, let t) = self { return shape.count * t }
        return shape.count
    }

    public var description: String {
        switch self {
        case .intensity: return "intensity image \(shape)"
        case .binary(let bin, let bins): return "unrolled binary image \(shape) (\(bins) bins of \(Self.milliseconds(bin)))"
        case .frames(let bin, let t): return "\(t) binary frames \(shape) of \(Self.milliseconds(bin))"
        }
    }

    static func milliseconds(_ us: Int) -> String {
        us % 1000 == 0 ? "\(us / 1000) ms" : "\(Double(us) / 1000) ms"
    }

    /// Throws unless bin widths, bins and timesteps are positive.
    public func validate() throws {
        switch self {
        case .intensity: return
        case .binary(let bin, let n), .frames(let bin, let n):
            guard bin > 0 else { throw SpikeError("\(self): the bin width must be positive, got \(bin) µs") }
            guard n > 0 else { throw SpikeError("\(self): the number of bins / timesteps must be positive, got \(n)") }
        }
    }

    /// The input vector of one event stream (``valuesPerSample`` values). Call ``validate()`` first
    /// on a hand-made value: a non-positive bin width traps.
    public func encode(_ events: [Event]) -> [Float] {
        switch self {
        case .intensity:
            return EventBinning.intensityImage(events)
        case .binary(let bin, let bins):
            return EventBinning.unrolledBinaryImage(events, binMicroseconds: bin, bins: bins)
        case .frames(let bin, let t):
            return Array(EventBinning.frames(events, binMicroseconds: bin, timesteps: t).joined())
        }
    }
}

/// N-MNIST samples from a folder of `N.bs2` event files and `sample class` list files, turned into
/// network inputs by an ``EventRepresentation``.
public struct NMNISTSource: InputSource, Sendable {
    public let folder: String
    /// The list file that was read.
    public let listPath: String
    /// The split as given (`test100`).
    public let split: String
    public let representation: EventRepresentation
    /// Listed samples in file order: sample number (file `id.bs2` in `folder`) and class.
    public let samples: [(id: Int, label: Int)]

    /// `split` is `train1K`, `test100` (the lists `train1K.txt` / `test100.txt` of the folder), or
    /// another list: a file name in `folder` (with or without `.txt`), or a path (relative to the
    /// folder or else to the current directory, or absolute). The event files are always those of
    /// `folder`. Throws, naming the folder or list, when the representation is invalid, when its
    /// shape is not `shape` (the model's input; per frame for `.frames`), when the folder or the list
    /// does not exist or cannot be parsed, or when a listed event file is missing.
    public init(folder: String, split: String, representation: EventRepresentation, expecting shape: Shape) throws {
        try representation.validate()
        guard representation.shape == shape else {
            throw SpikeError("\(folder): N-MNIST \(representation) inputs are \(representation.shape) "
                + "but the model's input is \(shape)")
        }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: folder, isDirectory: &isDir), isDir.boolValue else {
            throw SpikeError("\(folder): no such N-MNIST folder (expected N.bs2 event files and lists such as train1K.txt, test100.txt)")
        }
        let inFolder = { (name: String) in (folder as NSString).appendingPathComponent(name) }
        var candidates: [String]
        if split.contains("/") {
            candidates = split.hasPrefix("/") ? [split] : [inFolder(split), split]
        } else {
            candidates = split.lowercased().hasSuffix(".txt") ? [inFolder(split)] : [inFolder(split + ".txt"), inFolder(split)]
        }
        guard let list = candidates.first(where: { fm.fileExists(atPath: $0, isDirectory: &isDir) && !isDir.boolValue }) else {
            throw SpikeError("\(folder): no N-MNIST sample list '\(split)' (looked for \(candidates.joined(separator: ", "))); "
                + "give train1K, test100, or a list file (lines `sample class`)")
        }
        let parsed = try NMNISTSplit(folder: (list as NSString).deletingLastPathComponent,
                                     list: (list as NSString).lastPathComponent)
        for s in parsed.samples {
            let p = inFolder("\(s.id).bs2")
            guard fm.fileExists(atPath: p) else {
                throw SpikeError("\(p): event file of sample \(s.id) (listed in \(list)) does not exist")
            }
        }
        self.folder = folder
        self.listPath = list
        self.split = split
        self.representation = representation
        self.samples = parsed.samples
    }

    public var description: String {
        "\(folder) \(split) (\(samples.count) N-MNIST samples, \(representation))"
    }
    public var count: Int { samples.count }

    /// The events of listed sample `i`.
    public func events(_ i: Int) throws -> [Event] {
        guard samples.indices.contains(i) else {
            throw SpikeError("\(listPath): sample index \(i) is out of range (the list has \(samples.count) samples)")
        }
        return try NMNIST.readEvents(path: (folder as NSString).appendingPathComponent("\(samples[i].id).bs2"))
    }

    /// Listed sample `i` in the source's representation (``EventRepresentation/valuesPerSample``
    /// values), and its class.
    public func sample(_ i: Int) throws -> (input: [Float], label: Int?) {
        (representation.encode(try events(i)), samples[i].label)
    }
}
