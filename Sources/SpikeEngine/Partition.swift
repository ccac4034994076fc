import Foundation
import SpikeCore

/// How one layer's neurons are split over the ranks.
public enum PartitionScheme: String, Sendable, Codable {
    /// Contiguous bands of rows (spatial tiling); each band is one flat range in HWC.
    case rows
    /// Contiguous output-channel ranges: of a 1x1xC layer (a flat range each), or of a convolution over
    /// all its rows (each rank owns its channels at every position and holds only their weights).
    case channels
}

/// How `Partition` chooses each layer's scheme.
public enum PartitionPolicy: String, Sendable, Codable, CaseIterable {
    /// Row bands for every spatial layer (channel ranges for 1x1xC layers).
    case rows
    /// Per convolution, row bands or output-channel ranges, whichever the cost model prefers
    /// (`Partition.prefersChannels`); other layers as `rows`.
    case auto
}

/// One rank's share of a layer: the neurons it owns and the flat range of this layer it must see
/// (its own neurons plus what the consumers it runs read, e.g. halo rows).
public struct RankBlock: Hashable, Sendable, Codable {
    /// Flat range of owned neurons.
    public var own: FlatRange
    /// Owned rows `[rowLower, rowUpper)` (for `.channels`, `[0, 1)` when any channel is owned).
    public var rowLower: Int, rowUpper: Int
    /// Owned channels `[channelLower, channelUpper)` (all channels for `.rows`).
    public var channelLower: Int, channelUpper: Int
    /// Flat range this rank keeps of the layer's output each timestep (own ∪ what local consumers read).
    public var view: FlatRange
    /// True for a spatial layer split by output channels: `own` spans every position, but this rank owns
    /// only the channels `[channelLower, channelUpper)` at each. Its state arrays hold just those neurons,
    /// position by position (`local`); it updates, fires and counts only them.
    public var channelSplit = false

    /// The stride of a position in this rank's state arrays of a layer of `c` channels, and the flat index a
    /// neuron's local index is offset from: neuron (position p, channel ch) is at `p * stride + ch - base`.
    @inline(__always) public func stateStride(channels c: Int) -> Int { channelSplit ? channelUpper - channelLower : c }
    @inline(__always) public var stateBase: Int { channelSplit ? channelLower : own.lower }

    /// The index in this rank's state arrays of owned flat index `g` of a layer of `c` channels, and back.
    @inline(__always) public func local(_ g: Int, channels c: Int) -> Int {
        channelSplit ? (g / c) * (channelUpper - channelLower) + g % c - channelLower : g - own.lower
    }
    @inline(__always) public func global(_ i: Int, channels c: Int) -> Int {
        guard channelSplit else { return i + own.lower }
        let w = channelUpper - channelLower
        return (i / w) * c + channelLower + i % w
    }

    /// Neurons this rank owns (`own.count`, or its channels at every position of a channel split).
    public func ownedCount(channels c: Int) -> Int {
        channelSplit ? own.count / c * (channelUpper - channelLower) : own.count
    }

    /// True if this rank owns flat index `i` of a layer of `c` channels.
    @inline(__always)
    public func owns(_ i: Int, channels c: Int) -> Bool {
        guard own.contains(i) else { return false }
        if !channelSplit { return true }
        let ch = i % c
        return ch >= channelLower && ch < channelUpper
    }
}

/// A transfer of part of a layer's events from one rank to another every timestep.
public struct Transfer: Hashable, Sendable, Codable {
    public var source: Int
    public var destination: Int
    public var range: FlatRange
}

/// The split of one layer over all ranks and the transfers it needs each timestep.
public struct LayerPlan: Sendable {
    public var scheme: PartitionScheme
    public var blocks: [RankBlock]
    /// Point-to-point transfers (source != destination) of this layer's events, every timestep.
    public var transfers: [Transfer]
    /// True if every rank reads the whole layer (dense / global fan-in): an allgather pattern.
    public var gathersEverywhere: Bool
}

/// The partition of a whole network over `ranks` ranks: plain data, computed identically on every rank.
public struct Partition: Sendable {
    public let ranks: Int
    public let layers: [LayerPlan]

    /// Plans `network` over `ranks` ranks. Convolutional stacks are split into row bands with halo
    /// transfers from neighbours; 1x1xC layers into channel ranges; layers with a global fan-in
    /// (dense, global pooling) read every rank's events. With `.auto`, a convolution whose weights outweigh
    /// its neuron state (`prefersChannels`) is split by output channels instead: each rank holds only its
    /// channels' weights, and reads the whole input (an allgather of the input's events).
    ///
    /// Throws if a layer split in row bands has fewer rows than there are ranks, naming the layer.
    public init(network: Network, ranks: Int, policy: PartitionPolicy = .auto) throws {
        guard ranks >= 1 else { throw SpikeError("partition: the rank count must be at least 1, got \(ranks)") }
        self.ranks = ranks
        var plans = [LayerPlan]()
        let fewSpike = network.layers.contains { $0.neuron?.kind == .fewSpike }
        for (i, l) in network.layers.enumerated() {
            let s = l.shape
            var blocks = [RankBlock]()
            if policy == .auto, !fewSpike, Self.prefersChannels(network, i, ranks: ranks) {
                for r in 0..<ranks {
                    let lo = r * s.channels / ranks, hi = (r + 1) * s.channels / ranks
                    var b = RankBlock(own: FlatRange(0, s.count), rowLower: 0, rowUpper: s.height,
                                      channelLower: lo, channelUpper: hi, view: FlatRange(0, s.count))
                    b.channelSplit = true
                    if hi == lo { b.own = .empty; b.view = .empty; b.rowUpper = 0 }
                    blocks.append(b)
                }
                plans.append(LayerPlan(scheme: .channels, blocks: blocks, transfers: [], gathersEverywhere: false))
                continue
            }
            if s.isVector {
                for r in 0..<ranks {
                    let lo = r * s.channels / ranks, hi = (r + 1) * s.channels / ranks
                    blocks.append(RankBlock(own: FlatRange(lo, hi), rowLower: 0, rowUpper: hi > lo ? 1 : 0,
                                            channelLower: lo, channelUpper: hi, view: FlatRange(lo, hi)))
                }
            } else {
                guard s.height >= ranks else {
                    throw SpikeError("layer '\(l.name)': \(ranks) ranks but only \(s.height) rows of \(s) to split into row bands; use at most \(s.height) ranks")
                }
                for r in 0..<ranks {
                    let lo = r * s.height / ranks, hi = (r + 1) * s.height / ranks
                    blocks.append(RankBlock(own: FlatRange(lo * s.rowStride, hi * s.rowStride), rowLower: lo, rowUpper: hi,
                                            channelLower: 0, channelUpper: s.channels, view: FlatRange(lo * s.rowStride, hi * s.rowStride)))
                }
            }
            plans.append(LayerPlan(scheme: s.isVector ? .channels : .rows, blocks: blocks, transfers: [], gathersEverywhere: false))
        }
        // What each consumer reads of each of its inputs, on each rank, widens that input's view there.
        for (c, layer) in network.layers.enumerated() where c > 0 {
            for r in 0..<ranks {
                let b = plans[c].blocks[r]
                guard !b.own.isEmpty else { continue }
                for i in layer.inputs {
                    let need = Partition.inputRange(network: network, consumer: c, input: i, block: b)
                    plans[i].blocks[r].view = plans[i].blocks[r].view.hull(need)
                }
            }
        }
        for i in plans.indices {
            var transfers = [Transfer]()
            if case .input = network.layers[i].op {
                // Every rank has the whole input sample and encodes its own view: nothing to send.
            } else {
                for dst in 0..<ranks {
                    for src in 0..<ranks where src != dst {
                        let r = plans[i].blocks[src].own.intersection(plans[i].blocks[dst].view)
                        if !r.isEmpty { transfers.append(Transfer(source: src, destination: dst, range: r)) }
                    }
                }
            }
            plans[i].transfers = transfers
            let full = FlatRange(0, network.layers[i].shape.count)
            plans[i].gathersEverywhere = ranks > 1 && plans[i].blocks.allSatisfy { $0.view == full }
        }
        layers = plans
    }

    /// The cost model's choice for layer `i` over `ranks` ranks: output channels when the layer is a
    /// convolution the channel split supports (integrate-and-fire or signed IBT neurons, burst or not; at least
    /// 16 output channels per rank; not an output layer) and its weights outweigh the neuron state it would
    /// replicate. Per rank, rows hold W + S/P bytes and channels W/P + S (W: the weights, 4 B each; S: the
    /// neuron state the layer keeps, 8 B per neuron: its membrane, and its share of the events, currents and
    /// halo buffers), so channels are chosen exactly when they hold less: W > S. The compute per rank is the same
    /// share either way (channel ranges split the layer's work evenly; row bands do so up to rounding); the
    /// exchange grows (every rank reads the whole input and the whole layer, against a halo of rows), but at the
    /// firing rates of converted networks those are sparse event lists (measured in RESULTS, "Sharded weights").
    public static func prefersChannels(_ network: Network, _ i: Int, ranks: Int) -> Bool {
        guard ranks > 1, !network.outputs.contains(i) else { return false }
        let l = network.layers[i]
        guard case .conv(_, let outC, let groups) = l.op, groups == 1, !l.shape.isVector, outC >= 16 * ranks,
              let nm = l.neuron, nm.kind == .integrateAndFire || nm.kind == .signedIBT else { return false }
        let weightBytes = 4 * l.weightCount, stateBytes = 8 * l.shape.count
        return weightBytes > stateBytes
    }

    /// The flat range of input `input` that consumer `consumer` reads to compute `block`.
    static func inputRange(network: Network, consumer c: Int, input i: Int, block b: RankBlock) -> FlatRange {
        let layer = network.layers[c]
        let inS = network.layers[i].shape
        let full = FlatRange(0, inS.count)
        func rows(_ lo: Int, _ hi: Int) -> FlatRange { FlatRange(lo * inS.rowStride, hi * inS.rowStride) }
        switch layer.op {
        case .input: return .empty
        case .conv(let w, _, _), .avgPool(let w, _), .maxPool(let w):
            let (lo, hi) = w.inputRows(outputRows: b.rowLower, b.rowUpper, inputHeight: inS.height)
            return rows(lo, hi)
        case .dense, .globalAvgPool: return full
        case .flatten, .add, .activation: return b.own
        case .concat: return layer.shape.isVector ? full : rows(b.rowLower, b.rowUpper)
        case .channelSlice(let start, _):
            return layer.shape.isVector ? FlatRange(start + b.channelLower, start + b.channelUpper) : rows(b.rowLower, b.rowUpper)
        case .upsample(let f):
            return rows(b.rowLower / f, (b.rowUpper - 1) / f + 1)
        }
    }

    /// Writes rank `rank`'s values of layer `layer` (one per owned neuron, in the order of its state arrays, as
    /// the simulator reports them) into `full`, the whole layer.
    public func place(_ values: [Float], rank: Int, layer: Int, channels c: Int, into full: inout [Float]) {
        let b = layers[layer].blocks[rank]
        for j in 0..<min(values.count, b.ownedCount(channels: c)) { full[b.global(j, channels: c)] = values[j] }
    }

    /// A human-readable description of the plan: one line per layer.
    public func describe(_ network: Network) -> String {
        var lines = ["partition over \(ranks) rank(s):"]
        for (i, p) in layers.enumerated() {
            let l = network.layers[i]
            let own = p.blocks.map { p.scheme == .rows ? "\($0.rowLower)..<\($0.rowUpper)" : "\($0.channelLower)..<\($0.channelUpper)" }
            let halo = p.transfers.reduce(0) { $0 + $1.range.count }
            var weights = p.blocks.first?.channelSplit == true ? ", weights 1/\(ranks) per rank" : ""
            if ranks > 1, case .conv = l.op, l.weightCount > 0 {
                // The cost model's figures (prefersChannels): the layer's weights W against its neuron state S.
                weights += String(format: " (W %.2f MB, S %.2f MB)", 4 * Double(l.weightCount) / 1e6, 8 * Double(l.shape.count) / 1e6)
            }
            lines.append("  \(l.name) \(l.shape) by \(p.scheme.rawValue) [\(own.joined(separator: ", "))] transfers \(p.transfers.count) (\(halo) neurons)\(p.gathersEverywhere ? " allgather" : "")\(weights)")
        }
        return lines.joined(separator: "\n")
    }
}
