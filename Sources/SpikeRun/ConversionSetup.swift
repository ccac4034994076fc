import SpikeConvert
import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData
import SpikeImport

/// How an ANN is converted before it runs: calibration data and conversion options, from the command
/// line over a config's keys over the defaults (channel-norm, p99.99, reset by subtraction).
public struct ConversionSetup: Sendable {
    public var calibration: String
    public var calibrationSplit: String
    public var calibrationCount: Int
    public var options: ConversionOptions

    /// Each argument is the command-line value (nil when not given); the config fills the rest.
    public init(config c: RunConfig, calibration: String?, calibrationSplit: String? = nil, calibrationCount: Int? = nil,
                norm: NormMode? = nil, statistic: String? = nil, reset: ResetMode? = nil, initialMembrane: Float? = nil,
                thresholdScale: Float? = nil, maxpool: MaxPoolMode? = nil, residual: ResidualScaling? = nil,
                neurons: String? = nil, outputNeurons: String? = nil, burst: Int? = nil) throws {
        guard let cal = calibration ?? c.calibration else {
            throw SpikeError("converting an ANN needs calibration data: pass --calibration DATA or set key 'calibration'")
        }
        self.calibration = cal
        self.calibrationSplit = calibrationSplit ?? c.calibrationSplit ?? "train"
        self.calibrationCount = calibrationCount ?? c.calibrationCount ?? 100
        guard self.calibrationCount >= 1 else { throw SpikeError("--calibration-count must be at least 1, got \(self.calibrationCount)") }
        var o = ConversionOptions()
        o.norm = norm ?? c.norm.flatMap(NormMode.init(rawValue:)) ?? .channel
        o.statistic = try Statistic(parsing: statistic ?? c.statistic ?? "p99.99")
        o.reset = reset ?? c.reset.flatMap(ResetMode.init(rawValue:)) ?? .subtract
        o.initialMembrane = initialMembrane ?? c.initialMembrane ?? 0
        o.thresholdScale = thresholdScale ?? c.thresholdScale ?? 1
        o.maxPool = maxpool ?? c.maxpool.flatMap(MaxPoolMode.init(rawValue:)) ?? .gate
        o.residual = residual ?? c.residual.flatMap(ResidualScaling.init(rawValue:)) ?? .perSource
        let kind = neurons ?? c.neurons ?? "ibt"
        guard kind == "ibt" || kind == "relu" else { throw SpikeError("--neurons '\(kind)': expected ibt or relu") }
        o.signedNeurons = kind == "ibt"
        let outKind = outputNeurons ?? c.outputNeurons ?? "accumulator"
        guard outKind == "accumulator" || outKind == "spiking" else { throw SpikeError("--output-neurons '\(outKind)': expected accumulator or spiking") }
        o.spikingOutputs = outKind == "spiking"
        o.burst = burst ?? c.burst ?? 1
        guard (1...64).contains(o.burst) else { throw SpikeError("--burst must be between 1 and 64, got \(o.burst)") }
        options = o
    }

    /// Calibrates on the first `calibrationCount` samples of the calibration data and converts.
    public func convert(_ imported: ImportedModel, source: String) throws -> (Network, ConversionReport) {
        let data = try DataSource.open(calibration, split: calibrationSplit, expecting: imported.network.inputShape)
        guard calibrationCount <= data.count else {
            throw SpikeError("--calibration-count \(calibrationCount) but \(data.description) has \(data.count)")
        }
        let samples = try (0..<calibrationCount).map { try data.sample($0).input }
        let described = data is IDXSource ? "\(calibration) \(calibrationSplit) images 0..<\(calibrationCount)"
            : "\(data.description), first \(calibrationCount) in name order"
        return try Converter.convert(imported.network, calibration: samples, calibrationData: described, source: source,
                                     options: options, importNotes: imported.notes)
    }
}
