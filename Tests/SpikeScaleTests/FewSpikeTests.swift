import Foundation
import Testing
import TestSupport
import SpikeANN
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine

@Suite("Few-spike (FS / AMOS) neurons: codes, fits, engine, conversion")
struct FewSpikeTests {
    @Test("ReLU closed form: the input floored to K bits of α, one spike per 1 bit")
    func reluClosedForm() {
        let code = FewSpikeCode.relu(alpha: 1, steps: 10)
        #expect(code.thresholds == code.resets && code.resets == code.outputs)
        for i in 0...1200 {
            let x = Float(i) / 1000
            let (y, n) = code.apply(x)
            // Strict v > T: the largest multiple of 2^-10 below x, at most 1 − 2^-10.
            let q = max(0, min(1023, Int((Double(x) * 1024).rounded(.up)) - 1))
            #expect(y == Float(q) / 1024, "x = \(x)")
            #expect(n == q.nonzeroBitCount, "x = \(x)")
        }
        #expect(code.apply(-0.5).value == 0 && code.apply(-0.5).spikes == 0)
    }

    @Test("Sign-magnitude binary: leaky-ReLU and linear exact to K bits on both sides, few spikes near zero")
    func signedBinary() throws {
        var fitter = FewSpikeFitter(steps: 10)
        let leaky = fitter.fit(.leaky(0.1), lo: -2, hi: 1)
        #expect(leaky.negativeScale == 0.1 && leaky.thresholds == FewSpikeCode.relu(alpha: 2, steps: 10).thresholds)
        let relu = FewSpikeCode.relu(alpha: 2, steps: 10)
        for i in -2400...2400 {
            let x = Float(i) / 1200
            let (y, n) = leaky.apply(x)
            let (m, k) = relu.apply(abs(x))
            #expect(n == k, "x = \(x)")
            // Negative: the spikes' −0.1·d(t) summed, which is −0.1·m to within float rounding.
            #expect(x < 0 ? abs(y + 0.1 * m) <= 1e-6 : y == m, "x = \(x)")
        }
        // Just below zero: the 1 bits of |x|, where the offset-binary linear code fires about K/2.
        let linear = fitter.fit(.linear, lo: -2, hi: 2)
        fitter.signed = .fit
        let offset = fitter.fit(.linear, lo: -2, hi: 2)
        #expect(linear.negativeScale == 1 && offset.negativeScale == nil)
        #expect(linear.apply(-0.01).spikes == 2, "0.01 / 2 = 5 · 2^-10: two 1 bits")
        #expect(offset.apply(-0.01).spikes >= 4, "offset binary: \(offset.apply(-0.01).spikes) spikes")
        #expect(abs(linear.apply(-0.7).value + 0.7) <= 2 * 2 / 1024)
        // The native format keeps the scale; a bad one is refused naming the layer.
        let back = try JSONDecoder().decode(FewSpikeCode.self, from: JSONEncoder().encode(linear))
        #expect(back == linear)
        var bad = linear; bad.negativeScale = -1
        #expect(throws: SpikeError.self) { try bad.validate(layer: "x") }
    }

    @Test("Fits are seeded and reproducible, and close to the activation")
    func fits() {
        // A short fit (2 restarts x 300 iterations; fit-fs and convert run 8 x 600): bounds twice what it reaches.
        var fitter = FewSpikeFitter(steps: 16)
        fitter.restarts = 2; fitter.iterations = 300; fitter.seed = 7; fitter.points = 512
        for (f, bound) in [(FewSpikeActivation.silu, 0.03), (.hardSwish, 0.04), (.sigmoid, 0.007), (.linear, 1e-6)] {
            let a = fitter.fit(f, lo: -6, hi: 6), b = fitter.fit(f, lo: -6, hi: 6)
            #expect(a == b, "\(f): the same seed must give the same code")
            let q = FewSpikeFitQuality(code: a, activation: f, lo: -6, hi: 6)
            #expect(q.mse < bound, "\(f): MSE \(q.mse)")
            #expect(q.spikesPerInput > 0 && q.spikesPerInput <= 16)
        }
        #expect(throws: SpikeError.self) { try FewSpikeActivation(parsing: "leaky:2") }
        #expect((try? FewSpikeActivation(parsing: "leaky:0.1")) == .leaky(0.1))
    }

    @Test("The native model format keeps FS codes; bad codes are refused naming the layer")
    func modelFile() throws {
        let net = try Self.branchy()
        let dir = TestPaths.tempDir()
        try ModelFile.write(net, to: dir + "/fs.json")
        let back = try ModelFile.read(dir + "/fs.json")
        #expect(back.layers.map(\.neuron) == net.layers.map(\.neuron))
        var bad = net
        bad.layers[1].neuron!.fewSpike!.resets.removeLast()
        #expect(throws: SpikeError.self) { try bad.validate() }
        do { try bad.validate() } catch let e as SpikeError { #expect(e.message.contains("'a'") && e.message.contains("K = ")) }
        var mixed = net
        mixed.layers[2].neuron = .integrateAndFire()
        do { try mixed.validate(); Issue.record("mixed FS and IF neurons accepted") } catch let e as SpikeError { #expect(e.message.contains("'b'")) }
    }

    /// Conv (SiLU code) → conv (linear code) → add of both (ReLU code; a skip over one layer) →
    /// max-pool → dense accumulator, seeded weights.
    static func branchy() throws -> Network {
        var rng = SplitMix(11)
        func w(_ n: Int, _ s: Float) -> [Float] { (0..<n).map { _ in Float.random(in: -s...s, using: &rng) } }
        var fit = FewSpikeFitter(steps: 8)
        fit.restarts = 1; fit.iterations = 100
        let silu = FewSpikeNeuron.of(fit.fit(.silu, lo: -3, hi: 3)), linear = FewSpikeNeuron.of(fit.fit(.linear, lo: -3, hi: 3))
        var b = NetworkBuilder(name: "fs-branchy", input: Shape(8, 8, 2))
        let a = try b.add("a", .conv(Window(kernel: 3, pad: 1), outChannels: 4, groups: 1), neuron: silu, weights: w(72, 0.6), bias: w(4, 0.2))
        try b.add("b", .conv(Window(kernel: 3, pad: 1), outChannels: 4, groups: 1), neuron: linear, weights: w(144, 0.4))
        try b.add("sum", .add, inputs: [a, b.last], neuron: .fewSpike(.relu(alpha: 4, steps: 8)))
        try b.add("pool", .maxPool(Window(kernel: 2, stride: 2)))
        try b.add("fc", .dense(outFeatures: 3), neuron: .accumulator, weights: w(64 * 3, 0.3), bias: w(3, 0.1))
        return try b.build()
    }

    @Test("The engine computes the FS function layer by layer, bit-identical on 1, 2 and 3 ranks")
    func engine() throws {
        let net = try Self.branchy()
        #expect(net.fewSpikeSteps == 8 && net.fewSpikeLatency == 24)
        let src = SyntheticSource(shape: net.inputShape, seed: 3, count: 4)
        let inputs = try (0..<4).map { try src.sample($0).input }
        let cfg = SimulationConfig(timesteps: 1).adapted(to: net)
        #expect(cfg.timesteps == 24)
        let base = try simulateLocally(net, ranks: 1, config: cfg, inputs: inputs)
        let ann = try DenseForward(net)
        for (s, x) in inputs.enumerated() {
            let want = ann.run(x)[net.outputs[0]]
            for (g, e) in zip(base.outputs[s][0], want) { #expect(abs(g - e) < 1e-4, "sample \(s): SNN \(g), FS reference \(e)") }
        }
        // Each neuron fires at most K times, and only in its own K sub-steps.
        let spikes = base.counters[0]
        #expect(spikes[1].spikes > 0 && spikes[1].spikes <= Int64(8 * net.layers[1].shape.count))
        #expect(base.steps[0][16...].reduce(0, +) == spikes[3].spikes, "the add layer fires in sub-steps 17...24")
        for k in [2, 3] {
            let r = try simulateLocally(net, ranks: k, config: cfg, inputs: inputs)
            #expect(r.counters == base.counters, "counters differ on \(k) ranks")
            for s in inputs.indices { #expect(bits(r.outputs[s]) == bits(base.outputs[s]), "outputs differ on \(k) ranks") }
        }
        #expect(throws: SpikeError.self) { _ = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 10), inputs: inputs) }
        #expect(throws: SpikeError.self) { _ = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 24, encoder: .bernoulli), inputs: inputs) }
    }

    @Test("The pipelined schedule: 2 or 4 images in flight give every image the outputs, counters and spikes per step it has alone, on 1 and 3 ranks")
    func pipeline() throws {
        let net = try Self.branchy()   // a skip connection (conv a → add) two FS layers long: delayed by K
        let src = SyntheticSource(shape: net.inputShape, seed: 9, count: 7)
        let inputs = try (0..<7).map { try src.sample($0).input }
        let cfg = SimulationConfig(timesteps: 1).adapted(to: net)
        let alone = try simulateLocally(net, ranks: 1, config: cfg, inputs: inputs)
        #expect(alone.counters.allSatisfy { $0[1].spikes > 0 }, "every image makes spikes")
        for (ranks, pipeline) in [(1, 2), (1, 4), (3, 4), (2, 7)] {
            let r = try simulateLocally(net, ranks: ranks, config: cfg, inputs: inputs, pipeline: pipeline)
            #expect(r.counters == alone.counters, "counters differ with \(pipeline) images in flight on \(ranks) ranks")
            #expect(r.steps == alone.steps, "spikes per step differ with \(pipeline) images in flight on \(ranks) ranks")
            for s in inputs.indices { #expect(bits(r.outputs[s]) == bits(alone.outputs[s]), "sample \(s): outputs differ with \(pipeline) in flight on \(ranks) ranks") }
        }
    }

    /// conv (linear neurons) → swish activation layer → dense accumulator, as the ONNX importer gives
    /// Conv → Sigmoid → Mul.
    static func swishANN() throws -> Network {
        var rng = SplitMix(5)
        func w(_ n: Int) -> [Float] { (0..<n).map { _ in Float.random(in: -1...1, using: &rng) } }
        var b = NetworkBuilder(name: "swish", input: Shape(4, 4, 1))
        try b.add("conv", .conv(Window(kernel: 3, pad: 1), outChannels: 3, groups: 1), neuron: .ibt(alpha: 1), weights: w(27), bias: w(3))
        try b.add("act", .activation(.swish))
        try b.add("fc", .dense(outFeatures: 2), neuron: .accumulator, weights: w(96), bias: w(2))
        return try b.build()
    }

    @Test("Rate conversion refuses SiLU naming the layer; FS conversion folds it into the conv's FS neurons")
    func conversion() throws {
        let ann = try Self.swishANN()
        var rng = SplitMix(9)
        let cal = (0..<20).map { _ in (0..<16).map { _ in Float.random(in: 0...1, using: &rng) } }
        do {
            _ = try Converter.convert(ann, calibration: cal, calibrationData: "random", source: "swish", options: ConversionOptions())
            Issue.record("rate conversion accepted a swish layer")
        } catch let e as SpikeError { #expect(e.message.contains("'act'") && e.message.contains("--coding fs"), "\(e.message)") }
        var o = ConversionOptions()
        o.coding = .fs; o.subSteps = 12
        let (snn, report) = try Converter.convert(ann, calibration: cal, calibrationData: "random", source: "swish", options: o)
        #expect(snn.layers.map(\.name) == ["input", "conv", "fc"] && snn.outputs == [2])
        #expect(snn.layers[1].neuron?.kind == .fewSpike && snn.layers[1].neuron?.subSteps == 12)
        #expect(report.coding == "fs" && report.layers.first?.annActivation == "silu")
        let exact = try DenseForward(ann), fs = try DenseForward(snn)
        var diffs = [Float]()
        for x in cal { diffs += zip(exact.run(x)[3], fs.run(x)[2]).map { abs($0 - $1) } }
        #expect(diffs.max()! < 0.4 && diffs.reduce(0, +) / Float(diffs.count) < 0.1, "FS against the ANN: \(diffs)")
    }

    @Test("The MNIST CNN fixture with FS K = 8: the ANN's top-1, under 1.5 spikes per neuron, same bits on 3 ranks", .tags(.slow))
    func mnistFixture() throws {
        var o = ConversionOptions()
        o.coding = .fs; o.subSteps = 8
        let (ann, snn, _, test) = try convertedMNISTFixture(o, calibration: 50)
        let inputs = (0..<40).map { test.image($0) }
        let cfg = SimulationConfig(timesteps: 1).adapted(to: snn)
        let r = try simulateLocally(snn, ranks: 1, config: cfg, inputs: inputs)
        let f = try DenseForward(ann)
        let agree = inputs.indices.filter { argmax(r.outputs[$0][0]) == argmax(f.run(inputs[$0])[ann.outputs[0]]) }.count
        #expect(agree >= 39, "top-1 agreement \(agree)/40")
        let spikes = r.counters.reduce(Int64(0)) { $0 + $1.reduce(Int64(0)) { $0 + $1.spikes } }
        let perNeuron = Double(spikes) / Double(inputs.count * snn.neuronCount)
        #expect(perNeuron > 0.3 && perNeuron < 1.5, "spikes per neuron per image \(perNeuron)")
        let three = try simulateLocally(snn, ranks: 3, config: cfg, inputs: Array(inputs.prefix(3)))
        #expect(three.counters == Array(r.counters.prefix(3)))
        for s in 0..<3 { #expect(bits(three.outputs[s]) == bits(r.outputs[s])) }
    }

    func argmax(_ a: [Float]) -> Int { a.indices.max { a[$0] < a[$1] } ?? 0 }
}

/// FS neuron models for tests.
enum FewSpikeNeuron {
    static func of(_ code: FewSpikeCode) -> NeuronModel { .fewSpike(code) }
}
