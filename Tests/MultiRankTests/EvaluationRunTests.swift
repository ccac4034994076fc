import Foundation
import Testing
import TestSupport

/// The evaluation commands under mpiexec: results must not depend on the number of ranks.
@Suite("Evaluation runs under mpiexec", .serialized, .tags(.mpi))
struct EvaluationRunTests {
    @Test("N-MNIST: a converted intensity CNN fed raw event frames, 1 and 2 ranks identical")
    func eventFrames() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let data = TestPaths.sharedData + "/nmnist-small"
        let c = try MPIHarness.run(ranks: 1, ["convert", "\(TestPaths.fixtures)/nmnist-model5-cnn.onnx", "--calibration", data,
                                              "--calibration-count", "20", "--output", "\(dir)/nm5.json"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(try !ResultReader.conversionReport("\(dir)/nm5.report.json").calibrationData.isEmpty)
        var runs = [RunInvariant]()
        for k in [1, 2] {
            let out = "\(dir)/ev-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(dir)/nm5.json", "--data", data, "--encoder", "events",
                                                  "--bin-ms", "30", "-T", "10", "--samples", "3", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let s = try ResultReader.samples(out)
            #expect(s.count == 3 && s.allSatisfy { $0.label != nil })
            runs.append(try RunInvariant(json: out))
            if k == 1 {
                let result = try ResultReader.run(out)
                #expect(result.layers[0].spikes > 1000, "event frames must reach the input layer: \(result.layers[0])")
                #expect(result.analogMacs == 0, "event input is binary: no MACs")
            }
        }
        #expect(runs.count == 2 && runs[0] == runs[1])
        // Frames of another T than the run's are refused with the reason.
        let bad = try MPIHarness.run(ranks: 1, ["simulate", "--model", "\(dir)/nm5.json", "--data", data, "--encoder", "bernoulli",
                                                "--representation", "frames", "-T", "10", "--samples", "1", "--quiet"])
        #expect(bad.status != 0 && bad.stderr.contains("--encoder events"), "\(bad.stderr)")
    }

    @Test("A T x threshold sweep gives the same table on 1 and 2 ranks and resumes without recomputing", .tags(.slow))
    func sweep() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let mnist = TestPaths.sharedData + "/mnist"
        let config = """
        model: \(TestPaths.fixtures)/mnist-cnn.onnx
        data: \(mnist)
        samples: 4
        calibration: \(mnist)
        calibrationCount: 20
        sweep:
          timesteps: [4, 8]
          thresholdScale: [1, 1.5]
          encoder: [bernoulli]
        """
        try config.write(toFile: "\(dir)/s.yaml", atomically: true, encoding: .utf8)
        var tables = [String]()
        for k in [1, 2] {
            let r = try MPIHarness.run(ranks: k, ["sweep", "--config", "\(dir)/s.yaml", "--output", "\(dir)/out\(k)", "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let csv = try String(contentsOfFile: "\(dir)/out\(k)/sweep.csv", encoding: .utf8)
            tables.append(csv)
            let j = try ResultReader.sweep("\(dir)/out\(k)/sweep.json")
            #expect(j.complete && j.rows.count == 4)
        }
        #expect(tables[0] == tables[1], "sweep tables differ between 1 and 2 ranks")
        #expect(tables[0].split(separator: "\n").count == 5)
        // An existing sweep is not clobbered; --resume keeps every finished point.
        let again = try MPIHarness.run(ranks: 1, ["sweep", "--config", "\(dir)/s.yaml", "--output", "\(dir)/out1", "--quiet"])
        #expect(again.status != 0 && again.stderr.contains("--resume"), "\(again.stderr)")
        let resumed = try MPIHarness.run(ranks: 1, ["sweep", "--config", "\(dir)/s.yaml", "--output", "\(dir)/out1", "--resume", "--quiet"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try String(contentsOfFile: "\(dir)/out1/sweep.csv", encoding: .utf8) == tables[0])
    }

    @Test("Bad sweep configs: an unknown nested key, a negative T, a T within the burn-in: one clear error each")
    func badConfigs() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        for (text, needle) in [("sweep:\n  thresholds: [1]\n", "unknown key 'sweep.thresholds'"),
                               ("sweep:\n  timesteps: [8, -2]\n", "sweep.timesteps"),
                               ("energy:\n  macPicojoules: 3\n  acPicojoules: -1\n", "energy.acPicojoules")] {
            try ("model: zoo:mnist-cnn\ninput: synthetic\n" + text).write(toFile: "\(dir)/b.yaml", atomically: true, encoding: .utf8)
            let r = try MPIHarness.run(ranks: 1, ["simulate", "--config", "\(dir)/b.yaml"])
            #expect(r.status != 0 && r.stderr.contains("b.yaml") && r.stderr.contains(needle), "\(needle): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count <= 2, "one error, not a cascade: \(r.stderr)")
        }
        // A sweep T that the config's burn-in leaves nothing to decode from is refused, not dropped.
        try "model: zoo:mnist-cnn\ndata: \(TestPaths.sharedData)/mnist\nburnIn: 6\nsweep:\n  timesteps: [4, 8]\n".write(toFile: "\(dir)/c.yaml", atomically: true, encoding: .utf8)
        let r = try MPIHarness.run(ranks: 1, ["sweep", "--config", "\(dir)/c.yaml", "--output", "\(dir)/cout", "--quiet"])
        #expect(r.status != 0 && r.stderr.contains("timesteps 4") && r.stderr.contains("burnIn 6"), "\(r.stderr)")
    }
}
