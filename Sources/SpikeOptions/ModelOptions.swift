import ArgumentParser
import SpikeCore

/// The experiment config every configurable command takes (`--config C.yaml`); its keys are the
/// commands' option names and come before the command line's own options, so the command line wins.
public struct ConfigOption: ParsableArguments {
    @Option(help: "YAML experiment config: its keys are the options' names (burnIn for --burn-in); options given here win.")
    public var config: String?
    public init() {}
}

/// Which model a command works on.
public struct ModelOptions: ParsableArguments {
    @Option(help: "Model: native SpikeScale model (NAME.json + NAME.bin), zoo:NAME (tiny-yolov3, yolov3, mnist-cnn, branchy: seeded weights scaled to fire at about --target-rate), or a trained ANN (.onnx, Darknet .cfg) that is converted first.")
    public var model: String?
    @Option(help: "Darknet weights (default: the .cfg path with .weights).")
    public var weights: String?
    @Option(help: "Zoo models: target firing rate the seeded weights are scaled to.")
    public var targetRate: Float = 0.1
    @Option(help: "Zoo tiny-yolov3 and yolov3: input side (multiple of 32).")
    public var inputSize: Int?
    @Option(help: "NIR models (.nir): seconds per timestep. NIR is continuous-time and stores no dt; snnTorch's exports assume 1e-4, Norse's 1e-3, Sinabs' and SpikingJelly's 1 (time constants in steps).")
    public var dt: Double?
    @Option(help: "NIR models: whose discretisation of the neuron equations to use: snntorch, norse, sinabs or spikingjelly (README, NIR interchange).")
    public var convention: NIRConvention = .snntorch
    @Option(help: "Largest tensor a model file may declare: weights of one layer, neurons of one layer, parameters of a cfg.")
    public var maxTensorElements = InputLimits().tensorElements
    @Option(help: "Most layers a model file may declare (cfg sections, ONNX nodes, native layers).")
    public var maxLayers = InputLimits().layers

    public init() {}

    public func validate() throws {
        try check(targetRate >= 0 && targetRate < 1, "targetRate", "must be in [0, 1), got \(targetRate)")
        if let s = inputSize { try check(s >= 32 && s % 32 == 0, "inputSize", "must be a positive multiple of 32, got \(s)") }
        if let d = dt { try check(d > 0 && d.isFinite, "dt", "must be a positive number of seconds, got \(d)") }
        try check(maxTensorElements >= 1, "maxTensorElements", "must be at least 1, got \(maxTensorElements)")
        try check(maxLayers >= 1, "maxLayers", "must be at least 1, got \(maxLayers)")
    }

    /// Makes the model limits those of this process (`InputLimits.current`); a command calls it once, first.
    public func installLimits() {
        InputLimits.current.tensorElements = maxTensorElements
        InputLimits.current.layers = maxLayers
    }
}

/// Where samples come from.
public struct DataOptions: ParsableArguments {
    @Option(help: "Dataset folder: IDX images and labels (MNIST, Fashion-MNIST; gzipped or not), N-MNIST (train1K/test100 lists), a YOLO-layout detection set (images/SPLIT + labels/SPLIT) or a folder of JPEG images (letterboxed as Darknet does).")
    public var data: String?
    @Option(help: "Dataset split: t10k or train (IDX), test100 or train1K (N-MNIST), val, train or train+val (YOLO layout); default the evaluation split.")
    public var split: String?
    @Option(help: "Input source when there is no --data: synthetic (seeded synthetic images).")
    public var input: InputKind?
    @Option(help: "Number of samples (simulate: 1, sweep: 100 per point, evaluate: all).")
    public var samples: Int?
    @Option(help: "Index of the first sample.")
    public var firstSample = 0
    @Option(help: "Event data (N-MNIST): frames (SNN input, one binary frame per timestep), binary or binary:BINS (unrolled binary image) or intensity (normalised counts); default from the model's input shape, frames with --encoder events.")
    public var representation: String?
    @Option(help: "Event data: bin width in milliseconds.")
    public var binMs = 10.0
    @Option(help: "Most samples one data file may declare (an IDX header's count).")
    public var maxDatasetSamples = InputLimits().datasetSamples
    @Option(help: "Largest image (pixels) a JPEG or IDX header may declare.")
    public var maxImagePixels = InputLimits().imagePixels
    @Flag(help: "Leave out a sample that cannot be read (listed with the reason in the result's skippedSamples) instead of stopping the run.")
    public var skipBadSamples = false

    public init() {}

    public func validate() throws {
        try check(maxDatasetSamples >= 1, "maxDatasetSamples", "must be at least 1, got \(maxDatasetSamples)")
        try check(maxImagePixels >= 1, "maxImagePixels", "must be at least 1, got \(maxImagePixels)")
        if let n = samples { try check(n >= 1, "samples", "must be at least 1, got \(n)") }
        try check(firstSample >= 0, "firstSample", "must be non-negative, got \(firstSample)")
        try check(binMs > 0 && binMs.isFinite, "binMs", "must be positive, got \(binMs)")
        if let r = representation {
            let base = r.split(separator: ":").first.map(String.init) ?? r
            try check(["frames", "binary", "intensity"].contains(base), "representation",
                      "'\(r)' is not frames, binary, binary:BINS or intensity")
        }
    }

    /// Makes the data limits those of this process (`InputLimits.current`); a command calls it once, first.
    public func installLimits() {
        InputLimits.current.datasetSamples = maxDatasetSamples
        InputLimits.current.imagePixels = maxImagePixels
    }
}

/// Where results go and how a run treats existing ones.
public struct OutputOptions: ParsableArguments {
    @Option(help: "Result JSON path (rank 0 writes it); per-sample lines go to JSON.samples.jsonl as samples finish.")
    public var json: String?
    public init() {}
}

/// How a run treats results already on disk, and whether it shows progress.
public struct RunControl: ParsableArguments {
    @Flag(help: "Continue a run whose samples file exists (a sweep: its finished points), skipping finished samples.")
    public var resume = false
    @Flag(help: "Replace existing result files.")
    public var overwrite = false
    @Flag(help: "No progress line.")
    public var quiet = false
    @Option(help: ArgumentHelp("Seconds without a heartbeat from a peer rank before the job is ended (0: never).",
                               discussion: "A lost host or link otherwise leaves MPI waiting forever; see the README's cluster section."))
    public var peerTimeout: Double = 30
    public init() {}

    public func validate() throws {
        try check(peerTimeout == 0 || (peerTimeout >= 1 && peerTimeout <= 86_400), "peerTimeout",
                  "must be 0 (off) or between 1 and 86400 seconds, got \(peerTimeout)")
    }
}

/// The option groups of a run, as `simulate` and `sweep` (one run per grid point) take them.
public struct ExperimentOptions: ParsableArguments {
    @OptionGroup(title: "Model") public var model: ModelOptions
    @OptionGroup(title: "Data") public var data: DataOptions
    @OptionGroup(title: "Conversion (ANN models)") public var conversion: ConvertOptions
    @OptionGroup(title: "Simulation") public var simulation: SimulationOptions
    @OptionGroup public var control: RunControl
    public init() {}

    /// Makes the model's and the data's limits those of this process (`InputLimits.current`).
    public func installLimits() { model.installLimits(); data.installLimits() }
}
