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

    var flat: [Double] {
        [timing.update, timing.pack, timing.exchange, timing.wait, timing.total, Double(bytesSent), Double(messages), Double(peakResidentBytes)]
    }

    /// The layout `ResultBuilder` reads: update, pack, exchange, wait, total, bytes, messages, peak RSS.
    static func decode(_ bytes: [UInt8]) -> [Double] { bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
}
