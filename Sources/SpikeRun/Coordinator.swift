import Foundation
import SpikeAggregate
import SpikeCore
import SpikeData
import SpikeANN
import SpikeEngine
import SpikeMetrics

/// An error every rank knows about (bad data read on rank 0 and broadcast, a plan that does not fit):
/// rank 0 reports it once and every rank exits non-zero without aborting.
public struct CollectiveError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Options of a coordinated run.
public struct RunOptions: Sendable {
    public var modelPath: String
    public var samples: Int
    /// Index of the first sample of the source to simulate.
    public var firstSample: Int = 0
    /// Result JSON path (rank 0 writes it); per-sample lines go to `jsonPath` + `.samples.jsonl`.
    public var jsonPath: String?
    public var energyPreset: EnergyPreset = EnergyPreset.all[0]
    /// Skip samples already in the samples file and count them in the totals.
    public var resume = false
    /// Replace existing result files instead of refusing to.
    public var overwrite = false
    /// Print a progress line on rank 0.
    public var progress = true
    /// Also run the ANN reference of the same network on rank 0 and report its metric beside the SNN's.
    public var compareANN = false
    /// The ANN reference clips every spiking layer to one spike per step (`DenseForward(rateLimited:)`):
    /// the limit a rate-coded SNN reaches as T grows.
    public var rateLimitedANN = false
    public init(modelPath: String, samples: Int) { self.modelPath = modelPath; self.samples = samples }
}

/// Runs samples through a `RankSimulator` on every rank; rank 0 reads and broadcasts the inputs,
/// gathers decoded outputs, reduces the counters and writes results as they finish.
public final class Coordinator {
    let network: Network
    let transport: Transport
    let config: SimulationConfig
    let options: RunOptions
    public let partition: Partition

    /// Plans the partition. Throws `CollectiveError` (identically on every rank) if it does not fit.
    public init(network: Network, transport: Transport, config: SimulationConfig, options: RunOptions) throws {
        self.network = network; self.transport = transport; self.config = config; self.options = options
        // Every rank holds the same network and config, so every rank reaches the same verdict.
        if config.layerValues && config.encoder == .events {
            throw CollectiveError(message: "layer errors compare with the ANN on a static image; event-frame input (--encoder events) has no ANN counterpart")
        }
        if config.decoding == .spikes, let i = network.outputs.first(where: { network.layers[$0].neuron?.kind == .accumulator }) {
            throw CollectiveError(message: "decoding 'spikes': output layer '\(network.layers[i].name)' has accumulator neurons, which never spike; convert with --output-neurons spiking (or decode by membrane)")
        }
        do { partition = try Partition(network: network, ranks: transport.size) } catch let e as SpikeError {
            throw CollectiveError(message: e.message)
        }
    }

    /// Rank 0 does `body`; its success or error message is broadcast, so all ranks agree.
    func agreeOnRoot(_ body: () throws -> Void) throws {
        var status = [UInt8]()
        if transport.rank == 0 {
            do { try body() } catch { status = Array("\(error)".utf8) }
        }
        try transport.broadcast(&status, root: 0)
        if !status.isEmpty { throw CollectiveError(message: String(decoding: status, as: UTF8.self)) }
    }

    /// Simulates `options.samples` samples from `source` (read on rank 0 only; pass nil elsewhere).
    /// Returns the run result on rank 0 and nil on the other ranks.
    public func run(source: InputSource?) throws -> RunResult? {
        let sim = try RankSimulator(network: network, partition: partition, transport: transport, config: config)
        let isRoot = transport.rank == 0
        var writer: ResultWriter?
        var done = [Int]()
        try agreeOnRoot {
            guard let source else { throw SpikeError("rank 0 has no input source") }
            guard options.samples >= 1 else { throw SpikeError("--samples must be at least 1, got \(options.samples)") }
            guard options.firstSample >= 0, options.firstSample + options.samples <= source.count else {
                throw SpikeError("samples \(options.firstSample)..<\(options.firstSample + options.samples) requested but \(source.description) has \(source.count)")
            }
            if config.encoder == .events && source.framesPerSample != config.timesteps {
                throw SpikeError("encoder 'events' needs \(config.timesteps) frames per sample (one per timestep) but \(source.description) gives \(source.framesPerSample); use event data with the frames representation and the same T")
            }
            if config.encoder != .events && source.framesPerSample != 1 {
                throw SpikeError("\(source.description) gives \(source.framesPerSample) frames per sample: use --encoder events")
            }
            if let p = options.jsonPath {
                writer = try ResultWriter(jsonPath: p, resume: options.resume, overwrite: options.overwrite)
                done = writer!.previous.map(\.sample)
            }
        }
        // Every rank skips the same samples on resume.
        var doneBytes = done.withUnsafeBytes { Array($0) }
        try transport.broadcast(&doneBytes, root: 0)
        let skip = Set(doneBytes.withUnsafeBytes { Array($0.bindMemory(to: Int.self)) })

        let L = network.layers.count, T = config.timesteps
        var totals = [LayerCounters](repeating: LayerCounters(), count: L)
        var busiest: Int64 = 0
        var correct = 0, labelled = 0, finished = 0
        for r in writer?.previous ?? [] {
            for (i, f) in r.layers.enumerated() where i < L && f.count == 5 { totals[i] = totals[i] + LayerCounters(flatArray: f) }
            busiest = max(busiest, r.busiestStepSpikes)
            if let l = r.label, let p = r.prediction { labelled += 1; if l == p { correct += 1 } }
            finished += 1
        }
        let ann: DenseForward? = (isRoot && (options.compareANN || config.layerValues)) ? try DenseForward(network, rateLimited: options.rateLimitedANN) : nil
        var layerErrors = isRoot && config.layerValues ? LayerErrorAccumulator(network: network) : nil
        var checkpointCorrect = [Int](repeating: 0, count: config.checkpoints.count)
        for r in writer?.previous ?? [] {
            for (c, p) in (r.checkpointPredictions ?? []).enumerated() where c < checkpointCorrect.count && p == r.label { checkpointCorrect[c] += 1 }
        }
        var annCorrect = 0, agree = 0, annCompared = 0
        for r in writer?.previous ?? [] where r.annPrediction != nil {
            annCompared += 1
            if r.annPrediction == r.label { annCorrect += 1 }
            if r.annPrediction == r.prediction { agree += 1 }
        }
        // Cumulative [spikes, synaptic ops, analog MACs] at each checkpoint, summed over samples.
        var checkpointTotals = [[Int64]](repeating: [0, 0, 0], count: config.checkpoints.count)
        for r in writer?.previous ?? [] {
            for (c, v) in (r.checkpointCounters ?? []).enumerated() where c < checkpointTotals.count && v.count == 3 {
                for j in 0..<3 { checkpointTotals[c][j] += v[j] }
            }
        }
        var detection = isRoot ? DetectionScoring(network: network, checkpoints: config.checkpoints.count) : nil
        if detection != nil, let source {
            for r in writer?.previous ?? [] {
                detection!.addPrevious(sample: try source.load(r.sample), snn: r.detections ?? [],
                                       checkpoints: r.checkpointDetections, ann: r.annDetections)
            }
        }
        var raster: RunResult.Raster?
        var simulatedHere = 0
        var stepTotals = [Int64](repeating: 0, count: T)
        let start = monotonicSeconds()
        let progress = ProgressLine(total: options.samples, enabled: isRoot && options.progress)
        for k in 0..<options.samples {
            let index = options.firstSample + k
            if skip.contains(index) { continue }
            let t0 = monotonicSeconds()
            var bytes = [UInt8]()
            var label: Int?
            var loaded: Sample?
            if isRoot {
                do {
                    let s = try source!.load(index)
                    label = s.label; loaded = s
                    bytes = [0] + withUnsafeBytes(of: Int64(s.label ?? -1)) { Array($0) } + s.input.withUnsafeBytes { Array($0) }
                } catch {
                    bytes = [1] + Array("\(error)".utf8)
                }
            }
            try transport.broadcast(&bytes, root: 0)
            guard bytes.first == 0 else {
                throw CollectiveError(message: "sample \(index): " + String(decoding: bytes.dropFirst(), as: UTF8.self))
            }
            let input = bytes[9...].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            let res = try sim.run(sample: index, input: input)
            simulatedHere += 1

            // Decoded outputs: concatenated owned values, gathered and placed by owned range.
            let mine = (res.outputs.flatMap(\.values) + res.checkpointValues.flatMap { $0 }).withUnsafeBytes { Array($0) }
            let all = try transport.gather(mine, root: 0)
            var flat = res.layers.flatMap { $0.flatValues }
            flat += res.spikesPerStep
            flat += res.checkpointCounters.flatMap { $0 }
            let summed = try transport.allreduceSum(flat)
            if index == config.rasterSample && config.rasterNeurons > 0 {
                let mine = res.raster.flatMap { [Int64($0.layer), Int64($0.neuron), Int64($0.time)] }
                let all = try transport.gather(mine.withUnsafeBytes { Array($0) }, root: 0)
                if isRoot {
                    var byNeuron = [Int: (layer: Int, neuron: Int, times: [Int])]()
                    for b in all {
                        let v = b.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
                        for k in stride(from: 0, to: v.count - 2, by: 3) {
                            let key = Int(v[k]) << 32 | Int(v[k + 1])
                            byNeuron[key, default: (Int(v[k]), Int(v[k + 1]), [])].times.append(Int(v[k + 2]))
                        }
                    }
                    var neurons = [RunResult.RasterNeuron]()
                    for (i, l) in network.layers.enumerated() where l.op.hasNeurons || i == 0 {
                        for n in RankSimulator.rasterPicks(count: l.shape.count, per: config.rasterNeurons) {
                            let times = byNeuron[i << 32 | n]?.times ?? []
                            neurons.append(RunResult.RasterNeuron(layer: l.name, neuron: n, spikeTimes: times))
                        }
                    }
                    raster = RunResult.Raster(sample: index, timesteps: T, neurons: neurons)
                }
            }
            if config.layerValues {
                let all = try transport.gather(res.layerValues.flatMap { $0 }.withUnsafeBytes { Array($0) }, root: 0)
                if isRoot, let ann {
                    var full = network.layers.indices.map { i in
                        [Float](repeating: 0, count: RankSimulator.recordsValues(network, i) ? network.layers[i].shape.count : 0)
                    }
                    for (r, b) in all.enumerated() {
                        let vals = b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
                        var off = 0
                        for i in network.layers.indices where RankSimulator.recordsValues(network, i) {
                            let range = partition.layers[i].blocks[r].own
                            for j in 0..<range.count { full[i][range.lower + j] = vals[off + j] }
                            off += range.count
                        }
                    }
                    layerErrors!.add(snn: full, ann: ann.run(input))
                }
            }
            guard isRoot else { continue }
            let C = config.checkpoints.count
            // outputs at T, then at each checkpoint; every rank sends its owned values in that order.
            var views = [[[Float]]](repeating: network.outputs.map { [Float](repeating: 0, count: network.layers[$0].shape.count) },
                                    count: C + 1)
            for (r, b) in all.enumerated() {
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
            let outputs = views[0]
            var checkpointPredictions = [Int]()
            if C > 0, network.outputs.count == 1 {
                for c in 0..<C {
                    let o = views[c + 1][0]
                    let p = o.indices.max(by: { o[$0] < o[$1] }) ?? 0
                    checkpointPredictions.append(p)
                    if p == label { checkpointCorrect[c] += 1 }
                }
            }
            var layerFlat = [[Int64]]()
            for i in 0..<L {
                let c = LayerCounters(flatArray: Array(summed[i * 5 ..< i * 5 + 5]))
                totals[i] = totals[i] + c
                layerFlat.append(c.flatValues)
            }
            let steps = summed[(L * 5) ..< (L * 5 + T)]
            for (t, v) in steps.enumerated() { stepTotals[t] += v }
            var sampleCheckpointCounters = [[Int64]]()
            for c in 0..<config.checkpoints.count {
                let v = Array(summed[(L * 5 + T + 3 * c) ..< (L * 5 + T + 3 * c + 3)])
                sampleCheckpointCounters.append(v)
                for j in 0..<3 { checkpointTotals[c][j] += v[j] }
            }
            let stepMax = steps.max() ?? 0
            busiest = max(busiest, stepMax)
            var prediction: Int?
            if outputs.count == 1, let m = outputs[0].indices.max(by: { outputs[0][$0] < outputs[0][$1] }) { prediction = m }
            if let l = label, let p = prediction { labelled += 1; if l == p { correct += 1 } }
            var annPrediction: Int?
            let annOutputs = ann.map { $0.predict(input) }
            var sampleDetections: (snn: [Detection], checkpoints: [[Detection]], ann: [Detection]?)?
            if detection != nil, let loaded {
                sampleDetections = detection!.add(image: index, sample: loaded, snnOutputs: outputs,
                                                  checkpointOutputs: Array(views.dropFirst()), annOutputs: annOutputs)
            }
            if let o = annOutputs, detection == nil {
                if o.count == 1, let m = o[0].indices.max(by: { o[0][$0] < o[0][$1] }) {
                    annPrediction = m
                    annCompared += 1
                    if m == label { annCorrect += 1 }
                    if m == prediction { agree += 1 }
                }
            }
            let rec = SampleRecord(sample: index, label: label, prediction: prediction, outputs: outputs,
                                   spikes: layerFlat.enumerated().reduce(0) { $0 + (network.layers[$1.offset].op.hasNeurons || $1.offset == 0 ? $1.element[0] + $1.element[1] : 0) },
                                   synapticOps: layerFlat.reduce(0) { $0 + $1[2] }, analogMacs: layerFlat.reduce(0) { $0 + $1[3] },
                                   busiestStepSpikes: stepMax, layers: layerFlat, seconds: monotonicSeconds() - t0,
                                   annPrediction: annPrediction, checkpointPredictions: checkpointPredictions.isEmpty ? nil : checkpointPredictions,
                                   checkpointCounters: sampleCheckpointCounters.isEmpty ? nil : sampleCheckpointCounters,
                                   detections: sampleDetections?.snn,
                                   checkpointDetections: (sampleDetections?.checkpoints.isEmpty ?? true) ? nil : sampleDetections?.checkpoints,
                                   annDetections: sampleDetections?.ann)
            try writer?.append(rec)
            finished += 1
            progress.update(done: k + 1, accuracy: labelled > 0 ? Double(correct) / Double(labelled) : nil)
        }
        progress.finish()
        let wall = monotonicSeconds() - start
        _ = T
        // Per-rank timing, communication and memory, gathered to rank 0.
        // Per-channel spike counts of this invocation's samples, summed over ranks.
        let channelCounts = try transport.allreduceSum(sim.channelSpikes.flatMap { $0 })
        let tm = sim.timing
        let mine: [Double] = [tm.update, tm.pack, tm.exchange, tm.wait, tm.total, Double(sim.bytesSent), Double(sim.messagesSent),
                              Double(peakResidentBytes())]
        let gathered = try transport.gather(mine.withUnsafeBytes { Array($0) }, root: 0)
        guard isRoot else { return nil }
        let perRank = gathered.map { b in b.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
        var result = ResultBuilder(network: network, partition: partition, config: config, model: options.modelPath,
                                   energyPreset: options.energyPreset, dataDescription: source?.description ?? "")
            .build(totals: totals, samples: finished, busiestStep: busiest, correct: correct, labelled: labelled,
                   perRank: perRank, wallSeconds: wall, complete: finished == options.samples,
                   samplesFile: writer?.samplesPath ?? "")
        var off = 0
        for (i, l) in network.layers.enumerated() {
            let c = sim.channelSpikes[i].count
            defer { off += c }
            guard c > 0, simulatedHere > 0 else { continue }
            let perChannel = Double(l.shape.height * l.shape.width) * Double(T) * Double(simulatedHere)
            result.layers[i].channelFiringRates = channelCounts[off ..< off + c].map { Double($0) / perChannel }
        }
        result.raster = raster
        if let e = layerErrors, e.samples > 0 { result.layerErrors = e.result }
        if simulatedHere > 0 { result.spikesPerTimestep = stepTotals.map { Double($0) / Double(simulatedHere) } }
        let detectionMaps = detection?.checkpointMaps ?? []
        let fidelities = detection?.checkpointFidelity ?? [], headErrors = detection?.checkpointHeadMAE ?? []
        if let d = detection { result.detection = d.summary() }
        if !config.checkpoints.isEmpty, finished > 0 {
            let n = Double(finished)
            result.checkpoints = config.checkpoints.enumerated().map { c, t in
                RunResult.Checkpoint(timesteps: t, top1: labelled > 0 ? Double(checkpointCorrect[c]) / Double(labelled) : nil,
                                     spikesPerSample: Double(checkpointTotals[c][0]) / n,
                                     synapticOpsPerSample: Double(checkpointTotals[c][1]) / n,
                                     analogMacsPerSample: Double(checkpointTotals[c][2]) / n,
                                     map50: c < detectionMaps.count ? detectionMaps[c] : nil)
            } + [RunResult.Checkpoint(timesteps: config.timesteps, top1: result.top1, spikesPerSample: Double(result.spikes) / n,
                                      synapticOpsPerSample: Double(result.synapticOps) / n, analogMacsPerSample: Double(result.analogMacs) / n,
                                      map50: result.detection?.map50)]
            for c in result.checkpoints!.indices {
                if c < fidelities.count {
                    result.checkpoints![c].fidelityMap50 = fidelities[c]; result.checkpoints![c].headMAE = headErrors[c]
                } else {
                    result.checkpoints![c].fidelityMap50 = result.detection?.fidelityMap50; result.checkpoints![c].headMAE = result.detection?.headMAE
                }
            }
        }
        if options.compareANN, annCompared > 0 {
            result.ann = RunResult.ANNComparison(top1: labelled > 0 ? Double(annCorrect) / Double(annCompared) : nil,
                                                 top1Agreement: Double(agree) / Double(annCompared), samples: annCompared)
        }
        try writer?.finish(result)
        return result
    }
}

extension LayerCounters {
    var flatValues: [Int64] { [positiveSpikes, negativeSpikes, synapticOps, macs, neuronUpdates] }
    init(flatArray a: [Int64]) {
        self.init()
        positiveSpikes = a[0]; negativeSpikes = a[1]; synapticOps = a[2]; macs = a[3]; neuronUpdates = a[4]
    }
}

/// Peak resident set size of this process in bytes (VmHWM), or 0 where /proc is unavailable.
public func peakResidentBytes() -> Int {
    guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
        return kb * 1024
    }
    return 0
}
