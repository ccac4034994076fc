import Foundation
import SpikeAggregate
import SpikeCore
import SpikeEngine

/// What rank 0 broadcasts for each sample: its input and label, or why it could not be read.
/// Wire format: a status byte (0 ok, 1 failure), then the label as Int64 (-1: none) and the input as
/// float32 values, or the failure's UTF-8 text.
public enum SampleMessage: Equatable {
    case sample(label: Int?, input: [Float])
    case failure(String)

    public var bytes: [UInt8] {
        switch self {
        case let .sample(label, input):
            return [0] + withUnsafeBytes(of: Int64(label ?? -1)) { Array($0) } + input.withUnsafeBytes { Array($0) }
        case let .failure(text):
            return [1] + Array(text.utf8)
        }
    }

    public init(bytes b: [UInt8]) {
        guard b.first == 0, b.count >= 9 else { self = .failure(String(decoding: b.dropFirst(), as: UTF8.self)); return }
        let label = b[1..<9].withUnsafeBytes { $0.loadUnaligned(as: Int64.self) }
        self = .sample(label: label < 0 ? nil : Int(label), input: b[9...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) })
    }
}

/// One sample's counters on one rank; summing them over ranks (one allreduce of `flat`) gives the sample's.
public struct SampleCounters: Equatable {
    public var layers: [LayerCounters]
    public var spikesPerStep: [Int64]
    public var checkpoints: [CheckpointCounters]

    public init(layers: [LayerCounters], spikesPerStep: [Int64], checkpoints: [CheckpointCounters]) {
        self.layers = layers; self.spikesPerStep = spikesPerStep; self.checkpoints = checkpoints
    }

    init(_ r: RankSampleResult) {
        self.init(layers: r.layers, spikesPerStep: r.spikesPerStep, checkpoints: r.checkpointCounters.map(CheckpointCounters.init(flat:)))
    }

    /// Layers' counters, then the spikes of each timestep, then each checkpoint's counters.
    public var flat: [Int64] { layers.flatMap(\.flatValues) + spikesPerStep + checkpoints.flatMap(\.flat) }

    public init(flat v: [Int64], layers: Int, timesteps: Int, checkpoints: Int) {
        let L = LayerCounters.flatCount, C = CheckpointCounters.flatCount
        self.layers = (0..<layers).map { LayerCounters(flatArray: Array(v[$0 * L ..< ($0 + 1) * L])) }
        let s = layers * L
        spikesPerStep = Array(v[s ..< s + timesteps])
        self.checkpoints = (0..<checkpoints).map { CheckpointCounters(flat: Array(v[s + timesteps + $0 * C ..< s + timesteps + ($0 + 1) * C])) }
    }

    /// Spikes of the layers that count spikes (`Network.countsSpikes`).
    public func spikes(in network: Network) -> Int64 {
        layers.indices.reduce(0) { $0 + (network.countsSpikes($1) ? layers[$1].spikes : 0) }
    }
}

/// A rank's cost figures, gathered on rank 0 at the end of a run.
struct RankReport: Equatable {
    var timing: RankTiming
    var bytesSent: Int64
    var messages: Int64
    var peakResidentBytes: Int
    /// Bytes of weights the rank holds (`RankSimulator.heldWeights`: a layer split by output channels, its share).
    var weightBytes: Int64 = 0

    var flat: [Double] {
        [timing.update, timing.pack, timing.exchange, timing.wait, timing.total, Double(bytesSent), Double(messages), Double(peakResidentBytes),
         Double(weightBytes)]
    }

    /// The layout `ResultBuilder` reads: update, pack, exchange, wait, total, bytes, messages, peak RSS, weight bytes.
    static func decode(_ bytes: [UInt8]) -> [Double] { bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
}

/// The leaders' packs as they travel to the root with several rank groups: a compact binary form (Foundation's
/// JSON coding of 10,000 MNIST packs took 22% of the root's time). Little-endian; a count of -1 stands for nil;
/// the raster, present in one pack of a run at most, travels as JSON.
enum GroupSampleCoding {
    static func encode(_ packs: [GroupSample]) throws -> [UInt8] {
        var w = ByteWriter()
        w.int(packs.count)
        for p in packs {
            w.int(p.index); w.double(p.seconds)
            w.floats3(p.views)
            w.int(p.counters.count); p.counters.withUnsafeBytes { w.bytes.append(contentsOf: $0) }
            if let r = p.raster { w.blob(Array(try JSONEncoder().encode(r))) } else { w.int(-1) }
            if let v = p.layerValues { w.int(v.count); for row in v { w.floats(row) } } else { w.int(-1) }
            if let f = p.failure { w.blob(Array(f.utf8)) } else { w.int(-1) }
        }
        return w.bytes
    }

    static func decode(_ bytes: [UInt8]) throws -> [GroupSample] {
        var r = ByteReader(bytes)
        let n = try r.count()
        var out = [GroupSample]()
        for _ in 0..<n {
            var p = GroupSample(index: try r.int())
            p.seconds = try r.double()
            p.views = try r.floats3()
            let c = try r.count(elementSize: 8)
            p.counters = load(try r.take(c * 8), as: Int64.self)
            if let raster = try r.blob() { p.raster = try JSONDecoder().decode(RunResult.Raster.self, from: Data(raster)) }
            let lv = try r.int()
            if lv >= 0 {
                guard lv <= r.left else { throw SpikeError("group pack: \(lv) layer-value rows, \(r.left) bytes left") }
                p.layerValues = try (0..<lv).map { _ in try r.floats() }
            }
            if let f = try r.blob() { p.failure = String(decoding: f, as: UTF8.self) }
            out.append(p)
        }
        guard r.left == 0 else { throw SpikeError("group packs: \(r.left) bytes after \(n) packs") }
        return out
    }
}

struct ByteWriter {
    var bytes = [UInt8]()
    mutating func int(_ v: Int) { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func double(_ v: Double) { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func floats(_ v: [Float]) { int(v.count); v.withUnsafeBytes { bytes.append(contentsOf: $0) } }
    mutating func floats3(_ v: [[[Float]]]) { int(v.count); for a in v { int(a.count); for b in a { floats(b) } } }
    mutating func blob(_ b: [UInt8]) { int(b.count); bytes.append(contentsOf: b) }
}

/// Reads what `ByteWriter` wrote; every length is checked against the bytes left.
struct ByteReader {
    let bytes: [UInt8]
    var at = 0
    init(_ b: [UInt8]) { bytes = b }
    var left: Int { bytes.count - at }
    mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= left else { throw SpikeError("group pack: \(n) bytes needed, \(left) left") }
        defer { at += n }
        return bytes[at ..< at + n]
    }
    mutating func int() throws -> Int { Int(Int64(littleEndian: try take(8).withUnsafeBytes { $0.loadUnaligned(as: Int64.self) })) }
    mutating func double() throws -> Double { Double(bitPattern: UInt64(littleEndian: try take(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })) }
    /// A count of elements of `elementSize` bytes that fit in what is left.
    mutating func count(elementSize: Int = 1) throws -> Int {
        let n = try int()
        guard n >= 0, n <= left / max(1, elementSize) else { throw SpikeError("group pack: count \(n) does not fit the \(left) bytes left") }
        return n
    }
    mutating func floats() throws -> [Float] {
        let n = try count(elementSize: 4)
        return load(try take(n * 4), as: Float.self)
    }
    mutating func floats3() throws -> [[[Float]]] {
        try (0..<count(elementSize: 8)).map { _ in try (0..<count(elementSize: 8)).map { _ in try floats() } }
    }
    mutating func blob() throws -> [UInt8]? {
        let n = try int()
        if n == -1 { return nil }
        return Array(try take(n))
    }
}

/// The values of a trivial type `T` stored in `bytes` (at any alignment).
func load<T>(_ bytes: ArraySlice<UInt8>, as: T.Type) -> [T] {
    let n = bytes.count / MemoryLayout<T>.stride
    return [T](unsafeUninitializedCapacity: n) { buf, count in
        bytes.withUnsafeBytes { src in UnsafeMutableRawBufferPointer(buf).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[0 ..< n * MemoryLayout<T>.stride])) }
        count = n
    }
}
