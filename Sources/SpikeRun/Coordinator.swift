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
    /// Rank groups: the ranks split into this many groups of consecutive ranks, each a model partition
    /// simulating its own samples (data x model parallel). Must divide the number of ranks.
    public var groups = 1
    /// Few-spike networks: samples in flight in each group's layer pipeline (`RankSimulator.runFewSpike`).
    public var pipeline = 1
    /// Rate-coded networks: samples simulated together on each rank of a group (`RankSimulator.run(batch:)`).
    public var batch = 1
    /// How each layer is split over a group's ranks (`Partition`); results do not depend on it.
    public var partition: PartitionPolicy = .auto
    /// A sample that cannot be read is left out and reported instead of stopping the run.
    public var skipBadSamples = false
    public init(modelPath: String, samples: Int) { self.modelPath = modelPath; self.samples = samples }
}

/// Runs samples through a `RankSimulator` on every rank; rank 0 reads and broadcasts the inputs,
/// gathers decoded outputs, reduces the counters and writes results as they finish.
///
/// The coordinator's rules (every rank runs `run` with the same network, config and options). The world's
/// ranks form G groups of consecutive ranks (`--groups`, 1 by default); each group is one model partition,
/// and its first rank is the group's leader. World rank 0 is the root (and group 0's leader).
/// 1. Setup: the root checks the source and opens the result files; its verdict is broadcast over the world,
///    so all ranks fail together. The root broadcasts the samples already in a resumed samples file; the
///    others (pending, in order) are dealt round-robin: in round r, group g takes pending sample r·G + g.
/// 2. Per round (round r: group g takes chunk r·G + g of `batch` consecutive pending samples, or for few-spike
///    networks of `pipeline`), in each group that has samples: the leader reads each and broadcasts a `SampleMessage` in
///    the group (input and label, or the read error); every rank of the group simulates its partition (the
///    chunk's samples together: a batch, or through the few-spike pipeline); then, for each sample,
///    in this order, a gather of the decoded outputs (at T, then at each checkpoint) to the leader, one
///    allreduce of the `SampleCounters`, a gather of the raster (the raster sample only) and a gather of the
///    layer values (`--layer-errors` only). The leader packs them as a `GroupSample`. With G > 1 the leaders'
///    packs of every `packRounds` rounds (and of the last) are gathered to the root over the world; the root
///    takes them in sample order up to a failed one, then broadcasts whether one failed (or its own writing
///    did), so every rank stops together and nothing finished before the failure is lost. The root takes a pack: it builds each `SampleRecord`, appends it to
///    the samples file and feeds it to the `RunAccumulator`, which the resumed samples' records went through too.
/// 3. End: an allreduce over the world of the per-channel spike counts, then a gather of each rank's
///    `RankReport`; the root builds the result and writes it atomically.
public final class Coordinator {
    /// The network; once `run` has built this rank's simulator, the simulator's copy, which has released the
    /// weight arrays it keeps packed (so the full arrays are freed when the caller holds no other copy).
    public private(set) var network: Network
    /// The full network for the root's ANN reference (`compareANN`, `layerValues`); nil where not needed.
    let annNetwork: Network?
    /// The fingerprint of the full network for the samples file's run identity (root only).
    let fingerprint: String
    /// All ranks of the job, and this rank's group (the same transport when there is one group).
    let transport: Transport
    let group: Transport
    let layout: RankLayout
    let config: SimulationConfig
    let options: RunOptions
    public let partition: Partition

    /// Plans the partition. Throws `CollectiveError` (identically on every rank) if it does not fit.
    public init(network: Network, transport: Transport, config: SimulationConfig, options: RunOptions) throws {
        self.network = network; self.transport = transport; self.config = config; self.options = options
        let root = transport.rank == 0
        fingerprint = root ? RunIdentity.fingerprint(network) : ""
        annNetwork = root && (options.compareANN || config.layerValues) ? network : nil
        // Every rank holds the same network and config, so every rank reaches the same verdict.
        if config.layerValues && config.encoder == .events {
            throw CollectiveError(message: "layer errors compare with the ANN on a static image; event-frame input (--encoder events) has no ANN counterpart")
        }
        if config.decoding == .spikes, let i = network.outputs.first(where: { network.layers[$0].neuron?.kind == .accumulator }) {
            throw CollectiveError(message: "decoding 'spikes': output layer '\(network.layers[i].name)' has accumulator neurons, which never spike; convert with --output-neurons spiking (or decode by membrane)")
        }
        do { layout = try RankLayout(size: transport.size, groups: options.groups) } catch let e as SpikeError {
            throw CollectiveError(message: e.message)
        }
        group = options.groups == 1 ? transport : try transport.split(into: options.groups)
        do { partition = try Partition(network: network, ranks: group.size, policy: options.partition) } catch let e as SpikeError {
            throw CollectiveError(message: e.message)
        }
    }

    /// With rank groups, the leaders hand their packs to the root every this many rounds (and after the last).
    static let packRounds = 8

    /// World rank 0: reads results together, writes the files.
    var isRoot: Bool { transport.rank == 0 }
    /// The first rank of this rank's group: reads its group's samples.
    var isLeader: Bool { layout.leads(transport.rank) }
    var groupIndex: Int { layout.group(of: transport.rank) }

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
        // The simulator gets the only copy of the network (but `annNetwork`), so that the weight arrays it packs
        // are freed as it packs them; the coordinator then keeps the simulator's copy.
        let handed = network
        network = Network(name: handed.name, layers: [], outputs: [])
        let sim = try RankSimulator(network: consume handed, partition: partition, transport: group, config: config)
        network = sim.network
        let (writer, skip) = try setUp(source: source)
        var state = try RootState(self, writer: writer, source: source)
        let start = monotonicSeconds()
        let progress = ProgressLine(total: options.samples, enabled: isRoot && options.progress)
        let pending = (options.firstSample ..< options.firstSample + options.samples).filter { !skip.contains($0) }
        // Few-spike networks take `pipeline` samples at a time through the layer pipeline; others `batch`.
        let P = max(1, sim.isFewSpike ? options.pipeline : options.batch)
        let chunks = stride(from: 0, to: pending.count, by: P).map { Array(pending[$0 ..< min($0 + P, pending.count)]) }
        let G = options.groups
        let rounds = (chunks.count + G - 1) / G
        var held = [GroupSample]()
        for round in 0 ..< rounds {
            let mine = round * G + groupIndex
            if mine < chunks.count { held += try simulate(chunks[mine], sim: sim, source: source) }
            guard G == 1 || round == rounds - 1 || (round + 1) % Self.packRounds == 0 else { continue }
            try take(held, source: source, state: &state)
            held = []
            progress.update(done: options.samples - pending.count + min(pending.count, (round + 1) * G * P), accuracy: state.accumulator.top1)
        }
        progress.finish()
        let wall = monotonicSeconds() - start
        var schedule: RunResult.FewSpikeSchedule?
        if sim.isFewSpike, !pending.isEmpty {
            let K = network.fewSpikeSteps, depth = config.timesteps / K
            let steps = chunks.reduce(0) { $0 + ($1.count + depth - 1) * K }
            schedule = .init(subSteps: K, depth: depth, pipeline: P, subStepsPerImage: Double(steps) / Double(pending.count),
                             imagesPerSecond: Double(pending.count) / wall)
        }
        return try finish(sim: sim, state: state, source: source, wallSeconds: wall, schedule: schedule)
    }

    /// Rule 1: rank 0 checks the source and opens the files; every rank learns the samples to skip.
    func setUp(source: InputSource?) throws -> (ResultWriter?, Set<Int>) {
        var writer: ResultWriter?
        var done = [Int]()
        if options.groups > 1 {
            let missing = try transport.allreduceMax([isLeader && source == nil ? 1 : 0])[0]
            if missing > 0 { throw CollectiveError(message: "a group leader has no input source") }
        }
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
                let identity = RunIdentity(fingerprint: fingerprint, config: config, model: options.modelPath, data: source.description)
                writer = try ResultWriter(jsonPath: p, identity: identity, resume: options.resume, overwrite: options.overwrite)
                done = writer!.previous.map(\.sample)
            }
        }
        var doneBytes = done.map(Int64.init).withUnsafeBytes { Array($0) }
        try transport.broadcast(&doneBytes, root: 0)
        return (writer, Set(doneBytes.withUnsafeBytes { $0.bindMemory(to: Int64.self).map(Int.init) }))
    }
}
