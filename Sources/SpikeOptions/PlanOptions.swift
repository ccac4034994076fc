import ArgumentParser
import SpikeCore

/// What `spikescale plan` shows: the partition over each rank count, or with `project` the scaling model's
/// projection from a measured profile and an assumed latency/bandwidth network.
public struct PlanOptions: ParsableArguments {
    @Option(help: "Comma-separated rank counts (e.g. 64,512,4096).")
    public var ranks: CommaList<Int>
    @Option(help: "With --project: comma-separated rank-group counts for weak scaling (default: every power-of-two group size a partition allows).")
    public var groups: CommaList<Int>?
    @OptionGroup public var partitioning: PartitionOptions
    @Flag(help: "Project time per image, throughput and per-rank memory for strong and weak scaling (needs --profile).")
    public var project = false
    @Option(help: "Per-layer costs measured on this machine (`spikescale profile --output P.json`).")
    public var profile: String?
    @Option(help: "Assumed network latency per message, microseconds.")
    public var latencyMicroseconds = 1.5
    @Option(help: "Assumed network bandwidth per rank, GB/s (1e9 bytes).")
    public var bandwidthGigabytesPerSecond = 12.0
    @Option(help: "Timesteps per image of the projection (default: the profile's).")
    public var timesteps: Int?
    @Option(help: "Images of the evaluation whose time is projected (COCO val2017: 5000).")
    public var images = 5000
    @Option(help: "Copies of its weights each rank holds (the engine keeps one: the gather kernel's packed copy replaces the network's array).")
    public var weightCopies = 1.0
    @Option(help: "Comma-separated result files of measured runs (`simulate --json`) to set beside their projection, with the error.")
    public var measured: CommaList<String>?

    public init() {}

    public func validate() throws {
        try check(ranks.values.allSatisfy { $0 >= 1 }, "ranks", "must list positive rank counts, got \(ranks.defaultValueDescription)")
        if let g = groups { try check(g.values.allSatisfy { $0 >= 1 }, "groups", "must list positive group counts, got \(g.defaultValueDescription)") }
        try check(!project || profile != nil, "profile", "is needed with --project: make one with `spikescale profile MODEL --output P.json`")
        try check(project || (profile == nil && measured == nil && groups == nil), "project",
                  "is needed for --profile, --groups and --measured")
        try check(latencyMicroseconds >= 0 && latencyMicroseconds.isFinite, "latencyMicroseconds", "must be a non-negative number, got \(latencyMicroseconds)")
        try check(bandwidthGigabytesPerSecond > 0 && bandwidthGigabytesPerSecond.isFinite, "bandwidthGigabytesPerSecond",
                  "must be positive, got \(bandwidthGigabytesPerSecond)")
        if let t = timesteps { try check(t >= 1, "timesteps", "must be at least 1, got \(t)") }
        try check(images >= 1, "images", "must be at least 1, got \(images)")
        try check(weightCopies >= 0 && weightCopies.isFinite, "weightCopies", "must be a non-negative number, got \(weightCopies)")
    }
}

/// Where `spikescale profile` writes the per-layer costs it measures.
public struct ProfileOptions: ParsableArguments {
    @Option(help: "Profile JSON path (rank 0 writes it).")
    public var output: String
    public init() {}
}
