import SpikeCore
import SpikeEngine

/// Turns reduced counters into a `RunResult` (rank 0).
struct ResultBuilder {
    let network: Network
    let partition: Partition
    let config: SimulationConfig
    let options: RunOptions
    let dataDescription: String

    func build(totals: [LayerCounters], samples: Int, busiestStep: Int64, correct: Int, labelled: Int,
               perRank: [[Double]], wallSeconds: Double, complete: Bool, samplesFile: String) -> RunResult {
        let T = config.timesteps
        let n = Double(max(samples, 1))
        var layers = [RunResult.Layer]()
        var spikes: Int64 = 0, synops: Int64 = 0, analog: Int64 = 0
        for (i, l) in network.layers.enumerated() {
            let c = totals[i]
            let neurons = l.op.hasNeurons ? l.shape.count : 0
            let counted = l.op.hasNeurons || i == 0
            if counted { spikes += c.spikes }
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
            RunResult.Energy(preset: e.name, macPicojoules: e.macPicojoules, acPicojoules: e.acPicojoules,
                             snnJoules: (Double(synops) * e.acPicojoules + Double(analog) * e.macPicojoules) * 1e-12 / n,
                             annJoules: Double(annMacs) * e.macPicojoules * 1e-12)
        }
        let weightBits = network.parameterCount * 32
        let memory = RunResult.Memory(weightBits: weightBits, activationBits: neuronTotal * 32, membraneBits: neuronTotal * 32,
                                      spikeBits: busiestStep, annBits: weightBits + neuronTotal * 32,
                                      snnBits: Int64(weightBits + neuronTotal * 32) + busiestStep)
        let compute = RunResult.Compute(ann: .init(multiplies: Double(annMacs), additions: Double(annMacs)),
                                        snn: .init(multiplies: Double(analog) / n, additions: Double(synops + analog) / n))
        let timing = perRank.enumerated().map { r, v in
            RunResult.Timing(rank: r, update: v[0], pack: v[1], exchange: v[2], wait: v[3], total: v[4])
        }
        let comm = perRank.enumerated().map { r, v in
            RunResult.Communication(rank: r, bytesSent: Int64(v[5]), messages: Int64(v[6]), peakResidentBytes: Int(v[7]),
                                    bytesPerTimestep: v[5] / (Double(T) * max(Double(samples), 1)))
        }
        let spikeNeurons = Double(neuronTotal) * Double(T) * n
        return RunResult(
            complete: complete, model: options.modelPath, network: network.name, data: dataDescription, ranks: partition.ranks,
            timesteps: T, samples: samples, seed: config.seed, encoder: config.encoder.rawValue, decoding: config.decoding.rawValue,
            top1: labelled > 0 ? Double(correct) / Double(labelled) : nil, labelledSamples: labelled,
            neurons: neuronTotal, spikes: spikes, firingRate: spikeNeurons > 0 ? Double(spikes) / spikeNeurons : 0,
            synapticOps: synops, analogMacs: analog, annMacsPerSample: annMacs, layers: layers,
            energy: energy(options.energyPreset), energyPresets: EnergyPreset.all.map(energy), memory: memory, compute: compute,
            timing: timing, communication: comm, wallSeconds: wallSeconds, secondsPerSample: wallSeconds / n,
            synapticOpsPerSecond: wallSeconds > 0 ? Double(synops + analog) / wallSeconds : 0, samplesFile: samplesFile, ann: nil, checkpoints: nil)
    }

    func describe(_ m: NeuronModel) -> String {
        switch m.kind {
        case .integrateAndFire: return "if(θ=\(m.threshold), reset=\(m.reset.rawValue))"
        case .signedIBT: return "ibt(θ=\(m.threshold), α=\(m.alpha))"
        case .leakyIntegrateAndFire: return "lif(θ=\(m.threshold), τ=\(m.tau))"
        case .accumulator: return "accumulator"
        }
    }
}
