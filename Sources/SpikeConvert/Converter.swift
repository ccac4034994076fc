import SpikeCore

/// Layer-wise or channel-wise normalization factors (Spiking-YOLO Algorithm 1 for channel-wise).
public enum NormMode: String, Sendable, Codable, CaseIterable { case layer, channel }

/// How max-pooling is carried into the SNN (it has no exact rate-coded equivalent).
public enum MaxPoolMode: String, Sendable, Codable, CaseIterable {
    /// Spiking max-pool gated by the most active input (running spike counts).
    case gate
    /// Replaced by average pooling with IF neurons (changes the function: named in the report).
    case average
}

/// How activations are coded in spikes.
public enum Coding: String, Sendable, Codable, CaseIterable {
    /// Rate coding: data-based normalization, IF / IBT neurons over T timesteps.
    case rate
    /// Few-spike coding (AMOS / FS neurons): each activation in K sub-steps, any activation function.
    case fs
}

/// Options of an ANN-to-SNN conversion (DESIGN.md section 4).
public struct ConversionOptions: Sendable {
    public var coding: Coding = .rate
    /// Few-spike coding: sub-steps K per layer.
    public var subSteps = 10
    /// Few-spike coding: how leaky-ReLU and linear layers with negative inputs are coded.
    public var fsSigned: FewSpikeSigned = .binary
    public var norm: NormMode = .channel
    /// The statistic of |activation| that sets each layer's or channel's λ. Unset, it depends on the coding:
    /// p99.9 for rate coding, whose quantization step is λ/T, so that at low T a tighter λ (rare clipping,
    /// finer steps) wins: on the residual MNIST CNN p99.9 gives 94.27% at T = 32 against p99.99's 90.95%
    /// (Benchmarks/RESULTS.md, "Rate conversion at low T"); p99.99 for few-spike coding, whose step λ/2^K
    /// is fine already, so clipping is the larger error.
    public var statistic: Statistic {
        get { explicitStatistic ?? Self.defaultStatistic(coding) }
        set { explicitStatistic = newValue }
    }
    /// The statistic set by the user; nil: the coding's default.
    public var explicitStatistic: Statistic?
    public static func defaultStatistic(_ coding: Coding) -> Statistic {
        coding == .rate ? .percentile(99.9) : .percentile(99.99)
    }
    public var reset: ResetMode = .subtract
    /// Initial membrane potential, as a fraction of the threshold, of neurons whose values are non-negative
    /// (IF neurons, and pooling layers all of whose inputs are non-negative) and of signed neurons read only
    /// by IF layers (the linear convolution before a residual add + ReLU). 0.5 (default) makes an IF
    /// neuron's spike count round its integrated input instead of flooring it (the expected rate-coding
    /// error of a layer goes from −θ/2T to 0); 0 is SpikingJelly's and the SNN Toolbox's choice.
    public var initialMembrane: Float = 0.5
    /// Initial membrane potential of the other signed neurons (IBT, and pooling of signed values). Default 0: one
    /// offset cannot round both signs (0.5θ rounds the positive side and biases the negative side by a
    /// whole negative spike), and on yolo-fastest 0.5 was worse (Benchmarks/RESULTS.md).
    public var signedInitialMembrane: Float = 0
    /// Multiplies every spiking threshold (threshold sweeps, Deng et al. Fig. 13); 1 = data-based λ.
    public var thresholdScale: Float = 1
    public var maxPool: MaxPoolMode = .gate
    public var residual: ResidualScaling = .perSource
    /// False: the Spiking-YOLO ablation "plain ReLU neurons": leaky-ReLU and linear layers get IF
    /// neurons too, so negative activations are dropped (no signed IBT neurons).
    public var signedNeurons = true
    /// Whether the IF neurons of ReLU layers get memory (`NeuronModel.memory`): they take a spike back when their
    /// membrane falls below 0, so their net count follows the ReLU of their integrated input instead of keeping
    /// the spikes of an early excursion. nil (the default): with burst 1 and reset by subtraction; at low T it
    /// lifts the residual MNIST CNN from 61.7% to 89.3% at T = 8 (Benchmarks/RESULTS.md, "Rate conversion at
    /// low T"). true: also with bursts (up to `burst` spikes taken back at once). Reset to zero keeps plain IF
    /// neurons either way (memory takes a spike back by adding θ); the CLI refuses an explicit
    /// `--relu-neurons memory` with it.
    public var reluMemory: Bool? = nil
    /// True: the signed IBT neurons of leaky-ReLU and linear layers get memory too (`--neurons memory`): a spike of
    /// either sign is taken back when later input cancels it. Needs reset by subtraction; with bursts, up to `burst`
    /// spikes are taken back at once.
    public var signedMemory = false
    /// `NeuronModel.memoryMargin` of every neuron with memory (0: take a spike back as soon as V crosses its firing point).
    public var memoryMargin: Float = 0
    /// True: output layers get spiking signed neurons (linear IBT, α = 1) normalized like any other
    /// layer, so outputs can be decoded from spike counts (Spiking-YOLO's decoding ablation); their
    /// λ is kept as the layer's `outputScale`. False: non-spiking accumulators (membrane decoding).
    public var spikingOutputs = false
    /// Burst spikes: IF and IBT neurons may fire up to this many spikes per step (one event of value
    /// k), so activations above λ are carried up to burst·λ instead of clipped. 1 = ordinary neurons.
    public var burst = 1
    public init() {}
}

/// One row of the conversion report.
public struct ConversionLayerReport: Codable, Sendable {
    public var name: String
    public var op: String
    public var annActivation: String
    public var neuronModel: String
    /// Max |a| over the calibration samples (layer-wide).
    public var maxActivation: Float
    /// The statistic's value layer-wide (e.g. its 99.99th percentile).
    public var statisticValue: Float
    /// λ used: one value (layer-norm) or min / median / max over channels (channel-norm).
    public var lambdaMin: Float, lambdaMedian: Float, lambdaMax: Float
    public var note: String?
    /// Max |a| of each channel over the calibration samples (Spiking-YOLO Fig. 1: how far most
    /// channels sit below the layer's maximum under layer-norm).
    public var channelMax: [Float]?

    public init(name: String, op: String, annActivation: String, neuronModel: String, maxActivation: Float, statisticValue: Float,
                lambdaMin: Float, lambdaMedian: Float, lambdaMax: Float, note: String? = nil, channelMax: [Float]? = nil) {
        self.name = name; self.op = op; self.annActivation = annActivation; self.neuronModel = neuronModel
        self.maxActivation = maxActivation; self.statisticValue = statisticValue
        self.lambdaMin = lambdaMin; self.lambdaMedian = lambdaMedian; self.lambdaMax = lambdaMax
        self.note = note; self.channelMax = channelMax
    }
}

/// What a conversion did, for JSON and the terminal.
public struct ConversionReport: Codable, Sendable {
    /// What wrote this file and what it is, as in every result file; missing in reports written before them.
    @Defaulted<ResultFileDefaults.Tool> public var tool: String = "spikescale"
    @Defaulted<ResultFileDefaults.ConversionKind> public var kind: String = "conversion"
    /// The result-file format version (`ResultFile.version`).
    @Defaulted<ResultFileDefaults.Version1> public var version: Int = 1
    public var source: String
    public var norm: String
    public var statistic: String
    public var reset: String
    /// Initial membrane (fraction of θ) of non-negative neurons; `signedInitialMembrane` of signed ones
    /// (nil in reports written before the two were separate: there it applied to every neuron).
    public var initialMembrane: Float
    public var signedInitialMembrane: Float?
    /// Neurons of ReLU layers: "memory" (IF with memory) or "if" (nil in reports written before the option existed: "if").
    public var reluNeurons: String?
    public var thresholdScale: Float
    public var maxPool: String
    public var residual: String?
    /// "accumulator" or "spiking" (nil in reports written before the option existed).
    public var outputNeurons: String?
    /// Spikes per step a neuron may fire (nil in reports written before the option existed).
    public var burst: Int?
    /// "rate" or "fs" (nil in reports written before few-spike coding), and K for "fs".
    public var coding: String?
    public var subSteps: Int?
    public var calibrationSamples: Int
    /// What the calibration samples were (names or indices), kept apart from evaluation data.
    public var calibrationData: String
    public var layers: [ConversionLayerReport]
    /// Replacements and their reasons, one line each.
    public var replacements: [String]

    public init(source: String, norm: String, statistic: String, reset: String, initialMembrane: Float, thresholdScale: Float,
                maxPool: String, residual: String? = nil, outputNeurons: String? = nil, burst: Int? = nil, calibrationSamples: Int,
                calibrationData: String, layers: [ConversionLayerReport], replacements: [String]) {
        self.source = source; self.norm = norm; self.statistic = statistic; self.reset = reset
        self.initialMembrane = initialMembrane; self.thresholdScale = thresholdScale; self.maxPool = maxPool
        self.residual = residual; self.outputNeurons = outputNeurons; self.burst = burst
        self.calibrationSamples = calibrationSamples; self.calibrationData = calibrationData
        self.layers = layers; self.replacements = replacements
    }
}

/// Converts an ANN (as imported: neuron models stand for its activations, batch norm folded) into an
/// SNN by data-based normalization.
public enum Converter {
    public static func convert(_ ann: Network, calibration: [[Float]], calibrationData: String, source: String,
                               options o: ConversionOptions, importNotes: [String] = []) throws -> (Network, ConversionReport) {
        guard !calibration.isEmpty else { throw SpikeError("conversion needs at least one calibration sample") }
        if o.coding == .fs {
            return try FewSpikeConversion.convert(ann, calibration: calibration, calibrationData: calibrationData, source: source,
                                                  options: o, importNotes: importNotes)
        }
        // Threshold scale, initial membrane and burst are checked where the user gives them (ConvertOptions)
        // and on the converted network's neurons (NeuronModel.validate, by snn.validate() below).
        var (net, replacements) = try prepared(ann, options: o, notes: importNotes)
        let stats = try CalibrationStats(network: net, samples: calibration)
        var (lambda, rows) = scaleFactors(net, stats: stats, options: o)
        var (snn, scales) = try Normalization.apply(net, lambda: lambda, residual: o.residual)
        setNeurons(&snn, scales: scales, rows: &rows, options: o)
        try snn.validate()
        if !o.signedNeurons { replacements.append("signed IBT neurons replaced by IF neurons (--neurons relu): negative activations are dropped") }
        var report = ConversionReport(source: source, norm: o.norm.rawValue, statistic: o.statistic.description, reset: o.reset.rawValue,
                                      initialMembrane: o.initialMembrane, thresholdScale: o.thresholdScale, maxPool: o.maxPool.rawValue, residual: o.residual.rawValue,
                                      outputNeurons: o.spikingOutputs ? "spiking" : "accumulator", burst: o.burst,
                                      calibrationSamples: calibration.count, calibrationData: calibrationData, layers: rows,
                                      replacements: replacements)
        report.signedInitialMembrane = o.signedInitialMembrane
        report.reluNeurons = (o.reluMemory ?? (o.burst == 1)) && o.reset == .subtract ? "memory" : "if"
        return (snn, report)
    }

    /// The ANN made ready for normalization: unconvertible activations refused, max-pools replaced where
    /// asked, spiking output layers where asked; with the replacements made, after the import's notes.
    static func prepared(_ ann: Network, options o: ConversionOptions, notes: [String]) throws -> (Network, [String]) {
        var net = ann
        var replacements = notes
        // Activation layers the engine cannot run.
        for l in net.layers {
            if case .activation(let f) = l.op {
                throw SpikeError("layer '\(l.name)': activation \(f.name) cannot be converted to rate-coded neurons (no positively homogeneous spiking equivalent); convert with few-spike coding (--coding fs)")
            }
        }
        if o.maxPool == .average {
            for (i, l) in net.layers.enumerated() {
                if case .maxPool(let w) = l.op {
                    net.layers[i].op = .avgPool(w, countIncludePad: false)
                    net.layers[i].neuron = .integrateAndFire()
                    replacements.append("\(l.name): max-pool replaced by average pooling with IF neurons (--maxpool average)")
                }
            }
        } else if net.layers.contains(where: { if case .maxPool = $0.op { return true } else { return false } }) {
            replacements.append("max-pool layers: spiking max-pool gated by the most active input (running spike counts)")
        }
        if o.spikingOutputs {
            for i in net.outputs where net.layers[i].neuron?.kind == .accumulator {
                net.layers[i].neuron = .ibt(alpha: 1)
                replacements.append("\(net.layers[i].name): output accumulator replaced by spiking signed linear neurons (--output-neurons spiking): decode by spike count or membrane, × λ per channel")
            }
        }
        return (net, replacements)
    }

    /// λ per layer and channel from the calibration statistics (DESIGN.md section 4), and the report's rows.
    static func scaleFactors(_ net: Network, stats: CalibrationStats, options o: ConversionOptions) -> ([[Float]], [ConversionLayerReport]) {
        var lambda = [[Float]](repeating: [], count: net.layers.count)
        var rows = [ConversionLayerReport]()
        for (i, l) in net.layers.enumerated() where l.op.hasNeurons {
            let c = l.shape.channels
            var note: String?
            let layerStat = stats.layerValue(i, o.statistic)
            var lam: [Float]
            if case .avgPool = l.op { note = "pooling carries its input's scales (no weights to rescale)" }
            if case .globalAvgPool = l.op { note = "pooling carries its input's scales (no weights to rescale)" }
            if l.neuron?.kind == .accumulator {
                lam = [Float](repeating: 1, count: c)
                note = "output accumulator: λ = 1, decoded values are in the ANN's units"
            } else if o.norm == .layer {
                lam = [Float](repeating: layerStat, count: c)
            } else {
                lam = stats.channelValues(i, o.statistic)
            }
            let fallback = layerStat > 0 ? layerStat : 1
            let dead = lam.filter { !($0 > 0) }.count
            if dead > 0 {
                lam = lam.map { $0 > 0 ? $0 : fallback }
                note = (note.map { $0 + "; " } ?? "") + "\(dead) channel(s) never active in calibration: λ set to the layer's value"
            }
            lambda[i] = lam
            let sorted = lam.sorted()
            rows.append(ConversionLayerReport(name: l.name, op: l.op.name, annActivation: annActivationName(l.neuron!),
                                              neuronModel: "", maxActivation: stats.layerMax[i], statisticValue: layerStat,
                                              lambdaMin: sorted.first ?? 0, lambdaMedian: sorted[sorted.count / 2], lambdaMax: sorted.last ?? 0,
                                              note: note, channelMax: stats.channelMax[i]))
        }
        // Pooling layers pass their input's scale on (Normalization); give them a λ entry anyway.
        for (i, l) in net.layers.enumerated() where l.op.hasNeurons && lambda[i].isEmpty { lambda[i] = [Float](repeating: 1, count: l.shape.channels) }
        return (lambda, rows)
    }

    /// Spiking neurons with the conversion's threshold, reset, initial membrane and burst; the report's
    /// rows get the λ actually used and the neuron model.
    static func setNeurons(_ snn: inout Network, scales: [[Float]], rows: inout [ConversionLayerReport], options o: ConversionOptions) {
        var k = 0
        var nonNegative = [Bool](repeating: false, count: snn.layers.count)
        for (i, l) in snn.layers.enumerated() {
            var n = l.neuron
            if let m = n, m.kind == .signedIBT, !o.signedNeurons, l.outputScale.isEmpty, !(o.spikingOutputs && snn.outputs.contains(i)) {
                n = .integrateAndFire()
            }
            nonNegative[i] = isNonNegative(snn, i, neuron: n, known: nonNegative)
        }
        // Signed layers read only by rectifying (IF) layers, e.g. the linear convolution before a residual
        // add + ReLU: what their consumers keep is the positive side, so they round it as IF neurons do.
        var consumers = [[Int]](repeating: [], count: snn.layers.count)
        for (j, l) in snn.layers.enumerated() { for i in l.inputs { consumers[i].append(j) } }
        let rectified = snn.layers.indices.map { i in
            !consumers[i].isEmpty && consumers[i].allSatisfy { j in
                guard let n = snn.layers[j].neuron, snn.layers[j].op.hasNeurons else { return false }
                return n.kind == .integrateAndFire || n.kind == .leakyIntegrateAndFire
            }
        }
        for (i, l) in snn.layers.enumerated() where l.op.hasNeurons {
            let used = scales[i].sorted()
            rows[k].lambdaMin = used.first ?? 0; rows[k].lambdaMedian = used.isEmpty ? 0 : used[used.count / 2]; rows[k].lambdaMax = used.last ?? 0
            var n = l.neuron!
            if n.kind == .signedIBT && !o.signedNeurons && snn.layers[i].outputScale.isEmpty && !(o.spikingOutputs && snn.outputs.contains(i)) {
                n = .integrateAndFire()
            }
            if n.kind != .accumulator {
                n.threshold = o.thresholdScale
                n.reset = o.reset
                n.initialMembrane = nonNegative[i] || rectified[i] ? o.initialMembrane : o.signedInitialMembrane
                if n.kind == .integrateAndFire || n.kind == .signedIBT { n.burst = o.burst }
                // ReLU layers only: not the IF neurons that the plain-ReLU ablation (`signedNeurons == false`) gives to
                // leaky-ReLU and linear layers.
                n.memory = n.reset == .subtract && ((o.reluMemory ?? (o.burst == 1)) && n.kind == .integrateAndFire && l.neuron?.kind == .integrateAndFire
                    || o.signedMemory && n.kind == .signedIBT)
                if n.memory { n.memoryMargin = o.memoryMargin }
            }
            snn.layers[i].neuron = n
            if o.spikingOutputs && snn.outputs.contains(i) && n.kind != .accumulator { snn.layers[i].outputScale = scales[i] }
            rows[k].neuronModel = describe(n)
            k += 1
        }
    }

    /// Whether layer `i`'s values (its ANN activations, so its spikes) are never negative: IF and LIF
    /// neurons (ReLU), and pooling, routing and signed neurons of a pooling layer whose inputs are all
    /// non-negative. The network input and every other signed layer count as signed. `known` holds the
    /// answer for the earlier layers.
    static func isNonNegative(_ net: Network, _ i: Int, neuron: NeuronModel?, known: [Bool]) -> Bool {
        let l = net.layers[i]
        let inputsNonNegative = !l.inputs.isEmpty && l.inputs.allSatisfy { known[$0] }
        switch l.op {
        case .input, .activation: return false
        case .maxPool, .concat, .channelSlice, .upsample, .flatten: return inputsNonNegative
        case .avgPool, .globalAvgPool:
            if let n = neuron, n.kind == .integrateAndFire || n.kind == .leakyIntegrateAndFire { return true }
            return inputsNonNegative
        case .conv, .dense, .add:
            guard let n = neuron else { return false }
            return n.kind == .integrateAndFire || n.kind == .leakyIntegrateAndFire
        }
    }

    static func annActivationName(_ n: NeuronModel) -> String {
        switch n.kind {
        case .integrateAndFire, .leakyIntegrateAndFire: return "relu"
        case .signedIBT: return n.alpha == 1 ? "linear" : "leaky(\(n.alpha))"
        case .accumulator: return "linear (output)"
        case .fewSpike: return "few-spike"
        case .leaky, .leakyIntegrator: return "none (directly trained spiking neuron)"
        }
    }

    static func describe(_ n: NeuronModel) -> String {
        switch n.kind {
        case .integrateAndFire: return "IF" + (n.memory ? " with memory" + (n.memoryMargin != 0 ? " (margin \(n.memoryMargin))" : "") : "") + " θ=\(n.threshold) reset=\(n.reset.rawValue)" + (n.initialMembrane != 0 ? " V0=\(n.initialMembrane)θ" : "") + (n.burst > 1 ? " burst \(n.burst)" : "")
        case .signedIBT: return "IBT" + (n.memory ? " with memory" + (n.memoryMargin != 0 ? " (margin \(n.memoryMargin))" : "") : "") + " α=\(n.alpha) θ=\(n.threshold)" + (n.initialMembrane != 0 ? " V0=\(n.initialMembrane)θ" : "") + (n.burst > 1 ? " burst \(n.burst)" : "")
        case .leakyIntegrateAndFire: return "LIF τ=\(n.tau) θ=\(n.threshold)"
        case .accumulator: return "accumulator"
        case .fewSpike: return "FS K=\(n.subSteps)"
        case .leaky: return "leaky θ=\(n.threshold) (\(n.dynamics?.convention ?? ""))"
        case .leakyIntegrator: return "leaky integrator (\(n.dynamics?.convention ?? ""))"
        }
    }
}

extension ConversionReport {
    /// The report as a readable table.
    public var table: String {
        func f(_ x: Float) -> String { String(format: "%.4g", x) }
        var out = ["conversion of \(source): \(norm)-norm, statistic \(statistic), reset \(reset), initial membrane \(initialMembrane)θ\(signedInitialMembrane.map { " (signed neurons \($0)θ)" } ?? ""), threshold x\(thresholdScale), max-pool \(maxPool)\(reluNeurons.map { ", ReLU neurons \($0)" } ?? "")",
                   "calibration: \(calibrationSamples) sample(s) from \(calibrationData)"]
        out.append("layer          op             ANN act          neuron                           max|a|    stat      λ min     λ med     λ max")
        for r in layers {
            out.append([r.name.padding(toLength: 14, withPad: " ", startingAt: 0), r.op.padding(toLength: 14, withPad: " ", startingAt: 0),
                        r.annActivation.padding(toLength: 16, withPad: " ", startingAt: 0), r.neuronModel.padding(toLength: 32, withPad: " ", startingAt: 0),
                        f(r.maxActivation).padding(toLength: 9, withPad: " ", startingAt: 0), f(r.statisticValue).padding(toLength: 9, withPad: " ", startingAt: 0),
                        f(r.lambdaMin).padding(toLength: 9, withPad: " ", startingAt: 0), f(r.lambdaMedian).padding(toLength: 9, withPad: " ", startingAt: 0),
                        f(r.lambdaMax)].joined(separator: " ") + (r.note.map { "  (\($0))" } ?? ""))
        }
        for r in replacements { out.append("replaced: \(r)") }
        return out.joined(separator: "\n")
    }
}
