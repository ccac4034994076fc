import Foundation
import SpikeAggregate
import SpikeANN
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeMetrics

/// An error every rank knows about (bad data read on rank 0 and broadcast, a plan that does not fit):
/// rank 0 reports it once and every rank exits non-zero without aborting.
public struct CollectiveError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Options of a coordinated run.
public struct RunOptions: Sendable {
    public var modelPath: String
    public var samples: Int
    /// Index of the first sample of the source to simulate.
    public var firstSample: Int = 0
    /// Result JSON path (rank 0 writes it); per-sample lines go to `jsonPath` + `.samples.jsonl`.
    public var jsonPath: String?
    public var energyPreset: EnergyPreset = EnergyPreset.all[0]
    /// Skip samples already in the samples file and count them in the totals.
    public var resume = false
    /// Replace existing result files instead of refusing to.
    public var overwrite = false
    /// Print a progress line on rank 0.
    public var progress = true
    /// Also run the ANN reference of the same network on rank 0 and report its metric beside the SNN's.
    public var compareANN = false
    /// The ANN reference clips every spiking layer to one spike per step (`DenseForward(rateLimited:)`):
    /// the limit a rate-coded SNN reaches as T grows.
    public var rateLimitedANN = false
    public init(modelPath: String, samples: Int) { self.modelPath = modelPath; self.samples = samples }
}

/// Runs samples through a `RankSimulator` on every rank; rank 0 reads and broadcasts the inputs,
/// gathers decoded outputs, reduces the counters and writes results as they finish.
///
/// The coordinator's rules (every rank runs `run` with the same network, config and options):
/// 1. Setup: rank 0 checks the source and opens the result files; its verdict is broadcast, so all ranks
///    fail together. Rank 0 broadcasts the samples already in a resumed samples file; every rank skips them.
/// 2. Per sample, in order: rank 0 reads it and broadcasts a `SampleMessage` (input and label, or the read
///    error, which every rank then throws); every rank simulates its partition; then, in this order and on
///    every rank, a gather of the decoded outputs (at T, then at each checkpoint) to rank 0, one allreduce of
///    the `SampleCounters`, a gather of the raster (the raster sample only) and a gather of the layer values
///    (`--layer-errors` only). Rank 0 alone builds the `SampleRecord`, appends it to the samples file and
///    feeds it to the `RunAccumulator`, which the resumed samples' records went through too.
/// 3. End: an allreduce of the per-channel spike counts, then a gather of each rank's `RankReport`; rank 0
///    builds the result and writes it atomically.
public final class Coordinator {
    let network: Network
    let transport: Transport
    let config: SimulationConfig
    let options: RunOptions
    public let partition: Partition

    /// Plans the partition. Throws `CollectiveError` (identically on every rank) if it does not fit.
    public init(network: Network, transport: Transport, config: SimulationConfig, options: RunOptions) throws {
        self.network = network; self.transport = transport; self.config = config; self.options = options
        // Every rank holds the same network and config, so every rank reaches the same verdict.
        if config.layerValues && config.encoder == .events {
            throw CollectiveError(message: "layer errors compare with the ANN on a static image; event-frame input (--encoder events) has no ANN counterpart")
        }
        if config.decoding == .spikes, let i = network.outputs.first(where: { network.layers[$0].neuron?.kind == .accumulator }) {
            throw CollectiveError(message: "decoding 'spikes': output layer '\(network.layers[i].name)' has accumulator neurons, which never spike; convert with --output-neurons spiking (or decode by membrane)")
        }
        do { partition = try Partition(network: network, ranks: transport.size) } catch let e as SpikeError {
            throw CollectiveError(message: e.message)
        }
    }

    var isRoot: Bool { transport.rank == 0 }

    /// Rank 0 does `body`; its success or error message is broadcast, so all ranks agree.
    func agreeOnRoot(_ body: () throws -> Void) throws {
        var status = [UInt8]()
        if isRoot {
            do { try body() } catch { status = Array("\(error)".utf8) }
        }
        try transport.broadcast(&status, root: 0)
        if !status.isEmpty { throw CollectiveError(message: String(decoding: status, as: UTF8.self)) }
    }

    /// Simulates `options.samples` samples from `source` (read on rank 0 only; pass nil elsewhere).
    /// Returns the run result on rank 0 and nil on the other ranks.
    public func run(source: InputSource?) throws -> RunResult? {
        let sim = try RankSimulator(network: network, partition: partition, transport: transport, config: config)
        let (writer, skip) = try setUp(source: source)
        var state = try RootState(self, writer: writer, source: source)
        let start = monotonicSeconds()
        let progress = ProgressLine(total: options.samples, enabled: isRoot && options.progress)
        for k in 0..<options.samples {
            let index = options.firstSample + k
            if skip.contains(index) { continue }
            try runSample(index, sim: sim, source: source, state: &state)
            progress.update(done: k + 1, accuracy: state.accumulator.top1)
        }
        progress.finish()
        return try finish(sim: sim, state: state, source: source, wallSeconds: monotonicSeconds() - start)
    }

    /// Rule 1: rank 0 checks the source and opens the files; every rank learns the samples to skip.
    func setUp(source: InputSource?) throws -> (ResultWriter?, Set<Int>) {
        var writer: ResultWriter?
        var done = [Int]()
        try agreeOnRoot {
            guard let source else { throw SpikeError("rank 0 has no input source") }
            guard options.samples >= 1 else { throw SpikeError("--samples must be at least 1, got \(options.samples)") }
            guard options.firstSample >= 0, options.firstSample + options.samples <= source.count else {
                throw SpikeError("samples \(options.firstSample)..<\(options.firstSample + options.samples) requested but \(source.description) has \(source.count)")
            }
            if config.encoder == .events && source.framesPerSample != config.timesteps {
                throw SpikeError("encoder 'events' needs \(config.timesteps) frames per sample (one per timestep) but \(source.description) gives \(source.framesPerSample); use event data with the frames representation and the same T")
            }
            if config.encoder != .events && source.framesPerSample != 1 {
                throw SpikeError("\(source.description) gives \(source.framesPerSample) frames per sample: use --encoder events")
            }
            if let p = options.jsonPath {
                writer = try ResultWriter(jsonPath: p, resume: options.resume, overwrite: options.overwrite)
                done = writer!.previous.map(\.sample)
            }
        }
        var doneBytes = done.map(Int64.init).withUnsafeBytes { Array($0) }
        try transport.broadcast(&doneBytes, root: 0)
        return (writer, Set(doneBytes.withUnsafeBytes { $0.bindMemory(to: Int64.self).map(Int.init) }))
    }
}
