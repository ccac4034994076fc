import SpikeANN
import SpikeCore

/// Chooses per-layer normalization factors from ANN activations on calibration samples.
public enum RateCalibration {
    /// Scales `network` so that each neuron layer's ANN-estimated firing rate, `mean(min(|a| / λ, 1))`,
    /// is about `targetRate` on `samples` (layer-wise λ, found by bisection). Accumulator layers get
    /// λ = their 99.9th percentile of |a|. Used to give seeded random networks realistic activity.
    /// With `targetRate <= 0`, every layer gets λ = max |a| (classic max normalization: no neuron saturates).
    public static func scaleToRate(_ network: Network, samples: [[Float]], targetRate: Float) throws -> Network {
        precondition(!samples.isEmpty)
        // The activations are dropped layer by layer as their scales are found, and the executor (with its im2col
        // scratch) as soon as they are computed, so that the normalized copy of the weights is not made beside them.
        var outs = try { let forward = try DenseForward(network); return samples.map { forward.run($0) } }()
        var lambda = [[Float]](repeating: [], count: network.layers.count)
        for (i, l) in network.layers.enumerated() {
            defer { for s in outs.indices { outs[s][i] = [] } }
            guard l.op.hasNeurons else { continue }
            var a = [Float]()
            for o in outs { a.append(contentsOf: o[i].map { abs($0) }) }
            let lam: Float
            if targetRate <= 0 {
                lam = max(ActivationStats.maxAbs(a), 1e-6)
            } else if l.neuron?.kind == .accumulator {
                lam = max(ActivationStats.percentileAbs(a, 99.9), 1e-6)
            } else {
                var lo: Float = 1e-6, hi = max(a.max() ?? 1, 1e-6) * 4
                for _ in 0..<40 {
                    let mid = (lo * hi).squareRoot()
                    let r = a.reduce(Float(0)) { $0 + min($1 / mid, 1) } / Float(max(a.count, 1))
                    if r > targetRate { lo = mid } else { hi = mid }
                }
                lam = hi
            }
            lambda[i] = [Float](repeating: lam, count: l.shape.channels)
        }
        return try Normalization.apply(network, lambda: lambda).network
    }
}
