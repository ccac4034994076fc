import Foundation
import Testing
import TestSupport
import SpikeANN
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeImport

/// The ONNX models trained here (Tests/Fixtures, made by train_fixtures.py).
enum Fixtures {
    struct Entry { var name: String; var dataset: String; var accuracy: Double }
    static func entries() throws -> [Entry] {
        let d = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/fixtures.json"))
        let j = try JSONSerialization.jsonObject(with: d) as! [String: Any]
        let models = j["models"] as! [String: [String: Any]]
        return models.keys.sorted().map { k in
            let m = models[k]!
            return Entry(name: k, dataset: m["dataset"] as! String, accuracy: m["test_accuracy"] as! Double)
        }
    }
    static func dataFolder(_ dataset: String) -> String { TestPaths.sharedData + "/" + (dataset == "fashion" ? "fashion-mnist" : dataset) }
}

@Suite("Trained fixtures")
struct FixtureTests {
    @Test("The ANN executor agrees with onnxruntime on 100 test images of every fixture (max |diff| <= 1e-4)")
    func agreesWithOnnxRuntime() throws {
        let entries = try Fixtures.entries()
        #expect(entries.count >= 2)
        for e in entries {
            let model = try ONNXImporter.load(path: TestPaths.fixtures + "/\(e.name).onnx")
            let f = try DenseForward(model.network)
            let data = try IDXDataset(folder: Fixtures.dataFolder(e.dataset))
            let ref = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/\(e.name).reference.bin"))
                .withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            #expect(ref.count == 1000)
            var worst: Float = 0
            for i in 0..<100 {
                let logits = f.predict(data.image(i))[0]
                for k in 0..<10 { worst = max(worst, abs(logits[k] - ref[i * 10 + k])) }
            }
            print("\(e.name): max |SpikeScale - onnxruntime| over 100 images = \(worst)")
            #expect(worst <= 1e-4, "\(e.name): \(worst)")
        }
    }

    @Test("Converted MNIST CNN (channel-norm, p99.99, direct, membrane) keeps the ANN's accuracy on 300 test images", .tags(.slow))
    func convertedKeepsAccuracy() throws {
        var o = ConversionOptions()
        o.norm = .channel; o.statistic = .percentile(99.99)
        let (annNet, snn, report, test) = try convertedMNISTFixture(o, calibration: 100)
        #expect(report.layers.count == 5)
        let ann = try DenseForward(annNet)
        let inputs = (0..<300).map { test.image($0) }
        let r = try simulateLocally(snn, ranks: 1, config: SimulationConfig(timesteps: 64), inputs: inputs)
        var annOK = 0, snnOK = 0, agree = 0
        for (i, x) in inputs.enumerated() {
            let a = ann.predict(x)[0], s = r.outputs[i][0]
            let pa = a.indices.max { a[$0] < a[$1] }!, ps = s.indices.max { s[$0] < s[$1] }!
            let label = Int(test.labels[i])
            if pa == label { annOK += 1 }
            if ps == label { snnOK += 1 }
            if pa == ps { agree += 1 }
        }
        print("ANN \(annOK)/300, SNN \(snnOK)/300, agreement \(agree)/300")
        #expect(abs(annOK - snnOK) <= 3, "SNN within 1 point of the ANN on 300 images")
        #expect(agree >= 294)
    }
}
