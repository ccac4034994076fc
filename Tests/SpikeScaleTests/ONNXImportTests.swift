import Foundation
import SpikeANN
import SpikeCore
import SpikeImport
import SwiftProtobuf
import Testing
import TestSupport

/// Bad input, unsupported operators, external data, fuzzing, and the layout rules of the ONNX importer.
@Suite struct ONNXImportTests {
    static let caseModel = TestPaths.sharedData + "/onnx-node-tests/test_conv_with_strides_padding/model.onnx"

    static func tensorInfo(_ name: String, _ dims: [Int64]) -> Onnx_ValueInfoProto {
        var t = Onnx_TypeProto.Tensor()
        t.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.shape.dim = dims.map { d in var x = Onnx_TensorShapeProto.Dimension(); x.dimValue = d; return x }
        var vi = Onnx_ValueInfoProto()
        vi.name = name
        vi.type.tensorType = t
        return vi
    }

    static func floatTensor(_ name: String, _ dims: [Int64], _ v: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name; t.dims = dims
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.floatData = v
        return t
    }

    static func node(_ op: String, _ name: String, _ inputs: [String], _ outputs: [String],
                     ints: [String: [Int64]] = [:]) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        n.opType = op; n.name = name; n.input = inputs; n.output = outputs
        for (k, v) in ints {
            var a = Onnx_AttributeProto()
            a.name = k; a.type = .ints; a.ints = v
            n.attribute.append(a)
        }
        return n
    }

    static func model(_ nodes: [Onnx_NodeProto], input: Onnx_ValueInfoProto, output: String,
                      initializers: [Onnx_TensorProto] = [], opset: Int64 = 13) -> Onnx_ModelProto {
        var m = Onnx_ModelProto()
        m.irVersion = 7
        var o = Onnx_OperatorSetIdProto()
        o.version = opset
        m.opsetImport = [o]
        m.graph.name = "handmade"
        m.graph.node = nodes
        m.graph.input = [input]
        m.graph.initializer = initializers
        var out = Onnx_ValueInfoProto()
        out.name = output
        m.graph.output = [out]
        return m
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch let e as SpikeError { return e.message } catch { return "non-SpikeError: \(error)" }
    }

    @Test func truncatedModelIsOneClearError() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.caseModel))
        for cut in [bytes.count - 1, bytes.count / 2, 7] {
            let m = Self.message { _ = try ONNXImporter.load(data: bytes.prefix(cut), name: "cut.onnx") }
            let msg = try #require(m, "truncated to \(cut) bytes was accepted")
            #expect(msg.hasPrefix("cut.onnx: "), "\(msg)")
        }
        let m = try #require(Self.message { _ = try ONNXImporter.load(data: bytes.prefix(bytes.count - 1), name: "cut.onnx") })
        #expect(m.contains("truncated or corrupt"), "\(m)")
        let missing = try #require(Self.message { _ = try ONNXImporter.load(path: "/nonexistent/model.onnx") })
        #expect(missing.contains("/nonexistent/model.onnx"))
    }

    @Test func garbageIsRejected() throws {
        var rng = ONNXTestRNG(seed: 42)
        for n in [1, 16, 1000] {
            let bytes = Data((0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
            let m = Self.message { _ = try ONNXImporter.load(data: bytes, name: "garbage.onnx") }
            #expect(m?.hasPrefix("garbage.onnx: ") == true, "\(m ?? "accepted")")
        }
        #expect(Self.message { _ = try ONNXImporter.load(data: Data(), name: "empty.onnx") }?.contains("empty.onnx") == true)
    }

    @Test func unsupportedOperatorNamesNodeOpAndOpset() throws {
        let m = Self.model([Self.node("Relu", "r0", ["x"], ["a"]), Self.node("Cos", "cosine_7", ["a"], ["y"])],
                           input: Self.tensorInfo("x", [1, 3, 4, 4]), output: "y", opset: 13)
        let msg = try #require(Self.message { _ = try ONNXImporter.load(data: try m.serializedData(), name: "cos.onnx") })
        #expect(msg.contains("cos.onnx"), "\(msg)")
        #expect(msg.contains("cosine_7"), "\(msg)")
        #expect(msg.contains("Cos"), "\(msg)")
        #expect(msg.contains("opset 13"), "\(msg)")
    }

    @Test func externalDataIsRefused() throws {
        var w = Self.floatTensor("w", [2, 3, 1, 1], [])
        w.dataLocation = .external
        var e = Onnx_StringStringEntryProto()
        e.key = "location"; e.value = "weights.bin"
        w.externalData = [e]
        let m = Self.model([Self.node("Conv", "c", ["x", "w"], ["y"])], input: Self.tensorInfo("x", [1, 3, 4, 4]),
                           output: "y", initializers: [w])
        let msg = try #require(Self.message { _ = try ONNXImporter.load(data: try m.serializedData(), name: "ext.onnx") })
        #expect(msg.contains("external data"), "\(msg)")
        #expect(msg.contains("'w'"), "\(msg)")
    }

    typealias Small = (model: Onnx_ModelProto, wc: [Float], bc: [Float], gamma: [Float], beta: [Float], mean: [Float],
                       varc: [Float], wg: [Float], bg: [Float])
    /// Conv 2→3 (3x3, pad 1) + BatchNormalization + Relu → Flatten → Gemm (transB) on a 1x2x3x3 input.
    static func smallModel() -> Small {
        var rng = ONNXTestRNG(seed: 7)
        func r(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 } }
        let (C, O, H, W, F) = (2, 3, 3, 3, 4)
        let wc = r(O * C * 9), bc = r(O)
        let gamma = r(O), beta = r(O), mean = r(O), varc = r(O).map { abs($0) + 0.5 }
        let wg = r(F * O * H * W), bg = r(F)
        var nodes = [Self.node("Conv", "conv", ["x", "wc", "bc"], ["c"], ints: ["pads": [1, 1, 1, 1], "kernel_shape": [3, 3]]),
                     Self.node("BatchNormalization", "bn", ["c", "g", "b", "m", "v"], ["n"]),
                     Self.node("Relu", "relu", ["n"], ["r"]),
                     Self.node("Flatten", "flat", ["r"], ["f"]),
                     Self.node("Gemm", "fc", ["f", "wg", "bg"], ["y"])]
        var tb = Onnx_AttributeProto(); tb.name = "transB"; tb.type = .int; tb.i = 1
        nodes[4].attribute.append(tb)
        let inits = [Self.floatTensor("wc", [Int64(O), Int64(C), 3, 3], wc), Self.floatTensor("bc", [Int64(O)], bc),
                     Self.floatTensor("g", [Int64(O)], gamma), Self.floatTensor("b", [Int64(O)], beta),
                     Self.floatTensor("m", [Int64(O)], mean), Self.floatTensor("v", [Int64(O)], varc),
                     Self.floatTensor("wg", [Int64(F), Int64(O * H * W)], wg), Self.floatTensor("bg", [Int64(F)], bg)]
        let m = Self.model(nodes, input: Self.tensorInfo("x", [1, Int64(C), Int64(H), Int64(W)]), output: "y", initializers: inits)
        return (m, wc, bc, gamma, beta, mean, varc, wg, bg)
    }

    /// Conv (+ BN folded, + Relu fused) → Flatten → Gemm: the dense rows are permuted from CHW to HWC,
    /// and the result equals a direct NCHW computation.
    @Test func convBatchNormReluFlattenGemm() throws {
        let (m, wc, bc, gamma, beta, mean, varc, wg, bg) = Self.smallModel()
        let (C, O, H, W, F) = (2, 3, 3, 3, 4)
        var rng = ONNXTestRNG(seed: 8)
        func r(_ n: Int) -> [Float] { (0..<n).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 } }
        let imp = try ONNXImporter.load(data: try m.serializedData(), name: "small.onnx")
        let net = imp.network
        #expect(net.layers.map(\.op.name) == ["input", "conv", "flatten", "dense"])
        #expect(net.layers[1].neuron == .integrateAndFire())
        #expect(net.layers[3].neuron == .accumulator)
        // Reference in NCHW.
        let x = r(C * H * W)
        var conv = [Float](repeating: 0, count: O * H * W)
        for o in 0..<O { for y in 0..<H { for xx in 0..<W {
            var s = bc[o]
            for c in 0..<C { for ky in 0..<3 { for kx in 0..<3 {
                let iy = y + ky - 1, ix = xx + kx - 1
                if iy >= 0 && iy < H && ix >= 0 && ix < W { s += wc[((o * C + c) * 3 + ky) * 3 + kx] * x[(c * H + iy) * W + ix] }
            } } }
            let nrm = (s - mean[o]) / (varc[o] + 1e-5).squareRoot() * gamma[o] + beta[o]
            conv[(o * H + y) * W + xx] = max(0, nrm)
        } } }
        var want = bg
        for f in 0..<F { for k in 0..<(O * H * W) { want[f] += wg[f * O * H * W + k] * conv[k] } }
        var xin = [Float](repeating: 0, count: C * H * W)
        for c in 0..<C { for p in 0..<(H * W) { xin[p * C + c] = x[c * H * W + p] } }
        let got = try DenseForward(net).predict(xin)[0]
        for f in 0..<F { #expect(abs(got[f] - want[f]) <= 1e-4 + 1e-4 * abs(want[f]), "\(f): \(got[f]) vs \(want[f])") }
    }

    /// Random bytes and mutations of a real model never crash the importer; what it accepts is a valid
    /// network the ANN reference can run.
    @Test func fuzzNeverCrashes() throws {
        let bases = [[UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.caseModel))),
                     [UInt8](try Self.smallModel().model.serializedData())]
        var rng = ONNXTestRNG(seed: 20240917)
        var accepted = 0
        for it in 0..<300 {
            let base = bases[(it / 4) % 2]
            var b: [UInt8]
            switch it % 4 {
            case 0:
                b = (0..<Int(rng.next() % 400)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                b = base
                for _ in 0..<(1 + Int(rng.next() % 4)) { b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            case 2:
                b = Array(base.prefix(Int(rng.next() % UInt64(base.count + 1))))
            default:
                b = base
                let at = Int(rng.next() % UInt64(b.count))
                b.insert(contentsOf: (0..<(1 + Int(rng.next() % 8))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, at: at)
            }
            if let m = try? ONNXImporter.load(data: Data(b), name: "fuzz.onnx") {
                accepted += 1
                #expect((try? m.network.validate()) != nil)
                if m.network.layers.allSatisfy({ $0.shape.count <= 1 << 16 }) {
                    let f = try DenseForward(m.network)
                    _ = f.run([Float](repeating: 0.5, count: m.network.inputShape.count))
                }
            }
        }
        print("ONNX fuzz: 300 inputs, \(accepted) accepted")
    }
}

/// The tests' seeded generator, under this file's old name.
typealias ONNXTestRNG = SplitMix
