import Foundation
import SpikeCore
import SwiftProtobuf

/// Imports a trained ANN from an ONNX model file into SpikeScale's network model.
///
/// Layout: every tensor is one sample; the batch dimension N is dropped (any N is accepted, samples are
/// independent). `[N, C, H, W]` and `[C, H, W]` map to HWC `(H, W, C)`, `[N, F]` and `[F]` to `(1, 1, F)`.
/// Conv weights OIHW become `[kh][kw][I/g][O]`; Gemm/MatMul weights become `[in][out]`, their rows
/// permuted from CHW to HWC order when the input was flattened from a spatial tensor. Several graph
/// inputs (of equal height and width) are concatenated on channels, in graph order, into the one
/// network input.
///
/// Operators: Conv, Gemm (transA = 0), MatMul (constant right operand), BatchNormalization (folded into
/// the preceding Conv/Gemm/MatMul, else a depthwise 1x1 conv), Relu, LeakyRelu, Clip, Sigmoid, HardSwish,
/// Mul (x * Sigmoid(x) → swish; a per-channel constant → scale), MaxPool, AveragePool, GlobalAveragePool,
/// GlobalMaxPool, Add (two tensors → add layer; a per-channel constant → bias), Concat/Split/Slice on the
/// channel axis, Resize/Upsample (nearest, one integer factor for H and W), Flatten, Reshape (flatten or
/// no-op), Transpose (layout no-op), Dropout/Identity (removed), Softmax (on the channel axis), Constant.
///
/// Activations following a Conv, Gemm, MatMul, Add or average pooling become its neuron model: Relu →
/// IF, LeakyRelu(α) with 0 < α ≤ 1 → IBT(α); with none, hidden layers get IBT(1) (signed identity) and
/// graph outputs the accumulator. Other activations become ANN-only `.activation` layers.
public enum ONNXImporter {
    /// Reads and imports the model at `path`.
    public static func load(path: String) throws -> ImportedModel {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SpikeError("\(path): cannot read the ONNX model: \(error.localizedDescription)")
        }
        return try load(data: data, name: path)
    }

    /// Imports a model from its serialized bytes; `name` names the source in errors and in the result.
    public static func load(data: Data, name: String) throws -> ImportedModel {
        let model: Onnx_ModelProto
        do {
            var opts = BinaryDecodingOptions()
            opts.messageDepthLimit = 64
            model = try Onnx_ModelProto(serializedBytes: data, options: opts)
        } catch {
            throw SpikeError("\(name): not a valid ONNX model (the protobuf bytes are truncated or corrupt: \(error))")
        }
        guard model.hasGraph else { throw SpikeError("\(name): not a valid ONNX model (no graph)") }
        var opset = 0
        for o in model.opsetImport where o.domain.isEmpty || o.domain == "ai.onnx" {
            opset = Int(clamping: o.version)
        }
        if opset == 0 {
            // Models from before opset_import existed (IR version < 3) use opset 1.
            guard model.opsetImport.isEmpty else {
                throw SpikeError("\(name): the model imports no version of the default ONNX operator set")
            }
            opset = 1
        }
        var conv = ONNXConverter(file: name, opset: opset, graph: model.graph)
        let network = try conv.run(modelName: model.graph.name.isEmpty ? "onnx" : model.graph.name)
        return ImportedModel(network: network, notes: conv.notes, source: name)
    }
}

extension ONNXConverter {
    /// Converts the whole graph.
    mutating func run(modelName: String) throws -> Network {
        usedNames.insert("input")
        // Constants.
        for (k, t) in graph.initializer.enumerated() {
            let nm = t.name.isEmpty ? "#\(k)" : t.name
            consts[t.name] = try ONNXConstant.decode(t, what: "initializer '\(nm)'", file: file)
        }
        try setUpInputs()
        for o in graph.output {
            graphOutputs.insert(o.name)
            remainingUses[o.name, default: 0] += 1
        }
        for n in graph.node { for i in n.input where !i.isEmpty { remainingUses[i, default: 0] += 1 } }

        try InputLimits.check(graph.node.count, .layers, "\(file): the number of graph nodes")
        for node in graph.node {
            for i in node.input where !i.isEmpty { remainingUses[i, default: 0] -= 1 }
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw error(node, "operator domain '\(node.domain)' is not supported (only the default ONNX domain is)")
            }
            try convert(node)
        }
        return try finish(modelName: modelName)
    }

    /// Creates the input layer from the graph inputs that are not initializers.
    mutating func setUpInputs() throws {
        var shapes = [(name: String, value: ONNXValue)]()
        for vi in graph.input where consts[vi.name] == nil {
            let what = "graph input '\(vi.name)'"
            guard case .tensorType(let tt)? = vi.type.value else {
                throw SpikeError("\(file): \(what) is not a tensor")
            }
            guard tt.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) else {
                let name = Onnx_TensorProto.DataType(rawValue: Int(tt.elemType)).map { "\($0)" } ?? "#\(tt.elemType)"
                throw SpikeError("\(file): \(what) has element type \(name); only float inputs are supported")
            }
            guard tt.hasShape else { throw SpikeError("\(file): \(what) has no shape; the importer needs static shapes") }
            var dims = [Int]()
            for (k, d) in tt.shape.dim.enumerated() {
                if case .dimValue(let v)? = d.value, v > 0, v <= Int64(Int32.max) {
                    dims.append(Int(v))
                } else if k == 0 && (tt.shape.dim.count == 4 || tt.shape.dim.count == 2) {
                    dims.append(1)  // symbolic batch
                } else {
                    throw SpikeError("\(file): \(what) has a dynamic or invalid dimension #\(k); the importer needs static shapes")
                }
            }
            var v: ONNXValue
            switch dims.count {
            case 4: v = ONNXValue(layer: 0, shape: Shape(dims[2], dims[3], dims[1]), spatial: true, batch: true, batchSize: dims[0])
            case 3: v = ONNXValue(layer: 0, shape: Shape(dims[1], dims[2], dims[0]), spatial: true, batch: false)
                notes.append("\(what): rank-3 tensor read as [C, H, W] (one sample)")
            case 2: v = ONNXValue(layer: 0, shape: Shape(1, 1, dims[1]), spatial: false, batch: true, batchSize: dims[0])
            case 1: v = ONNXValue(layer: 0, shape: Shape(1, 1, dims[0]), spatial: false, batch: false)
            default:
                throw SpikeError("\(file): \(what) has rank \(dims.count); supported are [N,C,H,W], [C,H,W], [N,F] and [F]")
            }
            try InputLimits.check(InputLimits.product(dims), .tensorElements, "\(file): \(what): the elements of dims \(dims)")
            if v.batch && v.batchSize != 1 {
                notes.append("\(what): batch dimension \(v.batchSize) read as independent samples")
            }
            shapes.append((vi.name, v))
        }
        guard let first = shapes.first else { throw SpikeError("\(file): the graph has no (non-constant) input") }
        let totalC = shapes.reduce(0) { $0 + $1.value.shape.channels }
        for s in shapes.dropFirst() where s.value.shape.height != first.value.shape.height
            || s.value.shape.width != first.value.shape.width || s.value.spatial != first.value.spatial {
            throw SpikeError("\(file): graph inputs '\(first.name)' (\(first.value.onnxDims)) and '\(s.name)' (\(s.value.onnxDims)) "
                             + "cannot share the network input: it concatenates inputs on channels and needs equal height and width")
        }
        layers = [Layer(name: "input", op: .input, inputs: [],
                        shape: Shape(first.value.shape.height, first.value.shape.width, totalC))]
        if shapes.count == 1 {
            values[first.name] = first.value
            aliases[0, default: []].append(first.name)
            return
        }
        notes.append("input: graph inputs \(shapes.map { "'\($0.name)'" }.joined(separator: ", ")) concatenated on channels, in this order")
        var start = 0
        for s in shapes {
            let C = s.value.shape.channels
            let l = try addLayer(nil, name: s.name, .channelSlice(start: start, count: C), inputs: [0])
            var v = s.value
            v.layer = l
            values[s.name] = v
            aliases[l, default: []].append(s.name)
            start += C
        }
    }

    /// Decides the open activations, makes sure no output is the input layer, and builds the network.
    mutating func finish(modelName: String) throws -> Network {
        var outputs = [Int]()
        for o in graph.output {
            guard var v = values[o.name] else {
                if consts[o.name] != nil { throw SpikeError("\(file): graph output '\(o.name)' is a constant") }
                throw SpikeError("\(file): graph output '\(o.name)' is not produced by any node")
            }
            if v.layer == 0 || outputs.contains(v.layer) {
                v = try identityLayer(v, name: o.name)
                values[o.name] = v
                notes.append("\(layers[v.layer].name): identity layer added so that graph output '\(o.name)' is a layer of its own")
            }
            outputs.append(v.layer)
        }
        var consumed = Set<Int>()
        for l in layers { consumed.formUnion(l.inputs) }
        for i in pendingActivation.sorted() {
            layers[i].neuron = consumed.contains(i) ? .ibt(alpha: 1) : .accumulator
        }
        pendingActivation.removeAll()
        let net = Network(name: modelName, layers: layers, outputs: outputs)
        do {
            try net.validate()
        } catch let e as SpikeError {
            throw SpikeError("\(file): the imported network is invalid: \(e.message)")
        }
        return net
    }
}
