import SpikeCore
import SpikeEngine
import SpikeMetrics

/// Turns reduced counters into a `RunResult` (rank 0).
public struct ResultBuilder {
    let network: Network
    let partition: Partition
    let config: SimulationConfig
    let model: String
    let energyPreset: EnergyPreset
    let dataDescription: String

    public init(network: Network, partition: Partition, config: SimulationConfig, model: String, energyPreset: EnergyPreset,
                dataDescription: String) {
        self.network = network; self.partition = partition; self.config = config; self.model = model
        self.energyPreset = energyPreset; self.dataDescription = dataDescription
    }

    public func build(totals: [LayerCounters], samples: Int, busiestStep: Int64, correct: Int, labelled: Int,
               perRank: [[Double]], wallSeconds: Double, complete: Bool, samplesFile: String) -> RunResult {
        let T = config.timesteps
        let n = Double(max(samples, 1))
        var layers = [RunResult.Layer]()
        var spikes: Int64 = 0, synops: Int64 = 0, analog: Int64 = 0
        for (i, l) in network.layers.enumerated() {
            let c = totals[i]
            let neurons = l.op.hasNeurons ? l.shape.count : 0
            if network.countsSpikes(i) { spikes += c.spikes }
            synops += c.synapticOps; analog += c.macs
            let denom = Double(l.shape.count) * Double(T) * n
            let p = partition.layers[i]
            layers.append(RunResult.Layer(
                name: l.name, op: l.op.name, neuronModel: l.neuron.map(describe), shape: [l.shape.height, l.shape.width, l.shape.channels],
                neurons: neurons, spikes: c.spikes, positiveSpikes: c.positiveSpikes, negativeSpikes: c.negativeSpikes,
                firingRate: denom > 0 ? Double(c.spikes) / denom : 0, synapticOps: c.synapticOps, analogMacs: c.macs,
                macs: network.macs(layer: i), neuronUpdates: c.neuronUpdates,
                partition: p.scheme.rawValue + (p.gathersEverywhere ? "+allgather" : "")))
        }
        let neuronTotal = network.neuronCount
        let annMacs = network.totalMACs
        func energy(_ e: EnergyPreset) -> RunResult.Energy {
            EnergyCost(e, synapticOps: Double(synops), analogMacs: Double(analog), samples: n, annMacs: Double(annMacs))
        }
        let memory = MemoryCost.snn(network, busiestStepSpikes: busiestStep)
        let compute = ComputeCost(ann: .ann(macs: Double(annMacs)), snn: .snn(synapticOps: synops, analogMacs: analog, samples: n))
        let timing = perRank.enumerated().map { r, v in
            RunResult.Timing(rank: r, update: v[0], pack: v[1], exchange: v[2], wait: v[3], total: v[4])
        }
        let comm = perRank.enumerated().map { r, v in
            RunResult.Communication(rank: r, bytesSent: Int64(v[5]), messages: Int64(v[6]), peakResidentBytes: Int(v[7]),
                                    bytesPerTimestep: v[5] / (Double(T) * max(Double(samples), 1)),
                                    weightBytes: v.count > 8 ? Int64(v[8]) : nil)
        }
        let spikeNeurons = Double(neuronTotal) * Double(T) * n
        return RunResult(
            complete: complete, model: model, network: network.name, data: dataDescription, ranks: partition.ranks,
            timesteps: T, samples: samples, seed: config.seed, encoder: config.encoder.rawValue, decoding: config.decoding.rawValue,
            top1: labelled > 0 ? Double(correct) / Double(labelled) : nil, labelledSamples: labelled,
            neurons: neuronTotal, spikes: spikes, firingRate: spikeNeurons > 0 ? Double(spikes) / spikeNeurons : 0,
            synapticOps: synops, analogMacs: analog, annMacsPerSample: annMacs, layers: layers,
            energy: energy(energyPreset), energyPresets: EnergyPreset.all.map(energy), memory: memory, compute: compute,
            timing: timing, communication: comm, wallSeconds: wallSeconds, secondsPerSample: wallSeconds / n,
            synapticOpsPerSecond: wallSeconds > 0 ? Double(synops + analog) / wallSeconds : 0, samplesFile: samplesFile, ann: nil, checkpoints: nil)
    }

    func describe(_ m: NeuronModel) -> String {
        switch m.kind {
        case .integrateAndFire: return "if(θ=\(m.threshold), reset=\(m.reset.rawValue)\(m.memory ? ", memory" + (m.memoryMargin != 0 ? " \(m.memoryMargin)" : "") : ""))"
        case .signedIBT: return "ibt(θ=\(m.threshold), α=\(m.alpha)\(m.memory ? ", memory" + (m.memoryMargin != 0 ? " \(m.memoryMargin)" : "") : ""))"
        case .leakyIntegrateAndFire: return "lif(θ=\(m.threshold), τ=\(m.tau))"
        case .accumulator: return "accumulator"
        case .fewSpike: return "fs(K=\(m.subSteps))"
        case .leaky: return "leaky(θ=\(m.threshold), \(m.dynamics?.convention ?? ""))"
        case .leakyIntegrator: return "li(\(m.dynamics?.convention ?? ""))"
        }
    }
}
