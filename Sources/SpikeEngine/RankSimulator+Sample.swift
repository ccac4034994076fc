import SpikeCore

/// One sample's course on a rank (rate-coded runs): its input checked and the layers reset (`begin`), each layer's
/// update and its counts in every timestep (`advance`, `endStep`), and its result (`finish`). `run(batch:)` drives them.
extension RankSimulator {
    /// What a rate-coded run keeps for one sample between timesteps.
    struct SampleProgress {
        let sample: Int
        let input: [Float]
        let recording: Bool
        var perStep: [Int64]
        var checkpointValues = [[Float]]()
        var checkpointCounters = [[Int64]]()
        var raster = [(layer: Int, neuron: Int, time: Int)]()
        var stepSpikes = 0
    }

    /// Checks one sample's input and resets this simulator's layers for it.
    func begin(sample: Int, input: [Float]) throws -> SampleProgress {
        let frames = config.encoder == .events ? config.timesteps : 1
        guard input.count == network.inputShape.count * frames else {
            throw SpikeError("sample \(sample): input has \(input.count) values, the network's input \(network.inputShape) needs \(network.inputShape.count)"
                             + (frames > 1 ? " per frame x \(frames) frames (one per timestep) = \(network.inputShape.count * frames)" : ""))
        }
        for s in states { s.reset(); s.counters = LayerCounters() }
        if config.encoder == .current {
            inputMembrane = [Float](repeating: 0, count: states[0].block.view.count)
        }
        return SampleProgress(sample: sample, input: input, recording: config.rasterNeurons > 0 && sample == config.rasterSample,
                              perStep: [Int64](repeating: 0, count: config.timesteps))
    }

    /// Runs layer `s` of this simulator's sample for timestep `t` and keeps its counts (rules 3, 4, 6 below).
    func advance(_ s: LayerState, t: Int, _ p: inout SampleProgress) {
        let t0 = monotonicSeconds()
        s.clearOwn()
        let fired = step(s, sample: p.sample, t: t, input: p.input)
        p.stepSpikes += fired
        if fired > 0 {
            if s.stepChannelCounts.isEmpty {
                countChannels(s, recording: p.recording ? t : 0, into: &p.raster)
            } else {
                drainChannelCounts(s)
                if p.recording { countChannels(s, recording: t, into: &p.raster, counting: false) }
            }
        }
        // The owned events are `own`'s from `lowerRoom` on (all of them unless the view is assembled in place).
        let first = s.lowerRoom
        if !s.valueSum.isEmpty, s.own.count > first {
            let b = s.block, c = s.layer.shape.channels, n = s.valueSum.count
            for k in first..<s.own.count {
                let g = Int(s.own.index[k])
                guard b.own.contains(g) else { continue }
                let j = b.local(g, channels: c)
                if j >= 0 && j < n { s.valueSum[j] += s.own.value[k] }
            }
        }
        if s.isOutput && config.outputTrace {
            let lo = s.block.own.lower
            var row = [Float](repeating: 0, count: s.block.own.count)
            if s.layer.neuron?.kind == .accumulator {
                row = s.membrane
            } else {
                for k in first..<s.own.count {
                    let j = Int(s.own.index[k]) - lo
                    if j >= 0 && j < row.count { row[j] += s.own.value[k] }
                }
            }
            s.trace.append(row)
        }
        if s.isOutput && s.layer.neuron == nil {
            for k in first..<s.own.count { s.spikeSum[Int(s.own.index[k]) - s.block.own.lower] += s.own.value[k] }
        }
        let dt = monotonicSeconds() - t0
        timing.update += dt
        layerSeconds[s.index] += dt
    }

    /// Ends timestep `t` of this simulator's sample: spikes per step, burn-in and checkpoints.
    func endStep(_ t: Int, _ p: inout SampleProgress) {
        p.perStep[t - 1] = Int64(p.stepSpikes)
        p.stepSpikes = 0
        if t == config.burnIn {
            for s in states where !s.valueSum.isEmpty { for i in s.valueSum.indices { s.valueSum[i] = 0 } }
            for o in network.outputs {
                let st = states[o]
                for i in st.inputSum.indices { st.inputSum[i] = 0 }
                for i in st.spikeSum.indices { st.spikeSum[i] = 0 }
            }
        }
        if config.checkpoints.contains(t) {
            p.checkpointValues.append(network.outputs.flatMap { states[$0].decode(config.decoding, timesteps: t - config.burnIn) })
            var c: [Int64] = [0, 0, 0]
            for s in states {
                if network.countsSpikes(s.index) { c[0] += s.counters.spikes }
                c[1] += s.counters.synapticOps; c[2] += s.counters.macs
            }
            p.checkpointCounters.append(c)
        }
    }

    /// This simulator's sample after its last timestep.
    func finish(_ p: SampleProgress) -> RankSampleResult {
        let T = config.timesteps
        let outs = network.outputs.map { (range: states[$0].block.own, values: states[$0].decode(config.decoding, timesteps: T - config.burnIn)) }
        var result = RankSampleResult(outputs: outs, layers: states.map(\.counters), spikesPerStep: p.perStep,
                                      checkpointValues: p.checkpointValues, checkpointCounters: p.checkpointCounters, raster: p.raster)
        if config.outputTrace { result.outputTraces = network.outputs.map { states[$0].trace } }
        if config.layerValues {
            let steps = Float(T - config.burnIn)
            result.layerValues = states.map { s in
                let v = isFewSpike ? 1 : Self.eventValue(network, s.index) / steps
                return s.valueSum.map { $0 * v }
            }
        }
        return result
    }

    /// Adds the spikes layer `s` just emitted to its per-channel counts (owned neurons only) and, at
    /// `recording` = t > 0, records those of the raster neurons.
    /// Adds the channel counts `s` took as it fired to the rank's totals, and clears them.
    func drainChannelCounts(_ s: LayerState) {
        channelSpikes[s.index].withUnsafeMutableBufferPointer { totals in
            s.stepChannelCounts.withUnsafeMutableBufferPointer { step in
                for c in step.indices { totals[c] += Int64(step[c]); step[c] = 0 }
            }
        }
    }

    /// Counts this step's events of `s` per channel (unless `counting` is false: its update counted them) and
    /// records the raster neurons' spikes at `t` (0: not recording).
    func countChannels(_ s: LayerState, recording t: Int, into raster: inout [(layer: Int, neuron: Int, time: Int)], counting: Bool = true) {
        let c = s.layer.shape.channels
        let own = s.block.own
        let picks = rasterNeurons[s.index]
        let multi = s.multiValued && !s.fewSpikeMode, record = t > 0 && !picks.isEmpty
        channelSpikes[s.index].withUnsafeMutableBufferPointer { counts in
        s.own.index.withUnsafeBufferPointer { idx in
        s.own.value.withUnsafeBufferPointer { val in
            // Events come in index order: the position (and so the channel) advances without a division
            // for nearby events; a jump recomputes it.
            var posBase = -c
            for k in s.lowerRoom..<idx.count {
                let i = Int(idx[k])
                guard own.contains(i) else { continue }
                if i < posBase || i >= posBase + c {
                    if i >= posBase && i < posBase + 4 * c {
                        repeat { posBase += c } while i >= posBase + c
                    } else {
                        posBase = i / c * c
                    }
                }
                if counting { counts[i - posBase] += multi ? Int64(abs(val[k])) : 1 }
                if record, Self.sortedContains(picks, Int32(i)) {
                    raster.append((s.index, i, val[k] < 0 ? -t : t))
                }
            }
        }}}
    }

    static func sortedContains(_ a: [Int32], _ x: Int32) -> Bool {
        var lo = 0, hi = a.count
        while lo < hi { let m = (lo + hi) / 2; if a[m] < x { lo = m + 1 } else { hi = m } }
        return lo < a.count && a[lo] == x
    }
}
