import SpikeCore

/// The pipelined few-spike schedule.
///
/// Global steps are grouped in windows of K sub-steps; window w = ⌊(t − 1)/K⌋ and sub-step k = (t − 1) mod K + 1.
/// An FS layer at FS depth d fires sub-step k of image w − (d − 1) in window w, so once the pipeline is full
/// every layer works on its own image at every step: throughput is one image per K sub-steps and the latency
/// of an image is depth × K. Events a layer emits in window w belong to image w − o (its emit offset: d − 1 for
/// FS layers, the input's 0, a routing layer's inputs' largest). A layer loads image w − (largest emit offset
/// of its inputs) and an input with a smaller offset is delayed by the difference × K steps, so that a skip
/// connection's events arrive with the deep path's events of the same image. An FS layer keeps two membranes
/// by image parity: the one it fires and the one it loads (the same one for the depth-1 layers, which load
/// the input at sub-step 1 and fire it at once). Output accumulators load only.
///
/// One image through this schedule sees exactly the events, in exactly the order, that it sees among other
/// images, so every output and counter is the same whatever the number of images in the pipeline (and, as
/// in the rate schedule, whatever the number of ranks).
extension RankSimulator {
    /// The few-spike layout of a network, per layer: FS depth, load offset, emit offset and, per input, the
    /// delay in steps. Nil for networks without FS neurons. Checks that the run fits the schedule.
    static func fewSpikeLayout(_ network: Network, _ config: SimulationConfig)
        throws -> (depth: [Int], load: [Int], emit: [Int], delays: [[Int]])? {
        let k = network.fewSpikeSteps
        guard k > 0 else { return nil }
        guard config.encoder == .direct else {
            throw SpikeError("a few-spike network loads its input once: it needs direct encoding, got \(config.encoder.rawValue)")
        }
        guard config.timesteps == network.fewSpikeLatency, config.burnIn == 0, config.checkpoints.isEmpty else {
            throw SpikeError("a few-spike network with K = \(k) runs exactly depth x K = \(network.fewSpikeLatency) sub-steps (timesteps), without burn-in or checkpoints; got \(config.timesteps) timesteps, burn-in \(config.burnIn), \(config.checkpoints.count) checkpoint(s)")
        }
        let depth = network.fewSpikeDepths
        var load = [Int](repeating: 0, count: network.layers.count), emit = load
        var delays = [[Int]](repeating: [], count: network.layers.count)
        for (i, l) in network.layers.enumerated() where i > 0 {
            load[i] = l.inputs.map { emit[$0] }.max() ?? 0
            emit[i] = l.neuron?.kind == .fewSpike ? depth[i] - 1 : load[i]
            delays[i] = l.inputs.map { (load[i] - emit[$0]) * k }
        }
        return (depth, load, emit, delays)
    }

    /// The events of input `k` of layer `s` this step: the input's view, or its delayed copy.
    @inline(__always)
    func inputEvents(_ s: LayerState, _ k: Int) -> EventList {
        k < s.inputDelays.count && s.inputDelays[k] > 0 ? s.delayed[k] : states[s.layer.inputs[k]].visible
    }

    /// Moves the delay lines of `s` on by one step: this step's delayed events are those of `delay` steps ago.
    func advanceDelays(_ s: LayerState) {
        for (k, d) in s.inputDelays.enumerated() where d > 0 {
            s.delayed[k] = s.delayLines[k].removeFirst()
            s.delayLines[k].append(states[s.layer.inputs[k]].visible)
        }
    }

    /// Simulates `samples` through the pipelined few-spike schedule, (P + depth − 1) × K steps for P samples;
    /// one result per sample, each equal to the sample's result alone.
    public func runFewSpike(samples: [(sample: Int, input: [Float])]) throws -> [RankSampleResult] {
        precondition(isFewSpike, "runFewSpike needs a few-spike network")
        for (sample, input) in samples where input.count != network.inputShape.count {
            throw SpikeError("sample \(sample): input has \(input.count) values, the network's input \(network.inputShape) needs \(network.inputShape.count)")
        }
        let P = samples.count
        guard P > 0 else { return [] }
        let K = network.fewSpikeSteps, T = config.timesteps, D = T / K
        for s in states { s.reset(); s.counters = LayerCounters() }
        let L = states.count
        var counters = [[LayerCounters]](repeating: [LayerCounters](repeating: LayerCounters(), count: L), count: P)
        var perStep = [[Int64]](repeating: [Int64](repeating: 0, count: T), count: P)
        var outputs = [[[Float]]](repeating: [[Float]](repeating: [], count: network.outputs.count), count: P)
        var values = [[[Float]]](repeating: [[Float]](repeating: [], count: L), count: P)
        var raster = [(layer: Int, neuron: Int, time: Int)]()
        let rasterImage = config.rasterNeurons > 0 ? samples.firstIndex { $0.sample == config.rasterSample } : nil
        let outputSlot = Dictionary(uniqueKeysWithValues: network.outputs.enumerated().map { ($1, $0) })
        func add(_ c: inout LayerCounters, to image: Int, _ i: Int) {
            if image >= 0 && image < P { counters[image][i] = counters[image][i] + c }
            c = LayerCounters()
        }
        for t in 1...((P + D - 1) * K) {
            let w = (t - 1) / K, k = (t - 1) % K + 1
            for s in states {
                let t0 = monotonicSeconds()
                let i = s.index
                s.own.removeAll()
                advanceDelays(s)
                let loadImage = w - s.loadOffset
                var fired = 0, firedImage = -1
                switch s.layer.op {
                case .input:
                    if k == 1 && w < P { _ = encodeInput(s, sample: samples[w].sample, t: 1, input: samples[w].input) }
                    add(&s.counters, to: w, i)
                case .conv, .dense, .avgPool, .globalAvgPool, .add:
                    if s.block.own.isEmpty { break }
                    // Load: this step's input events straight into the membrane of the image they belong to.
                    if loadImage >= 0 && loadImage < P {
                        let alt = loadImage & 1 == 1 && s.fewSpikeDepth > 0
                        if alt { swap(&s.current, &s.membraneAlt) } else { swap(&s.current, &s.membrane) }
                        for (j, src) in s.layer.inputs.enumerated() {
                            let n = scatter(s, input: j, from: states[src])
                            if states[src].analog { s.counters.macs += Int64(n) } else { s.counters.synapticOps += Int64(n) }
                        }
                        if alt { swap(&s.current, &s.membraneAlt) } else { swap(&s.current, &s.membrane) }
                    }
                    add(&s.counters, to: loadImage, i)
                    // Fire: sub-step k of the image this layer holds.
                    if s.fewSpikeDepth > 0 {
                        let image = w - (s.fewSpikeDepth - 1)
                        if image >= 0 && image < P {
                            fired = s.fireFewSpike(subStep: k, alt: image & 1 == 1)
                            firedImage = image
                            perStep[image][t - image * K - 1] += Int64(fired)
                            add(&s.counters, to: image, i)
                        }
                    }
                default:
                    _ = step(s, sample: 0, t: t, input: [])
                    add(&s.counters, to: w - s.emitOffset, i)
                }
                if fired > 0 {
                    countChannels(s, recording: firedImage == rasterImage ? t - firedImage * K : 0, into: &raster)
                }
                if !s.valueSum.isEmpty, s.own.count > 0 {
                    let lo = s.block.own.lower, n = s.block.own.count
                    for e in 0..<s.own.count {
                        let j = Int(s.own.index[e]) - lo
                        if j >= 0 && j < n { s.valueSum[j] += s.own.value[e] }
                    }
                }
                if s.isOutput && s.layer.neuron == nil {
                    for e in 0..<s.own.count { s.spikeSum[Int(s.own.index[e]) - s.block.own.lower] += s.own.value[e] }
                }
                let dt = monotonicSeconds() - t0
                timing.update += dt
                layerSeconds[i] += dt
                if i > 0 && !partition.layers[i].transfers.isEmpty { try exchange(layer: i, lanes: [self]) }
                // The end of a window: the image this layer finished is complete here; keep what it decoded
                // and recorded, and clear the state for the image after next.
                if k == K {
                    let image = s.fewSpikeDepth > 0 ? w - (s.fewSpikeDepth - 1) : w - s.emitOffset
                    if image >= 0 && image < P {
                        if let o = outputSlot[i] { outputs[image][o] = s.decode(config.decoding, timesteps: T) }
                        if !s.valueSum.isEmpty { values[image][i] = s.valueSum }
                    }
                    for j in s.valueSum.indices { s.valueSum[j] = 0 }
                    for j in s.spikeSum.indices { s.spikeSum[j] = 0 }
                    s.gate?.reset()
                    if s.fewSpikeMode && s.layer.op.hasNeurons {
                        if s.fewSpikeDepth > 0 { s.clearFewSpike(alt: image & 1 == 1) } else { s.clearFewSpike(alt: false) }
                    }
                }
            }
        }
        return (0..<P).map { j in
            var r = RankSampleResult(outputs: network.outputs.enumerated().map { (range: states[$1].block.own, values: outputs[j][$0]) },
                                     layers: counters[j], spikesPerStep: perStep[j])
            if j == rasterImage { r.raster = raster }
            if config.layerValues { r.layerValues = values[j] }
            return r
        }
    }
}
