import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// The invariant of DESIGN.md section 5 on real MPI processes: per-layer spike counts and decoded
/// outputs are bit-identical on 1, 2, 3 and 4 ranks.
@Suite("Multi-rank runs under mpiexec", .serialized, .tags(.mpi))
struct DeterminismTests {
    static let mnist = TestPaths.sharedData + "/mnist"

    /// Returns the directory of the runs' results (LABEL-K.json).
    @discardableResult
    func compareAcrossRanks(_ args: [String], ranks: [Int] = [1, 2, 3, 4], label: String,
                            extra: (Int) -> [String] = { _ in [] }) throws -> String {
        let dir = TestPaths.tempDir("spikescale-mpi")
        var base: RunInvariant?
        for k in ranks {
            let out = "\(dir)/\(label)-\(k).json"
            let r = try MPIHarness.run(ranks: k, args + extra(k) + ["--json", out, "--quiet"])
            #expect(r.status == 0, "\(label) on \(k) ranks failed: \(r.stderr)")
            guard r.status == 0 else { return dir }
            let result = try ResultReader.run(out)
            #expect(result.complete)
            #expect(result.ranks == k && result.timing.count == k && result.communication.count == k)
            let part = try RunInvariant(json: out)
            if let b = base {
                #expect(part.layers == b.layers, "\(label): per-layer counters differ between 1 and \(k) ranks")
                #expect(part.samples == b.samples, "\(label): decoded outputs differ between 1 and \(k) ranks")
            } else {
                base = part
                #expect(result.layers.reduce(Int64(0)) { $0 + $1.spikes } > 0)
            }
        }
        return dir
    }

    @Test("(a) CNN with conv, pooling and dense layers on real MNIST digits", .tags(.slow))
    func mnistCNN() throws {
        try compareAcrossRanks(["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist,
                                "--samples", "3", "-T", "8", "--seed", "3"], label: "mnist-direct")
        // Bernoulli input and spike-count decoding: the trained fixture converted on every rank with
        // spiking output layers (the zoo network's accumulator outputs have no spikes to count).
        try compareAcrossRanks(["simulate", "--model", TestPaths.fixtures + "/mnist-cnn.onnx",
                                "--calibration", Self.mnist, "--calibration-count", "20", "--output-neurons", "spiking",
                                "--data", Self.mnist,
                                "--samples", "2", "-T", "8", "--seed", "3", "--encoder", "bernoulli", "--decoding", "spikes"],
                               ranks: [1, 3], label: "mnist-bernoulli")
        let refused = try MPIHarness.run(ranks: 1, ["simulate", "--model", "zoo:mnist-cnn", "--data", Self.mnist,
                                                    "--samples", "1", "-T", "4", "--decoding", "spikes", "--quiet"])
        #expect(refused.status != 0 && refused.stderr.contains("'fc2'") && refused.stderr.contains("--output-neurons spiking"), "\(refused.stderr)")
    }

    @Test("(c) few-spike neurons: the MNIST CNN fixture converted with --coding fs on 1, 2 and 3 ranks, 1, 3 and 8 images in flight", .tags(.slow))
    func fewSpike() throws {
        try compareAcrossRanks(["simulate", "--model", TestPaths.fixtures + "/mnist-cnn.onnx", "--calibration", Self.mnist,
                                "--calibration-count", "20", "--coding", "fs", "-K", "6", "--data", Self.mnist, "--samples", "5"],
                               ranks: [1, 2, 3], label: "mnist-fs") { ["--pipeline", ["1", "3", "8"][$0 - 1]] }
    }

    @Test("(d) IF neurons with memory (the default for ReLU layers): the residual CNN fixture on 1, 2, 3 ranks, 2 ranks in batches of 2 and 4 ranks in 2 groups", .tags(.slow))
    func memoryNeurons() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let c = try MPIHarness.run(ranks: 1, ["convert", TestPaths.fixtures + "/mnist-resnet.onnx", "--calibration", Self.mnist,
                                              "--calibration-count", "10", "--output", "\(dir)/res.json"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(try ResultReader.conversionReport("\(dir)/res.report.json").reluNeurons == "memory")
        let model = try String(contentsOfFile: "\(dir)/res.json", encoding: .utf8)
        #expect(model.components(separatedBy: "\"memory\" : true").count - 1 == 6, "six ReLU layers (two convs, two convs in blocks, two adds) get memory")
        let runs = try compareAcrossRanks(["simulate", "--model", "\(dir)/res.json", "--data", Self.mnist, "--samples", "4", "-T", "8"],
                                          label: "memory") { $0 == 2 ? ["--batch", "2"] : $0 == 4 ? ["--groups", "2"] : [] }
        let r = try ResultReader.run("\(runs)/memory-1.json")
        #expect(r.layers.contains { $0.negativeSpikes > 0 && $0.name.contains("conv_a") }, "memory neurons took spikes back")
    }

    @Test("(b) residual add, concat, slice, upsample and signed IBT neurons", .tags(.slow))
    func branchy() throws {
        try compareAcrossRanks(["simulate", "--model", "zoo:branchy", "--input", "synthetic", "--samples", "2", "-T", "8", "--seed", "5"],
                               label: "branchy")
    }

    @Test("A saved model file gives the same result as the zoo network it came from")
    func savedModel() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let z = try MPIHarness.run(ranks: 1, ["zoo", "branchy", "--output", "\(dir)/b.json", "--seed", "5"])
        #expect(z.status == 0, "\(z.stderr)")
        try compareAcrossRanks(["simulate", "--model", "\(dir)/b.json", "--input", "synthetic", "--samples", "1", "-T", "6", "--seed", "5"],
                               ranks: [1, 2], label: "saved")
    }
}

/// The YOLO-scale run: the exact Tiny-YOLOv3 topology at 416x416, leaky layers as IBT neurons,
/// seeded weights scaled to fire at about 10%, T = 16 on 1 and 2 ranks.
@Suite("Tiny-YOLOv3 at 416x416 under mpiexec", .serialized, .tags(.mpi))
struct TinyYOLOTests {
    @Test("T = 16 on 1 and 2 ranks, and on 2 with row bands only: identical counters and head outputs, 5-20% firing, weights held per rank", .tags(.slow))
    func tinyYOLO() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        var results = [RunResult]()
        var runs = [RunInvariant]()
        // The default partition on 1 and 2 ranks, then row bands only (`--partition rows`) on 2, then the default
        // without overlapping the exchange (`--overlap none`) on 2.
        for (k, policy, overlap) in [(1, "auto", "interior"), (2, "auto", "interior"), (2, "rows", "interior"), (2, "auto", "none")] {
            let out = "\(dir)/ty-\(k)-\(policy)-\(overlap).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "zoo:tiny-yolov3", "--input", "synthetic", "-T", "16",
                                                  "--samples", "1", "--seed", "1", "--partition", policy, "--overlap", overlap,
                                                  "--json", out, "--quiet"], timeout: 600)
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            results.append(try ResultReader.run(out))
            runs.append(try RunInvariant(json: out))
        }
        for i in runs.indices.dropFirst() {
            #expect(runs[0].layers == runs[i].layers, "per-layer counters differ between 1 rank and run \(i)")
            #expect(runs[0].samples == runs[i].samples, "head outputs differ between 1 rank and run \(i)")
        }
        let names = results[0].layers.map(\.name)
        #expect(names.filter { $0.hasPrefix("conv") }.count == 13 && names.filter { $0.hasPrefix("maxpool") }.count == 6)
        for l in results[0].layers where l.neuronModel?.hasPrefix("ibt") == true {
            #expect(l.firingRate >= 0.05 && l.firingRate <= 0.2, "\(l.name) fires at \(l.firingRate)")
        }
        for r in results { #expect(r.communication.allSatisfy { $0.peakResidentBytes > 0 }) }
        // One copy of the weights on 1 rank; on 2, each rank holds its share of the layers split by output channels.
        // With row bands only, every rank holds all of them, and the result says which policy ran.
        if results.count == 4 {
            let one = results[0].communication.compactMap(\.weightBytes), two = results[1].communication.compactMap(\.weightBytes)
            let rows = results[2].communication.compactMap(\.weightBytes)
            #expect(one.count == 1 && two.count == 2 && rows.count == 2)
            if one.count == 1 && two.count == 2 && rows.count == 2 {
                #expect(one[0] >= 4 * 8_800_000 && one[0] <= 4 * 8_900_000, "1 rank holds \(one[0]) bytes of weights")
                #expect(two.allSatisfy { $0 < one[0] * 6 / 10 } && two.reduce(0, +) > one[0], "2 ranks hold \(two) of \(one[0])")
                #expect(rows.allSatisfy { $0 == one[0] }, "row bands: 2 ranks hold \(rows) of \(one[0])")
            }
            #expect(results[1].partitionPolicy == nil && results[2].partitionPolicy == "rows")
            #expect(results[1].exchangeOverlap == nil && results[3].exchangeOverlap == "none")
            #expect(results[1].layers.contains { $0.partition.hasPrefix("channels") })
            #expect(!results[2].layers.contains { $0.partition.hasPrefix("channels") })
        }
    }
}

/// A real trained detector end to end through the CLI: Yolo-Fastest 1.1 (depthwise convolutions,
/// shortcuts, grouped routes, upsample, two YOLO heads) converted with channel-norm on COCO8 train
/// images, simulated on a COCO8 val image on 1, 2 and 3 ranks.
@Suite("Converted Yolo-Fastest under mpiexec", .serialized, .tags(.mpi))
struct YoloFastestTests {
    static let data = TestPaths.sharedData
    static let cfg = data + "/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg"

    @Test("convert from Darknet files, then identical head outputs and counters on 1, 2, 3, 4 ranks and with both samples in one batch on 2; burst spikes and layer errors on 1 and 3", .tags(.slow))
    func yoloFastest() throws {
        let dir = TestPaths.tempDir("spikescale-mpi")
        let data = Self.data
        let c = try MPIHarness.run(ranks: 1, ["convert", Self.cfg, "--calibration", "\(data)/coco8/images/train", "--calibration-count", "4",
                                              "--norm", "channel", "--statistic", "p99.99", "--output", "\(dir)/yf.json"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("batch norm folded") && c.stdout.contains("yolo"))
        #expect(try ResultReader.conversionReport("\(dir)/yf.report.json").calibrationData.contains("coco8/images/train"))
        var samples = [[SampleInvariant]]()
        for (k, batch) in [(1, 1), (2, 1), (3, 1), (4, 1), (2, 2)] {
            let out = "\(dir)/yf-\(k)-\(batch).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(dir)/yf.json", "--data", "\(data)/coco8/images/val",
                                                  "--samples", "2", "-T", "6", "--checkpoints", "3", "--batch", "\(batch)", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let d = try #require(try ResultReader.run(out).detection)
            #expect(d.images == 2 && d.groundTruthBoxes == 3, "COCO8 val 000000000036 and 042 have 2 + 1 boxes: \(d)")
            let s = try RunInvariant(json: out).samples
            #expect(s.count == 2 && s.allSatisfy { $0.detections != nil && $0.checkpointCounters != nil })
            samples.append(s)
        }
        #expect(samples.count == 5 && samples.allSatisfy { $0 == samples[0] }, "head outputs differ between rank counts or batch sizes")
        try burstSpikesAndLayerErrors(dir)
    }

    /// Burst spikes (events of value k cross ranks in the exact packet format) and per-layer errors
    /// gathered from every rank.
    func burstSpikesAndLayerErrors(_ dir: String) throws {
        let data = Self.data
        let b = try MPIHarness.run(ranks: 1, ["convert", Self.cfg, "--calibration", "\(data)/coco8/images/train", "--calibration-count", "4",
                                              "--burst", "2", "--output", "\(dir)/yfb.json"])
        #expect(b.status == 0, "\(b.stderr)")
        var runs = [(samples: [SampleInvariant], errors: [LayerErrorInvariant])]()
        for k in [1, 3] {
            let out = "\(dir)/yfb-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(dir)/yfb.json", "--data", "\(data)/coco8/images/val",
                                                  "--samples", "1", "-T", "6", "--layer-errors", "--compare-ann", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let errors = try #require(try ResultReader.run(out).layerErrors)
            #expect(errors.count > 80, "one row per spiking layer and max-pool")
            runs.append((try RunInvariant(json: out).samples, errors.map(LayerErrorInvariant.init)))
        }
        #expect(runs.count == 2 && runs[0].samples == runs[1].samples && runs[0].errors == runs[1].errors)
    }
}
