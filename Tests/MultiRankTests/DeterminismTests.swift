import Foundation
import Testing

/// The invariant of DESIGN.md section 5 on real MPI processes: per-layer spike counts and decoded
/// outputs are bit-identical on 1, 2, 3 and 4 ranks.
@Suite("Multi-rank runs under mpiexec", .serialized)
struct DeterminismTests {
    /// The fields that must not depend on the rank count, per layer and per sample.
    func invariantPart(_ json: String) throws -> (layers: [[String]], samples: [String]) {
        let r = try MPIHarness.json(json)
        #expect(r["complete"] as? Bool == true)
        let layers = (r["layers"] as! [[String: Any]]).map { l in
            ["name", "spikes", "positiveSpikes", "negativeSpikes", "synapticOps", "analogMacs", "neuronUpdates"].map { "\(l[$0]!)" }
                + ["\(l["channelFiringRates"] ?? "-")"]
        }
        let samples = try MPIHarness.samples(json).map { s -> String in
            // outputs are printed with full float precision by JSONEncoder, so string equality is bit equality.
            let o = try JSONSerialization.data(withJSONObject: [s["outputs"]!, s["layers"]!, s["busiestStepSpikes"]!, s["detections"] ?? "-",
                                                                s["checkpointCounters"] ?? "-"], options: [.sortedKeys])
            return String(decoding: o, as: UTF8.self)
        }
        return (layers, samples)
    }

    func compareAcrossRanks(_ args: [String], ranks: [Int] = [1, 2, 3, 4], label: String) throws {
        let dir = MPIHarness.tempDir()
        var base: (layers: [[String]], samples: [String])?
        for k in ranks {
            let out = "\(dir)/\(label)-\(k).json"
            let r = try MPIHarness.run(ranks: k, args + ["--json", out, "--quiet"])
            #expect(r.status == 0, "\(label) on \(k) ranks failed: \(r.stderr)")
            guard r.status == 0 else { return }
            let part = try invariantPart(out)
            let result = try MPIHarness.json(out)
            #expect(result["ranks"] as? Int == k)
            #expect((result["timing"] as! [Any]).count == k && (result["communication"] as! [Any]).count == k)
            if let b = base {
                #expect(part.layers == b.layers, "\(label): per-layer counters differ between 1 and \(k) ranks")
                #expect(part.samples == b.samples, "\(label): decoded outputs differ between 1 and \(k) ranks")
            } else {
                base = part
                let spikes = part.layers.reduce(0) { $0 + (Int($1[1]) ?? 0) }
                #expect(spikes > 0)
            }
        }
    }

    @Test("(a) CNN with conv, pooling and dense layers on real MNIST digits")
    func mnistCNN() throws {
        try compareAcrossRanks(["simulate", "--model", "zoo:mnist-cnn", "--data", MPIHarness.sharedData + "/mnist",
                                "--samples", "3", "-T", "8", "--seed", "3"], label: "mnist-direct")
        // Bernoulli input and spike-count decoding: the trained fixture converted on every rank with
        // spiking output layers (the zoo network's accumulator outputs have no spikes to count).
        try compareAcrossRanks(["simulate", "--model", MPIHarness.root.path + "/Tests/Fixtures/mnist-cnn.onnx",
                                "--calibration", MPIHarness.sharedData + "/mnist", "--calibration-count", "20", "--output-neurons", "spiking",
                                "--data", MPIHarness.sharedData + "/mnist",
                                "--samples", "2", "-T", "8", "--seed", "3", "--encoder", "bernoulli", "--decoding", "spikes"],
                               ranks: [1, 3], label: "mnist-bernoulli")
        let refused = try MPIHarness.run(ranks: 1, ["simulate", "--model", "zoo:mnist-cnn", "--data", MPIHarness.sharedData + "/mnist",
                                                    "--samples", "1", "-T", "4", "--decoding", "spikes", "--quiet"])
        #expect(refused.status != 0 && refused.stderr.contains("'fc2'") && refused.stderr.contains("--output-neurons spiking"), "\(refused.stderr)")
    }

    @Test("(b) residual add, concat, slice, upsample and signed IBT neurons")
    func branchy() throws {
        try compareAcrossRanks(["simulate", "--model", "zoo:branchy", "--input", "synthetic", "--samples", "2", "-T", "8", "--seed", "5"],
                               label: "branchy")
    }

    @Test("A saved model file gives the same result as the zoo network it came from")
    func savedModel() throws {
        let dir = MPIHarness.tempDir()
        let z = try MPIHarness.run(ranks: 1, ["zoo", "branchy", "--output", "\(dir)/b.json", "--seed", "5"])
        #expect(z.status == 0, "\(z.stderr)")
        try compareAcrossRanks(["simulate", "--model", "\(dir)/b.json", "--input", "synthetic", "--samples", "1", "-T", "6", "--seed", "5"],
                               ranks: [1, 2], label: "saved")
    }
}

/// The YOLO-scale run: the exact Tiny-YOLOv3 topology at 416x416, leaky layers as IBT neurons,
/// seeded weights scaled to fire at about 10%, T = 16 on 1 and 2 ranks.
@Suite("Tiny-YOLOv3 at 416x416 under mpiexec", .serialized)
struct TinyYOLOTests {
    @Test("T = 16 on 1 and 2 ranks: identical counters and head outputs, 5-20% firing, peak memory reported")
    func tinyYOLO() throws {
        let dir = MPIHarness.tempDir()
        var results = [[String: Any]]()
        var samples = [String]()
        for k in [1, 2] {
            let out = "\(dir)/ty-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "zoo:tiny-yolov3", "--input", "synthetic", "-T", "16",
                                                  "--samples", "1", "--seed", "1", "--json", out, "--quiet"], timeout: 600)
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            results.append(try MPIHarness.json(out))
            let s = try MPIHarness.samples(out)[0]
            samples.append(String(decoding: try JSONSerialization.data(withJSONObject: [s["outputs"]!, s["layers"]!], options: [.sortedKeys]), as: UTF8.self))
        }
        let layers = results.map { ($0["layers"] as! [[String: Any]]).map { "\($0["name"]!) \($0["spikes"]!) \($0["synapticOps"]!) \($0["analogMacs"]!)" } }
        #expect(layers[0] == layers[1], "per-layer counters differ between 1 and 2 ranks")
        #expect(samples[0] == samples[1], "head outputs differ between 1 and 2 ranks")
        let names = (results[0]["layers"] as! [[String: Any]]).map { $0["name"] as! String }
        #expect(names.filter { $0.hasPrefix("conv") }.count == 13 && names.filter { $0.hasPrefix("maxpool") }.count == 6)
        for l in results[0]["layers"] as! [[String: Any]] where (l["neuronModel"] as? String)?.hasPrefix("ibt") == true {
            let rate = l["firingRate"] as! Double
            #expect(rate >= 0.05 && rate <= 0.2, "\(l["name"]!) fires at \(rate)")
        }
        for r in results {
            let comm = r["communication"] as! [[String: Any]]
            #expect(comm.allSatisfy { ($0["peakResidentBytes"] as! Int) > 0 })
        }
    }
}

/// A real trained detector end to end through the CLI: Yolo-Fastest 1.1 (depthwise convolutions,
/// shortcuts, grouped routes, upsample, two YOLO heads) converted with channel-norm on COCO8 train
/// images, simulated on a COCO8 val image on 1, 2 and 3 ranks.
@Suite("Converted Yolo-Fastest under mpiexec", .serialized)
struct YoloFastestTests {
    @Test("convert from Darknet files, then identical head outputs and counters on 1, 2, 3, 4 ranks; burst spikes and layer errors on 1 and 3")
    func yoloFastest() throws {
        let dir = MPIHarness.tempDir()
        let data = MPIHarness.sharedData
        let c = try MPIHarness.run(ranks: 1, ["convert", "\(data)/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg",
                                              "--calibration", "\(data)/coco8/images/train", "--calibration-count", "4",
                                              "--norm", "channel", "--statistic", "p99.99", "--output", "\(dir)/yf.json"])
        #expect(c.status == 0, "\(c.stderr)")
        #expect(c.stdout.contains("batch norm folded") && c.stdout.contains("yolo"))
        let report = try MPIHarness.json("\(dir)/yf.report.json")
        #expect((report["calibrationData"] as? String)?.contains("coco8/images/train") == true)
        var samples = [String]()
        for k in [1, 2, 3, 4] {
            let out = "\(dir)/yf-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(dir)/yf.json", "--data", "\(data)/coco8/images/val",
                                                  "--samples", "2", "-T", "6", "--checkpoints", "3", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let d = try #require(try MPIHarness.json(out)["detection"] as? [String: Any])
            #expect(d["images"] as? Int == 2 && d["groundTruthBoxes"] as? Int == 3, "COCO8 val 000000000036 and 042 have 2 + 1 boxes: \(d)")
            for s in try MPIHarness.samples(out) {
                samples.append(String(decoding: try JSONSerialization.data(withJSONObject: [s["outputs"]!, s["layers"]!, s["detections"]!,
                                                                                             s["checkpointCounters"]!], options: [.sortedKeys]), as: UTF8.self))
            }
        }
        #expect(samples.count == 8 && samples[0...1] == samples[2...3] && samples[0...1] == samples[4...5] && samples[0...1] == samples[6...7])
        // Burst spikes (events of value k cross ranks in the exact packet format) and per-layer errors
        // gathered from every rank.
        let b = try MPIHarness.run(ranks: 1, ["convert", "\(data)/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg",
                                              "--calibration", "\(data)/coco8/images/train", "--calibration-count", "4",
                                              "--burst", "2", "--output", "\(dir)/yfb.json"])
        #expect(b.status == 0, "\(b.stderr)")
        var burst = [String]()
        for k in [1, 3] {
            let out = "\(dir)/yfb-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(dir)/yfb.json", "--data", "\(data)/coco8/images/val",
                                                  "--samples", "1", "-T", "6", "--layer-errors", "--compare-ann", "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let result = try MPIHarness.json(out)
            let errors = try #require(result["layerErrors"] as? [[String: Any]])
            #expect(errors.count > 80, "one row per spiking layer and max-pool")
            for s in try MPIHarness.samples(out) {
                burst.append(String(decoding: try JSONSerialization.data(withJSONObject: [s["outputs"]!, s["layers"]!, errors], options: [.sortedKeys]),
                                    as: UTF8.self))
            }
        }
        #expect(burst.count == 2 && burst[0] == burst[1])
    }
}
