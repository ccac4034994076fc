import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeCore
import SpikeEngine
import SpikeMPI
import SpikeOptions
import SpikeTrain

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a spiking network directly (STBP with threshold-dependent batch norm), data-parallel over the MPI ranks of this job.",
        discussion: """
        Each rank takes a share of the chunks of every global batch; batch-norm statistics and gradients are \
        summed exactly, so 1, 2 or 4 ranks give bit-identical weights. Writes per-epoch lines to \
        JSON.epochs.jsonl, the result to --json, and with --model the native network (tdBN folded, LIF neurons) \
        for simulate and costs.
        """)

    @OptionGroup var config: ConfigOption
    @OptionGroup(title: "Training") var train: TrainOptions
    @OptionGroup(title: "Run control") var control: RunControl

    func run() throws {
        try runOnWorld(peerTimeout: control.peerTimeout, body)
    }

    func body(_ t: MPITransport) throws {
        var setup: (TrainingSet, TrainingSet, Trainer)?
        var resumed: Checkpoint?
        try agreeAll(t) {
            let (tr, te) = try train.datasets()
            if let j = train.json, FileManager.default.fileExists(atPath: j), !control.overwrite, !control.resume {
                throw SpikeError("\(j) exists; give --overwrite to replace it")
            }
            if control.resume, train.checkpointPath == nil {
                throw SpikeError("--resume needs --checkpoint or --json (the checkpoint is JSON.checkpoint)")
            }
            let trainer = try Trainer(config: train.config, inputShape: tr.shape, transport: t)
            if control.resume, let cp = train.checkpointPath {
                let c = try Checkpoint.read(cp)
                try c.restore(into: trainer, identity: Checkpoint.identity(trainer.config, data: train.data!, trainSamples: tr.count), path: cp)
                resumed = c
            }
            setup = (tr, te, trainer)
        }
        let (trainSet, testSet, trainer) = setup!
        let root = t.rank == 0
        let cfg = trainer.config
        if root {
            print("train: \(trainSet.name), \(trainSet.count) samples; test: \(testSet.count); \(t.size) rank(s)")
            print("network \(cfg.architecture) (\(trainer.model.params.reduce(0) { $0 + $1.value.count }) parameters), \(cfg.norm.rawValue), T = \(cfg.timesteps), \(cfg.encoding.rawValue) input")
        }
        let epochLog = train.json.map { $0 + ".epochs.jsonl" }
        var history: [EpochStats] = resumed?.history ?? []
        let lineEncoder = JSONEncoder(); lineEncoder.outputFormatting = [.sortedKeys]
        if root, let p = epochLog {   // the lines of the epochs already done (from the checkpoint when resuming)
            var d = Data()
            for h in history { d += try lineEncoder.encode(h) + Data("\n".utf8) }
            FileManager.default.createFile(atPath: p, contents: d)
        }
        if root, let c = resumed { print("resumed from \(train.checkpointPath!) after epoch \(c.epoch)") }
        let identity = Checkpoint.identity(cfg, data: train.data!, trainSamples: trainSet.count)
        let started = Date()
        for e in (resumed?.epoch ?? 0)..<cfg.epochs {
            let t0 = Date()
            let lr = Optimizer.learningRate(base: cfg.learningRate, epoch: e, epochs: cfg.epochs, cosine: cfg.cosine)
            let bar = TrainProgress(epoch: e + 1, epochs: cfg.epochs, enabled: root && !control.quiet)
            let (loss, acc, n) = try trainer.trainEpoch(trainSet, epoch: e) { done, total, l, a in bar.update(done, total, l, a) }
            let seconds = Date().timeIntervalSince(t0)
            bar.finish()
            let ev = try trainer.evaluate(testSet)
            let stats = EpochStats(epoch: e + 1, learningRate: Double(lr), trainLoss: loss, trainAccuracy: acc, testLoss: ev.loss,
                                   testAccuracy: ev.accuracy, seconds: seconds, trainSamples: n)
            history.append(stats)
            if root {
                print(String(format: "epoch %d/%d  lr %.2e  loss %.4f  train %.2f%%  test %.2f%%  (%.1f s)", e + 1, cfg.epochs, lr, loss, acc * 100, ev.accuracy * 100, seconds))
                if let cp = train.checkpointPath { try Checkpoint(trainer: trainer, epoch: e + 1, identity: identity, history: history).write(to: cp) }
                if let p = epochLog, let h = FileHandle(forWritingAtPath: p) {
                    h.seekToEndOfFile(); h.write(try lineEncoder.encode(stats) + Data("\n".utf8)); try? h.close()
                }
            }
        }
        let total = Date().timeIntervalSince(started)
        guard root else { return }
        // The result file is written even if the export fails, so that the trained run's record is kept.
        var modelPath: String?, exportError: Error?
        if let m = train.model {
            let base = m.hasSuffix(".json") ? String(m.dropLast(5)) : m
            do {
                let net = try trainer.model.nativeNetwork(name: (base as NSString).lastPathComponent)
                try ModelFile.write(net, to: base + ".json")
                modelPath = base + ".json"
                print("model: \(base).json (+ .bin), tdBN folded, \(cfg.neuron.kind.rawValue) neurons")
            } catch { exportError = error }
        }
        let result = TrainingResult(config: cfg, data: train.data!, trainSamples: trainSet.count, testSamples: testSet.count, ranks: t.size,
                                    host: hostName(), parameters: trainer.model.params.reduce(0) { $0 + $1.value.count }, history: history,
                                    trainSeconds: total, model: modelPath)
        if let j = train.json {
            try ResultFiles.writeJSON(result, to: j)
            print("result: \(j)\nepochs: \(j).epochs.jsonl")
        }
        if let e = exportError {
            let where_ = train.checkpointPath.map { " (the trained weights are in the checkpoint \($0))" } ?? ""
            throw SpikeError("the model was not written\(where_): \((e as? SpikeError)?.message ?? "\(e)")")
        }
        print(String(format: "test accuracy %.2f%% after %d epoch(s), %.1f s", result.testAccuracy * 100, cfg.epochs, total))
    }
}

/// The progress bar of one epoch on standard error: batches, loss, accuracy and ETA.
final class TrainProgress {
    let epoch: Int, epochs: Int, enabled: Bool
    let start = Date()
    var last = Date.distantPast
    let tty = isatty(2) != 0
    var printed = false
    init(epoch: Int, epochs: Int, enabled: Bool) { self.epoch = epoch; self.epochs = epochs; self.enabled = enabled }
    func update(_ done: Int, _ total: Int, _ loss: Double, _ acc: Double) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= (tty ? 0.2 : 15) || (done == total && printed) else { return }
        last = now
        let el = now.timeIntervalSince(start), eta = el / Double(done) * Double(total - done)
        let width = 24, filled = width * done / max(1, total)
        let bar = String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled)
        let s = String(format: "epoch %d/%d [%@] %d/%d  loss %.4f  acc %.2f%%  ETA %dm%02ds", epoch, epochs, bar, done, total, loss, acc * 100,
                       Int(eta) / 60, Int(eta) % 60)
        FileHandle.standardError.write(((tty ? "\r\u{1B}[K" : "") + s + (tty ? "" : "\n")).data(using: .utf8)!)
        printed = true
    }
    func finish() { if enabled && tty && printed { FileHandle.standardError.write("\n".data(using: .utf8)!) } }
}
