import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// An activation a few-spike code can be fitted to (`fit-fs --activation`, and the converter).
public enum FewSpikeActivation: Sendable, Equatable, CustomStringConvertible {
    case relu
    case leaky(Float)
    case silu
    case sigmoid
    case hardSwish
    case linear

    /// Parses `relu`, `leaky:0.1`, `silu` (or `swish`), `sigmoid`, `hardswish`, `linear`.
    public init(parsing s: String) throws {
        switch s {
        case "relu": self = .relu
        case "silu", "swish": self = .silu
        case "sigmoid": self = .sigmoid
        case "hardswish": self = .hardSwish
        case "linear": self = .linear
        default:
            if s.hasPrefix("leaky:"), let a = Float(s.dropFirst(6)), a > 0, a < 1 { self = .leaky(a); return }
            throw SpikeError("activation '\(s)': expected relu, leaky:A (0 < A < 1), silu, sigmoid, hardswish or linear")
        }
    }

    /// The activation a network's layer applies after its neurons' input, or nil if FS cannot code it.
    public init?(_ f: ActivationFunction) {
        switch f {
        case .relu: self = .relu
        case .leakyRelu(let a): self = .leaky(a)
        case .swish: self = .silu
        case .sigmoid: self = .sigmoid
        case .hardSwish: self = .hardSwish
        case .clip, .softmax: return nil
        }
    }

    public var description: String {
        switch self {
        case .relu: "relu"
        case .leaky(let a): "leaky:\(a)"
        case .silu: "silu"
        case .sigmoid: "sigmoid"
        case .hardSwish: "hardswish"
        case .linear: "linear"
        }
    }

    public func apply(_ x: Double) -> Double {
        switch self {
        case .relu: return max(x, 0)
        case .leaky(let a): return x >= 0 ? x : Double(a) * x
        case .silu: return x / (1 + exp(-x))
        case .sigmoid: return 1 / (1 + exp(-x))
        case .hardSwish: return x * min(max(x + 3, 0), 6) / 6
        case .linear: return x
        }
    }
}

/// How well a code matches its activation over a range.
public struct FewSpikeFitQuality: Codable, Sendable, Equatable {
    /// Mean squared error over `points` evenly spaced inputs of the range.
    public var mse: Double
    /// Mean spikes per input over the same points.
    public var spikesPerInput: Double
    public var points: Int

    /// Measures `code` against `f` on [lo, hi].
    public init(code: FewSpikeCode, activation f: FewSpikeActivation, lo: Float, hi: Float, points: Int = 2001) {
        var se = 0.0, sp = 0
        for i in 0..<points {
            let x = lo + (hi - lo) * Float(i) / Float(max(points - 1, 1))
            let (y, n) = code.apply(x)
            let e = Double(y) - f.apply(Double(x))
            se += e * e; sp += n
        }
        mse = se / Double(points); spikesPerInput = Double(sp) / Double(points); self.points = points
    }
}

/// How leaky-ReLU and linear layers with negative inputs are coded.
public enum FewSpikeSigned: String, Sendable, Codable, CaseIterable {
    /// Sign-magnitude binary in closed form (default): one signed neuron, binary T = h = d = α·2^−t on
    /// |x|, negative inputs passing on −slope·d(t); α = the larger of the range's ends.
    case binary
    /// One neuron with signed parameters: leaky-ReLU fitted by gradient descent, linear as offset binary
    /// (the first sub-step lifts the input by −lo). Fires about K/2 spikes for inputs just below zero.
    case fit
}

/// Fits a few-spike code to an activation: ReLU, and leaky-ReLU and linear in sign-magnitude binary, in
/// closed form; the others by gradient descent with a surrogate gradient from seeded random restarts
/// (Stöckl & Maass). A fitted code is one neuron with signed thresholds, resets and outputs (no neuron
/// pairs): the first sub-steps may carry a negative threshold that shifts the input up.
public struct FewSpikeFitter: Sendable {
    public var steps: Int
    /// Leaky-ReLU and linear on a range reaching below zero: sign-magnitude binary, or a fit.
    public var signed: FewSpikeSigned = .binary
    public var seed: UInt64 = 1
    public var restarts = 8
    public var iterations = 600
    /// Training inputs, evenly spaced over the range.
    public var points = 1024

    public init(steps: Int) { self.steps = steps }

    /// The best code found for `f` on [lo, hi] (lo < hi). With `inputs` (e.g. quantiles of a layer's
    /// calibration inputs), the error is measured on them as well as on the evenly spaced points, so
    /// the fit is finest where the data lies.
    public func fit(_ f: FewSpikeActivation, lo: Float, hi: Float, inputs: [Float] = []) -> FewSpikeCode {
        let s = max(abs(lo), abs(hi))
        if f == .relu { return .relu(alpha: hi, steps: steps) }
        if signed == .binary, lo < 0 {
            switch f {
            case .leaky(let a): return .signedBinary(alpha: max(hi, -lo), steps: steps, negativeScale: a)
            case .linear: return .signedBinary(alpha: max(hi, -lo), steps: steps, negativeScale: 1)
            default: break
            }
        }
        // Fit in units where the range lies in [−1, 1]: code(x) = s·code'(x/s) for g(x') = f(s·x')/s.
        let g: (Double) -> Double = { f.apply($0 * Double(s)) / Double(s) }
        let l = Double(lo / s), h = Double(hi / s)
        let grid = inputs.isEmpty ? points : points / 4
        let xs = (0..<grid).map { l + (h - l) * Double($0) / Double(grid - 1) }
            + inputs.map { Double($0 / s) }.filter { $0 >= l && $0 <= h }
        let ys = xs.map(g)
        // Linear: offset binary in closed form (sub-step 1 lifts the input by −lo, the rest are binary).
        if f == .linear { return Params.linear(lo: l, hi: h, g: g, steps: steps).code.scaled(by: s) }
        var rng = SplitMix64(seed: seed)
        var best = Params.linear(lo: l, hi: h, g: g, steps: steps)
        var bestLoss = best.loss(xs, ys)
        for r in 0..<restarts {
            var p = r % 2 == 0 ? Params.linear(lo: l, hi: h, g: g, steps: steps) : Params.rectified(hi: h, g: g, steps: steps)
            if r >= 2 { p.perturb(&rng, by: 0.3) }
            p.descend(xs, ys, iterations: iterations, width: (h - l) / 8)
            let loss = p.loss(xs, ys)
            if loss < bestLoss { best = p; bestLoss = loss }
        }
        return best.code.scaled(by: s)
    }

    /// Parameters being fitted (double precision), as T, h, d per sub-step.
    struct Params {
        var T: [Double], h: [Double], d: [Double]

        var code: FewSpikeCode {
            FewSpikeCode(thresholds: T.map { Float($0) }, resets: h.map { Float($0) }, outputs: d.map { Float($0) })
        }

        /// Offset binary: sub-step 1 shifts the input up by −lo (firing for every x > lo, output g(lo)),
        /// the others code x − lo in binary with outputs on the chord from g(lo) to g(hi).
        static func linear(lo: Double, hi: Double, g: (Double) -> Double, steps k: Int) -> Params {
            guard k > 1, lo < 0 else { return rectified(hi: hi, g: g, steps: k) }
            let a = hi - lo, slope = (g(hi) - g(lo)) / a
            var p = Params(T: [lo - 1e-6], h: [lo], d: [g(lo)])
            for t in 1..<k {
                let v = a * pow(2, -Double(t))
                p.T.append(v); p.h.append(v); p.d.append(v * slope)
            }
            return p
        }

        /// The ReLU code on [0, hi], outputs scaled to g's mean slope there.
        static func rectified(hi: Double, g: (Double) -> Double, steps k: Int) -> Params {
            let slope = hi > 0 ? (g(hi) - g(0)) / hi : 1
            let v = (1...k).map { hi * pow(2, -Double($0)) }
            return Params(T: v, h: v, d: v.map { $0 * slope })
        }

        mutating func perturb(_ rng: inout SplitMix64, by f: Double) {
            for t in T.indices {
                T[t] *= 1 + f * rng.symmetric(); h[t] *= 1 + f * rng.symmetric(); d[t] *= 1 + f * rng.symmetric()
            }
        }

        func loss(_ xs: [Double], _ ys: [Double]) -> Double {
            var se = 0.0
            for (x, y) in zip(xs, ys) {
                var v = x, out = 0.0
                for t in T.indices where v > T[t] { v -= h[t]; out += d[t] }
                se += (out - y) * (out - y)
            }
            return se / Double(xs.count)
        }

        /// The spikes z(t) of every input, row by row (inputs × K), with hard thresholds.
        func spikes(_ xs: [Double]) -> [Double] {
            let k = T.count
            var z = [Double](repeating: 0, count: xs.count * k)
            for (r, x) in xs.enumerated() {
                var v = x
                for t in 0..<k where v > T[t] { v -= h[t]; z[r * k + t] = 1 }
            }
            return z
        }

        /// For fixed thresholds and resets the output is linear in d: the least-squares d (ridge 1e-5 per input, so d stays bounded between the training inputs).
        mutating func solveOutputs(_ xs: [Double], _ ys: [Double]) {
            let k = T.count, z = spikes(xs)
            var a = [Double](repeating: 0, count: k * k), b = [Double](repeating: 0, count: k)
            for r in xs.indices {
                for i in 0..<k where z[r * k + i] != 0 {
                    b[i] += ys[r]
                    for j in 0..<k where z[r * k + j] != 0 { a[i * k + j] += 1 }
                }
            }
            for i in 0..<k { a[i * k + i] += 1e-5 * Double(xs.count) }
            if let sol = Self.cholesky(a, b, k) { d = sol }
        }

        /// Solves the symmetric positive definite system a·x = b (k × k), or nil.
        static func cholesky(_ a: [Double], _ b: [Double], _ k: Int) -> [Double]? {
            var l = [Double](repeating: 0, count: k * k)
            for i in 0..<k {
                for j in 0...i {
                    var s = a[i * k + j]
                    for m in 0..<j { s -= l[i * k + m] * l[j * k + m] }
                    if i == j { guard s > 0 else { return nil }; l[i * k + i] = s.squareRoot() } else { l[i * k + j] = s / l[j * k + j] }
                }
            }
            var y = b
            for i in 0..<k { for m in 0..<i { y[i] -= l[i * k + m] * y[m] }; y[i] /= l[i * k + i] }
            for i in stride(from: k - 1, through: 0, by: -1) { for m in (i + 1)..<k { y[i] -= l[m * k + i] * y[m] }; y[i] /= l[i * k + i] }
            return y
        }

        /// Adam on the thresholds and resets, the outputs solved by least squares at every step; the
        /// spike's derivative is replaced by that of a sigmoid of width `width`·2^−t at sub-step t (the
        /// surrogate gradient). Keeps the best parameters seen.
        mutating func descend(_ xs: [Double], _ ys: [Double], iterations: Int, width: Double) {
            let k = T.count, n = Double(xs.count)
            var m = [Double](repeating: 0, count: 2 * k), s2 = m
            var u = [Double](repeating: 0, count: k), z = u
            solveOutputs(xs, ys)
            var bestLoss = loss(xs, ys), best = self
            for it in 1...iterations {
                var grad = [Double](repeating: 0, count: 2 * k)
                for (x, y) in zip(xs, ys) {
                    var v = x, out = 0.0
                    for t in 0..<k {
                        u[t] = v - T[t]; z[t] = u[t] > 0 ? 1 : 0
                        v -= h[t] * z[t]; out += d[t] * z[t]
                    }
                    let gy = 2 * (out - y) / n
                    var gv = 0.0
                    for t in stride(from: k - 1, through: 0, by: -1) {
                        let gz = gy * d[t] - gv * h[t]
                        grad[k + t] -= gv * z[t]
                        let w = max(width * pow(2, -Double(t)), 1e-4)
                        let e = exp(-abs(u[t]) / w)
                        let gu = gz * e / (w * (1 + e) * (1 + e))
                        grad[t] -= gu
                        gv += gu
                    }
                }
                let lr = 0.002 * (iterations - it < iterations / 3 ? 0.25 : 1)
                for j in 0..<2 * k {
                    m[j] = 0.9 * m[j] + 0.1 * grad[j]
                    s2[j] = 0.999 * s2[j] + 0.001 * grad[j] * grad[j]
                    let mh = m[j] / (1 - pow(0.9, Double(it))), sh = s2[j] / (1 - pow(0.999, Double(it)))
                    let step = lr * mh / (sqrt(sh) + 1e-12)
                    if j < k { T[j] -= step } else { h[j - k] -= step }
                }
                solveOutputs(xs, ys)
                let l = loss(xs, ys)
                if l < bestLoss { bestLoss = l; best = self }
            }
            self = best
        }
    }
}

extension SplitMix64 {
    /// Uniform in [−1, 1).
    mutating func symmetric() -> Double { Double(next() >> 11) / Double(1 << 52) - 1 }
}
