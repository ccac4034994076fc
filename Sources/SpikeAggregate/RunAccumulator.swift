import SpikeCore
import SpikeEngine

extension LayerCounters {
    /// The five counters in the order of a samples file's `layers` rows.
    public var flatValues: [Int64] { [positiveSpikes, negativeSpikes, synapticOps, macs, neuronUpdates] }
    public init(flatArray a: [Int64]) {
        self.init()
        positiveSpikes = a[0]; negativeSpikes = a[1]; synapticOps = a[2]; macs = a[3]; neuronUpdates = a[4]
    }
    public static let flatCount = 5
}

/// Cumulative counts at one checkpoint T, summed over samples (what a run with that T counts).
public struct CheckpointCounters: Sendable, Equatable {
    public var spikes: Int64 = 0
    public var synapticOps: Int64 = 0
    public var analogMacs: Int64 = 0
    public init() {}
    /// `[spikes, synaptic ops, analog MACs]`, as the samples file's `checkpointCounters` rows.
    public init(flat v: [Int64]) { spikes = v[0]; synapticOps = v[1]; analogMacs = v[2] }
    public var flat: [Int64] { [spikes, synapticOps, analogMacs] }
    public static let flatCount = 3
    static func + (a: Self, b: Self) -> Self {
        var r = a
        r.spikes += b.spikes; r.synapticOps += b.synapticOps; r.analogMacs += b.analogMacs
        return r
    }
}

/// The run's totals on rank 0, fed one `SampleRecord` at a time: the records of a resumed samples file
/// and the records of samples simulated now go through the same `add`, so both count alike.
public struct RunAccumulator: Sendable {
    public private(set) var layers: [LayerCounters]
    /// The largest number of spikes in one timestep of any sample (Deng et al. eq. 8's spike memory).
    public private(set) var busiestStep: Int64 = 0
    public private(set) var samples = 0
    public private(set) var labelled = 0
    public private(set) var correct = 0
    public private(set) var checkpointCorrect: [Int]
    public private(set) var checkpoints: [CheckpointCounters]
    /// ANN reference (`--compare-ann`, classifiers): samples compared, correct, agreeing with the SNN.
    public private(set) var annCompared = 0
    public private(set) var annCorrect = 0
    public private(set) var annAgree = 0

    public init(layers: Int, checkpoints: Int) {
        self.layers = [LayerCounters](repeating: LayerCounters(), count: layers)
        checkpointCorrect = [Int](repeating: 0, count: checkpoints)
        self.checkpoints = [CheckpointCounters](repeating: CheckpointCounters(), count: checkpoints)
    }

    public mutating func add(_ r: SampleRecord) {
        for (i, f) in r.layers.enumerated() where i < layers.count && f.count == LayerCounters.flatCount {
            layers[i] = layers[i] + LayerCounters(flatArray: f)
        }
        busiestStep = max(busiestStep, r.busiestStepSpikes)
        if let l = r.label, let p = r.prediction { labelled += 1; if l == p { correct += 1 } }
        for (c, p) in (r.checkpointPredictions ?? []).enumerated() where c < checkpointCorrect.count && p == r.label {
            checkpointCorrect[c] += 1
        }
        for (c, v) in (r.checkpointCounters ?? []).enumerated() where c < checkpoints.count && v.count == CheckpointCounters.flatCount {
            checkpoints[c] = checkpoints[c] + CheckpointCounters(flat: v)
        }
        if let a = r.annPrediction {
            annCompared += 1
            if a == r.label { annCorrect += 1 }
            if a == r.prediction { annAgree += 1 }
        }
        samples += 1
    }

    /// Top-1 over the labelled samples so far.
    public var top1: Double? { labelled > 0 ? Double(correct) / Double(labelled) : nil }

    /// The ANN reference's figures on the compared samples.
    public var annComparison: RunResult.ANNComparison? {
        guard annCompared > 0 else { return nil }
        return RunResult.ANNComparison(top1: labelled > 0 ? Double(annCorrect) / Double(annCompared) : nil,
                                       top1Agreement: Double(annAgree) / Double(annCompared), samples: annCompared)
    }

    /// Per-sample figures at each checkpoint T (`timesteps`), then at the run's own T from `result`;
    /// `maps` are the detection mAPs at the checkpoints where the run detects.
    public func checkpointResults(timesteps: [Int], result: RunResult, maps: [Double?]) -> [RunResult.Checkpoint] {
        let n = Double(samples)
        return timesteps.enumerated().map { c, t in
            RunResult.Checkpoint(timesteps: t, top1: labelled > 0 ? Double(checkpointCorrect[c]) / Double(labelled) : nil,
                                 spikesPerSample: Double(checkpoints[c].spikes) / n,
                                 synapticOpsPerSample: Double(checkpoints[c].synapticOps) / n,
                                 analogMacsPerSample: Double(checkpoints[c].analogMacs) / n,
                                 map50: c < maps.count ? maps[c] : nil)
        } + [RunResult.Checkpoint(timesteps: result.timesteps, top1: result.top1, spikesPerSample: Double(result.spikes) / n,
                                  synapticOpsPerSample: Double(result.synapticOps) / n, analogMacsPerSample: Double(result.analogMacs) / n,
                                  map50: result.detection?.map50)]
    }
}
