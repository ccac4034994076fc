import SpikeCore
import SpikeMetrics

/// The result of evaluating an ANN in ANN mode (Deng et al. models 1, 4 and 5): its metric beside
/// its memory and compute cost by the same equations as the SNN's (eq. 8 and 9, 32-bit data).
public struct ANNResult: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var name: String
        public var op: String
        public var shape: [Int]
        public var parameters: Int
        public var macs: Int
        public init(name: String, op: String, shape: [Int], parameters: Int, macs: Int) {
            self.name = name
            self.op = op
            self.shape = shape
            self.parameters = parameters
            self.macs = macs
        }
    }
    public var tool = "spikescale"
    public var kind = "ann"
    /// The result-file format version (`ResultFile.version`); missing in files written before it existed.
    @Defaulted<ResultFileDefaults.Version1> public var version: Int = 1
    public var complete: Bool
    public var model: String
    public var network: String
    public var data: String
    public var samples: Int
    public var top1: Double?
    public var labelledSamples: Int
    public var detection: RunResult.DetectionSummary?
    public var parameters: Int
    /// Weights (32 bit) + activations (one 32-bit value per neuron).
    public var memory: RunResult.Memory
    /// Multiplies and additions per sample: one of each per MAC.
    public var compute: RunResult.Ops
    public var energy: [RunResult.Energy]
    public var secondsPerSample: Double
    public var layers: [Layer]
    public init(complete: Bool, model: String, network: String, data: String, samples: Int, top1: Double? = nil, labelledSamples: Int, detection: RunResult.DetectionSummary? = nil, parameters: Int, memory: RunResult.Memory, compute: RunResult.Ops, energy: [RunResult.Energy], secondsPerSample: Double, layers: [Layer]) {
        self.complete = complete
        self.model = model
        self.network = network
        self.data = data
        self.samples = samples
        self.top1 = top1
        self.labelledSamples = labelledSamples
        self.detection = detection
        self.parameters = parameters
        self.memory = memory
        self.compute = compute
        self.energy = energy
        self.secondsPerSample = secondsPerSample
        self.layers = layers
    }
}
