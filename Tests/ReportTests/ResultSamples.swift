import Foundation
import SpikeAggregate
import SpikeConvert
import SpikeMetrics

/// Small hand-made result values whose figures are easy to work out by hand.
enum Samples {
    static let fp32 = EnergyPreset.all[0]   // spiking-yolo-fp32: 3.6 pJ per MAC, 0.9 pJ per AC

    /// Two samples, T = 8, checkpoints at 4 and 8. Totals: 600 spikes, 4000 synaptic ops, 1000 analog MACs;
    /// the ANN does 12000 MACs per sample. Energy per sample: SNN (4000·0.9 + 1000·3.6) pJ / 2 = 3.6 nJ,
    /// ANN 12000·3.6 pJ = 43.2 nJ.
    static func run(network: String = "net", model: String = "models/net.json", ranks: Int = 1, samples: Int = 2,
                    secondsPerSample: Double = 0.5, complete: Bool = true, top1: Double? = 0.75) -> RunResult {
        let layers = [
            RunResult.Layer(name: "input", op: "input", shape: [4, 4, 1], neurons: 0, spikes: 0, positiveSpikes: 0, negativeSpikes: 0,
                            firingRate: 0, synapticOps: 0, analogMacs: 1000, macs: 0, neuronUpdates: 0, partition: "replicated"),
            RunResult.Layer(name: "conv1", op: "conv", neuronModel: "if(θ=1.0, reset=subtract)", shape: [4, 4, 2], neurons: 32,
                            spikes: 400, positiveSpikes: 400, negativeSpikes: 0, firingRate: 0.125, synapticOps: 3000, analogMacs: 0,
                            macs: 10000, neuronUpdates: 512, partition: "spatial", channelFiringRates: [0.1, 0.15]),
            RunResult.Layer(name: "fc", op: "dense", neuronModel: "accumulator", shape: [1, 1, 10], neurons: 10,
                            spikes: 200, positiveSpikes: 200, negativeSpikes: 0, firingRate: 0.25, synapticOps: 1000, analogMacs: 0,
                            macs: 2000, neuronUpdates: 160, partition: "output", channelFiringRates: [0.2, 0.3]),
        ]
        let energy = EnergyCost(fp32, synapticOps: 4000, analogMacs: 1000, samples: 2, annMacs: 12000)
        let presets = EnergyPreset.all.map { EnergyCost($0, synapticOps: 4000, analogMacs: 1000, samples: 2, annMacs: 12000) }
        let memory = MemoryCost(weightBits: 6_000_000, activationBits: 1344, membraneBits: 1344, spikeBits: 50,
                                annBits: 6_001_344, snnBits: 8_000_000)
        let compute = ComputeCost(ann: .ann(macs: 12000), snn: .snn(synapticOps: 4000, analogMacs: 1000, samples: 2))
        let checkpoints = [
            RunResult.Checkpoint(timesteps: 8, top1: top1, spikesPerSample: 300, synapticOpsPerSample: 2000, analogMacsPerSample: 500),
            RunResult.Checkpoint(timesteps: 4, top1: 0.5, spikesPerSample: 120, synapticOpsPerSample: 900, analogMacsPerSample: 250),
        ]
        let raster = RunResult.Raster(sample: 0, timesteps: 8, neurons: [RunResult.RasterNeuron(layer: "conv1", neuron: 3, spikeTimes: [2, 5, 8])])
        return RunResult(
            complete: complete, model: model, network: network, data: "mnist t10k", ranks: ranks, timesteps: 8, samples: samples,
            seed: 1, encoder: "direct", decoding: "membrane", top1: top1, labelledSamples: samples, neurons: 42, spikes: 600,
            firingRate: 600.0 / (42 * 8 * 2), synapticOps: 4000, analogMacs: 1000, annMacsPerSample: 12000, layers: layers,
            energy: energy, energyPresets: presets, memory: memory, compute: compute,
            timing: (0..<ranks).map { RunResult.Timing(rank: $0, update: 0.25, pack: 0.01, exchange: 0.05, wait: 0.1 * Double($0), total: 0.5) },
            communication: (0..<ranks).map { RunResult.Communication(rank: $0, bytesSent: 1000, messages: 10, peakResidentBytes: 1_000_000 + $0) },
            wallSeconds: secondsPerSample * Double(samples), secondsPerSample: secondsPerSample,
            synapticOpsPerSecond: 5000 / (secondsPerSample * Double(samples)), samplesFile: "net.json.samples.jsonl",
            checkpoints: checkpoints, raster: raster)
    }

    static func sweepRow(norm: String = "layer", scale: Double, T: Int, top1: Double?) -> SweepRow {
        SweepRow(norm: norm, thresholdScale: scale, encoder: "direct", decoding: "membrane", timesteps: T, top1: top1, map50: nil,
                 spikesPerSample: 100 * Double(T), synapticOpsPerSample: 1000 * Double(T), analogMacsPerSample: 500,
                 firingRate: 0.01 * Double(T), snnJoulesPerSample: 3.6e-9, annJoulesPerSample: 43.2e-9, annTop1: 0.9)
    }

    /// A 2 × 2 grid over T ∈ {4, 8} and threshold scale ∈ {1, 1.5}.
    static func sweep() -> SweepResult {
        SweepResult(complete: true, model: "cnn.onnx", data: "mnist", samples: 20, ranks: 1, energyPreset: "spiking-yolo-fp32",
                    grid: .init(timesteps: [4, 8], thresholdScale: [1, 1.5], norm: ["layer"], encoder: ["direct"], decoding: ["membrane"]),
                    rows: [sweepRow(scale: 1, T: 4, top1: 0.5), sweepRow(scale: 1, T: 8, top1: 0.8),
                           sweepRow(scale: 1.5, T: 4, top1: 0.4), sweepRow(scale: 1.5, T: 8, top1: 0.7)])
    }

    static func conversion() -> ConversionReport {
        ConversionReport(source: "cnn.onnx", norm: "channel", statistic: "max", reset: "subtract", initialMembrane: 0.5,
                         thresholdScale: 1, maxPool: "gate", calibrationSamples: 20, calibrationData: "mnist train 0..<20",
                         layers: [
                            ConversionLayerReport(name: "conv1", op: "conv", annActivation: "relu", neuronModel: "IF θ=1.0", maxActivation: 4,
                                                  statisticValue: 4, lambdaMin: 0.25, lambdaMedian: 2, lambdaMax: 4,
                                                  channelMax: [4, 0.25, 2]),
                            ConversionLayerReport(name: "fc", op: "dense", annActivation: "linear (output)", neuronModel: "accumulator",
                                                  maxActivation: 12, statisticValue: 12, lambdaMin: 12, lambdaMedian: 12, lambdaMax: 12,
                                                  note: "output"),
                         ],
                         replacements: ["max-pool layers: spiking max-pool gated by the most active input"])
    }

    static func ann(samples: Int = 20) -> ANNResult {
        ANNResult(complete: true, model: "cnn.onnx", network: "cnn", data: "mnist", samples: samples, top1: 0.95, labelledSamples: samples,
                  parameters: 187_500,
                  memory: MemoryCost(weightBits: 6_000_000, activationBits: 1344, membraneBits: 0, spikeBits: 0, annBits: 6_001_344, snnBits: 0),
                  compute: .ann(macs: 12000), energy: EnergyPreset.all.map { EnergyCost($0, annMacs: 12000) }, secondsPerSample: 0.001,
                  layers: [.init(name: "conv1", op: "conv", shape: [4, 4, 2], parameters: 187_500, macs: 12000)])
    }

    /// A fresh empty folder under the temporary directory.
    static func tempDir(_ tag: String) throws -> String {
        let dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("report-tests-\(tag)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Writes `value` as JSON (sorted keys, as spikescale writes) to DIR/NAME and returns the path.
    static func write<T: Encodable>(_ value: T, _ name: String, in dir: String) throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let path = (dir as NSString).appendingPathComponent(name)
        try enc.encode(value).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `value` as a JSON object with `drop` keys removed: a file as an older spikescale wrote it.
    static func writeWithout<T: Encodable>(_ value: T, keys drop: [String], _ name: String, in dir: String) throws -> String {
        var object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(value)) as! [String: Any]
        for k in drop { object[k] = nil }
        let path = (dir as NSString).appendingPathComponent(name)
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
        return path
    }
}
