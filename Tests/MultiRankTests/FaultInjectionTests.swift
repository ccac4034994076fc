import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// Faults injected into real jobs under mpiexec: a rank killed mid-run, a corrupt sample, a full or read-only
/// output disk, a resume of another run. Each ends in one clear error or a clean recovery; nothing finished
/// is lost and no partial result passes for a complete one.
@Suite("Fault injection under mpiexec", .serialized, .tags(.mpi))
struct FaultInjectionTests {
    static let mnist = TestPaths.sharedData + "/mnist"

    /// Waits until `path` has at least `lines` newline-terminated lines (the job must still be running).
    func waitForLines(_ path: String, _ lines: Int, job: Process) throws {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && job.isRunning {
            let n = (FileManager.default.contents(atPath: path) ?? Data()).reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            if n >= lines { return }
            Thread.sleep(forTimeInterval: 0.01)
        }
        throw CommandError("\(path) did not reach \(lines) lines while the job ran")
    }

    /// SIGKILLs one rank of the running job whose command line has `marker`; returns how long the job took to end
    /// and its exit status, and checks that no process of it is left behind.
    func killOneRank(_ job: Process, marker: String) throws -> (seconds: Double, status: Int32) {
        let ranks = try MPIHarness.rankPIDs(marker: marker)
        #expect(ranks.count == 2, "rank processes of the job: \(ranks)")
        let victim = try #require(ranks.max())
        let start = Date()
        kill(victim, SIGKILL)
        job.waitUntilExit()
        let seconds = Date().timeIntervalSince(start)
        print("fault injection: rank \(victim) of the job writing \(marker) SIGKILLed; the job ended after \(String(format: "%.2f", seconds)) s with status \(job.terminationStatus)")
        #expect(try MPIHarness.jobPIDs(marker: marker).isEmpty, "processes left behind after the job ended")
        return (seconds, job.terminationStatus)
    }

    @Test("simulate: a rank SIGKILLed mid-run ends the job within 5 s, keeps finished samples intact, and --resume ends identical")
    func killedRankInSimulate() throws {
        let dir = TestPaths.tempDir("spikescale-fault")
        let args = ["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist, "--samples", "400", "-T", "24", "--seed", "5",
                    "--encoder", "bernoulli", "--quiet"]
        let base = try MPIHarness.run(ranks: 2, args + ["--json", "\(dir)/base.json"])
        #expect(base.status == 0, "\(base.stderr)")
        let json = "\(dir)/killed.json"
        let job = try MPIHarness.start(ranks: 2, args + ["--json", json], log: "\(dir)/killed.log")
        try waitForLines(json + ".samples.jsonl", 4, job: job)
        let (seconds, status) = try killOneRank(job, marker: json)
        #expect(status != 0 && seconds < 5, "exit status \(status) after \(seconds) s")
        #expect(!FileManager.default.fileExists(atPath: json), "a killed run left a result file")
        let kept = try ResultWriter.readSamples(json + ".samples.jsonl")
        let all = try ResultReader.samples("\(dir)/base.json")
        #expect(kept.count >= 3 && kept.count < 400, "\(kept.count) samples kept")
        #expect(kept.map(SampleInvariant.init) == all.prefix(kept.count).map(SampleInvariant.init), "a kept sample differs")
        let resumed = try MPIHarness.run(ranks: 2, args + ["--json", json, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try ResultReader.samples(json).map(SampleInvariant.init) == all.map(SampleInvariant.init))
        let (a, b) = (try ResultReader.run(json), try ResultReader.run("\(dir)/base.json"))
        #expect(a.complete && a.samples == 400 && a.top1 == b.top1 && a.spikes == b.spikes && a.synapticOps == b.synapticOps)
        #expect(a.layers.map { [$0.spikes, $0.synapticOps, $0.neuronUpdates] } == b.layers.map { [$0.spikes, $0.synapticOps, $0.neuronUpdates] })
    }

    @Test("sweep: a rank SIGKILLed mid-sweep ends the job within 5 s; --resume gives the uninterrupted sweep's table")
    func killedRankInSweep() throws {
        let dir = TestPaths.tempDir("spikescale-fault")
        let args = ["sweep", "--model", "zoo:mnist-cnn", "--data", Self.mnist, "--samples", "300", "--sweep-timesteps", "8,16",
                    "--sweep-encoder", "direct,bernoulli", "--quiet"]
        let base = try MPIHarness.run(ranks: 2, args + ["--output", "\(dir)/base"])
        #expect(base.status == 0, "\(base.stderr)")
        let out = "\(dir)/killed"
        let job = try MPIHarness.start(ranks: 2, args + ["--output", out], log: "\(dir)/killed.log")
        // Kill during the second point (bernoulli), after some of its samples.
        try waitForLines("\(out)/points/bernoulli-membrane-T16.json.samples.jsonl", 4, job: job)
        let (seconds, status) = try killOneRank(job, marker: out)
        #expect(status != 0 && seconds < 5, "exit status \(status) after \(seconds) s")
        let partial = try ResultReader.sweep("\(out)/sweep.json")
        #expect(!partial.complete && partial.rows.count == 2, "the interrupted sweep.json: \(partial.rows.count) rows")
        let resumed = try MPIHarness.run(ranks: 2, args + ["--output", out, "--resume"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(try String(contentsOfFile: "\(out)/sweep.csv", encoding: .utf8)
                == String(contentsOfFile: "\(dir)/base/sweep.csv", encoding: .utf8))
        #expect(try ResultReader.sweep("\(out)/sweep.json").complete)
    }

    /// The epoch lines of a training result or checkpoint without their timings (which differ between runs).
    static func epochs(_ history: Any?) -> [[String: Double]] {
        ((history as? [[String: Any]]) ?? []).map { h in
            h.filter { $0.key != "seconds" }.compactMapValues { ($0 as? NSNumber)?.doubleValue }
        }
    }

    static func json(_ path: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any], "\(path) is not a JSON object")
    }

    @Test("train: a rank SIGKILLed after a checkpoint ends the job within 5 s, the checkpoint is whole, and --resume ends with the uninterrupted run's weights bit for bit")
    func killedRankInTrain() throws {
        let dir = TestPaths.tempDir("spikescale-fault")
        let epochs = 8
        let args = ["train", "--data", Self.mnist, "--train-limit", "384", "--test-limit", "64", "--architecture", "48fc",
                    "--timesteps", "4", "--batch-size", "32", "--chunk-size", "8", "--epochs", "\(epochs)", "--learning-rate", "0.005",
                    "--encoding", "bernoulli", "--quiet"]
        for d in ["base", "killed"] { try FileManager.default.createDirectory(atPath: "\(dir)/\(d)", withIntermediateDirectories: true) }
        let base = try MPIHarness.run(ranks: 2, args + ["--json", "\(dir)/base/r.json", "--model", "\(dir)/base/m"], timeout: 180)
        #expect(base.status == 0, "\(base.stderr)")
        guard base.status == 0 else { return }
        let json = "\(dir)/killed/r.json", checkpoint = json + ".checkpoint"
        let job = try MPIHarness.start(ranks: 2, args + ["--json", json, "--model", "\(dir)/killed/m"], log: "\(dir)/killed.log", timeout: 180)
        // Kill once a checkpoint exists, while epochs remain (each epoch adds a line to the epochs log after its checkpoint).
        try waitForLines(json + ".epochs.jsonl", 2, job: job)
        let (seconds, status) = try killOneRank(job, marker: json)
        let log = (try? String(contentsOfFile: "\(dir)/killed.log", encoding: .utf8)) ?? ""
        #expect(status != 0 && seconds < 5, "exit status \(status) after \(seconds) s: \(log)")
        #expect(!FileManager.default.fileExists(atPath: json), "a killed run left a result file")
        #expect(!FileManager.default.fileExists(atPath: "\(dir)/killed/m.json"), "a killed run left a model")
        // The last checkpoint is whole: a readable checkpoint of a finished epoch, whose history is the uninterrupted run's.
        let c = try Self.json(checkpoint)
        let done = try #require(c["epoch"] as? Int)
        #expect(c["format"] as? String == "spikescale-training-checkpoint" && done >= 2 && done < epochs, "checkpoint after epoch \(done) of \(epochs)")
        let full = try Self.json("\(dir)/base/r.json")
        #expect(Self.epochs(c["history"]) == Array(Self.epochs(full["history"]).prefix(done)), "the checkpoint's history differs from the uninterrupted run's")
        let resumed = try MPIHarness.run(ranks: 2, args + ["--json", json, "--model", "\(dir)/killed/m", "--resume"], timeout: 180)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        guard resumed.status == 0 else { return }
        #expect(resumed.stdout.contains("resumed from \(checkpoint) after epoch \(done)"), "\(resumed.stdout)")
        for f in ["m.bin", "m.json"] {
            let a = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/killed/\(f)")), b = try Data(contentsOf: URL(fileURLWithPath: "\(dir)/base/\(f)"))
            #expect(a == b, "\(f) after --resume differs from the uninterrupted run's")
        }
        let r = try Self.json(json)
        #expect(Self.epochs(r["history"]) == Self.epochs(full["history"]) && Self.epochs(r["history"]).count == epochs)
        #expect(r["testAccuracy"] as? Double == full["testAccuracy"] as? Double)
    }
}

/// Faults in the data and on the output disk, and resumes of another run.
@Suite("Bad data and bad disks under mpiexec", .serialized, .tags(.mpi))
struct DataAndDiskFaultTests {
    static let mnist = TestPaths.sharedData + "/mnist"

    /// A folder of 6 real JPEGs (COCO8) in name order, the fourth (sample 3) cut in half.
    func jpegFolder() throws -> (folder: String, bad: String) {
        let dir = TestPaths.tempDir("spikescale-fault") + "/images"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let coco = TestPaths.sharedData + "/coco8/images"
        let files = try ["train", "val"].flatMap { s in
            try FileManager.default.contentsOfDirectory(atPath: "\(coco)/\(s)").sorted().map { "\(coco)/\(s)/\($0)" }
        }.prefix(6)
        for (i, f) in files.enumerated() {
            let d = try Data(contentsOf: URL(fileURLWithPath: f))
            try (i == 3 ? d.prefix(d.count / 2) : d).write(to: URL(fileURLWithPath: "\(dir)/img\(i).jpg"))
        }
        return (dir, "\(dir)/img3.jpg")
    }

    @Test("A corrupt sample mid-set stops the run naming file and sample, keeping the samples before it; --skip-bad-samples goes on and reports it")
    func corruptSample() throws {
        let (folder, bad) = try jpegFolder()
        let out = TestPaths.tempDir("spikescale-fault")
        let args = ["simulate", "--model", "zoo:tiny-yolov3", "--input-size", "32", "--data", folder, "--samples", "6", "-T", "2", "--quiet"]
        for (ranks, groups) in [(1, 1), (2, 2)] {
            let json = "\(out)/stop-\(ranks).json"
            let r = try MPIHarness.run(ranks: ranks, args + ["--groups", "\(groups)", "--json", json])
            let errors = r.stderr.split(separator: "\n").filter { $0.contains("spikescale: error") }
            #expect(r.status == 1 && errors.count == 1 && errors[0].contains("sample 3: \(bad)"), "\(r.stderr)")
            #expect(try ResultReader.samples(json).map(\.sample) == [0, 1, 2])
            #expect(!FileManager.default.fileExists(atPath: json))
            let skipJSON = "\(out)/skip-\(ranks).json"
            let s = try MPIHarness.run(ranks: ranks, args + ["--groups", "\(groups)", "--json", skipJSON, "--skip-bad-samples"])
            #expect(s.status == 0 && s.stdout.contains("skipped sample 3: sample 3: \(bad)"), "\(s.stderr)")
            let result = try ResultReader.run(skipJSON)
            #expect(result.complete && result.samples == 5 && result.skippedSamples?.map(\.sample) == [3])
            #expect(result.skippedSamples?.first?.reason.contains(bad) == true)
            #expect(try ResultReader.samples(skipJSON).map(\.sample) == [0, 1, 2, 4, 5])
        }
    }

    /// Mounts a tmpfs of `kilobytes` at a fresh folder (read-only if asked), runs `body` on it and unmounts it.
    /// CI runs as root; elsewhere the test fails saying so rather than passing unchecked.
    func withTmpfs(kilobytes: Int, readOnly: Bool = false, _ body: (String) throws -> Void) throws {
        try #require(getuid() == 0, "mounting a tmpfs needs root (CI runs as root)")
        let dir = TestPaths.tempDir("spikescale-tmpfs")
        try Command.output(["mount", "-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", dir])
        defer { _ = try? Command.output(["umount", dir]) }
        if readOnly { try Command.output(["mount", "-o", "remount,ro", dir]) }
        try body(dir)
    }

    @Test("A full output disk: one clear error naming the file; the samples written are whole and no result file passes for complete")
    func fullDisk() throws {
        let args = ["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist, "-T", "4", "--quiet"]
        // Room for the header and a few samples, not for 40.
        try withTmpfs(kilobytes: 8) { dir in
            let r = try MPIHarness.run(ranks: 2, args + ["--samples", "40", "--json", "\(dir)/r.json"])
            #expect(r.status == 1 && r.stderr.contains("\(dir)/r.json.samples.jsonl: cannot append sample")
                    && r.stderr.contains("enough space"), "status \(r.status), stdout \(r.stdout.suffix(2000)), stderr \(r.stderr)")
            let kept = try ResultWriter.readSamples("\(dir)/r.json.samples.jsonl")
            #expect(kept.count >= 1 && kept.count < 40 && kept.map(\.sample) == Array(0..<kept.count))
            #expect(!FileManager.default.fileExists(atPath: "\(dir)/r.json"))
        }
        // Room for every sample (about 1 kB), not for the result JSON (about 100 kB with a raster of 200 neurons per layer).
        try withTmpfs(kilobytes: 8) { dir in
            let r = try MPIHarness.run(ranks: 2, args + ["--samples", "2", "--raster", "200", "--json", "\(dir)/r.json"])
            #expect(r.status == 1 && r.stderr.contains("\(dir)/r.json: cannot write") && r.stderr.contains("kept in"),
                    "status \(r.status), stdout \(r.stdout.suffix(2000)), stderr \(r.stderr), files \((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []), mounts \((try? Command.output(["findmnt", "-n", dir])) ?? "none")")
            #expect(try ResultWriter.readSamples("\(dir)/r.json.samples.jsonl").map(\.sample) == [0, 1])
            let left = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(left == ["r.json.samples.jsonl"], "files left: \(left)")
        }
    }

    @Test("A read-only output folder: one clear error naming the file before any sample is simulated")
    func readOnlyDisk() throws {
        try withTmpfs(kilobytes: 64, readOnly: true) { dir in
            for cmd in [["simulate", "--json", "\(dir)/r.json"], ["sweep", "--sweep-timesteps", "2", "--output", "\(dir)/s"]] {
                let r = try MPIHarness.run(ranks: 2, cmd + ["--model", "zoo:mnist-cnn", "--data", Self.mnist, "--samples", "2", "-T", "2", "--quiet"])
                let errors = r.stderr.split(separator: "\n").filter { $0.contains("spikescale: error") }
                #expect(r.status == 1 && errors.count == 1 && errors[0].contains(dir)
                    && ["read only", "read-only"].contains(where: errors[0].lowercased().contains), "\(r.stderr)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir).isEmpty)
        }
    }

    @Test("--resume of another run is refused naming the field: model, T, seed, data; the samples file is left as it was")
    func mismatchedResume() throws {
        let dir = TestPaths.tempDir("spikescale-fault")
        let ok1 = try MPIHarness.run(ranks: 1, ["zoo", "mnist-cnn", "--output", "\(dir)/m.json"])
        #expect(ok1.status == 0, "\(ok1.stderr)")
        let json = "\(dir)/r.json"
        let run = ["--json", json, "--samples", "3", "--encoder", "bernoulli", "--quiet", "--resume"]
        let first = try MPIHarness.run(ranks: 2, ["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist, "-T", "4", "--seed", "1",
                                                  "--json", json, "--samples", "2", "--encoder", "bernoulli", "--quiet"])
        #expect(first.status == 0, "\(first.stderr)")
        let before = try Data(contentsOf: URL(fileURLWithPath: json + ".samples.jsonl"))
        let fashion = TestPaths.sharedData + "/fashion-mnist"
        for (args, field) in [(["--model", "\(dir)/m.json", "--data", Self.mnist, "-T", "4", "--seed", "1"], "model"),
                              (["--model", "zoo:mnist-cnn", "--target-rate", "0.2", "--data", Self.mnist, "-T", "4", "--seed", "1"], "network"),
                              (["--model", "zoo:mnist-cnn", "--data", Self.mnist, "-T", "6", "--seed", "1"], "timesteps"),
                              (["--model", "zoo:mnist-cnn", "--data", Self.mnist, "-T", "4", "--seed", "2"], "seed"),
                              (["--model", "zoo:mnist-cnn", "--data", fashion, "-T", "4", "--seed", "1"], "data")] {
            let r = try MPIHarness.run(ranks: 2, ["simulate"] + args + run)
            #expect(r.status == 1 && r.stderr.contains("\(json).samples.jsonl: cannot resume another run: ")
                    && r.stderr.contains("field '\(field)' is"), "\(field): \(r.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: json + ".samples.jsonl")) == before)
        let ok = try MPIHarness.run(ranks: 2, ["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist, "-T", "4", "--seed", "1"] + run)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try ResultReader.samples(json).map(\.sample) == [0, 1, 2])
    }
}
