import Foundation
import SpikeANN
import SpikeCore
import SpikeImport
import SwiftProtobuf
import Testing
import TestSupport

/// ONNX's own operator conformance cases (`../shared/data/onnx-node-tests`) run through the importer
/// and the ANN reference (`DenseForward`).
///
/// Per case: if every operator of the model is one the importer claims and the case is representable,
/// the graph inputs other than the data inputs (weights, bias, clip bounds, shapes, ...) become
/// initializers (they are graph inputs in these cases), the model is imported, the data input
/// TensorProtos are mapped to the network's per-sample HWC input, `DenseForward` runs, and every graph
/// output is compared with `output_N.pb` at |got − want| ≤ 1e-4 + 1e-4·|want|.
///
/// Layout mapping (the importer's): `[N, C, H, W]` → N samples of HWC `(H, W, C)`; rank-3 `[C, H, W]`
/// → one sample `(H, W, C)`; `[N, F]` → N samples `(1, 1, F)`; `[F]` → `(1, 1, F)`. Several data inputs
/// (Add, Mul, Concat) are concatenated on channels, as the importer does. An output that is a flatten
/// of a spatial tensor is compared after reordering ONNX's CHW order into the network's HWC order.
///
/// Cases with batch N > 1 are not counted as passed (one network input is one sample); they are still
/// run sample by sample as an extra check, and a mismatch there fails the test as well.
@Suite struct ONNXConformanceTests {
    static let root = TestPaths.sharedData + "/onnx-node-tests"

    /// Operators the importer claims.
    static let claimed: Set<String> = [
        "Conv", "Gemm", "MatMul", "BatchNormalization", "Relu", "LeakyRelu", "Clip", "Sigmoid", "HardSwish",
        "Mul", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Concat", "Split",
        "Slice", "Resize", "Upsample", "Flatten", "Reshape", "Transpose", "Dropout", "Identity", "Softmax",
    ]
    /// Operators whose graph inputs are all data (network) inputs; for the others only the first is.
    static let multiInput: Set<String> = ["Add", "Mul", "Concat"]

    /// Cases of claimed operators whose tensors a per-sample HWC network cannot express.
    static let notRepresentable: [String: String] = [
        "test_add_bcast": "y [5] broadcasts along W, not along channels",
        "test_averagepool_2d_ceil_last_window_starts_on_pad": "ceil_mode with count_include_pad = 1 changes the output size (refused by the importer)",
        "test_concat_2d_axis_0": "concatenation on the batch axis",
        "test_concat_2d_axis_negative_2": "concatenation on the batch axis",
        "test_dropout_default_mask": "second output is the boolean dropout mask",
        "test_dropout_default_mask_ratio": "second output is the boolean dropout mask",
        "test_flatten_axis0": "flatten at axis 0 merges the batch of 2",
        "test_flatten_negative_axis4": "flatten at axis 0 merges the batch of 2",
        "test_flatten_axis2": "flatten at axis 2 splits a sample's [C, H, W]",
        "test_flatten_axis3": "flatten at axis 3 splits a sample's [C, H, W]",
        "test_flatten_negative_axis1": "flatten at axis 3 splits a sample's [C, H, W]",
        "test_flatten_negative_axis2": "flatten at axis 2 splits a sample's [C, H, W]",
        "test_gemm_all_attributes": "transA = 1 transposes the input across the batch",
        "test_gemm_transposeA": "transA = 1 transposes the input across the batch",
        "test_gemm_default_matrix_bias": "C [3, 4] gives every sample its own bias",
        "test_mul": "element-wise product of two tensors (only x * Sigmoid(x) and constant scales are supported)",
        "test_mul_bcast": "element-wise product of two tensors, broadcast along W",
        "test_mul_example": "element-wise product of two tensors (only x * Sigmoid(x) and constant scales are supported)",
        "test_reshape_allowzero_reordered": "zero-size tensor",
        "test_reshape_extended_dims": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_reshape_negative_dim": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_reshape_reduced_dims": "reshape [2,3,4] → [2,12] splits the sample into a batch of 2",
        "test_reshape_reordered_all_dims": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_reshape_reordered_last_dims": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_reshape_zero_and_negative_dim": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_reshape_zero_dim": "reshape moves data between C, H and W (not a flatten or no-op)",
        "test_resize_upsample_scales_nearest": "scales 2 (H) and 3 (W) differ; upsample needs one integer factor",
        "test_resize_upsample_scales_nearest_axes_2_3": "scales 2 (H) and 3 (W) differ; upsample needs one integer factor",
        "test_resize_upsample_scales_nearest_axes_3_2": "scales 2 (H) and 3 (W) differ; upsample needs one integer factor",
        "test_slice": "slices axes 0 and 1 of [20, 10, 5] with step 3 (C and H)",
        "test_slice_default_axes": "slices axis 2 (W) of [20, 10, 5]",
        "test_slice_default_steps": "slices axis 2 (W) of [20, 10, 5]",
        "test_slice_end_out_of_bounds": "slices axis 1 (H) of [20, 10, 5]",
        "test_slice_neg": "slices axis 1 (H) of [20, 10, 5]",
        "test_slice_neg_steps": "negative steps on H and W",
        "test_slice_negative_axes": "slices axis 2 (W) of [20, 10, 5]",
        "test_slice_start_out_of_bounds": "empty slice of axis 1 (H)",
        "test_softmax_axis_1": "softmax over H of [C, H, W]",
        "test_softmax_axis_2": "softmax over W of [C, H, W]",
        "test_transpose_default": "transpose [2,3,4] → [4,3,2] moves data",
    ]

    static let absTol: Float = 1e-4, relTol: Float = 1e-4

    struct Tensor { var dims: [Int]; var values: [Float] }

    static func readTensor(_ path: String) throws -> Onnx_TensorProto {
        try Onnx_TensorProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func floats(_ t: Onnx_TensorProto) -> [Float]? {
        guard t.dataType == Int32(Onnx_TensorProto.DataType.float.rawValue) else { return nil }
        if t.hasRawData {
            let raw = [UInt8](t.rawData)
            return stride(from: 0, to: raw.count - 3, by: 4).map { i in
                Float(bitPattern: UInt32(raw[i]) | UInt32(raw[i + 1]) << 8 | UInt32(raw[i + 2]) << 16 | UInt32(raw[i + 3]) << 24)
            }
        }
        return t.floatData
    }

    /// Splits an ONNX tensor into per-sample HWC arrays (plus their (H, W, C)), by the mapping above.
    static func samples(_ dims: [Int], _ v: [Float]) -> [(h: Int, w: Int, c: Int, data: [Float])]? {
        switch dims.count {
        case 4:
            let (n, c, h, w) = (dims[0], dims[1], dims[2], dims[3])
            return (0..<n).map { s in
                var o = [Float](repeating: 0, count: c * h * w)
                for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                    o[(y * w + x) * c + ch] = v[((s * c + ch) * h + y) * w + x]
                } } }
                return (h, w, c, o)
            }
        case 3:
            let (c, h, w) = (dims[0], dims[1], dims[2])
            return samples([1, c, h, w], v)
        case 2:
            let (n, f) = (dims[0], dims[1])
            return (0..<n).map { s in (1, 1, f, Array(v[(s * f)..<((s + 1) * f)])) }
        case 1:
            return [(1, 1, dims[0], v)]
        default:
            return nil
        }
    }

    enum Outcome { case passed(batch: Int), skipped(String), failed(String) }

    static func runCase(_ dir: String) -> Outcome {
        do {
            var model = try Onnx_ModelProto(serializedBytes: try Data(contentsOf: URL(fileURLWithPath: dir + "/model.onnx")))
            let ops = Set(model.graph.node.map(\.opType))
            if let bad = ops.subtracting(claimed).sorted().first { return .skipped("operator \(bad) not claimed") }
            let name = (dir as NSString).lastPathComponent
            if let r = notRepresentable[name] { return .skipped("not representable: \(r)") }
            let multi = !ops.isDisjoint(with: multiInput)
            let set = dir + "/test_data_set_0"
            var dataInputs = [Tensor]()
            for (k, gi) in model.graph.input.enumerated() {
                var t = try readTensor(set + "/input_\(k).pb")
                if k == 0 || multi {
                    guard let v = floats(t) else { return .skipped("not representable: non-float input '\(gi.name)'") }
                    guard (1...4).contains(t.dims.count) else { return .skipped("not representable: rank-\(t.dims.count) input") }
                    dataInputs.append(Tensor(dims: t.dims.map { Int($0) }, values: v))
                } else {
                    t.name = gi.name
                    model.graph.initializer.append(t)
                }
            }
            let imported = try ONNXImporter.load(data: try model.serializedData(), name: name)
            let net = imported.network
            // Inputs per sample, concatenated on channels.
            let perInput = dataInputs.compactMap { samples($0.dims, $0.values) }
            guard perInput.count == dataInputs.count, let n = perInput.first?.count,
                  perInput.allSatisfy({ $0.count == n }) else { return .failed("inputs disagree in batch") }
            var inputs = [[Float]]()
            for s in 0..<n {
                let parts = perInput.map { $0[s] }
                let h = parts[0].h, w = parts[0].w, C = parts.reduce(0) { $0 + $1.c }
                var x = [Float](repeating: 0, count: h * w * C)
                var off = 0
                for p in parts {
                    for q in 0..<(h * w) { for c in 0..<p.c { x[q * C + off + c] = p.data[q * p.c + c] } }
                    off += p.c
                }
                guard x.count == net.inputShape.count else {
                    return .failed("input has \(x.count) values per sample, the network expects \(net.inputShape)")
                }
                inputs.append(x)
            }
            let fwd = try DenseForward(net)
            let results = inputs.map { fwd.predict($0) }
            guard net.outputs.count == model.graph.output.count else { return .failed("output count differs") }
            for k in 0..<net.outputs.count {
                let t = try readTensor(set + "/output_\(k).pb")
                guard let want = floats(t), let wantSamples = samples(t.dims.map { Int($0) }, want) else {
                    return .failed("output \(k) is not a float tensor of rank 1...4")
                }
                guard wantSamples.count == n else { return .failed("output \(k) has \(wantSamples.count) samples, input \(n)") }
                let layer = net.layers[net.outputs[k]]
                for s in 0..<n {
                    var expect = wantSamples[s].data
                    if case .flatten = layer.op {
                        // ONNX flattens in CHW order, the network in HWC order.
                        let src = net.layers[layer.inputs[0]].shape
                        let hw = src.height * src.width
                        var r = [Float](repeating: 0, count: expect.count)
                        for c in 0..<src.channels { for p in 0..<hw { r[p * src.channels + c] = expect[c * hw + p] } }
                        expect = r
                    }
                    let got = results[s][k]
                    guard got.count == expect.count else {
                        return .failed("output \(k): \(got.count) values, expected \(expect.count) (layer shape \(layer.shape))")
                    }
                    for j in 0..<got.count where !(abs(got[j] - expect[j]) <= absTol + relTol * abs(expect[j])) {
                        return .failed("output \(k) sample \(s) element \(j): got \(got[j]), expected \(expect[j])")
                    }
                }
            }
            return .passed(batch: n)
        } catch {
            return .failed("\(error)")
        }
    }

    @Test func nodeConformance() throws {
        let cases = try FileManager.default.contentsOfDirectory(atPath: Self.root).filter { $0.hasPrefix("test_") }.sorted()
        #expect(!cases.isEmpty, "no cases in \(Self.root)")
        var passed = [String](), batchPassed = [String](), skipped = [String](), failed = [String]()
        for c in cases {
            switch Self.runCase(Self.root + "/" + c) {
            case .passed(let n) where n == 1: passed.append(c)
            case .passed(let n): batchPassed.append("\(c) (not representable: batch \(n) > 1; run sample by sample, matched)")
            case .skipped(let why): skipped.append("\(c): \(why)")
            case .failed(let why): failed.append("\(c): \(why)")
            }
        }
        print("ONNX conformance (tolerance \(Self.absTol) abs + \(Self.relTol) rel), \(cases.count) cases")
        print("ran and passed (\(passed.count)):\n  " + passed.joined(separator: "\n  "))
        print("batch > 1, not counted (\(batchPassed.count)):\n  " + batchPassed.joined(separator: "\n  "))
        print("skipped (\(skipped.count)):\n  " + skipped.joined(separator: "\n  "))
        print("FAILED (\(failed.count)):\n  " + failed.joined(separator: "\n  "))
        #expect(failed.isEmpty, "cases of claimed operators that do not match: \(failed)")
        #expect(passed.count >= 40, "only \(passed.count) cases ran and passed; expected at least 40")
    }
}
