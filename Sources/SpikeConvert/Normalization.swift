import SpikeCore

/// Data-based weight normalization (Diehl et al. 2015; Spiking-YOLO Algorithm 1 for channel-wise λ).
///
/// Every layer's output is divided by a per-channel factor λ so that rates stay in [0, 1] with
/// threshold 1: `W[l][j,i] ← W[l][j,i] · λ[l-1][i] / λ[l][j]`, `b[l][j] ← b[l][j] / λ[l][j]`.
/// Layers without weights (pooling, routing) pass their input's factors on; a residual add takes
/// per-input, per-channel factors as its synaptic weights, so branches with different scales merge
/// exactly (no averaging), and concat keeps each block's own factors.
/// How a residual add's output scale relates to its branches' scales.
public enum ResidualScaling: String, Sendable, Codable, CaseIterable {
    /// The add's own calibrated λ; each branch enters with weight λ_branch / λ_add (may exceed 1).
    case perSource = "per-source"
    /// λ_add = max(own λ, every branch's λ) per channel: branch weights are at most 1, the stream
    /// keeps the larger scale (fewer saturated neurons after the add, lower rates).
    case maxOfSources = "max"
}

public enum Normalization {
    /// Returns `network` with weights rescaled by `lambda` (one array per layer, one entry per output
    /// channel, used for conv, dense and add layers; ignored elsewhere), and the per-channel factor
    /// every layer's output ends up with.
    public static func apply(_ network: Network, lambda: [[Float]], residual: ResidualScaling = .perSource) throws -> (network: Network, scales: [[Float]]) {
        var net = network
        var out = [[Float]](repeating: [], count: net.layers.count)
        for (i, l) in net.layers.enumerated() {
            let c = l.shape.channels
            switch l.op {
            case .input:
                out[i] = [Float](repeating: 1, count: c)
            case .conv(let w, let outC, let groups):
                let lam = try check(lambda, i, c, l.name)
                let inScale = out[l.inputs[0]]
                let ipg = inScale.count / groups, opg = outC / groups
                var wt = l.weights
                for k in 0..<(w.kernelH * w.kernelW) {
                    for icl in 0..<ipg {
                        for oc in 0..<outC {
                            let ic = (oc / opg) * ipg + icl
                            wt[(k * ipg + icl) * outC + oc] *= inScale[ic] / lam[oc]
                        }
                    }
                }
                net.layers[i].weights = wt
                net.layers[i].bias = l.bias.enumerated().map { $1 / lam[$0] }
                out[i] = lam
            case .dense(let outF):
                let lam = try check(lambda, i, c, l.name)
                let inScale = out[l.inputs[0]]
                let inShape = net.layers[l.inputs[0]].shape
                var wt = l.weights
                for f in 0..<inShape.count {
                    let s = inScale[f % inShape.channels]
                    for o in 0..<outF { wt[f * outF + o] *= s / lam[o] }
                }
                net.layers[i].weights = wt
                net.layers[i].bias = l.bias.enumerated().map { $1 / lam[$0] }
                out[i] = lam
            case .add:
                var lam = try check(lambda, i, c, l.name)
                if residual == .maxOfSources {
                    // One scale for the stream: never below any branch's, so no branch is amplified.
                    for ch in 0..<c { for j in l.inputs { lam[ch] = max(lam[ch], out[j][ch]) } }
                }
                var wt = [Float]()
                for (k, j) in l.inputs.enumerated() {
                    for ch in 0..<c {
                        let base = l.weights.isEmpty ? 1 : l.weights[k * c + ch]
                        wt.append(base * out[j][ch] / lam[ch])
                    }
                }
                net.layers[i].weights = wt
                net.layers[i].bias = l.bias.enumerated().map { $1 / lam[$0] }
                out[i] = lam
            case .avgPool, .globalAvgPool, .maxPool, .upsample:
                out[i] = out[l.inputs[0]]
            case .concat:
                out[i] = l.inputs.flatMap { out[$0] }
            case .channelSlice(let start, let count):
                out[i] = Array(out[l.inputs[0]][start ..< start + count])
            case .activation(let f):
                switch f {
                case .relu, .leakyRelu: out[i] = out[l.inputs[0]]   // positively homogeneous
                default: throw SpikeError("layer '\(l.name)': \(f.name) is not positively homogeneous, so weight normalization cannot pass through it; it needs AMOS conversion")
                }
            case .flatten:
                let s = out[l.inputs[0]]
                out[i] = (0..<l.shape.channels).map { s[$0 % s.count] }
            }
        }
        try net.validate()
        return (net, out)
    }

    static func check(_ lambda: [[Float]], _ i: Int, _ c: Int, _ name: String) throws -> [Float] {
        guard i < lambda.count, lambda[i].count == c else {
            throw SpikeError("layer '\(name)': normalization needs \(c) factors, got \(i < lambda.count ? lambda[i].count : 0)")
        }
        guard lambda[i].allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw SpikeError("layer '\(name)': normalization factors must be positive and finite (a dead layer?)")
        }
        return lambda[i]
    }
}
