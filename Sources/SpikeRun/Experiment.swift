import Foundation
import SpikeAggregate
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeImport
import SpikeMetrics
import SpikeOptions

/// The options of one command, parsed once at the edge (command line over config over defaults), and
/// the path every run takes: prepare the model (load, or import and convert), open the data, configure
/// the engine. `simulate` takes it once; `sweep` takes it once per grid point.
public struct Experiment {
    public var model: ModelOptions
    public var data: DataOptions
    public var conversion: ConvertOptions
    public var simulation: SimulationOptions
    public var output = OutputOptions()
    public var control = RunControl()

    /// A run of `options`, writing its result where `output` says.
    public init(_ options: ExperimentOptions, output: OutputOptions = OutputOptions()) {
        self.init(model: options.model, data: options.data, conversion: options.conversion, simulation: options.simulation,
                  output: output, control: options.control)
    }

    public init(model: ModelOptions, data: DataOptions, conversion: ConvertOptions, simulation: SimulationOptions,
                output: OutputOptions = OutputOptions(), control: RunControl = RunControl()) {
        self.model = model; self.data = data; self.conversion = conversion; self.simulation = simulation
        self.output = output; self.control = control
    }

    /// The model argument, required.
    public func modelSpec() throws -> String {
        guard let m = model.model else { throw SpikeError("no model: pass --model FILE or zoo:NAME, or set key 'model' in the config") }
        return m
    }

    /// The network the engine runs: a native or zoo model, or an ANN converted with the conversion options
    /// when calibration data is given (every rank converts it: deterministic, the same bits everywhere).
    /// With `save`, a converted SNN is written where `snnModel` says.
    public func network(save: Bool) throws -> Network {
        let spec = try modelSpec()
        guard ModelSpec(spec).isANN, let cal = conversion.calibration else {
            return try ModelSource.load(spec, seed: simulation.seed, targetRate: model.targetRate, inputSize: model.inputSize,
                                        dt: model.dt, convention: model.convention)
        }
        let imported = try ANNSource.load(spec, weights: model.weights)
        let calibration = try CalibrationSet(conversion, data: cal, inputShape: imported.network.inputShape)
        let (snn, report) = try calibration.convert(imported, source: spec, rules: conversion.rules)
        if save, let out = conversion.snnModel { try ConvertedModel.write(snn, report: report, to: out) }
        return snn
    }

    /// How event data becomes input: frames for the events encoder unless a representation is given.
    public func eventOptions(timesteps: Int, encoders: [InputEncoder]) -> DataSource.EventOptions {
        var ev = DataSource.EventOptions()
        ev.representation = data.representation ?? (encoders.contains(.events) ? "frames" : nil)
        ev.binMilliseconds = data.binMs
        ev.timesteps = timesteps
        return ev
    }

    /// Rank 0's input source: the data folder, or synthetic images.
    public func source(for network: Network, timesteps: Int, encoders: [InputEncoder]) throws -> InputSource {
        if let d = data.data {
            return try DataSource.open(d, split: data.split, expecting: network.inputShape, classes: network.heads.first?.classes,
                                       events: eventOptions(timesteps: timesteps, encoders: encoders))
        }
        guard data.input == .synthetic else { throw SpikeError("no input: pass --data FOLDER or --input synthetic") }
        return SyntheticSource(shape: network.inputShape, seed: simulation.seed, count: Int(Int32.max))
    }

    /// The coordinator's options: `samples` is the command's default when --samples is not given.
    public func runOptions(defaultSamples: Int, json: String?) throws -> RunOptions {
        var o = RunOptions(modelPath: try modelSpec(), samples: data.samples ?? defaultSamples)
        o.firstSample = data.firstSample
        o.jsonPath = json
        o.energyPreset = try simulation.energy()
        o.resume = control.resume; o.overwrite = control.overwrite; o.progress = !control.quiet
        o.compareANN = simulation.compareAnn
        o.rateLimitedANN = simulation.rateLimitedAnn
        o.groups = simulation.groups
        o.pipeline = simulation.pipeline
        o.batch = simulation.batch
        o.partition = simulation.partitioning.partition
        o.skipBadSamples = data.skipBadSamples
        return o
    }
}

/// The calibration samples of a conversion, read once (a sweep converts many times from them).
public struct CalibrationSet {
    public let samples: [[Float]]
    /// What the conversion report names as its calibration data.
    public let description: String

    /// The first `calibrationCount` samples of the calibration split of `data`.
    public init(_ c: ConvertOptions, data: String, inputShape: Shape) throws {
        let source = try DataSource.open(data, split: c.calibrationSplit, expecting: inputShape)
        guard c.calibrationCount <= source.count else {
            throw SpikeError("--calibration-count \(c.calibrationCount) but \(source.description) has \(source.count)")
        }
        samples = try (0..<c.calibrationCount).map { try source.sample($0).input }
        description = source is IDXSource ? "\(data) \(c.calibrationSplit) images 0..<\(c.calibrationCount)"
            : "\(source.description), first \(c.calibrationCount) in name order"
    }

    /// Converts an imported ANN with these samples.
    public func convert(_ imported: ImportedModel, source: String, rules: ConversionOptions) throws -> (Network, ConversionReport) {
        try Converter.convert(imported.network, calibration: samples, calibrationData: description, source: source,
                              options: rules, importNotes: imported.notes)
    }
}

/// Writing a converted SNN: `NAME.json` + `NAME.bin`, and the conversion report as `NAME.report.json`.
public enum ConvertedModel {
    /// Writes NAME.json + NAME.bin and NAME.report.json for `path` NAME or NAME.json; returns the two JSON paths.
    @discardableResult
    public static func write(_ snn: Network, report: ConversionReport, to path: String) throws -> (model: String, report: String) {
        let jsonPath = path.lowercased().hasSuffix(".json") ? path : path + ".json"
        try ModelFile.write(snn, to: jsonPath)
        let reportPath = (jsonPath as NSString).deletingPathExtension + ".report.json"
        try ResultFiles.writeJSON(report, to: reportPath)
        return (jsonPath, reportPath)
    }
}
