import ArgumentParser
import SpikeConvert
import SpikeCore

/// How a trained ANN becomes an SNN (`convert`, and `simulate`/`sweep` given an ANN): calibration
/// data and the conversion rules of DESIGN.md section 4.
public struct ConvertOptions: ParsableArguments {
    @Option(help: "Calibration data (as --data): the ANN runs on it to set each layer's or channel's normalization factor.")
    public var calibration: String?
    @Option(help: "Calibration split (kept apart from the evaluation split).")
    public var calibrationSplit = "train"
    @Option(help: "Number of calibration samples.")
    public var calibrationCount = 100
    @Option(help: "Coding: rate (IF/IBT neurons over T timesteps) or fs (few-spike neurons, K sub-steps per layer, any activation).")
    public var coding: Coding = .rate
    @Option(name: [.customShort("K"), .long], help: "Few-spike coding: sub-steps K per layer.")
    public var subSteps = 10
    @Option(help: "Few-spike coding of leaky-ReLU and linear layers with negative inputs: binary (one signed neuron, sign-magnitude binary code in closed form) or fit (signed parameters fitted by gradient descent; linear as offset binary).")
    public var fsSigned: FewSpikeSigned = .binary
    @Option(help: "Normalization: layer or channel.")
    public var norm: NormMode = .channel
    @Option(help: "Statistic of |activation|: max, p99.9, p99.99 or another pNN.N. (default: p99.9 for rate coding, whose step λ/T favours a tighter λ at low T; p99.99 for fs)")
    public var statistic: Statistic?
    @Option(help: "Reset of spiking neurons: subtract or zero.")
    public var reset: ResetMode = .subtract
    @Option(help: "Initial membrane potential, as a fraction of the threshold, of neurons whose values are non-negative (IF neurons of ReLU layers, and pooling of them) and of signed neurons read only by IF layers: 0.5 rounds the rate code where 0 floors it.")
    public var initialMembrane: Float = 0.5
    @Option(help: "Initial membrane potential, as a fraction of the threshold, of the other signed neurons (IBT: leaky-ReLU and linear layers, and pooling of them).")
    public var signedInitialMembrane: Float = 0
    @Option(help: "Multiply every spiking threshold by this factor.")
    public var thresholdScale: Float = 1
    @Option(help: "Max-pool: gate (spiking max-pool) or average (replaced by average pooling).")
    public var maxpool: MaxPoolMode = .gate
    @Option(help: "Residual adds: per-source (each branch keeps its scale) or max (one scale per stream, no branch amplified).")
    public var residual: ResidualScaling = .perSource
    @Option(help: "Neurons for leaky-ReLU and linear layers: ibt (signed IBT), memory (signed IBT neurons with memory: a spike of either sign is taken back when later input cancels it; needs reset by subtraction; with --burst, up to that many spikes are taken back at once) or relu (IF, negative activations dropped: the ablation).")
    public var neurons: NeuronChoice = .ibt
    @Option(help: "Neurons for ReLU layers: memory (IF neurons that send a negative spike when their membrane falls below 0 after they have fired, so a neuron's net count follows the ReLU of its integrated input; Wang et al. 2022) or if (plain IF: a spike once sent stays sent). (default: memory, or if with --burst above 1, where memory is asked for explicitly, or --reset zero, which memory neurons cannot have)")
    public var reluNeurons: RectifierNeuronChoice?
    @Option(help: "Neurons with memory: how far past its firing point the membrane must go back, as a fraction of the spike's step (θ, or θ/α), before a spike is taken back. 0 takes it back at once (the net count is the rounded input); 0.5 sends fewer cancelling +1/−1 pairs (with --neurons memory on the trained Tiny-YOLOv3: 41% fewer spikes, mAP above plain IBT at every T).")
    public var memoryMargin: Float = 0
    @Option(help: "Output layers: accumulator (non-spiking, membrane decoding) or spiking (signed neurons normalized like hidden layers, so --decoding spikes reads spike counts).")
    public var outputNeurons: OutputNeuronChoice = .accumulator
    @Option(help: "Burst spikes: IF/IBT neurons fire up to this many spikes per step as one event of value k, so activations above λ are carried instead of clipped.")
    public var burst = 1
    @Option(help: "Where the converted SNN is written (NAME.json + NAME.bin, and NAME.report.json).")
    public var snnModel: String?

    public init() {}

    public func validate() throws {
        try check(calibrationCount >= 1, "calibrationCount", "must be at least 1, got \(calibrationCount)")
        try check(abs(initialMembrane) <= 1, "initialMembrane", "must be a fraction of the threshold in [-1, 1], got \(initialMembrane)")
        try check(abs(signedInitialMembrane) <= 1, "signedInitialMembrane", "must be a fraction of the threshold in [-1, 1], got \(signedInitialMembrane)")
        try check(thresholdScale > 0 && thresholdScale.isFinite, "thresholdScale", "must be positive, got \(thresholdScale)")
        try check(NeuronModel.burstRange.contains(burst), "burst", "must be between 1 and 64, got \(burst)")
        try check(FewSpikeCode.stepRange.contains(subSteps), "subSteps", "must be between 1 and \(FewSpikeCode.stepRange.upperBound), got \(subSteps)")
        try check(coding == .rate || (burst == 1 && outputNeurons == .accumulator), "coding",
                  "fs codes each activation in K sub-steps: it takes no --burst and keeps output accumulators")
        try check(neurons != .memory || (reset == .subtract && coding == .rate), "neurons",
                  "memory neurons are rate-coded and take a spike back by adding its threshold: they need --reset subtract and --coding rate")
        try check(memoryMargin >= 0 && memoryMargin < 1, "memoryMargin", "must be in [0, 1), got \(memoryMargin)")
        let anyMemory = coding == .rate && reset == .subtract && (reluNeurons == .memory || (reluNeurons == nil && burst == 1) || neurons == .memory)
        try check(memoryMargin == 0 || anyMemory, "memoryMargin",
                  "is for neurons with memory, and this conversion gives none (it needs rate coding, reset by subtraction, and --relu-neurons memory (the default without --burst) or --neurons memory)")
        try check(reluNeurons == nil || coding == .rate, "reluNeurons", "chooses rate-coded neurons; --coding fs codes ReLU layers with few-spike neurons")
        try check(reluNeurons != .memory || reset == .subtract, "reluNeurons",
                  "memory neurons take a spike back by adding θ: they need --reset subtract")
        try check(burst == 1 || reset == .subtract, "burst", "needs reset by subtraction (--reset subtract), got --reset \(reset.rawValue)")
    }

    /// The converter's options.
    public var rules: ConversionOptions {
        var o = ConversionOptions()
        o.norm = norm; o.explicitStatistic = statistic; o.reset = reset; o.initialMembrane = initialMembrane
        o.signedInitialMembrane = signedInitialMembrane
        o.thresholdScale = thresholdScale; o.maxPool = maxpool; o.residual = residual
        o.signedNeurons = neurons != .relu; o.signedMemory = neurons == .memory; o.memoryMargin = memoryMargin; o.reluMemory = reluNeurons.map { $0 == .memory }; o.spikingOutputs = outputNeurons == .spiking; o.burst = burst
        o.coding = coding; o.subSteps = subSteps; o.fsSigned = fsSigned
        return o
    }
}
