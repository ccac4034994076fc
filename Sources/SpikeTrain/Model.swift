import Foundation
import SpikeCore

/// Normalisation after each convolution and hidden dense layer.
public enum NormKind: String, Sendable, CaseIterable, Codable {
    /// Threshold-dependent BN (γ starts at α·V_th; α = 1/√2 at the two inputs of a residual sum).
    case tdbn
    /// Plain BN (γ starts at 1): the ablation.
    case bn
    /// No normalisation (convolutions get a bias).
    case none
}

/// Neuron model of the hidden layers.
public struct NeuronSpec: Sendable, Equatable {
    public var kind: NeuronKind          // .leakyIntegrateAndFire or .integrateAndFire
    public var tau: Float
    public var threshold: Float
    public var reset: ResetMode
    public var surrogate: Surrogate
    public init(kind: NeuronKind = .leakyIntegrateAndFire, tau: Float = 0.5, threshold: Float = 0.5, reset: ResetMode = .zero,
                surrogate: Surrogate = .rectangular(width: 1)) {
        self.kind = kind; self.tau = tau; self.threshold = threshold; self.reset = reset; self.surrogate = surrogate
    }
    var decay: Float { kind == .integrateAndFire ? 1 : tau }
}

/// A feed-forward spiking network for training, built from an architecture string of dash-separated
/// tokens (each convolution and hidden dense layer is followed by the normalisation and the neurons):
/// - `32c3` convolution, 32 channels, 3x3, stride 1, zero padding 1 (`32c3s2`: stride 2);
/// - `dw3` depthwise 3x3 convolution (`dw3s2`: stride 2);
/// - `ap2` 2x2 average pooling, stride 2;
/// - `128fc` dense layer of 128 neurons (the input is flattened first);
/// - `64r` a residual basic block of 64 channels (`64rs2`: stride 2): conv3-norm-neurons-conv3-norm
///   plus a shortcut (identity, or a 1x1 convolution and norm when the shape changes), summed, then neurons.
/// A dense output layer of `classes` units with a bias and no neurons is appended: its mean over the
/// T timesteps is the network's output (the engine's accumulator with membrane decoding).
public final class SpikingModel {
    public let architecture: String
    public let inputShape: Shape
    public let classes: Int
    public let norm: NormKind
    public let neuron: NeuronSpec
    public private(set) var layers: [TrainLayer] = []

    public var params: [Param] { layers.flatMap(\.params) }
    public var output: Dense { layers.last as! Dense }

    public init(architecture: String, input: Shape, classes: Int, norm: NormKind, neuron: NeuronSpec, seed: UInt64) throws {
        self.architecture = architecture; inputShape = input; self.classes = classes; self.norm = norm; self.neuron = neuron
        var shape = input
        var index = 0
        func next() -> Int { index += 1; return index }
        func spiking(_ name: String, _ s: Shape) -> Spiking {
            Spiking(name: name, shape: s, tau: neuron.decay, threshold: neuron.threshold, reset: neuron.reset, surrogate: neuron.surrogate)
        }
        func normLayer(_ name: String, _ s: Shape, alpha: Float) -> [TrainLayer] {
            switch norm {
            case .tdbn: [BatchNorm(name: name, shape: s, gammaInit: alpha * neuron.threshold)]
            case .bn: [BatchNorm(name: name, shape: s, gammaInit: 1)]
            case .none: []
            }
        }
        let tokens = architecture.split(separator: "-").map { String($0).lowercased() }
        guard !tokens.isEmpty || !architecture.isEmpty else { throw SpikeError("architecture is empty") }
        for (k, tok) in tokens.enumerated() {
            let name = "l\(k + 1)"
            func bad(_ why: String) -> SpikeError {
                SpikeError("architecture '\(architecture)': token \(k + 1) '\(tok)' \(why); expected e.g. 32c3, 32c3s2, dw3, ap2, 128fc, 64r, 64rs2")
            }
            if let r = tok.range(of: "fc"), r.upperBound == tok.endIndex, let n = Int(tok[..<r.lowerBound]), n > 0 {
                if !shape.isVector { let f = Flatten(name: name + ".flatten", input: shape); layers.append(f); shape = f.outShape }
                let d = Dense(name: name, input: shape, out: n, bias: norm == .none, seed: seed, index: next())
                layers.append(d); shape = d.outShape
                layers += normLayer(name + ".bn", shape, alpha: 1)
                layers.append(spiking(name + ".lif", shape))
            } else if tok.hasPrefix("ap"), let n = Int(tok.dropFirst(2)), n > 0 {
                guard !shape.isVector else { throw bad("pools a flattened vector") }
                let p = try AvgPool(name: name, input: shape, k: n); layers.append(p); shape = p.outShape
            } else if tok.hasPrefix("dw") {
                let (kern, stride) = try Self.kernelStride(String(tok.dropFirst(2)), bad)
                guard !shape.isVector else { throw bad("convolves a flattened vector") }
                let c = try Conv(name: name, input: shape, out: shape.channels, kernel: kern, stride: stride, groups: shape.channels,
                                 bias: norm == .none, seed: seed, index: next())
                layers.append(c); shape = c.outShape
                layers += normLayer(name + ".bn", shape, alpha: 1); layers.append(spiking(name + ".lif", shape))
            } else if let ci = tok.firstIndex(of: "c"), let n = Int(tok[..<ci]), n > 0 {
                let (kern, stride) = try Self.kernelStride(String(tok[tok.index(after: ci)...]), bad)
                guard !shape.isVector else { throw bad("convolves a flattened vector") }
                let c = try Conv(name: name, input: shape, out: n, kernel: kern, stride: stride, bias: norm == .none, seed: seed, index: next())
                layers.append(c); shape = c.outShape
                layers += normLayer(name + ".bn", shape, alpha: 1); layers.append(spiking(name + ".lif", shape))
            } else if let ri = tok.firstIndex(of: "r"), let n = Int(tok[..<ri]), n > 0 {
                let rest = tok[tok.index(after: ri)...]
                var stride = 1
                if !rest.isEmpty { guard rest.hasPrefix("s"), let s = Int(rest.dropFirst()), s > 0 else { throw bad("has a bad stride") }; stride = s }
                guard !shape.isVector else { throw bad("is a residual block on a flattened vector") }
                let a = 1 / Float(2).squareRoot()
                let c1 = try Conv(name: name + ".conv1", input: shape, out: n, kernel: 3, stride: stride, bias: norm == .none, seed: seed, index: next())
                var branch: [TrainLayer] = [c1] + normLayer(name + ".bn1", c1.outShape, alpha: 1) + [spiking(name + ".lif1", c1.outShape)]
                let c2 = try Conv(name: name + ".conv2", input: c1.outShape, out: n, kernel: 3, bias: norm == .none, seed: seed, index: next())
                branch += [c2] + normLayer(name + ".bn2", c2.outShape, alpha: a)
                var shortcut: [TrainLayer] = []
                if stride != 1 || shape.channels != n {
                    let cs = try Conv(name: name + ".down", input: shape, out: n, kernel: 1, stride: stride, pad: 0, bias: norm == .none, seed: seed, index: next())
                    shortcut = [cs] + normLayer(name + ".down.bn", cs.outShape, alpha: a)
                }
                let r = try Residual(name: name, branch: branch, shortcut: shortcut)
                layers.append(r); shape = r.outShape
                layers.append(spiking(name + ".lif", shape))
            } else {
                throw bad("is not understood")
            }
        }
        if !shape.isVector { let f = Flatten(name: "flatten", input: shape); layers.append(f); shape = f.outShape }
        layers.append(Dense(name: "output", input: shape, out: classes, bias: true, seed: seed, index: next()))
    }

    static func kernelStride(_ s: String, _ bad: (String) -> SpikeError) throws -> (Int, Int) {
        let parts = s.split(separator: "s", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let k = Int(parts[0]), k > 0 else { throw bad("has a bad kernel size") }
        if parts.count == 2 { guard let st = Int(parts[1]), st > 0 else { throw bad("has a bad stride") }; return (k, st) }
        return (k, 1)
    }

    /// Output of every chunk: `T * n` rows of `classes` values (the output layer's current per timestep).
    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        var a = x
        for l in layers { a = try l.forward(a, ctx) }
        return a
    }

    /// Backward from the gradient of the output layer's per-timestep current; fills every `Param.chunkGrads`.
    public func backward(_ dy: [[Float]], _ ctx: StepContext) throws {
        for p in params { p.resetGrads(chunks: dy.count) }
        var d = dy
        for (k, l) in layers.enumerated().reversed() { d = try l.backward(d, ctx, needInput: k > 0) }
    }

    /// Mean over the T timesteps of the output rows of one chunk of `n` samples: `n x classes`.
    public func meanOverTime(_ y: [Float], samples n: Int, timesteps: Int) -> [Float] {
        var m = [Float](repeating: 0, count: n * classes)
        for t in 0..<timesteps { for i in 0..<(n * classes) { m[i] += y[t * n * classes + i] } }
        let s = 1 / Float(timesteps)
        return m.map { $0 * s }
    }
}

/// Loss on the mean output over time.
public enum LossKind: String, Sendable, CaseIterable, Codable {
    /// Softmax cross-entropy.
    case crossEntropy = "cross-entropy"
    /// Mean squared error to the one-hot label (STBP), averaged over batch and classes.
    case mse

    /// Loss summed over the chunk's samples (divided by the global batch size `B`) and the gradient
    /// with respect to each output row (`T * n x classes`), for mean outputs `m` (`n x classes`).
    public func lossAndGradient(mean m: [Float], labels: [Int], classes K: Int, timesteps T: Int, globalBatch B: Int) -> (loss: Double, grad: [Float]) {
        let n = labels.count
        var loss = 0.0
        var dm = [Float](repeating: 0, count: n * K)
        for s in 0..<n {
            let row = Array(m[s * K ..< (s + 1) * K])
            switch self {
            case .crossEntropy:
                let mx = row.max()!
                let e = row.map { expf($0 - mx) }
                let z = e.reduce(0, +)
                loss -= Double(logf(e[labels[s]] / z))
                for k in 0..<K { dm[s * K + k] = (e[k] / z - (k == labels[s] ? 1 : 0)) / Float(B) }
            case .mse:
                for k in 0..<K {
                    let diff = row[k] - (k == labels[s] ? 1 : 0)
                    loss += Double(diff * diff) / Double(K)
                    dm[s * K + k] = 2 * diff / Float(B * K)
                }
            }
        }
        var g = [Float](repeating: 0, count: T * n * K)
        let inv = 1 / Float(T)
        for t in 0..<T { for i in 0..<(n * K) { g[t * n * K + i] = dm[i] * inv } }
        return (loss / Double(B), g)
    }
}

extension SpikingModel {
    /// Parameters by name (`l1.weight`, `l1.bn.gamma`, `output.bias`, ...).
    public var namedParams: [String: Param] { Dictionary(uniqueKeysWithValues: params.map { ($0.name, $0) }) }

    /// Loss and weight gradients of one batch given as one tensor (`T * n` rows, row `t * n + s`), on
    /// one rank and one chunk: what the gradient check against SpikingJelly compares.
    public func batchGradients(input: [Float], labels: [Int], timesteps T: Int, loss: LossKind) throws -> (loss: Double, grads: [String: [Float]]) {
        let n = labels.count
        let ctx = StepContext(timesteps: T, chunkSamples: [n], globalSamples: n, training: true, reducer: ExactSum(transport: nil, totalChunks: 1))
        let y = try forward([input], ctx)[0]
        let m = meanOverTime(y, samples: n, timesteps: T)
        let (l, g) = loss.lossAndGradient(mean: m, labels: labels, classes: classes, timesteps: T, globalBatch: n)
        try backward([g], ctx)
        var out: [String: [Float]] = [:]
        for p in params { out[p.name] = p.chunkGrads[0]; p.chunkGrads = [] }
        return (l, out)
    }
}
