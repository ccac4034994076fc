import Foundation
import SpikeCore
import SpikeEngine

/// Everything a training run is, as plain values (the `train` command's options map onto it).
public struct TrainConfig: Sendable {
    public var architecture = "32c3-ap2-64c3-ap2-128fc"
    public var classes = 10
    public var norm: NormKind = .tdbn
    public var neuron = NeuronSpec()
    public var timesteps = 4
    public var epochs = 1
    /// Global batch size (over every rank).
    public var batchSize = 64
    /// Samples per chunk: the unit whose gradient is computed in floating point; chunks are summed
    /// exactly (`ExactSum`), so results depend on the chunk size but never on the rank count.
    public var chunkSize = 16
    public var optimizer: OptimizerKind = .adam
    public var learningRate: Float = 1e-3
    public var momentum: Float = 0.9
    public var weightDecay: Float = 0
    public var cosine = true
    public var loss: LossKind = .crossEntropy
    public var encoding: TrainEncoding = .analog
    public var seed: UInt64 = 1
    public init() {}
}

/// Figures of one epoch.
public struct EpochStats: Codable, Sendable {
    public var epoch: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double
    public var testLoss: Double?
    public var testAccuracy: Double?
    public var seconds: Double
    public var trainSamples: Int
    public init(epoch: Int, learningRate: Double, trainLoss: Double, trainAccuracy: Double, testLoss: Double?, testAccuracy: Double?,
                seconds: Double, trainSamples: Int) {
        self.epoch = epoch; self.learningRate = learningRate; self.trainLoss = trainLoss; self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss; self.testAccuracy = testAccuracy; self.seconds = seconds; self.trainSamples = trainSamples
    }
}

/// STBP training of a `SpikingModel`, data-parallel over the ranks of a `Transport` (nil = one rank).
/// Every global batch is cut into chunks of `chunkSize` samples; rank r of R takes chunks
/// `[r·C/R, (r+1)·C/R)`. Batch-norm statistics, gradients, loss and accuracy are per-chunk sums
/// reduced exactly (`ExactSum`), so 1, 2 or 4 ranks give bit-identical weights. OpenBLAS must run
/// one thread per process (the rank count must not change a chunk's arithmetic).
public final class Trainer {
    public let config: TrainConfig
    public let model: SpikingModel
    public let optimizer: Optimizer
    public let transport: Transport?
    public var rank: Int { transport?.rank ?? 0 }
    public var size: Int { transport?.size ?? 1 }

    public init(config: TrainConfig, inputShape: Shape, transport: Transport?) throws {
        guard config.batchSize >= 1, config.chunkSize >= 1, config.timesteps >= 1 else {
            throw SpikeError("batchSize, chunkSize and timesteps must be at least 1")
        }
        self.config = config; self.transport = transport
        model = try SpikingModel(architecture: config.architecture, input: inputShape, classes: config.classes, norm: config.norm,
                                 neuron: config.neuron, seed: config.seed)
        optimizer = Optimizer(kind: config.optimizer, params: model.params, momentum: config.momentum, weightDecay: config.weightDecay)
        Trainer.singleThreadedBLAS()
    }

    /// OpenBLAS with one thread: its blocking (and so the bits of a chunk's products) must not depend
    /// on how many threads a rank has.
    public static func singleThreadedBLAS() { openblasSetThreads(1) }

    /// The order of the training samples in `epoch` (0-based): a Fisher-Yates shuffle from SplitMix64
    /// seeded by (seed, epoch).
    public func order(count: Int, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: config.seed &* 0x9E37_79B9 &+ UInt64(epoch) &+ 0xA11CE)
        var p = Array(0..<count)
        if count > 1 { for i in stride(from: count - 1, to: 0, by: -1) { let j = Int(rng.next() % UInt64(i + 1)); p.swapAt(i, j) } }
        return p
    }

    /// This rank's chunks of a global batch: sample indices per chunk, and the total chunk count.
    func myChunks(_ batch: [Int]) -> (chunks: [[Int]], total: Int) {
        let c = config.chunkSize
        let total = (batch.count + c - 1) / c
        let lo = rank * total / size, hi = (rank + 1) * total / size
        return ((lo..<hi).map { j in Array(batch[(j * c)..<min(batch.count, (j + 1) * c)]) }, total)
    }

    /// One optimisation step on a global batch (sample indices into `data`); returns the batch's mean
    /// loss and its correct count (global, identical on every rank).
    public func step(_ data: TrainingSet, batch: [Int], epoch: Int, learningRate: Float) throws -> (loss: Double, correct: Int) {
        let (chunks, totalChunks) = myChunks(batch)
        let ctx = StepContext(timesteps: config.timesteps, chunkSamples: chunks.map(\.count), globalSamples: batch.count, training: true,
                              reducer: ExactSum(transport: transport, totalChunks: totalChunks))
        let trainSeed = config.seed &+ UInt64(epoch + 1) &* 0x632B_E59B_D9B4_E019
        let x = chunks.map { data.chunk($0, sampleKeys: $0, timesteps: config.timesteps, encoding: config.encoding, seed: trainSeed) }
        let y = try model.forward(x, ctx)
        var dy: [[Float]] = []
        var extra: [[Double]] = []
        for (c, yc) in y.enumerated() {
            let n = chunks[c].count
            let m = model.meanOverTime(yc, samples: n, timesteps: config.timesteps)
            let labels = chunks[c].map { data.labels[$0] }
            let (l, g) = config.loss.lossAndGradient(mean: m, labels: labels, classes: config.classes, timesteps: config.timesteps, globalBatch: batch.count)
            var correct = 0
            for s in 0..<n where Self.argmax(m, s, config.classes) == labels[s] { correct += 1 }
            dy.append(g); extra.append([l, Double(correct)])
        }
        try model.backward(dy, ctx)
        let params = model.params
        let total = params.reduce(0) { $0 + $1.value.count }
        var parts: [[Double]] = []
        for c in 0..<chunks.count {
            var v = [Double](); v.reserveCapacity(total + 2)
            for p in params { for g in p.chunkGrads[c] { v.append(Double(g)) } }
            v += extra[c]
            parts.append(v)
        }
        let sum = try ctx.reducer.sum(parts, count: total + 2)
        var grads: [[Float]] = []
        var o = 0
        for p in params { grads.append(sum[o..<(o + p.value.count)].map { Float($0) }); o += p.value.count; p.chunkGrads = [] }
        optimizer.step(params, grads: grads, lr: learningRate)
        return (sum[total], Int(sum[total + 1].rounded()))
    }

    /// Index of the largest of the `k` values of sample `s` (the first on ties).
    static func argmax(_ m: [Float], _ s: Int, _ k: Int) -> Int {
        var best = 0
        for j in 1..<k where m[s * k + j] > m[s * k + best] { best = j }
        return best
    }

    /// One epoch over `data` in the seeded order (the last incomplete batch is left out). `progress`
    /// is called after each batch with (batches done, batches, running loss, running accuracy).
    public func trainEpoch(_ data: TrainingSet, epoch: Int, progress: ((Int, Int, Double, Double) -> Void)? = nil) throws -> (loss: Double, accuracy: Double, samples: Int) {
        let order = self.order(count: data.count, epoch: epoch)
        let B = config.batchSize, batches = data.count / B
        guard batches >= 1 else { throw SpikeError("\(data.name): \(data.count) samples, fewer than one batch of \(B)") }
        let lr = Optimizer.learningRate(base: config.learningRate, epoch: epoch, epochs: config.epochs, cosine: config.cosine)
        var lossSum = 0.0, correct = 0
        for b in 0..<batches {
            let (l, c) = try step(data, batch: Array(order[(b * B)..<((b + 1) * B)]), epoch: epoch, learningRate: lr)
            lossSum += l; correct += c
            progress?(b + 1, batches, lossSum / Double(b + 1), Double(correct) / Double((b + 1) * B))
        }
        return (lossSum / Double(batches), Double(correct) / Double(batches * B), batches * B)
    }

    /// Evaluation (running BN statistics) of samples `0..<count` of `data`, split over the ranks in
    /// contiguous blocks; Bernoulli/Poisson inputs are keyed by the sample index and `seed`, as in the
    /// engine. Returns the accuracy, the mean cross-entropy loss and every sample's predicted class and
    /// mean output, on every rank.
    public func evaluate(_ data: TrainingSet, count: Int? = nil, seed: UInt64? = nil, batch: Int = 50) throws -> (accuracy: Double, loss: Double, predictions: [Int], outputs: [[Float]]) {
        let n = min(count ?? data.count, data.count), K = config.classes
        let lo = rank * n / size, hi = (rank + 1) * n / size
        var local = [Double](repeating: 0, count: n * (K + 1) + 1)
        var i = lo
        while i < hi {
            let idx = Array(i..<min(hi, i + batch))
            let ctx = StepContext(timesteps: config.timesteps, chunkSamples: [idx.count], globalSamples: idx.count, training: false,
                                  reducer: ExactSum(transport: nil, totalChunks: 1))
            let x = data.chunk(idx, sampleKeys: idx, timesteps: config.timesteps, encoding: config.encoding, seed: seed ?? config.seed)
            let y = try model.forward([x], ctx)[0]
            let m = model.meanOverTime(y, samples: idx.count, timesteps: config.timesteps)
            for (s, j) in idx.enumerated() {
                local[j * (K + 1)] = Double(Self.argmax(m, s, K))
                for k in 0..<K { local[j * (K + 1) + 1 + k] = Double(m[s * K + k]) }
                let row = m[(s * K)..<((s + 1) * K)], mx = row.max()!
                let z = row.reduce(0.0) { $0 + Double(expf($1 - mx)) }
                local[n * (K + 1)] += -(Double(m[s * K + data.labels[j]] - mx) - log(z))
            }
            i += batch
        }
        // Each element comes from exactly one rank: an exact sum delivers them all.
        let all = try ExactSum(transport: transport, totalChunks: size).sum([local], count: local.count)
        var preds: [Int] = [], outs: [[Float]] = []
        var correct = 0
        for j in 0..<n {
            let p = Int(all[j * (K + 1)].rounded())
            preds.append(p); outs.append((0..<K).map { Float(all[j * (K + 1) + 1 + $0]) })
            if p == data.labels[j] { correct += 1 }
        }
        return (Double(correct) / Double(max(1, n)), all[n * (K + 1)] / Double(max(1, n)), preds, outs)
    }
}
