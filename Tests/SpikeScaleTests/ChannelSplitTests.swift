import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeData
import SpikeRun

/// Convolutions split by output channels (`PartitionPolicy.auto`): each rank holds only its channels' weights,
/// reads the whole input, and the results are the bits of one rank.
@Suite("Layers split by output channels")
struct ChannelSplitTests {
    /// A deep, narrow stack whose convolutions outweigh their neurons (the cost model splits them by channels):
    /// IF, signed IBT with bursts, a residual add and a global pool in row bands between and after them.
    static func network() throws -> Network {
        var g = WeightInit(seed: 33)
        var b = NetworkBuilder(name: "deep-narrow", input: Shape(5, 5, 16))
        var burst = NeuronModel.ibt(alpha: 0.1); burst.burst = 2
        try b.add("a", .conv(Window(kernel: 3, pad: 1), outChannels: 64, groups: 1), neuron: .integrateAndFire(),
                  weights: g.he(count: 9 * 16 * 64, fanIn: 144), bias: g.small(64))
        try b.add("b", .conv(Window(kernel: 3, pad: 1), outChannels: 64, groups: 1), neuron: burst,
                  weights: g.he(count: 9 * 64 * 64, fanIn: 576), bias: g.small(64))
        try b.add("sum", .add, inputs: [1, 2], neuron: .ibt(alpha: 0.1))
        try b.add("c", .conv(Window(kernel: 3, stride: 1, pad: 1), outChannels: 96, groups: 1), neuron: .ibt(alpha: 0.1),
                  weights: g.he(count: 9 * 64 * 96, fanIn: 576), bias: g.small(96))
        try b.add("gap", .globalAvgPool, neuron: .ibt(alpha: 1))
        try b.add("out", .dense(outFeatures: 10), neuron: .accumulator, weights: g.he(count: 960, fanIn: 96), bias: g.small(10))
        return try RateCalibration.scaleToRate(b.build(), samples: (0..<2).map { try SyntheticSource(shape: Shape(5, 5, 16), seed: 8, count: 2).sample($0).input },
                                               targetRate: 0.15)
    }

    @Test("The cost model splits the weight-heavy convolutions by channels, and only on more than one rank")
    func plan() throws {
        let net = try Self.network()
        let one = try Partition(network: net, ranks: 1)
        #expect(one.layers.allSatisfy { !($0.blocks.first?.channelSplit ?? false) })
        for ranks in 2...4 {
            let p = try Partition(network: net, ranks: ranks)
            let split = net.layers.indices.filter { p.layers[$0].blocks[0].channelSplit }.map { net.layers[$0].name }
            #expect(split == ["a", "b", "c"], "\(ranks) ranks: \(split)")
            for i in net.layers.indices where p.layers[i].blocks[0].channelSplit {
                let c = net.layers[i].shape.channels
                #expect(p.layers[i].blocks.map { $0.ownedCount(channels: c) }.reduce(0, +) == net.layers[i].shape.count)
                #expect(p.layers[i].scheme == .channels)
            }
            let rows = try Partition(network: net, ranks: ranks, policy: .rows)
            #expect(rows.layers.allSatisfy { !($0.blocks.first?.channelSplit ?? false) })
        }
        // Tiny-YOLOv3's 13x13 and 26x26 layers with most of its weights, not its wide early layers.
        let ty = try ModelZoo.build("tiny-yolov3", seed: 1)
        let p = try Partition(network: ty, ranks: 2)
        let split = ty.layers.indices.filter { p.layers[$0].blocks[0].channelSplit }
        #expect(!split.isEmpty && split.allSatisfy { ty.layers[$0].shape.height <= 26 })
        let share = Double(split.reduce(0) { $0 + ty.layers[$1].weightCount }) / Double(ty.parameterCount)
        #expect(share > 0.8, "share of the weights in layers split by channels: \(share)")
    }

    @Test("Outputs and counters are the bits of one rank on 2-4 ranks, in batches, with every encoder")
    func sameBits() throws {
        let net = try Self.network()
        let src = SyntheticSource(shape: net.inputShape, seed: 12, count: 3)
        let inputs = try (0..<3).map { try src.sample($0).input }
        var reference = SimulationConfig(timesteps: 10, seed: 3, encoder: .direct)
        reference.convKernel = .scatter   // the plain scatter into the split layers' compact state
        for config in [SimulationConfig(timesteps: 10, seed: 3, encoder: .direct),
                       SimulationConfig(timesteps: 10, seed: 3, encoder: .bernoulli, decoding: .spikes), reference] {
            let base = try expectSameBits(net, inputs: inputs, config: config, runs: [(2, 1), (3, 1), (4, 1), (2, 3)])
            for idx in [1, 2, 3] { #expect(base.counters[0][idx].spikes > 0, "layer \(net.layers[idx].name) must spike") }
        }
    }

    @Test("Layer values of split layers are placed from each rank's own channels")
    func layerValues() throws {
        let net = try Self.network()
        let input = try SyntheticSource(shape: net.inputShape, seed: 12, count: 1).sample(0).input
        var config = SimulationConfig(timesteps: 10, seed: 3, encoder: .bernoulli)
        config.layerValues = true
        func values(_ ranks: Int) throws -> [[UInt32]] {
            try DiagnosticsTests.layerValues(net, ranks: ranks, config: config, input: input).map { $0.map(\.bitPattern) }
        }
        let one = try values(1)
        #expect(one[2].contains { Float(bitPattern: $0) != 0 && !Float(bitPattern: $0).isNaN })
        for ranks in [2, 3] { #expect(try values(ranks) == one, "\(ranks) ranks") }
    }

    @Test("Each rank holds only its channels' weights of a split layer, and one copy of the others'")
    func weightsAreSharded() throws {
        let net = try Self.network()
        let config = SimulationConfig(timesteps: 2, seed: 1, encoder: .direct)
        for ranks in [1, 2, 3] {
            let partition = try Partition(network: net, ranks: ranks)
            let held = try LocalGroup(size: ranks).run { t -> [Int] in
                try RankSimulator(network: net, partition: partition, transport: t, config: config).heldWeights
            }
            for (i, l) in net.layers.enumerated() {
                let perRank = held.map { $0[i] }
                if partition.layers[i].blocks[0].channelSplit {
                    #expect(perRank.reduce(0, +) == l.weightCount, "\(l.name): \(perRank) on \(ranks) ranks")
                    #expect(perRank.max()! <= (l.weightCount + ranks - 1) / ranks + l.weightCount / l.shape.channels)
                } else {
                    #expect(perRank.allSatisfy { $0 == l.weightCount }, "\(l.name): \(perRank) on \(ranks) ranks")
                }
            }
        }
    }
}
