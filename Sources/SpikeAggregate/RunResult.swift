import SpikeCore
import SpikeEngine
import SpikeMetrics

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
        public init(name: String, op: String, neuronModel: String? = nil, shape: [Int], neurons: Int, spikes: Int64, positiveSpikes: Int64, negativeSpikes: Int64, firingRate: Double, synapticOps: Int64, analogMacs: Int64, macs: Int, neuronUpdates: Int64, partition: String, channelFiringRates: [Double]? = nil) {
            self.name = name
            self.op = op
            self.neuronModel = neuronModel
            self.shape = shape
            self.neurons = neurons
            self.spikes = spikes
            self.positiveSpikes = positiveSpikes
            self.negativeSpikes = negativeSpikes
            self.firingRate = firingRate
            self.synapticOps = synapticOps
            self.analogMacs = analogMacs
            self.macs = macs
            self.neuronUpdates = neuronUpdates
            self.partition = partition
            self.channelFiringRates = channelFiringRates
        }
    }
    public typealias Energy = EnergyCost
    public typealias Memory = MemoryCost
    public typealias Ops = OpsCost
    public typealias Compute = ComputeCost
    public struct Timing: Codable, Sendable {
        public var rank: Int
        public var update: Double, pack: Double, exchange: Double, wait: Double, total: Double
        public init(rank: Int, update: Double, pack: Double, exchange: Double, wait: Double, total: Double) {
            self.rank = rank
            self.update = update
            self.pack = pack
            self.exchange = exchange
            self.wait = wait
            self.total = total
        }
    }
    public struct Communication: Codable, Sendable {
        public var rank: Int
        public var bytesSent: Int64
        public var messages: Int64
        public var peakResidentBytes: Int
        /// Bytes this rank sent in spike packets per timestep (averaged over timesteps and samples).
        public var bytesPerTimestep: Double?
        /// The host the rank ran on (its `gethostname`).
        public var host: String?
        /// Bytes of weights the rank held: one copy of the weights of the output channels it computes (all of a
        /// layer in row bands, its share of a layer split by output channels).
        public var weightBytes: Int64?
        public init(rank: Int, bytesSent: Int64, messages: Int64, peakResidentBytes: Int, bytesPerTimestep: Double? = nil,
                    host: String? = nil, weightBytes: Int64? = nil) {
            self.rank = rank
            self.weightBytes = weightBytes
            self.host = host
            self.bytesSent = bytesSent
            self.messages = messages
            self.peakResidentBytes = peakResidentBytes
            self.bytesPerTimestep = bytesPerTimestep
        }
    }

    public var tool = "spikescale"
    /// What this file is (`ResultFile` dispatches on it); missing in files written before it existed.
    @Defaulted<ResultFileDefaults.RunKind> public var kind: String = "run"
    /// The result-file format version, as in every result file (`ResultFile.version`).
    @Defaulted<ResultFileDefaults.Version1> public var version: Int = 1
    /// The same number under the name that spikescale builds before `version` read (kept so they still can).
    @Defaulted<ResultFileDefaults.Version1> public var resultVersion: Int = 1
    /// False if the run stopped before all samples were simulated.
    public var complete: Bool
    public var model: String
    public var network: String
    public var data: String
    public var ranks: Int
    /// Rank groups (`--groups`), each a model partition of `ranks / groups` ranks on its own samples; absent for one.
    public var groups: Int?
    /// The partition policy (`--partition`) when it is not the default `auto`; each layer's scheme is in `layers[].partition`.
    public var partitionPolicy: String?
    /// The exchange overlap (`--overlap`) when it is not the default `interior`.
    public var exchangeOverlap: String?
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
    /// Samples that could not be read and were left out (`--skip-bad-samples`), with the reason.
    public var skippedSamples: [SkippedSample]?
    /// Few-spike networks: the pipelined schedule, its latency and its throughput.
    public var fewSpike: FewSpikeSchedule?
    public struct FewSpikeSchedule: Codable, Sendable, Equatable {
        /// K, the sub-steps of each layer per image.
        public var subSteps: Int
        /// FS layers on the longest path; an image's latency is depth × K sub-steps.
        public var depth: Int
        public var latencySubSteps: Int
        /// Images in flight per group (`--pipeline`).
        public var pipeline: Int
        /// Global sub-steps the groups ran per image: (P + depth − 1)·K per chunk of P images, so K once full.
        public var subStepsPerImage: Double
        /// Images per second of wall time.
        public var imagesPerSecond: Double
        public init(subSteps: Int, depth: Int, pipeline: Int, subStepsPerImage: Double, imagesPerSecond: Double) {
            self.subSteps = subSteps; self.depth = depth; latencySubSteps = depth * subSteps; self.pipeline = pipeline
            self.subStepsPerImage = subStepsPerImage; self.imagesPerSecond = imagesPerSecond
        }
    }
    public struct SkippedSample: Codable, Sendable, Equatable {
        public var sample: Int
        public var reason: String
        public init(sample: Int, reason: String) { self.sample = sample; self.reason = reason }
    }
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
        public init(layer: String, meanAbsError: Double, meanError: Double, meanAbsANN: Double, relativeError: Double, correlation: Double? = nil, saturated: Double) {
            self.layer = layer
            self.meanAbsError = meanAbsError
            self.meanError = meanError
            self.meanAbsANN = meanAbsANN
            self.relativeError = relativeError
            self.correlation = correlation
            self.saturated = saturated
        }
    }
    public struct Raster: Codable, Sendable {
        public var sample: Int
        public var timesteps: Int
        public var neurons: [RasterNeuron]
        public init(sample: Int, timesteps: Int, neurons: [RasterNeuron]) {
            self.sample = sample
            self.timesteps = timesteps
            self.neurons = neurons
        }
    }
    public struct RasterNeuron: Codable, Sendable {
        public var layer: String
        /// Flat HWC index within the layer.
        public var neuron: Int
        /// Timesteps (1...T) at which it fired; negative for a negative spike of a signed neuron.
        public var spikeTimes: [Int]
        public init(layer: String, neuron: Int, spikeTimes: [Int]) {
            self.layer = layer
            self.neuron = neuron
            self.spikeTimes = spikeTimes
        }
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
        public init(images: Int, groundTruthBoxes: Int, detections: Int, confidenceThreshold: Double, nmsThreshold: Double, map50: Double? = nil, map50to95: Double? = nil, annDetections: Int? = nil, annMap50: Double? = nil, annMap50to95: Double? = nil, fidelityMap50: Double? = nil, headMAE: Double? = nil) {
            self.images = images
            self.groundTruthBoxes = groundTruthBoxes
            self.detections = detections
            self.confidenceThreshold = confidenceThreshold
            self.nmsThreshold = nmsThreshold
            self.map50 = map50
            self.map50to95 = map50to95
            self.annDetections = annDetections
            self.annMap50 = annMap50
            self.annMap50to95 = annMap50to95
            self.fidelityMap50 = fidelityMap50
            self.headMAE = headMAE
        }
    }
    public struct ANNComparison: Codable, Sendable {
        public var top1: Double?
        /// Fraction of samples where the SNN's and the ANN's top-1 classes agree.
        public var top1Agreement: Double
        public var samples: Int
        public init(top1: Double? = nil, top1Agreement: Double, samples: Int) {
            self.top1 = top1
            self.top1Agreement = top1Agreement
            self.samples = samples
        }
    }
    public init(complete: Bool, model: String, network: String, data: String, ranks: Int, timesteps: Int, samples: Int, seed: UInt64, encoder: String, decoding: String, top1: Double? = nil, labelledSamples: Int, neurons: Int, spikes: Int64, firingRate: Double, synapticOps: Int64, analogMacs: Int64, annMacsPerSample: Int, layers: [Layer], energy: Energy, energyPresets: [Energy], memory: Memory, compute: Compute, timing: [Timing], communication: [Communication], wallSeconds: Double, secondsPerSample: Double, synapticOpsPerSecond: Double, samplesFile: String, ann: ANNComparison? = nil, checkpoints: [Checkpoint]? = nil, spikesPerTimestep: [Double]? = nil, raster: Raster? = nil, layerErrors: [LayerError]? = nil, detection: DetectionSummary? = nil) {
        self.complete = complete
        self.model = model
        self.network = network
        self.data = data
        self.ranks = ranks
        self.timesteps = timesteps
        self.samples = samples
        self.seed = seed
        self.encoder = encoder
        self.decoding = decoding
        self.top1 = top1
        self.labelledSamples = labelledSamples
        self.neurons = neurons
        self.spikes = spikes
        self.firingRate = firingRate
        self.synapticOps = synapticOps
        self.analogMacs = analogMacs
        self.annMacsPerSample = annMacsPerSample
        self.layers = layers
        self.energy = energy
        self.energyPresets = energyPresets
        self.memory = memory
        self.compute = compute
        self.timing = timing
        self.communication = communication
        self.wallSeconds = wallSeconds
        self.secondsPerSample = secondsPerSample
        self.synapticOpsPerSecond = synapticOpsPerSecond
        self.samplesFile = samplesFile
        self.ann = ann
        self.checkpoints = checkpoints
        self.spikesPerTimestep = spikesPerTimestep
        self.raster = raster
        self.layerErrors = layerErrors
        self.detection = detection
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
    public init(sample: Int, label: Int? = nil, prediction: Int? = nil, outputs: [[Float]], spikes: Int64, synapticOps: Int64, analogMacs: Int64, busiestStepSpikes: Int64, layers: [[Int64]], seconds: Double, annPrediction: Int? = nil, checkpointPredictions: [Int]? = nil, checkpointCounters: [[Int64]]? = nil, detections: [Detection]? = nil, checkpointDetections: [[Detection]]? = nil, annDetections: [Detection]? = nil) {
        self.sample = sample
        self.label = label
        self.prediction = prediction
        self.outputs = outputs
        self.spikes = spikes
        self.synapticOps = synapticOps
        self.analogMacs = analogMacs
        self.busiestStepSpikes = busiestStepSpikes
        self.layers = layers
        self.seconds = seconds
        self.annPrediction = annPrediction
        self.checkpointPredictions = checkpointPredictions
        self.checkpointCounters = checkpointCounters
        self.detections = detections
        self.checkpointDetections = checkpointDetections
        self.annDetections = annDetections
    }
}
