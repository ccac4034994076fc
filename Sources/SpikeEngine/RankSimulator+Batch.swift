import SpikeCore

/// Batches: B samples simulated together on each rank (`--batch B`).
///
/// Each sample of a batch has a lane: a simulator with layer states of its own (membranes, currents, events),
/// sharing the network's weights, the packed convolution weights, the scatter tables and the emission
/// scratch with the first lane. Lanes advance in lockstep, layer by layer: at timestep t, layer l runs for
/// every lane in turn, so its weights are fetched once into cache and reused by the batch's other samples,
/// and then one exchange round carries every lane's events of layer l (one message per destination rank
/// instead of B). Each lane sees exactly the events, in exactly the order, that its sample sees alone, so
/// outputs and counters do not depend on B (or on how samples are cut into batches).
extension RankSimulator {
    /// Simulates `batch` samples together for `config.timesteps` steps; one result per sample, each equal to
    /// the sample's result alone. Few-spike networks go through their layer pipeline (`runFewSpike`).
    ///
    /// The timestep loop, the rules in one place:
    /// 1. At t = 1...T, layers run in topological order; a layer sees the events its inputs emitted
    ///    in the same timestep (no synaptic delay). Within a layer, the batch's samples run in order.
    /// 2. The input layer encodes the sample for the whole view this rank needs, locally: direct
    ///    encoding emits the analog values, Bernoulli draws from Philox keyed by
    ///    (seed, sample, layer 0, neuron, t). No input events cross ranks.
    /// 3. A layer with neurons sets I = bias, adds its inputs' events in input order and, within an
    ///    input, in ascending source index (Kernels), then updates V and fires (LayerState.fire).
    ///    A current fed only by the constant direct input (directly or through routing layers) is computed
    ///    once and reused; the input and those routing layers then run, and exchange, at t = 1 only.
    /// 4. Max-pool and routing layers re-index their inputs' events for their owned block.
    /// 5. Right after a layer has produced its owned events for every sample of the batch, they are sent to
    ///    the ranks whose view needs them (halo rows, or everything for global fan-in), all samples in one
    ///    message per destination, and each sample's view is assembled from the pieces in rank order, which is
    ///    ascending index order: around the rank's own events, in their list (LayerState.inPlaceView), or, for a
    ///    layer split by output channels (whose pieces interleave) and for few-spike layers, in a list of its own.
    ///    Consumers read only the view. Overlap (`SimulationConfig.overlap`): when the next layer is a convolution
    ///    that reads only this one, the messages are posted, then that layer's interior rows (whose input window
    ///    lies in this rank's own rows) are computed from the owned events for every sample, then the exchange is
    ///    waited for and the view assembled, and the rest of that layer's rows are computed from the view in its
    ///    turn (rule 1). Every output row is computed whole in one of the two passes, so each neuron adds the same
    ///    events in the same order as without overlap (rule 3), and the results do not depend on it.
    /// 6. Counters count owned neurons only, so their sum over ranks counts each event once.
    public func run(batch: [(sample: Int, input: [Float])]) throws -> [RankSampleResult] {
        if isFewSpike { return try runFewSpike(samples: batch) }
        guard !batch.isEmpty else { return [] }
        let lanes = try self.lanes(batch.count)
        var progress = [SampleProgress]()
        for (lane, b) in zip(lanes, batch) { progress.append(try lane.begin(sample: b.sample, input: b.input)) }
        defer { gatherLaneCounts(lanes) }
        for t in 1...config.timesteps {
            for i in states.indices {
                for (k, lane) in lanes.enumerated() { lane.advance(lane.states[i], t: t, &progress[k]) }
                guard i > 0 && !partition.layers[i].transfers.isEmpty && !(states[i].onlyOnce && t > 1) else { continue }
                if i + 1 < states.count && !states[i + 1].interiorRows.isEmpty {
                    let pending = try postExchange(layer: i, lanes: lanes)
                    for lane in lanes { lane.computeInterior(lane.states[i + 1]) }
                    try completeExchange(layer: i, lanes: lanes, pending)
                } else {
                    try exchange(layer: i, lanes: lanes)
                }
            }
            for (k, lane) in lanes.enumerated() { lane.endStep(t, &progress[k]) }
            if t == 1 {
                // Layers that run at t = 1 only: nothing reads their events again this sample; free them.
                for lane in lanes { for s in lane.states where s.onlyOnce { s.own = EventList(); s.view = EventList() } }
            }
        }
        return zip(lanes, progress).map { $0.finish($1) }
    }

    /// This simulator and the extra lanes of a batch of `count`, built once for the largest batch seen.
    func lanes(_ count: Int) throws -> [RankSimulator] {
        while extraLanes.count < count - 1 {
            extraLanes.append(try RankSimulator(network: network, partition: partition, transport: transport, config: config, sharing: self))
        }
        return [self] + extraLanes.prefix(count - 1)
    }

    /// Adds the extra lanes' time and per-channel spike counts to this simulator's (which the run reports) and
    /// clears theirs.
    func gatherLaneCounts(_ lanes: [RankSimulator]) {
        for lane in lanes.dropFirst() {
            timing.update += lane.timing.update
            lane.timing = RankTiming()
            for i in layerSeconds.indices { layerSeconds[i] += lane.layerSeconds[i]; lane.layerSeconds[i] = 0 }
            for i in channelSpikes.indices {
                for c in channelSpikes[i].indices { channelSpikes[i][c] += lane.channelSpikes[i][c]; lane.channelSpikes[i][c] = 0 }
            }
        }
    }

    /// Sends the owned events of layer `i` of every lane to the ranks that need them and assembles each lane's
    /// view. One message per destination: a lane's packet alone for one lane, else each lane's packet after its
    /// length (4 bytes, little endian).
    func exchange(layer i: Int, lanes: [RankSimulator]) throws {
        try completeExchange(layer: i, lanes: lanes, postExchange(layer: i, lanes: lanes))
    }

    /// The first half of `exchange(layer:lanes:)`: packs every lane's events of layer `i` and posts the messages.
    func postExchange(layer i: Int, lanes: [RankSimulator]) throws -> PendingExchange {
        let s = states[i]
        let t0 = monotonicSeconds()
        let framed = lanes.count > 1
        var msgs = [OutgoingMessage]()
        for tr in s.sends {
            var bytes = [UInt8]()
            for lane in lanes {
                let ls = lane.states[i]
                packBuffer.removeAll(keepingCapacity: true)
                let span = ls.own.span(tr.range)
                if ls.analog {
                    SpikePacket.encodeAnalog(ls.own, from: span.0, to: span.1, range: tr.range, into: &packBuffer)
                } else if ls.multiValued {
                    SpikePacket.encodeCounts(ls.own, from: span.0, to: span.1, range: tr.range, into: &packBuffer)
                } else {
                    SpikePacket.encode(ls.own, from: span.0, to: span.1, range: tr.range, signed: ls.signed, into: &packBuffer)
                }
                if framed { withUnsafeBytes(of: UInt32(packBuffer.count).littleEndian) { bytes.append(contentsOf: $0) } }
                bytes.append(contentsOf: packBuffer)
            }
            msgs.append(OutgoingMessage(destination: tr.destination, bytes: bytes))
            bytesSent += Int64(bytes.count); messagesSent += 1
        }
        let t1 = monotonicSeconds()
        timing.pack += t1 - t0
        let sources = s.receives.map { r -> (rank: Int, maxBytes: Int) in
            let one = s.analog || s.multiValued ? SpikePacket.maxAnalogSize(rangeCount: r.range.count)
                                                : SpikePacket.maxSize(rangeCount: r.range.count, signed: s.signed)
            return (r.source, framed ? lanes.count * (one + 4) : one)
        }
        let pending = try transport.post(msgs, from: sources, tag: i)
        timing.exchange += pending.postSeconds
        return pending
    }

    /// The second half: waits for the pending exchange of layer `i` and assembles each lane's view.
    func completeExchange(layer i: Int, lanes: [RankSimulator], _ pending: PendingExchange) throws {
        let s = states[i]
        let framed = lanes.count > 1
        let result = try transport.complete(pending)
        let t2 = monotonicSeconds()
        var pieces = [[ArraySlice<UInt8>]]()
        for (r, bytes) in result.received.enumerated() where framed {
            do {
                pieces.append(try Self.unframe(bytes, count: lanes.count))
            } catch let e as SpikeError {
                throw SpikeError("layer '\(s.layer.name)': from rank \(s.receives[r].source): \(e.message)")
            }
        }
        for (k, lane) in lanes.enumerated() {
            let ls = lane.states[i]
            if ls.inPlaceView {
                // Assembled around the owned events (LayerState.inPlaceView): the lower ranks' pieces go in front of
                // them, the higher ranks' after them; the owned events are not copied.
                ls.lowerScratch.removeAll()
                for (r, rcv) in s.receives.enumerated() {
                    do {
                        let packet = framed ? Array(pieces[r][k]) : result.received[r]
                        if rcv.source < transport.rank {
                            try SpikePacket.decode(packet, range: rcv.range, signed: ls.signed, into: &ls.lowerScratch)
                        } else {
                            try SpikePacket.decode(packet, range: rcv.range, signed: ls.signed, into: &ls.own)
                        }
                    } catch let e as SpikeError {
                        throw SpikeError("layer '\(s.layer.name)': from rank \(rcv.source)\(framed ? ", batch sample \(k)" : ""): \(e.message)")
                    }
                }
                try ls.placeLowerHalo()
                continue
            }
            ls.view.removeAll()
            var r = 0
            var starts = [Int]()
            for src in 0..<partition.ranks {
                starts.append(ls.view.count)
                if src == transport.rank {
                    let span = ls.own.span(ls.block.view)
                    ls.view.append(contentsOf: ls.own, from: span.0, to: span.1)
                } else if r < s.receives.count && s.receives[r].source == src {
                    do {
                        // One lane: the message is the packet itself (no copy).
                        let packet = framed ? Array(pieces[r][k]) : result.received[r]
                        try SpikePacket.decode(packet, range: s.receives[r].range, signed: ls.signed, into: &ls.view)
                    } catch let e as SpikeError {
                        throw SpikeError("layer '\(s.layer.name)': from rank \(src)\(framed ? ", batch sample \(k)" : ""): \(e.message)")
                    }
                    r += 1
                }
            }
            // A layer split by output channels: each rank's events span every position, so the pieces interleave.
            if ls.mergesView { ls.view.mergeRuns(starts, scratch: &ls.mergeScratch) }
        }
        timing.exchange += monotonicSeconds() - t2
        timing.wait += result.waitSeconds
    }

    /// The packets of a batched message of `count` samples (the wire format of `exchange(layer:lanes:)`).
    public static func splitBatchedMessage(_ bytes: [UInt8], count: Int) throws -> [[UInt8]] {
        try unframe(bytes, count: count).map { Array($0) }
    }

    /// Splits a batched message into its `count` length-prefixed packets; refuses a message that is not exactly that.
    static func unframe(_ bytes: [UInt8], count: Int) throws -> [ArraySlice<UInt8>] {
        var out = [ArraySlice<UInt8>]()
        var at = 0
        for k in 0..<count {
            guard bytes.count - at >= 4 else {
                throw SpikeError("batched message of \(bytes.count) bytes ends before the length of sample \(k) of \(count)")
            }
            let n = Int(UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24)
            at += 4
            guard n <= bytes.count - at else {
                throw SpikeError("batched message of \(bytes.count) bytes: sample \(k) of \(count) claims \(n) bytes, \(bytes.count - at) are left")
            }
            out.append(bytes[at ..< at + n])
            at += n
        }
        guard at == bytes.count else {
            throw SpikeError("batched message of \(bytes.count) bytes has \(bytes.count - at) bytes after its \(count) samples")
        }
        return out
    }
}
