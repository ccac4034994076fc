import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeData
import SpikeRun

/// Overlap of the spike exchange with the interior rows of the next convolution (`--overlap interior`,
/// `RankSimulator.run(batch:)` rule 5): the layers that overlap, their interior rows, and the same bits as
/// without overlap and as on one rank.
@Suite("Exchange overlap: interior rows computed while the halo is in flight, the same bits")
struct OverlapTests {
    /// Per rank: the layers whose interior rows overlap the exchange, and those rows.
    private func plans(_ net: Network, ranks: Int, overlap: ExchangeOverlap) throws -> [[Int: Range<Int>]] {
        let partition = try Partition(network: net, ranks: ranks)
        var c = SimulationConfig(timesteps: 2)
        c.overlap = overlap
        let config = c
        let rows = try LocalGroup(size: ranks).run { t -> [Int: Range<Int>] in
            try RankSimulator(network: net, partition: partition, transport: t, config: config).overlappedRows
        }
        return rows
    }

    @Test("Which layers overlap, and their interior rows (3x3 convolutions, 2x2 pools, Darknet's stride-1 pool)")
    func interiorRows() throws {
        let net = try ModelSource.zoo("tiny-yolov3", seed: 5, targetRate: 0.15, inputSize: 64)
        let two = try plans(net, ranks: 2, overlap: .interior)
        // One rank: nothing crosses ranks. `none`: nothing overlaps.
        #expect(try plans(net, ranks: 1, overlap: .interior) == [[:]])
        #expect(try plans(net, ranks: 2, overlap: .none) == [[:], [:]])
        // Every convolution that reads the layer just before it, when that layer is split in row bands and its events
        // cross ranks, overlaps; the first does not (its input is encoded locally on every rank).
        let partition = try Partition(network: net, ranks: 2)
        let expected = net.layers.indices.filter { i in
            guard i > 1, case .conv = net.layers[i].op else { return false }
            let p = partition.layers[i - 1]
            return net.layers[i].inputs == [i - 1] && p.scheme == .rows && !p.transfers.isEmpty
        }
        // Layers whose weights on a rank outgrow the overlap's bound do not overlap (the second pass would stream them
        // again): conv10 and conv12 of Tiny-YOLOv3 hold 4.7 and 18.9 MB.
        let heavy = Set(expected.filter {
            net.layers[$0].weightCount * 4 / (partition.layers[$0].scheme == .channels ? 2 : 1) > RankSimulator.overlapWeightBytes
        })
        let conv12: Int? = net.index(of: "conv12")
        #expect(conv12.map(heavy.contains) == true && heavy.count < expected.count, "\(heavy.sorted()) of \(expected)")
        #expect(expected.count >= 4, "\(expected)")
        var threeByThree = 0
        for i in expected {
            let l = net.layers[i], src = net.layers[i - 1]
            guard case .conv(let w, _, _) = l.op else { continue }
            for r in 0..<2 {
                // Interior: the rows whose window (within the image) lies in the input rows this rank owns.
                let own = partition.layers[i - 1].blocks[r], mine = partition.layers[i].blocks[r]
                let rows = (mine.rowLower..<mine.rowUpper).filter {
                    let (a, b) = w.inputRows(outputRows: $0, $0 + 1, inputHeight: src.shape.height)
                    return a >= own.rowLower && b <= own.rowUpper
                }
                // A layer with no interior row (a band of 2 rows under a 3x3 window) does not overlap.
                #expect(two[r][i] == (rows.isEmpty || heavy.contains(i) ? nil : rows.first! ..< rows.last! + 1), "\(l.name) rank \(r)")
            }
            // A row-split 3x3 convolution with padding 1 and stride 1 leaves out the one row next to the halo.
            let h = l.shape.height
            if w.kernelH == 3 && w.strideH == 1 && h == src.shape.height && partition.layers[i].scheme == .rows {
                #expect(two[0][i] == 0 ..< h / 2 - 1 && two[1][i] == h / 2 + 1 ..< h, "\(l.name)")
                threeByThree += 1
            }
        }
        #expect(threeByThree >= 2)
        for r in 0..<2 { #expect(Set(two[r].keys).isSubset(of: expected), "rank \(r): \(two[r].keys.sorted()) of \(expected)") }
    }

    @Test("Tiny-YOLOv3 (128x128) on 2, 3 and 4 ranks, in batches of 3 on 2: overlap or not, the 1-rank bits")
    func sameBits() throws {
        let net = try ModelSource.zoo("tiny-yolov3", seed: 5, targetRate: 0.15, inputSize: 128)
        let src = SyntheticSource(shape: net.inputShape, seed: 6, count: 3)
        let inputs = try (0..<3).map { try src.sample($0).input }
        var config = SimulationConfig(timesteps: 6, seed: 2, encoder: .bernoulli)
        config.maxPoolGate = .count
        let runs: [(ranks: Int, batch: Int)] = [(2, 1), (3, 1), (4, 1), (2, 3)]
        let base = try expectSameBits(net, inputs: inputs, config: config, runs: runs)
        try Self.expectOverlapChangesNothing(net, inputs: inputs, config: config, base: base)
    }

    @Test("Depthwise (table kernel, dilation 2) after a concat, and a strided convolution: branchy on 2 and 3 ranks")
    func tableKernel() throws {
        let net = try InvarianceTests.scaled("branchy")
        let dw: Int? = net.index(of: "dw")
        let two = try plans(net, ranks: 2, overlap: .interior)
        // dw (3x3, dilation 2, padding 2) over 16 rows: 8 per rank, the 2 next to the halo left out.
        #expect(dw.map { two[0][$0] } == 0..<6 && dw.map { two[1][$0] } == 10..<16, "\(two)")
        let src = SyntheticSource(shape: net.inputShape, seed: 4, count: 3)
        let inputs = try (0..<3).map { try src.sample($0).input }
        let config = SimulationConfig(timesteps: 10, seed: 2, encoder: .bernoulli)
        let base = try expectSameBits(net, inputs: inputs, config: config, runs: [(2, 1), (3, 1), (2, 2)])
        try Self.expectOverlapChangesNothing(net, inputs: inputs, config: config, base: base)
    }

    /// The runs of `base` (1 rank) repeated without overlap on 1 and 2 ranks and in batches of 3: the same bits.
    static func expectOverlapChangesNothing(_ net: Network, inputs: [[Float]], config c: SimulationConfig,
                                            base: (outputs: [[[Float]]], counters: [[LayerCounters]], steps: [[Int64]])) throws {
        var config = c
        config.overlap = .none
        for (k, b) in [(1, 1), (2, 1), (2, 3)] {
            let r = try simulateLocally(net, ranks: k, config: config, inputs: inputs, batch: b)
            #expect(r.counters == base.counters, "no overlap, \(k) ranks, batch \(b): counters differ")
            for s in inputs.indices { #expect(bits(r.outputs[s]) == bits(base.outputs[s]), "no overlap, \(k) ranks, batch \(b): outputs differ") }
        }
    }
}
