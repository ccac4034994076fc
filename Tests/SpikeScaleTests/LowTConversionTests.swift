import Testing
import TestSupport
import SpikeANN
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeImport
import SpikeMetrics
import SpikeRun

/// Rate conversion at low T (issue 12): the default initial membrane is 0.5θ for neurons whose
/// values are non-negative (and signed ones read only by IF layers) and 0 for the other signed neurons
/// (Benchmarks/RESULTS.md, "Rate conversion at low T").
@Suite("Rate conversion at low T")
struct LowTConversionTests {
    @Test("Default initial membrane: 0.5θ on IF neurons, pooling of them and signed layers read only by IF layers; 0 on other signed IBT neurons")
    func defaultInitialMembrane() throws {
        let (_, snn, report, _) = try convertedMNISTFixture(ConversionOptions(), calibration: 20)
        #expect(report.initialMembrane == 0.5 && report.signedInitialMembrane == 0)
        var pools = 0
        for l in snn.layers where l.op.hasNeurons && l.neuron?.kind != .accumulator {
            // mnist-cnn: conv/dense IF neurons, and an average pool (signed linear neurons) of a ReLU layer.
            if case .avgPool = l.op { pools += 1; #expect(l.neuron?.kind == .signedIBT) }
            #expect(l.neuron?.initialMembrane == 0.5, "\(l.name)")
        }
        #expect(pools == 1)
        // Leaky-ReLU and linear layers (signed IBT neurons) start at 0; their IF layers at 0.5θ.
        let (net, samples) = try branchyWithInputs(2)
        let (b, _) = try convertBranchy(net, calibration: samples, options: ConversionOptions())
        let signed = b.layers.filter { $0.neuron?.kind == .signedIBT }
        #expect(!signed.isEmpty)
        for l in signed { #expect(l.neuron?.initialMembrane == 0, "\(l.name)") }
        for l in b.layers where l.neuron?.kind == .integrateAndFire { #expect(l.neuron?.initialMembrane == 0.5, "\(l.name)") }
        // Residual CNN: the linear convolution before each add + ReLU is read only by that IF layer: 0.5θ too.
        let res = try ONNXImporter.load(path: TestPaths.fixtures + "/mnist-resnet.onnx")
        let train = try IDXDataset(folder: TestPaths.sharedData + "/mnist", split: "train")
        let (r, _) = try Converter.convert(res.network, calibration: (0..<10).map { train.image($0) }, calibrationData: "mnist train 0..<10",
                                           source: "mnist-resnet.onnx", options: ConversionOptions())
        let convB = r.layers.filter { $0.name.contains("conv_b") }
        #expect(convB.count == 2)
        for l in convB { #expect(l.neuron?.kind == .signedIBT && l.neuron?.initialMembrane == 0.5, "\(l.name)") }
        for l in r.layers where l.op.hasNeurons && l.neuron?.kind != .accumulator { #expect(l.neuron?.initialMembrane == 0.5, "\(l.name)") }
    }

    @Test("At T = 8 the default (0.5θ) decodes the MNIST CNN closer to its ANN than an initial membrane of 0, bit-identical on 1 and 2 ranks")
    func roundingBeatsFlooringAtLowT() throws {
        let (annNet, half, _, test) = try convertedMNISTFixture(ConversionOptions(), calibration: 50)
        var o = ConversionOptions()
        o.initialMembrane = 0
        let (_, zero, _, _) = try convertedMNISTFixture(o, calibration: 50)
        let ann = try DenseForward(annNet)
        let inputs = (0..<40).map { test.image($0) }
        let cfg = SimulationConfig(timesteps: 8)
        let rHalf = try simulateLocally(half, ranks: 1, config: cfg, inputs: inputs)
        let rZero = try simulateLocally(zero, ranks: 1, config: cfg, inputs: inputs)
        var eHalf: Double = 0, eZero: Double = 0
        for (i, x) in inputs.enumerated() {
            let a = ann.predict(x)[0]
            for k in a.indices {
                eHalf += Double(abs(rHalf.outputs[i][0][k] - a[k]))
                eZero += Double(abs(rZero.outputs[i][0][k] - a[k]))
            }
        }
        print("T = 8, 40 images: mean |SNN - ANN| logit error, V0 = 0.5θ: \(eHalf / 400), V0 = 0: \(eZero / 400)")
        #expect(eHalf < 0.8 * eZero)
        let r2 = try simulateLocally(half, ranks: 2, config: cfg, inputs: inputs)
        #expect(r2.outputs == rHalf.outputs)
    }

    @Test("ReLU layers get IF neurons with memory by default; not with bursts, not the IF neurons of the plain-ReLU ablation; plain IF on request")
    func memoryByDefault() throws {
        let (_, snn, report, _) = try convertedMNISTFixture(ConversionOptions(), calibration: 10)
        #expect(report.reluNeurons == "memory")
        let relu = snn.layers.filter { $0.neuron?.kind == .integrateAndFire }
        #expect(relu.count == 3 && relu.allSatisfy { $0.neuron?.memory == true })
        #expect(snn.layers.filter { $0.neuron?.memory == true }.count == 3, "only ReLU layers")
        // Deng et al.'s memory measure counts each memory neuron's 32-bit net count beside its membrane.
        let cost = MemoryCost.snn(snn, busiestStepSpikes: 0)
        #expect(cost.membraneBits == CostModel.neuronStateBits(snn) + 32 * relu.reduce(0) { $0 + $1.shape.count })
        var o = ConversionOptions()
        o.burst = 2
        let (_, burst, bReport, _) = try convertedMNISTFixture(o, calibration: 10)
        #expect(bReport.reluNeurons == "if" && !burst.layers.contains { $0.neuron?.memory == true })
        o = ConversionOptions(); o.reluMemory = false
        let (_, plain, _, _) = try convertedMNISTFixture(o, calibration: 10)
        #expect(!plain.layers.contains { $0.neuron?.memory == true })
        // The ablation's IF neurons on leaky-ReLU and linear layers stay plain; the network's own ReLU layers keep memory.
        let (net, samples) = try branchyWithInputs(2)
        o = ConversionOptions(); o.signedNeurons = false
        let (b, _) = try convertBranchy(net, calibration: samples, options: o)
        for (a, l) in zip(net.layers, b.layers) where l.neuron?.kind == .integrateAndFire {
            #expect(l.neuron?.memory == (a.neuron?.kind == .integrateAndFire), "\(l.name)")
        }
    }

    @Test("--neurons memory: the signed IBT layers of the branchy zoo network get memory, and its runs are bit-identical on 1, 2 and 3 ranks and in batches")
    func signedMemoryInvariance() throws {
        let (net, samples) = try branchyWithInputs(3)
        var o = ConversionOptions()
        o.signedMemory = true
        let (b, _) = try convertBranchy(net, calibration: Array(samples.prefix(2)), options: o)
        let signed = b.layers.filter { $0.neuron?.kind == .signedIBT }
        #expect(!signed.isEmpty && signed.allSatisfy { $0.neuron?.memory == true })
        let base = try expectSameBits(b, inputs: samples, config: SimulationConfig(timesteps: 12), runs: [(2, 1), (3, 1), (2, 2), (1, 3)])
        #expect(base.counters.flatMap { $0 }.contains { $0.negativeSpikes > 0 })
        // With bursts of up to 3 spikes, fired and taken back at once (and the ReLU layers' memory asked for explicitly).
        o.burst = 3; o.reluMemory = true; o.memoryMargin = 0.25
        let (bb, report) = try convertBranchy(net, calibration: Array(samples.prefix(2)), options: o)
        #expect(bb.layers.filter { $0.neuron?.memory == true }.allSatisfy { $0.neuron?.burst == 3 && $0.neuron?.memoryMargin == 0.25 })
        #expect(bb.layers.contains { $0.neuron?.kind == .integrateAndFire && $0.neuron?.memory == true } == (report.reluNeurons == "memory"))
        let bursts = try expectSameBits(bb, inputs: samples, config: SimulationConfig(timesteps: 12), runs: [(2, 1), (3, 1), (2, 2), (1, 3)])
        #expect(bursts.counters.flatMap { $0 }.contains { $0.negativeSpikes > 0 })
    }
}
