import ArgumentParser
import Foundation
import SpikeConvert
import SpikeCore
import SpikeEngine
import SpikeMPI
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a spiking network on the MPI ranks of this job.",
        discussion: """
        The model is a native SpikeScale model (NAME.json + NAME.bin) or zoo:NAME (tiny-yolov3, mnist-cnn,
        branchy: seeded weights scaled to fire at about --target-rate). Inputs come from --data (an IDX
        folder such as MNIST) or, with --input synthetic, from seeded synthetic images.
        Writes the result JSON to --json and one line per finished sample to JSON.samples.jsonl.
        """)

    @Option(help: "YAML experiment config; command-line options override its keys.") var config: String?
    @Option(help: "Model file (.json) or zoo:NAME.") var model: String?
    @Option(help: "Dataset folder: IDX images and labels (e.g. ../shared/data/mnist) or JPEG images (letterboxed).") var data: String?
    @Option(help: "Dataset split: t10k or train (IDX), test100 or train1K (N-MNIST), val or train (YOLO layout); default the evaluation split.") var split: String?
    @Option(help: "Input source when there is no --data: synthetic.") var input: String?
    @Option(name: [.customShort("T"), .long], help: "Timesteps per sample.") var timesteps: Int?
    @Option(help: "Number of samples.") var samples: Int?
    @Option(help: "Index of the first sample.") var firstSample: Int?
    @Option(help: "Seed of the stochastic encoders (and of zoo weights).") var seed: UInt64?
    @Option(help: "Input encoder: direct (analog encoding layer), current (input IF neurons driven by the pixel value), bernoulli, poisson, or events (event frames, one per timestep).") var encoder: InputEncoder?
    @Option(help: "Event data (N-MNIST): frames (SNN input, one binary frame per timestep), binary (unrolled binary image) or intensity (normalised counts).") var representation: String?
    @Option(help: "Event data: bin width in milliseconds.") var binMs: Double?
    @Option(help: "Record the spike times of this many neurons per layer in the first sample (raster plot).") var raster: Int?
    @Option(help: "Output decoding: membrane or spikes.") var decoding: Decoding?
    @Option(help: "Result JSON path.") var json: String?
    @Option(help: "Energy preset: spiking-yolo-fp32, spiking-yolo-int32, horowitz-45nm-fp32, or custom (the config's 'energy' table).") var energyPreset: String?
    @Option(help: "Comma-separated timesteps below T at which outputs are also decoded (accuracy vs T in one run).") var checkpoints: String?
    @Option(help: "Zoo models: target firing rate for weight scaling (default 0.1).") var targetRate: Float?
    @Option(help: "Zoo tiny-yolov3: input side (multiple of 32).") var inputSize: Int?
    @Option(help: "ANN models (.onnx, .cfg): convert first, calibrating on this data (or the config's 'calibration').") var calibration: String?
    @Option(help: "ANN models: calibration samples (default 100).") var calibrationCount: Int?
    @Option(help: "ANN models: normalization, layer or channel.") var norm: NormMode?
    @Option(help: "ANN models: initial membrane potential as a fraction of the threshold.") var initialMembrane: Float?
    @Option(help: "ANN models: multiply every spiking threshold by this factor.") var thresholdScale: Float?
    @Option(help: "ANN models: residual scaling, per-source or max.") var residual: ResidualScaling?
    @Option(help: "ANN models: burst spikes, up to this many spikes per neuron and step (default 1).") var burst: Int?
    @Option(help: "ANN models: output layers accumulator (default) or spiking (needed for --decoding spikes).") var outputNeurons: String?
    @Option(help: "Timesteps at the start left out of the decoding (burn-in).") var burnIn: Int?
    @Flag(help: "Continue a run whose samples file exists, skipping finished samples.") var resume = false
    @Flag(help: "Replace existing result files.") var overwrite = false
    @Flag(help: "Print the partition plan.") var showPlan = false
    @Flag(help: "Also run the ANN reference of the same network (rank 0) and report its top-1 beside the SNN's.") var compareAnn = false
    @Option(help: "Spiking max-pool: leader (pass the events of the most active input; default) or count (emit the change of the window's running max count: the output count is exactly the max).") var maxpoolGate: MaxPoolGateMode?
    @Flag(help: "Compare every spiking layer's decoded values with the ANN's activations (mean error, bias, correlation, saturation per layer): where the conversion loses accuracy.") var layerErrors = false
    @Flag(help: "With --compare-ann: clip the ANN reference's spiking layers to one spike per step ([0, θ] or [−θ, θ]), the limit of the rate-coded SNN as T grows; its mAP against the labels and the exact ANN's measures what clipping costs.") var rateLimitedAnn = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        try runOnWorld(simulate)
    }

    func simulate(_ t: MPITransport) throws {
        // Setup: every rank loads and validates; all agree before any rank goes on.
        var setup: (Network, SimulationConfig, RunOptions, InputSource?)?
        try agreeAll(t) {
            var c = RunConfig()
            if let p = config { c = try RunConfig.load(p) }
            guard let modelSpec = model ?? c.model else { throw SpikeError("no model: pass --model FILE or zoo:NAME, or set key 'model' in the config") }
            let seedValue = seed ?? c.seed ?? 1
            var network: Network
            let ext = (modelSpec as NSString).pathExtension.lowercased()
            if (ext == "onnx" || ext == "cfg") && (calibration ?? c.calibration) != nil {
                // An ANN with calibration data: every rank converts it (deterministic, same bits everywhere).
                let setup = try ConversionSetup(config: c, calibration: calibration, calibrationCount: calibrationCount, norm: norm,
                                                initialMembrane: initialMembrane, thresholdScale: thresholdScale, residual: residual,
                                                outputNeurons: outputNeurons, burst: burst)
                let (snn, report) = try setup.convert(try ANNSource.load(modelSpec), source: modelSpec)
                network = snn
                if t.rank == 0, let out = c.snnModel {
                    try ModelFile.write(snn, to: out)
                    let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                    try ResultFiles.atomicWrite(try enc.encode(report), to: (out as NSString).deletingPathExtension + ".report.json")
                }
            } else {
                network = try ModelSource.load(modelSpec, seed: seedValue, targetRate: targetRate ?? c.targetRate ?? 0.1,
                                               inputSize: inputSize ?? c.inputSize)
            }
            var cfg = SimulationConfig(timesteps: timesteps ?? c.timesteps ?? 32, seed: seedValue,
                                       encoder: encoder ?? c.encoder ?? .direct, decoding: decoding ?? c.decoding ?? .membrane)
            if let cp = checkpoints ?? c.checkpoints.map({ $0.map(String.init).joined(separator: ",") }) {
                let values = cp.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                guard let ints = Optional(values.compactMap { Int($0) }), ints.count == values.count else {
                    throw SpikeError("--checkpoints '\(cp)': expected comma-separated integers")
                }
                cfg.checkpoints = Array(Set(ints)).sorted()
            }
            cfg.rasterNeurons = raster ?? c.raster ?? 0
            cfg.rasterSample = firstSample ?? c.firstSample ?? 0
            cfg.burnIn = burnIn ?? c.burnIn ?? 0
            cfg.layerValues = layerErrors
            cfg.maxPoolGate = maxpoolGate ?? c.maxpoolGate.flatMap(MaxPoolGateMode.init(rawValue:)) ?? .leader
            try cfg.validate()
            var opts = RunOptions(modelPath: modelSpec, samples: samples ?? c.samples ?? 1)
            opts.firstSample = firstSample ?? c.firstSample ?? 0
            opts.jsonPath = json ?? c.json
            opts.energyPreset = try c.energyPreset(named: energyPreset)
            opts.resume = resume; opts.overwrite = overwrite; opts.progress = !quiet; opts.compareANN = compareAnn || (c.compareAnn ?? false)
            opts.rateLimitedANN = rateLimitedAnn
            var source: InputSource?
            if t.rank == 0 {
                if let d = data ?? c.data {
                    var ev = DataSource.EventOptions()
                    ev.representation = representation ?? c.representation ?? (cfg.encoder == .events ? "frames" : nil)
                    ev.binMilliseconds = binMs ?? c.binMs ?? 10
                    ev.timesteps = cfg.timesteps
                    source = try DataSource.open(d, split: split ?? c.split, expecting: network.inputShape,
                                                 classes: network.heads.first?.classes, events: ev)
                } else if (input ?? c.input) == "synthetic" {
                    source = SyntheticSource(shape: network.inputShape, seed: seedValue, count: Int(Int32.max))
                } else {
                    throw SpikeError("no input: pass --data FOLDER or --input synthetic")
                }
            }
            setup = (network, cfg, opts, source)
        }
        let (network, cfg, opts, source) = setup!
        let coordinator = try Coordinator(network: network, transport: t, config: cfg, options: opts)
        if showPlan && t.rank == 0 { print(coordinator.partition.describe(network)) }
        if let result = try coordinator.run(source: source) {
            print(SummaryTable.render(result))
            if let p = opts.jsonPath { print("result: \(p)\nsamples: \(p).samples.jsonl") }
        }
    }
}

/// Runs a command's body on the ranks of this MPI job: errors every rank agrees on are printed once by
/// rank 0 and end the job with exit code 1; any other error aborts the whole job with its message.
func runOnWorld(_ body: (MPITransport) throws -> Void) throws {
    try MPIRuntime.initialize()
    let transport = try MPITransport.world()
    var failed = false
    do {
        try body(transport)
    } catch let e as CollectiveError {
        if transport.rank == 0 { printError("spikescale: error: \(e.message)") }
        failed = true
    } catch {
        if transport.size == 1 { printError("spikescale: error: \(error)"); failed = true } else { transport.abort("\(error)") }
    }
    try MPIRuntime.finalize()
    if failed { throw ExitCode(1) }
}

/// Runs `body` on every rank; if it fails anywhere, every rank throws the same `CollectiveError`
/// carrying the failing rank's message (rank 0's if it failed), so no rank is left waiting.
func agreeAll(_ t: Transport, _ body: () throws -> Void) throws {
    var message = ""
    do { try body() } catch { message = "\(error)" }
    let flags = try t.allreduceMax([message.isEmpty ? 0 : Int64(t.size - t.rank)])
    guard flags[0] > 0 else { return }
    let first = t.size - Int(flags[0])
    var bytes = t.rank == first ? Array(message.utf8) : []
    try t.broadcast(&bytes, root: first)
    let text = String(decoding: bytes, as: UTF8.self)
    throw CollectiveError(message: first == 0 ? text : "rank \(first): \(text)")
}

extension InputEncoder: ExpressibleByArgument {}
extension Decoding: ExpressibleByArgument {}
extension MaxPoolGateMode: ExpressibleByArgument {}
