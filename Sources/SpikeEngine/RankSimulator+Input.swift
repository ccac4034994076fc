import SpikeCore

extension RankSimulator {
    /// Encodes the input sample for this rank's view of layer 0 at timestep `t`.
    func encodeInput(_ s: LayerState, sample: Int, t: Int, input: [Float]) -> Int {
        let v = s.block.view
        switch config.encoder {
        case .direct:
            // Room for every pixel at once: growing by doubling would hold the old and the new arrays together
            // (pages never written are not resident, so a sparse input costs only its events).
            s.own.index.reserveCapacity(v.count); s.own.value.reserveCapacity(v.count)
            for i in v.lower..<v.upper where input[i] != 0 { s.own.append(i, input[i]) }
            return 0
        case .bernoulli, .poisson:
            var n = 0
            for i in v.lower..<v.upper where rateEncoder.fires(input[i], sample: sample, neuron: i, timestep: t) {
                s.own.append(i, 1)
                if s.block.own.contains(i) { n += 1 }
            }
            s.counters.positiveSpikes += Int64(n)
            s.counters.neuronUpdates += Int64(s.block.own.count)
            return n
        case .current:
            var n = 0
            inputMembrane.withUnsafeMutableBufferPointer { V in
                for i in v.lower..<v.upper {
                    let x = input[i]
                    if x == 0 && V[i - v.lower] < 1 { continue }
                    var u = V[i - v.lower] + x
                    if u >= 1 {
                        u -= 1
                        s.own.append(i, 1)
                        if s.block.own.contains(i) { n += 1 }
                    }
                    V[i - v.lower] = u
                }
            }
            s.counters.positiveSpikes += Int64(n)
            s.counters.neuronUpdates += Int64(s.block.own.count)
            return n
        case .events:
            let off = (t - 1) * network.inputShape.count
            var n = 0
            for i in v.lower..<v.upper where input[off + i] != 0 {
                s.own.append(i, 1)
                if s.block.own.contains(i) { n += 1 }
            }
            s.counters.positiveSpikes += Int64(n)
            s.counters.neuronUpdates += Int64(s.block.own.count)
            return n
        }
    }
}
