import Foundation
import SpikeCore

/// The state of a training run after a whole epoch: every parameter, the batch-norm running
/// statistics, the optimiser's state and step count, the epoch history. The data order and the
/// stochastic encoders are functions of (seed, epoch), so the epoch is the random generators'
/// position: a run resumed from it ends with the weights of an uninterrupted run.
public struct Checkpoint: Codable {
    public var format = "spikescale-training-checkpoint"
    public var version = 1
    /// Epochs finished.
    public var epoch: Int
    /// What must match for a resume: architecture, classes, normalization, neurons, T, batch, chunk, optimiser, seed, ...
    public var identity: [String: String]
    public var params: [String: [Float]]
    public var runningStats: [String: [Float]]
    public var optimizerSteps: Int
    public var optimizerState1: [[Float]]
    public var optimizerState2: [[Float]]
    public var history: [EpochStats]

    /// The fields a resumed run must share with the checkpoint.
    public static func identity(_ c: TrainConfig, data: String, trainSamples: Int) -> [String: String] {
        ["architecture": c.architecture, "classes": "\(c.classes)", "normalization": c.norm.rawValue,
         "neuron": "\(c.neuron.kind.rawValue) tau \(c.neuron.tau) threshold \(c.neuron.threshold) reset \(c.neuron.reset.rawValue) \(c.neuron.surrogate)",
         "timesteps": "\(c.timesteps)", "epochs": "\(c.epochs)", "batchSize": "\(c.batchSize)", "chunkSize": "\(c.chunkSize)",
         "optimizer": "\(c.optimizer.rawValue) lr \(c.learningRate) momentum \(c.momentum) weightDecay \(c.weightDecay) cosine \(c.cosine)",
         "loss": c.loss.rawValue, "encoding": c.encoding.rawValue, "seed": "\(c.seed)", "data": data, "trainSamples": "\(trainSamples)"]
    }

    public init(trainer: Trainer, epoch: Int, identity: [String: String], history: [EpochStats]) {
        self.epoch = epoch; self.identity = identity; self.history = history
        params = Dictionary(uniqueKeysWithValues: trainer.model.params.map { ($0.name, $0.value) })
        var stats: [String: [Float]] = [:]
        for bn in trainer.model.allLayers.compactMap({ $0 as? BatchNorm }) { stats[bn.name + ".mean"] = bn.runningMean; stats[bn.name + ".var"] = bn.runningVar }
        runningStats = stats
        optimizerSteps = trainer.optimizer.steps; optimizerState1 = trainer.optimizer.state1; optimizerState2 = trainer.optimizer.state2
    }

    /// Writes the checkpoint whole: a temporary file, flushed to disk, then renamed over the previous checkpoint
    /// in one step (rename(2)), so that a process killed at any moment leaves either the previous checkpoint or
    /// the new one, never none and never a part of one.
    public func write(to path: String) throws {
        let data: Data
        do { data = try JSONEncoder().encode(self) } catch {
            throw SpikeError("\(path): cannot write the checkpoint: \(error)")
        }
        let tmp = path + ".partial"
        do {
            try data.write(to: URL(fileURLWithPath: tmp))
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 { _ = fsync(fd); close(fd) }
        } catch { throw SpikeError("\(path): cannot write the checkpoint: \(error.localizedDescription)") }
        guard rename(tmp, path) == 0 else {
            throw SpikeError("\(path): cannot write the checkpoint: \(String(cString: strerror(errno)))")
        }
    }

    /// Reads a checkpoint; throws one error naming the file and what is wrong.
    public static func read(_ path: String) throws -> Checkpoint {
        guard let d = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): no checkpoint to resume from") }
        let c: Checkpoint
        do { c = try JSONDecoder().decode(Checkpoint.self, from: d) } catch let e as DecodingError {
            throw SpikeError("\(path): not a readable training checkpoint (\(ModelFile.describe(e)))")
        } catch { throw SpikeError("\(path): not a readable training checkpoint (\(error))") }
        guard c.format == "spikescale-training-checkpoint" else { throw SpikeError("\(path): format is '\(c.format)', not a training checkpoint") }
        guard c.version == 1 else { throw SpikeError("\(path): checkpoint version \(c.version) is not supported (expected 1)") }
        return c
    }

    /// Loads the state into `trainer` after checking it belongs to this run.
    public func restore(into trainer: Trainer, identity expected: [String: String], path: String) throws {
        let differ = expected.keys.sorted().filter { expected[$0] != identity[$0] }
        guard differ.isEmpty else {
            throw SpikeError("\(path): the checkpoint is of another run; fields that differ: "
                + differ.map { "\($0) (checkpoint \(identity[$0] ?? "missing"), now \(expected[$0]!))" }.joined(separator: "; "))
        }
        for p in trainer.model.params {
            guard let v = params[p.name], v.count == p.value.count else {
                throw SpikeError("\(path): parameter '\(p.name)' is missing or has the wrong size")
            }
            p.value = v
        }
        for bn in trainer.model.allLayers.compactMap({ $0 as? BatchNorm }) {
            guard let m = runningStats[bn.name + ".mean"], let v = runningStats[bn.name + ".var"], m.count == bn.runningMean.count, v.count == bn.runningVar.count else {
                throw SpikeError("\(path): running statistics of '\(bn.name)' are missing or have the wrong size")
            }
            bn.runningMean = m; bn.runningVar = v
        }
        let o = trainer.optimizer
        guard optimizerState1.count == o.state1.count, optimizerState2.count == o.state2.count,
              zip(optimizerState1, o.state1).allSatisfy({ $0.count == $1.count }), zip(optimizerState2, o.state2).allSatisfy({ $0.count == $1.count }) else {
            throw SpikeError("\(path): the optimiser state does not fit the network")
        }
        guard epoch >= 0, epoch <= Int(identity["epochs"] ?? "") ?? Int.max, history.count == epoch else {
            throw SpikeError("\(path): epoch \(epoch) does not match its history of \(history.count) epochs")
        }
        o.steps = optimizerSteps; o.state1 = optimizerState1; o.state2 = optimizerState2
    }
}

extension SpikingModel {
    /// Every layer, those inside residual blocks included.
    public var allLayers: [TrainLayer] {
        layers.flatMap { l -> [TrainLayer] in
            if let r = l as? Residual { return [l] + r.branch + r.shortcut }
            return [l]
        }
    }
}
