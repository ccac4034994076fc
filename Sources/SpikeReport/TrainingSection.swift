import Foundation
import SpikeTrain

/// Weight layers on the longest path of a trainer architecture string (`32c3-64r-128fc` → 1 + 2 + 1 +
/// the output layer = 5): convolutions, depthwise convolutions and dense layers count 1, a residual
/// basic block 2 (its shortcut convolution is not on the longest path), pools 0.
public func trainedDepth(_ architecture: String) -> Int {
    var depth = 1   // the output layer
    for tok in architecture.lowercased().split(separator: "-") {
        if tok.hasPrefix("ap") { continue }
        if tok.hasSuffix("fc") || tok.hasPrefix("dw") { depth += 1; continue }
        if let r = tok.firstIndex(of: "r"), Int(tok[..<r]) != nil { depth += 2; continue }
        if let c = tok.firstIndex(of: "c"), Int(tok[..<c]) != nil { depth += 1 }
    }
    return depth
}

// The report's training sections (`train --json`): loss and accuracy against the epoch for each run;
// with two or more runs, their test accuracy side by side and, when their depths differ, the final
// accuracy against depth per normalisation (the STBP-tdBN depth ablation).
extension ReportBuilder {
    func trainingSection(_ input: ReportInput, _ r: TrainingResult) -> ReportSection {
        let n = input.name
        let epochs = r.history.map { Double($0.epoch) }
        let ticks = epochs.count <= 12 ? epochs : nil
        var blocks: [ReportBlock] = [.keyValues([
            KeyValue("data", "\(r.data) (\(r.trainSamples) training, \(r.testSamples) test samples)"),
            KeyValue("network", "\(r.architecture) (depth \(trainedDepth(r.architecture)), \(r.parameters) parameters)"),
            KeyValue("normalisation", r.normalization),
            KeyValue("neurons", "\(r.neuron), τ = \(Fmt.compact(Double(r.tau))), θ = \(Fmt.compact(Double(r.threshold))), reset \(r.reset), surrogate \(r.surrogate)"),
            KeyValue("input", "\(r.encoding), T = \(r.timesteps)"),
            KeyValue("optimiser", "\(r.optimizer), lr \(Fmt.compact(Double(r.learningRate))), weight decay \(Fmt.compact(Double(r.weightDecay))), \(r.loss) loss"),
            KeyValue("batches", "\(r.batchSize) samples (chunks of \(r.chunkSize)), \(r.epochs) epochs, seed \(r.seed)"),
            KeyValue("ranks", "\(r.ranks) (\(r.reduction))"),
            KeyValue("test accuracy", pct(r.testAccuracy)),
            KeyValue("time", "\(Fmt.compact(r.trainSeconds)) s, \(Fmt.compact(r.secondsPerEpoch)) s per epoch on \(r.host)"),
        ])]
        var loss = [Series("training loss", points: zip(epochs, r.history.map(\.trainLoss)).map { DataPoint($0, $1) })]
        let testLoss = r.history.compactMap { h in h.testLoss.map { DataPoint(Double(h.epoch), $0) } }
        if !testLoss.isEmpty { loss.append(Series("test loss", points: testLoss)) }
        blocks.append(figure("\(n)-loss", Chart.line(loss, options: ChartOptions(title: "Loss vs epoch: \(n)", x: Axis("epoch", ticks: ticks),
                                                                                  y: Axis("\(r.loss) loss", includeZero: true))),
                             "Training loss (mean over the epoch's batches) and test loss after each epoch."))
        var acc = [Series("training", points: zip(epochs, r.history.map { $0.trainAccuracy * 100 }).map { DataPoint($0, $1) })]
        let testAcc = r.history.compactMap { h in h.testAccuracy.map { DataPoint(Double(h.epoch), $0 * 100) } }
        if !testAcc.isEmpty { acc.append(Series("test", points: testAcc)) }
        blocks.append(figure("\(n)-accuracy", Chart.line(acc, options: ChartOptions(title: "Accuracy vs epoch: \(n)", x: Axis("epoch", ticks: ticks),
                                                                                     y: percentAxis("top-1 accuracy (%)", acc.flatMap { $0.points.map(\.y) }))),
                             "Training accuracy (during the epoch) and test accuracy after it."))
        blocks.append(.table(ReportTable(caption: "Per epoch", header: ["epoch", "learning rate", "training loss", "training top-1", "test loss", "test top-1", "seconds"],
                                         rows: r.history.map { h in
                                             [String(h.epoch), Fmt.compact(h.learningRate), Fmt.fixed(h.trainLoss, 4), pct(h.trainAccuracy),
                                              h.testLoss.map { Fmt.fixed($0, 4) } ?? "–", pct(h.testAccuracy), Fmt.fixed(h.seconds, 1)]
                                         })))
        return ReportSection("Training: \(n)", paragraph: "Directly trained with STBP (`spikescale train`), from \(input.path).", blocks: blocks)
    }

    func trainingComparison(_ runs: [(ReportInput, TrainingResult)]) -> ReportSection {
        func label(_ i: ReportInput, _ r: TrainingResult) -> String { "\(i.name) (\(r.normalization), depth \(trainedDepth(r.architecture)))" }
        var blocks = [ReportBlock]()
        let lines = runs.map { i, r in
            Series(label(i, r), points: r.history.compactMap { h in h.testAccuracy.map { DataPoint(Double(h.epoch), $0 * 100) } })
        }
        blocks.append(figure("training-test-accuracy", Chart.line(lines, options: ChartOptions(
            title: "Test accuracy vs epoch", x: Axis("epoch"), y: percentAxis("test top-1 accuracy (%)", lines.flatMap { $0.points.map(\.y) }),
            height: lines.count > 6 ? 480 : 420)), "Test accuracy after each epoch, one line per training run."))
        let depths = Set(runs.map { trainedDepth($0.1.architecture) })
        if depths.count >= 2 {
            var norms = [String]()
            for (_, r) in runs where !norms.contains(r.normalization) { norms.append(r.normalization) }
            let series = norms.map { nk in
                Series(nk, points: runs.filter { $0.1.normalization == nk }
                    .map { DataPoint(Double(trainedDepth($0.1.architecture)), $0.1.testAccuracy * 100) }.sorted { $0.x < $1.x })
            }
            blocks.append(figure("training-accuracy-vs-depth", Chart.line(series, options: ChartOptions(
                title: "Final test accuracy vs depth", x: Axis("depth (weight layers)", ticks: depths.sorted().map(Double.init)),
                y: percentAxis("test top-1 accuracy (%)", series.flatMap { $0.points.map(\.y) }))),
                "Test accuracy after the last epoch against the network's depth, one line per normalisation (the tdBN ablation)."))
        }
        blocks.append(.table(ReportTable(header: ["run", "network", "depth", "normalisation", "epochs", "test top-1", "s / epoch"],
                                         rows: runs.map { i, r in
                                             [i.name, r.architecture, String(trainedDepth(r.architecture)), r.normalization, String(r.history.count),
                                              pct(r.testAccuracy), Fmt.fixed(r.secondsPerEpoch, 1)]
                                         })))
        return ReportSection("Training runs compared", blocks: blocks)
    }
}
