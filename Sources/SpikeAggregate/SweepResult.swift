import SpikeCore

/// The table a sweep writes (`spikescale sweep`): one row per grid point, as CSV and as this JSON.
public struct SweepResult: Codable, Sendable {
    public var tool = "spikescale"
    public var kind = "sweep"
    /// The result-file format version (`ResultFile.version`); missing in files written before it existed.
    @Defaulted<ResultFileDefaults.Version1> public var version: Int = 1
    /// False while points are missing (an interrupted sweep; `--resume` continues it).
    public var complete: Bool
    public var model: String
    public var data: String
    public var samples: Int
    public var ranks: Int
    public var energyPreset: String
    /// The grid as given: values of each axis.
    public var grid: Grid
    public var rows: [SweepRow]

    public init(complete: Bool, model: String, data: String, samples: Int, ranks: Int, energyPreset: String, grid: Grid, rows: [SweepRow]) {
        self.complete = complete; self.model = model; self.data = data; self.samples = samples; self.ranks = ranks
        self.energyPreset = energyPreset; self.grid = grid; self.rows = rows
    }

    public struct Grid: Codable, Sendable, Equatable {
        public var timesteps: [Int]
        public var thresholdScale: [Double]
        public var norm: [String]
        public var encoder: [String]
        public var decoding: [String]
        public init(timesteps: [Int], thresholdScale: [Double], norm: [String], encoder: [String], decoding: [String]) {
            self.timesteps = timesteps; self.thresholdScale = thresholdScale; self.norm = norm
            self.encoder = encoder; self.decoding = decoding
        }
    }
}

/// One grid point of a sweep. Per-sample figures are averages over the sweep's samples.
public struct SweepRow: Codable, Sendable, Equatable {
    public var norm: String
    public var thresholdScale: Double
    public var encoder: String
    public var decoding: String
    public var timesteps: Int
    /// Top-1 accuracy (classification sets), nil otherwise.
    public var top1: Double?
    /// mAP@0.5 (detection sets), nil otherwise.
    public var map50: Double?
    public var spikesPerSample: Double
    public var synapticOpsPerSample: Double
    public var analogMacsPerSample: Double
    /// Spikes per neuron per timestep.
    public var firingRate: Double
    public var snnJoulesPerSample: Double
    public var annJoulesPerSample: Double
    /// The ANN's top-1 on the same samples.
    public var annTop1: Double?

    public init(norm: String, thresholdScale: Double, encoder: String, decoding: String, timesteps: Int, top1: Double?, map50: Double?,
                spikesPerSample: Double, synapticOpsPerSample: Double, analogMacsPerSample: Double, firingRate: Double,
                snnJoulesPerSample: Double, annJoulesPerSample: Double, annTop1: Double?) {
        self.norm = norm; self.thresholdScale = thresholdScale; self.encoder = encoder; self.decoding = decoding
        self.timesteps = timesteps; self.top1 = top1; self.map50 = map50; self.spikesPerSample = spikesPerSample
        self.synapticOpsPerSample = synapticOpsPerSample; self.analogMacsPerSample = analogMacsPerSample
        self.firingRate = firingRate; self.snnJoulesPerSample = snnJoulesPerSample; self.annJoulesPerSample = annJoulesPerSample
        self.annTop1 = annTop1
    }

    public static let csvHeader = "norm,thresholdScale,encoder,decoding,timesteps,top1,map50,spikesPerSample,synapticOpsPerSample,analogMacsPerSample,firingRate,snnJoulesPerSample,annJoulesPerSample,annTop1"
    public var csvLine: String {
        func o(_ v: Double?) -> String { v.map { "\($0)" } ?? "" }
        return [norm, "\(thresholdScale)", encoder, decoding, "\(timesteps)", o(top1), o(map50), "\(spikesPerSample)",
                "\(synapticOpsPerSample)", "\(analogMacsPerSample)", "\(firingRate)", "\(snnJoulesPerSample)",
                "\(annJoulesPerSample)", o(annTop1)].joined(separator: ",")
    }
}
