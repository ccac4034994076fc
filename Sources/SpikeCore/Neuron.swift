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
    /// Discretised leaky neuron of a continuous-time model (NIR's LIF, CubaLIF, IF, Threshold), with an
    /// optional synaptic current state; the update is `LeakyDynamics` (one library's discretisation).
    case leaky = "leaky"
    /// Leaky integrator (NIR's LI, CubaLI, I): the same update, never fires; emits its membrane V as an
    /// analog event every step (a readout layer's trace, or the exact input of the next layer).
    case leakyIntegrator = "li"
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
    /// Neurons with memory (Wang et al. 2022, "Signed Neuron with Memory"): an IF neuron whose membrane falls
    /// below 0 while it has sent more positive than negative spikes this sample sends a negative spike and
    /// takes θ back (`V < 0 && n > 0: s = −1, V += θ, n −= 1`). Its net count n then follows the ReLU of its
    /// integrated input, rounded (V0 = θ/2) or floored (V0 = 0), instead of only ever growing: an early
    /// positive spike that later input cancels is taken back. A signed IBT neuron with memory likewise takes
    /// a negative spike back at `V > 0 && n < 0` (`s = +1, V −= θ/α, n += 1`), and fires −1 only while n ≤ 0
    /// and +1 only while n ≥ 0, so n follows leaky-ReLU(α) of its input. False (default): plain IF / IBT.
    public var memory = false
    /// Neurons with memory: how far past the point it fired from the membrane must go back, as a fraction of the
    /// spike's step (θ, or θ/α for a negative spike), before a spike is taken back: 0 (default) takes it back as soon
    /// as V crosses that point (the net count is the rounded or floored input); h > 0 keeps a spike until the input
    /// has fallen h steps below it, so an input that hovers at a boundary sends fewer cancelling +1/−1 pairs, at the
    /// price of a count up to h too far from zero.
    public var memoryMargin: Float = 0
    /// Spikes one burst event may carry.
    public static let burstRange = 1...64
    /// Few-spike neurons only: T(t), h(t), d(t) for the K sub-steps.
    public var fewSpike: FewSpikeCode?
    /// Leaky and leaky-integrator neurons only: the discrete update.
    public var dynamics: LeakyDynamics?

    enum CodingKeys: String, CodingKey { case kind, threshold, reset, alpha, tau, initialMembrane, burst, memory, memoryMargin, fewSpike, dynamics }
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(NeuronKind.self, forKey: .kind)
        threshold = try c.decode(Float.self, forKey: .threshold)
        reset = try c.decode(ResetMode.self, forKey: .reset)
        alpha = try c.decode(Float.self, forKey: .alpha)
        tau = try c.decode(Float.self, forKey: .tau)
        initialMembrane = try c.decode(Float.self, forKey: .initialMembrane)
        burst = try c.decodeIfPresent(Int.self, forKey: .burst) ?? 1
        memory = try c.decodeIfPresent(Bool.self, forKey: .memory) ?? false
        memoryMargin = try c.decodeIfPresent(Float.self, forKey: .memoryMargin) ?? 0
        fewSpike = try c.decodeIfPresent(FewSpikeCode.self, forKey: .fewSpike)
        dynamics = try c.decodeIfPresent(LeakyDynamics.self, forKey: .dynamics)
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind); try c.encode(threshold, forKey: .threshold); try c.encode(reset, forKey: .reset)
        try c.encode(alpha, forKey: .alpha); try c.encode(tau, forKey: .tau); try c.encode(initialMembrane, forKey: .initialMembrane)
        if burst != 1 { try c.encode(burst, forKey: .burst) }   // files without bursts stay as they were
        if memory { try c.encode(memory, forKey: .memory) }
        if memoryMargin != 0 { try c.encode(memoryMargin, forKey: .memoryMargin) }
        try c.encodeIfPresent(fewSpike, forKey: .fewSpike)
        try c.encodeIfPresent(dynamics, forKey: .dynamics)
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

    public static func leaky(_ d: LeakyDynamics, threshold: Float) -> NeuronModel {
        var n = NeuronModel(kind: .leaky, threshold: threshold)
        n.dynamics = d
        return n
    }
    public static func leakyIntegrator(_ d: LeakyDynamics) -> NeuronModel {
        var n = NeuronModel(kind: .leakyIntegrator)
        n.dynamics = d
        return n
    }

    /// The text a run's network fingerprint hashes for a layer with this model (`RunIdentity.fingerprint`): the description
    /// of the layer's optional neuron, as first hashed, with the fields added since left out while they hold their
    /// defaults, so that networks made before them keep their fingerprints and their runs resume. A field added later
    /// goes in this list.
    public var fingerprintText: String {
        String(describing: Optional(self)).replacingOccurrences(of: ", memoryMargin: 0.0", with: "")
            .replacingOccurrences(of: ", memory: false", with: "")
    }

    /// True if the neurons emit negative spikes as well as positive ones.
    public var isSigned: Bool { kind == .signedIBT || memory }
    /// K for few-spike neurons, 0 otherwise.
    public var subSteps: Int { kind == .fewSpike ? fewSpike?.steps ?? 0 : 0 }

    /// The ANN activation this neuron approximates by its rate: ReLU, leaky-ReLU(α), or identity.
    public func annActivation(_ x: Float) -> Float {
        switch kind {
        case .integrateAndFire, .leakyIntegrateAndFire: return x > 0 ? x : 0
        case .signedIBT: return x >= 0 ? x : alpha * x
        case .accumulator, .leaky, .leakyIntegrator: return x
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
        if memory {
            guard kind == .integrateAndFire || kind == .signedIBT, reset == .subtract else {
                throw SpikeError("layer '\(layer)': memory (taking spikes back) needs IF or IBT neurons with reset by subtraction, got \(kind.rawValue) neurons, reset \(reset.rawValue)")
            }
        }
        guard memoryMargin.isFinite, memoryMargin >= 0, memoryMargin < 1, memoryMargin == 0 || memory else {
            throw SpikeError("layer '\(layer)': memoryMargin must be in [0, 1) and is for neurons with memory, got \(memoryMargin)\(memory ? "" : " without memory")")
        }
        if kind == .fewSpike {
            guard let code = fewSpike else { throw SpikeError("layer '\(layer)': a few-spike neuron needs its fewSpike parameters (thresholds, resets, outputs)") }
            try code.validate(layer: layer)
        }
        if kind == .leaky || kind == .leakyIntegrator {
            guard let d = dynamics else { throw SpikeError("layer '\(layer)': a \(kind.rawValue) neuron needs its dynamics parameters") }
            try d.validate(layer: layer)
        }
        guard initialMembrane.isFinite, abs(initialMembrane) <= 1 else {
            throw SpikeError("layer '\(layer)': initialMembrane must be a fraction of the threshold in [-1, 1], got \(initialMembrane)")
        }
    }
}

/// One discretisation of a continuous-time leaky neuron (NIR's LIF / CubaLIF / IF / LI / I /
/// Threshold), per layer. With input current I(t) (weighted events plus bias), each step:
///
///     synaptic state (if `synapseDecay` is set):  J = a_j·J + g_j·I        (drive D = J)
///     otherwise                                                             (drive D = I)
///     V = a_v·V + g·D + c          (`currentFirst`; with `currentFirst == false` the membrane
///                                    uses the J of the previous step, then J is updated: Norse)
///     spike when V > θ (or V ≥ θ with `fireAtThreshold`), then the reset:
///       subtract:     V −= θ now
///       subtractNext: θ is subtracted at the next update, after the decay (snnTorch's "subtract")
///       toValue:      V = vReset now
///
/// With `euler` (Norse's forward-Euler arithmetic, operation for operation): `memoryDecay` and
/// `synapseDecay` hold the steps k = dt/τ and `leak` holds v_leak:
///     J' = J + g_j·I;  V = V + k_m·((v_leak − V) + g·J');  J = J' + (−k_s)·J'     (no synapse: J' = I)
///
/// The per-neuron arithmetic is element-wise in a fixed order, so it is rank-invariant like the others.
public struct LeakyDynamics: Hashable, Codable, Sendable {
    public enum Reset: String, Codable, Sendable, CaseIterable { case subtract, subtractNext, toValue }
    public var memoryDecay: Float          // a_v
    public var inputGain: Float            // g
    public var leak: Float                 // c
    public var synapseDecay: Float?        // a_j (nil: no synaptic current state)
    public var synapseGain: Float          // g_j
    public var currentFirst: Bool
    public var reset: Reset
    public var vReset: Float
    public var fireAtThreshold: Bool
    /// Norse's forward-Euler form (see above).
    public var euler: Bool = false
    /// How the model was made (e.g. "snntorch dt=0.0001"), for reports and the exporter.
    public var convention: String

    public init(memoryDecay: Float, inputGain: Float, leak: Float = 0, synapseDecay: Float? = nil, synapseGain: Float = 1,
                currentFirst: Bool = true, reset: Reset = .subtract, vReset: Float = 0, fireAtThreshold: Bool = false,
                convention: String = "") {
        self.memoryDecay = memoryDecay; self.inputGain = inputGain; self.leak = leak; self.synapseDecay = synapseDecay
        self.synapseGain = synapseGain; self.currentFirst = currentFirst; self.reset = reset; self.vReset = vReset
        self.fireAtThreshold = fireAtThreshold; self.convention = convention
    }

    func validate(layer: String) throws {
        for (name, v) in [("memoryDecay", memoryDecay), ("inputGain", inputGain), ("leak", leak), ("synapseGain", synapseGain),
                          ("vReset", vReset), ("synapseDecay", synapseDecay ?? 0)] where !v.isFinite {
            throw SpikeError("layer '\(layer)': dynamics.\(name) must be finite, got \(v)")
        }
    }
}
