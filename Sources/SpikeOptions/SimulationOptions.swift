import ArgumentParser
import SpikeCore
import SpikeEngine
import SpikeMetrics

/// What one simulation does: time, coding, read-out, what it records and how it is costed.
public struct SimulationOptions: ParsableArguments {
    @Option(name: [.customShort("T"), .long], help: "Timesteps per sample.")
    public var timesteps = 32
    @Option(help: "Seed of the stochastic encoders (and of zoo weights).")
    public var seed: UInt64 = 1
    @Option(help: "Input encoder: direct (analog encoding layer), current (input IF neurons driven by the pixel value), bernoulli, poisson, or events (event frames, one per timestep).")
    public var encoder: InputEncoder = .direct
    @Option(help: "Output decoding: membrane (mean integrated current) or spikes (spike count x threshold / T; needs spiking output layers).")
    public var decoding: Decoding = .membrane
    @Option(help: "Comma-separated timesteps below T at which outputs are also decoded (accuracy vs T in one run).")
    public var checkpoints: CommaList<Int>?
    @Option(help: "Timesteps at the start left out of the decoding (burn-in): outputs average t = B+1..T.")
    public var burnIn = 0
    @Option(help: "Spiking max-pool: leader (pass the events of the most active input) or count (emit the change of the window's running max count: the output count is exactly the max).")
    public var maxpoolGate: MaxPoolGateMode = .leader
    @Option(help: "Record the spike times of this many neurons per layer in the first sample (raster plot).")
    public var raster = 0
    @Flag(help: "Also run the ANN reference of the same network (rank 0) and report its top-1 or mAP beside the SNN's.")
    public var compareAnn = false
    @Flag(help: "Compare every spiking layer's decoded values with the ANN's activations (mean error, bias, correlation, saturation per layer): where the conversion loses accuracy.")
    public var layerErrors = false
    @Flag(help: "With --compare-ann: clip the ANN reference's spiking layers to what one spike per step carries, the limit of the rate-coded SNN as T grows; separates clipping from finite-T error.")
    public var rateLimitedAnn = false
    @Option(help: "Rank groups: split the ranks into this many groups of consecutive ranks, each a model partition simulating its own samples (data x model parallel); results do not depend on it.")
    public var groups = 1
    @OptionGroup public var partitioning: PartitionOptions
    @Option(help: "Exchange overlap: interior (a convolution after a layer whose spikes cross ranks computes its interior rows while that exchange is in flight, then the rows next to the halo) or none (wait, then compute); results do not depend on it.")
    public var overlap: ExchangeOverlap = .interior
    @Option(help: "Few-spike networks: images in flight in the layer pipeline of each group (layer l works on image i while layer l-1 works on image i+1; one image per K sub-steps once full); results do not depend on it. Ignored for rate-coded networks.")
    public var pipeline = 8
    @Option(help: "Rate-coded networks: samples simulated together on each rank (each layer runs for the whole batch in turn, reusing its weights from cache, and one exchange round per layer and step carries every sample's spikes); results do not depend on it. Few-spike networks batch through --pipeline.")
    public var batch = 1
    @Option(help: "Energy preset: spiking-yolo-fp32, spiking-yolo-int32, horowitz-45nm-fp32, or custom (the energy table below).")
    public var energyPreset: String?
    @Option(help: "Custom energy table (config: energy.name): its name.")
    public var energyName: String?
    @Option(help: "Custom energy table (config: energy.macPicojoules): pJ per multiply-accumulate.")
    public var energyMacPicojoules: Double?
    @Option(help: "Custom energy table (config: energy.acPicojoules): pJ per accumulate.")
    public var energyAcPicojoules: Double?

    public init() {}

    public func validate() throws {
        try check(timesteps >= 1, "timesteps", "must be at least 1, got \(timesteps)")
        try check(burnIn >= 0, "burnIn", "must be non-negative, got \(burnIn)")
        try check(raster >= 0, "raster", "must be non-negative, got \(raster)")
        try check(groups >= 1, "groups", "must be at least 1, got \(groups)")
        try check(pipeline >= 1, "pipeline", "must be at least 1, got \(pipeline)")
        try check(batch >= 1 && batch <= 4096, "batch", "must be between 1 and 4096, got \(batch)")
        if let c = checkpoints { try check(c.values.allSatisfy { $0 >= 1 }, "checkpoints", "must list positive timesteps, got \(c.defaultValueDescription)") }
        if let p = energyPreset, p != "custom" { try check(EnergyPreset.all.contains { $0.name == p }, "energyPreset",
                                                           "'\(p)' is not one of \(EnergyPreset.all.map(\.name).joined(separator: ", ")) or custom") }
        for (k, v) in [("energyMacPicojoules", energyMacPicojoules), ("energyAcPicojoules", energyAcPicojoules)] {
            if let v { try check(v > 0 && v.isFinite, k, "must be positive, got \(v)") }
        }
    }

    /// The energy table a run reports: the named preset, the custom table (preset `custom`, or a table
    /// given without a preset), or the default preset.
    public func energy() throws -> EnergyPreset {
        let table = energyMacPicojoules != nil || energyAcPicojoules != nil
        let name = energyPreset ?? (table ? "custom" : EnergyPreset.defaultName)
        guard name == "custom" else { return try EnergyPreset.named(name) }
        guard let mac = energyMacPicojoules, let ac = energyAcPicojoules else {
            throw SpikeError("energy preset 'custom' needs \(OptionKey.describe("energyMacPicojoules")) and \(OptionKey.describe("energyAcPicojoules")) (config: energy.macPicojoules, energy.acPicojoules)")
        }
        return EnergyPreset(name: energyName ?? "custom", macPicojoules: mac, acPicojoules: ac, source: "config")
    }

    /// The engine's configuration: every rank builds the same one. Raster neurons are recorded in `rasterSample`.
    public func engineConfig(rasterSample: Int) throws -> SimulationConfig {
        var c = SimulationConfig(timesteps: timesteps, seed: seed, encoder: encoder, decoding: decoding)
        c.checkpoints = Array(Set(checkpoints?.values ?? [])).sorted()
        c.rasterNeurons = raster
        c.rasterSample = rasterSample
        c.burnIn = burnIn
        c.layerValues = layerErrors
        c.maxPoolGate = maxpoolGate
        c.overlap = overlap
        try c.validate()
        return c
    }
}

/// How each layer is split over a partition's ranks: one option shared by the commands that run or plan a partition.
public struct PartitionOptions: ParsableArguments {
    @Option(help: "How each layer is split over a group's ranks: auto (a cost model picks, per convolution, row bands or output-channel ranges; a rank of a channel-split layer holds only its channels' weights) or rows (row bands everywhere, every rank holding the whole layer's weights); results do not depend on it.")
    public var partition: PartitionPolicy = .auto
    public init() {}
}
