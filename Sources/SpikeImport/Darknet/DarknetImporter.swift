import Foundation
import SpikeCore

/// Imports a Darknet (`.cfg` + `.weights`) network, e.g. Yolo-Fastest or Tiny-YOLOv2/v3.
///
/// Supported sections and how they map onto SpikeScale layers (layer names use the Darknet
/// layer index: `conv12`, `maxpool13`, `route14`, ...):
/// - `[net]`/`[network]`: `width`, `height`, `channels` give the input shape `Shape(height, width, channels)`.
/// - `[convolutional]`: `filters`, `size`, `stride` (`stride_x`/`stride_y`), `pad` (1: `size/2`) or
///   `padding`, `groups`, `batch_normalize`, `activation`. Batch norm is folded
///   (`w' = w·γ/(√σ² + 1e-6)`, `b' = β − γ·μ/(√σ² + 1e-6)`, as Darknet's normalize_cpu) and the weights are transposed from Darknet's
///   `[out][in/g][kh][kw]` to `[kh][kw][in/g][out]`.
/// - activations: `leaky` → IBT(α = 0.1), `relu` → IF, `linear` → IBT(α = 1) (identity), or the
///   accumulator when the layer feeds a `[yolo]`/`[region]` head; `logistic`, `swish` and `relu6` →
///   accumulator neurons followed by an ANN-only `.activation` layer (`conv12_logistic`), noted.
/// - `[maxpool]`: `size`, `stride`, `padding` (default `size-1`), with Darknet's offset: `padding/2` on
///   the top/left, the rest on the bottom/right; output `(w + padding - size)/stride + 1` (checked).
/// - `[avgpool]`: global average pooling (IBT(α = 1) neurons, i.e. identity).
/// - `[route]`: one layer without `groups` is a reference (no new layer); several are concatenated;
///   with `groups`/`group_id` each input is channel-sliced first.
/// - `[shortcut]`: `from` (one or more) → `add` of the previous layer and the `from` layers, neuron from
///   `activation` (default linear); `alpha`/`beta` (pjreddie) become per-input scales.
///   `weights_type`/`weights_normalization` are rejected.
/// - `[upsample]`: `stride` → nearest-neighbour upsampling (negative stride and `scale` ≠ 1 rejected).
/// - `[dropout]`: removed (identity at inference), noted.
/// - `[yolo]`: a `YOLOHead` on the preceding layer (no layer added).
/// - `[region]` (YOLOv2): no layer and no head (its decoding differs from `[yolo]`); the preceding layer
///   becomes a network output, noted.
///
/// The network's outputs are the layers feeding the heads in file order, or the last layer if there are
/// none. Weights are optional (nil: topology only, zero weights and biases). When given, the `.weights`
/// file must be consumed exactly: a short file or bytes left after the last layer are errors.
/// Every error names the file and line (`net.cfg:57 [convolutional] #12: ...`) or the weights file and layer.
public enum DarknetImporter {
    /// Darknet's (AlexeyAB) batch-norm epsilon, added to the variance.
    /// Darknet's batch-norm epsilon, added to the standard deviation: `(x − mean) / (sqrt(var) + 1e-6)`.
    public static let batchNormEpsilon: Double = 0.000001
    /// Darknet's leaky-ReLU slope.
    public static let leakySlope: Float = 0.1

    static let supported: Set<String> = ["convolutional", "conv", "maxpool", "max", "avgpool", "avg", "route",
                                         "shortcut", "upsample", "dropout", "yolo", "region"]
    static let knownUnsupported: Set<String> = [
        "connected", "conn", "crnn", "rnn", "gru", "lstm", "conv_lstm", "history", "local", "softmax", "soft",
        "detection", "cost", "normalization", "lrn", "batchnorm", "crop", "reorg", "reorg3d", "scale_channels",
        "sam", "empty", "silence", "implicit_add", "implicit_mul", "gaussian_yolo", "iseg", "contrastive",
        "deconvolutional", "deconv", "activation", "l2norm", "logistic", "xor", "maxpool3d",
    ]

    /// Loads `cfg` and, if given, `weights` (paths).
    public static func load(cfg: String, weights: String?) throws -> ImportedModel {
        let config = try DarknetConfig(contentsOf: cfg)
        let w = try weights.map { try DarknetWeights(contentsOf: $0) }
        var m = try build(config: config, weights: w)
        m.source = cfg + (weights.map { " + " + $0 } ?? "")
        return m
    }

    /// Builds the model from a parsed cfg and optional weights (`source` is set to the cfg's file name).
    public static func build(config: DarknetConfig, weights: DarknetWeights?) throws -> ImportedModel {
        var b = DarknetBuilder(config: config, weights: weights)
        return try b.run()
    }
}

// MARK: - Builder

struct DarknetBuilder {
    let config: DarknetConfig
    let weights: DarknetWeights?
    var reader: DarknetWeightReader?
    var net: NetworkBuilder
    var notes: [String] = []
    var heads: [YOLOHead] = []
    var outputs: [Int] = []
    /// Network layer index holding each Darknet layer's output (nil: a head, which has none).
    var out: [Int?] = []
    /// Darknet layers whose output feeds a `[yolo]`/`[region]` (through dropouts).
    var feedsHead: Set<Int> = []
    var parameters = 0
    var foldedBN = 0

    init(config: DarknetConfig, weights: DarknetWeights?) {
        self.config = config; self.weights = weights
        reader = weights?.reader()
        net = NetworkBuilder(name: "", input: Shape(1, 1, 1))
    }

    static let maxSide = 1 << 15
    static let maxChannels = 1 << 16
    static let maxCount = 1 << 31

    mutating func run() throws -> ImportedModel {
        let n = config.net
        let width = try n.int("width", default: 0), height = try n.int("height", default: 0)
        let channels = try n.int("channels", default: 0)
        for (k, v, hi) in [("width", width, Self.maxSide), ("height", height, Self.maxSide), ("channels", channels, 4096)]
        where !(1...hi).contains(v) {
            throw n.error(n.has(k) ? "key '\(k)' is \(v), expected a value in 1...\(hi)" : "key '\(k)' is missing (the input size)", key: k)
        }
        let name = (config.file as NSString).deletingPathExtension
        net = NetworkBuilder(name: name.isEmpty ? "darknet" : name, input: Shape(height, width, channels))

        let layers = Array(config.layers)
        for s in layers where !DarknetImporter.supported.contains(s.type) {
            if DarknetImporter.knownUnsupported.contains(s.type) {
                throw s.error("Darknet layer type [\(s.type)] is not supported by the importer (supported: convolutional, maxpool, avgpool, route, shortcut, upsample, dropout, yolo, region)")
            }
            throw s.error("unknown section [\(s.type)]")
        }
        for (j, s) in layers.enumerated() where s.type == "yolo" || s.type == "region" {
            var k = j - 1
            while k >= 0 && layers[k].type == "dropout" { k -= 1 }
            if k >= 0 { feedsHead.insert(k) }
        }
        if weights == nil {
            notes.append("weights: none given; all weights and biases are zero (topology only)")
        }
        for (i, s) in layers.enumerated() {
            switch s.type {
            case "convolutional", "conv": try convolutional(i, s)
            case "maxpool", "max": try maxpool(i, s)
            case "avgpool", "avg": try avgpool(i, s)
            case "route": try route(i, s)
            case "shortcut": try shortcut(i, s)
            case "upsample": try upsample(i, s)
            case "dropout":
                out.append(try previous(i, s))
                notes.append("dropout\(i): removed (identity at inference)")
            case "yolo": try yolo(i, s)
            case "region": try region(i, s)
            default: throw s.error("unknown section [\(s.type)]")
            }
        }
        if let w = weights, let r = reader {
            try r.finish(cfg: config.file)
            notes.append("weights: \(w.file) version \(w.major).\(w.minor).\(w.revision), seen \(w.seen), \(w.values.count) floats, all consumed")
        }
        if foldedBN > 0 {
            notes.append("batch norm folded into \(foldedBN) convolution layer(s): w·γ/(√σ² + 1e-6), bias β − γ·μ/(√σ² + 1e-6) as Darknet computes it")
        }
        var outs: [Int] = []
        for o in outputs where !outs.contains(o) { outs.append(o) }
        if outs.isEmpty { outs = [net.last] }
        var network: Network
        do { network = try net.build(outputs: outs) } catch let e as SpikeError {
            throw SpikeError("\(config.file): \(e.message)")
        }
        network.heads = heads
        return ImportedModel(network: network, heads: heads, notes: notes, source: config.file)
    }

    // MARK: helpers

    /// The network layer holding the output of Darknet layer `i - 1` (the input for layer 0).
    func previous(_ i: Int, _ s: DarknetSection) throws -> Int {
        if i == 0 { return 0 }
        guard let p = out[i - 1] else {
            throw s.error("follows a [\(config.sections[i].type)] head, whose output is not represented; insert a [route] to the layer wanted")
        }
        return p
    }

    /// Resolves a Darknet layer reference (negative: relative to `i`) to a network layer index.
    func resolve(_ ref: Int, at i: Int, _ s: DarknetSection, key: String) throws -> Int {
        let (j, o) = ref < 0 ? i.addingReportingOverflow(ref) : (ref, false)
        guard !o, j >= 0, j < i else {
            throw s.error("key '\(key)' refers to layer \(ref)\(ref < 0 ? " (= \(j))" : ""), which is not an earlier layer (this is layer #\(i); layers are numbered from 0 after [net])", key: key)
        }
        guard let n = out[j] else {
            throw s.error("key '\(key)' refers to layer \(j), a [\(config.sections[j + 1].type)] head whose output is not represented", key: key)
        }
        return n
    }

    /// Appends a layer, re-throwing shape errors with the cfg location.
    mutating func add(_ s: DarknetSection, _ name: String, _ op: LayerOp, inputs: [Int], neuron: NeuronModel? = nil,
                      weights: [Float] = [], bias: [Float] = []) throws -> Int {
        let shape: Shape
        do { shape = try Network.inferShape(op, inputs: inputs.map { net.shape($0) }, layer: name) } catch let e as SpikeError {
            throw s.error(e.message)
        }
        guard shape.height <= DarknetBuilder.maxSide, shape.width <= DarknetBuilder.maxSide, shape.channels <= DarknetBuilder.maxChannels,
              shape.count <= DarknetBuilder.maxCount else {
            throw s.error("layer '\(name)' would be \(shape), larger than this importer accepts (sides up to \(DarknetBuilder.maxSide), \(DarknetBuilder.maxChannels) channels)")
        }
        do { return try net.add(name, op, inputs: inputs, neuron: neuron, weights: weights, bias: bias) } catch let e as SpikeError {
            throw s.error(e.message)
        }
    }

    /// Neuron model for a Darknet activation, plus an ANN-only activation layer if it has no neuron equivalent.
    func neuronModel(_ s: DarknetSection, darknetIndex i: Int, default d: String) throws -> (NeuronModel, ActivationFunction?) {
        let a = s.string("activation", default: d).lowercased()
        switch a {
        case "leaky": return (.ibt(alpha: DarknetImporter.leakySlope), nil)
        case "relu": return (.integrateAndFire(), nil)
        case "linear": return (feedsHead.contains(i) ? .accumulator : .ibt(alpha: 1), nil)
        case "logistic": return (.accumulator, .sigmoid)
        case "swish": return (.accumulator, .swish)
        case "relu6": return (.accumulator, .clip(min: 0, max: 6))
        default:
            throw s.error("activation '\(a)' is not supported (supported: leaky, relu, linear, logistic, swish, relu6)", key: "activation")
        }
    }

    /// Adds the ANN-only activation layer after a neuron layer when needed; returns the layer holding the output.
    mutating func finishActivation(_ s: DarknetSection, _ base: String, _ layer: Int, _ act: ActivationFunction?) throws -> Int {
        guard let act else { return layer }
        let tag = s.string("activation", default: "logistic").lowercased()
        let idx = try add(s, "\(base)_\(tag)", .activation(act), inputs: [layer])
        notes.append("\(base): \(tag) activation kept as the ANN-only \(act.name) layer \(base)_\(tag) on accumulator neurons (the simulator refuses it; convert or replace it first)")
        return idx
    }

    func rejectKeys(_ s: DarknetSection, _ keys: [String], allowed: String = "0") throws {
        for k in keys {
            if let o = s.option(k), o.value != allowed {
                throw s.error("key '\(k)=\(o.value)' is not supported by the importer", key: k)
            }
        }
    }

    mutating func countParameters(_ s: DarknetSection, _ n: Int) throws {
        parameters += n
        try InputLimits.check(parameters, .tensorElements, s.location() + ": the parameters the cfg declares up to this layer")
    }
}
