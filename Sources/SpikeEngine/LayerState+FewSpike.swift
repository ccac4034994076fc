import SpikeCore

/// The neuron updates of few-spike (FS) layers, sub-step by sub-step (RankSimulator+FewSpike runs the schedule).
extension LayerState {
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
}
