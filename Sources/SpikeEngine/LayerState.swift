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
    var membrane: [Float] = []
    var lastSpike: [UInt8] = []     // LIF reset gate; leaky neurons: spiked last step (subtractNext)
    var synaptic: [Float] = []      // leaky neurons with a synaptic current state
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
    /// The neuron model's scalars `fire` reads every step (kept here so that the hot loop copies no struct).
    let neuronKind: NeuronKind?
    let threshold: Float, alpha: Float, tau: Float, burst: Int, resetToZero: Bool
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

    init(index: Int, network: Network, plan: LayerPlan, rank: Int, analog: Bool) {
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
        burst = layer.neuron?.burst ?? 1; resetToZero = layer.neuron?.reset == .zero
        let n = ownedCount
        if block.channelSplit {
            let c = layer.shape.channels, cl = block.channelLower, w = block.channelUpper - block.channelLower
            segments = (0 ..< (w > 0 ? n / w : 0)).map { p in (p * w, p * w + w, p * c + cl - p * w) }
        } else {
            segments = [(0, n, block.own.lower)]
        }
        mergesView = block.channelSplit && !receives.isEmpty
        if layer.op.hasNeurons {
            membrane = [Float](repeating: 0, count: n)
            if layer.neuron?.kind == .leakyIntegrateAndFire || layer.neuron?.kind == .leaky { lastSpike = [UInt8](repeating: 0, count: n) }
            if layer.neuron?.dynamics?.synapseDecay != nil { synaptic = [Float](repeating: 0, count: n) }
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
        }
        trace.removeAll()
        for i in inputSum.indices { inputSum[i] = 0; spikeSum[i] = 0 }
        for i in valueSum.indices { valueSum[i] = 0 }
        gate?.reset()
        constOps = 0
        own.removeAll(); view.removeAll()
    }

    static func multiValued(_ i: Int, _ network: Network) -> Bool {
        let l = network.layers[i]
        if let n = l.neuron { return n.burst > 1 || n.kind == .fewSpike || n.kind == .leakyIntegrator }
        if case .input = l.op { return false }
        return l.inputs.contains { multiValued($0, network) }
    }

    /// The events consumers on this rank read: the view, or the owned events when they coincide.
    var visible: EventList { viewIsOwn ? own : view }

    /// Sets each owned neuron's value in `a` to its channel's bias (owned neurons are a flat range in HWC order):
    /// the channels up to the first pixel boundary, one pixel, then the filled pixels copied onto the next ones,
    /// doubling, so a layer costs a handful of memory copies whatever its channel count.
    func fillBias(_ a: inout [Float]) {
        let c = channelBias.count, n = a.count
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

    /// Updates the owned neurons with `current`, appends their spikes to `own` and returns the count
    /// of spikes this step. The rules are those of DESIGN.md section 3.
    func fire() -> Int {
        guard let kind = neuronKind else { return 0 }
        let n = current.count, lo = block.own.lower
        let th = threshold
        var pos = 0, neg = 0
        let firstEvent = own.count
        if isOutput { for i in 0..<n { inputSum[i] += current[i] } }
        var m = 0
        let size = min(n, EmitScratch.chunk)
        if scratch.index.count < size { scratch.index = [Int32](repeating: 0, count: size); scratch.value = [Float](repeating: 0, count: size) }
        scratch.index.withUnsafeMutableBufferPointer { EI in
        scratch.value.withUnsafeMutableBufferPointer { EV in
        // The IF, IBT and burst updates emit through the scratch buffers (no per-event array growth checks);
        // a full buffer is appended to the layer's events, in order, and reused.
        let cap = EI.count
        @inline(__always) func emit(_ i: Int, _ v: Float) {
            if _slowPath(m == cap) {
                own.index.append(contentsOf: UnsafeBufferPointer(EI)); own.value.append(contentsOf: UnsafeBufferPointer(EV))
                m = 0
            }
            EI[m] = Int32(truncatingIfNeeded: i); EV[m] = v; m += 1
        }
        membrane.withUnsafeMutableBufferPointer { V in
            current.withUnsafeBufferPointer { I in
                if burst > 1 {
                    // Burst spikes: k = min(⌊V/θ⌋, burst) spikes as one event of value ±k (reset by subtraction).
                    let cap = Float(burst)
                    let negTh = kind == .signedIBT ? th / alpha : Float.infinity
                    // Eight neurons at a time, lane by lane the scalar tail's IEEE operations (a quotient, its
                    // floor, a min, a product and a difference); the lanes that fire are then appended in order.
                    let capV = SIMD8<Float>(repeating: cap), thV = SIMD8<Float>(repeating: th), negV = SIMD8<Float>(repeating: negTh)
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let fp = v .>= th, fn = v .<= -negTh
                        var nv = v
                        if any(fp .| fn) {
                            // min(x, cap) as Swift.min forms it: cap < x ? cap : x.
                            let qp = (v / thV).rounded(.down), qn = (-v / negV).rounded(.down)
                            let kp = qp.replacing(with: capV, where: capV .< qp), kn = qn.replacing(with: capV, where: capV .< qn)
                            nv.replace(with: v - kp * thV, where: fp)
                            nv.replace(with: v + kn * negV, where: fn)
                            let k = SIMD8<Float>.zero.replacing(with: kp, where: fp).replacing(with: -kn, where: fn)
                            pos += Int(SIMD8<Float>.zero.replacing(with: kp, where: fp).sum())
                            neg += Int(SIMD8<Float>.zero.replacing(with: kn, where: fn).sum())
                            var bits = laneBits(fp .| fn)
                            while bits != 0 {
                                let l = bits.trailingZeroBitCount
                                bits &= bits - 1
                                emit(go + i0 + l, k[l])
                            }
                        }
                        store8(nv, V, i0)
                        i0 += 8
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        if v >= th {
                            let k = min((v / th).rounded(.down), cap)
                            V[i] = v - k * th
                            emit(go + i, k); pos += Int(k)
                        } else if v <= -negTh {
                            let k = min((-v / negTh).rounded(.down), cap)
                            V[i] = v + k * negTh
                            emit(go + i, -k); neg += Int(k)
                        } else { V[i] = v }
                    }
                    }
                    return
                }
                switch kind {
                case .integrateAndFire:
                    let toZero = resetToZero
                    // Eight neurons at a time; lane by lane the same IEEE operations as the scalar tail.
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let f = v .>= th
                        var nv = v
                        if any(f) {
                            nv.replace(with: toZero ? SIMD8<Float>.zero : v - th, where: f)
                            var bits = laneBits(f)
                            while bits != 0 {
                                emit(go + i0 + bits.trailingZeroBitCount, 1); pos += 1
                                bits &= bits - 1
                            }
                        }
                        store8(nv, V, i0)
                        i0 += 8
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        if v >= th {
                            V[i] = toZero ? 0 : v - th
                            emit(go + i, 1); pos += 1
                        } else { V[i] = v }
                    }
                    }
                case .signedIBT:
                    let negTh = th / alpha
                    let toZero = resetToZero
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let fp = v .>= th, fn = v .<= -negTh
                        var nv = v
                        if any(fp .| fn) {
                            nv.replace(with: toZero ? SIMD8<Float>.zero : v - th, where: fp)
                            nv.replace(with: toZero ? SIMD8<Float>.zero : v + negTh, where: fn)
                            let pb = laneBits(fp), nb = laneBits(fn)
                            var bits = pb | nb
                            while bits != 0 {
                                let l = bits.trailingZeroBitCount
                                if pb & (1 << l) != 0 { emit(go + i0 + l, 1); pos += 1 } else { emit(go + i0 + l, -1); neg += 1 }
                                bits &= bits - 1
                            }
                        }
                        store8(nv, V, i0)
                        i0 += 8
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        if v >= th {
                            V[i] = toZero ? 0 : v - th
                            emit(go + i, 1); pos += 1
                        } else if v <= -negTh {
                            V[i] = toZero ? 0 : v + negTh
                            emit(go + i, -1); neg += 1
                        } else { V[i] = v }
                    }
                    }
                case .leakyIntegrateAndFire:
                    let tau = self.tau
                    for i in 0..<n {
                        let keep: Float = lastSpike[i] != 0 ? 0 : 1
                        let v = tau * V[i] * keep + I[i]
                        V[i] = v
                        if v >= th { lastSpike[i] = 1; own.append(lo + i, 1); pos += 1 } else { lastSpike[i] = 0 }
                    }
                case .accumulator:
                    for i in 0..<n { V[i] += I[i] }
                case .fewSpike:
                    return   // sub-steps: fireFewSpike
                case .leaky, .leakyIntegrator:
                    let d = layer.neuron!.dynamics!
                    let fires = kind == .leaky
                    if let p = leakyParams { pos += fireLeaky(p, d, fires: fires, V, I, lo) }
                    else { pos += fireLeaky(UniformLeaky(threshold: th, d), d, fires: fires, V, I, lo) }
                }
            }
        }
        }}
        if m > 0 {
            own.index.append(contentsOf: scratch.index[0..<m]); own.value.append(contentsOf: scratch.value[0..<m])
        }
        if isOutput, kind == .leakyIntegrator { for i in 0..<n { spikeSum[i] += membrane[i] } }
        if isOutput, pos + neg > 0 {
            for k in firstEvent..<own.count { spikeSum[Int(own.index[k]) - lo] += own.value[k] }
        }
        counters.positiveSpikes += Int64(pos)
        counters.negativeSpikes += Int64(neg)
        counters.neuronUpdates += Int64(ownedCount)
        return pos + neg
    }

    /// Few-spike sub-step `k` (1...K) of the owned neurons, on the membrane of image parity `alt`:
    /// `z = V > T(k)`, `V −= h(k)·z`, each spike an event of value d(k); a sign-magnitude code also
    /// `z⁻ = V < −T(k)`, `V += h(k)·z⁻`, an event of value −s·d(k). Returns the spike count.
    func fireFewSpike(subStep k: Int, alt: Bool) -> Int {
        guard let code = layer.neuron?.fewSpike else { return 0 }
        let th = code.thresholds[k - 1], h = code.resets[k - 1], d = code.outputs[k - 1]
        let lo = block.own.lower
        var n = 0
        let out = isOutput
        func fire(_ V: inout [Float]) {
            V.withUnsafeMutableBufferPointer { v in
                for i in 0..<v.count where v[i] > th {
                    v[i] -= h
                    own.append(lo + i, d); n += 1
                    if out { spikeSum[i] += d }
                }
            }
        }
        var neg = 0
        func fireSigned(_ V: inout [Float], _ s: Float) {
            let dn = -s * d
            V.withUnsafeMutableBufferPointer { v in
                for i in 0..<v.count {
                    if v[i] > th {
                        v[i] -= h
                        own.append(lo + i, d); n += 1
                        if out { spikeSum[i] += d }
                    } else if v[i] < -th {
                        v[i] += h
                        own.append(lo + i, dn); neg += 1
                        if out { spikeSum[i] += dn }
                    }
                }
            }
        }
        if let s = code.negativeScale {
            if alt { fireSigned(&membraneAlt, s) } else { fireSigned(&membrane, s) }
        } else if alt { fire(&membraneAlt) } else { fire(&membrane) }
        counters.negativeSpikes += Int64(neg)
        counters.positiveSpikes += Int64(n)
        counters.neuronUpdates += Int64(membrane.count)
        return n + neg
    }

    /// Few-spike networks: the membrane of image parity `alt` back to the bias, for the image after next.
    func clearFewSpike(alt: Bool) {
        if alt { fillBias(&membraneAlt) } else { fillBias(&membrane) }
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

/// `V[i ..< i + 8] + I[i ..< i + 8]`, lane by lane.
@inline(__always)
func sum8(_ V: UnsafeMutableBufferPointer<Float>, _ I: UnsafeBufferPointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(V.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(I.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ V: UnsafeMutableBufferPointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(V.baseAddress! + i).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The lanes of a comparison mask as bits (lane i is bit i).
@inline(__always)
func laneBits(_ m: SIMDMask<SIMD8<Int32>>) -> UInt32 {
    UInt32(SIMD8<Int32>.zero.replacing(with: SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128), where: m).wrappedSum())
}
