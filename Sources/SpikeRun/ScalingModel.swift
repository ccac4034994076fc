import Foundation
import SpikeCore
import SpikeEngine

/// The network a projection assumes: a latency/bandwidth (α-β) model. A message of `b` bytes costs
/// `latency + b / bandwidth`; a collective over `P` ranks costs `ceil(log2 P)` latencies.
public struct NetworkParameters: Sendable, Equatable {
    public var latencySeconds: Double
    public var bandwidthBytesPerSecond: Double
    public init(latencySeconds: Double = 1.5e-6, bandwidthBytesPerSecond: Double = 12e9) {
        self.latencySeconds = latencySeconds; self.bandwidthBytesPerSecond = bandwidthBytesPerSecond
    }
    /// Seconds of one message of `bytes`.
    public func message(_ bytes: Double) -> Double { latencySeconds + bytes / bandwidthBytesPerSecond }
    /// Seconds of one latency-bound collective (allreduce, barrier, gather of small data) over `ranks`.
    public func collective(ranks: Int) -> Double { Double(ScalingModel.log2Ceil(ranks)) * latencySeconds }
}

/// What a rank holds, per the engine's data layout today (LayerState, ConvGather).
public struct MemoryParameters: Sendable, Equatable {
    /// Copies of the weights each rank holds of the output channels it computes: one (the gather kernel's packed
    /// copy replaces the network's array; other layers keep the array). A layer in row bands needs all its
    /// weights on every rank; one split by output channels only its channels' share.
    public var weightCopies: Double = 1
    /// Bytes per owned neuron of a layer with neurons: its membrane (the bias is per channel; the current is the
    /// rank's shared scratch, counted once for the largest layer, except for layers that read the input layer,
    /// whose constant current under direct encoding is their own: 4 more bytes per neuron). A max-pool keeps a
    /// running sum per neuron of its input's view and borrows a shared per-step scratch of the largest view.
    public var bytesPerNeuron: Double = 4
    /// Bytes per event held in an event list (index and value, 4 bytes each).
    public var bytesPerEvent: Double = 8
    public init(weightCopies: Double = 1, bytesPerNeuron: Double = 4, bytesPerEvent: Double = 8) {
        self.weightCopies = weightCopies; self.bytesPerNeuron = bytesPerNeuron; self.bytesPerEvent = bytesPerEvent
    }
}

/// One projected configuration: `groups` rank groups of `ranksPerGroup` ranks each.
public struct Projection: Sendable, Equatable {
    public var ranksPerGroup: Int
    public var groups: Int
    public var ranks: Int { ranksPerGroup * groups }
    /// Why this partition cannot be made (e.g. more ranks than a layer has rows); the figures are 0 then.
    public var infeasible: String?
    /// Update and scatter per timestep on the busiest rank.
    public var computeSecondsPerStep = 0.0
    /// Spike exchange per timestep (the busiest rank of each layer, layers in sequence) plus one collective.
    public var communicationSecondsPerStep = 0.0
    /// Spike-packet bytes the busiest rank sends per timestep, and its messages per timestep.
    public var haloBytesPerStep = 0.0
    public var messagesPerStep = 0
    /// Per-image cost outside the timesteps (encoding, reset, decoding; measured) plus the output gather.
    public var overheadSecondsPerImage = 0.0
    /// One image on one group: T steps plus the overhead.
    public var secondsPerImage = 0.0
    /// All groups together, limited by the coordinator receiving one result per image.
    public var imagesPerSecond = 0.0
    /// The same if rank 0 did all of the measured per-image overhead itself, one image after another (it does
    /// build and write every image's record; reading, gathering and decoding happen in the groups): a lower bound.
    public var rootBoundImagesPerSecond = 0.0
    /// Largest per-rank resident memory of the partition, bytes.
    public var memoryBytesPerRank = 0.0
    /// Replicated weights, owned membranes and buffers, and the measured baseline of that rank.
    public var weightBytes = 0.0, neuronBytes = 0.0, bufferBytes = 0.0, baselineBytes = 0.0

    /// Seconds to evaluate `images` images: whole rounds of one image per group, or the coordinator's limit.
    public func seconds(images: Int) -> Double {
        guard infeasible == nil else { return 0 }
        let rounds = Double((images + groups - 1) / groups) * secondsPerImage
        return max(rounds, Double(images) / imagesPerSecond)
    }

    /// The same with rank 0 doing all the per-image overhead serially (`rootBoundImagesPerSecond`).
    public func rootBoundSeconds(images: Int) -> Double {
        guard infeasible == nil else { return 0 }
        return max(seconds(images: images), Double(images) / rootBoundImagesPerSecond)
    }
}

/// Projects time per image, throughput and per-rank memory of a network on rank groups of any size from
/// per-layer costs measured here (`ScalingProfile`) and an assumed network (`NetworkParameters`).
///
/// For `P` ranks per group it makes the engine's own row-band/channel `Partition` and, per timestep:
/// - compute: on each rank, the sum over layers of the layer's measured whole-layer seconds times the
///   rank's share of the layer's neurons; the busiest rank sets the pace;
/// - exchange: per layer, on each rank, one message per transfer the partition lists (latency each) plus
///   the packet bytes (the engine's delta-list or bitmap encoding, whichever is smaller, at the layer's
///   measured firing rate) over the bandwidth; the busiest rank per layer, layers one after the other
///   (layers one after the other: the exchange is charged in full, though `--overlap interior` computes the next
///   convolution's interior rows while it is in flight; at 2 ranks that measured no gain, RESULTS "Exchange overlap",
///   so the model does not credit it: an upper bound); plus one collective (`ceil(log2 P)` latencies);
/// - per image: the measured per-image overhead (not divided by ranks) and a gather of the outputs.
/// Groups work on different images; the coordinator receives one result message per image.
/// Memory per rank: replicated weights, owned neurons' state, event buffers of the owned and viewed
/// ranges, plus a baseline (binary, runtime, MPI) fitted so that the profiled run's peak RSS is met.
public struct ScalingModel: Sendable {
    public let network: Network
    public let profile: ScalingProfile
    public var net: NetworkParameters
    public var memory: MemoryParameters
    /// Timesteps per image of the projection.
    public var timesteps: Int
    /// How the projected partitions split each layer (`--partition`).
    public var policy: PartitionPolicy
    /// Each layer's measured seconds per step for the whole layer on one rank.
    public let wholeLayerSeconds: [Double]
    /// Baseline resident bytes of a rank (peak RSS of the profile minus what the model accounts for).
    public let baselineBytes: Double

    public init(network: Network, profile: ScalingProfile, net: NetworkParameters = NetworkParameters(),
                memory: MemoryParameters = MemoryParameters(), timesteps: Int? = nil, policy: PartitionPolicy = .auto) throws {
        try profile.check(matches: network, path: "profile")
        self.policy = policy
        self.network = network; self.profile = profile; self.net = net; self.memory = memory
        self.timesteps = timesteps ?? profile.timesteps
        let measured = try Partition(network: network, ranks: profile.ranks, policy: profile.partitionPolicy ?? .auto)
        wholeLayerSeconds = network.layers.indices.map { i in
            let c = network.layers[i].shape.channels
            let share = measured.layers[i].blocks.map { Double($0.ownedCount(channels: c)) }.max()! / Double(max(1, network.layers[i].shape.count))
            return share > 0 ? profile.layers[i].secondsPerStep / share : 0
        }
        let accounted = (0..<profile.ranks).map { r in
            ScalingModel.rankMemory(network: network, partition: measured, rank: r, rates: profile.layers.map(\.firingRate), memory: memory,
                                    timesteps: profile.timesteps)
        }
        let fits = zip(profile.peakResidentBytes, accounted).map { Double($0) - ($1.weights + $1.neurons + $1.buffers) }
        baselineBytes = max(0, fits.min() ?? 0)
    }

    /// The largest number of ranks one partition of this network can have (a row band per rank needs a row).
    public static func maxRanksPerGroup(_ network: Network) -> Int {
        network.layers.filter { !$0.shape.isVector }.map(\.shape.height).min() ?? Int.max
    }

    public static func log2Ceil(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount }

    /// Bytes of one spike packet for `count` neurons firing at `rate` per step (the engine's encoding,
    /// `SpikePacket`): the delta list (1 tag byte, a count varint, one varint per event at the mean gap)
    /// or the bitmap (1 or 2 bits per neuron), whichever is smaller; analog (multi-valued) events carry 4 more bytes.
    public static func packetBytes(count: Int, rate: Double, signed: Bool, analog: Bool) -> Double {
        let events = rate * Double(count)
        guard events > 0 else { return 1 }
        let gap = max(0, Double(count) / events - 1) * (signed ? 2 : 1)
        let gapBytes = Double(varintBytes(UInt64(gap.rounded())))
        let list = 1 + Double(varintBytes(UInt64(events.rounded()))) + events * (gapBytes + (analog ? 4 : 0))
        if analog { return list }
        let bitmap = 1 + ceil(Double(count * (signed ? 2 : 1)) / 8)
        return min(list, bitmap)
    }

    static func varintBytes(_ v: UInt64) -> Int { v < 128 ? 1 : 1 + varintBytes(v >> 7) }

    /// True when a layer's events carry values (burst, few-spike or leaky-integrator neurons upstream).
    static func multiValued(_ i: Int, _ network: Network) -> Bool {
        let l = network.layers[i]
        if let n = l.neuron { return n.burst > 1 || n.kind == .fewSpike || n.kind == .leakyIntegrator }
        if case .input = l.op { return false }
        return l.inputs.contains { multiValued($0, network) }
    }

    /// What rank `rank` holds under `partition`, bytes: weights (all of a layer in row bands, its channels' share
    /// of one split by output channels), the state arrays of its blocks, event buffers.
    public static func rankMemory(network: Network, partition: Partition, rank r: Int, rates: [Double], memory m: MemoryParameters,
                                  timesteps: Int)
        -> (weights: Double, neurons: Double, buffers: Double) {
        var weights = 0.0, neurons = 0.0, buffers = 0.0
        var sharedCurrent = 0, gateScratch = 0
        for (i, l) in network.layers.enumerated() {
            let b = partition.layers[i].blocks[r]
            let share = b.channelSplit ? Double(b.channelUpper - b.channelLower) / Double(l.shape.channels) : 1
            weights += m.weightCopies * 4 * (Double(l.weightCount) * share + Double(l.bias.count))
            let owned = b.ownedCount(channels: l.shape.channels)
            if l.op.hasNeurons {
                neurons += m.bytesPerNeuron * Double(owned)
                if l.neuron?.memory == true { neurons += 4 * Double(owned) }   // IF with memory: a net count per neuron
                if l.inputs == [0] { neurons += 4 * Double(owned) } else { sharedCurrent = max(sharedCurrent, owned) }
            }
            if case .maxPool(let w) = l.op, let src = l.inputs.first {
                let view = partition.layers[src].blocks[r].view.count
                // Running sums: 8- or 16-bit integers where whole spikes over T steps fit, else Float.
                neurons += Double(MaxPoolGateMemory.bytesPerSum(network, layer: i, timesteps: timesteps)) * Double(view)
                if !w.tilesInput { gateScratch = max(gateScratch, view) }   // tiling windows need no scratch
            }
            buffers += m.bytesPerEvent * rates[i] * Double(b.own.count + b.view.count)
        }
        return (weights, neurons + 4 * Double(sharedCurrent + gateScratch), buffers)
    }

    /// Projects `groups` groups of `ranksPerGroup` ranks.
    public func project(ranksPerGroup P: Int, groups G: Int = 1) -> Projection {
        var p = Projection(ranksPerGroup: P, groups: G)
        let partition: Partition
        do { partition = try Partition(network: network, ranks: P, policy: policy) } catch let e as SpikeError {
            p.infeasible = e.message; return p
        } catch { p.infeasible = "\(error)"; return p }
        let rates = profile.layers.map(\.firingRate)
        var compute = [Double](repeating: 0, count: P)
        var exchange = 0.0
        var bytes = [Double](repeating: 0, count: P), messages = [Int](repeating: 0, count: P)
        for (i, l) in network.layers.enumerated() {
            let plan = partition.layers[i]
            let n = Double(max(1, l.shape.count))
            for r in 0..<P { compute[r] += wholeLayerSeconds[i] * Double(plan.blocks[r].ownedCount(channels: l.shape.channels)) / n }
            guard !plan.transfers.isEmpty else { continue }
            let signed = l.emitsSigned(in: network), analog = ScalingModel.multiValued(i, network)
            var send = [Double](repeating: 0, count: P), recv = send
            for tr in plan.transfers {
                let b = ScalingModel.packetBytes(count: tr.range.count, rate: rates[i], signed: signed, analog: analog)
                send[tr.source] += net.message(b); recv[tr.destination] += net.message(b)
                bytes[tr.source] += b; messages[tr.source] += 1
            }
            exchange += zip(send, recv).map { max($0, $1) }.max() ?? 0
        }
        let T = Double(timesteps)
        p.computeSecondsPerStep = compute.max() ?? 0
        p.communicationSecondsPerStep = exchange + (P > 1 ? net.collective(ranks: P) : 0)
        p.haloBytesPerStep = bytes.max() ?? 0
        p.messagesPerStep = messages.max() ?? 0
        let outputBytes = 4 * Double(network.outputs.reduce(0) { $0 + network.layers[$1].shape.count })
        let gather = P > 1 ? net.collective(ranks: P) + outputBytes / net.bandwidthBytesPerSecond : 0
        p.overheadSecondsPerImage = profile.overheadSecondsPerSample + gather
        p.secondsPerImage = T * (p.computeSecondsPerStep + p.communicationSecondsPerStep) + p.overheadSecondsPerImage
        // The coordinator receives each image's result (outputs and 5 counters per layer) from its group's lead.
        let resultSeconds = G > 1 ? net.message(outputBytes + 40 * Double(network.layers.count)) : 0
        p.imagesPerSecond = min(Double(G) / p.secondsPerImage, resultSeconds > 0 ? 1 / resultSeconds : .infinity)
        p.rootBoundImagesPerSecond = G > 1 ? min(p.imagesPerSecond, 1 / max(profile.overheadSecondsPerSample + resultSeconds, 1e-12)) : p.imagesPerSecond
        var worst = (0.0, 0.0, 0.0)
        for r in 0..<P {
            let m = ScalingModel.rankMemory(network: network, partition: partition, rank: r, rates: rates, memory: memory, timesteps: timesteps)
            if m.weights + m.neurons + m.buffers > worst.0 + worst.1 + worst.2 { worst = (m.weights, m.neurons, m.buffers) }
        }
        (p.weightBytes, p.neuronBytes, p.bufferBytes) = worst
        p.baselineBytes = baselineBytes
        p.memoryBytesPerRank = baselineBytes + worst.0 + worst.1 + worst.2
        return p
    }
}
