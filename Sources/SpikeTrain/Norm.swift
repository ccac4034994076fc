import Foundation
import SpikeCore

/// Batch normalisation per channel over batch, time and space together (Zheng et al. 2021, tdBN):
/// `y = γ·(x − μ)/√(σ² + ε) + β`. tdBN starts γ at `α·V_th` (SpikingJelly's
/// `ThresholdDependentBatchNorm2d` stores the paper's λ pre-multiplied by α·V_th the same way);
/// plain BN (the ablation) starts γ at 1. Statistics of a training step are those of the global
/// batch: per-chunk sums reduced exactly over every rank (`ExactSum`). Evaluation uses running
/// statistics (momentum 0.1, unbiased running variance, as in PyTorch).
public final class BatchNorm: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let gamma: Param, beta: Param
    public var runningMean: [Float], runningVar: [Float]
    public let eps: Float = 1e-5
    public let momentum: Float = 0.1
    var xhat: [[Float]] = []
    var invStd: [Float] = []
    public var params: [Param] { [gamma, beta] }

    public init(name: String, shape: Shape, gammaInit: Float) {
        self.name = name; inShape = shape; outShape = shape
        gamma = Param(name + ".gamma", [Float](repeating: gammaInit, count: shape.channels), decays: false)
        beta = Param(name + ".beta", [Float](repeating: 0, count: shape.channels), decays: false)
        runningMean = [Float](repeating: 0, count: shape.channels)
        runningVar = [Float](repeating: 1, count: shape.channels)
    }

    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        let C = inShape.channels
        var mean = [Float](repeating: 0, count: C), inv = [Float](repeating: 0, count: C)
        if ctx.training {
            var parts: [[Double]] = []
            for xc in x {
                // Per position, channels in order; Float partial sums per position block, Double across blocks.
                var p = [Double](repeating: 0, count: 2 * C)
                xc.withUnsafeBufferPointer { xp in p.withUnsafeMutableBufferPointer { pp in
                    let P = xc.count / C
                    for q in 0..<P {
                        let o = q * C
                        for ch in 0..<C { let v = Double(xp[o + ch]); pp[ch] += v; pp[C + ch] += v * v }
                    }
                } }
                parts.append(p)
            }
            let s = try ctx.reducer.sum(parts, count: 2 * C)
            let m = Double(ctx.globalSamples * ctx.timesteps * inShape.height * inShape.width)
            for ch in 0..<C {
                let mu = s[ch] / m, v = max(0, s[C + ch] / m - mu * mu)
                mean[ch] = Float(mu); inv[ch] = Float(1 / (v + Double(eps)).squareRoot())
                runningMean[ch] = (1 - momentum) * runningMean[ch] + momentum * Float(mu)
                runningVar[ch] = (1 - momentum) * runningVar[ch] + momentum * Float(v * m / max(1, m - 1))
            }
            invStd = inv
        } else {
            for ch in 0..<C { mean[ch] = runningMean[ch]; inv[ch] = 1 / (runningVar[ch] + eps).squareRoot() }
        }
        if ctx.training { xhat = [] }
        var out: [[Float]] = []
        let g = gamma.value, bt = beta.value
        for xc in x {
            var h = [Float](repeating: 0, count: xc.count), y = h
            xc.withUnsafeBufferPointer { xp in h.withUnsafeMutableBufferPointer { hp in y.withUnsafeMutableBufferPointer { yp in
                let P = xc.count / C
                for q in 0..<P {
                    let o = q * C
                    for ch in 0..<C {
                        let v = (xp[o + ch] - mean[ch]) * inv[ch]
                        hp[o + ch] = v
                        yp[o + ch] = g[ch] * v + bt[ch]
                    }
                }
            } } }
            if ctx.training { xhat.append(h) }
            out.append(y)
        }
        return out
    }

    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        let C = inShape.channels
        var parts: [[Double]] = []
        for (c, d) in dy.enumerated() {
            var p = [Double](repeating: 0, count: 2 * C)
            var gb = [Float](repeating: 0, count: C), gg = gb
            d.withUnsafeBufferPointer { dp in xhat[c].withUnsafeBufferPointer { hp in p.withUnsafeMutableBufferPointer { pp in
                gb.withUnsafeMutableBufferPointer { gbp in gg.withUnsafeMutableBufferPointer { ggp in
                    let P = d.count / C
                    for q in 0..<P {
                        let o = q * C
                        for ch in 0..<C {
                            let dv = dp[o + ch], hv = hp[o + ch]
                            pp[ch] += Double(dv); pp[C + ch] += Double(dv) * Double(hv)
                            gbp[ch] += dv; ggp[ch] += dv * hv
                        }
                    }
                } }
            } } }
            beta.chunkGrads[c] = gb; gamma.chunkGrads[c] = gg
            parts.append(p)
        }
        let s = try ctx.reducer.sum(parts, count: 2 * C)
        let m = Double(ctx.globalSamples * ctx.timesteps * inShape.height * inShape.width)
        var a = [Float](repeating: 0, count: C), mdy = a, mdyx = a
        for ch in 0..<C {
            a[ch] = gamma.value[ch] * invStd[ch]; mdy[ch] = Float(s[ch] / m); mdyx[ch] = Float(s[C + ch] / m)
        }
        var dxs: [[Float]] = []
        for (c, d) in dy.enumerated() {
            var dx = [Float](repeating: 0, count: d.count)
            d.withUnsafeBufferPointer { dp in xhat[c].withUnsafeBufferPointer { hp in dx.withUnsafeMutableBufferPointer { xp in
                let P = d.count / C
                for q in 0..<P {
                    let o = q * C
                    for ch in 0..<C { xp[o + ch] = a[ch] * (dp[o + ch] - mdy[ch] - hp[o + ch] * mdyx[ch]) }
                }
            } } }
            dxs.append(dx)
        }
        xhat = []
        return dxs
    }

    /// Evaluation-mode scale and shift per channel: `y = scale·x + shift`, for folding into the
    /// preceding convolution or dense layer.
    public var folded: (scale: [Float], shift: [Float]) {
        let C = inShape.channels
        var sc = [Float](repeating: 0, count: C), sh = sc
        for ch in 0..<C {
            sc[ch] = gamma.value[ch] / (runningVar[ch] + eps).squareRoot()
            sh[ch] = beta.value[ch] - runningMean[ch] * sc[ch]
        }
        return (sc, sh)
    }
}
