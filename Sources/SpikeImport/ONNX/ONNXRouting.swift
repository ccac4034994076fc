import Foundation
import SpikeCore

/// Activations and layout operators: Relu ... Softmax, Concat, Split, Slice, Resize, Flatten, Reshape,
/// Transpose, Dropout/Identity, Constant.
extension ONNXConverter {
    // MARK: - Activations

    mutating func convActivation(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let f: ActivationFunction
        switch node.opType {
        case "Relu": f = .relu
        case "LeakyRelu": f = .leakyRelu(alpha: float(node, "alpha", 0.01))
        case "Sigmoid":
            // x * Sigmoid(x) → swish, decided at the Mul.
            if let out = node.output.first, !graphOutputs.contains(out), remainingUses[out] == 1,
               let mul = graph.node.first(where: { $0.opType == "Mul" && $0.input.contains(out) }),
               mul.input.count == 2, Set(mul.input) == Set([node.input[0], out]) {
                swishPending[out] = node.input[0]
                return
            }
            f = .sigmoid
        case "HardSwish": f = .hardSwish
        case "Clip":
            var lo = -Float.infinity, hi = Float.infinity
            if opset < 11 {
                lo = float(node, "min", lo); hi = float(node, "max", hi)
            } else {
                for (i, isMin) in [(1, true), (2, false)] {
                    guard let c = try optionalConstant(node, i) else { continue }
                    guard c.count == 1 else { throw error(node, "clip bound #\(i) must be a scalar, got \(c.dims)") }
                    if isMin { lo = c.floats[0] } else { hi = c.floats[0] }
                }
            }
            f = (lo == 0 && hi == .infinity) ? .relu : .clip(min: lo, max: hi)
        case "Softmax":
            let rank = x.rank
            if opset >= 13 {
                let a = try axis(node, int(node, "axis", -1), rank: rank)
                guard a == x.channelAxis else {
                    throw error(node, "softmax over axis \(a) of \(x.onnxDims) is not on the channel axis")
                }
            } else {
                // Before opset 13: softmax over the flattened dims from `axis` on.
                let a = try axis(node, int(node, "axis", 1), rank: rank)
                let tailIsChannel = a == x.channelAxis && (!x.spatial || x.shape.isVector)
                guard tailIsChannel else {
                    throw error(node, "softmax (opset < 13) over dims \(a)... of \(x.onnxDims) is not over the channels only")
                }
            }
            guard x.flattenedFrom == nil || x.rank <= 2 else { throw error(node, "softmax layout not supported") }
            f = .softmax
        default:
            throw error(node, "operator '\(node.opType)' is not supported")
        }
        // Fuse ReLU / leaky-ReLU into the producing layer's neurons.
        var neuron: NeuronModel? = nil
        switch f {
        case .relu: neuron = .integrateAndFire()
        case .leakyRelu(let a) where a == 0: neuron = .integrateAndFire()
        case .leakyRelu(let a) where a > 0 && a <= 1: neuron = .ibt(alpha: a)
        default: break
        }
        if let neuron, canFuse(into: x) {
            layers[x.layer].neuron = neuron
            pendingActivation.remove(x.layer)
            bind(node, 0, x)
            return
        }
        let l = try addLayer(node, name: nodeName(node), .activation(f), inputs: [x.layer])
        bind(node, 0, derived(x, layer: l))
        if case .softmax = f, !(node.output.first.map { graphOutputs.contains($0) } ?? false) {
            notes.append("\(layers[l].name): softmax inside the network (ANN-only activation layer)")
        }
    }

    // MARK: - Channel routing

    mutating func convConcat(_ node: Onnx_NodeProto) throws {
        var vs = [ONNXValue]()
        for i in node.input.indices where !node.input[i].isEmpty { vs.append(try value(node, i)) }
        guard let first = vs.first else { throw error(node, "has no inputs") }
        guard let a0 = attr(node, "axis").map({ Int(clamping: $0.i) }) else {
            throw error(node, "axis is missing")
        }
        let a = try axis(node, a0, rank: first.rank)
        for v in vs {
            guard v.rank == first.rank, v.spatial == first.spatial, v.batch == first.batch,
                  v.shape.height == first.shape.height, v.shape.width == first.shape.width else {
                throw error(node, "inputs \(vs.map(\.onnxDims)) do not agree outside the concatenation axis")
            }
            guard v.flattenedFrom == nil else { throw error(node, "concatenation of flattened spatial tensors is not supported") }
        }
        guard a == first.channelAxis else {
            throw error(node, "concatenation on axis \(a) of \(first.onnxDims) is not on the channel axis")
        }
        if vs.count == 1 { bind(node, 0, first); return }
        let l = try addLayer(node, name: nodeName(node), .concat, inputs: vs.map(\.layer))
        bind(node, 0, derived(first, layer: l))
    }

    /// Emits a channel slice `[start, start + count)` of `x` as output `k`.
    mutating func slice(_ node: Onnx_NodeProto, _ k: Int, _ x: ONNXValue, start: Int, count: Int, suffix: String) throws {
        guard x.flattenedFrom == nil else { throw error(node, "slicing a flattened spatial tensor is not supported") }
        if start == 0 && count == x.shape.channels { bind(node, k, x); return }
        let name = node.output.count > 1 ? nodeName(node) + suffix : nodeName(node)
        let l = try addLayer(node, name: name, .channelSlice(start: start, count: count), inputs: [x.layer])
        bind(node, k, derived(x, layer: l))
    }

    mutating func convSplit(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let a = try axis(node, int(node, "axis", 0), rank: x.rank)
        guard a == x.channelAxis else { throw error(node, "split on axis \(a) of \(x.onnxDims) is not on the channel axis") }
        let C = x.shape.channels, n = node.output.count
        guard n > 0 else { throw error(node, "has no outputs") }
        var sizes: [Int]
        if opset < 13, let s = ints(node, "split") {
            sizes = s
        } else if let c = try optionalConstant(node, 1) {
            sizes = try c.integers(what: "split sizes", file: file)
        } else {
            let parts = opset >= 18 ? int(node, "num_outputs", n) : n
            guard parts == n, parts > 0 else { throw error(node, "num_outputs \(parts) disagrees with \(n) outputs") }
            let each = (C + parts - 1) / parts
            sizes = (0..<parts).map { min(each, max(0, C - $0 * each)) }
        }
        guard sizes.count == n, sizes.allSatisfy({ $0 > 0 }), sizes.reduce(0, +) == C else {
            throw error(node, "split sizes \(sizes) do not partition \(C) channels into \(n) outputs")
        }
        var start = 0
        for (k, s) in sizes.enumerated() {
            try slice(node, k, x, start: start, count: s, suffix: "_\(k)")
            start += s
        }
    }

    mutating func convSlice(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let dims = x.onnxDims
        var starts: [Int], ends: [Int], axes: [Int]?, steps: [Int]?
        if opset < 10 {
            guard let s = ints(node, "starts"), let e = ints(node, "ends") else { throw error(node, "starts/ends are missing") }
            starts = s; ends = e; axes = ints(node, "axes"); steps = nil
        } else {
            starts = try constant(node, 1).integers(what: "starts", file: file)
            ends = try constant(node, 2).integers(what: "ends", file: file)
            axes = try optionalConstant(node, 3)?.integers(what: "axes", file: file)
            steps = try optionalConstant(node, 4)?.integers(what: "steps", file: file)
        }
        let ax = axes ?? Array(0..<starts.count)
        guard starts.count == ends.count, ax.count == starts.count, steps.map({ $0.count == starts.count }) ?? true else {
            throw error(node, "starts, ends, axes and steps must have the same length")
        }
        var chStart = 0, chCount = x.shape.channels
        for (j, a0) in ax.enumerated() {
            let a = try axis(node, a0, rank: dims.count)
            let d = dims[a]
            let step = steps?[j] ?? 1
            guard step == 1 else { throw error(node, "slice steps other than 1 are not supported (got \(step))") }
            func clampIndex(_ v: Int) -> Int { let r = v < 0 ? v + d : v; return min(max(r, 0), d) }
            let s = clampIndex(starts[j]), e = clampIndex(ends[j])
            if a == x.channelAxis {
                guard e > s else { throw error(node, "the slice [\(starts[j]), \(ends[j])) of \(d) channels is empty") }
                chStart = s; chCount = e - s
            } else if !(s == 0 && e == d) {
                throw error(node, "slicing axis \(a) of \(dims) is not supported (only the channel axis may be sliced)")
            }
        }
        try slice(node, 0, x, start: chStart, count: chCount, suffix: "")
    }

    mutating func convResize(_ node: Onnx_NodeProto) throws {
        let x = try spatialInput(node)
        let mode = string(node, "mode", "nearest")
        guard mode == "nearest" else { throw error(node, "mode '\(mode)' is not supported (only nearest)") }
        var scales: [Float]? = nil
        if node.opType == "Upsample" {
            scales = opset < 9 ? attr(node, "scales")?.floats : try optionalConstant(node, 1)?.floats
        } else if opset < 11 {
            scales = try optionalConstant(node, 1)?.floats
        } else {
            let ctm = string(node, "coordinate_transformation_mode", "half_pixel")
            let nm = string(node, "nearest_mode", "round_prefer_floor")
            let ok = (["half_pixel", "pytorch_half_pixel"].contains(ctm) && nm.hasPrefix("round_prefer"))
                || (ctm == "asymmetric" && nm == "floor")
            guard ok else {
                throw error(node, "coordinate_transformation_mode '\(ctm)' with nearest_mode '\(nm)' is not nearest-neighbour replication")
            }
            if let s = try optionalConstant(node, 2), s.count > 0 { scales = s.floats }
            if scales == nil, let sz = try optionalConstant(node, 3), sz.count > 0 {
                let sizes = try sz.integers(what: "sizes", file: file)
                let full = x.onnxDims
                let axes = try (ints(node, "axes") ?? Array(0..<full.count)).map { try axis(node, $0, rank: full.count) }
                guard sizes.count == axes.count else { throw error(node, "sizes \(sizes) do not match the axes") }
                var sc = [Float](repeating: 1, count: full.count)
                for (j, a) in axes.enumerated() { sc[a] = Float(sizes[j]) / Float(full[a]) }
                scales = sc
            } else if let s = scales, let axes = ints(node, "axes") {
                let full = x.onnxDims
                guard s.count == axes.count else { throw error(node, "scales \(s) do not match the axes \(axes)") }
                var sc = [Float](repeating: 1, count: full.count)
                for (j, a) in axes.enumerated() { sc[try axis(node, a, rank: full.count)] = s[j] }
                scales = sc
            }
        }
        guard let s = scales, s.count == 4 else { throw error(node, "needs four scales (or sizes) for an [N, C, H, W] input") }
        guard s[0] == 1, s[1] == 1, s[2] == s[3], s[2] >= 1, s[2] == s[2].rounded(), s[2] <= 1024 else {
            throw error(node, "scales \(s) are not one integer factor for height and width")
        }
        let f = Int(s[2])
        if f == 1 { bind(node, 0, x); return }
        let l = try addLayer(node, name: nodeName(node), .upsample(factor: f), inputs: [x.layer])
        bind(node, 0, derived(x, layer: l))
    }

    // MARK: - Shape operators

    /// Rebinds `x` to the ONNX shape `target` (with batch semantics as for graph inputs) if that is a
    /// flatten or a no-op per sample; throws otherwise.
    mutating func reshape(_ node: Onnx_NodeProto, _ x: ONNXValue, to target: [Int]) throws {
        var v = x
        switch target.count {
        case 4: v.spatial = true; v.batch = true; v.batchSize = target[0]; v.shape = Shape(target[2], target[3], target[1])
        case 3: v.spatial = true; v.batch = false; v.shape = Shape(target[1], target[2], target[0])
        case 2: v.spatial = false; v.batch = true; v.batchSize = target[0]; v.shape = Shape(1, 1, target[1])
        case 1: v.spatial = false; v.batch = false; v.shape = Shape(1, 1, target[0])
        default: throw error(node, "output shape \(target) has an unsupported rank")
        }
        guard v.shape.count == x.shape.count, !(x.batch && v.batch && v.batchSize != x.batchSize) else {
            throw error(node, "reshaping \(x.onnxDims) to \(target) mixes samples or changes the per-sample layout")
        }
        if v.shape == x.shape && v.flattenedFrom == x.flattenedFrom && (v.spatial || !x.spatial || x.shape.isVector) {
            bind(node, 0, v); return
        }
        if !v.spatial, x.spatial, x.flattenedFrom == nil {
            // A flatten of a spatial tensor (CHW order in ONNX, HWC in the network).
            let l = try addLayer(node, name: nodeName(node), .flatten, inputs: [x.layer])
            v.layer = l
            v.flattenedFrom = x.shape.isVector ? nil : x.shape
            bind(node, 0, v); return
        }
        if v.spatial, !x.spatial, v.shape.isVector, x.flattenedFrom == nil {
            bind(node, 0, v); return  // [N, F] → [N, F, 1, 1]
        }
        throw error(node, "reshaping \(x.onnxDims) to \(target) is neither a flatten nor a no-op")
    }

    mutating func convFlatten(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let dims = x.onnxDims
        let a = int(node, "axis", 1)
        let ax = a < 0 ? a + dims.count : a
        guard ax >= 0, ax <= dims.count else { throw error(node, "axis \(a) is out of range for \(dims)") }
        let outer = dims.prefix(ax).reduce(1, *), inner = dims.dropFirst(ax).reduce(1, *)
        let sampleOuter = x.batch ? dims.dropFirst().prefix(max(0, ax - 1)).reduce(1, *) : outer
        guard (x.batch && ax >= 1 && sampleOuter == 1) || (!x.batch && outer == 1) else {
            throw error(node, "flatten at axis \(a) of \(dims) splits a sample")
        }
        try reshape(node, x, to: [x.batch ? x.batchSize : 1, inner])
    }

    mutating func convReshape(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let spec: [Int]
        if opset < 5 {
            guard let s = ints(node, "shape") else { throw error(node, "shape is missing") }
            spec = s
        } else {
            spec = try constant(node, 1).integers(what: "shape", file: file)
        }
        let dims = x.onnxDims
        let allowZero = int(node, "allowzero", 0) != 0
        var out = [Int](), infer = -1
        for (k, d) in spec.enumerated() {
            if d == 0 && !allowZero {
                guard k < dims.count else { throw error(node, "shape \(spec): 0 at #\(k) copies a dimension the input lacks") }
                out.append(dims[k])
            } else if d == -1 {
                guard infer < 0 else { throw error(node, "shape \(spec) has two -1") }
                infer = k; out.append(1)
            } else {
                guard d > 0 else { throw error(node, "shape \(spec) has a non-positive dimension") }
                out.append(d)
            }
        }
        let total = dims.reduce(1, *)
        if infer >= 0 {
            guard let known = safeProduct(out), known > 0, total % known == 0 else { throw error(node, "shape \(spec) does not fit \(dims)") }
            out[infer] = total / known
        }
        var product = 1
        for d in out {
            let (p, o) = product.multipliedReportingOverflow(by: d)
            product = o ? -1 : p
            if o { break }
        }
        guard product == total else {
            throw error(node, "shape \(spec) does not fit \(dims)")
        }
        try reshape(node, x, to: out)
    }

    mutating func convTranspose(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        let dims = x.onnxDims
        let perm = ints(node, "perm") ?? Array((0..<dims.count).reversed())
        guard perm.sorted() == Array(0..<dims.count) else { throw error(node, "perm \(perm) is not a permutation of \(dims.count) axes") }
        // A layout no-op keeps the order of the dimensions larger than 1.
        let kept = perm.filter { dims[$0] > 1 }
        guard kept == kept.sorted() else {
            throw error(node, "transpose \(perm) of \(dims) moves data (only layout no-ops are supported)")
        }
        try reshape(node, x, to: perm.map { dims[$0] })
    }

    mutating func convIdentity(_ node: Onnx_NodeProto) throws {
        let x = try value(node, 0)
        if node.opType == "Dropout" {
            if node.output.count > 1, !node.output[1].isEmpty, remainingUses[node.output[1], default: 0] > 0 || graphOutputs.contains(node.output[1]) {
                throw error(node, "the dropout mask output is not supported")
            }
            if let t = try optionalConstant(node, 2), t.floats.contains(where: { $0 != 0 }) {
                throw error(node, "training_mode = true is not supported")
            }
        }
        bind(node, 0, x)
        notes.append("\(nodeName(node)): \(node.opType) removed (identity at inference)")
    }

    mutating func convConstant(_ node: Onnx_NodeProto) throws {
        guard let out = node.output.first, !out.isEmpty else { throw error(node, "has no output") }
        if let a = attr(node, "value"), a.hasT {
            consts[out] = try ONNXConstant.decode(a.t, what: "constant '\(out)'", file: file)
        } else if let a = attr(node, "value_float") {
            consts[out] = ONNXConstant(dims: [], floats: [a.f], ints: nil)
        } else if let a = attr(node, "value_floats") {
            consts[out] = ONNXConstant(dims: [a.floats.count], floats: a.floats, ints: nil)
        } else if let a = attr(node, "value_int") {
            consts[out] = ONNXConstant(dims: [], floats: [Float(a.i)], ints: [a.i])
        } else if let a = attr(node, "value_ints") {
            consts[out] = ONNXConstant(dims: [a.ints.count], floats: a.ints.map { Float($0) }, ints: a.ints)
        } else {
            throw error(node, "only tensor, float(s) and int(s) constants are supported")
        }
    }
}
