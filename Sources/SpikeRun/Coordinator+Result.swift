import Foundation
import SpikeAggregate
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeMetrics

extension Coordinator {
    /// Rule 3: per-channel counts and per-rank reports to rank 0, which builds and writes the result.
    func finish(sim: RankSimulator, state: RootState, source: InputSource?, wallSeconds: Double,
                schedule: RunResult.FewSpikeSchedule? = nil) throws -> RunResult? {
        let channelCounts = try transport.allreduceSum(sim.channelSpikes.flatMap { $0 })
        let report = RankReport(timing: sim.timing, bytesSent: Int64(sim.bytesSent), messages: Int64(sim.messagesSent),
                                peakResidentBytes: peakResidentBytes(), weightBytes: 4 * Int64(sim.heldWeights.reduce(0, +)))
        let gathered = try transport.gather(report.flat.withUnsafeBytes { Array($0) }, root: 0)
        let hosts = try transport.gather(Array(hostName().utf8), root: 0)
        // The root builds and writes the result; every rank learns whether that failed, so the job ends with one
        // error that rank 0 prints before all ranks finalise, rather than an abort that can lose the message.
        var built: RunResult?
        try agreeOnRoot { built = try buildResult(sim: sim, state: state, source: source, wallSeconds: wallSeconds, schedule: schedule,
                                                  counts: channelCounts, gathered: gathered, hosts: hosts) }
        return built
    }

    /// Rank 0's result of the run, written to the result file.
    func buildResult(sim: RankSimulator, state: RootState, source: InputSource?, wallSeconds: Double, schedule: RunResult.FewSpikeSchedule?,
                     counts channelCounts: [Int64], gathered: [[UInt8]], hosts: [[UInt8]]) throws -> RunResult {
        let acc = state.accumulator
        var result = ResultBuilder(network: network, partition: partition, config: config, model: options.modelPath,
                                   energyPreset: options.energyPreset, dataDescription: source?.description ?? "")
            .build(totals: acc.layers, samples: acc.samples, busiestStep: acc.busiestStep, correct: acc.correct, labelled: acc.labelled,
                   perRank: gathered.map(RankReport.decode), wallSeconds: wallSeconds,
                   complete: acc.samples + state.skipped.count == options.samples,
                   samplesFile: state.writer?.samplesPath ?? "")
        result.ranks = transport.size
        for (r, h) in hosts.enumerated() where r < result.communication.count {
            result.communication[r].host = String(decoding: h, as: UTF8.self)
        }
        if options.groups > 1 { result.groups = options.groups }
        if options.partition != .auto { result.partitionPolicy = options.partition.rawValue }
        if config.overlap != .interior { result.exchangeOverlap = config.overlap.rawValue }
        addChannelRates(&result, counts: channelCounts, sim: sim, simulated: state.simulatedHere)
        result.raster = state.raster
        if let e = state.layerErrors, e.samples > 0 { result.layerErrors = e.result }
        if state.simulatedHere > 0 { result.spikesPerTimestep = state.stepTotals.map { Double($0) / Double(state.simulatedHere) } }
        if let d = state.detection { result.detection = d.summary() }
        if !config.checkpoints.isEmpty, acc.samples > 0 { result.checkpoints = checkpointResults(result, state: state) }
        if options.compareANN { result.ann = acc.annComparison }
        if !state.skipped.isEmpty { result.skippedSamples = state.skipped }
        result.fewSpike = schedule
        try state.writer?.finish(result)
        return result
    }

    /// Spikes per neuron per timestep of each channel, over the samples this invocation simulated.
    func addChannelRates(_ result: inout RunResult, counts: [Int64], sim: RankSimulator, simulated: Int) {
        var off = 0
        for (i, l) in network.layers.enumerated() {
            let c = sim.channelSpikes[i].count
            defer { off += c }
            guard c > 0, simulated > 0 else { continue }
            let perChannel = Double(l.shape.height * l.shape.width) * Double(config.timesteps) * Double(simulated)
            result.layers[i].channelFiringRates = counts[off ..< off + c].map { Double($0) / perChannel }
        }
    }

    /// Figures at each checkpoint and at T, with the detection measures where the run detects.
    func checkpointResults(_ result: RunResult, state: RootState) -> [RunResult.Checkpoint] {
        let maps = state.detection?.checkpointMaps ?? []
        let fidelities = state.detection?.checkpointFidelity ?? [], headErrors = state.detection?.checkpointHeadMAE ?? []
        var cps = state.accumulator.checkpointResults(timesteps: config.checkpoints, result: result, maps: maps)
        for c in cps.indices {
            if c < fidelities.count {
                cps[c].fidelityMap50 = fidelities[c]; cps[c].headMAE = headErrors[c]
            } else {
                cps[c].fidelityMap50 = result.detection?.fidelityMap50; cps[c].headMAE = result.detection?.headMAE
            }
        }
        return cps
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
