import ArgumentParser
import Foundation
import SpikeCore
import SpikeTrain

extension NormKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension LossKind: ExpressibleByArgument {}
extension TrainEncoding: ExpressibleByArgument {}

/// Spiking neurons of a trained network.
public enum TrainNeuron: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Iterative LIF (STBP).
    case lif
    /// IF (LIF without leak).
    case `if`
}

/// Surrogate gradient shapes.
public enum SurrogateChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case rectangular, sigmoid
}

/// Learning-rate schedules.
public enum ScheduleChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    case cosine, constant
}

/// What a `train` run is (STBP-tdBN, Zheng et al. 2021): network, neurons, data, optimiser.
public struct TrainOptions: ParsableArguments {
    @Option(help: "Dataset folder: MNIST-style IDX (mnist, fashion-mnist) or N-MNIST (N.bs2 files and lists such as train1K.txt).")
    public var data: String?
    @Option(help: "Training split: train (IDX) or a list such as train1K (N-MNIST).")
    public var trainSplit: String?
    @Option(help: "Test split: t10k (IDX) or a list such as test100 (N-MNIST).")
    public var testSplit: String?
    @Option(help: "Use only the first N training samples.")
    public var trainLimit: Int?
    @Option(help: "Use only the first N test samples.")
    public var testLimit: Int?
    @Option(help: "Architecture: dash-separated tokens 32c3 (conv), 32c3s2 (stride 2), dw3 (depthwise), ap2 (average pool), 128fc (dense), 64r / 64rs2 (residual basic block); a dense output layer is appended.")
    public var architecture = "32c3-ap2-64c3-ap2-128fc"
    @Option(help: "Classes (output units).")
    public var classes = 10
    @Option(help: "Normalization after each convolution and hidden dense layer: tdbn, bn (plain, the ablation) or none.")
    public var normalization: NormKind = .tdbn
    @Option(help: "Neurons: lif (iterative LIF) or if.")
    public var neuron: TrainNeuron = .lif
    @Option(help: "LIF decay τ in u(t+1) = τ·u(t)·(1 − o(t)) + I(t+1).")
    public var tau: Float = 0.5
    @Option(help: "Firing threshold V_th.")
    public var threshold: Float = 0.5
    @Option(help: "Reset after a spike: zero (hard reset, STBP) or subtract.")
    public var reset: ResetMode = .zero
    @Option(help: "Surrogate derivative: rectangular (1/a where |u − V_th| < a/2) or sigmoid (peak 1/width).")
    public var surrogate: SurrogateChoice = .rectangular
    @Option(help: "Surrogate width a.")
    public var surrogateWidth: Float = 1
    @Option(help: "Timesteps T.")
    public var timesteps = 4
    @Option(help: "Input encoding: analog (pixel value as current), bernoulli, poisson (keyed Philox), or events (N-MNIST frames).")
    public var encoding: TrainEncoding = .analog
    @Option(help: "N-MNIST: width of one event frame in milliseconds.")
    public var binMs: Double = 30
    @Option(help: "Epochs.")
    public var epochs = 1
    @Option(help: "Global batch size (over all ranks).")
    public var batchSize = 64
    @Option(help: "Samples per chunk, the unit computed in floating point; chunks are summed exactly, so results depend on it but never on the rank count.")
    public var chunkSize = 16
    @Option(help: "Optimizer: adam or sgd (with momentum).")
    public var optimizer: OptimizerKind = .adam
    @Option(help: "Base learning rate.")
    public var learningRate: Float = 1e-3
    @Option(help: "SGD momentum.")
    public var momentum: Float = 0.9
    @Option(help: "L2 weight decay on convolution and dense weights.")
    public var weightDecay: Float = 0
    @Option(help: "Learning-rate schedule over epochs: cosine or constant.")
    public var schedule: ScheduleChoice = .cosine
    @Option(help: "Loss on the mean output over time: cross-entropy or mse.")
    public var loss: LossKind = .crossEntropy
    @Option(help: "Seed of initialisation, data order and stochastic encoders.")
    public var seed: UInt64 = 1
    @Option(help: "Where the trained network is written (NAME.json + NAME.bin, tdBN folded, LIF neurons), for simulate and costs.")
    public var model: String?
    @Option(help: "Training result JSON (rank 0 writes it); per-epoch lines go to JSON.epochs.jsonl.")
    public var json: String?
    @Option(help: "Checkpoint written after every epoch (weights, optimiser state, running statistics, epoch); default JSON.checkpoint. --resume continues from it.")
    public var checkpoint: String?

    public init() {}

    public func validate() throws {
        try check(classes >= 2, "classes", "must be at least 2, got \(classes)")
        try check(tau >= 0 && tau <= 1, "tau", "must be in [0, 1], got \(tau)")
        try check(threshold > 0 && threshold.isFinite, "threshold", "must be positive, got \(threshold)")
        try check(surrogateWidth > 0 && surrogateWidth.isFinite, "surrogateWidth", "must be positive, got \(surrogateWidth)")
        try check(timesteps >= 1 && timesteps <= 1000, "timesteps", "must be between 1 and 1000, got \(timesteps)")
        try check(binMs > 0 && binMs.isFinite, "binMs", "must be positive, got \(binMs)")
        try check(epochs >= 1, "epochs", "must be at least 1, got \(epochs)")
        try check(batchSize >= 1, "batchSize", "must be at least 1, got \(batchSize)")
        try check(chunkSize >= 1 && chunkSize <= batchSize, "chunkSize", "must be between 1 and the batch size \(batchSize), got \(chunkSize)")
        try check(learningRate > 0 && learningRate.isFinite, "learningRate", "must be positive, got \(learningRate)")
        try check(momentum >= 0 && momentum < 1, "momentum", "must be in [0, 1), got \(momentum)")
        try check(weightDecay >= 0 && weightDecay.isFinite, "weightDecay", "must be non-negative, got \(weightDecay)")
        if let m = model, let j = json {
            let base = m.hasSuffix(".json") ? String(m.dropLast(5)) : m
            try check(base + ".json" != j && base + ".bin" != j, "model", "writes \(base).json and \(base).bin, which would overwrite the result file \(j) (--json)")
        }
        if let n = trainLimit { try check(n >= 1, "trainLimit", "must be at least 1, got \(n)") }
        if let n = testLimit { try check(n >= 1, "testLimit", "must be at least 1, got \(n)") }
        do { _ = try SpikingModel(architecture: architecture, input: Shape(34, 34, 2), classes: classes, norm: normalization, neuron: NeuronSpec(), seed: 1) }
        catch { throw ValidationError("\(OptionKey.describe("architecture")) \(error)") }
    }

    /// Where checkpoints go: `checkpoint`, else JSON.checkpoint, else none.
    public var checkpointPath: String? { checkpoint ?? json.map { $0 + ".checkpoint" } }

    /// True if `data` is an N-MNIST folder (it holds the event lists).
    public var isEvents: Bool {
        guard let d = data else { return false }
        return FileManager.default.fileExists(atPath: (d as NSString).appendingPathComponent("train1K.txt"))
            || encoding == .events
    }

    /// The trainer's configuration.
    public var config: TrainConfig {
        var c = TrainConfig()
        c.architecture = architecture; c.classes = classes; c.norm = normalization
        c.neuron = NeuronSpec(kind: neuron == .lif ? .leakyIntegrateAndFire : .integrateAndFire, tau: tau, threshold: threshold, reset: reset,
                              surrogate: surrogate == .rectangular ? .rectangular(width: surrogateWidth) : .sigmoid(width: surrogateWidth))
        c.timesteps = timesteps; c.epochs = epochs; c.batchSize = batchSize; c.chunkSize = chunkSize
        c.optimizer = optimizer; c.learningRate = learningRate; c.momentum = momentum; c.weightDecay = weightDecay
        c.cosine = schedule == .cosine; c.loss = loss; c.encoding = isEvents ? .events : encoding; c.seed = seed
        return c
    }

    /// Loads the training and test sets.
    public func datasets() throws -> (train: TrainingSet, test: TrainingSet) {
        guard let folder = data else { throw SpikeError("\(OptionKey.describe("data")) is required: a dataset folder (e.g. ../shared/data/mnist)") }
        if isEvents {
            return (try TrainingSet.nmnist(folder: folder, split: trainSplit ?? "train1K", binMilliseconds: binMs, timesteps: timesteps, limit: trainLimit),
                    try TrainingSet.nmnist(folder: folder, split: testSplit ?? "test100", binMilliseconds: binMs, timesteps: timesteps, limit: testLimit))
        }
        return (try TrainingSet.idx(folder: folder, split: trainSplit ?? "train", limit: trainLimit),
                try TrainingSet.idx(folder: folder, split: testSplit ?? "t10k", limit: testLimit))
    }
}
