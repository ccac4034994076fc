/// The per-sub-step parameters of a few-spike (FS / AMOS) neuron, Stöckl & Maass 2021.
///
/// The input is loaded once, `v(1) = x`; then for sub-steps t = 1...K: `z(t) = 1 if v(t) > T(t)`,
/// `v(t+1) = v(t) − h(t)·z(t)`, and the value passed on is `Σ d(t)·z(t)`. T, h and d may be negative,
/// which is how a fitted code carries a signed activation (Swish's negative lobe) in one neuron.
///
/// A sign-magnitude code (`negativeScale` s set) is a signed neuron, as Spiking-YOLO's IBT neuron is:
/// an input below zero is coded by its magnitude with the same T and h, and each of its spikes passes
/// on `−s·d(t)`: `z⁻(t) = 1 if v(t) < −T(t)`, `v(t+1) = v(t) + h(t)·z⁻(t)`. With the binary T = h = d
/// this codes leaky-ReLU (s = its slope) and linear layers (s = 1) exactly up to K bits, and a value
/// near zero fires few spikes whatever its sign.
public struct FewSpikeCode: Hashable, Codable, Sendable {
    /// T(t), h(t), d(t) for t = 1...K.
    public var thresholds: [Float]
    public var resets: [Float]
    public var outputs: [Float]
    /// Sign-magnitude codes only: the factor of the outputs of negative inputs (nil: one-sided code).
    public var negativeScale: Float?
    /// Sub-steps a code may have.
    public static let stepRange = 1...32

    public init(thresholds: [Float], resets: [Float], outputs: [Float]) {
        self.thresholds = thresholds; self.resets = resets; self.outputs = outputs
    }

    /// K, the number of sub-steps.
    public var steps: Int { thresholds.count }

    /// ReLU in closed form: binary coding with `T = h = d = α·2^−t`, so the output is the input
    /// floored to K bits of α (and clipped at α·(1 − 2^−K)).
    public static func relu(alpha: Float, steps k: Int) -> FewSpikeCode {
        let v = (1...k).map { alpha * Float(sign: .plus, exponent: -$0, significand: 1) }
        return FewSpikeCode(thresholds: v, resets: v, outputs: v)
    }

    /// Leaky-ReLU of slope `negativeScale` (1: linear) in sign-magnitude binary: ReLU's closed form
    /// for |x|, the outputs of negative inputs multiplied by `−negativeScale`.
    public static func signedBinary(alpha: Float, steps k: Int, negativeScale: Float) -> FewSpikeCode {
        var c = relu(alpha: alpha, steps: k)
        c.negativeScale = negativeScale
        return c
    }

    /// The value passed on for input `x`, and the number of spikes it took.
    @inline(__always)
    public func apply(_ x: Float) -> (value: Float, spikes: Int) {
        var v = x, out: Float = 0, n = 0
        if let s = negativeScale, x < 0 {   // the engine's order: v += h, out += −s·d
            for t in thresholds.indices where v < -thresholds[t] {
                v += resets[t]; out += -s * outputs[t]; n += 1
            }
            return (out, n)
        }
        for t in thresholds.indices where v > thresholds[t] {
            v -= resets[t]; out += outputs[t]; n += 1
        }
        return (out, n)
    }

    /// The same code with every threshold, reset and output multiplied by `s` (> 0): the code of
    /// `s·f(x/s)`, which for ReLU, leaky-ReLU and linear is `f` on an `s` times wider range.
    public func scaled(by s: Float) -> FewSpikeCode {
        var c = FewSpikeCode(thresholds: thresholds.map { $0 * s }, resets: resets.map { $0 * s }, outputs: outputs.map { $0 * s })
        c.negativeScale = negativeScale
        return c
    }

    /// Checks the parameters; `layer` names the layer in the error.
    public func validate(layer: String) throws {
        guard Self.stepRange.contains(steps) else {
            throw SpikeError("layer '\(layer)': a few-spike code needs \(Self.stepRange.lowerBound) to \(Self.stepRange.upperBound) sub-steps, got \(steps)")
        }
        guard resets.count == steps, outputs.count == steps else {
            throw SpikeError("layer '\(layer)': few-spike thresholds, resets and outputs must all have K = \(steps) values, got \(steps), \(resets.count), \(outputs.count)")
        }
        guard (thresholds + resets + outputs).allSatisfy(\.isFinite) else {
            throw SpikeError("layer '\(layer)': few-spike parameters must be finite numbers")
        }
        if let s = negativeScale {
            guard s.isFinite, s > 0, thresholds.allSatisfy({ $0 >= 0 }) else {
                throw SpikeError("layer '\(layer)': a sign-magnitude few-spike code needs a positive finite negativeScale and thresholds ≥ 0, got \(s)")
            }
        }
    }
}

extension Network {
    /// K of the network's few-spike neurons, 0 if it has none (all its FS layers share one K).
    public var fewSpikeSteps: Int {
        layers.lazy.compactMap { $0.neuron?.subSteps }.first { $0 > 0 } ?? 0
    }

    /// Per layer, its few-spike depth: how many layers with neurons lie on the longest path from the
    /// input up to and including it (routing layers take their inputs' depth; the input is 0).
    public var fewSpikeDepths: [Int] {
        var d = [Int](repeating: 0, count: layers.count)
        for (i, l) in layers.enumerated() where i > 0 {
            d[i] = (l.inputs.map { d[$0] }.max() ?? 0) + (l.op.hasNeurons ? 1 : 0)
        }
        return d
    }

    /// Sub-steps from an image's input to its last output value in the layer-by-layer schedule:
    /// depth × K, where the depth counts the FS layers on the longest path (output accumulators
    /// take no sub-steps of their own). 0 for networks without FS neurons.
    public var fewSpikeLatency: Int {
        let k = fewSpikeSteps
        guard k > 0 else { return 0 }
        let d = fewSpikeDepths
        return (layers.indices.filter { layers[$0].neuron?.kind == .fewSpike }.map { d[$0] }.max() ?? 0) * k
    }

    /// A network with FS neurons runs only FS neurons (one K) and output accumulators.
    func validateFewSpike() throws {
        let k = fewSpikeSteps
        guard k > 0 else { return }
        for l in layers {
            guard let n = l.neuron, n.kind != .accumulator else { continue }
            guard n.kind == .fewSpike else {
                throw SpikeError("layer '\(l.name)': a few-spike network may hold only few-spike neurons and output accumulators, got \(n.kind.rawValue)")
            }
            guard n.subSteps == k else {
                throw SpikeError("layer '\(l.name)': few-spike neurons of one network share K; this layer has \(n.subSteps), others \(k)")
            }
        }
    }
}
