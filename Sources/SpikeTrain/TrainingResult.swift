import Foundation

/// The result file of a `train` run (`kind: "training"`).
public struct TrainingResult: Codable, Sendable {
    public var tool = "spikescale"
    public var kind = "training"
    public var version = 1
    public var data: String
    public var trainSamples: Int
    public var testSamples: Int
    public var architecture: String
    public var normalization: String
    public var neuron: String
    public var tau: Float
    public var threshold: Float
    public var reset: String
    public var surrogate: String
    public var timesteps: Int
    public var encoding: String
    public var epochs: Int
    public var batchSize: Int
    public var chunkSize: Int
    public var optimizer: String
    public var learningRate: Float
    public var weightDecay: Float
    public var loss: String
    public var seed: UInt64
    public var ranks: Int
    public var host: String
    public var parameters: Int
    /// Per epoch: loss, accuracy, seconds.
    public var history: [EpochStats]
    public var testAccuracy: Double
    public var trainSeconds: Double
    public var secondsPerEpoch: Double
    /// The exported native model (tdBN folded), if written.
    public var model: String?
    /// How gradients and batch-norm statistics are summed over ranks.
    public var reduction = "per-chunk sums in 64-bit fixed point (per-element scale), exact and order-free"
    public var date: String

    public init(config c: TrainConfig, data: String, trainSamples: Int, testSamples: Int, ranks: Int, host: String, parameters: Int,
                history: [EpochStats], trainSeconds: Double, model: String?) {
        let n = c.neuron
        self.data = data; self.trainSamples = trainSamples; self.testSamples = testSamples; architecture = c.architecture
        normalization = c.norm.rawValue; neuron = n.kind.rawValue; tau = n.tau; threshold = n.threshold; reset = n.reset.rawValue
        switch n.surrogate {
        case .rectangular(let w): surrogate = "rectangular(width \(w))"
        case .sigmoid(let w): surrogate = "sigmoid(width \(w))"
        }
        timesteps = c.timesteps; encoding = c.encoding.rawValue; epochs = c.epochs; batchSize = c.batchSize; chunkSize = c.chunkSize
        optimizer = c.optimizer.rawValue; learningRate = c.learningRate; weightDecay = c.weightDecay; loss = c.loss.rawValue; seed = c.seed
        self.ranks = ranks; self.host = host; self.parameters = parameters; self.history = history
        testAccuracy = history.last?.testAccuracy ?? 0; self.trainSeconds = trainSeconds
        secondsPerEpoch = history.map(\.seconds).reduce(0, +) / Double(max(1, history.count)); self.model = model
        date = ISO8601DateFormatter().string(from: Date())
    }
}
