import Foundation
import SpikeCore

extension SpikingModel {
    /// The trained network as a native SpikeScale network for the engine: each convolution or hidden
    /// dense layer with its batch norm folded in (evaluation statistics: `w·γ/√(σ²+ε)`, bias
    /// `β − μ·γ/√(σ²+ε)`) and its LIF/IF neurons (`NeuronModel`, same τ, threshold and reset; the
    /// engine fires at `V ≥ θ` as the trainer does); average pooling folded into the next
    /// convolution (kernel ×k, stride ×k, padding ×k, weights / k²) or dense layer (weights spread
    /// over the k×k window, / k²), since it only averages spikes linearly; the output layer a dense
    /// layer of accumulators (membrane decoding = mean output over time). Residual blocks have no
    /// native form yet and are refused.
    public func nativeNetwork(name: String) throws -> Network {
        var b = NetworkBuilder(name: name, input: inputShape)
        var pool = 1                       // pending average-pool factor
        var pooledShape = inputShape       // the trainer's shape after the pending pool
        var unpooledShape = inputShape     // the native shape the next layer reads
        var i = 0
        func neuronModel() -> NeuronModel {
            var n = neuron.kind == .integrateAndFire ? NeuronModel.integrateAndFire(threshold: neuron.threshold, reset: neuron.reset)
                                                     : NeuronModel.lif(tau: neuron.tau, threshold: neuron.threshold)
            n.reset = neuron.reset
            return n
        }
        while i < layers.count {
            let l = layers[i]
            switch l {
            case let p as AvgPool:
                guard p.inShape.height % p.k == 0, p.inShape.width % p.k == 0 else {
                    throw SpikeError("layer '\(p.name)': the \(p.inShape) input is not a multiple of the \(p.k)x\(p.k) pool, so it cannot be folded into the next layer")
                }
                pool *= p.k; pooledShape = p.outShape; i += 1
            case is Flatten:
                i += 1
            case let r as Residual:
                throw SpikeError("layer '\(r.name)': residual blocks cannot be exported to the native model yet (train and evaluate them in the trainer)")
            case let c as Conv:
                if neuron.kind == .leakyIntegrateAndFire, neuron.reset == .subtract {
                    throw SpikeError("LIF neurons with reset by subtraction have no engine model yet (the engine's LIF resets to zero): export needs --reset zero or --neuron if")
                }
                var scale = [Float](repeating: 1, count: c.outShape.channels), shift = c.bias?.value ?? [Float](repeating: 0, count: c.outShape.channels)
                var j = i + 1
                if j < layers.count, let bn = layers[j] as? BatchNorm {
                    let f = bn.folded
                    for o in 0..<scale.count { scale[o] = f.scale[o]; shift[o] = shift[o] * f.scale[o] + f.shift[o] }
                    j += 1
                }
                guard j < layers.count, layers[j] is Spiking else { throw SpikeError("layer '\(c.name)': a convolution must be followed by neurons to export") }
                let k = pool, K = c.kernel * k, icg = c.inShape.channels / c.groups, OC = c.outShape.channels
                var w = [Float](repeating: 0, count: K * K * icg * OC)
                let inv = 1 / Float(k * k)
                for ky in 0..<c.kernel { for kx in 0..<c.kernel { for ci in 0..<icg { for o in 0..<OC {
                    let v = c.weight.value[((ky * c.kernel + kx) * icg + ci) * OC + o] * scale[o] * inv
                    for a in 0..<k { for bb in 0..<k { w[(((ky * k + a) * K + kx * k + bb) * icg + ci) * OC + o] = v } }
                } } } }
                let idx = try b.add(c.name, .conv(Window(kernel: K, stride: c.stride * k, pad: c.pad * k), outChannels: OC, groups: c.groups),
                                    neuron: neuronModel(), weights: w, bias: shift)
                guard b.shape(idx) == c.outShape else {
                    throw SpikeError("layer '\(c.name)': the folded convolution gives \(b.shape(idx)), the trainer \(c.outShape)")
                }
                pool = 1; pooledShape = c.outShape; unpooledShape = c.outShape
                i = j + 1
            case let d as Dense:
                let O = d.outShape.count
                var scale = [Float](repeating: 1, count: O), shift = d.bias?.value ?? [Float](repeating: 0, count: O)
                var j = i + 1
                var hidden = false
                if j < layers.count, let bn = layers[j] as? BatchNorm {
                    let f = bn.folded
                    for o in 0..<O { scale[o] = f.scale[o]; shift[o] = shift[o] * f.scale[o] + f.shift[o] }
                    j += 1
                }
                if j < layers.count, layers[j] is Spiking { hidden = true; j += 1 }
                // Spread the weights of a pooled input over the unpooled one.
                let U = unpooledShape, Pd = pooledShape, k = pool
                var w = [Float](repeating: 0, count: U.count * O)
                let inv = 1 / Float(k * k)
                for y in 0..<U.height { for x in 0..<U.width {
                    let py = y / k, px = x / k
                    if py >= Pd.height || px >= Pd.width { continue }
                    for ch in 0..<U.channels {
                        let src = ((py * Pd.width + px) * Pd.channels + ch) * O, dst = ((y * U.width + x) * U.channels + ch) * O
                        for o in 0..<O { w[dst + o] = d.weight.value[src + o] * scale[o] * inv }
                    }
                } }
                let idx = try b.add(d.name, .dense(outFeatures: O), neuron: hidden ? neuronModel() : .accumulator, weights: w, bias: shift)
                pool = 1; pooledShape = b.shape(idx); unpooledShape = b.shape(idx)
                i = j
            default:
                throw SpikeError("layer '\(l.name)': cannot be exported on its own (expected after a convolution or dense layer)")
            }
        }
        return try b.build()
    }
}
