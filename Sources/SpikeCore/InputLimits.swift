import Foundation

/// Ceilings on the sizes that file headers declare, checked before anything of that size is allocated, so a
/// corrupt or hostile header (a 2^31-element tensor, a 1e9-sample IDX file, a 100,000-layer cfg) is refused
/// with the limit named instead of exhausting memory. The defaults are far above real models and data sets;
/// the options that raise them (`--max-tensor-elements` ...) set `InputLimits.current` for the process.
public struct InputLimits: Sendable, Equatable {
    /// Elements of one tensor: a weight tensor, or the neurons of one layer (1 GiB of float32).
    public var tensorElements = 1 << 28
    /// Layers of one model (cfg sections, ONNX nodes, native model layers).
    public var layers = 10_000
    /// Samples one data file declares (an IDX header's count).
    public var datasetSamples = 1 << 24
    /// Pixels of one image (a JPEG or IDX header's width x height).
    public var imagePixels = 1 << 26
    /// Bytes a gzipped file may inflate to.
    public var decompressedBytes = 1 << 32

    public init() {}

    /// One limit, with the option that raises it.
    public enum Limit: String, Sendable, CaseIterable {
        case tensorElements = "--max-tensor-elements", layers = "--max-layers", datasetSamples = "--max-dataset-samples"
        case imagePixels = "--max-image-pixels", decompressedBytes = "inflated bytes"

        var keyPath: WritableKeyPath<InputLimits, Int> {
            switch self {
            case .tensorElements: \.tensorElements
            case .layers: \.layers
            case .datasetSamples: \.datasetSamples
            case .imagePixels: \.imagePixels
            case .decompressedBytes: \.decompressedBytes
            }
        }
        /// How the error tells the user to go past it.
        var remedy: String {
            self == .decompressedBytes ? "a fixed limit of this build" : "raise it with \(rawValue)"
        }
    }

    public subscript(limit: Limit) -> Int {
        get { self[keyPath: limit.keyPath] }
        set { self[keyPath: limit.keyPath] = newValue }
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var stored = InputLimits()
    /// The limits in force in this process (the defaults unless an option raised or lowered one).
    public static var current: InputLimits {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }

    /// Throws, naming `what` (file and field), the value, the limit and how to raise it, if `value` is over `limit`.
    public static func check(_ value: Int, _ limit: Limit, _ what: @autoclosure () -> String) throws {
        let max = current[limit]
        guard value > max else { return }
        throw SpikeError("\(what()) is \(value), over the limit of \(max) (\(limit.remedy))")
    }

    /// The product of `sizes`, or Int.max if it overflows (for checking against a limit before allocating).
    public static func product(_ sizes: [Int]) -> Int {
        var n = 1
        for s in sizes {
            let (p, o) = n.multipliedReportingOverflow(by: max(s, 0))
            if o { return Int.max }
            n = p
        }
        return n
    }
}
