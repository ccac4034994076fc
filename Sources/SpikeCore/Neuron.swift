/// How a layer's neurons turn input current into spikes (DESIGN.md section 3).
public enum NeuronKind: String, Codable, Sendable, CaseIterable {
    /// Integrate-and-fire: `V += I; if V >= θ { s = 1; reset }`.
    case integrateAndFire = "if"
    /// Iterative LIF (STBP form): `V = τ·V·(1 − s_prev) + I`, fire when `V >= θ`.
    case leakyIntegrateAndFire = "lif"
    /// Signed neuron with imbalanced threshold (Spiking-YOLO): `+1` at `V >= θ`, `−1` at `V <= −θ/α`.
    case signedIBT = "ibt"
    /// Integrates and never fires; read out as `V / T`.
    case accumulator
    /// Few-spike (FS / AMOS) neuron: the input is loaded once and coded in K sub-steps by the
    /// per-sub-step threshold, reset and output of its `FewSpikeCode` (Stöckl & Maass 2021).
    case fewSpike = "fs"
}

/// What happens to the membrane after a spike.
public enum ResetMode: String, Codable, Sendable, CaseIterable {
    /// `V -= θ` (conversion default; keeps the residual charge).
    case subtract
    /// `V = 0`.
    case zero
}

/// The neuron model of one layer. All neurons of a layer share it.
public struct NeuronModel: Hashable, Codable, Sendable {
    public var kind: NeuronKind
    /// Firing threshold θ (> 0).
    public var threshold: Float
    public var reset: ResetMode
    /// IBT negative-side slope α in (0, 1]; the negative threshold is `−θ/α`. α = 1 is a signed linear neuron.
    public var alpha: Float
    /// LIF decay factor τ in [0, 1].
    public var tau: Float
    /// Membrane potential at t = 0, as a fraction of θ (0 default, 0.5 halves first-spike rounding error).
    public var initialMembrane: Float
    /// Burst spikes (IF and IBT, reset by subtraction): at most this many spikes per step, sent as one
    /// event of value k (`k = min(⌊V/θ⌋, burst)`, `V −= kθ`), so activations up to burst·θ are not
    /// clipped. 1 (default) is the ordinary neuron.
    public var burst: Int = 1
    /// Spikes one burst event may carry.
    public static let burstRange = 1...64
    /// Few-spike neurons only: T(t), h(t), d(t) for the K sub-steps.
    public var fewSpike: FewSpikeCode?

    enum CodingKeys: String, CodingKey { case kind, threshold, reset, alpha, tau, initialMembrane, burst, fewSpike }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(NeuronKind.self, forKey: .kind)
        threshold = try c.decode(Float.self, forKey: .threshold)
        reset = try c.decode(ResetMode.self, forKey: .reset)
        alpha = try c.decode(Float.self, forKey: .alpha)
        tau = try c.decode(Float.self, forKey: .tau)
        initialMembrane = try c.decode(Float.self, forKey: .initialMembrane)
        burst = try c.decodeIfPresent(Int.self, forKey: .burst) ?? 1
        fewSpike = try c.decodeIfPresent(FewSpikeCode.self, forKey: .fewSpike)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(threshold, forKey: .threshold); try c.encode(reset, forKey: .reset)
        try c.encode(alpha, forKey: .alpha); try c.encode(tau, forKey: .tau); try c.encode(initialMembrane, forKey: .initialMembrane)
        if burst != 1 { try c.encode(burst, forKey: .burst) }   // files without bursts stay as they were
        try c.encodeIfPresent(fewSpike, forKey: .fewSpike)
    }

    public init(kind: NeuronKind, threshold: Float = 1, reset: ResetMode = .subtract,
                alpha: Float = 1, tau: Float = 1, initialMembrane: Float = 0) {
        self.kind = kind; self.threshold = threshold; self.reset = reset
        self.alpha = alpha; self.tau = tau; self.initialMembrane = initialMembrane
    }

    public static func integrateAndFire(threshold: Float = 1, reset: ResetMode = .subtract) -> NeuronModel {
        NeuronModel(kind: .integrateAndFire, threshold: threshold, reset: reset)
    }
    public static func ibt(alpha: Float, threshold: Float = 1) -> NeuronModel {
        NeuronModel(kind: .signedIBT, threshold: threshold, alpha: alpha)
    }
    public static func lif(tau: Float, threshold: Float = 1) -> NeuronModel {
        NeuronModel(kind: .leakyIntegrateAndFire, threshold: threshold, reset: .zero, tau: tau)
    }
    public static let accumulator = NeuronModel(kind: .accumulator)
    public static func fewSpike(_ code: FewSpikeCode) -> NeuronModel {
        var n = NeuronModel(kind: .fewSpike)
        n.fewSpike = code
        return n
    }

    /// True if the neurons emit negative spikes as well as positive ones.
    public var isSigned: Bool { kind == .signedIBT }
    /// K for few-spike neurons, 0 otherwise.
    public var subSteps: Int { kind == .fewSpike ? fewSpike?.steps ?? 0 : 0 }

    /// The ANN activation this neuron approximates by its rate: ReLU, leaky-ReLU(α), or identity.
    public func annActivation(_ x: Float) -> Float {
        switch kind {
        case .integrateAndFire, .leakyIntegrateAndFire: return x > 0 ? x : 0
        case .signedIBT: return x >= 0 ? x : alpha * x
        case .accumulator: return x
        case .fewSpike: return fewSpike?.apply(x).value ?? 0
        }
    }

    /// Checks the parameters; `layer` names the layer in the error.
    public func validate(layer: String) throws {
        guard threshold.isFinite, threshold > 0 else {
            throw SpikeError("layer '\(layer)': neuron threshold must be a positive finite number, got \(threshold)")
        }
        if kind == .signedIBT, !(alpha > 0 && alpha <= 1) {
            throw SpikeError("layer '\(layer)': IBT alpha must be in (0, 1], got \(alpha)")
        }
        if kind == .leakyIntegrateAndFire, !(tau >= 0 && tau <= 1) {
            throw SpikeError("layer '\(layer)': LIF tau must be in [0, 1], got \(tau)")
        }
        guard Self.burstRange.contains(burst) else {
            throw SpikeError("layer '\(layer)': burst must be between \(Self.burstRange.lowerBound) and \(Self.burstRange.upperBound) spikes per step, got \(burst)")
        }
        if burst > 1 {
            guard kind == .integrateAndFire || kind == .signedIBT, reset == .subtract else {
                throw SpikeError("layer '\(layer)': burst spikes need IF or IBT neurons with reset by subtraction")
            }
        }
        if kind == .fewSpike {
            guard let code = fewSpike else { throw SpikeError("layer '\(layer)': a few-spike neuron needs its fewSpike parameters (thresholds, resets, outputs)") }
            try code.validate(layer: layer)
        }
        guard initialMembrane.isFinite, abs(initialMembrane) <= 1 else {
            throw SpikeError("layer '\(layer)': initialMembrane must be a fraction of the threshold in [-1, 1], got \(initialMembrane)")
        }
    }
}
