import Foundation
import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeANN
import SpikeData
import SpikeImport
import SpikeMetrics
import SpikeAggregate
import SpikeRun

@Suite("YOLO-layout detection labels")
struct YOLOLabelTests {
    @Test("A label line with 4 fields is one clear error naming file and line")
    func fourFields() {
        #expect(throws: SpikeError.self) { try YOLOLabels.parse("0 0.5 0.5 0.2 0.2\n3 0.1 0.2 0.3\n", name: "a.txt") }
        do { _ = try YOLOLabels.parse("0 0.5 0.5 0.2 0.2\n3 0.1 0.2 0.3\n", name: "a.txt"); Issue.record("no error") } catch let e as SpikeError {
            #expect(e.message.hasPrefix("a.txt:2: expected 5 fields"), "\(e.message)")
            #expect(e.message.contains("got 4"))
        } catch { Issue.record("\(error)") }
    }

    @Test("Bad values are refused with the field named; blank lines and missing files are empty")
    func values() throws {
        for (text, needle) in [("x 0.5 0.5 0.1 0.1", "class 'x'"), ("1 1.5 0.5 0.1 0.1", "cx = 1.5"), ("1 0.5 nan 0.1 0.1", "cy 'nan'"),
                               ("1 0.5 0.5 0 0.1", "positive"), ("-1 0.5 0.5 0.1 0.1", "class '-1'"), ("90 0.5 0.5 0.1 0.1", "80 classes")] {
            do { _ = try YOLOLabels.parse(text, name: "l.txt", classes: 80); Issue.record("accepted \(text)") } catch let e as SpikeError {
                #expect(e.message.contains(needle), "\(e.message)")
            }
        }
        #expect(try YOLOLabels.parse("\n  \n1 0.5 0.5 0.25 0.125\n", name: "ok") == [YOLOLabel(classID: 1, cx: 0.5, cy: 0.5, w: 0.25, h: 0.125)])
        #expect(try YOLOLabels.read(path: "/nonexistent/labels/x.txt").isEmpty)
        #expect(YOLOLabels.labelPath(forImage: "/d/coco8/images/val/a.jpg") == "/d/coco8/labels/val/a.txt")
    }

    @Test("COCO8 val: 4 images, 17 boxes in image pixels, through DataSource")
    func coco8() throws {
        let src = try DataSource.open(TestPaths.sharedData + "/coco8", split: nil, expecting: Shape(320, 320, 3), classes: 80)
        #expect(src is DetectionFolderSource)
        #expect(src.count == 4)
        var boxes = 0
        for i in 0..<src.count {
            let s = try src.load(i)
            #expect(s.input.count == 320 * 320 * 3)
            boxes += s.boxes?.count ?? 0
            let w = Float(s.imageWidth!), h = Float(s.imageHeight!)
            let labels = try YOLOLabels.read(path: YOLOLabels.labelPath(forImage: s.name!)!)
            for (b, l) in zip(s.boxes!, labels) {
                #expect(b.image == i && b.classID == l.classID)
                #expect(b.box.x == l.cx * w && b.box.h == l.h * h)
            }
        }
        #expect(boxes == 17)
        // The same folder given as images/val finds the labels beside it.
        #expect(try DataSource.open(TestPaths.sharedData + "/coco8/images/val", split: nil, expecting: Shape(320, 320, 3)) is DetectionFolderSource)
        // Splits joined: train then val, 8 images and 30 boxes (the held-out set of the Yolo-Fastest study).
        let all = try DataSource.open(TestPaths.sharedData + "/coco8", split: "train+val", expecting: Shape(320, 320, 3), classes: 80)
        #expect(all.count == 8)
        #expect(try (0..<8).reduce(0) { $0 + (try all.load($1).boxes?.count ?? 0) } == 30)
        #expect(try all.load(4).name == src.load(0).name)
        #expect { _ = try DataSource.open(TestPaths.sharedData + "/coco8", split: "train+test", expecting: Shape(320, 320, 3)) } throws: {
            "\($0)".contains("'test'") && "\($0)".contains("images/test")
        }
    }

    @Test("A file that is not a JPEG is one clear error naming it")
    func notJPEG() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("notjpeg-\(getpid())/images/val")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent().deletingLastPathComponent()) }
        try Data("this is text, not an image".utf8).write(to: dir.appendingPathComponent("fake.jpg"))
        let src = try DataSource.open(dir.deletingLastPathComponent().deletingLastPathComponent().path, split: nil, expecting: Shape(32, 32, 3))
        do { _ = try src.load(0); Issue.record("decoded a text file") } catch let e as SpikeError {
            #expect(e.message.contains("fake.jpg"), "\(e.message)")
        }
    }
}

@Suite("Detection scoring of a run")
struct DetectionScoringTests {
    @Test("Identical SNN and ANN outputs: fidelity 1, head error 0, same mAP as the ANN; shifted heads at a checkpoint: error 0.5")
    func identical() throws {
        let imported = try ANNSource.load(TestPaths.sharedData + "/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg")
        let net = imported.network
        #expect(net.heads.count == 2)
        let src = try DataSource.open(TestPaths.sharedData + "/coco8", split: nil, expecting: net.inputShape, classes: 80)
        let ann = try DenseForward(net)
        let eval = try ANNEvaluation.run(network: net, modelPath: "yolo-fastest", source: src, first: 0, count: src.count, progress: false)
        var scoring = try #require(DetectionScoring(network: net, checkpoints: 2))
        for i in 0..<src.count {
            let s = try src.load(i)
            let o = ann.predict(s.input)
            // Checkpoint 2: every head value off by 0.5 (head error 0.5 exactly).
            _ = scoring.add(image: i, sample: s, snnOutputs: o, checkpointOutputs: [o, o.map { $0.map { $0 + 0.5 } }], annOutputs: o)
        }
        let d = scoring.summary()
        #expect(d.fidelityMap50 == 1)
        #expect(d.headMAE == 0)
        #expect(d.map50 == d.annMap50 && d.map50 == eval.detection?.map50)
        #expect(scoring.checkpointMaps.first! == d.map50)
        #expect(scoring.checkpointFidelity.first! == 1 && scoring.checkpointHeadMAE.first! == 0)
        #expect(abs(scoring.checkpointHeadMAE.last!! - 0.5) < 1e-6)
        #expect(scoring.checkpointFidelity.last!! < 1)
        #expect((d.map50 ?? 0) > 0.3, "yolo-fastest mAP@0.5 on COCO8 val: \(d.map50 ?? -1)")
        #expect(d.groundTruthBoxes == 17)
    }
}

@Suite("Encoders, checkpoint counters, channel rates and rasters")
struct EvaluationEngineTests {
    static func network() throws -> Network {
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        return try RateCalibration.scaleToRate(try ModelZooNetworks.mnist(), samples: (100..<104).map { data.image($0) }, targetRate: 0.1)
    }

    @Test("Direct current: input neuron fires floor(x·t) times by step t; rank-invariant")
    func current() throws {
        var b = NetworkBuilder(name: "pass", input: Shape(1, 1, 4))
        try b.add("out", .dense(outFeatures: 4), neuron: .accumulator, weights: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], bias: [0, 0, 0, 0])
        let net = try b.build()
        let x: [Float] = [0, 0.25, 0.5, 1]
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 8, encoder: .current), inputs: [x])
        // Accumulator output = mean input current = spikes / T.
        #expect(r.outputs[0][0] == [0, 0.25, 0.5, 1])
        #expect(r.counters[0][0].positiveSpikes == 0 + 2 + 4 + 8)
        #expect(r.counters[0][1].macs == 0 && r.counters[0][1].synapticOps == 14 * 4, "each spike reaches all 4 outputs of the dense layer")
        let net2 = try Self.network()
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let inputs = (0..<2).map { data.image($0) }
        let one = try simulateLocally(net2, ranks: 1, config: SimulationConfig(timesteps: 10, encoder: .current), inputs: inputs)
        let three = try simulateLocally(net2, ranks: 3, config: SimulationConfig(timesteps: 10, encoder: .current), inputs: inputs)
        #expect(one.counters == three.counters)
        #expect(bits(one.outputs[1]) == bits(three.outputs[1]))
    }

    @Test("Event frames: frame t spikes at step t; wrong frame count is refused; rank-invariant")
    func events() throws {
        let split = try NMNISTSplit(folder: TestPaths.sharedData + "/nmnist-small", list: "test100.txt")
        let T = 12
        let frames = EventBinning.frames(try split.events(0), binMicroseconds: 10_000, timesteps: T)
        var b = NetworkBuilder(name: "events", input: Shape(34, 34, 2))
        var g = WeightInit(seed: 3)
        try b.add("c", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 8, groups: 1), neuron: .integrateAndFire(threshold: 1),
                  weights: g.he(count: 9 * 2 * 8, fanIn: 18), bias: [Float](repeating: 0, count: 8))
        try b.add("f", .flatten)
        try b.add("o", .dense(outFeatures: 10), neuron: .accumulator, weights: g.he(count: 17 * 17 * 8 * 10, fanIn: 2312), bias: [Float](repeating: 0, count: 10))
        let net = try b.build()
        let input = frames.flatMap { $0 }
        let cfg = SimulationConfig(timesteps: T, encoder: .events)
        let one = try simulateLocally(net, ranks: 1, config: cfg, inputs: [input])
        let events = frames.reduce(0) { $0 + $1.filter { $0 != 0 }.count }
        #expect(one.counters[0][0].positiveSpikes == Int64(events) && events > 100)
        for t in 0..<T { #expect(one.steps[0][t] >= Int64(frames[t].filter { $0 != 0 }.count)) }
        let two = try simulateLocally(net, ranks: 2, config: cfg, inputs: [input])
        #expect(one.counters == two.counters && bits(one.outputs[0]) == bits(two.outputs[0]))
        #expect(throws: SpikeError.self) { _ = try simulateLocally(net, ranks: 1, config: cfg, inputs: [frames[0]]) }
    }

    @Test("Checkpoint counters equal a shorter run's; channel rates and rasters agree on 1 and 2 ranks")
    func coordinator() throws {
        let net = try Self.network()
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let src = IDXSourceView(data: data)
        func run(_ ranks: Int, T: Int, checkpoints: [Int]) throws -> RunResult {
            var cfg = SimulationConfig(timesteps: T, seed: 4, encoder: .bernoulli)
            cfg.checkpoints = checkpoints; cfg.rasterNeurons = 6
            let config = cfg
            let results = try LocalGroup(size: ranks).run { t -> RunResultBox in
                var o = RunOptions(modelPath: "zoo", samples: 3); o.progress = false
                let c = try Coordinator(network: net, transport: t, config: config, options: o)
                return RunResultBox(try c.run(source: t.rank == 0 ? src : nil))
            }
            return results[0].value!
        }
        let long = try run(1, T: 12, checkpoints: [5])
        let short = try run(1, T: 5, checkpoints: [])
        let cp = try #require(long.checkpoints?.first)
        #expect(cp.timesteps == 5)
        #expect(cp.spikesPerSample == Double(short.spikes) / 3)
        #expect(cp.synapticOpsPerSample == Double(short.synapticOps) / 3)
        #expect(cp.top1 == short.top1)
        let two = try run(2, T: 12, checkpoints: [5])
        for (a, b) in zip(long.layers, two.layers) {
            #expect(a.channelFiringRates == b.channelFiringRates)
            if let r = a.channelFiringRates, !r.isEmpty {
                // The mean of the channel rates is the layer rate.
                #expect(abs(r.reduce(0, +) / Double(r.count) - a.firingRate) < 1e-12)
            }
        }
        let r1 = try #require(long.raster), r2 = try #require(two.raster)
        #expect(r1.neurons.map(\.spikeTimes) == r2.neurons.map(\.spikeTimes))
        #expect(r1.neurons.contains { !$0.spikeTimes.isEmpty })
        #expect(long.checkpoints?.last?.timesteps == 12)
    }
}

struct RunResultBox: @unchecked Sendable {
    let value: RunResult?
    init(_ v: RunResult?) { value = v }
}

/// The first images of an IDX set with labels, as an input source.
struct IDXSourceView: InputSource {
    let data: IDXDataset
    var description: String { "mnist" }
    var count: Int { data.count }
    func sample(_ i: Int) throws -> (input: [Float], label: Int?) { (data.image(i), Int(data.labels[i])) }
}

@Suite("Options that close the conversion gap of deep networks")
struct ConversionGapOptionTests {
    @Test("Burn-in: outputs average only the timesteps after it; checkpoints must come after it")
    func burnIn() throws {
        var b = NetworkBuilder(name: "pass", input: Shape(1, 1, 2))
        try b.add("out", .dense(outFeatures: 2), neuron: .accumulator, weights: [1, 0, 0, 1], bias: [0, 0])
        let net = try b.build()
        var cfg = SimulationConfig(timesteps: 8, encoder: .current)
        cfg.burnIn = 4
        cfg.checkpoints = [6]
        // x = 0.5 spikes at t = 2, 4, 6, 8; x = 0.25 at t = 4, 8: after t = 4, 2 and 1 spikes in 4 steps.
        let r = try simulateLocally(net, ranks: 1, config: cfg, inputs: [[0.5, 0.25]])
        #expect(r.outputs[0][0] == [0.5, 0.25])
        cfg.checkpoints = [4]
        #expect(throws: SpikeError.self) { try cfg.validate() }
        cfg.checkpoints = []; cfg.burnIn = 8
        #expect(throws: SpikeError.self) { try cfg.validate() }
    }

    @Test("Residual scaling 'max': no branch of an add is amplified; 'relu' neurons replace every IBT")
    func residualAndNeurons() throws {
        let (net, samples) = try branchyWithInputs(4)
        var o = ConversionOptions()
        o.residual = .maxOfSources
        let (snn, report) = try convertBranchy(net, calibration: samples, options: o)
        #expect(report.residual == "max")
        let adds = snn.layers.filter { if case .add = $0.op { return true } else { return false } }
        #expect(!adds.isEmpty)
        for a in adds { #expect(a.weights.allSatisfy { $0 <= 1 + 1e-6 }, "\(a.name): branch weights \(a.weights.max() ?? 0)") }
        #expect(snn.layers.contains { $0.neuron?.kind == .signedIBT })
        o = ConversionOptions(); o.signedNeurons = false
        let (relu, r2) = try convertBranchy(net, calibration: samples, options: o)
        #expect(!relu.layers.contains { $0.neuron?.kind == .signedIBT })
        #expect(r2.replacements.contains { $0.contains("negative activations are dropped") })
    }
}

@Suite("Spiking output layers (spike-count decoding)")
struct SpikingOutputTests {
    @Test("--output-neurons spiking: λ kept per channel, saved and loaded, spike counts decode to the ANN's units on 1 and 2 ranks")
    func spikingOutputs() throws {
        var o = ConversionOptions()
        o.spikingOutputs = true
        let (annNet, snn, report, test) = try convertedMNISTFixture(o, calibration: 50)
        #expect(report.outputNeurons == "spiking")
        let out = snn.layers[snn.outputs[0]]
        #expect(out.neuron?.kind == .signedIBT && out.neuron?.alpha == 1)
        #expect(out.outputScale.count == 10 && out.outputScale.allSatisfy { $0 > 0 })
        // Saved and loaded: the scales survive.
        let dir = URL(fileURLWithPath: TestPaths.tempDir("spk-out"))
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.json").path
        try ModelFile.write(snn, to: path)
        let loaded = try ModelFile.read(path)
        #expect(loaded.layers[loaded.outputs[0]].outputScale == out.outputScale)
        // The ANN of the converted network (what --compare-ann runs) gives the original logits back.
        let x = test.image(0)
        let a0 = try DenseForward(annNet).predict(x)[0], a1 = try DenseForward(loaded).predict(x)[0]
        for k in 0..<10 { #expect(abs(a0[k] - a1[k]) <= 1e-3 * max(1, abs(a0[k])), "logit \(k): \(a0[k]) vs \(a1[k])") }
        // Spike counts × θ / T × λ approximate the logits; same bits on 1 and 2 ranks.
        let inputs = (0..<20).map { test.image($0) }
        let cfg = SimulationConfig(timesteps: 64, decoding: .spikes)
        let one = try simulateLocally(loaded, ranks: 1, config: cfg, inputs: inputs)
        let two = try simulateLocally(loaded, ranks: 2, config: cfg, inputs: inputs)
        #expect(one.outputs.map { $0.map { $0.map(\.bitPattern) } } == two.outputs.map { $0.map { $0.map(\.bitPattern) } })
        let ann = try DenseForward(loaded)
        var agree = 0
        for (i, x) in inputs.enumerated() {
            let a = ann.predict(x)[0], s = one.outputs[i][0]
            let lam = out.outputScale
            // Each value is a whole number of spikes times λ/T.
            for k in 0..<10 {
                let n = s[k] * 64 / lam[k]
                #expect(abs(n - n.rounded()) < 1e-3, "output \(k) is not a spike count: \(n)")
            }
            if a.indices.max(by: { a[$0] < a[$1] }) == s.indices.max(by: { s[$0] < s[$1] }) { agree += 1 }
        }
        #expect(agree >= 19, "top-1 agreement with the ANN \(agree)/20")
        // Spike-count decoding of accumulator outputs is refused, naming the layer.
        let acc = try convertedMNISTFixture(ConversionOptions(), calibration: 10).snn
        let name = acc.layers[acc.outputs[0]].name
        do {
            _ = try LocalGroup(size: 1).run { t in _ = try Coordinator(network: acc, transport: t, config: cfg, options: RunOptions(modelPath: "m", samples: 1)) }
            Issue.record("accumulator outputs with spike-count decoding must be refused")
        } catch {
            #expect("\(error)".contains(name) && "\(error)".contains("--output-neurons spiking"), "\(error)")
        }
        // A scale on a hidden layer, or of the wrong length, is refused by validation.
        var bad = loaded
        bad.layers[bad.outputs[0]].outputScale = [1, 2]
        #expect(throws: SpikeError.self) { try bad.validate() }
    }
}
