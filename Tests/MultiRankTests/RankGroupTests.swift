import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// Rank groups (`--groups G`): the ranks split into G model partitions that take samples round-robin; every
/// figure must equal a 1-rank run's (DESIGN.md section 5).
@Suite("Rank groups under mpiexec", .serialized, .tags(.mpi))
struct RankGroupTests {
    /// Runs `args` on each (ranks, groups) and compares counters, outputs, detections, rasters, channel rates
    /// and the task metrics with the first run.
    /// `batch`: the --batch of each setup (1 where not given).
    func compare(_ args: [String], _ setups: [(ranks: Int, groups: Int)], label: String, batch: [Int] = []) throws {
        let dir = TestPaths.tempDir("spikescale-groups")
        var base: (RunInvariant, RunResult)?
        for (n, (k, g)) in setups.enumerated() {
            let bs = n < batch.count ? batch[n] : 1
            let out = "\(dir)/\(label)-\(k)-\(g)-\(bs).json"
            let r = try MPIHarness.run(ranks: k, args + ["--groups", "\(g)", "--batch", "\(bs)", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(label) on \(k) ranks, \(g) groups: \(r.stderr)")
            guard r.status == 0 else { return }
            let result = try ResultReader.run(out)
            #expect(result.complete && result.ranks == k && result.timing.count == k && result.groups == (g > 1 ? g : nil))
            let inv = try RunInvariant(json: out)
            guard let (b, bResult) = base else { base = (inv, result); continue }
            #expect(inv == b, "\(label): \(k) ranks in \(g) groups, batch \(bs), differ from \(setups[0])")
            #expect(result.top1 == bResult.top1 && result.detection?.map50 == bResult.detection?.map50)
            #expect(result.layers.map { $0.channelFiringRates ?? [] } == bResult.layers.map { $0.channelFiringRates ?? [] })
            #expect(result.raster?.neurons.map(\.spikeTimes) == bResult.raster?.neurons.map(\.spikeTimes))
            #expect(result.checkpoints?.map(\.top1) == bResult.checkpoints?.map(\.top1))
            #expect(result.spikesPerTimestep == bResult.spikesPerTimestep)
        }
    }

    @Test("MNIST CNN, Bernoulli input, checkpoints and a raster: 1 rank = 2 ranks in 2 groups = 4 ranks in 2 groups = 3 in 3 = batches of 4 on 1 rank and on 2 ranks in 2 groups")
    func mnist() throws {
        try compare(["simulate", "--model", "zoo:mnist-cnn", "--data", TestPaths.sharedData + "/mnist", "--samples", "5", "-T", "8",
                     "--seed", "3", "--encoder", "bernoulli", "--checkpoints", "4", "--raster", "2"],
                    [(1, 1), (2, 2), (4, 2), (3, 3), (1, 1), (2, 2), (2, 1)], label: "mnist", batch: [1, 1, 1, 1, 4, 4, 4])
    }

    @Test("A converted detector with the ANN reference: mAP, fidelity and per-image detections equal with 2 groups", .tags(.slow))
    func detector() throws {
        let dir = TestPaths.tempDir("spikescale-groups")
        let data = TestPaths.sharedData
        let c = try MPIHarness.run(ranks: 1, ["convert", data + "/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg", "--calibration",
                                              data + "/coco8/images/train", "--calibration-count", "2", "--output", "\(dir)/yf.json"])
        #expect(c.status == 0, "\(c.stderr)")
        try compare(["simulate", "--model", "\(dir)/yf.json", "--data", data + "/coco8/images/val", "--samples", "3", "-T", "6",
                     "--checkpoints", "3", "--compare-ann", "--layer-errors"], [(1, 1), (2, 2)], label: "yf")
    }

    @Test("A resumed run with groups completes to the same samples file; a group count that does not divide the ranks is refused")
    func resumeAndRefusal() throws {
        let dir = TestPaths.tempDir("spikescale-groups")
        let args = ["simulate", "--model", "zoo:mnist-cnn", "--data", TestPaths.sharedData + "/mnist", "-T", "6", "--seed", "2",
                    "--encoder", "bernoulli", "--quiet"]
        let one = try MPIHarness.run(ranks: 1, args + ["--samples", "4", "--json", "\(dir)/one.json"])
        #expect(one.status == 0, "\(one.stderr)")
        let first = try MPIHarness.run(ranks: 2, args + ["--samples", "1", "--groups", "2", "--json", "\(dir)/g.json"])
        #expect(first.status == 0, "\(first.stderr)")
        let r = try MPIHarness.run(ranks: 2, args + ["--samples", "4", "--groups", "2", "--resume", "--json", "\(dir)/g.json"])
        #expect(r.status == 0, "\(r.stderr)")
        // Per-channel rates cover the samples an invocation simulated, so compare the samples and the totals.
        #expect(try RunInvariant(json: "\(dir)/g.json").samples == RunInvariant(json: "\(dir)/one.json").samples)
        #expect(try ResultReader.run("\(dir)/g.json").layers.map(\.spikes) == ResultReader.run("\(dir)/one.json").layers.map(\.spikes))
        let bad = try MPIHarness.run(ranks: 3, args + ["--samples", "1", "--groups", "2"])
        #expect(bad.status != 0 && bad.stderr.contains("--groups 2 must divide the number of ranks (3)"), "\(bad.stderr)")
        #expect(bad.stderr.split(separator: "\n").count == 1, "printed once: \(bad.stderr)")
    }

    @Test("A corrupt image in the middle of the data with 2 groups: one error naming the file and sample, earlier samples kept")
    func corruptSample() throws {
        let dir = TestPaths.tempDir("spikescale-groups")
        let data = TestPaths.sharedData
        let images = "\(dir)/images"
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: data + "/coco8/images/val") where f.hasSuffix(".jpg") {
            try FileManager.default.copyItem(atPath: data + "/coco8/images/val/" + f, toPath: "\(images)/\(f)")
        }
        try "not a jpeg".write(toFile: "\(images)/000000000040-bad.jpg", atomically: true, encoding: .utf8)
        let c = try MPIHarness.run(ranks: 1, ["convert", data + "/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg", "--calibration",
                                              data + "/coco8/images/train", "--calibration-count", "1", "--output", "\(dir)/yf.json"])
        #expect(c.status == 0, "\(c.stderr)")
        let r = try MPIHarness.run(ranks: 2, ["simulate", "--model", "\(dir)/yf.json", "--data", images, "--samples", "5", "-T", "2",
                                              "--groups", "2", "--json", "\(dir)/r.json", "--quiet"], timeout: 120)
        #expect(r.status != 0 && r.status != 124 && r.stderr.contains("sample 1") && r.stderr.contains("000000000040-bad.jpg"), "\(r.stderr)")
        #expect(try ResultReader.samples("\(dir)/r.json").map(\.sample) == [0])
    }
}
