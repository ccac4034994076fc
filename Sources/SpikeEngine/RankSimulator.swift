import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// What one rank computed for one sample.
public struct RankSampleResult: Sendable {
    /// For each output layer (in `Network.outputs` order): this rank's owned range and decoded values.
    public var outputs: [(range: FlatRange, values: [Float])]
    /// Per layer counters of this rank's neurons for this sample.
    public var layers: [LayerCounters]
    /// Spikes emitted by this rank's neurons in each timestep (all layers).
    public var spikesPerStep: [Int64]
    /// For each checkpoint of the configuration, the owned decoded values of every output layer
    /// (concatenated in `Network.outputs` order).
    public var checkpointValues: [[Float]] = []
    /// For each checkpoint, this rank's cumulative [spikes, synaptic ops, analog MACs] up to it.
    public var checkpointCounters: [[Int64]] = []
    /// Spikes of the recorded neurons (`rasterNeurons`) in the raster sample: (layer, neuron, ±t).
    public var raster: [(layer: Int, neuron: Int, time: Int)] = []
    /// With `layerValues`: per layer, this rank's owned neurons' decoded values (empty for layers
    /// without spiking neurons or gated events: input, routing, accumulators).
    public var layerValues: [[Float]] = []
    /// With `outputTrace`: per output layer, per timestep, this rank's owned neurons' emitted values
    /// (0 when silent; accumulators: the membrane).
    public var outputTraces: [[[Float]]] = []
}

/// Simulates this rank's share of a network, sample by sample. Every rank of the job constructs one
/// with the same network, partition and configuration and calls `run` with the same samples.
public final class RankSimulator {
    public let network: Network
    public let partition: Partition
    public let config: SimulationConfig
    let transport: Transport
    let states: [LayerState]
    /// The Bernoulli or Poisson input encoder (used only by those two encoders).
    let rateEncoder: RateEncoder
    public internal(set) var timing = RankTiming()
    /// Update seconds per layer (scatter, neuron update, routing), summed over timesteps and samples.
    public internal(set) var layerSeconds: [Double]
    /// Bytes and messages this rank sent in spike packets.
    public internal(set) var bytesSent: Int64 = 0
    public internal(set) var messagesSent: Int64 = 0
    /// Per layer, per channel: spikes of this rank's owned neurons, summed over samples (layers
    /// without neurons other than the input are empty).
    public internal(set) var channelSpikes: [[Int64]]
    /// The input neurons' membranes for the `current` encoder (this rank's view of layer 0).
    var inputMembrane: [Float] = []
    /// Per layer: the recorded neurons (sorted flat indices) this rank owns.
    let rasterNeurons: [[Int32]]
    var packBuffer: [UInt8] = []
    /// True for networks of few-spike neurons (events carry their values; see RankSimulator+FewSpike).
    public let isFewSpike: Bool
    /// The lanes of a batch after this simulator's own (`run(batch:)`).
    var extraLanes: [RankSimulator] = []
    /// True for the simulator that built the emission scratch (the first lane of a batch); the other lanes
    /// share it.
    let ownsScratch: Bool
    /// Overlap: the current an extra lane's layer holds from its interior pass to the rest of its update (the
    /// first lane holds the shared scratch current meanwhile, which no other layer uses in between).
    var overlapCurrent: [Float] = []

    /// `sharing`: a simulator of the same network, partition and rank whose read-only tables (packed weights,
    /// scatter tables, emission scratch) this one uses instead of building its own: a batch's lanes.
    ///
    /// The network is taken by value: a caller that hands over its only copy (`consume`) lets the weight arrays
    /// the gather kernel packs be freed one layer at a time, as they are packed.
    public init(network: consuming Network, partition: Partition, transport: Transport, config: SimulationConfig,
                sharing template: RankSimulator? = nil) throws {
        try config.validate()
        guard partition.ranks == transport.size else {
            throw SpikeError("partition for \(partition.ranks) ranks used on \(transport.size)")
        }
        if let bad = network.layers.first(where: { if case .activation = $0.op { return true } else { return false } }) {
            throw SpikeError("layer '\(bad.name)': the ANN-only activation '\(bad.activationName)' has no spiking equivalent in this engine; convert the network first (ReLU, leaky-ReLU and linear become IF and IBT neurons)")
        }
        self.partition = partition; self.config = config; self.transport = transport
        rateEncoder = RateEncoder(config.encoder == .poisson ? .poisson : .bernoulli, seed: config.seed)
        var analog = [Bool](repeating: false, count: network.layers.count)
        analog[0] = config.encoder == .direct
        for (i, l) in network.layers.enumerated() where i > 0 {
            // Leaky integrators emit their membrane as analog events; routing passes its inputs' kind on.
            analog[i] = l.op.hasNeurons ? l.neuron?.kind == .leakyIntegrator : l.inputs.contains { analog[$0] }
        }
        let fewSpike = try Self.fewSpikeLayout(network, config)
        isFewSpike = fewSpike != nil
        // Constant analog sources: the direct-encoded input, and routing layers (flatten, concat, slice, upsample)
        // of constant sources only; they carry the same events at every step.
        var constant = [Bool](repeating: false, count: network.layers.count)
        constant[0] = config.encoder == .direct && fewSpike == nil
        for (i, l) in network.layers.enumerated() where i > 0 && !l.inputs.isEmpty {
            switch l.op {
            case .flatten, .concat, .channelSlice, .upsample: constant[i] = l.inputs.allSatisfy { constant[$0] }
            default: break
            }
        }
        // Pack the gather kernel's weights first (this rank's output channels), releasing each layer's array as it
        // is packed, so that the neuron state allocated below never coexists with the full weights.
        var packed = [Int: (packed: [Float], chunks: [Int])]()
        if template == nil && config.convKernel == .auto {
            for i in network.layers.indices {
                let l = network.layers[i]
                guard case .conv(let w, let outC, let groups) = l.op, outC / groups >= 16 else { continue }
                packed[i] = ConvGather.pack(weights: l.weights, window: w, inChannels: network.layers[l.inputs[0]].shape.channels,
                                            outChannels: outC, groups: groups, block: partition.layers[i].blocks[transport.rank])
                network.releaseWeights(of: [i])
            }
        }
        var states = [LayerState]()
        for i in network.layers.indices {
            // Few-spike layers keep copied views: their delay lines hold views of earlier steps.
            let s = LayerState(index: i, network: copy network, plan: partition.layers[i], rank: transport.rank, analog: analog[i],
                               assemblesInPlace: fewSpike == nil)
            s.inputRanges = s.layer.inputs.map {
                s.block.own.isEmpty ? .empty : Partition.inputRange(network: network, consumer: i, input: $0, block: s.block)
            }
            s.constantInput = s.layer.op.hasNeurons && !s.layer.inputs.isEmpty && s.layer.inputs.allSatisfy { constant[$0] }
            if let fs = fewSpike {
                if s.layer.op.hasNeurons { s.fewSpikeMode = true; s.fewSpikeDepth = s.layer.neuron?.kind == .fewSpike ? fs.depth[i] : 0 }
                s.loadOffset = fs.load[i]; s.emitOffset = fs.emit[i]; s.inputDelays = fs.delays[i]
                s.delayLines = fs.delays[i].map { [EventList](repeating: EventList(), count: $0) }
                s.delayed = fs.delays[i].map { _ in EventList() }
            }
            if s.layer.op.hasNeurons {
                // Only a current reused across steps (a constant input's) or swapped with a membrane (few-spike)
                // is the layer's own; the others borrow the rank's scratch while the layer updates.
                if s.constantInput || s.fewSpikeMode { s.current = [Float](repeating: 0, count: s.ownedCount) }
                else { s.sharesCurrent = true }
            }
            if let t = template?.states[i] {
                s.usesGather = t.usesGather; s.packedWeights = t.packedWeights; s.packedChunks = t.packedChunks
                s.scatterTables = t.scatterTables
            } else if let p = packed.removeValue(forKey: i) {
                s.usesGather = true
                (s.packedWeights, s.packedChunks) = p
            } else if case .conv(let w, _, let groups) = s.layer.op, config.convKernel == .auto, !s.block.own.isEmpty {
                s.scatterTables = ConvScatterTables(input: network.layers[s.layer.inputs[0]].shape, output: s.layer.shape,
                                                    window: w, groups: groups, block: s.block, bias: s.layer.bias)
            }
            if case .maxPool(let w) = s.layer.op {
                // Few-spike events carry values d(t): the count gate passes on exactly the window's max sum. So does
                // a gate over IF neurons with memory: their meaning is the net count, and the leader gate would drop
                // a spike taken back whenever the leader changes.
                // Whole spikes over T steps: the running sums fit an 8- or 16-bit integer (the same comparisons).
                let bound = fewSpike == nil ? LayerState.wholeSpikeBound(s.layer.inputs[0], network, encoder: config.encoder) : nil
                let counts = fewSpike != nil || LayerState.takesSpikesBack(s.layer.inputs[0], network)
                s.gate = MaxPoolGate(view: partition.layers[s.layer.inputs[0]].blocks[transport.rank].view, ownCount: s.block.own.count,
                                     window: w, mode: counts ? .count : config.maxPoolGate,
                                     sumBound: bound.map { $0 * config.timesteps })
            }
            states.append(s)
        }
        if config.layerValues {
            for (i, s) in states.enumerated() where Self.recordsValues(network, i) {
                s.valueSum = [Float](repeating: 0, count: s.ownedCount)
            }
        }
        for o in network.outputs {
            let s = states[o]
            s.isOutput = true
            s.inputSum = [Float](repeating: 0, count: s.block.own.count)
            // Accumulator outputs never spike: they are read from their integrated input (or, few-spike, the membrane),
            // and their membrane is read only by the output trace or a few-spike run.
            let accumulates = s.layer.neuron?.kind == .accumulator
            s.spikeSum = accumulates ? [] : [Float](repeating: 0, count: s.block.own.count)
            if accumulates && fewSpike == nil && !config.outputTrace { s.membrane = [] }
        }
        self.network = network
        self.states = states
        let scratch: EmitScratch
        if let t = template?.states.first?.scratch {
            scratch = t
        } else {
            scratch = EmitScratch()
            let most = min(EmitScratch.chunk, states.filter { $0.layer.op.hasNeurons }.map(\.ownedCount).max() ?? 0)
            scratch.index = [Int32](repeating: 0, count: most); scratch.value = [Float](repeating: 0, count: most)
        }
        for s in states { s.scratch = scratch }
        ownsScratch = template == nil

        // A constant source runs at t = 1 only if every consumer reads it at t = 1 only (consumers come later in
        // topological order, so they are decided first).
        var consumers = [[Int]](repeating: [], count: network.layers.count)
        for (j, l) in network.layers.enumerated() { for i in Set(l.inputs) { consumers[i].append(j) } }
        for i in network.layers.indices.reversed() where constant[i] && !network.outputs.contains(i) {
            states[i].onlyOnce = consumers[i].allSatisfy { states[$0].constantInput || states[$0].onlyOnce }
        }
        if config.overlap == .interior && fewSpike == nil {
            for s in states.dropFirst() {
                s.interiorRows = Self.interiorRows(s, input: states[s.index - 1], plan: partition.layers[s.index - 1])
            }
        }
        layerSeconds = [Double](repeating: 0, count: network.layers.count)
        channelSpikes = network.layers.enumerated().map { i, l in
            network.countsSpikes(i) ? [Int64](repeating: 0, count: l.shape.channels) : []
        }
        // Rate-coded IF and IBT layers of whole rows whose channel count is a multiple of 8 count their channels'
        // spikes as they fire (eight lanes are eight channels); the others after, from their events.
        if fewSpike == nil {
            for (i, s) in states.enumerated() where network.countsSpikes(i) && !s.block.channelSplit {
                let c = s.layer.shape.channels
                guard let kind = s.layer.neuron?.kind, kind == .integrateAndFire || kind == .signedIBT,
                      c % 8 == 0, s.block.own.lower % c == 0, s.ownedCount % 8 == 0 else { continue }
                s.stepChannelCounts = [Int32](repeating: 0, count: c)
            }
        }
        rasterNeurons = network.layers.enumerated().map { i, l in
            guard config.rasterNeurons > 0, network.countsSpikes(i) else { return [] }
            let block = states[i].block
            return Self.rasterPicks(count: l.shape.count, per: config.rasterNeurons).filter { block.owns($0, channels: l.shape.channels) }.map { Int32($0) }
        }
    }

    /// The largest packed weights (bytes, this rank's share) of a layer that overlaps its input's exchange: about half
    /// a core's L2, so that the second pass finds the weights in cache.
    public static let overlapWeightBytes = 256 << 10

    /// The layers whose interior rows overlap their input's exchange on this rank (`SimulationConfig.overlap`), and
    /// those rows.
    public var overlappedRows: [Int: Range<Int>] {
        var out = [Int: Range<Int>]()
        for s in states where !s.interiorRows.isEmpty { out[s.index] = s.interiorRows }
        return out
    }

    /// The owned rows of `s` computed while the exchange of `src`, the layer before it, is in flight (rule 5 of
    /// `run(batch:)`): those whose input window lies, within the image, in the rows of `src` this rank owns, so
    /// their events are all local. Only a convolution on the gather or table kernel whose one input is `src`, with its
    /// current computed afresh each step, overlaps; and only when `src` is split in row bands and its events
    /// cross ranks every step. And only when this rank's packed weights of `s` fit in `overlapWeightBytes`: the two
    /// passes each stream every weight, which for a layer whose weights outgrow the cache costs more than the wait
    /// it hides (Tiny-YOLOv3's conv12, 9.4 MB per rank: 3.66 → 3.95 ms a step on 2 ranks). Empty otherwise.
    static func interiorRows(_ s: LayerState, input src: LayerState, plan: LayerPlan) -> Range<Int> {
        guard case .conv(let w, _, _) = s.layer.op, s.layer.inputs == [src.index], s.usesGather || s.scatterTables != nil,
              s.sharesCurrent, (s.usesGather ? s.packedWeights.count : s.layer.weights.count) * MemoryLayout<Float>.size <= overlapWeightBytes,
              !s.constantInput, !s.block.own.isEmpty, !plan.transfers.isEmpty, plan.scheme == .rows,
              !src.onlyOnce, !src.block.channelSplit, !src.block.own.isEmpty else { return 0..<0 }
        let h = src.layer.shape.height, lo = src.block.rowLower, hi = src.block.rowUpper
        var first = -1, last = -1
        for oy in s.block.rowLower..<s.block.rowUpper {
            let (a, b) = w.inputRows(outputRows: oy, oy + 1, inputHeight: h)
            guard a >= lo && b <= hi && a < b else { continue }
            if first < 0 { first = oy }
            last = oy
        }
        return first < 0 ? 0..<0 : first..<(last + 1)
    }

    /// The weights this rank holds, per layer: the packed copy of its output channels for layers on the gather
    /// kernel (whose array it released), else the layer's array. A layer split by output channels holds its
    /// channels' share.
    public var heldWeights: [Int] {
        states.map { $0.usesGather ? $0.packedWeights.count : $0.layer.weights.count }
    }

    /// True for the layers whose values `layerValues` records: spiking neurons and max-pool gates.
    public static func recordsValues(_ network: Network, _ i: Int) -> Bool {
        let l = network.layers[i]
        if case .maxPool = l.op { return true }
        return l.op.hasNeurons && l.neuron?.kind != .accumulator
    }

    /// What one event of layer `i` is worth: θ of its neurons, or of the spiking layer a max-pool
    /// or routing layer passes on.
    static func eventValue(_ network: Network, _ i: Int) -> Float {
        var j = i
        while network.layers[j].neuron == nil, let k = network.layers[j].inputs.first, k > 0 { j = k }
        return network.layers[j].neuron?.threshold ?? 1
    }

    /// The neurons recorded for rasters: `per` evenly spaced flat indices of a layer of `count` neurons.
    public static func rasterPicks(count: Int, per: Int) -> [Int] {
        let k = min(per, count)
        guard k > 0 else { return [] }
        return (0..<k).map { ($0 * count + count / (2 * k)) / k }
    }

    /// Simulates one sample for `config.timesteps` steps. `input` is the whole sample (HWC, the
    /// network's input shape) and must be the same on every rank. The same as `run(batch:)` with one sample.
    public func run(sample: Int, input: [Float]) throws -> RankSampleResult {
        try run(batch: [(sample, input)])[0]
    }
}

extension Layer {
    /// The activation function's name for ANN-only activation layers ("" otherwise).
    var activationName: String { if case .activation(let f) = op { return f.name } else { return "" } }
}

