import Foundation
import SpikeCore

/// A non-constant tensor of the ONNX graph, as a layer of the network being built.
///
/// Layout mapping (per sample, N is the batch and never part of the network):
/// `[N, C, H, W]` and `[C, H, W]` → HWC `(H, W, C)` ("spatial"); `[N, F]` and `[F]` → `(1, 1, F)` ("vector").
struct ONNXValue {
    var layer: Int
    var shape: Shape
    var spatial: Bool
    /// Whether the ONNX tensor has a leading batch dimension.
    var batch: Bool
    var batchSize: Int = 1
    /// Set on vectors flattened from a spatial tensor with more than one position: the network keeps
    /// them in HWC order while ONNX has CHW order, so weights and constants must be permuted.
    var flattenedFrom: Shape? = nil

    /// The ONNX dims of this tensor.
    var onnxDims: [Int] {
        let s = spatial ? [shape.channels, shape.height, shape.width] : [shape.channels]
        return batch ? [batchSize] + s : s
    }
    var rank: Int { onnxDims.count }
    /// The ONNX axis of the channels (C or F).
    var channelAxis: Int { batch ? 1 : 0 }
}

/// The state of one import: constants, values, layers being built, fusion bookkeeping.
struct ONNXConverter {
    let file: String
    let opset: Int
    let graph: Onnx_GraphProto

    var layers: [Layer] = []
    /// Layers with neurons whose activation has not been decided yet (fused or defaulted at the end).
    var pendingActivation = Set<Int>()
    var values: [String: ONNXValue] = [:]
    var consts: [String: ONNXConstant] = [:]
    /// For each tensor name, how many uses by nodes not yet converted (plus 1 if it is a graph output).
    var remainingUses: [String: Int] = [:]
    /// Value names that stand for each layer (pass-through ops alias a layer under several names).
    var aliases: [Int: [String]] = [:]
    var graphOutputs = Set<String>()
    /// Sigmoid outputs that a following Mul turns into swish: sigmoid output → its input.
    var swishPending: [String: String] = [:]
    var notes: [String] = []
    var usedNames = Set<String>()

    init(file: String, opset: Int, graph: Onnx_GraphProto) {
        self.file = file; self.opset = opset; self.graph = graph
    }

    // MARK: - Errors

    func error(_ node: Onnx_NodeProto, _ message: String) -> SpikeError {
        SpikeError("\(file): node '\(nodeName(node))' (\(node.opType), opset \(opset)): \(message)")
    }
    func nodeName(_ node: Onnx_NodeProto) -> String {
        node.name.isEmpty ? (node.output.first ?? node.opType) : node.name
    }

    // MARK: - Values and constants

    func value(_ node: Onnx_NodeProto, _ i: Int) throws -> ONNXValue {
        guard i < node.input.count, !node.input[i].isEmpty else { throw error(node, "input #\(i) is missing") }
        let name = node.input[i]
        if let v = values[name] { return v }
        if consts[name] != nil {
            throw error(node, "input '\(name)' is a constant where a computed tensor is expected (constant folding is not supported)")
        }
        throw error(node, "input '\(name)' is not a graph input, initializer or output of an earlier node")
    }

    func constant(_ node: Onnx_NodeProto, _ i: Int) throws -> ONNXConstant {
        guard i < node.input.count, !node.input[i].isEmpty else { throw error(node, "input #\(i) is missing") }
        let name = node.input[i]
        if let c = consts[name] { return c }
        if values[name] != nil {
            throw error(node, "input '\(name)' must be a constant (initializer or Constant node), it is computed from the network input")
        }
        throw error(node, "input '\(name)' is not a graph input, initializer or output of an earlier node")
    }

    /// The constant at input `i`, or nil if the input is absent (optional input).
    func optionalConstant(_ node: Onnx_NodeProto, _ i: Int) throws -> ONNXConstant? {
        guard i < node.input.count, !node.input[i].isEmpty else { return nil }
        return try constant(node, i)
    }

    func isConstant(_ node: Onnx_NodeProto, _ i: Int) -> Bool {
        i < node.input.count && consts[node.input[i]] != nil
    }

    // MARK: - Attributes

    func attr(_ node: Onnx_NodeProto, _ name: String) -> Onnx_AttributeProto? {
        node.attribute.first { $0.name == name }
    }
    func int(_ node: Onnx_NodeProto, _ name: String, _ def: Int) -> Int {
        guard let a = attr(node, name) else { return def }
        return Int(clamping: a.i)
    }
    func float(_ node: Onnx_NodeProto, _ name: String, _ def: Float) -> Float {
        attr(node, name)?.f ?? def
    }
    func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int]? {
        attr(node, name).map { $0.ints.map { Int(clamping: $0) } }
    }
    func string(_ node: Onnx_NodeProto, _ name: String, _ def: String) -> String {
        guard let a = attr(node, name) else { return def }
        return String(decoding: a.s, as: UTF8.self)
    }

    /// Normalizes a possibly negative axis for a tensor of rank `rank`.
    func axis(_ node: Onnx_NodeProto, _ a: Int, rank: Int) throws -> Int {
        let r = a < 0 ? a + rank : a
        guard r >= 0, r < rank else { throw error(node, "axis \(a) is out of range for a rank-\(rank) tensor") }
        return r
    }

    // MARK: - Layers

    /// Product of `dims`, or nil on overflow or a negative factor.
    func safeProduct(_ dims: [Int]) -> Int? {
        var p = 1
        for d in dims {
            guard d >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: d)
            if o { return nil }
            p = r
        }
        return p
    }

    /// A fresh layer name derived from `base`.
    mutating func uniqueName(_ base: String) -> String {
        var n = base.isEmpty ? "layer" : base
        if n == "input" { n = "input_" }
        var k = 1
        let root = n
        while usedNames.contains(n) { k += 1; n = "\(root)_\(k)" }
        usedNames.insert(n)
        return n
    }

    /// Appends a layer (shape inferred). Layers with neurons start with a pending activation.
    @discardableResult
    mutating func addLayer(_ node: Onnx_NodeProto?, name: String, _ op: LayerOp, inputs: [Int],
                           weights: [Float] = [], bias: [Float] = []) throws -> Int {
        let nm = uniqueName(name)
        let shape: Shape
        do {
            shape = try Network.inferShape(op, inputs: inputs.map { layers[$0].shape }, layer: nm)
        } catch let e as SpikeError {
            if let node { throw error(node, e.message) }
            throw SpikeError("\(file): \(e.message)")
        }
        layers.append(Layer(name: nm, op: op, inputs: inputs, shape: shape, neuron: nil, weights: weights, bias: bias))
        let i = layers.count - 1
        if op.hasNeurons { pendingActivation.insert(i) }
        return i
    }

    /// Binds output `k` of `node` to `v`.
    mutating func bind(_ node: Onnx_NodeProto, _ k: Int = 0, _ v: ONNXValue) {
        guard k < node.output.count, !node.output[k].isEmpty else { return }
        values[node.output[k]] = v
        aliases[v.layer, default: []].append(node.output[k])
    }

    /// A value for a freshly added layer, keeping `like`'s layout flags.
    func derived(_ like: ONNXValue, layer: Int) -> ONNXValue {
        var v = like
        v.layer = layer; v.shape = layers[layer].shape
        return v
    }

    /// True if layer `l` (producing `v`) may absorb an op of the node being converted: its activation is
    /// still open and no later node or graph output reads any name that stands for it.
    func canFuse(into v: ONNXValue) -> Bool {
        let l = v.layer
        guard l > 0, pendingActivation.contains(l) else { return false }
        for name in aliases[l] ?? [] {
            if graphOutputs.contains(name) { return false }
            if (remainingUses[name] ?? 0) > 0 { return false }
        }
        return true
    }

    /// Per-channel vector of `c` for value `v`: `c` must broadcast (numpy rules) along the channel axis
    /// only. Returns nil if it does not.
    func channelVector(_ c: ONNXConstant, for v: ONNXValue) -> [Float]? {
        let dims = v.onnxDims, C = v.shape.channels
        if c.count == 1 { return [Float](repeating: c.floats[0], count: C) }
        guard c.rank <= dims.count else {
            // Leading extra dims must be 1.
            let extra = c.dims.prefix(c.rank - dims.count)
            guard extra.allSatisfy({ $0 == 1 }) else { return nil }
            return channelVector(ONNXConstant(dims: Array(c.dims.suffix(dims.count)), floats: c.floats, ints: c.ints), for: v)
        }
        let off = dims.count - c.rank
        for (k, d) in c.dims.enumerated() {
            let axis = k + off
            if axis == v.channelAxis { guard d == C || d == 1 else { return nil } } else if d != 1 { return nil }
        }
        guard c.count == C else { return nil }
        if let src = v.flattenedFrom {
            // ONNX order is CHW of `src`; the network's is HWC.
            return hwcFromCHW(c.floats, src)
        }
        return c.floats
    }

    /// Reorders a CHW-ordered vector of `s.count` values into HWC order.
    func hwcFromCHW(_ a: [Float], _ s: Shape) -> [Float] {
        var out = [Float](repeating: 0, count: s.count)
        let hw = s.height * s.width
        for c in 0..<s.channels { for p in 0..<hw { out[p * s.channels + c] = a[c * hw + p] } }
        return out
    }

    /// Adds an identity (depthwise 1x1 conv with unit weights) layer reading `v`.
    mutating func identityLayer(_ v: ONNXValue, name: String) throws -> ONNXValue {
        let C = v.shape.channels
        let l = try addLayer(nil, name: name, .conv(Window(kernel: 1), outChannels: C, groups: C), inputs: [v.layer],
                             weights: [Float](repeating: 1, count: C))
        return derived(v, layer: l)
    }

    /// Adds a per-channel affine layer `scale * x + shift` (depthwise 1x1 conv) reading `v`.
    mutating func affineLayer(_ node: Onnx_NodeProto, _ v: ONNXValue, scale: [Float], shift: [Float]) throws -> ONNXValue {
        let C = v.shape.channels
        let l = try addLayer(node, name: nodeName(node), .conv(Window(kernel: 1), outChannels: C, groups: C),
                             inputs: [v.layer], weights: scale, bias: shift)
        return derived(v, layer: l)
    }

    /// Multiplies the output channels of conv/dense layer `l` by `s` (length = output channels) and adds `t`
    /// after the scaling (`y' = s*y + t`). Returns false if `l` is not a conv or dense layer.
    mutating func scaleShift(layer l: Int, scale s: [Float], shift t: [Float]) -> Bool {
        var L = layers[l]
        let outC = L.shape.channels
        switch L.op {
        case .conv, .dense: break
        default: return false
        }
        if !s.isEmpty {
            for k in 0..<L.weights.count { L.weights[k] *= s[k % outC] }
        }
        if L.bias.isEmpty { L.bias = [Float](repeating: 0, count: outC) }
        for c in 0..<outC { L.bias[c] = (s.isEmpty ? L.bias[c] : s[c] * L.bias[c]) + (t.isEmpty ? 0 : t[c]) }
        layers[l] = L
        return true
    }
}
