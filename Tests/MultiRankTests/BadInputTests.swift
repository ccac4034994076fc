import Foundation
import Testing
import TestSupport

/// Bad input ends every rank with one clear error and a non-zero exit code, never a hang.
@Suite("Bad input under mpiexec", .serialized, .tags(.mpi))
struct BadInputTests {
    func expectClearFailure(_ args: [String], ranks: [Int] = [1, 2, 3], mentions: [String]) throws {
        for k in ranks {
            let r = try MPIHarness.run(ranks: k, args, timeout: 60)
            #expect(r.status != 0 && r.status != 124 && r.status != 137, "\(args) on \(k) ranks: status \(r.status)")
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("spikescale: error") }
            #expect(lines.count == 1, "exactly one error line on \(k) ranks, got: \(r.stderr)")
            for m in mentions { #expect(r.stderr.contains(m), "error on \(k) ranks should mention '\(m)': \(r.stderr)") }
        }
    }

    @Test("Truncated model file")
    func truncatedModel() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let ok1 = try MPIHarness.run(ranks: 1, ["zoo", "mnist-cnn", "--output", "\(dir)/m.json"])
        #expect(ok1.status == 0, "\(ok1.stderr)")
        let bin = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/m.bin"))
        try bin.prefix(1000).write(to: URL(fileURLWithPath: "\(dir)/m.bin"))
        try expectClearFailure(["simulate", "--model", "\(dir)/m.json", "--data", TestPaths.sharedData + "/mnist"],
                               mentions: ["m.bin", "truncated"])
    }

    @Test("Malformed model JSON and shapes that do not line up")
    func malformedModel() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        try "{\"format\": \"spikescale-network\", \"version\": 1, \"name\": ".write(toFile: "\(dir)/x.json", atomically: true, encoding: .utf8)
        try expectClearFailure(["simulate", "--model", "\(dir)/x.json", "--input", "synthetic"], mentions: ["x.json"])
        let ok2 = try MPIHarness.run(ranks: 1, ["zoo", "mnist-cnn", "--output", "\(dir)/s.json"])
        #expect(ok2.status == 0, "\(ok2.stderr)")
        let text = try String(contentsOfFile: "\(dir)/s.json", encoding: .utf8)
        try text.replacingOccurrences(of: "\"outChannels\" : 64", with: "\"outChannels\" : 65").write(toFile: "\(dir)/s.json", atomically: true, encoding: .utf8)
        try expectClearFailure(["simulate", "--model", "\(dir)/s.json", "--input", "synthetic"], ranks: [1, 2], mentions: ["fc1"])
    }

    @Test("Config with a wrong key or a negative T")
    func badConfig() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        try "model: zoo:branchy\ntimestep: 8\n".write(toFile: "\(dir)/c.yaml", atomically: true, encoding: .utf8)
        try expectClearFailure(["simulate", "--config", "\(dir)/c.yaml", "--input", "synthetic"], mentions: ["c.yaml", "unknown key 'timestep'"])
        try "model: zoo:branchy\ntimesteps: -4\n".write(toFile: "\(dir)/n.yaml", atomically: true, encoding: .utf8)
        try expectClearFailure(["simulate", "--config", "\(dir)/n.yaml", "--input", "synthetic"], ranks: [2], mentions: ["timesteps"])
    }

    @Test("Header limits are options: a lowered one refuses the input naming file, limit and option; at the input's size it runs")
    func limitOptions() throws {
        let mnist = TestPaths.sharedData + "/mnist"
        let run = ["simulate", "--model", "zoo:mnist-cnn", "--data", mnist, "-T", "2", "--quiet"]
        try expectClearFailure(run + ["--max-image-pixels", "783"], ranks: [1, 2],
                               mentions: [mnist + "/t10k-images-idx3-ubyte.gz", "28x28", "over the limit of 783", "--max-image-pixels"])
        try expectClearFailure(run + ["--max-layers", "3"], ranks: [2], mentions: ["mnist-cnn", "over the limit of 3", "--max-layers"])
        try expectClearFailure(run + ["--max-tensor-elements", "1000"], ranks: [2], mentions: ["over the limit of 1000", "--max-tensor-elements"])
        let r = try MPIHarness.run(ranks: 2, run + ["--max-image-pixels", "784", "--max-dataset-samples", "10000"])
        #expect(r.status == 0, "\(r.stderr)")
    }

    @Test("More ranks than a layer has rows")
    func tooManyRanks() throws {
        try expectClearFailure(["simulate", "--model", "zoo:branchy", "--input", "synthetic", "-T", "2"], ranks: [5],
                               mentions: ["layer 'pool'", "4 rows"])
    }

    @Test("A results file that exists is not clobbered; --resume completes it")
    func resume() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let args = ["simulate", "--model", "zoo:mnist-cnn", "--data", TestPaths.sharedData + "/mnist", "-T", "4", "--quiet", "--json", "\(dir)/r.json"]
        let ok3 = try MPIHarness.run(ranks: 2, args + ["--samples", "2"])
        #expect(ok3.status == 0, "\(ok3.stderr)")
        try expectClearFailure(args + ["--samples", "3"], ranks: [2], mentions: ["already exists", "--resume"])
        let r = try MPIHarness.run(ranks: 2, args + ["--samples", "3", "--resume"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try ResultReader.samples("\(dir)/r.json").map(\.sample) == [0, 1, 2])
        #expect(try ResultReader.run("\(dir)/r.json").samples == 3)
    }
}
