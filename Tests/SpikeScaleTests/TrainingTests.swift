import Foundation
import SpikeCore
import SpikeEngine
import SpikeTrain
import Testing
import TestSupport

/// The STBP trainer: gradients against SpikingJelly, and rank invariance of data-parallel training.
struct TrainingTests {
    struct Reference: Decodable {
        struct Tensor: Decodable { let value: [Float]; let grad: [Float] }
        struct Case: Decodable { let `case`: String; let architecture: String?; let loss: Double; let labels: [Int]; let input: [Float]; let params: [String: Tensor] }
        let architecture: String
        let input: [Int]
        let timesteps: Int
        let threshold: Float
        let tau: Float
        let cases: [Case]
    }

    /// One STBP step of '4c3-ap2-dw3-8fc' (conv, depthwise conv, dense, tdBN or BN, LIF with hard or
    /// subtractive reset, rectangular or sigmoid surrogate, cross-entropy or MSE) and of '4c3-8r' (a
    /// residual basic block, tdBN with α = 1/√2 at both inputs of the sum) gives SpikingJelly's
    /// weight gradients (Tests/SpikeScaleTests/Reference/stbp_gradcheck.py) to 1e-4 relative to each
    /// tensor (element by element against its largest entry, and in norm); both sides are float32.
    @Test func gradientsMatchSpikingJelly() throws {
        let url = TestPaths.packageRoot.appendingPathComponent("Tests/SpikeScaleTests/Reference/stbp_gradients.json")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        #expect(ref.cases.count == 3)
        for c in ref.cases {
            let hard = c.case != "B"
            let spec = NeuronSpec(kind: .leakyIntegrateAndFire, tau: ref.tau, threshold: ref.threshold, reset: hard ? .zero : .subtract,
                                  surrogate: hard ? .rectangular(width: 1) : .sigmoid(width: 1))
            let model = try SpikingModel(architecture: c.architecture ?? ref.architecture, input: Shape(ref.input[0], ref.input[1], ref.input[2]), classes: 10,
                                         norm: hard ? .tdbn : .bn, neuron: spec, seed: 1)
            let named = model.namedParams
            #expect(Set(named.keys) == Set(c.params.keys), "parameters \(named.keys.sorted()) vs reference \(c.params.keys.sorted())")
            for (k, t) in c.params { named[k]?.value = t.value }
            let (loss, grads) = try model.batchGradients(input: c.input, labels: c.labels, timesteps: ref.timesteps, loss: hard ? .crossEntropy : .mse)
            #expect(abs(loss - c.loss) <= 1e-4 * abs(c.loss), "case \(c.case): loss \(loss) vs \(c.loss)")
            var worst = 0.0, worstNorm = 0.0
            for (k, t) in c.params {
                let g = try #require(grads[k])
                #expect(g.count == t.grad.count)
                let scale = t.grad.map { abs(Double($0)) }.max() ?? 0
                #expect(scale > 0, "case \(c.case) \(k): the reference gradient is all zero")
                // Relative to the tensor: |a − b| ≤ 1e-4·max|b| element by element, and ‖a − b‖ ≤ 1e-4·‖b‖.
                var d2 = 0.0, b2 = 0.0
                for i in g.indices {
                    let d = abs(Double(g[i]) - Double(t.grad[i]))
                    d2 += d * d; b2 += Double(t.grad[i]) * Double(t.grad[i])
                    worst = max(worst, d / scale)
                    #expect(d <= 1e-4 * scale, "case \(c.case) \(k)[\(i)]: \(g[i]) vs SpikingJelly \(t.grad[i]) (largest \(scale))")
                }
                let rel = (d2 / b2).squareRoot()
                worstNorm = max(worstNorm, rel)
                #expect(rel <= 1e-4, "case \(c.case) \(k): relative error \(rel) in norm")
            }
            print("STBP gradient check case \(c.case): worst |error| / max|grad| \(worst), worst ‖error‖/‖grad‖ \(worstNorm)")
        }
    }

    /// Synthetic digits-like data: seeded random images and labels (enough to take real steps).
    static func syntheticSet(count: Int) -> TrainingSet {
        TrainingSet.synthetic(count: count, shape: Shape(12, 12, 1), classes: 4, seed: 7)
    }

    static func train(ranks: Int, config: TrainConfig, data: TrainingSet) throws -> [[Float]] {
        let results = try LocalGroup(size: ranks).run { t -> [[Float]] in
            let trainer = try Trainer(config: config, inputShape: data.shape, transport: t)
            for e in 0..<config.epochs { _ = try trainer.trainEpoch(data, epoch: e) }
            return trainer.model.params.map(\.value) + trainer.model.layers.compactMap { $0 as? BatchNorm }.flatMap { [$0.runningMean, $0.runningVar] }
        }
        for r in 1..<ranks { #expect(results[r] == results[0], "rank \(r) holds other weights than rank 0") }
        return results[0]
    }

    /// Data-parallel training over 1, 2 and 4 in-process ranks ends with bit-identical weights and
    /// batch-norm statistics (chunks summed exactly), and the weights moved.
    @Test func rankInvariantWeights() throws {
        var cfg = TrainConfig()
        cfg.architecture = "4c3-ap2-dw3-8c3s2-16fc"
        cfg.classes = 4; cfg.timesteps = 3; cfg.batchSize = 24; cfg.chunkSize = 5; cfg.epochs = 2
        cfg.encoding = .bernoulli; cfg.optimizer = .sgd; cfg.learningRate = 0.1; cfg.weightDecay = 1e-4
        let data = Self.syntheticSet(count: 48)
        let one = try Self.train(ranks: 1, config: cfg, data: data)
        let two = try Self.train(ranks: 2, config: cfg, data: data)
        let four = try Self.train(ranks: 4, config: cfg, data: data)
        #expect(one == two)
        #expect(one == four)
        let initial = try Trainer(config: cfg, inputShape: data.shape, transport: nil).model.params.map(\.value)
        #expect(zip(initial, one).contains { $0 != $1 }, "training did not change the weights")
    }
}

/// From trainer to simulator: the exported network (tdBN folded, pooling folded, LIF neurons) run by
/// the engine on 1 and 2 in-process ranks predicts what the trainer's own forward pass predicts.
struct TrainedModelSimulationTests {
    @Test(arguments: [TrainEncoding.analog, .bernoulli])
    func engineMatchesTrainer(encoding: TrainEncoding) throws {
        try Self.check(architecture: "4c3-ap2-dw3-8c3-ap2-16fc", encoding: encoding, neuron: NeuronSpec())
    }

    /// A spiking ResNet (basic blocks with a strided 1x1 shortcut, an identity shortcut, and an average
    /// pool folded into a block's conv1 and shortcut) exports as conv1, relayed conv2 and shortcut
    /// currents and an `add` layer with the block's neurons; LIF with reset by subtraction exports
    /// as the engine's leaky neuron.
    @Test(arguments: [ResetMode.zero, .subtract])
    func residualNetworkMatchesTrainer(reset: ResetMode) throws {
        let net = try Self.check(architecture: "4c3-ap2-8r-8r-16rs2-16fc", encoding: .analog,
                                 neuron: NeuronSpec(kind: .leakyIntegrateAndFire, tau: 0.5, threshold: 0.5, reset: reset))
        let adds = net.layers.filter { if case .add = $0.op { return true } else { return false } }
        #expect(adds.map(\.name) == ["l3", "l4", "l5"])
        #expect(net.layers.contains { $0.name == "l5.down" } && !net.layers.contains { $0.name == "l4.down" })
    }

    @discardableResult
    static func check(architecture: String, encoding: TrainEncoding, neuron: NeuronSpec) throws -> Network {
        var cfg = TrainConfig()
        cfg.architecture = architecture
        cfg.classes = 4; cfg.timesteps = 4; cfg.batchSize = 8; cfg.chunkSize = 4; cfg.epochs = 4
        cfg.encoding = encoding; cfg.learningRate = 0.005; cfg.neuron = neuron
        let data = TrainingTests.syntheticSet(count: 64)
        let trainer = try Trainer(config: cfg, inputShape: data.shape, transport: nil)
        for e in 0..<cfg.epochs { _ = try trainer.trainEpoch(data, epoch: e) }
        let spiking = trainer.model.layers.flatMap { l -> [TrainLayer] in
            if let r = l as? Residual { return r.branch + r.shortcut }
            return [l]
        }.compactMap { $0 as? Spiking }
        for s in spiking { s.evaluationSpikes = 0 }
        let n = 24
        let ev = try trainer.evaluate(data, count: n, seed: 5, batch: 7)
        #expect(ev.accuracy > 0.5, "\(architecture): the trained toy network should beat chance, got \(ev.accuracy)")
        let net = try trainer.model.nativeNetwork(name: "toy")
        // SpikeScale → NIR → SpikeScale keeps the trained network bit for bit (issue 14).
        try NIRExportTests.expectIdentical(net, try NIRExportTests.roundTrip(net, "trained-\(architecture)-\(encoding)-\(neuron.reset)"))
        var sim = SimulationConfig(timesteps: cfg.timesteps, seed: 5, encoder: encoding == .analog ? .direct : .bernoulli, decoding: .membrane)
        sim.burnIn = 0
        let inputs = (0..<n).map { i in data.chunk([i], sampleKeys: [i], timesteps: 1, encoding: .analog, seed: 0) }
        for ranks in [1, 2] {
            let (outs, counters, _) = try simulateLocally(net, ranks: ranks, config: sim, inputs: inputs)
            // The engine adds a neuron's input events one by one; the trainer's convolutions are OpenBLAS sgemm,
            // whose kernel (so its rounding) depends on the CPU. A membrane within rounding of θ can fire in one and
            // not in the other, and at T = 4 one such spike moves the outputs of its sample by a weight / 4. So:
            // every prediction agrees, all but at most 1 in 12 samples agree to 1e-3, and spike counts to 0.5%.
            var agree = 0, worst: Float = 0, off = 0
            for i in 0..<n {
                let o = outs[i][0]
                var best = 0, sampleWorst: Float = 0
                for k in 1..<o.count where o[k] > o[best] { best = k }
                if best == ev.predictions[i] { agree += 1 }
                for k in o.indices { sampleWorst = max(sampleWorst, abs(o[k] - ev.outputs[i][k])) }
                if sampleWorst >= 1e-3 { off += 1 }
                worst = max(worst, sampleWorst)
            }
            #expect(agree == n, "\(architecture), \(ranks) rank(s): \(agree) of \(n) predictions agree with the trainer")
            #expect(off * 12 <= n, "\(architecture), \(ranks) rank(s): \(off) of \(n) samples' outputs differ from the trainer's by 1e-3 or more (up to \(worst))")
            for s in spiking {
                // `l1.lif` -> layer `l1`; a block's `l3.lif1` -> `l3.conv1`, its `l3.lif` -> the sum `l3`.
                let name = s.name.hasSuffix(".lif1") ? String(s.name.dropLast(5)) + ".conv1" : String(s.name.dropLast(4))
                let li = try #require(net.index(of: name))
                let engine = counters.reduce(Int64(0)) { $0 + $1[li].positiveSpikes }
                let diff = abs(Double(engine) - Double(s.evaluationSpikes)) / max(1, Double(s.evaluationSpikes))
                #expect(diff <= 0.005, "\(architecture), \(ranks) rank(s) layer \(name): engine \(engine) spikes, trainer \(s.evaluationSpikes)")
            }
        }
        return net
    }
}

/// Checkpoints: a run resumed after epoch 1 ends with the weights of an uninterrupted run; a
/// checkpoint of another run or a damaged file is refused with one error naming the file.
struct TrainingCheckpointTests {
    @Test func resumeEqualsUninterrupted() throws {
        var cfg = TrainConfig()
        cfg.architecture = "4c3-ap2-8fc"; cfg.classes = 4; cfg.timesteps = 2; cfg.batchSize = 8; cfg.chunkSize = 4; cfg.epochs = 2
        cfg.encoding = .poisson; cfg.optimizer = .adam
        let data = TrainingTests.syntheticSet(count: 32)
        let full = try Trainer(config: cfg, inputShape: data.shape, transport: nil)
        for e in 0..<2 { _ = try full.trainEpoch(data, epoch: e) }
        let dir = TestPaths.tempDir("spikescale-ckpt"), path = dir + "/run.checkpoint"
        let identity = Checkpoint.identity(cfg, data: "synthetic", trainSamples: data.count)
        let first = try Trainer(config: cfg, inputShape: data.shape, transport: nil)
        _ = try first.trainEpoch(data, epoch: 0)
        let stats = EpochStats(epoch: 1, learningRate: 0, trainLoss: 0, trainAccuracy: 0, testLoss: nil, testAccuracy: nil, seconds: 0, trainSamples: 32)
        try Checkpoint(trainer: first, epoch: 1, identity: identity, history: [stats]).write(to: path)
        let resumed = try Trainer(config: cfg, inputShape: data.shape, transport: nil)
        let c = try Checkpoint.read(path)
        try c.restore(into: resumed, identity: identity, path: path)
        _ = try resumed.trainEpoch(data, epoch: c.epoch)
        #expect(resumed.model.params.map(\.value) == full.model.params.map(\.value))
        #expect(resumed.optimizer.state2 == full.optimizer.state2)

        var other = cfg; other.seed = 9
        let wrong = try Trainer(config: other, inputShape: data.shape, transport: nil)
        do { try c.restore(into: wrong, identity: Checkpoint.identity(other, data: "synthetic", trainSamples: data.count), path: path); Issue.record("a checkpoint of another run was accepted") }
        catch { #expect("\(error)".contains(path) && "\(error)".contains("seed")) }
        try Data("{\"format\": 3".utf8).write(to: URL(fileURLWithPath: path))
        do { _ = try Checkpoint.read(path); Issue.record("a damaged checkpoint was accepted") } catch { #expect("\(error)".contains(path)) }
    }
}
