import Foundation
import SpikeCore

/// Layers with weights: Conv, Gemm, MatMul, BatchNormalization, Add, Mul; and pooling.
extension ONNXConverter {
    mutating func convert(_ node: Onnx_NodeProto) throws {
        switch node.opType {
        case "Conv": try convConv(node)
        case "Gemm": try convGemm(node)
        case "MatMul": try convMatMul(node)
        case "BatchNormalization": try convBatchNorm(node)
        case "Add": try convAdd(node)
        case "Mul": try convMul(node)
        case "MaxPool", "AveragePool": try convPool(node)
        case "GlobalAveragePool", "GlobalMaxPool": try convGlobalPool(node)
        case "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish", "Softmax": try convActivation(node)
        case "Concat": try convConcat(node)
        case "Split": try convSplit(node)
        case "Slice": try convSlice(node)
        case "Resize", "Upsample": try convResize(node)
        case "Flatten": try convFlatten(node)
        case "Reshape": try convReshape(node)
        case "Transpose": try convTranspose(node)
        case "Dropout", "Identity": try convIdentity(node)
        case "Constant": try convConstant(node)
        default:
            throw error(node, "operator '\(node.opType)' is not supported")
        }
    }

    // MARK: - Window geometry

    /// Builds a 2-D window from kernel/strides/pads/dilations/auto_pad (and ceil_mode for pooling).
    func window(_ node: Onnx_NodeProto, kernel k: [Int], input s: Shape, ceil: Bool, allowCeil: Bool) throws -> Window {
        guard k.count == 2, k.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw error(node, "kernel_shape \(k) is not a positive 2-D kernel (only 2-D convolution and pooling are supported)")
        }
        let st = ints(node, "strides") ?? [1, 1]
        let dl = ints(node, "dilations") ?? [1, 1]
        guard st.count == 2, dl.count == 2, st.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }), dl.allSatisfy({ $0 > 0 && $0 <= 1 << 16 }) else {
            throw error(node, "strides \(st) and dilations \(dl) must be two positive numbers each")
        }
        let ins = [s.height, s.width]
        var begin = [0, 0], end = [0, 0]
        let autoPad = string(node, "auto_pad", "NOTSET")
        switch autoPad {
        case "NOTSET", "":
            let p = ints(node, "pads") ?? [0, 0, 0, 0]
            guard p.count == 4, p.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else {
                throw error(node, "pads \(p) must be four non-negative numbers [top, left, bottom, right]")
            }
            begin = [p[0], p[1]]; end = [p[2], p[3]]
        case "VALID": break
        case "SAME_UPPER", "SAME_LOWER":
            for a in 0..<2 {
                let out = (ins[a] + st[a] - 1) / st[a]
                let span = dl[a] * (k[a] - 1) + 1
                let total = max(0, (out - 1) * st[a] + span - ins[a])
                let small = total / 2
                if autoPad == "SAME_UPPER" { begin[a] = small; end[a] = total - small } else { end[a] = small; begin[a] = total - small }
            }
        default:
            throw error(node, "auto_pad '\(autoPad)' is not supported")
        }
        if ceil {
            // ONNX/PyTorch ceil mode: one more output where the last window starts inside the input or
            // the leading pad; expressed as extra padding at the end.
            for a in 0..<2 {
                let span = dl[a] * (k[a] - 1) + 1
                let n = ins[a] + begin[a] + end[a] - span
                guard n >= 0 else { continue }
                var out = (n + st[a] - 1) / st[a] + 1
                if (out - 1) * st[a] >= ins[a] + begin[a] { out -= 1 }
                let floorOut = n / st[a] + 1
                if out > floorOut {
                    guard allowCeil else {
                        throw error(node, "ceil_mode = 1 changes the output size here, which is not supported with count_include_pad = 1")
                    }
                    end[a] += (out - 1) * st[a] + span - (ins[a] + begin[a] + end[a])
                }
            }
        }
        return Window(kernelH: k[0], kernelW: k[1], strideH: st[0], strideW: st[1],
                      padTop: begin[0], padLeft: begin[1], padBottom: end[0], padRight: end[1],
                      dilationH: dl[0], dilationW: dl[1])
    }

    func spatialInput(_ node: Onnx_NodeProto) throws -> ONNXValue {
        let x = try value(node, 0)
        guard x.spatial, x.batch else {
            throw error(node, "needs a [N, C, H, W] input, got \(x.onnxDims)")
        }
        return x
    }

    // MARK: - Conv

    mutating func convConv(_ node: Onnx_NodeProto) throws {
        let x = try spatialInput(node)
        let w = try constant(node, 1)
        guard w.rank == 4 else { throw error(node, "weight must be [O, I/group, kH, kW], got \(w.dims)") }
        let O = w.dims[0], icg = w.dims[1], kh = w.dims[2], kw = w.dims[3]
        let g = int(node, "group", 1)
        let C = x.shape.channels
        guard g > 0, icg > 0, O > 0, icg * g == C, O % g == 0 else {
            throw error(node, "weight \(w.dims) with group \(g) does not fit \(C) input channels")
        }
        if let ks = ints(node, "kernel_shape"), ks != [kh, kw] {
            throw error(node, "kernel_shape \(ks) disagrees with the weight's \([kh, kw])")
        }
        let win = try window(node, kernel: [kh, kw], input: x.shape, ceil: false, allowCeil: false)
        var wt = [Float](repeating: 0, count: w.count)
        for o in 0..<O { for i in 0..<icg { for ky in 0..<kh { for kx in 0..<kw {
            wt[((ky * kw + kx) * icg + i) * O + o] = w.floats[((o * icg + i) * kh + ky) * kw + kx]
        } } } }
        var bias = [Float]()
        if let b = try optionalConstant(node, 2) {
            guard b.count == O else { throw error(node, "bias has \(b.count) values, expected \(O)") }
            bias = b.floats
        }
        let l = try addLayer(node, name: nodeName(node), .conv(win, outChannels: O, groups: g), inputs: [x.layer],
                             weights: wt, bias: bias)
        bind(node, 0, derived(x, layer: l))
    }

    // MARK: - Gemm / MatMul

    /// Adds a dense layer for `x · B` where B (`[K][N]` row-major, ONNX row order) is already scaled.
    mutating func dense(_ node: Onnx_NodeProto, _ x: ONNXValue, _ b: [Float], K: Int, N: Int, bias: [Float]) throws {
        guard !x.spatial || x.shape.isVector else {
            throw error(node, "needs a [N, F] input, got \(x.onnxDims) (add a Flatten)")
        }
        guard K == x.shape.count, N > 0 else {
            throw error(node, "weight has \(K) input features, the input has \(x.shape.count)")
        }
        var wt = b
        if let src = x.flattenedFrom {
            // Row r of the network's input is HWC index r; ONNX row is the CHW index of the same element.
            let hw = src.height * src.width
            for p in 0..<hw { for c in 0..<src.channels {
                let r = p * src.channels + c, onnxRow = c * hw + p
                for n in 0..<N { wt[r * N + n] = b[onnxRow * N + n] }
            } }
            notes.append("\(nodeName(node)): weight rows permuted from CHW to HWC order (input flattened from \(src))")
        }
        let l = try addLayer(node, name: nodeName(node), .dense(outFeatures: N), inputs: [x.layer], weights: wt, bias: bias)
        bind(node, 0, ONNXValue(layer: l, shape: layers[l].shape, spatial: false, batch: true, batchSize: x.batchSize))
    }

    mutating func convGemm(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        guard int(node, "transA", 0) == 0 else { throw error(node, "transA = 1 is not supported (the input would be transposed across the batch)") }
        let transB = int(node, "transB", 0) != 0
        let alpha = float(node, "alpha", 1), beta = float(node, "beta", 1)
        let b = try constant(node, 1)
        guard b.rank == 2 else { throw error(node, "B must be a matrix, got \(b.dims)") }
        let K = transB ? b.dims[1] : b.dims[0], N = transB ? b.dims[0] : b.dims[1]
        var w = [Float](repeating: 0, count: b.count)
        for k in 0..<K { for n in 0..<N { w[k * N + n] = alpha * (transB ? b.floats[n * K + k] : b.floats[k * N + n]) } }
        var bias = [Float]()
        if let c = try optionalConstant(node, 2) {
            let okShape = c.count == 1 || (c.count == N && (c.rank == 1 || (c.rank == 2 && c.dims[0] == 1)))
            guard okShape else { throw error(node, "C of shape \(c.dims) is not a per-output bias for \(N) outputs") }
            bias = c.count == 1 ? [Float](repeating: beta * c.floats[0], count: N) : c.floats.map { beta * $0 }
        }
        try dense(node, x, w, K: K, N: N, bias: bias)
    }

    mutating func convMatMul(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let b = try constant(node, 1)
        guard b.rank == 2 else { throw error(node, "the right operand must be a constant matrix, got \(b.dims)") }
        try dense(node, x, b.floats, K: b.dims[0], N: b.dims[1], bias: [])
    }

    // MARK: - BatchNormalization

    mutating func convBatchNorm(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        if node.output.dropFirst().contains(where: { !$0.isEmpty }) || int(node, "training_mode", 0) != 0 {
            throw error(node, "training mode (running statistics outputs) is not supported")
        }
        let C = x.shape.channels
        var p = [[Float]]()
        for i in 1...4 {
            let c = try constant(node, i)
            guard c.count == C else { throw error(node, "input #\(i) has \(c.count) values, expected \(C) (one per channel)") }
            p.append(c.floats)
        }
        let eps = float(node, "epsilon", 1e-5)
        var scale = [Float](repeating: 0, count: C), shift = [Float](repeating: 0, count: C)
        for c in 0..<C {
            scale[c] = p[0][c] / (p[3][c] + eps).squareRoot()
            shift[c] = p[1][c] - p[2][c] * scale[c]
        }
        if let src = x.flattenedFrom { scale = hwcFromCHWPerChannel(scale, src); shift = hwcFromCHWPerChannel(shift, src) }
        if canFuse(into: x), scaleShift(layer: x.layer, scale: scale, shift: shift) {
            notes.append("\(layers[x.layer].name): batch norm '\(nodeName(node))' folded")
            bind(node, 0, x)
            return
        }
        bind(node, 0, try affineLayer(node, x, scale: scale, shift: shift))
        notes.append("\(nodeName(node)): standalone batch norm as a depthwise 1x1 convolution")
    }

    /// BatchNorm on a flattened vector: the "channel" axis of ONNX is the flattened one, in CHW order.
    func hwcFromCHWPerChannel(_ a: [Float], _ s: Shape) -> [Float] { hwcFromCHW(a, s) }

    // MARK: - Add / Mul

    mutating func convAdd(_ node: Onnx_NodeProto) throws {
        guard node.input.count == 2 else { throw error(node, "needs two inputs") }
        let c0 = isConstant(node, 0), c1 = isConstant(node, 1)
        if !c0 && !c1 {
            let a = try value(node, 0), b = try value(node, 1)
            guard a.shape == b.shape, a.spatial == b.spatial, a.flattenedFrom == b.flattenedFrom else {
                throw error(node, "adds tensors of shapes \(a.onnxDims) and \(b.onnxDims); only equal shapes are supported (no broadcasting)")
            }
            let l = try addLayer(node, name: nodeName(node), .add, inputs: [a.layer, b.layer])
            bind(node, 0, derived(a, layer: l))
            return
        }
        guard !(c0 && c1) else { throw error(node, "adds two constants (constant folding is not supported)") }
        let x = try value(node, c0 ? 1 : 0), k = try constant(node, c0 ? 0 : 1)
        guard let shift = channelVector(k, for: x) else {
            throw error(node, "the constant of shape \(k.dims) is not a per-channel bias for \(x.onnxDims)")
        }
        if canFuse(into: x) {
            if scaleShift(layer: x.layer, scale: [], shift: shift) { bind(node, 0, x); return }
            if case .add = layers[x.layer].op {
                let C = x.shape.channels
                if layers[x.layer].bias.isEmpty { layers[x.layer].bias = [Float](repeating: 0, count: C) }
                for c in 0..<C { layers[x.layer].bias[c] += shift[c] }
                bind(node, 0, x); return
            }
        }
        bind(node, 0, try affineLayer(node, x, scale: [Float](repeating: 1, count: x.shape.channels), shift: shift))
    }

    mutating func convMul(_ node: Onnx_NodeProto) throws {
        guard node.input.count == 2 else { throw error(node, "needs two inputs") }
        let a = node.input[0], b = node.input[1]
        for (s, other) in [(a, b), (b, a)] {
            if let src = swishPending[s], src == other {
                let x = try value(node, s == a ? 1 : 0)
                swishPending[s] = nil
                let l = try addLayer(node, name: nodeName(node), .activation(.swish), inputs: [x.layer])
                bind(node, 0, derived(x, layer: l))
                return
            }
        }
        let c0 = isConstant(node, 0), c1 = isConstant(node, 1)
        guard c0 != c1 else {
            throw error(node, c0 ? "multiplies two constants (constant folding is not supported)"
                            : "element-wise product of two tensors is not supported (only x * Sigmoid(x) and per-channel constant scales are)")
        }
        let x = try value(node, c0 ? 1 : 0), k = try constant(node, c0 ? 0 : 1)
        guard let scale = channelVector(k, for: x) else {
            throw error(node, "the constant of shape \(k.dims) is not a per-channel scale for \(x.onnxDims)")
        }
        if canFuse(into: x), scaleShift(layer: x.layer, scale: scale, shift: []) {
            bind(node, 0, x); return
        }
        bind(node, 0, try affineLayer(node, x, scale: scale, shift: [Float](repeating: 0, count: x.shape.channels)))
    }

    // MARK: - Pooling

    mutating func convPool(_ node: Onnx_NodeProto) throws {
        let x = try spatialInput(node)
        let isMax = node.opType == "MaxPool"
        if isMax, node.output.count > 1, !node.output[1].isEmpty {
            throw error(node, "the Indices output is not supported")
        }
        guard let k = ints(node, "kernel_shape") else { throw error(node, "kernel_shape is missing") }
        let includePad = int(node, "count_include_pad", 0) != 0
        let ceil = int(node, "ceil_mode", 0) != 0
        let win = try window(node, kernel: k, input: x.shape, ceil: ceil, allowCeil: isMax || !includePad)
        let op: LayerOp = isMax ? .maxPool(win) : .avgPool(win, countIncludePad: includePad)
        let l = try addLayer(node, name: nodeName(node), op, inputs: [x.layer])
        bind(node, 0, derived(x, layer: l))
    }

    mutating func convGlobalPool(_ node: Onnx_NodeProto) throws {
        let x = try spatialInput(node)
        let op: LayerOp = node.opType == "GlobalMaxPool"
            ? .maxPool(Window(kernelH: x.shape.height, kernelW: x.shape.width, strideH: 1, strideW: 1,
                              padTop: 0, padLeft: 0, padBottom: 0, padRight: 0))
            : .globalAvgPool
        let l = try addLayer(node, name: nodeName(node), op, inputs: [x.layer])
        bind(node, 0, derived(x, layer: l))
    }
}
