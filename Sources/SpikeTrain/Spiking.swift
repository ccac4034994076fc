import Foundation
import SpikeCore

/// Surrogate derivative of the spike `o = H(u − V_th)` (STBP).
public enum Surrogate: Sendable, Equatable {
    /// `∂o/∂u = 1/a` where `|u − V_th| < a/2` (Wu et al. 2018, width `a`).
    case rectangular(width: Float)
    /// `∂o/∂u = k·σ(k(u − V_th))·(1 − σ(k(u − V_th)))` with `k = 4/width` (peak `1/width`, as the
    /// rectangle's; SpikingJelly's `surrogate.Sigmoid(alpha: k)`).
    case sigmoid(width: Float)

    @inline(__always) func derivative(_ x: Float) -> Float {
        switch self {
        case .rectangular(let a): return abs(x) < a / 2 ? 1 / a : 0
        case .sigmoid(let w):
            let k = 4 / w, s = 1 / (1 + expf(-k * x))
            return k * s * (1 - s)
        }
    }
}

/// Iterative LIF (STBP form) or IF (`τ = 1`) neurons over T timesteps:
/// `H(t) = τ·V(t−1) + X(t)`, `o(t) = 1 if H(t) ≥ V_th`, `V(t) = H(t)·(1 − o(t))` (hard reset) or
/// `H(t) − V_th·o(t)` (reset by subtraction); `V(0) = 0`. This is the engine's LIF
/// (`V = τ·V·(1 − s_prev) + I`, fire at `V ≥ θ`) and SpikingJelly's `LIFNode(tau = 1/(1 − τ),
/// decay_input = False, v_reset = 0)`. Backward is BPTT through the membrane, the reset included.
public final class Spiking: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let tau: Float, threshold: Float
    public let reset: ResetMode
    public let surrogate: Surrogate
    var membranes: [[Float]] = []
    public var params: [Param] { [] }
    /// Spikes emitted in evaluation passes since the last reset (to compare with the engine's counters).
    public var evaluationSpikes = 0

    public init(name: String, shape: Shape, tau: Float, threshold: Float, reset: ResetMode, surrogate: Surrogate) {
        self.name = name; inShape = shape; outShape = shape
        self.tau = tau; self.threshold = threshold; self.reset = reset; self.surrogate = surrogate
    }

    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        if ctx.training { membranes = [] }
        var out: [[Float]] = []
        let tau = self.tau, th = self.threshold, hard = reset == .zero, training = ctx.training
        for (c, xc) in x.enumerated() {
            let n = ctx.chunkSamples[c] * inShape.count
            var v = [Float](repeating: 0, count: n)
            var s = [Float](repeating: 0, count: xc.count), h = training ? s : []
            var spikes = 0
            xc.withUnsafeBufferPointer { xp in v.withUnsafeMutableBufferPointer { vp in s.withUnsafeMutableBufferPointer { sp in
                h.withUnsafeMutableBufferPointer { hp in
                    for t in 0..<ctx.timesteps {
                        let o = t * n
                        for i in 0..<n {
                            let u = tau * vp[i] + xp[o + i]
                            if training { hp[o + i] = u }
                            if u >= th {
                                sp[o + i] = 1; spikes += 1
                                vp[i] = hard ? 0 : u - th
                            } else { vp[i] = u }
                        }
                    }
                }
            } } }
            if training { membranes.append(h) } else { evaluationSpikes += spikes }
            out.append(s)
        }
        return out
    }

    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        var dxs: [[Float]] = []
        let tau = self.tau, th = self.threshold, hard = reset == .zero, sur = surrogate
        for (c, d) in dy.enumerated() {
            let n = ctx.chunkSamples[c] * inShape.count
            var dv = [Float](repeating: 0, count: n)   // ∂L/∂V(t), from timestep t+1
            var dx = [Float](repeating: 0, count: d.count)
            d.withUnsafeBufferPointer { dp in membranes[c].withUnsafeBufferPointer { hp in dv.withUnsafeMutableBufferPointer { vp in
                dx.withUnsafeMutableBufferPointer { xp in
                    for t in stride(from: ctx.timesteps - 1, through: 0, by: -1) {
                        let o = t * n
                        for i in 0..<n {
                            let u = hp[o + i]
                            let sg = sur.derivative(u - th)
                            let spike: Float = u >= th ? 1 : 0
                            let dvdh: Float = hard ? (1 - spike) - u * sg : 1 - th * sg
                            let dh = dp[o + i] * sg + vp[i] * dvdh
                            xp[o + i] = dh
                            vp[i] = tau * dh
                        }
                    }
                }
            } } }
            dxs.append(dx)
        }
        membranes = []
        return dxs
    }
}

/// A residual basic block's sum: `branch(x) + shortcut(x)` (the shortcut empty = identity); the
/// neurons come after it, as in the paper.
public final class Residual: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let branch: [TrainLayer], shortcut: [TrainLayer]
    public var params: [Param] { (branch + shortcut).flatMap(\.params) }
    public init(name: String, branch: [TrainLayer], shortcut: [TrainLayer]) throws {
        self.name = name; self.branch = branch; self.shortcut = shortcut
        inShape = branch.first!.inShape; outShape = branch.last!.outShape
        let sc = shortcut.last?.outShape ?? inShape
        guard sc == outShape else { throw SpikeError("block '\(name)': the shortcut gives \(sc) but the branch \(outShape)") }
    }
    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        var a = x, b = x
        for l in branch { a = try l.forward(a, ctx) }
        for l in shortcut { b = try l.forward(b, ctx) }
        return zip(a, b).map { p, q in zip(p, q).map { $0 + $1 } }
    }
    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        var a = dy, b = dy
        for (k, l) in branch.enumerated().reversed() { a = try l.backward(a, ctx, needInput: needInput || k > 0) }
        for (k, l) in shortcut.enumerated().reversed() { b = try l.backward(b, ctx, needInput: needInput || k > 0) }
        guard needInput else { return a }
        return zip(a, b).map { p, q in zip(p, q).map { $0 + $1 } }
    }
}
