import SpikeCore

/// Scratch one rank's layers use one at a time (they run one after the other, lane after lane): the event buffers
/// `LayerState.fire` writes into before one copy to the layer's events, the current of the layers that compute
/// it afresh every step (`LayerState.sharesCurrent`), and the max-pool gates' per-step input values.
final class EmitScratch {
    var index: [Int32] = []
    var value: [Float] = []
    /// Lent to the layer being updated (swapped in and out, so sized by the largest such layer).
    var current: [Float] = []
    /// Lent to the max-pool gate being stepped; all zeros between steps.
    var gateNow: [Float] = []
    /// The table kernel's dense pass (ConvScatter+Dense): the input rows' event values; all zeros between uses.
    var denseMap: [Float] = []
    /// Events buffered before they are appended to the layer's list: a bound on the buffer, so that its size
    /// does not follow the largest layer (Tiny-YOLOv3's first layer has 2.8 M neurons: 22 MB of buffer).
    static let chunk = 1 << 15
}

/// The state one rank keeps for one layer: its owned neurons' membranes and currents, the events of
/// the current timestep (owned, and the wider view its local consumers read), and counters.
final class LayerState {
    let index: Int
    /// The layer (its weight array released where the gather kernel holds a packed copy).
    let layer: Layer
    let block: RankBlock
    /// This rank's outgoing and incoming transfers of this layer's events.
    let sends: [Transfer]
    let receives: [Transfer]
    /// True if the events are ±1 spikes that can be negative.
    let signed: Bool
    /// True if events can carry several spikes (burst neurons, and routing of their events): sent in
    /// the exact analog packet format, counted as synaptic operations.
    let multiValued: Bool
    /// True if the events carry analog values (direct-encoded input, and routing of it).
    let analog: Bool
    /// For each input, the flat range of that input this layer reads on this rank.
    var inputRanges: [FlatRange] = []
    /// True if every input is the constant analog input (direct encoding, possibly re-indexed by routing
    /// layers such as a flatten): the current is computed once per sample.
    var constantInput = false
    /// True for the input layer and routing layers of a constant analog input whose every consumer computes its
    /// current once: they run at t = 1 only (nothing reads their events later), exchange included.
    var onlyOnce = false
    /// Few-spike networks (RankSimulator+FewSpike): the membrane starts at the bias and integrates every
    /// input event of its image; an FS layer at FS depth `fewSpikeDepth` (0: an output accumulator) fires
    /// image w − (depth − 1) in window w, while it loads image w − `loadOffset`. Two membranes, by image
    /// parity, hold the image being fired and the one being loaded.
    var fewSpikeMode = false
    var fewSpikeDepth = 0
    /// The image offset of the events this layer loads (its inputs' emit offset, after delays) and of
    /// the events it emits: in window w they belong to images w − loadOffset and w − emitOffset.
    var loadOffset = 0
    var emitOffset = 0
    var membraneAlt: [Float] = []
    /// Per input: how many steps its events are delayed so that they arrive with those of the
    /// deepest input for the same image (0: none), the delay line, and this step's (delayed) events.
    var inputDelays: [Int] = []
    var delayLines: [[EventList]] = []
    var delayed: [EventList] = []

    /// The layer's bias per channel (zeros if it has none); `fillBias` spreads it over the owned neurons.
    var channelBias: [Float] = []
    /// The input current of the owned neurons this step. With `sharesCurrent` it is the rank's scratch, lent for
    /// the layer's update (empty otherwise): only layers that reuse it (a constant input's current) or keep two
    /// images (few-spike) own theirs.
    var current: [Float] = []
    var sharesCurrent = false
    /// Layers whose update counts their spikes per channel as it fires (`fire`; eight lanes are eight channels):
    /// this step's counts, drained into the rank's channel totals after the update. Empty for the others, whose
    /// events are counted afterwards (`RankSimulator.countChannels`).
    var stepChannelCounts: [Int32] = []
    var membrane: [Float] = []
    var lastSpike: [UInt8] = []     // LIF reset gate; leaky neurons: spiked last step (subtractNext)
    var synaptic: [Float] = []      // leaky neurons with a synaptic current state
    var netCount: [Int32] = []      // IF neurons with memory: positive minus negative spikes this sample
    /// Leaky layers with per-neuron parameters (`Layer.perNeuron`): every parameter per owned neuron, read
    /// from the layer's arrays by global index; nil is the per-layer fast path.
    var leakyParams: LeakyParams?
    /// With `SimulationConfig.outputTrace` (output layers): per step, the owned neurons' emitted value
    /// (spike or analog event; 0 when silent), or the membrane V of accumulators.
    var trace: [[Float]] = []
    var constOps = 0
    var avgInverse: [Float] = []
    var gate: MaxPoolGate?
    /// Per input: the position index the gather kernel builds each step.
    var positionIndex: [ConvGather.PositionIndex] = []
    /// Gather kernel: this rank's output-channel chunks, packed (see ConvGather.pack); 2 entries per chunk.
    var packedWeights: [Float] = []
    var packedChunks: [Int] = []
    var usesGather = false
    /// Overlap (`RankSimulator.run(batch:)`, rule 5): the owned output rows whose whole input window lies in the rows
    /// this rank's input layer owns, computed while that input's exchange is in flight; empty where no overlap
    /// applies. `interiorReady` is set by that early pass and cleared by the step that completes the current.
    var interiorRows: Range<Int> = 0..<0
    var interiorReady = false
    /// Event-order scatter kernel of the other conv layers: its tables (see ConvScatterTables).
    var scatterTables: ConvScatterTables?

    var own = EventList()
    /// Scratch for the events one `fire` emits (at most one per owned neuron), appended to `own` in one copy;
    /// one buffer shared by all layers of a rank (they fire one at a time).
    var scratch = EmitScratch()
    var view = EventList()
    /// Scratch of `EventList.mergeRuns` for views that are merged.
    var mergeScratch = EventList()
    /// True when the view is exactly the owned events (no halo, nothing received).
    let viewIsOwn: Bool
    /// True when the view is assembled around the owned events, in `own` itself, instead of copying them into
    /// `view`: `own` then holds `lowerRoom` entries before the owned events (the events received from lower ranks,
    /// placed right before them, and fillers of index `Int32.min` before those), then the owned events, then, once
    /// the exchange is complete, the events received from higher ranks. The list stays sorted, so every reader
    /// that takes a span by index (kernels, routing, gates, packing) reads the same events as from a copied view;
    /// readers of the owned events alone start at `lowerRoom`. Rate-coded layers whose pieces do not interleave.
    let inPlaceView: Bool
    /// Entries of `own` before its owned events: the neurons of the ranges received from lower ranks (each sends at
    /// most one event per neuron), 0 unless `inPlaceView`.
    let lowerRoom: Int
    /// Entries `[0, haloFloor)` of `own` are fillers; `[haloFloor, lowerRoom)` the lower ranks' events of the last
    /// assembled view (stale until the next assembly replaces them).
    var haloFloor = 0
    /// Where the events received from lower ranks are decoded before they are placed in front of the owned ones.
    var lowerScratch = EventList()
    /// The neuron model's scalars `fire` reads every step (kept here so that the hot loop copies no struct).
    let neuronKind: NeuronKind?
    let threshold: Float, alpha: Float, tau: Float, burst: Int, resetToZero: Bool, memory: Bool, memoryMargin: Float
    /// Burst neurons: for k = 2 ... burst, the smallest membrane v with ⌊v / θ⌋ ≥ k as Float division rounds it
    /// (`burstEdges`), and the same for −v over the negative threshold θ/α of IBT neurons (`negativeBurstEdges`):
    /// a burst's size is then counted with comparisons, with the bits of the division (`BurstCount`).
    let burstEdges: [Float], negativeBurstEdges: [Float]
    /// The owned neurons as ranges of the state arrays and the offset from a local index to the flat index: one
    /// range, or one per position of a layer split by output channels.
    let segments: [(Int, Int, Int)]
    /// The number of owned neurons.
    let ownedCount: Int
    /// True if the view is assembled from pieces that interleave in index order (a layer split by output
    /// channels, received from other ranks): it is merged into ascending order.
    let mergesView: Bool

    /// Output layers only: per owned neuron, Σ_t I(t) and Σ_t s(t).
    var isOutput = false
    var inputSum: [Float] = []
    var spikeSum: [Float] = []

    var counters = LayerCounters()
    /// With `SimulationConfig.layerValues`: Σ of the owned neurons' emitted event values since burn-in.
    var valueSum: [Float] = []

    init(index: Int, network: Network, plan: LayerPlan, rank: Int, analog: Bool, assemblesInPlace: Bool = true) {
        self.index = index
        layer = network.layers[index]
        block = plan.blocks[rank]
        sends = plan.transfers.filter { $0.source == rank }
        receives = plan.transfers.filter { $0.destination == rank }
        signed = layer.emitsSigned(in: network)
        multiValued = Self.multiValued(index, network)
        self.analog = analog
        // The input layer encodes its whole view into `own` locally (nothing is received).
        viewIsOwn = index == 0 || (receives.isEmpty && block.view == block.own)
        ownedCount = block.ownedCount(channels: layer.shape.channels)
        neuronKind = layer.neuron?.kind
        threshold = layer.neuron?.threshold ?? 1; alpha = layer.neuron?.alpha ?? 1; tau = layer.neuron?.tau ?? 1
        burst = layer.neuron?.burst ?? 1; resetToZero = layer.neuron?.reset == .zero; memory = layer.neuron?.memory ?? false
        memoryMargin = layer.neuron?.memoryMargin ?? 0
        burstEdges = burst > 1 ? BurstCount.edges(threshold, upTo: burst) : []
        negativeBurstEdges = burst > 1 && neuronKind == .signedIBT ? BurstCount.edges(threshold / alpha, upTo: burst) : []
        let n = ownedCount
        if block.channelSplit {
            let c = layer.shape.channels, cl = block.channelLower, w = block.channelUpper - block.channelLower
            segments = (0 ..< (w > 0 ? n / w : 0)).map { p in (p * w, p * w + w, p * c + cl - p * w) }
        } else {
            segments = [(0, n, block.own.lower)]
        }
        mergesView = block.channelSplit && !receives.isEmpty
        inPlaceView = assemblesInPlace && !viewIsOwn && !mergesView && !block.own.isEmpty
            && block.view.lower <= block.own.lower && block.own.upper <= block.view.upper
        lowerRoom = inPlaceView ? receives.filter { $0.source < rank }.reduce(0) { $0 + $1.range.count } : 0
        if layer.op.hasNeurons {
            membrane = [Float](repeating: 0, count: n)
            if layer.neuron?.kind == .leakyIntegrateAndFire || layer.neuron?.kind == .leaky { lastSpike = [UInt8](repeating: 0, count: n) }
            if layer.neuron?.dynamics?.synapseDecay != nil { synaptic = [Float](repeating: 0, count: n) }
            if memory { netCount = [Int32](repeating: 0, count: n) }
            if let nm = layer.neuron, let d = nm.dynamics, !layer.perNeuron.isEmpty {
                leakyParams = LeakyParams(layer.perNeuron, nm, d, lower: block.own.lower, count: n, channels: layer.shape.channels)
            }
            channelBias = layer.bias.isEmpty ? [Float](repeating: 0, count: layer.shape.channels) : layer.bias
            // A layer split by output channels keeps its channels' state only: their biases, from position 0.
            if block.channelSplit { channelBias = Array(channelBias[block.channelLower ..< block.channelUpper]) }
        }
        if case .avgPool(let w, let inc) = layer.op {
            let s = layer.shape, inS = network.layers[layer.inputs[0]].shape
            avgInverse = [Float](repeating: 0, count: s.height * s.width)
            for oy in 0..<s.height {
                for ox in 0..<s.width {
                    var cnt = 0
                    for ky in 0..<w.kernelH {
                        let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                        for kx in 0..<w.kernelW {
                            let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                            if inc || (iy >= 0 && iy < inS.height && ix >= 0 && ix < inS.width) { cnt += 1 }
                        }
                    }
                    avgInverse[oy * s.width + ox] = cnt > 0 ? 1 / Float(cnt) : 0
                }
            }
        }
    }

    /// Clears the per-sample state and sets the initial membrane potential.
    func reset() {
        if fewSpikeMode {
            fillBias(&membrane)
            membraneAlt = membrane
            for k in delayLines.indices { for j in delayLines[k].indices { delayLines[k][j].removeAll() } }
        } else if let nm = layer.neuron {
            let v0 = nm.initialMembrane * nm.threshold
            if let p = leakyParams {
                for i in membrane.indices { membrane[i] = nm.initialMembrane * p.thresholds[i] }
            } else {
                for i in membrane.indices { membrane[i] = v0 }
            }
            for i in lastSpike.indices { lastSpike[i] = 0 }
            for i in synaptic.indices { synaptic[i] = 0 }
            for i in netCount.indices { netCount[i] = 0 }
        }
        trace.removeAll()
        for i in inputSum.indices { inputSum[i] = 0 }
        for i in spikeSum.indices { spikeSum[i] = 0 }
        for i in valueSum.indices { valueSum[i] = 0 }
        gate?.reset()
        constOps = 0
        own.removeAll(); view.removeAll()
    }

    /// The largest |value| of layer `i`'s events if every event is a whole number of spikes (IF, IBT and LIF
    /// neurons, ±1 or a burst's ±k; spike encoders; routing and max-pooling of such events), nil otherwise
    /// (analog input, few-spike codes, other neurons).
    static func wholeSpikeBound(_ i: Int, _ network: Network, encoder: InputEncoder) -> Int? {
        let l = network.layers[i]
        if let n = l.neuron {
            switch n.kind {
            case .integrateAndFire, .signedIBT, .leakyIntegrateAndFire: return Swift.max(1, n.burst)
            default: return nil
            }
        }
        switch l.op {
        case .input: return encoder == .direct ? nil : 1
        case .maxPool, .concat, .channelSlice, .upsample, .flatten:
            var most = 0
            for k in l.inputs {
                guard let b = wholeSpikeBound(k, network, encoder: encoder) else { return nil }
                most = Swift.max(most, b)
            }
            return l.inputs.isEmpty ? nil : most
        default: return nil
        }
    }

    static func multiValued(_ i: Int, _ network: Network) -> Bool {
        let l = network.layers[i]
        if let n = l.neuron { return n.burst > 1 || n.kind == .fewSpike || n.kind == .leakyIntegrator }
        if case .input = l.op { return false }
        return l.inputs.contains { multiValued($0, network) }
    }

    /// True if layer `i`'s events are those of IF neurons with memory (`NeuronModel.memory`), directly or
    /// through routing layers: spikes that a later negative spike may take back.
    static func takesSpikesBack(_ i: Int, _ network: Network) -> Bool {
        let l = network.layers[i]
        if let n = l.neuron { return n.memory }
        if case .input = l.op { return false }
        return !l.inputs.isEmpty && l.inputs.allSatisfy { takesSpikesBack($0, network) }
    }

    /// The events consumers on this rank read: the view, or the owned events when they coincide or the view is
    /// assembled around them (`inPlaceView`).
    var visible: EventList { viewIsOwn || inPlaceView ? own : view }

    /// Empties the owned events before the layer's update: with `inPlaceView`, down to the `lowerRoom` entries in
    /// front of them (filled with fillers if they are not there).
    func clearOwn() {
        guard lowerRoom > 0 else { own.removeAll(); return }
        if own.count >= lowerRoom {
            let extra = own.count - lowerRoom
            own.index.removeLast(extra); own.value.removeLast(extra)
        } else {
            own.removeAll()
            own.index.append(contentsOf: repeatElement(Int32.min, count: lowerRoom))
            own.value.append(contentsOf: repeatElement(0, count: lowerRoom))
            haloFloor = lowerRoom
        }
    }

    /// With `inPlaceView`, after the owned events: puts the events received from lower ranks (`lowerScratch`, in
    /// index order) right before the owned events, and fillers over what is left of the last step's.
    func placeLowerHalo() throws {
        let n = lowerScratch.count
        // Each lower rank's packet decodes to at most one event per neuron of its range, so this holds for valid input.
        guard n <= lowerRoom, own.count >= lowerRoom else {
            throw SpikeError("layer '\(layer.name)': \(n) events received from lower ranks for \(lowerRoom) neurons")
        }
        let start = lowerRoom - n
        own.index.withUnsafeMutableBufferPointer { I in
        own.value.withUnsafeMutableBufferPointer { V in
            if haloFloor < start {
                for p in haloFloor..<start { I[p] = Int32.min; V[p] = 0 }
            }
            lowerScratch.index.withUnsafeBufferPointer { SI in
            lowerScratch.value.withUnsafeBufferPointer { SV in
                for k in 0..<n { I[start + k] = SI[k]; V[start + k] = SV[k] }
            }}
        }}
        haloFloor = start
    }

    /// Sets each owned neuron's value in `a` to its channel's bias (owned neurons are a flat range in HWC order):
    /// the channels up to the first pixel boundary, one pixel, then the filled pixels copied onto the next ones,
    /// doubling, so a layer costs a handful of memory copies whatever its channel count.
    func fillBias(_ a: inout [Float], count: Int? = nil) {
        let c = channelBias.count, n = Swift.min(count ?? a.count, a.count)
        guard c > 0, n > 0 else { return }
        a.withUnsafeMutableBufferPointer { dst in
            channelBias.withUnsafeBufferPointer { b in
                let d = dst.baseAddress!
                let ch = block.own.lower % c
                let head = min(n, (c - ch) % c)
                if head > 0 { d.update(from: b.baseAddress! + ch, count: head) }
                guard head < n else { return }
                let p = d + head, rest = n - head
                p.update(from: b.baseAddress!, count: min(c, rest))
                var filled = min(c, rest)
                while filled < rest {
                    let k = min(filled, rest - filled)
                    (p + filled).update(from: p, count: k)
                    filled += k
                }
            }
        }
    }

    /// Decoded values of the owned neurons after `timesteps` steps.
    func decode(_ d: Decoding, timesteps: Int) -> [Float] {
        let t = Float(timesteps)
        if fewSpikeMode { return layer.neuron?.kind == .accumulator ? membrane : spikeSum }
        guard let nm = layer.neuron else { return spikeSum.map { $0 / t } }
        var values: [Float]
        switch (d, nm.kind) {
        case (_, .leakyIntegrator): values = spikeSum.map { $0 / t }   // mean membrane over the steps
        case (_, .accumulator), (.membrane, _): values = inputSum.map { $0 / t }
        case (.spikes, _): values = spikeSum.map { $0 * nm.threshold / t }
        }
        // Spiking output layers: back to the ANN's units (λ of each channel).
        let scale = layer.outputScale
        if !scale.isEmpty {
            let c = scale.count, lo = block.own.lower
            for i in values.indices { values[i] *= scale[(lo + i) % c] }
        }
        return values
    }
}
