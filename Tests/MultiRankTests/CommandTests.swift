import Foundation
import SpikeAggregate
import SpikeANN
import Testing
import TestSupport

/// The thin commands end to end on the real binary: evaluate (from a config), costs and summarize over
/// the result files it and simulate write.
@Suite("evaluate, costs and summarize on the binary", .serialized, .tags(.mpi))
struct CommandTests {
    @Test("evaluate reads its config, writes an ANN result; costs and summarize tabulate it beside simulate runs")
    func evaluateCostsSummarize() throws {
        let dir = TestPaths.tempDir("spikescale-commands")
        let mnist = TestPaths.sharedData + "/mnist"
        try "model: \(TestPaths.fixtures)/mnist-mlp.onnx\ndata: \(mnist)\nsamples: 200\njson: \(dir)/ann.json\n"
            .write(toFile: "\(dir)/e.yaml", atomically: true, encoding: .utf8)
        let e = try MPIHarness.run(ranks: 1, ["evaluate", "--config", "\(dir)/e.yaml", "--quiet"])
        #expect(e.status == 0, "\(e.stderr)")
        #expect(e.stdout.contains("200 samples") && e.stdout.contains("top-1: "), "\(e.stdout)")
        guard case let .ann(ann) = try ResultFile.load("\(dir)/ann.json") else { Issue.record("not an ANN result"); return }
        #expect(ann.samples == 200 && (ann.top1 ?? 0) > 0.9 && ann.kind == "ann")
        #expect(ann.compute.multiplies == Double(ann.layers.reduce(0) { $0 + $1.macs }))

        for k in [1, 2] {
            let s = try MPIHarness.run(ranks: k, ["simulate", "--model", "zoo:mnist-cnn", "--data", mnist, "--samples", "3", "-T", "8",
                                                  "--json", "\(dir)/snn\(k).json", "--quiet"])
            #expect(s.status == 0, "\(s.stderr)")
        }
        let c = try MPIHarness.run(ranks: 1, ["costs", "ANN=\(dir)/ann.json", "SNN=\(dir)/snn1.json", "Model 6=-",
                                              "--markdown", "\(dir)/costs.md"])
        #expect(c.status == 0, "\(c.stderr)")
        let rows = c.stdout.split(separator: "\n").map(String.init)
        #expect(rows.count == 5 && rows[2].hasPrefix("| ANN | image (ANN) | – |") && rows[3].hasPrefix("| SNN | direct | 8 |"))
        #expect(rows[4] == "| Model 6 | – | – | – | – | – | – | – |")
        #expect(try String(contentsOfFile: "\(dir)/costs.md", encoding: .utf8) == c.stdout)
        let bad = try MPIHarness.run(ranks: 1, ["costs", "X=\(dir)/e.yaml"])
        #expect(bad.status != 0 && bad.stderr.contains("e.yaml"), "\(bad.stderr)")

        let m = try MPIHarness.run(ranks: 1, ["summarize", "--csv", "\(dir)/s.csv", "\(dir)/snn1.json", "\(dir)/snn2.json"])
        #expect(m.status == 0, "\(m.stderr)")
        let csv = try String(contentsOfFile: "\(dir)/s.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 3 && csv[1].contains(",mnist-cnn,1,8,3,true,") && csv[2].contains(",mnist-cnn,2,8,3,true,"))
        #expect(csv[1].split(separator: ",")[8] == "1.0000", "the 1-rank run is the speedup's base")
    }

    @Test("evaluate warns when OpenBLAS runs kernels without AVX2 on an AVX2 machine (OPENBLAS_CORETYPE=Prescott), not with its Haswell kernels")
    func blasFallbackWarning() throws {
        let avx2 = BLASInfo.cpuHasAVX2AndFMA
        let args = [MPIHarness.binary, "evaluate", TestPaths.fixtures + "/mnist-mlp.onnx", "--data", TestPaths.sharedData + "/mnist",
                    "--samples", "20", "--quiet"]
        let slow = try Command.run(args, environment: ["OPENBLAS_CORETYPE": "Prescott"])
        let fast = try Command.run(args, environment: ["OPENBLAS_CORETYPE": "Haswell"])
        #expect(slow.status == 0 && fast.status == 0, "\(slow.stderr)\n\(fast.stderr)")
        #expect(!fast.stderr.contains("warning"), "\(fast.stderr)")
        #expect(slow.stderr.contains("warning: OpenBLAS runs its Prescott kernels on this AVX2 CPU") == avx2, "\(slow.stderr)")
        #expect(slow.stdout.contains("20 samples") && fast.stdout.contains("20 samples"))
    }

    @Test("profile measures per-layer costs; plan --project projects them and sets measured 1- and 2-rank runs beside")
    func profileAndProjection() throws {
        let dir = TestPaths.tempDir("spikescale-commands")
        let mnist = TestPaths.sharedData + "/mnist"
        let common = ["--model", "zoo:mnist-cnn", "--data", mnist, "--samples", "2", "-T", "8"]
        let p = try MPIHarness.run(ranks: 1, ["profile"] + common + ["--output", "\(dir)/p.json"])
        #expect(p.status == 0 && p.stdout.contains("profile of mnist-cnn"), "\(p.stderr)")
        for k in [1, 2] {
            let s = try MPIHarness.run(ranks: k, ["simulate"] + common + ["--json", "\(dir)/r\(k).json", "--quiet"])
            #expect(s.status == 0, "\(s.stderr)")
        }
        let plan = try MPIHarness.run(ranks: 1, ["plan", "zoo:mnist-cnn", "--ranks", "1,2,64", "--project", "--profile", "\(dir)/p.json",
                                                 "--timesteps", "256", "--measured", "\(dir)/r1.json,\(dir)/r2.json"])
        #expect(plan.status == 0, "\(plan.stderr)")
        for text in ["T = 256", "ON PAPER", "Strong scaling", "Weak scaling", "5000 images", "r1.json | 1 | 1 | 8 |", "r2.json | 2 | 1 | 8 |",
                     "64 | not one partition"] {
            #expect(plan.stdout.contains(text), "missing '\(text)' in \(plan.stdout)")
        }
        let noProfile = try MPIHarness.run(ranks: 1, ["plan", "zoo:mnist-cnn", "--ranks", "4", "--project"])
        #expect(noProfile.status != 0 && noProfile.stderr.contains("--profile"), "\(noProfile.stderr)")
        let other = try MPIHarness.run(ranks: 1, ["plan", "zoo:branchy", "--ranks", "2", "--project", "--profile", "\(dir)/p.json"])
        #expect(other.status != 0 && other.stderr.contains("p.json"), "\(other.stderr)")
        let describe = try MPIHarness.run(ranks: 1, ["plan", "zoo:mnist-cnn", "--ranks", "1,2"])
        #expect(describe.status == 0 && describe.stdout.contains("partition over 1 rank(s)") && describe.stdout.contains("partition over 2 rank(s)"),
                "\(describe.stdout)\(describe.stderr)")
    }

    @Test("fit-fs writes the parameter file and the SVG, the same bytes for the same seed")
    func fitFS() throws {
        let dir = TestPaths.tempDir("spikescale-commands")
        for run in ["a", "b"] {
            let r = try MPIHarness.run(ranks: 1, ["fit-fs", "--activation", "silu", "-K", "8", "--range=-4,4", "--restarts", "2",
                                                  "--out", "\(dir)/\(run).json", "--svg", "\(dir)/\(run).svg"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("MSE") && r.stdout.contains("spikes per input"), "\(r.stdout)")
        }
        let a = try String(contentsOfFile: "\(dir)/a.json", encoding: .utf8)
        #expect(a == (try String(contentsOfFile: "\(dir)/b.json", encoding: .utf8)))
        #expect(a.contains("\"kind\" : \"fs-fit\"") && a.contains("\"thresholds\""))
        #expect(try String(contentsOfFile: "\(dir)/a.svg", encoding: .utf8).contains("<svg"))
        let bad = try MPIHarness.run(ranks: 1, ["fit-fs", "--activation", "tanh", "--out", "\(dir)/c.json"])
        #expect(bad.status != 0 && bad.stderr.contains("tanh"), "\(bad.stderr)")
    }

    @Test("Every shipped config expands for every command that takes --config; convert --config writes the config's model")
    func shippedConfigsForEveryCommand() throws {
        let fm = FileManager.default
        let configs = try ["Configs", "Configs/train"].flatMap { d in
            try fm.contentsOfDirectory(atPath: TestPaths.root + "/" + d).filter { $0.hasSuffix(".yaml") }.sorted().map { "\(d)/\($0)" }
        }
        #expect(configs.count >= 12)
        // `--help` after the expansion: the config's keys are checked for every command (their own and, as that
        // command parses them, another's), then help is printed. A command's own required option that the config
        // does not set (profile's --output) is not an error in the config.
        for f in configs {
            for cmd in ["simulate", "convert", "profile", "evaluate", "train", "sweep"] {
                let r = try Command.run([MPIHarness.binary, cmd, "--config", TestPaths.root + "/" + f, "--help"], timeout: 60)
                #expect(r.status == 0 && r.stdout.contains("USAGE: spikescale \(cmd)"), "\(cmd) --config \(f): \(r.stderr)")
            }
        }
        // The config's own conversion, as `Benchmarks/kernels_ab.sh` asks users to make it (one calibration image).
        let dir = TestPaths.tempDir("spikescale-commands")
        let c = try MPIHarness.run(ranks: 1, ["convert", "--config", TestPaths.root + "/Configs/yolo-fastest.yaml",
                                              "--calibration", TestPaths.sharedData + "/coco8/images/train", "--calibration-count", "1",
                                              "--output", "\(dir)/yf.json"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(fm.fileExists(atPath: "\(dir)/yf.json") && fm.fileExists(atPath: "\(dir)/yf.bin") && fm.fileExists(atPath: "\(dir)/yf.report.json"))
        // A bad value of another command's key is still refused, naming the file and the key.
        let bad = TestPaths.root + "/Configs/yolo-fastest.yaml"
        let badCopy = "\(dir)/bad.yaml"
        try (String(contentsOfFile: bad, encoding: .utf8).replacingOccurrences(of: "timesteps: 512", with: "timesteps: many"))
            .write(toFile: badCopy, atomically: true, encoding: .utf8)
        let r = try Command.run([MPIHarness.binary, "convert", "--config", badCopy, "--help"], timeout: 60)
        #expect(r.status != 0 && r.stderr.contains(badCopy) && r.stderr.contains("'timesteps'"), "\(r.stderr)")
    }
}
