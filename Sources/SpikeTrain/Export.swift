import Foundation
import SpikeCore

extension SpikingModel {
    /// The trained network as a native SpikeScale network for the engine: each convolution or hidden
    /// dense layer with its batch norm folded in (evaluation statistics: `w·γ/√(σ²+ε)`, bias
    /// `β − μ·γ/√(σ²+ε)`) and its LIF/IF neurons (`NeuronModel`, same τ, threshold and reset; the
    /// engine fires at `V ≥ θ` as the trainer does); average pooling folded into the next
    /// convolution (kernel ×k, stride ×k, padding ×k, weights / k²) or dense layer (weights spread
    /// over the k×k window, / k²), since it only averages spikes linearly; the output layer a dense
    /// layer of accumulators (membrane decoding = mean output over time). A residual block becomes
    /// conv1 (neurons), conv2 and the shortcut's 1x1 conv with relay neurons (`li`, V = I each step,
    /// sent on as analog events: exact), and an `add` layer with the block's neurons (the block's name).
    public func nativeNetwork(name: String) throws -> Network {
        var b = NetworkBuilder(name: name, input: inputShape)
        var pool = 1                       // pending average-pool factor
        var pooledShape = inputShape       // the trainer's shape after the pending pool
        var unpooledShape = inputShape     // the native shape the next layer reads
        var i = 0
        func neuronModel() -> NeuronModel {
            if neuron.kind == .integrateAndFire { return .integrateAndFire(threshold: neuron.threshold, reset: neuron.reset) }
            if neuron.reset == .zero { return .lif(tau: neuron.tau, threshold: neuron.threshold) }
            // LIF with reset by subtraction: the engine's leaky neuron, V = τ·V + I, fire at V ≥ θ, V −= θ.
            return .leaky(LeakyDynamics(memoryDecay: neuron.tau, inputGain: 1, reset: .subtract, fireAtThreshold: true,
                                        convention: "stbp (reset by subtraction)"), threshold: neuron.threshold)
        }
        let relay = LeakyDynamics(memoryDecay: 0, inputGain: 1, convention: "relay")
        /// A convolution with its norm folded in (`w·γ/√(σ²+ε)`, bias `β − μ·γ/√(σ²+ε)`) and, when
        /// `pooled`, the pending average pool folded in (kernel, stride and padding ×k, weights / k²).
        func foldConv(_ c: Conv, _ bn: BatchNorm?, name: String, input: Int, neuron nm: NeuronModel, pooled: Bool = true) throws -> Int {
            let OC = c.outShape.channels
            var scale = [Float](repeating: 1, count: OC), shift = c.bias?.value ?? [Float](repeating: 0, count: OC)
            if let bn {
                let f = bn.folded
                for o in 0..<OC { scale[o] = f.scale[o]; shift[o] = shift[o] * f.scale[o] + f.shift[o] }
            }
            let k = pooled ? pool : 1, K = c.kernel * k, icg = c.inShape.channels / c.groups
            var w = [Float](repeating: 0, count: K * K * icg * OC)
            let inv = 1 / Float(k * k)
            for ky in 0..<c.kernel { for kx in 0..<c.kernel { for ci in 0..<icg { for o in 0..<OC {
                let v = c.weight.value[((ky * c.kernel + kx) * icg + ci) * OC + o] * scale[o] * inv
                for a in 0..<k { for bb in 0..<k { w[(((ky * k + a) * K + kx * k + bb) * icg + ci) * OC + o] = v } }
            } } } }
            let idx = try b.add(name, .conv(Window(kernel: K, stride: c.stride * k, pad: c.pad * k), outChannels: OC, groups: c.groups),
                                inputs: [input], neuron: nm, weights: w, bias: shift)
            guard b.shape(idx) == c.outShape else {
                throw SpikeError("layer '\(name)': the folded convolution gives \(b.shape(idx)), the trainer \(c.outShape)")
            }
            return idx
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
                // branch: conv1-norm-neurons-conv2-norm; shortcut: nothing (identity) or a 1x1 conv and norm.
                // conv2 and the shortcut's conv emit their currents as analog events (relay neurons, V = I
                // each step: exact); the sum is an `add` layer with the block's neurons, as in the trainer.
                guard i + 1 < layers.count, layers[i + 1] is Spiking else {
                    throw SpikeError("block '\(r.name)': a residual block must be followed by its neurons to export")
                }
                let br = r.branch
                guard br.count >= 4, let c1 = br[0] as? Conv, let c2 = br.first(where: { ($0 as? Conv) !== c1 && $0 is Conv }) as? Conv else {
                    throw SpikeError("block '\(r.name)': expected conv1, neurons and conv2 in its branch")
                }
                func norm(after c: Conv, in ls: [TrainLayer]) -> BatchNorm? {
                    guard let k = ls.firstIndex(where: { $0 === c }), k + 1 < ls.count else { return nil }
                    return ls[k + 1] as? BatchNorm
                }
                let input = b.last
                if pool != 1, r.shortcut.isEmpty {
                    throw SpikeError("block '\(r.name)': an average pool right before a block with an identity shortcut cannot be folded into the simulator's layers")
                }
                let l1 = try foldConv(c1, norm(after: c1, in: br), name: r.name + ".conv1", input: input, neuron: neuronModel())
                let l2 = try foldConv(c2, norm(after: c2, in: br), name: r.name + ".conv2", input: l1, neuron: .leakyIntegrator(relay), pooled: false)
                var sc = input
                if let cs = r.shortcut.first as? Conv {
                    sc = try foldConv(cs, norm(after: cs, in: r.shortcut), name: r.name + ".down", input: input, neuron: .leakyIntegrator(relay))
                }
                let idx = try b.add(r.name, .add, inputs: [l2, sc], neuron: neuronModel())
                guard b.shape(idx) == r.outShape else {
                    throw SpikeError("block '\(r.name)': the exported sum gives \(b.shape(idx)), the trainer \(r.outShape)")
                }
                pool = 1; pooledShape = r.outShape; unpooledShape = r.outShape
                i += 2
            case let c as Conv:
                var j = i + 1
                var bn: BatchNorm?
                if j < layers.count, let n = layers[j] as? BatchNorm { bn = n; j += 1 }
                guard j < layers.count, layers[j] is Spiking else { throw SpikeError("layer '\(c.name)': a convolution must be followed by neurons to export") }
                _ = try foldConv(c, bn, name: c.name, input: b.last, neuron: neuronModel())
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
