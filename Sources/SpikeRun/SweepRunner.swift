import Foundation
import SpikeAggregate
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeImport
import SpikeMetrics
import SpikeOptions

/// `spikescale sweep`: a loop over the same prepare → convert → simulate path as `simulate`. An ANN is
/// converted once per (normalization, threshold scale) from calibration samples read once; each
/// (encoder, decoding) is one simulation of the grid's largest T, decoded exactly at the smaller ones.
/// Rows are rewritten after every point (rank 0), so an interrupted sweep keeps its finished points.
public struct SweepRunner {
    public let experiment: Experiment
    public let grid: SweepGrid
    public let folder: String
    let spec: String
    let isANN: Bool
    /// The model as loaded (an imported ANN before conversion, or the native/zoo SNN).
    let base: ImportedModel
    let calibration: CalibrationSet?
    /// Rank 0's data source and its description.
    public let source: InputSource?

    /// Loads the model, calibration samples and (on rank 0) the data; checks the grid against the model.
    /// Every rank must call it; errors are the same on every rank except those of rank 0's data.
    public init(_ e: Experiment, sweep: SweepOptions, rank: Int, size: Int) throws {
        experiment = e
        spec = try e.modelSpec()
        guard let data = e.data.data else { throw SpikeError("no data: pass --data or set key 'data'") }
        guard let out = sweep.output else { throw SpikeError("no output folder: pass --output or set key 'output'") }
        folder = out
        grid = SweepGrid(sweep, simulation: e.simulation, conversion: e.conversion)
        let b = e.simulation.burnIn
        if b > 0, let bad = grid.timesteps.first(where: { $0 <= b }) {
            throw SpikeError("sweep timesteps \(bad) is not after burnIn \(b) (--burn-in): outputs are decoded from t = \(b + 1) on")
        }
        isANN = ModelSpec(spec).isANN
        if isANN {
            base = try ANNSource.load(spec, weights: e.model.weights)
            calibration = try CalibrationSet(e.conversion, data: e.conversion.calibration ?? data, inputShape: base.network.inputShape)
        } else {
            guard grid.thresholdScale == [1], grid.norm == [.channel] else {
                throw SpikeError("\(spec): sweeping threshold scale or normalization needs the trained ANN (.onnx or .cfg) to convert; a native model only sweeps timesteps, encoder and decoding")
            }
            let n = try ModelSource.load(spec, seed: e.simulation.seed, targetRate: e.model.targetRate, inputSize: e.model.inputSize,
                                         dt: e.model.dt, convention: e.model.convention)
            if grid.decoding.contains(.spikes), let i = n.outputs.first(where: { n.layers[$0].neuron?.kind == .accumulator }) {
                throw SpikeError("\(spec): decoding 'spikes' in the grid, but output layer '\(n.layers[i].name)' has accumulator neurons; convert with --output-neurons spiking")
            }
            base = ImportedModel(network: n, heads: n.heads, source: spec)
            calibration = nil
        }
        source = try RankLayout(size: size, groups: e.simulation.groups).leads(rank) ? try e.source(for: base.network, timesteps: grid.timesteps.last!, encoders: grid.encoder) : nil
        if rank == 0 {
            let json = (folder as NSString).appendingPathComponent("sweep.json")
            if FileManager.default.fileExists(atPath: json) && !e.control.resume && !e.control.overwrite {
                throw SpikeError("\(json) already exists: pass --resume to continue that sweep or --overwrite to replace it")
            }
        }
    }

    /// The network of one (normalization, threshold scale): converted for an ANN, the model itself otherwise.
    /// Spiking output layers when the grid decodes spike counts.
    func network(norm: NormMode, thresholdScale: Double) throws -> Network {
        guard isANN, let calibration else { return base.network }
        var rules = experiment.conversion.rules
        rules.norm = norm; rules.thresholdScale = Float(thresholdScale)
        if grid.decoding.contains(.spikes) { rules.spikingOutputs = true }
        do { return try calibration.convert(base, source: spec, rules: rules).0 } catch let e as SpikeError {
            throw CollectiveError(message: "\(spec): conversion (\(norm.rawValue), threshold x\(thresholdScale)): \(e.message)")
        }
    }

    /// The simulation of one point: the grid's largest T with the smaller ones as checkpoints.
    func point(encoder: InputEncoder, decoding: Decoding, name: String) throws -> (SimulationConfig, RunOptions) {
        var s = experiment.simulation
        s.timesteps = grid.timesteps.last!
        s.checkpoints = CommaList(grid.timesteps.filter { $0 < s.timesteps })
        s.encoder = encoder; s.decoding = decoding
        let cfg = try s.engineConfig(rasterSample: experiment.data.firstSample)
        let json = ((folder as NSString).appendingPathComponent("points") as NSString).appendingPathComponent(name + ".json")
        var opts = try experiment.runOptions(defaultSamples: SweepRunner.defaultSamples, json: json)
        opts.overwrite = experiment.control.overwrite || !experiment.control.resume
        return (cfg, opts)
    }

    /// Samples per point when --samples is not given.
    public static let defaultSamples = 100
}
