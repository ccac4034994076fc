import SpikeANN
import SpikeCore

/// ANN → few-spike SNN (Stöckl & Maass): every hidden layer's neurons become FS neurons coding its
/// activation in K sub-steps, fitted to the range of the layer's input current seen in calibration
/// (the data-based scaling of few-spike coding). Weights keep the ANN's units: each spike passes on
/// d(t), so no normalization is needed. Activation layers (sigmoid, SiLU, hard-swish) are folded into
/// the FS neurons of the layer before them.
public enum FewSpikeConversion {
    public static func convert(_ ann: Network, calibration: [[Float]], calibrationData: String, source: String,
                               options o: ConversionOptions, importNotes: [String] = []) throws -> (Network, ConversionReport) {
        let ranges = try CalibrationRanges(network: ann, samples: calibration, statistic: o.statistic)
        var (snn, kept, folded) = try fold(ann)
        var rows = [ConversionLayerReport]()
        var fitter = FewSpikeFitter(steps: o.subSteps)
        fitter.restarts = 8
        fitter.signed = o.fsSigned
        for (i, l) in snn.layers.enumerated() where l.op.hasNeurons && l.neuron?.kind != .accumulator {
            let old = kept[i]
            let f = folded[old] ?? activation(of: l.neuron!)
            var (lo, hi) = (ranges.low[old], ranges.high[old])
            var inputs = ranges.quantiles(old, count: fitter.points)
            if case .leaky(let a) = f {   // the layer's output is leaky(x): back to x
                lo /= a
                inputs = inputs.map { $0 < 0 ? $0 / a : $0 }
            }
            let code = codeFor(f, lo: lo, hi: hi, fitter: fitter, inputs: inputs)
            snn.layers[i].neuron = .fewSpike(code)
            let q = FewSpikeFitQuality(code: code, activation: f, lo: lo, hi: max(hi, lo + 1e-6), points: 501)
            rows.append(ConversionLayerReport(name: l.name, op: l.op.name, annActivation: f.description, neuronModel: "FS K=\(o.subSteps)",
                                              maxActivation: ranges.max[old], statisticValue: hi, lambdaMin: 1, lambdaMedian: 1, lambdaMax: 1,
                                              note: String(format: "input range [%.4g, %.4g], fit MSE %.3g, %.2f spikes per input", lo, hi, q.mse, q.spikesPerInput)))
        }
        try snn.validate()
        var replacements = importNotes
        if !folded.isEmpty { replacements.append("activation layers folded into the FS neurons of the layer before them: \(folded.count)") }
        if snn.layers.contains(where: { if case .maxPool = $0.op { return true } else { return false } }) {
            replacements.append("max-pool layers: the gate passes on the window's largest running sum of FS values (exact max once loaded)")
        }
        var report = ConversionReport(source: source, norm: "none", statistic: o.statistic.description, reset: "fs", initialMembrane: 0,
                                      thresholdScale: 1, maxPool: "gate", outputNeurons: "accumulator", calibrationSamples: calibration.count,
                                      calibrationData: calibrationData, layers: rows, replacements: replacements)
        report.coding = Coding.fs.rawValue; report.subSteps = o.subSteps
        return (snn, report)
    }

    /// The code of one layer: ReLU's closed form where the activation is ReLU, or linear on inputs
    /// that are never negative; otherwise a fit over [lo, hi].
    static func codeFor(_ f: FewSpikeActivation, lo: Float, hi: Float, fitter: FewSpikeFitter, inputs: [Float] = []) -> FewSpikeCode {
        let top = hi > 0 ? hi : 1
        if f == .relu || (f == .linear && lo >= 0) { return .relu(alpha: top, steps: fitter.steps) }
        return fitter.fit(f, lo: min(lo, 0), hi: max(hi, lo + 1e-3), inputs: inputs)
    }

    /// The activation an imported neuron model stands for.
    static func activation(of n: NeuronModel) -> FewSpikeActivation {
        switch n.kind {
        case .integrateAndFire, .leakyIntegrateAndFire: return .relu
        case .signedIBT: return n.alpha == 1 ? .linear : .leaky(n.alpha)
        case .accumulator, .fewSpike, .leaky, .leakyIntegrator: return .linear
        }
    }

    /// The network without its activation layers, each folded into the linear neurons of the layer
    /// it reads; `kept[i]` is the ANN index of layer i, `folded` the folded activation by ANN index.
    static func fold(_ ann: Network) throws -> (Network, kept: [Int], folded: [Int: FewSpikeActivation]) {
        var folded = [Int: FewSpikeActivation]()
        var replaced = [Int: Int]()   // activation layer → the layer it reads
        for (a, l) in ann.layers.enumerated() {
            guard case .activation(let g) = l.op else { continue }
            guard let f = FewSpikeActivation(g) else {
                throw SpikeError("layer '\(l.name)': activation \(g.name) has no few-spike code (FS codes relu, leaky-relu, linear, sigmoid, silu and hard-swish)")
            }
            let j = l.inputs[0]
            let readers = ann.layers.filter { $0.inputs.contains(j) }.count + (ann.outputs.contains(j) ? 1 : 0)
            guard ann.layers[j].op.hasNeurons, ann.layers[j].neuron?.kind == .signedIBT, ann.layers[j].neuron?.alpha == 1,
                  readers == 1, folded[j] == nil else {
                throw SpikeError("layer '\(l.name)': activation \(g.name) must directly follow a convolution, dense, pooling or add layer read by nothing else to become its FS neurons; it reads '\(ann.layers[j].name)'")
            }
            folded[j] = f; replaced[a] = j
        }
        let kept = ann.layers.indices.filter { replaced[$0] == nil }
        var newIndex = [Int](repeating: -1, count: ann.layers.count)
        for (n, i) in kept.enumerated() { newIndex[i] = n }
        func target(_ i: Int) -> Int { newIndex[replaced[i] ?? i] }
        var net = ann
        net.layers = kept.map { i in
            var l = ann.layers[i]
            l.inputs = l.inputs.map(target)
            return l
        }
        net.outputs = ann.outputs.map(target)
        return (net, kept, folded)
    }
}

/// Per layer with neurons: the low and high statistic of its outputs over the calibration samples
/// (p(100 − q) and p(q) for the statistic pq; min and max for max) and the largest |output|.
struct CalibrationRanges {
    var low: [Float], high: [Float], max: [Float]
    /// Per layer, its calibration outputs sorted.
    var sorted: [[Float]] = []

    /// `count` evenly spaced quantiles of layer i's calibration outputs.
    func quantiles(_ i: Int, count: Int) -> [Float] {
        let s = sorted[i]
        guard !s.isEmpty, count > 1 else { return [] }
        return (0..<count).map { s[$0 * (s.count - 1) / (count - 1)] }
    }

    init(network: Network, samples: [[Float]], statistic: Statistic) throws {
        let f = try DenseForward(network)
        var values = network.layers.map { _ in [Float]() }
        for x in samples {
            let outs = f.run(x)
            for (i, l) in network.layers.enumerated() where l.op.hasNeurons { values[i] += outs[i] }
        }
        let q: Double
        switch statistic { case .max: q = 100; case .percentile(let p): q = p }
        low = []; high = []; max = []
        for v in values {
            guard !v.isEmpty else { low.append(0); high.append(0); max.append(0); sorted.append([]); continue }
            let s = v.sorted()
            sorted.append(s)
            func at(_ p: Double) -> Float { s[Swift.min(s.count - 1, Swift.max(0, Int((p / 100 * Double(s.count - 1)).rounded())))] }
            low.append(at(100 - q)); high.append(at(q)); max.append(Swift.max(abs(s.first!), abs(s.last!)))
        }
    }
}
