/// Which library's discretisation of NIR's continuous-time neurons to use. NIR stores no dt; each
/// library turns the ODEs into a step its own way (README, "NIR interchange").
public enum NIRConvention: String, CaseIterable, Sendable, Codable {
    /// snnTorch (`Leaky`, `Synaptic`): forward Euler a = 1 − dt/τ, input gain r·dt/τ (1 for its own
    /// exports, r = τ/dt); spike when V > θ; reset by subtracting θ at the next step (snnTorch's
    /// `reset_mechanism="subtract"`, the subtraction not decayed).
    case snntorch
    /// Norse (`LIFBoxCell`, `LIFCell`, `LICell`): forward Euler; the membrane integrates the synaptic
    /// current of the previous step, then the current decays and takes the input; V > θ; reset to v_reset.
    case norse
    /// Sinabs (`LIF`, `IAF`, `ExpLeak`): τ in steps of dt, exact decay a = exp(−dt/τ), input gain (1 − a)
    /// when the file's r = 1 (`norm_input`), else r·dt/τ; V ≥ θ; reset by subtraction at the same step.
    case sinabs
    /// SpikingJelly (`LIFNode`, `IFNode`): a = 1 − dt/τ, input gain r·dt/τ (IF: r·dt, its r = 1/dt);
    /// V ≥ θ; hard reset to v_reset.
    case spikingjelly
}
