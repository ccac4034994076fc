import Foundation
import SpikeCore

// NIR neuron nodes as engine neuron models: their fields (scalar, per channel or per neuron) and the
// discretisation of each library's convention. Moved unchanged from NIRImporter.swift.
extension NIRImporter {
    /// One field of a neuron node whose layer has NIR shape `nirShape` ((N), (C, L) or (C, H, W)): nil when
    /// absent, else one value (any shape of one element), one value per channel (shape (C) or (C, 1, 1)), or
    /// one per neuron (shape `nirShape` or its flattening, in NIR's C-major order), returned in the engine's
    /// HWC order. Any other shape is refused naming the node and the field.
    static func field(_ n: NIRNode, _ f: String, name: String, nirShape: [Int], ctx: Context) throws -> [Double]? {
        guard let (shape, v) = try n.numbersIfPresent(f, node: name) else { return nil }
        let c = nirShape[0], count = nirShape.reduce(1, *)
        if v.count == 1 { return v }
        // Equal values in any shape of the node's size: one value (as before per-neuron arrays).
        if v.count == count, v.allSatisfy({ $0 == v[0] }) { return [v[0]] }
        if v.count == c, shape == [c] || shape == [c] + [Int](repeating: 1, count: nirShape.count - 1) { return v }
        guard v.count == count, shape == nirShape || shape == [count] else {
            throw SpikeError("\(ctx.file): NIR node '\(name)' (\(n.type)): field '\(f)' has shape \(shape) (\(v.count) values); expected one value, one per channel (\(c)) or one per neuron \(nirShape)")
        }
        guard nirShape.count > 1 else { return v }
        // C-major (C, rest...) to the engine's HWC (rest..., C).
        let rest = count / c
        var out = [Double](repeating: 0, count: count)
        for ch in 0..<c { for k in 0..<rest { out[k * c + ch] = v[ch * rest + k] } }
        return out
    }

    /// The neuron model of a neuron node, and its per-neuron arrays where its parameters differ between
    /// neurons. Each distinct unit (the whole layer, a channel, or a neuron, whichever the node's fields
    /// resolve) is discretised by `neuronModel` alone; a discrete value equal for all units stays the layer's
    /// single value (the engine's fast path when all are), the others become `NeuronArrays`, one value per
    /// channel where each channel's neurons agree, else one per neuron.
    static func neuronModels(_ n: NIRNode, name: String, nirShape: [Int], ctx: Context) throws -> (NeuronModel, NeuronArrays) {
        let channels = nirShape[0], count = nirShape.reduce(1, *)
        var fields = [String: [Double]]()
        for f in ["tau", "tau_mem", "tau_syn", "r", "v_leak", "w_in", "v_threshold", "v_reset", "threshold"] {
            if let v = try field(n, f, name: name, nirShape: nirShape, ctx: ctx) { fields[f] = v }
        }
        let units = fields.values.contains { $0.count == count && count != channels } ? count
            : fields.values.contains { $0.count == channels && channels != 1 } ? channels : 1
        var models = [(LeakyDynamics, Float?)]()
        models.reserveCapacity(units)
        for u in 0..<units {
            // A per-channel field read at neuron u (HWC index) is its channel u % C.
            models.append(try neuronModel(n, name: name, ctx: ctx) { f, d in
                guard let v = fields[f] else {
                    if let d { return d }
                    throw SpikeError("\(ctx.file): NIR node '\(name)' (\(n.type)): missing field '\(f)'")
                }
                return v.count == 1 ? v[0] : v[v.count == units ? u : u % channels]
            })
        }
        let d = models[0].0
        var th = models[0].1
        var arrays = NeuronArrays()
        func differ(_ get: (LeakyDynamics, Float?) -> Float) -> [Float] {
            let first = get(models[0].0, models[0].1).bitPattern
            guard models.contains(where: { get($0.0, $0.1).bitPattern != first }) else { return [] }
            let all = models.map { get($0.0, $0.1) }
            // Per neuron but equal within each channel (HWC: neuron i is channel i % C): one value per channel.
            if all.count == count, count != channels, all.indices.allSatisfy({ all[$0].bitPattern == all[$0 % channels].bitPattern }) {
                return Array(all[0..<channels])
            }
            return all
        }
        if units > 1 {
            arrays.memoryDecay = differ { d, _ in d.memoryDecay }
            arrays.inputGain = differ { d, _ in d.inputGain }
            arrays.leak = differ { d, _ in d.leak }
            if d.synapseDecay != nil {
                arrays.synapseDecay = differ { d, _ in d.synapseDecay ?? 0 }
                arrays.synapseGain = differ { d, _ in d.synapseGain }
            }
            if th != nil {
                arrays.threshold = differ { _, t in t ?? 1 }
                arrays.vReset = differ { d, _ in d.vReset }
            }
        }
        // The layer's single threshold is the one spike decoding scales by: with per-neuron thresholds it
        // is 1, so decoded outputs are spike counts per step (the libraries' readout).
        if !arrays.threshold.isEmpty { th = 1 }
        return (th.map { .leaky(d, threshold: $0) } ?? .leakyIntegrator(d), arrays)
    }

    /// The discrete dynamics of a neuron node under the convention, and its threshold (nil: never fires).
    /// `value(field, default)` gives one unit's value of a field (or the default; it throws when a field
    /// without a default is missing).
    static func neuronModel(_ n: NIRNode, name: String, ctx: Context, value: (String, Double?) throws -> Double) throws -> (LeakyDynamics, Float?) {
        func u(_ f: String, _ d: Double? = nil) throws -> Double { try value(f, d) }
        func positive(_ f: String, _ x: Double) throws -> Double {
            guard x > 0 else { throw SpikeError("\(ctx.file): NIR node '\(name)' (\(n.type)): field '\(f)' must be positive, got \(x)") }
            return x
        }
        let dt = ctx.dt, conv = ctx.convention
        // Input gains within 1e-6 of 1 are 1: the float32 rounding of r = τ/dt (and w_in = τ_syn/dt) that
        // snnTorch and others write for a unit gain (snnTorch's own importer does the same).
        func unit(_ g: Double) -> Double { abs(g - 1) <= 1e-6 ? 1 : g }
        let label = "\(conv.rawValue) dt=\(dt)"
        // Membrane decay and input gain of dv/dt = (v_leak − v + r·I)/τ, per convention.
        func leakyMembrane(tau: Double, r: Double) -> (a: Float, g: Float) {
            switch conv {
            case .sinabs:
                // Sinabs: α = exp(−1/τ) in float32 with τ in steps (here −dt/τ); the input is added as is
                // (norm_input=False, which is how Sinabs' own importer reads r = 1).
                return (Foundation.exp(-(Float(dt) / Float(tau))), Float(r))
            case .norse:
                // Norse writes τ = dt/τ_inv and steps with k = dt·τ_inv (float32): see `euler`.
                return (Float(dt) * Float(dt / tau), Float(r))
            case .snntorch, .spikingjelly:
                return (Float(1 - dt / tau), Float(unit(r * dt / tau)))
            }
        }
        let reset: LeakyDynamics.Reset
        switch conv {
        case .snntorch: reset = .subtractNext
        case .norse, .spikingjelly: reset = .toValue
        case .sinabs: reset = .subtract
        }
        let atThreshold = conv == .sinabs || conv == .spikingjelly
        let euler = conv == .norse
        // Constant drive of v_leak: (1 − a)·v_leak per step, or v_leak itself in the Euler form.
        func leakTerm(_ a: Float, _ vl: Double) -> Float { euler ? Float(vl) : (1 - a) * Float(vl) }
        var d: LeakyDynamics
        var threshold: Double?
        switch n.type {
        case "LIF", "LI":
            let tau = try positive("tau", try u("tau")), r = try u("r"), vl = try u("v_leak", 0)
            let (a, g) = leakyMembrane(tau: tau, r: r)
            d = LeakyDynamics(memoryDecay: a, inputGain: g, leak: leakTerm(a, vl), reset: reset, fireAtThreshold: atThreshold, convention: label)
            d.euler = euler
            if n.type == "LIF" { threshold = try u("v_threshold"); d.vReset = Float(try u("v_reset", 0)) }
        case "CubaLIF", "CubaLI":
            let tm = try positive("tau_mem", try u("tau_mem")), ts = try positive("tau_syn", try u("tau_syn"))
            let r = try u("r"), vl = try u("v_leak", 0), win = try u("w_in", 1)
            let (a, g) = leakyMembrane(tau: tm, r: r)
            let aj: Float, gj: Float
            switch conv {
            case .sinabs: aj = Foundation.exp(-(Float(dt) / Float(ts))); gj = Float(win)
            case .norse: aj = Float(dt) * Float(dt / ts); gj = Float(win)
            case .snntorch, .spikingjelly: aj = Float(1 - dt / ts); gj = Float(unit(win * dt / ts))
            }
            d = LeakyDynamics(memoryDecay: a, inputGain: g, leak: leakTerm(a, vl), synapseDecay: aj, synapseGain: gj,
                              currentFirst: true, reset: reset, fireAtThreshold: atThreshold, convention: label)
            d.euler = euler
            if n.type == "CubaLIF" { threshold = try u("v_threshold"); d.vReset = Float(try u("v_reset", 0)) }
        case "IF", "I":
            let r = try u("r")
            // Norse's and Sinabs' IF add the input as is (r = 1); snnTorch and SpikingJelly scale it by r·dt.
            let g = conv == .norse || conv == .sinabs ? Float(r) : Float(unit(r * dt))
            d = LeakyDynamics(memoryDecay: 1, inputGain: g, reset: reset, fireAtThreshold: atThreshold, convention: label)
            if n.type == "IF" { threshold = try u("v_threshold"); d.vReset = Float(try u("v_reset", 0)) }
        case "Threshold":
            threshold = try u("threshold")
            d = LeakyDynamics(memoryDecay: 0, inputGain: 1, reset: .toValue, fireAtThreshold: atThreshold, convention: label)
        default:
            throw SpikeError("\(ctx.file): NIR node '\(name)': '\(n.type)' is not a neuron node")
        }
        if let t = threshold {
            guard t.isFinite, t > 0 else { throw SpikeError("\(ctx.file): NIR node '\(name)' (\(n.type)): v_threshold must be positive, got \(t) (this engine needs θ > 0)") }
            return (d, Float(t))
        }
        return (d, nil)
    }
}
