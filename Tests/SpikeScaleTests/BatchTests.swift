import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeData
import SpikeRun

/// Everything one rank returns for one sample, as comparable bits.
private struct RankBits: Equatable {
    var outputs: [[UInt32]]
    var ranges: [[Int]]
    var layers: [LayerCounters]
    var steps: [Int64]
    var checkpointValues: [[UInt32]]
    var checkpointCounters: [[Int64]]
    var raster: [[Int]]
    var layerValues: [[UInt32]]
    var traces: [[[UInt32]]]

    init(_ r: RankSampleResult) {
        outputs = r.outputs.map { bits($0.values) }
        ranges = r.outputs.map { [$0.range.lower, $0.range.count] }
        layers = r.layers; steps = r.spikesPerStep
        checkpointValues = bits(r.checkpointValues); checkpointCounters = r.checkpointCounters
        raster = r.raster.map { [$0.layer, $0.neuron, $0.time] }
        layerValues = bits(r.layerValues)
        traces = r.outputTraces.map(bits)
    }
}

@Suite("Batches (--batch): every sample's result is the one it gets alone")
struct BatchTests {
    /// Per rank, per sample: the rank's whole result, with the samples cut into batches of `batch`.
    private func run(_ net: Network, ranks: Int, config: SimulationConfig, inputs: [[Float]], batch: Int) throws -> [[RankBits]] {
        let partition = try Partition(network: net, ranks: ranks)
        let boxes = try LocalGroup(size: ranks).run { t -> [RankSampleResultBox] in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: config)
            let all = inputs.enumerated().map { (sample: $0.offset, input: $0.element) }
            return try stride(from: 0, to: all.count, by: batch).flatMap {
                try sim.run(batch: Array(all[$0 ..< min($0 + batch, all.count)])).map(RankSampleResultBox.init)
            }
        }
        return boxes.map { $0.map { RankBits($0.value) } }
    }

    @Test("Outputs, counters, checkpoints, raster, layer values and traces are identical with batch 1 and 4, on 1 and 2 ranks")
    func sameBits() throws {
        let net = try InvarianceTests.scaled("branchy")
        let src = SyntheticSource(shape: net.inputShape, seed: 8, count: 5)
        let inputs = try (0..<5).map { try src.sample($0).input }
        for encoder in [InputEncoder.direct, .bernoulli] {
            var config = SimulationConfig(timesteps: 9, seed: 3, encoder: encoder)
            config.checkpoints = [3, 6]
            config.rasterNeurons = 4; config.rasterSample = 2
            config.layerValues = true; config.outputTrace = true
            for ranks in [1, 2] {
                let one = try run(net, ranks: ranks, config: config, inputs: inputs, batch: 1)
                let four = try run(net, ranks: ranks, config: config, inputs: inputs, batch: 4)
                #expect(one.flatMap { $0 }.contains { !$0.raster.isEmpty }, "the raster sample must record spikes")
                #expect(one == four, "\(encoder) on \(ranks) rank(s): batch 4 differs from batch 1")
            }
        }
    }

    @Test("A batch larger than any before grows the lanes; a smaller one after it uses a prefix of them")
    func changingBatchSizes() throws {
        let net = try InvarianceTests.scaled("mnist-cnn")
        let data = try IDXDataset(folder: TestPaths.sharedData + "/mnist")
        let inputs = (0..<6).map { data.image($0) }
        let config = SimulationConfig(timesteps: 8, seed: 1, encoder: .direct)
        let partition = try Partition(network: net, ranks: 1)
        let alone = try LocalGroup(size: 1).run { t in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: config)
            return try inputs.indices.map { RankSampleResultBox(try sim.run(sample: $0, input: inputs[$0])) }
        }[0].map { RankBits($0.value) }
        let mixed = try LocalGroup(size: 1).run { t in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: config)
            let all = inputs.enumerated().map { (sample: $0.offset, input: $0.element) }
            return try (sim.run(batch: Array(all[0..<1])) + sim.run(batch: Array(all[1..<5])) + sim.run(batch: Array(all[5..<6])))
                .map(RankSampleResultBox.init)
        }[0].map { RankBits($0.value) }
        #expect(alone == mixed)
        #expect(alone.contains { $0.layers.contains { $0.spikes > 0 } })
    }

    @Test("A malformed batched message is refused, naming what is wrong")
    func malformedFrames() throws {
        let good: [UInt8] = [2, 0, 0, 0, 7, 7, 0, 0, 0, 0]
        let parts = try RankSimulator.splitBatchedMessage(good, count: 2)
        #expect(parts == [[7, 7], []])
        #expect(throws: SpikeError.self) { try RankSimulator.splitBatchedMessage(Array(good.prefix(3)), count: 2) }
        #expect(throws: SpikeError.self) { try RankSimulator.splitBatchedMessage([9, 0, 0, 0, 1], count: 1) }
        #expect(throws: SpikeError.self) { try RankSimulator.splitBatchedMessage(good + [1], count: 2) }
        do { _ = try RankSimulator.splitBatchedMessage([9, 0, 0, 0, 1], count: 1); Issue.record("no error") } catch let e as SpikeError {
            #expect(e.message.contains("claims 9 bytes"), "\(e.message)")
        }
    }
}
