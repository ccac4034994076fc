import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeANN
import SpikeData
import SpikeRun
import SpikeImport

@Suite("Results do not depend on the number of ranks (in-process ranks)")
struct InvarianceTests {
    static func scaled(_ name: String) throws -> Network { try ModelSource.zoo(name, seed: 5, targetRate: 0.15) }

    /// Each rank count of `ranks` is run with batch 1 and, for the first two, with the batches of `batches`
    /// (in-process ranks are threads on two cores: the batched runs are kept to a few).
    func check(_ net: Network, inputs: [[Float]], config: SimulationConfig, ranks: [Int], batches: [Int] = [2, 3]) throws {
        var runs: [(ranks: Int, batch: Int)] = batches.map { (1, $0) }
        for k in ranks { runs.append((k, 1)) }
        if let k = ranks.first { for b in batches { runs.append((k, b)) } }
        try expectSameBits(net, inputs: inputs, config: config, runs: runs)
    }

    @Test("Small CNN on real MNIST digits, direct and Bernoulli input")
    func mnistCNN() throws {
        let net = try Self.scaled("mnist-cnn")
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let inputs = (0..<3).map { data.image($0) }
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 12, seed: 9, encoder: .direct), ranks: [2, 3, 4, 7])
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 12, seed: 9, encoder: .bernoulli, decoding: .spikes), ranks: [2, 3, 4])
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 12, seed: 9, encoder: .poisson), ranks: [3])
    }

    @Test("MLP fixture (input, flatten, dense): the flattened direct input runs at t = 1 only, the same bits on 1-3 ranks and in batches")
    func mlpFlattenedInput() throws {
        let model = try ONNXImporter.load(path: TestPaths.fixtures + "/mnist-mlp.onnx")
        let train = try IDXDataset(folder: TestPaths.sharedData + "/mnist", split: "train")
        let (net, _) = try Converter.convert(model.network, calibration: (0..<20).map { train.image($0) }, calibrationData: "mnist train 0..<20",
                                             source: "mnist-mlp.onnx", options: ConversionOptions(), importNotes: model.notes)
        #expect(net.layers.contains { if case .flatten = $0.op { return true } else { return false } })
        let test = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let inputs = (0..<3).map { test.image($0) }
        let config = SimulationConfig(timesteps: 12, seed: 1, encoder: .direct)
        try check(net, inputs: inputs, config: config, ranks: [2, 3])
        // The first dense layer's analog MACs are counted every step, as if recomputed.
        let r = try simulateLocally(net, ranks: 1, config: config, inputs: inputs)
        let first = try #require(net.layers.firstIndex { if case .dense = $0.op { return true } else { return false } })
        #expect(r.counters[0][first].macs > 0 && r.counters[0][first].macs % 12 == 0)
    }

    @Test("Residual add, concat, slice, upsample, depthwise and signed IBT neurons")
    func branchy() throws {
        let net = try Self.scaled("branchy")
        let src = SyntheticSource(shape: net.inputShape, seed: 4, count: 3)
        let inputs = try (0..<3).map { try src.sample($0).input }
        #expect(net.layers.contains { $0.neuron?.kind == .signedIBT })
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 10, seed: 2, encoder: .direct), ranks: [2, 3, 4])
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 10, seed: 2, encoder: .bernoulli), ranks: [2, 3, 4])
    }
}

@Suite("The SNN approximates the ANN it was scaled from")
struct ConversionSanityTests {
    @Test("Rate-coded outputs approach the ANN's as T grows")
    func approachesANN() throws {
        // Max normalization on the digits themselves, so no neuron saturates and rates can follow the ANN.
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let raw = try ModelZooNetworks.mnist()
        let net = try RateCalibration.scaleToRate(raw, samples: (100..<110).map { data.image($0) }, targetRate: 0)
        let ann = try DenseForward(net)
        var errs = [Float]()
        for T in [16, 256] {
            var e: Float = 0
            for s in 0..<4 {
                let x = data.image(s)
                let want = ann.predict(x)[0]
                let got = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: T), inputs: [x]).outputs[0][0]
                let scale = max(want.map { abs($0) }.max()!, 1e-3)
                e += zip(want, got).map { abs($0 - $1) }.max()! / scale
            }
            errs.append(e / 4)
        }
        #expect(errs[1] < errs[0], "error must shrink with T: \(errs)")
        #expect(errs[1] < 0.1, "relative error at T = 256: \(errs[1])")
    }
}

@Suite("The convolution kernels give the same bits")
struct KernelEquivalenceTests {
    /// Widths that exercise full 32- and 16-channel chunks, remainders, groups, strides, dilation and
    /// a 1x1-spatial convolution split over channels.
    static func network() throws -> Network {
        var g = WeightInit(seed: 21)
        var b = NetworkBuilder(name: "kernels", input: Shape(13, 13, 5))
        let ibt = NeuronModel.ibt(alpha: 0.1)
        let c40 = try b.add("c40", .conv(Window(kernel: 3, pad: 1), outChannels: 40, groups: 1), neuron: ibt, weights: g.he(count: 9 * 5 * 40, fanIn: 45), bias: g.small(40))
        try b.add("g2", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 36, groups: 2), neuron: ibt, weights: g.he(count: 9 * 20 * 36, fanIn: 180), bias: g.small(36))
        try b.add("d2", .conv(Window(kernel: 3, pad: 2, dilation: 2), outChannels: 16, groups: 1), neuron: .integrateAndFire(), weights: g.he(count: 9 * 36 * 16, fanIn: 324), bias: g.small(16))
        // Depthwise (one and two output channels per group, stride 1 and 2, burst neurons), a grouped conv
        // with 3 and a pointwise conv with 8 output channels: the table-driven scatter.
        var burst = NeuronModel.ibt(alpha: 0.1); burst.burst = 3
        let dw = try b.add("dw", .conv(Window(kernel: 3, pad: 1), outChannels: 16, groups: 16), neuron: burst, weights: g.he(count: 9 * 16, fanIn: 9), bias: g.small(16))
        try b.add("dw2", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 32, groups: 16), neuron: ibt, weights: g.he(count: 9 * 32, fanIn: 9), bias: g.small(32))
        try b.add("c6", .conv(Window(kernel: 3, pad: 1), outChannels: 6, groups: 2), neuron: burst, weights: g.he(count: 9 * 16 * 6, fanIn: 144), bias: g.small(6))
        try b.add("p8", .conv(Window(kernel: 1), outChannels: 8, groups: 1), neuron: ibt, weights: g.he(count: 6 * 8, fanIn: 6), bias: g.small(8))
        // Depthwise with a channel tail past the last 8-wide chunk (20) and a wide one (64, burst) where positions with
        // few events take the one-by-one path and those with many the 8-channel one.
        try b.add("p20", .conv(Window(kernel: 1), outChannels: 20, groups: 1), neuron: ibt, weights: g.he(count: 8 * 20, fanIn: 8), bias: g.small(20))
        try b.add("dw20", .conv(Window(kernel: 3, pad: 1), outChannels: 20, groups: 20), neuron: ibt, weights: g.he(count: 9 * 20, fanIn: 9), bias: g.small(20))
        try b.add("p64", .conv(Window(kernel: 1), outChannels: 64, groups: 1), neuron: ibt, weights: g.he(count: 20 * 64, fanIn: 20), bias: g.small(64))
        try b.add("dw64", .conv(Window(kernel: 3, pad: 1), outChannels: 64, groups: 64), neuron: burst, weights: g.he(count: 9 * 64, fanIn: 9), bias: g.small(64))
        try b.add("gap", .globalAvgPool, neuron: .ibt(alpha: 1))
        try b.add("v48", .conv(Window(kernel: 1), outChannels: 48, groups: 1), neuron: ibt, weights: g.he(count: 64 * 48, fanIn: 64), bias: g.small(48))
        let out = try b.add("out", .dense(outFeatures: 10), neuron: .accumulator, weights: g.he(count: 480, fanIn: 48), bias: g.small(10))
        // Accumulator outputs of table layers: their outputs are the summed currents themselves, so an add out of the
        // canonical order shows in their bits (a spiking layer's rounding rarely changes a spike).
        let accDW = try b.add("accDW", .conv(Window(kernel: 3, pad: 1), outChannels: 40, groups: 40), inputs: [c40], neuron: .accumulator,
                              weights: g.he(count: 9 * 40, fanIn: 9), bias: g.small(40))
        let accP6 = try b.add("accP6", .conv(Window(kernel: 1), outChannels: 14, groups: 1), inputs: [dw], neuron: .accumulator,
                              weights: g.he(count: 16 * 14, fanIn: 16), bias: g.small(14))
        let accS2 = try b.add("accS2", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 40, groups: 40), inputs: [c40],
                              neuron: .accumulator, weights: g.he(count: 9 * 40, fanIn: 9), bias: g.small(40))
        let raw = try b.build(outputs: [out, accDW, accP6, accS2])
        let src = SyntheticSource(shape: raw.inputShape, seed: 3, count: 2)
        return try RateCalibration.scaleToRate(raw, samples: try (0..<2).map { try src.sample($0).input }, targetRate: 0.2)
    }

    @Test("Gather and table scatter (auto; the table's dense pass by default, always, never) agree with the reference scatter bit for bit on 1-4 ranks, every encoder")
    func sameBits() throws {
        let net = try Self.network()
        let src = SyntheticSource(shape: net.inputShape, seed: 8, count: 2)
        let inputs = try (0..<2).map { try src.sample($0).input }
        for enc in InputEncoder.allCases {
            var scatter = SimulationConfig(timesteps: 12, seed: 4, encoder: enc)
            scatter.convKernel = .scatter
            // Event input: 12 binary frames per sample, each a different threshold of the image.
            let inputs = enc != .events ? inputs : inputs.map { x in (0..<12).flatMap { t in x.map { $0 > 0.3 + 0.04 * Float(t) ? 1 : 0 } } }
            let ref = try simulateLocally(net, ranks: 1, config: scatter, inputs: inputs)
            #expect(ref.counters[0].reduce(Int64(0)) { $0 + $1.spikes } > 0)
            for name in ["dw", "dw2", "c6", "p8", "dw20", "dw64"] {
                let i = net.layers.firstIndex { $0.name == name }!
                #expect(ref.counters[0][i].spikes > 0, "\(enc): layer \(name) is silent, so it tests nothing")
            }
            // The table layers by the default rule (dense passes where their input is dense enough), always dense
            // (`denseAbove` 0), and never (above 1).
            for k in 1...4 {
                for dense in [SimulationConfig(timesteps: 12).denseAbove, 0, 2] {
                    var config = SimulationConfig(timesteps: 12, seed: 4, encoder: enc)
                    config.denseAbove = dense
                    let auto = try simulateLocally(net, ranks: k, config: config, inputs: inputs)
                    #expect(auto.counters == ref.counters, "\(enc) on \(k) ranks, dense above \(dense): counters differ")
                    for s in inputs.indices {
                        #expect(bits(auto.outputs[s]) == bits(ref.outputs[s]), "\(enc) on \(k) ranks, dense above \(dense): outputs differ")
                    }
                }
            }
        }
    }
}

@Suite("Checkpoints")
struct CheckpointTests {
    @Test("Decoding at t < T gives exactly what a run with T = t gives")
    func checkpointsMatchShorterRuns() throws {
        let net = try InvarianceTests.scaled("branchy")
        let x = try SyntheticSource(shape: net.inputShape, seed: 2, count: 1).sample(0).input
        for decoding in Decoding.allCases {
            var config = SimulationConfig(timesteps: 20, seed: 3, encoder: .bernoulli, decoding: decoding)
            config.checkpoints = [5, 12]
            let long = config
            let r = try LocalGroup(size: 1).run { t in
                RankSampleResultBox(try RankSimulator(network: net, partition: try Partition(network: net, ranks: 1), transport: t, config: long).run(sample: 0, input: x))
            }[0].value
            for (k, t) in [5, 12].enumerated() {
                let short = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: t, seed: 3, encoder: .bernoulli, decoding: decoding), inputs: [x])
                #expect(r.checkpointValues[k].map(\.bitPattern) == short.outputs[0][0].map(\.bitPattern), "\(decoding) at t = \(t)")
            }
        }
    }
}
