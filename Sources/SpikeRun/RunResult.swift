import SpikeCore
import SpikeEngine
import SpikeMetrics

/// Energy cost per operation, in picojoules (DESIGN.md section 6).
public struct EnergyPreset: Sendable, Codable, Equatable {
    public var name: String
    public var macPicojoules: Double
    public var acPicojoules: Double
    public var source: String

    public static let all: [EnergyPreset] = [
        EnergyPreset(name: "spiking-yolo-fp32", macPicojoules: 3.6, acPicojoules: 0.9, source: "Spiking-YOLO, 32-bit float"),
        EnergyPreset(name: "spiking-yolo-int32", macPicojoules: 3.2, acPicojoules: 0.1, source: "Spiking-YOLO, 32-bit integer"),
        EnergyPreset(name: "horowitz-45nm-fp32", macPicojoules: 4.6, acPicojoules: 0.9, source: "Horowitz ISSCC 2014 (SpikingJelly's default)"),
    ]
    public static func named(_ n: String) throws -> EnergyPreset {
        guard let p = all.first(where: { $0.name == n }) else {
            throw SpikeError("unknown energy preset '\(n)'; known: \(all.map(\.name).joined(separator: ", "))")
        }
        return p
    }
}

/// The result of a run: one JSON object with camelCase keys (DESIGN.md section 6). Totals are over
/// all samples; `PerSample` figures are divided by the number of samples.
public struct RunResult: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var name: String
        public var op: String
        public var neuronModel: String?
        public var shape: [Int]
        /// Neurons with a membrane (0 for routing layers, whose events are relays).
        public var neurons: Int
        public var spikes: Int64
        public var positiveSpikes: Int64
        public var negativeSpikes: Int64
        /// Spikes per neuron per timestep.
        public var firingRate: Double
        /// Accumulates caused by binary spikes.
        public var synapticOps: Int64
        /// Multiply-accumulates caused by analog input (direct encoding), all timesteps.
        public var analogMacs: Int64
        /// The ANN's multiply-accumulates for this layer, per sample.
        public var macs: Int
        public var neuronUpdates: Int64
        public var partition: String
        /// Spikes per neuron per timestep of each channel (the last HWC axis), over all samples.
        public var channelFiringRates: [Double]?
    }
    public struct Energy: Codable, Sendable {
        public var preset: String
        public var macPicojoules: Double
        public var acPicojoules: Double
        /// SNN energy per sample: synaptic ops × AC + analog MACs × MAC.
        public var snnJoules: Double
        /// ANN energy per sample: MACs × MAC.
        public var annJoules: Double
    }
    public struct Memory: Codable, Sendable {
        /// Deng et al. eq. 8, 32-bit data and 1-bit spikes. Weights are replicated on every rank.
        public var weightBits: Int
        /// ANN: one 32-bit activation per neuron.
        public var activationBits: Int
        /// SNN: one 32-bit membrane potential per neuron.
        public var membraneBits: Int
        /// SNN: spikes of the busiest timestep of any sample, one bit each.
        public var spikeBits: Int64
        public var annBits: Int
        public var snnBits: Int64
    }
    public struct Ops: Codable, Sendable { public var multiplies: Double; public var additions: Double }
    public struct Compute: Codable, Sendable {
        /// Deng et al. eq. 9, per sample: the ANN multiplies and adds once per MAC; the SNN adds per
        /// synaptic operation and multiplies only where it takes analog input.
        public var ann: Ops
        public var snn: Ops
    }
    public struct Timing: Codable, Sendable {
        public var rank: Int
        public var update: Double, pack: Double, exchange: Double, wait: Double, total: Double
    }
    public struct Communication: Codable, Sendable {
        public var rank: Int
        public var bytesSent: Int64
        public var messages: Int64
        public var peakResidentBytes: Int
        /// Bytes this rank sent in spike packets per timestep (averaged over timesteps and samples).
        public var bytesPerTimestep: Double?
    }

    public var tool = "spikescale"
    public var resultVersion = 1
    /// False if the run stopped before all samples were simulated.
    public var complete: Bool
    public var model: String
    public var network: String
    public var data: String
    public var ranks: Int
    public var timesteps: Int
    public var samples: Int
    public var seed: UInt64
    public var encoder: String
    public var decoding: String
    public var top1: Double?
    public var labelledSamples: Int
    public var neurons: Int
    public var spikes: Int64
    public var firingRate: Double
    public var synapticOps: Int64
    public var analogMacs: Int64
    public var annMacsPerSample: Int
    public var layers: [Layer]
    public var energy: Energy
    public var energyPresets: [Energy]
    public var memory: Memory
    public var compute: Compute
    public var timing: [Timing]
    public var communication: [Communication]
    public var wallSeconds: Double
    public var secondsPerSample: Double
    public var synapticOpsPerSecond: Double
    public var samplesFile: String
    /// The ANN reference of the same network on the same samples (`--compare-ann`).
    public var ann: ANNComparison?
    /// Top-1 decoded at intermediate timesteps (`--checkpoints`) and at T: the accuracy-vs-T curve.
    public var checkpoints: [Checkpoint]?
    public struct Checkpoint: Codable, Sendable {
        public var timesteps: Int
        public var top1: Double?
        /// Cumulative figures up to this timestep, per sample (what a run with T = timesteps counts).
        public var spikesPerSample: Double?
        public var synapticOpsPerSample: Double?
        public var analogMacsPerSample: Double?
        /// mAP@0.5 of the detections decoded at this timestep (detection runs).
        public var map50: Double?
        /// Detection runs with the ANN reference: fidelity mAP@0.5 and head error at this timestep.
        public var fidelityMap50: Double?
        public var headMAE: Double?
        public init(timesteps: Int, top1: Double?, spikesPerSample: Double? = nil, synapticOpsPerSample: Double? = nil,
                    analogMacsPerSample: Double? = nil, map50: Double? = nil) {
            self.timesteps = timesteps; self.top1 = top1; self.spikesPerSample = spikesPerSample
            self.synapticOpsPerSample = synapticOpsPerSample; self.analogMacsPerSample = analogMacsPerSample; self.map50 = map50
        }
    }
    /// Spikes of all layers in each timestep, averaged over the samples this invocation simulated.
    public var spikesPerTimestep: [Double]?
    /// Spike times of sampled neurons in the first simulated sample (`--raster N`), for raster plots.
    public var raster: Raster?
    /// `--layer-errors`: each spiking layer's decoded values against the ANN's activations (normalized
    /// units, λ = 1), over the samples simulated by this invocation.
    public var layerErrors: [LayerError]?
    public struct LayerError: Codable, Sendable {
        public var layer: String
        /// Mean |r − a| and mean (r − a) over neurons and samples (r: SNN decoded value, a: ANN activation).
        public var meanAbsError: Double
        public var meanError: Double
        public var meanAbsANN: Double
        /// meanAbsError / meanAbsANN.
        public var relativeError: Double
        /// Pearson correlation of r and a (nil when either is constant).
        public var correlation: Double?
        /// Fraction of neurons whose ANN activation exceeds the threshold: the SNN clips them.
        public var saturated: Double
    }
    public struct Raster: Codable, Sendable {
        public var sample: Int
        public var timesteps: Int
        public var neurons: [RasterNeuron]
    }
    public struct RasterNeuron: Codable, Sendable {
        public var layer: String
        /// Flat HWC index within the layer.
        public var neuron: Int
        /// Timesteps (1...T) at which it fired; negative for a negative spike of a signed neuron.
        public var spikeTimes: [Int]
    }
    /// Detection metrics (models with YOLO heads on a labelled detection set).
    public var detection: DetectionSummary?
    public struct DetectionSummary: Codable, Sendable {
        public var images: Int
        public var groundTruthBoxes: Int
        public var detections: Int
        public var confidenceThreshold: Double
        public var nmsThreshold: Double
        /// VOC all-point mAP@0.5 against the labels.
        public var map50: Double?
        /// COCO mAP@[0.5:0.95] against the labels.
        public var map50to95: Double?
        /// The ANN's detections and mAP on the same images (`--compare-ann`).
        public var annDetections: Int?
        public var annMap50: Double?
        public var annMap50to95: Double?
        /// mAP@0.5 of the SNN's detections scored against the ANN's detections (score >= 0.25) as ground truth.
        public var fidelityMap50: Double?
        /// Mean absolute difference between SNN and ANN raw head values.
        public var headMAE: Double?
    }
    public struct ANNComparison: Codable, Sendable {
        public var top1: Double?
        /// Fraction of samples where the SNN's and the ANN's top-1 classes agree.
        public var top1Agreement: Double
        public var samples: Int
    }
}

/// One line of the per-sample JSON-lines file, written as each sample finishes.
public struct SampleRecord: Codable, Sendable {
    public var sample: Int
    public var label: Int?
    public var prediction: Int?
    public var outputs: [[Float]]
    public var spikes: Int64
    public var synapticOps: Int64
    public var analogMacs: Int64
    public var busiestStepSpikes: Int64
    /// Per layer: [positive spikes, negative spikes, synaptic ops, analog MACs, neuron updates].
    public var layers: [[Int64]]
    public var seconds: Double
    /// The ANN reference's top-1 class (`--compare-ann`).
    public var annPrediction: Int?
    /// Top-1 class decoded at each checkpoint (`--checkpoints`).
    public var checkpointPredictions: [Int]?
    /// Cumulative [spikes, synaptic ops, analog MACs] at each checkpoint.
    public var checkpointCounters: [[Int64]]?
    /// Detection models: the SNN's detections at T (after NMS, score >= 0.005), at each checkpoint,
    /// and the ANN's (`--compare-ann`).
    public var detections: [Detection]?
    public var checkpointDetections: [[Detection]]?
    public var annDetections: [Detection]?
}
