import Foundation
import SpikeANN
import SpikeCore
import SpikeEngine
import SpikeAggregate
import SpikeData
import SpikeMetrics

public enum ANNEvaluation {
    /// Runs the ANN forward on `count` samples of `source` from `first`, single process.
    public static func run(network: Network, modelPath: String, source: InputSource, first: Int, count: Int,
                           progress: Bool = true) throws -> ANNResult {
        guard count >= 1 else { throw SpikeError("--samples must be at least 1, got \(count)") }
        guard first >= 0, first + count <= source.count else {
            throw SpikeError("samples \(first)..<\(first + count) requested but \(source.description) has \(source.count)")
        }
        guard source.framesPerSample == 1 else {
            throw SpikeError("\(source.description) gives \(source.framesPerSample) frames per sample; an ANN takes one image (use the binary or intensity representation)")
        }
        let ann = try DenseForward(network)
        var detection = DetectionScoring(network: network, checkpoints: 0)
        var correct = 0, labelled = 0
        let bar = ProgressLine(total: count, enabled: progress)
        let t0 = monotonicSeconds()
        for k in 0..<count {
            let s = try source.load(first + k)
            let out = ann.predict(s.input)
            if detection != nil {
                _ = detection!.add(image: first + k, sample: s, snnOutputs: out, checkpointOutputs: [], annOutputs: nil)
            } else if out.count == 1, let label = s.label, let m = argmax(out[0]) {
                labelled += 1
                if m == label { correct += 1 }
            }
            bar.update(done: k + 1, accuracy: labelled > 0 ? Double(correct) / Double(labelled) : nil)
        }
        bar.finish()
        let wall = monotonicSeconds() - t0
        let macs = network.totalMACs
        let memory = MemoryCost.ann(network)
        let energy = EnergyPreset.all.map { EnergyCost($0, annMacs: Double(macs)) }
        var det = detection?.summary()
        if det != nil { det!.detections = detection!.snn.count }
        return ANNResult(complete: true, model: modelPath, network: network.name, data: source.description, samples: count,
                         top1: labelled > 0 ? Double(correct) / Double(labelled) : nil, labelledSamples: labelled,
                         detection: det, parameters: network.parameterCount, memory: memory,
                         compute: .ann(macs: Double(macs)), energy: energy,
                         secondsPerSample: wall / Double(count),
                         layers: network.layers.enumerated().map { i, l in
                             ANNResult.Layer(name: l.name, op: l.op.name, shape: [l.shape.height, l.shape.width, l.shape.channels],
                                             parameters: l.weightCount + l.bias.count, macs: network.macs(layer: i))
                         })
    }
}

extension ANNEvaluation {
    /// The terminal summary of an ANN evaluation.
    public static func summary(_ r: ANNResult) -> String {
        var lines = ["\(r.network) on \(r.data): \(r.samples) samples, \(r.parameters) parameters"]
        if let t = r.top1 { lines.append(String(format: "top-1: %.2f%% (%d labelled)", t * 100, r.labelledSamples)) }
        if let d = r.detection {
            lines.append(String(format: "mAP@0.5 %.4f, COCO mAP@[.5:.95] %.4f (%d images, %d boxes, %d detections)",
                                d.map50 ?? .nan, d.map50to95 ?? .nan, d.images, d.groundTruthBoxes, d.detections))
        }
        lines.append(String(format: "memory: %.3f MB (weights %.3f + activations %.3f); compute: %.4g multiplies + %.4g additions per sample; %.2f ms/sample",
                            Double(r.memory.annBits) / 8e6, Double(r.memory.weightBits) / 8e6, Double(r.memory.activationBits) / 8e6,
                            r.compute.multiplies, r.compute.additions, r.secondsPerSample * 1e3))
        return lines.joined(separator: "\n")
    }
}
