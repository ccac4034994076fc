import Foundation
import SpikeCore
import SpikeData
import SpikeImport
import SwiftProtobuf
import Testing
import TestSupport

/// Absurd sizes in valid headers are refused before anything of that size is allocated, naming the file, the
/// field, the limit and the option that raises it (the default limits; the options are tested under mpiexec).
@Suite struct LimitsTests {
    static func message(_ body: () throws -> Void) -> String {
        do { try body(); return "accepted" } catch { return "\(error)" }
    }

    @Test("A 2^31-element ONNX initializer")
    func hugeONNXTensor() throws {
        var t = Onnx_TensorProto()
        t.name = "w"; t.dims = [1 << 16, 1 << 15]
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        let m = ONNXImportTests.model([ONNXImportTests.node("Relu", "r", ["x"], ["y"])],
                                      input: ONNXImportTests.tensorInfo("x", [1, 4]), output: "y", initializers: [t])
        let msg = Self.message { _ = try ONNXImporter.load(data: try m.serializedData(), name: "big.onnx") }
        #expect(msg.contains("big.onnx: initializer 'w'") && msg.contains("is 2147483648, over the limit of 268435456")
                && msg.contains("--max-tensor-elements"), "\(msg)")
    }

    @Test("An IDX header declaring 1e9 samples")
    func hugeIDXHeader() throws {
        let dir = TestPaths.tempDir()
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            let p = dir + "/" + name
            try Data(bytes).write(to: URL(fileURLWithPath: p))
            return p
        }
        let n = 1_000_000_000
        let count: [UInt8] = [UInt8(n >> 24), UInt8(n >> 16 & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n & 0xFF)]
        let images = try write("i", [0, 0, 8, 3] + count + [0, 0, 0, 28, 0, 0, 0, 28])
        let labels = try write("l", [0, 0, 8, 1] + count)
        let msg = Self.message { _ = try IDXDataset(imagesPath: images, labelsPath: labels) }
        #expect(msg.contains("\(images): the sample count in the IDX header is 1000000000, over the limit of 16777216")
                && msg.contains("--max-dataset-samples"), "\(msg)")
    }

    @Test("A Darknet cfg with 100,000 layers")
    func hugeCfg() throws {
        let text = "[net]\nwidth=32\nheight=32\nchannels=1\n" + String(repeating: "[maxpool]\nsize=1\n", count: 100_000)
        let msg = Self.message { _ = try DarknetConfig(text: text, file: "deep.cfg") }
        #expect(msg.contains("deep.cfg:20005: the number of layer sections is 10001, over the limit of 10000")
                && msg.contains("--max-layers"), "\(msg)")
    }

    @Test("A Darknet convolution declaring 2^31 weights")
    func hugeConvolution() throws {
        let text = "[net]\nwidth=64\nheight=64\nchannels=4096\n[convolutional]\nfilters=65536\nsize=3\nactivation=leaky\n"
        let msg = Self.message { _ = try DarknetImporter.build(config: try DarknetConfig(text: text, file: "wide.cfg"), weights: nil) }
        #expect(msg.contains("wide.cfg:6 [convolutional] #0: the weights of a 3x3 convolution from 4096 to 65536 channels is 2415919104")
                && msg.contains("--max-tensor-elements"), "\(msg)")
    }

    @Test("A JPEG header declaring 60000x60000 pixels")
    func hugeJPEG() throws {
        let path = TestPaths.sharedData + "/coco8/images/val/000000000036.jpg"
        var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let sof = try #require((0..<(b.count - 9)).first { b[$0] == 0xFF && (b[$0 + 1] == 0xC0 || b[$0 + 1] == 0xC2) })
        for k in [5, 7] { b[sof + k] = 0xEA; b[sof + k + 1] = 0x60 }
        let msg = Self.message { _ = try JPEG.decode(data: Data(b), name: "big.jpg") }
        #expect(msg.contains("big.jpg: the pixels of the 60000x60000 image in the JPEG header is 3600000000, over the limit of 67108864")
                && msg.contains("--max-image-pixels"), "\(msg)")
    }

    @Test("A native model layer of 2^36 neurons")
    func hugeLayer() throws {
        let msg = Self.message { _ = try NetworkBuilder(name: "n", input: Shape(1 << 16, 1 << 16, 16)).build() }
        #expect(msg.contains("layer 'input'") && msg.contains("larger than 2147483647 neurons"), "\(msg)")
        let wide = Self.message { _ = try NetworkBuilder(name: "n", input: Shape(1 << 14, 1 << 14, 2)).build() }
        #expect(wide.contains("layer 'input': the neurons of shape") && wide.contains("is 536870912, over the limit of 268435456")
                && wide.contains("--max-tensor-elements"), "\(wide)")
    }
}
