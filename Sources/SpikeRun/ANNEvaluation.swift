import Foundation
import SpikeANN
import SpikeCore
import SpikeEngine
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
    }
    public var tool = "spikescale"
    public var kind = "ann"
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
}

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
            } else if out.count == 1, let label = s.label, let m = out[0].indices.max(by: { out[0][$0] < out[0][$1] }) {
                labelled += 1
                if m == label { correct += 1 }
            }
            bar.update(done: k + 1, accuracy: labelled > 0 ? Double(correct) / Double(labelled) : nil)
        }
        bar.finish()
        let wall = monotonicSeconds() - t0
        let macs = network.totalMACs
        let weightBits = network.parameterCount * 32, activationBits = network.neuronCount * 32
        let memory = RunResult.Memory(weightBits: weightBits, activationBits: activationBits, membraneBits: 0, spikeBits: 0,
                                      annBits: weightBits + activationBits, snnBits: 0)
        let energy = EnergyPreset.all.map {
            RunResult.Energy(preset: $0.name, macPicojoules: $0.macPicojoules, acPicojoules: $0.acPicojoules, snnJoules: 0,
                             annJoules: Double(macs) * $0.macPicojoules * 1e-12)
        }
        var det = detection?.summary()
        if det != nil { det!.detections = detection!.snn.count }
        return ANNResult(complete: true, model: modelPath, network: network.name, data: source.description, samples: count,
                         top1: labelled > 0 ? Double(correct) / Double(labelled) : nil, labelledSamples: labelled,
                         detection: det, parameters: network.parameterCount, memory: memory,
                         compute: RunResult.Ops(multiplies: Double(macs), additions: Double(macs)), energy: energy,
                         secondsPerSample: wall / Double(count),
                         layers: network.layers.enumerated().map { i, l in
                             ANNResult.Layer(name: l.name, op: l.op.name, shape: [l.shape.height, l.shape.width, l.shape.channels],
                                             parameters: l.weights.count + l.bias.count, macs: network.macs(layer: i))
                         })
    }
}
