import Testing
import SpikeCore
import SpikeEngine

@Suite("Spike packets")
struct PacketTests {
    func roundTrip(_ idx: [Int], _ vals: [Float], range: FlatRange, signed: Bool) throws -> (EventList, Int) {
        var ev = EventList()
        for (i, v) in zip(idx, vals) { ev.append(i, v) }
        var buf = [UInt8]()
        SpikePacket.encode(ev, from: 0, to: ev.count, range: range, signed: signed, into: &buf)
        #expect(buf.count <= SpikePacket.maxSize(rangeCount: range.count, signed: signed))
        var out = EventList()
        try SpikePacket.decode(buf, range: range, signed: signed, into: &out)
        return (out, buf.count)
    }

    @Test("Sparse spikes use the delta list, dense ones the bitmap, both exact")
    func encodings() throws {
        let range = FlatRange(1000, 3000)
        let sparse = [1000, 1003, 1500, 2999]
        let (a, sizeA) = try roundTrip(sparse, [1, 1, 1, 1], range: range, signed: false)
        #expect(a.index.map(Int.init) == sparse && a.value == [1, 1, 1, 1])
        #expect(sizeA < 12)
        let dense = Array(stride(from: 1000, to: 3000, by: 3))
        let (b, sizeB) = try roundTrip(dense, dense.map { _ in 1 }, range: range, signed: false)
        #expect(b.index.map(Int.init) == dense)
        #expect(sizeB == 1 + 250)
        let signs: [Float] = dense.indices.map { $0 % 3 == 0 ? -1 : 1 }
        let (c, sizeC) = try roundTrip(dense, signs, range: range, signed: true)
        #expect(c.index.map(Int.init) == dense && c.value == signs)
        #expect(sizeC == 1 + 500)
        let (d, _) = try roundTrip([1001, 2000], [-1, 1], range: range, signed: true)
        #expect(d.value == [-1, 1])
        let (e, sizeE) = try roundTrip([], [], range: range, signed: true)
        #expect(e.count == 0 && sizeE == 1)
    }

    @Test("Analog packets carry values bit for bit")
    func analog() throws {
        var ev = EventList()
        ev.append(5, 0.123456); ev.append(9, -3.5e-7); ev.append(300, 1)
        var buf = [UInt8]()
        SpikePacket.encodeAnalog(ev, from: 0, to: 3, range: FlatRange(0, 400), into: &buf)
        var out = EventList()
        try SpikePacket.decode(buf, range: FlatRange(0, 400), signed: false, into: &out)
        #expect(out.index == ev.index && out.value.map(\.bitPattern) == ev.value.map(\.bitPattern))
    }

    @Test("Burst events go as count lists (one signed byte per value), exact; any other value as an analog list")
    func counts() throws {
        let range = FlatRange(0, 400)
        var ev = EventList()
        ev.append(5, 2); ev.append(9, -1); ev.append(10, 127); ev.append(300, -127); ev.append(399, 1)
        var buf = [UInt8]()
        SpikePacket.encodeCounts(ev, from: 0, to: 5, range: range, into: &buf)
        #expect(buf.first == 4)
        var analog = [UInt8]()
        SpikePacket.encodeAnalog(ev, from: 0, to: 5, range: range, into: &analog)
        #expect(buf.count + 3 * 5 == analog.count, "one value byte per event instead of four")
        var out = EventList()
        try SpikePacket.decode(buf, range: range, signed: false, into: &out)
        #expect(out.index == ev.index && out.value.map(\.bitPattern) == ev.value.map(\.bitPattern))
        // A value that is not a whole count of at most 127 spikes: the analog list, still exact.
        for odd: Float in [0.5, 128, -200, 0] {
            var e2 = EventList(); e2.append(3, 1); e2.append(4, odd)
            var b2 = [UInt8]()
            SpikePacket.encodeCounts(e2, from: 0, to: 2, range: range, into: &b2)
            #expect(b2.first == 3, "value \(odd)")
            var o2 = EventList()
            try SpikePacket.decode(b2, range: range, signed: false, into: &o2)
            #expect(o2.value.map(\.bitPattern) == e2.value.map(\.bitPattern))
        }
        // A span of the list (as a rank sends one neighbour's range).
        var part = [UInt8]()
        SpikePacket.encodeCounts(ev, from: 1, to: 4, range: FlatRange(9, 301), into: &part)
        var o3 = EventList()
        try SpikePacket.decode(part, range: FlatRange(9, 301), signed: false, into: &o3)
        #expect(o3.index == [9, 10, 300] && o3.value == [-1, 127, -127])
    }

    @Test("Malformed packets are rejected, never crash")
    func malformed() throws {
        let range = FlatRange(0, 100)
        for bad: [UInt8] in [[], [9], [1], [1, 5, 0], [1, 1, 200], [2, 0], [0, 0], [1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [3, 1, 0, 1], [4, 1, 0], [4, 1, 0, 0], [4, 2, 0, 1], [4, 1, 100, 1], [4, 1, 0, 1, 0]] {
            var out = EventList()
            #expect(throws: SpikeError.self) { try SpikePacket.decode(bad, range: range, signed: false, into: &out) }
        }
        // Random bytes: decoding either succeeds with in-range indices or throws.
        var g = Philox(seed: 7)
        for trial in 0..<2000 {
            let n = Int(g.uniform(trial, 0) * 40)
            let bytes = (0..<n).map { UInt8(g.uniform(trial, $0 + 1) * 256) }
            var out = EventList()
            if (try? SpikePacket.decode(bytes, range: range, signed: trial % 2 == 0, into: &out)) != nil {
                #expect(out.index.allSatisfy { $0 >= 0 && $0 < 100 })
            }
            _ = g
            g = Philox(seed: 7)
        }
    }

    @Test("Decoding appends to a view's events; a packet rejected part-way (any list encoding) leaves them as they were")
    func decodeAppends() throws {
        let range = FlatRange(100, 200)
        var view = EventList()
        view.append(3, 1); view.append(7, -1)
        for (idx, signed) in [([100, 150, 199], true), (Array(stride(from: 100, to: 200, by: 2)), false)] {
            var buf = [UInt8]()
            var ev = EventList()
            for i in idx { ev.append(i, 1) }
            SpikePacket.encode(ev, from: 0, to: ev.count, range: range, signed: signed, into: &buf)
            var out = view
            try SpikePacket.decode(buf, range: range, signed: signed, into: &out)
            #expect(out.index.map(Int.init) == [3, 7] + idx && out.value == [1, -1] + idx.map { _ in 1 })
            #expect(out.index.count == out.value.count)
        }
        // A delta list whose third event lies outside the range: an error, and nothing appended.
        var out = view
        #expect(throws: SpikeError.self) { try SpikePacket.decode([1, 3, 0, 0, 120], range: range, signed: false, into: &out) }
        #expect(out.index == view.index && out.value == view.value)
        // The same for analog and count lists whose second event is cut short.
        for bad: [UInt8] in [[3, 2, 0, 0, 0, 128, 63, 1, 0, 0], [4, 2, 0, 2, 1]] {
            #expect(throws: SpikeError.self) { try SpikePacket.decode(bad, range: range, signed: false, into: &out) }
            #expect(out.index == view.index && out.value == view.value, "\(bad)")
        }
    }

    @Test("Merging runs of events: sorted, values kept with their indices, whatever the scratch held")
    func mergeRuns() {
        var g = SplitMix64(seed: 11)
        for trial in 0..<200 {
            // Up to 4 runs (one per rank), each ascending; indices distinct across runs.
            let runs = 1 + Int(g.next() % 4)
            let all = (0..<(Int(g.next() % 300))).map { $0 * 3 + Int(g.next() % 3) }
            var owner = all.map { _ in Int(g.next() % UInt64(runs)) }
            if trial % 10 == 0 { owner = owner.map { _ in 0 } }
            var list = EventList(), starts = [Int]()
            for r in 0..<runs {
                starts.append(list.count)
                for (i, o) in zip(all, owner) where o == r { list.append(i, Float(i) * 0.5 - 7) }
            }
            // Scratch larger, smaller or empty, with unequal arrays never arising.
            var scratch = EventList()
            for k in 0..<Int(g.next() % 600) { scratch.append(k, 0) }
            list.mergeRuns(starts, scratch: &scratch)
            #expect(list.index.map(Int.init) == all)
            #expect(list.value == all.map { Float($0) * 0.5 - 7 })
            #expect(scratch.index.count == scratch.value.count)
        }
    }
}

@Suite("Partition planner")
struct PartitionTests {
    @Test("Row bands with halos for any rank count, channels for vector layers")
    func bands() throws {
        let net = try ModelZooNetworks.branchy()
        for ranks in 1...4 {
            let p = try Partition(network: net, ranks: ranks)
            for (i, l) in net.layers.enumerated() {
                let owned = p.layers[i].blocks.map(\.own)
                // Owned ranges tile the layer exactly, in rank order.
                #expect(owned.first!.lower == 0 && owned.last!.upper == l.shape.count)
                for r in 1..<ranks { #expect(owned[r - 1].upper == owned[r].lower) }
                for b in p.layers[i].blocks { #expect(b.view.lower <= b.own.lower && b.own.upper <= b.view.upper || b.own.isEmpty) }
            }
        }
        // A 3x3 conv on 16 rows over 3 ranks: rank 1 owns rows 5..<10 and reads input rows 4..<11.
        let p3 = try Partition(network: net, ranks: 3)
        let conv0 = net.index(of: "conv0")!
        let b = p3.layers[conv0].blocks[1]
        #expect(b.rowLower == 5 && b.rowUpper == 10)
        let rs = net.layers[0].shape.rowStride
        #expect(p3.layers[0].blocks[1].view == FlatRange(4 * rs, 11 * rs))
    }

    @Test("More ranks than rows is an error naming the layer")
    func tooManyRanks() throws {
        let net = try ModelZooNetworks.branchy()
        #expect(throws: SpikeError.self) { try Partition(network: net, ranks: 5) }
        do { _ = try Partition(network: net, ranks: 5) } catch let e as SpikeError {
            #expect(e.message.contains("layer 'pool'") && e.message.contains("4 rows"))
        }
    }
}

import SpikeConvert
enum ModelZooNetworks {
    static func branchy() throws -> Network { var g = WeightInit(seed: 3); return try ModelZoo.branchy(init: &g) }
    static func mnist() throws -> Network { var g = WeightInit(seed: 3); return try ModelZoo.mnistCNN(init: &g) }
}
