import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// `spikescale train` under mpiexec: data-parallel training on 1 and 2 ranks ends with identical
/// weights, and the exported model runs in `simulate` with the trainer's test accuracy.
@Suite("Training under mpiexec", .serialized, .tags(.mpi))
struct TrainMPITests {
    static let mnist = TestPaths.sharedData + "/mnist"

    @Test("One epoch on 128 MNIST images: 1 and 2 ranks write byte-identical models; simulate on 2 ranks gives the trainer's accuracy")
    func oneVersusTwoRanks() throws {
        let dir = TestPaths.tempDir("spikescale-train")
        let common = ["train", "--data", Self.mnist, "--train-limit", "128", "--test-limit", "40", "--architecture", "4c3-ap2-8c3-ap2-16fc",
                      "--timesteps", "3", "--batch-size", "32", "--chunk-size", "8", "--epochs", "1", "--learning-rate", "0.01", "--quiet"]
        var accuracy: [Double] = []
        for k in [1, 2] {
            let r = try MPIHarness.run(ranks: k, common + ["--model", "\(dir)/m\(k)", "--json", "\(dir)/r\(k).json"], timeout: 120)
            #expect(r.status == 0, "train on \(k) rank(s) failed: \(r.stderr)")
            guard r.status == 0 else { return }
            let j = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: "\(dir)/r\(k).json"))) as! [String: Any]
            #expect(j["kind"] as? String == "training" && j["ranks"] as? Int == k)
            accuracy.append(try #require(j["testAccuracy"] as? Double))
            let lines = try String(contentsOfFile: "\(dir)/r\(k).json.epochs.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(lines.count == 1)
        }
        let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m1.bin")), b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m2.bin"))
        #expect(a == b, "the weights after one epoch differ between 1 and 2 ranks")
        #expect(accuracy[0] == accuracy[1])
        // The training results through the report machinery: loss and accuracy against the epoch as SVG.
        let rep = try MPIHarness.run(ranks: 1, ["report", "\(dir)/r1.json", "\(dir)/r2.json", "--output", "\(dir)/report"], timeout: 60)
        #expect(rep.status == 0, "report failed: \(rep.stderr)")
        for f in ["r1-loss.svg", "r1-accuracy.svg", "r2-accuracy.svg", "training-test-accuracy.svg", "report.html"] {
            let text = (try? String(contentsOfFile: "\(dir)/report/\(f)", encoding: .utf8)) ?? ""
            #expect(text.contains(f.hasSuffix(".svg") ? "<svg" : "Training: r1"), "report: \(f) missing or empty")
        }
        let s = try MPIHarness.run(ranks: 2, ["simulate", "--model", "\(dir)/m2.json", "--data", Self.mnist, "--samples", "40",
                                              "-T", "3", "--encoder", "direct", "--json", "\(dir)/sim.json", "--quiet"], timeout: 120)
        #expect(s.status == 0, "simulate failed: \(s.stderr)")
        guard s.status == 0 else { return }
        let run = try ResultReader.run("\(dir)/sim.json")
        #expect(run.top1 == accuracy[0], "simulate top-1 \(String(describing: run.top1)) vs the trainer's \(accuracy[0])")
    }
}
