import Testing
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeANN
import SpikeData
import SpikeRun

@Suite("Results do not depend on the number of ranks (in-process ranks)")
struct InvarianceTests {
    static func scaled(_ name: String) throws -> Network { try ModelSource.zoo(name, seed: 5, targetRate: 0.15) }

    func check(_ net: Network, inputs: [[Float]], config: SimulationConfig, ranks: [Int]) throws {
        let base = try simulateLocally(net, ranks: 1, config: config, inputs: inputs)
        #expect(base.counters[0].reduce(Int64(0)) { $0 + $1.spikes } > 0, "the network must spike")
        for k in ranks {
            let r = try simulateLocally(net, ranks: k, config: config, inputs: inputs)
            #expect(r.counters == base.counters, "\(net.name): per-layer counters differ on \(k) ranks")
            #expect(r.steps == base.steps, "\(net.name): per-step spikes differ on \(k) ranks")
            for s in inputs.indices { #expect(bits(r.outputs[s]) == bits(base.outputs[s]), "\(net.name): outputs differ on \(k) ranks") }
        }
    }

    @Test("Small CNN on real MNIST digits, direct and Bernoulli input")
    func mnistCNN() throws {
        let net = try Self.scaled("mnist-cnn")
        let data = try IDXDataset(folder: sharedData + "/mnist")
        let inputs = (0..<3).map { data.image($0) }
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 12, seed: 9, encoder: .direct), ranks: [2, 3, 4, 7])
        try check(net, inputs: inputs, config: SimulationConfig(timesteps: 12, seed: 9, encoder: .bernoulli, decoding: .spikes), ranks: [2, 3, 4])
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
        let data = try IDXDataset(folder: sharedData + "/mnist")
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
