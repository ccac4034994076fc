import ArgumentParser
import SpikeConvert
import SpikeEngine

/// The grid of `spikescale sweep` (config: the `sweep` mapping, `sweep.timesteps` is `--sweep-timesteps`)
/// and its output folder. An axis not given takes the single value of the matching option (-T, --norm, ...).
public struct SweepOptions: ParsableArguments {
    @Option(help: "Output folder: sweep.csv, sweep.json and each point's results under points/.")
    public var output: String?
    @Option(help: "Grid: comma-separated timesteps (one simulation of the largest, decoded exactly at each smaller one).")
    public var sweepTimesteps: CommaList<Int>?
    @Option(help: "Grid: comma-separated threshold scales (ANN models).")
    public var sweepThresholdScale: CommaList<Double>?
    @Option(help: "Grid: comma-separated normalizations, layer and/or channel (ANN models).")
    public var sweepNorm: CommaList<NormMode>?
    @Option(help: "Grid: comma-separated encoders.")
    public var sweepEncoder: CommaList<InputEncoder>?
    @Option(help: "Grid: comma-separated decodings (membrane, spikes).")
    public var sweepDecoding: CommaList<Decoding>?

    public init() {}

    public func validate() throws {
        if let t = sweepTimesteps { try check(t.values.allSatisfy { $0 >= 1 }, "sweepTimesteps", "must list timesteps of at least 1, got \(t.defaultValueDescription)") }
        if let s = sweepThresholdScale {
            try check(s.values.allSatisfy { $0 > 0 && $0.isFinite }, "sweepThresholdScale", "must list positive factors, got \(s.defaultValueDescription)")
        }
    }
}

/// A sweep's grid with every axis filled in: each combination of norm, threshold scale, encoder and
/// decoding is one point; its T axis is one simulation of the largest T, decoded at the others.
public struct SweepGrid: Codable, Sendable, Equatable {
    public var timesteps: [Int]
    public var thresholdScale: [Double]
    public var norm: [NormMode]
    public var encoder: [InputEncoder]
    public var decoding: [Decoding]

    public init(timesteps: [Int], thresholdScale: [Double], norm: [NormMode], encoder: [InputEncoder], decoding: [Decoding]) {
        self.timesteps = Array(Set(timesteps)).sorted(); self.thresholdScale = thresholdScale; self.norm = norm
        self.encoder = encoder; self.decoding = decoding
    }

    /// The grid of a sweep command: each axis from its sweep option, else the single value of the run's option.
    public init(_ s: SweepOptions, simulation: SimulationOptions, conversion: ConvertOptions) {
        self.init(timesteps: s.sweepTimesteps?.values ?? [simulation.timesteps],
                  thresholdScale: s.sweepThresholdScale?.values ?? [Double(conversion.thresholdScale)],
                  norm: s.sweepNorm?.values ?? [conversion.norm], encoder: s.sweepEncoder?.values ?? [simulation.encoder],
                  decoding: s.sweepDecoding?.values ?? [simulation.decoding])
    }

    /// Number of simulations: one per (norm, threshold scale, encoder, decoding).
    public var points: Int { norm.count * thresholdScale.count * encoder.count * decoding.count }
}
