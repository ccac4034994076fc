import Foundation
import SpikeAggregate
import SpikeANN
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeMetrics

/// One simulated sample as its group's leader hands it to the root: decoded outputs (at T, then at each
/// checkpoint), the group's summed counters, and the raster and layer values where recorded.
struct GroupSample: Codable {
    var index: Int
    var seconds: Double = 0
    var views: [[[Float]]] = []
    var counters: [Int64] = []
    var raster: RunResult.Raster?
    var layerValues: [[Float]]?
    /// Why the leader could not read the sample.
    var failure: String?
}

/// What the root (world rank 0) keeps across the samples of a run.
struct RootState {
    var accumulator: RunAccumulator
    let writer: ResultWriter?
    let ann: DenseForward?
    var layerErrors: LayerErrorAccumulator?
    var detection: DetectionScoring?
    var raster: RunResult.Raster?
    /// Spikes per timestep over the samples this invocation simulated, and how many it simulated.
    var stepTotals: [Int64]
    var simulatedHere = 0
    /// Samples left out because they could not be read (`--skip-bad-samples`).
    var skipped: [RunResult.SkippedSample] = []

    init(_ c: Coordinator, writer: ResultWriter?, source: InputSource?) throws {
        let root = c.isRoot
        accumulator = RunAccumulator(layers: c.network.layers.count, checkpoints: c.config.checkpoints.count)
        self.writer = writer
        ann = root && (c.options.compareANN || c.config.layerValues) ? try DenseForward(c.annNetwork ?? c.network, rateLimited: c.options.rateLimitedANN, exactFewSpike: true) : nil
        layerErrors = root && c.config.layerValues ? LayerErrorAccumulator(network: c.network) : nil
        detection = root ? DetectionScoring(network: c.network, checkpoints: c.config.checkpoints.count) : nil
        stepTotals = [Int64](repeating: 0, count: c.config.timesteps)
        for r in writer?.previous ?? [] {
            accumulator.add(r)
            if detection != nil, let source {
                detection!.addPrevious(sample: try source.load(r.sample), snn: r.detections ?? [],
                                       checkpoints: r.checkpointDetections, ann: r.annDetections)
            }
        }
    }
}

extension Coordinator {
    /// Rule 2, in a group: the leader reads the samples of `indices` and broadcasts each; every rank of the
    /// group simulates its partition (all of them together: a batch, or a few-spike network's pipeline); the
    /// leader returns each sample's pack, in sample order (the others an empty list).
    func simulate(_ indices: [Int], sim: RankSimulator, source: InputSource?) throws -> [GroupSample] {
        let t0 = monotonicSeconds()
        var inputs = [(sample: Int, input: [Float])]()
        var packs = [GroupSample]()
        for index in indices {
            var bytes = [UInt8]()
            if isLeader {
                do {
                    let s = try source!.load(index)
                    bytes = SampleMessage.sample(label: s.label, input: s.input).bytes
                } catch { bytes = SampleMessage.failure("\(error)").bytes }
            }
            try group.broadcast(&bytes, root: 0)
            switch SampleMessage(bytes: bytes) {
            case let .sample(_, x): inputs.append((index, x))
            case let .failure(text):
                guard options.groups > 1 || options.skipBadSamples else { throw CollectiveError(message: "sample \(index): " + text) }
                if isLeader { packs.append(GroupSample(index: index, failure: "sample \(index): " + text)) }
            }
        }
        let results = try sim.run(batch: inputs)
        // A batch's or pipelined chunk's wall time is shared out evenly between its samples.
        let seconds = (monotonicSeconds() - t0) / Double(max(1, inputs.count))
        for ((index, _), res) in zip(inputs, results) {
            let mine = (res.outputs.flatMap(\.values) + res.checkpointValues.flatMap { $0 }).withUnsafeBytes { Array($0) }
            let gathered = try group.gather(mine, root: 0)
            let counters = try group.allreduceSum(SampleCounters(res).flat)
            var raster: RunResult.Raster?
            if index == config.rasterSample && config.rasterNeurons > 0 { raster = try gatherRaster(res, sample: index) }
            var values: [[Float]]?
            if config.layerValues {
                let all = try group.gather(res.layerValues.flatMap { $0 }.withUnsafeBytes { Array($0) }, root: 0)
                if isLeader { values = assemble(all, layers: layerValueLayers()) }
            }
            if isLeader {
                packs.append(GroupSample(index: index, seconds: seconds, views: outputViews(gathered), counters: counters,
                                         raster: raster, layerValues: values))
            }
        }
        return packs.sorted { $0.index < $1.index }
    }

    /// The root takes the held packs in sample order (rule 2). With one group they are the root's own;
    /// with several, every leader's are gathered over the world first, and every rank learns whether a
    /// sample failed (the packs before it are kept).
    func take(_ held: [GroupSample], source: InputSource?, state: inout RootState) throws {
        // With one group the packs are the root's own; whether writing them failed is still agreed, so that every
        // rank ends with the one error rank 0 prints (an abort could lose it).
        guard options.groups > 1 else { try agreeOnRoot { for p in held { try absorb(p, source: source, state: &state) } }; return }
        // The root's own packs stay as they are; the other leaders' come in GroupSampleCoding's binary form.
        let all = try transport.gather(held.isEmpty || isRoot ? [] : try GroupSampleCoding.encode(held), root: 0)
        try agreeOnRoot {
            let packs = try held + all.filter { !$0.isEmpty }.flatMap { try GroupSampleCoding.decode($0) }
            for p in packs.sorted(by: { $0.index < $1.index }) { try absorb(p, source: source, state: &state) }
        }
    }

    /// The root takes one sample's pack: its record goes to the samples file and the accumulator. A sample
    /// that could not be read stops the run, or with `--skip-bad-samples` is listed as skipped.
    func absorb(_ p: GroupSample, source: InputSource?, state: inout RootState) throws {
        if let failure = p.failure {
            guard options.skipBadSamples else { throw SpikeError(failure) }
            state.skipped.append(RunResult.SkippedSample(sample: p.index, reason: failure))
            return
        }
        let sample = try source!.load(p.index)
        let counters = SampleCounters(flat: p.counters, layers: network.layers.count, timesteps: config.timesteps,
                                      checkpoints: config.checkpoints.count)
        state.simulatedHere += 1
        if let r = p.raster { state.raster = r }
        if let v = p.layerValues, let ann = state.ann { state.layerErrors!.add(snn: v, ann: ann.run(sample.input)) }
        let record = makeRecord(p.index, sample: sample, views: p.views, counters: counters, seconds: p.seconds, state: &state)
        for (t, v) in counters.spikesPerStep.enumerated() { state.stepTotals[t] += v }
        try state.writer?.append(record)
        state.accumulator.add(record)
    }

    /// The record of one sample on rank 0: predictions, counters, detections and the ANN's answer.
    func makeRecord(_ index: Int, sample: Sample, views: [[[Float]]], counters: SampleCounters, seconds: Double,
                    state: inout RootState) -> SampleRecord {
        let outputs = views[0]
        let single = network.outputs.count == 1
        let prediction = single ? argmax(outputs[0]) : nil
        let checkpointPredictions = single ? views.dropFirst().map { argmax($0[0]) ?? 0 } : []
        let annOutputs = state.ann.map { $0.predict(sample.input) }
        var found: (snn: [Detection], checkpoints: [[Detection]], ann: [Detection]?)?
        if state.detection != nil {
            found = state.detection!.add(image: index, sample: sample, snnOutputs: outputs,
                                         checkpointOutputs: Array(views.dropFirst()), annOutputs: annOutputs)
        }
        var annPrediction: Int?
        if let o = annOutputs, state.detection == nil, o.count == 1 { annPrediction = argmax(o[0]) }
        let layers = counters.layers.map(\.flatValues)
        return SampleRecord(sample: index, label: sample.label, prediction: prediction, outputs: outputs,
                            spikes: counters.spikes(in: network), synapticOps: layers.reduce(0) { $0 + $1[2] },
                            analogMacs: layers.reduce(0) { $0 + $1[3] }, busiestStepSpikes: counters.spikesPerStep.max() ?? 0,
                            layers: layers, seconds: seconds, annPrediction: annPrediction,
                            checkpointPredictions: checkpointPredictions.isEmpty ? nil : checkpointPredictions,
                            checkpointCounters: counters.checkpoints.isEmpty ? nil : counters.checkpoints.map(\.flat),
                            detections: found?.snn, checkpointDetections: (found?.checkpoints.isEmpty ?? true) ? nil : found?.checkpoints,
                            annDetections: found?.ann)
    }

    /// The decoded outputs at T, then at each checkpoint, placed from every rank's owned ranges.
    func outputViews(_ gathered: [[UInt8]]) -> [[[Float]]] {
        let C = config.checkpoints.count
        var views = [[[Float]]](repeating: network.outputs.map { [Float](repeating: 0, count: network.layers[$0].shape.count) },
                                count: C + 1)
        for (r, b) in gathered.enumerated() {
            let vals = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            var off = 0
            for v in 0...C {
                for (o, li) in network.outputs.enumerated() {
                    let range = partition.layers[li].blocks[r].own
                    for j in 0..<range.count { views[v][o][range.lower + j] = vals[off + j] }
                    off += range.count
                }
            }
        }
        return views
    }

    /// The layers whose per-neuron decoded values `--layer-errors` records.
    func layerValueLayers() -> [Int] { network.layers.indices.filter { RankSimulator.recordsValues(network, $0) } }

    /// Full per-layer vectors (empty for other layers) from every rank's owned values of `layers`, in order.
    func assemble(_ gathered: [[UInt8]], layers: [Int]) -> [[Float]] {
        var full = network.layers.indices.map { i in [Float](repeating: 0, count: layers.contains(i) ? network.layers[i].shape.count : 0) }
        for (r, b) in gathered.enumerated() {
            let vals = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            var off = 0
            for i in layers {
                let n = partition.layers[i].blocks[r].ownedCount(channels: network.layers[i].shape.channels)
                partition.place(Array(vals[off ..< off + n]), rank: r, layer: i, channels: network.layers[i].shape.channels, into: &full[i])
                off += n
            }
        }
        return full
    }

    /// The raster sample's spike times of the recorded neurons, gathered to rank 0.
    func gatherRaster(_ res: RankSampleResult, sample: Int) throws -> RunResult.Raster? {
        let mine = res.raster.flatMap { [Int64($0.layer), Int64($0.neuron), Int64($0.time)] }
        let all = try group.gather(mine.withUnsafeBytes { Array($0) }, root: 0)
        guard isLeader else { return nil }
        var byNeuron = [Int: [Int]]()
        for b in all {
            let v = b.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            for k in stride(from: 0, to: v.count - 2, by: 3) { byNeuron[Int(v[k]) << 32 | Int(v[k + 1]), default: []].append(Int(v[k + 2])) }
        }
        var neurons = [RunResult.RasterNeuron]()
        for (i, l) in network.layers.enumerated() where network.countsSpikes(i) {
            for n in RankSimulator.rasterPicks(count: l.shape.count, per: config.rasterNeurons) {
                neurons.append(RunResult.RasterNeuron(layer: l.name, neuron: n, spikeTimes: byNeuron[i << 32 | n] ?? []))
            }
        }
        return RunResult.Raster(sample: sample, timesteps: config.timesteps, neurons: neurons)
    }
}
