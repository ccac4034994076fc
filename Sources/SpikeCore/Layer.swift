/// Geometry of a 2-D window (convolution or pooling). Pads may be asymmetric (Darknet's stride-1 max-pool).
public struct Window: Hashable, Codable, Sendable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int
    public var dilationH: Int, dilationW: Int

    public init(kernel: Int, stride: Int = 1, pad: Int = 0, dilation: Int = 1) {
        self.init(kernelH: kernel, kernelW: kernel, strideH: stride, strideW: stride,
                  padTop: pad, padLeft: pad, padBottom: pad, padRight: pad, dilationH: dilation, dilationW: dilation)
    }
    public init(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, padTop: Int, padLeft: Int,
                padBottom: Int, padRight: Int, dilationH: Int = 1, dilationW: Int = 1) {
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.padTop = padTop; self.padLeft = padLeft; self.padBottom = padBottom; self.padRight = padRight
        self.dilationH = dilationH; self.dilationW = dilationW
    }

    /// Windows that tile the input: kernel = stride, no padding before the input, no dilation, so every input
    /// belongs to at most one window. Padding after the input (Darknet's `size=2 stride=2` pads one at the
    /// bottom and right) only clips the last windows.
    public var tilesInput: Bool {
        kernelH == strideH && kernelW == strideW && padTop == 0 && padLeft == 0 && dilationH == 1 && dilationW == 1
    }

    /// Output rows for `inputRows` input rows, or nil if the window does not fit.
    public func outputHeight(_ h: Int) -> Int? {
        let span = dilationH * (kernelH - 1) + 1
        let n = h + padTop + padBottom - span
        return n < 0 ? nil : n / strideH + 1
    }
    public func outputWidth(_ w: Int) -> Int? {
        let span = dilationW * (kernelW - 1) + 1
        let n = w + padLeft + padRight - span
        return n < 0 ? nil : n / strideW + 1
    }
    /// Input rows `[lo, hi)` (clipped to `[0, inputHeight)`) that output rows `[a, b)` read.
    public func inputRows(outputRows a: Int, _ b: Int, inputHeight: Int) -> (Int, Int) {
        guard b > a else { return (0, 0) }
        let lo = a * strideH - padTop
        let hi = (b - 1) * strideH - padTop + dilationH * (kernelH - 1) + 1
        return (Swift.max(0, lo), Swift.min(inputHeight, hi))
    }
    func validate(layer: String) throws {
        guard kernelH > 0, kernelW > 0, strideH > 0, strideW > 0, dilationH > 0, dilationW > 0,
              padTop >= 0, padLeft >= 0, padBottom >= 0, padRight >= 0 else {
            throw SpikeError("layer '\(layer)': kernel, stride and dilation must be positive and pads non-negative (\(self))")
        }
    }
}

/// An element-wise (softmax: per position, over channels) ANN activation that has no spiking
/// neuron model of its own. ReLU, leaky-ReLU and identity map onto IF, IBT and signed IBT neurons
/// during import or conversion; the others (sigmoid, hard-swish, swish, clip, softmax) are run by
/// the ANN reference and must be converted (e.g. AMOS) or rejected before simulation.
public enum ActivationFunction: Hashable, Sendable {
    case relu
    case leakyRelu(alpha: Float)
    case sigmoid
    case hardSwish
    case swish
    case clip(min: Float, max: Float)
    case softmax

    public var name: String {
        switch self {
        case .relu: "relu"
        case .leakyRelu: "leakyrelu"
        case .sigmoid: "sigmoid"
        case .hardSwish: "hardswish"
        case .swish: "swish"
        case .clip: "clip"
        case .softmax: "softmax"
        }
    }

    /// The value for one element (softmax excepted: see `DenseForward`).
    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .sigmoid: return 1 / (1 + expf(-x))
        case .hardSwish: return x * Swift.min(Swift.max(x + 3, 0), 6) / 6
        case .swish: return x / (1 + expf(-x))
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .softmax: return x
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// What a layer computes. Layers with neurons integrate a synaptic current; routing layers
/// (concat, slice, upsample, flatten) only re-index the spikes of their inputs.
public enum LayerOp: Hashable, Sendable {
    /// The network input (image or event frame), encoded into spikes or currents by an encoder.
    case input
    /// Convolution; weights `[kh][kw][inChannels/groups][outChannels]`, one bias per output channel.
    case conv(Window, outChannels: Int, groups: Int)
    /// Fully connected over the HWC-flattened input; weights `[inFeatures][outFeatures]`.
    case dense(outFeatures: Int)
    /// Average pooling; `countIncludePad` divides by the full window everywhere.
    case avgPool(Window, countIncludePad: Bool)
    /// Spiking max-pooling gated by the most active input so far (see the engine's MaxPoolGate).
    case maxPool(Window)
    /// Mean over all rows and columns of each channel.
    case globalAvgPool
    /// Element-wise sum of same-shaped inputs, each scaled per channel by an optional factor.
    case add
    /// Channel concatenation (YOLO `route` of several layers).
    case concat
    /// Channels `[start, start + count)` of the input (YOLO `route` with `groups`).
    case channelSlice(start: Int, count: Int)
    /// Nearest-neighbour upsampling by an integer factor.
    case upsample(factor: Int)
    /// Flatten to a vector in HWC order (a no-op on the spikes; importers permute dense weights to match).
    case flatten
    /// An ANN-only activation (see `ActivationFunction`); the simulator refuses it.
    case activation(ActivationFunction)

    /// Short operator name used in files and reports.
    public var name: String {
        switch self {
        case .input: "input"
        case .conv: "conv"
        case .dense: "dense"
        case .avgPool: "avgpool"
        case .maxPool: "maxpool"
        case .globalAvgPool: "globalavgpool"
        case .add: "add"
        case .concat: "concat"
        case .channelSlice: "slice"
        case .upsample: "upsample"
        case .flatten: "flatten"
        case .activation: "activation"
        }
    }

    /// True for ops whose outputs are neurons with a membrane (everything but routing and max-pool).
    public var hasNeurons: Bool {
        switch self {
        case .conv, .dense, .avgPool, .globalAvgPool, .add: true
        case .input, .maxPool, .concat, .channelSlice, .upsample, .flatten, .activation: false
        }
    }
}

/// One layer of a network: its op, inputs (by index into `Network.layers`), output shape,
/// neuron model and parameters.
public struct Layer: Sendable {
    public var name: String
    public var op: LayerOp
    /// Indices of the input layers, all earlier in the list.
    public var inputs: [Int]
    public var shape: Shape
    /// Present exactly when `op.hasNeurons`.
    public var neuron: NeuronModel?
    /// Conv: `[kh][kw][inC/groups][outC]`; dense: `[in][out]`; add: `[inputs][C]` per-input channel scales (optional).
    public var weights: [Float]
    /// One constant current per output channel (conv, dense, add), or empty.
    public var bias: [Float]
    /// Output layers with spiking neurons only: per output channel, the normalization factor λ that
    /// returns decoded values (spike count or membrane) to the ANN's units. Empty means 1.
    public var outputScale: [Float] = []
    /// Leaky and leaky-integrator layers only: per-channel or per-neuron parameter values (NIR's per-neuron
    /// τ, θ, ...), overriding the neuron model's single values. Empty (the default) means none.
    public var perNeuron = NeuronArrays()
    /// How many weights this copy of the layer no longer holds: a simulator that keeps only its own packed
    /// copy of a layer's weights releases the array (`Network.releasingWeights`), and counts stay true.
    public var releasedWeights = 0
    /// The layer's weight count, held or released.
    public var weightCount: Int { weights.count + releasedWeights }

    public init(name: String, op: LayerOp, inputs: [Int], shape: Shape, neuron: NeuronModel? = nil,
                weights: [Float] = [], bias: [Float] = []) {
        self.name = name; self.op = op; self.inputs = inputs; self.shape = shape
        self.neuron = neuron; self.weights = weights; self.bias = bias
    }

    /// True if this layer's output events can be negative.
    public func emitsSigned(in network: Network) -> Bool {
        if let n = neuron { return n.isSigned }
        if case .input = op { return false }
        return inputs.contains { network.layers[$0].emitsSigned(in: network) }
    }
}
