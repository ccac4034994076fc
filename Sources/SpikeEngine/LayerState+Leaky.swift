import SpikeCore

/// Where the leaky update reads its parameters: one value per layer, or one per neuron. `fireLeaky` is
/// generic over it, so both run the same operations in the same order (a layer whose arrays hold one
/// value gives the bits of the per-layer form), and the per-layer form is specialised to constants.
protocol LeakyParameterSource {
    func threshold(_ i: Int) -> Float
    func memoryDecay(_ i: Int) -> Float
    func inputGain(_ i: Int) -> Float
    func leak(_ i: Int) -> Float
    func synapseDecay(_ i: Int) -> Float
    func synapseGain(_ i: Int) -> Float
    func vReset(_ i: Int) -> Float
}

/// The layer's one value of each parameter (`NeuronModel.threshold` and its `LeakyDynamics`).
struct UniformLeaky: LeakyParameterSource {
    let th: Float, av: Float, g: Float, c: Float, aj: Float, gj: Float, vr: Float
    init(threshold: Float, _ d: LeakyDynamics) {
        th = threshold; av = d.memoryDecay; g = d.inputGain; c = d.leak; aj = d.synapseDecay ?? 0; gj = d.synapseGain; vr = d.vReset
    }
    @inline(__always) func threshold(_ i: Int) -> Float { th }
    @inline(__always) func memoryDecay(_ i: Int) -> Float { av }
    @inline(__always) func inputGain(_ i: Int) -> Float { g }
    @inline(__always) func leak(_ i: Int) -> Float { c }
    @inline(__always) func synapseDecay(_ i: Int) -> Float { aj }
    @inline(__always) func synapseGain(_ i: Int) -> Float { gj }
    @inline(__always) func vReset(_ i: Int) -> Float { vr }
}

/// Per-neuron parameters of this rank's owned neurons (NIR's per-neuron fields), expanded from the layer's
/// `NeuronArrays` by global neuron index, so every rank count sees the same values.
struct LeakyParams: LeakyParameterSource {
    var thresholds, memoryDecays, inputGains, leaks, synapseDecays, synapseGains, vResets: [Float]
    init(_ a: NeuronArrays, _ nm: NeuronModel, _ d: LeakyDynamics, lower: Int, count: Int, channels: Int) {
        func x(_ arr: [Float], _ s: Float) -> [Float] { NeuronArrays.expand(arr, lower: lower, count: count, channels: channels, s) }
        thresholds = x(a.threshold, nm.threshold)
        memoryDecays = x(a.memoryDecay, d.memoryDecay)
        inputGains = x(a.inputGain, d.inputGain)
        leaks = x(a.leak, d.leak)
        synapseDecays = x(a.synapseDecay, d.synapseDecay ?? 0)
        synapseGains = x(a.synapseGain, d.synapseGain)
        vResets = x(a.vReset, d.vReset)
    }
    @inline(__always) func threshold(_ i: Int) -> Float { thresholds[i] }
    @inline(__always) func memoryDecay(_ i: Int) -> Float { memoryDecays[i] }
    @inline(__always) func inputGain(_ i: Int) -> Float { inputGains[i] }
    @inline(__always) func leak(_ i: Int) -> Float { leaks[i] }
    @inline(__always) func synapseDecay(_ i: Int) -> Float { synapseDecays[i] }
    @inline(__always) func synapseGain(_ i: Int) -> Float { synapseGains[i] }
    @inline(__always) func vReset(_ i: Int) -> Float { vResets[i] }
}

extension LayerState {
    /// One step of leaky neurons (`NeuronKind.leaky`) or leaky integrators (`.leakyIntegrator`, `fires`
    /// false: V is sent on as an analog event) over the owned neurons: the optional synaptic current, the
    /// membrane update of `d`'s discretisation, the comparison and the reset. Returns the spike count.
    @inline(__always)
    func fireLeaky<P: LeakyParameterSource>(_ p: P, _ d: LeakyDynamics, fires: Bool, _ V: UnsafeMutableBufferPointer<Float>,
                                            _ I: UnsafeBufferPointer<Float>, _ lo: Int) -> Int {
        var pos = 0
        let hasSyn = d.synapseDecay != nil
        for i in 0..<V.count {
            let av = p.memoryDecay(i), g = p.inputGain(i), c = p.leak(i)
            var v = V[i]
            if d.euler {
                var drive = I[i]
                if hasSyn {
                    drive = synaptic[i] + p.synapseGain(i) * I[i]
                    synaptic[i] = drive + (-p.synapseDecay(i)) * drive
                }
                v = v + av * ((c - v) + g * drive)
            } else if hasSyn {
                let aj = p.synapseDecay(i), gj = p.synapseGain(i)
                if d.currentFirst {
                    synaptic[i] = aj * synaptic[i] + gj * I[i]
                    v = av * v + g * synaptic[i] + c
                } else {
                    v = av * v + g * synaptic[i] + c
                    synaptic[i] = aj * synaptic[i] + gj * I[i]
                }
            } else {
                v = av * v + g * I[i] + c
            }
            guard fires else {
                V[i] = v
                if v != 0 { own.append(lo + i, v) }
                continue
            }
            let th = p.threshold(i)
            if d.reset == .subtractNext && lastSpike[i] != 0 { v -= th }
            let spike = d.fireAtThreshold ? v >= th : v > th
            if spike {
                switch d.reset {
                case .subtract: v -= th
                case .toValue: v = p.vReset(i)
                case .subtractNext: break
                }
                own.append(lo + i, 1); pos += 1
            }
            lastSpike[i] = spike ? 1 : 0
            V[i] = v
        }
        return pos
    }
}
