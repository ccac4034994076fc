import Foundation
import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData
import SpikeEngine
import Yams
import SpikeConvert

/// An experiment config (YAML). Every key is optional and is overridden by the command line.
/// Unknown keys are rejected with the key's name, so a misspelt option is never silently ignored.
public struct RunConfig: Codable, Sendable {
    public var model: String?
    public var data: String?
    public var split: String?
    public var input: String?
    public var timesteps: Int?
    public var samples: Int?
    public var firstSample: Int?
    public var seed: UInt64?
    public var encoder: InputEncoder?
    public var decoding: Decoding?
    public var json: String?
    public var energyPreset: String?
    public var ranks: [Int]?
    public var checkpoints: [Int]?
    public var compareAnn: Bool?
    /// Neurons per layer recorded for the spike raster.
    public var raster: Int?
    /// Event data (N-MNIST): representation (frames, binary, intensity) and bin width in ms.
    public var representation: String?
    public var binMs: Double?
    /// A custom energy table (used when `energyPreset` is `custom`, or alone).
    public var energy: EnergyTable?
    /// Output folder of a sweep (rows, per-point results, plots).
    public var output: String?
    /// Conversion (sweeps over normalization and threshold convert an ANN): calibration data and count.
    public var calibration: String?
    public var calibrationSplit: String?
    public var calibrationCount: Int?
    public var statistic: String?
    public var sweep: SweepGrid?
    /// Conversion of an ANN model before simulating (`convert`, and `simulate`/`sweep` given an ANN).
    public var norm: String?
    public var reset: String?
    public var initialMembrane: Float?
    public var thresholdScale: Float?
    public var maxpool: String?
    /// Residual adds: per-source (each branch its own scale) or max (one scale per stream).
    public var residual: String?
    /// Neurons for leaky-ReLU and linear layers: ibt (signed, default) or relu (IF, negatives dropped).
    public var neurons: String?
    /// Output layers: accumulator (membrane decoding, default) or spiking (signed linear neurons, for spike-count decoding).
    public var outputNeurons: String?
    /// Timesteps left out of the decoding at the start.
    public var burnIn: Int?
    /// Spiking max-pool: leader (pass the most active input's events, default) or count (emit the change of the running max count).
    public var maxpoolGate: String?
    /// Burst spikes: at most this many spikes per neuron and step (1 = ordinary neurons).
    public var burst: Int?
    /// Where `convert` writes the SNN (and `simulate` saves the one it converted).
    public var snnModel: String?
    /// Zoo networks: firing rate the weights are scaled to, and Tiny-YOLOv3's input side.
    public var targetRate: Float?
    public var inputSize: Int?

    public struct EnergyTable: Codable, Sendable {
        public var name: String?
        public var macPicojoules: Double
        public var acPicojoules: Double
        static let keys: Set<String> = ["name", "macPicojoules", "acPicojoules"]
    }
    /// The grid of `spikescale sweep`: every combination is one point (T values come from one
    /// simulation per combination of the others, decoded at each T as checkpoints).
    public struct SweepGrid: Codable, Sendable {
        public var timesteps: [Int]?
        public var thresholdScale: [Double]?
        public var norm: [String]?
        public var encoder: [String]?
        public var decoding: [String]?
        static let keys: Set<String> = ["timesteps", "thresholdScale", "norm", "encoder", "decoding"]
    }

    public init() {}

    static let keys: Set<String> = ["model", "data", "split", "input", "timesteps", "samples", "firstSample", "seed",
                                    "encoder", "decoding", "json", "energyPreset", "ranks", "checkpoints", "compareAnn", "raster",
                                    "representation", "binMs", "energy", "output", "calibration", "calibrationSplit",
                                    "calibrationCount", "statistic", "sweep", "norm", "reset", "initialMembrane", "thresholdScale",
                                    "maxpool", "snnModel", "targetRate", "inputSize", "residual", "burnIn", "neurons", "outputNeurons", "maxpoolGate", "burst"]

    /// The energy table a run uses: the named preset, or the config's custom table.
    public func energyPreset(named override: String?) throws -> EnergyPreset {
        let name = override ?? energyPreset ?? (energy != nil ? "custom" : "spiking-yolo-fp32")
        if name == "custom" {
            guard let e = energy else { throw SpikeError("energy preset 'custom' needs the config key 'energy' with macPicojoules and acPicojoules") }
            return EnergyPreset(name: e.name ?? "custom", macPicojoules: e.macPicojoules, acPicojoules: e.acPicojoules, source: "config")
        }
        return try EnergyPreset.named(name)
    }

    /// Loads and validates a config file; errors name the file and the key.
    public static func load(_ path: String) throws -> RunConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpikeError("\(path): cannot read the config file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw SpikeError("\(path): not valid YAML: \(error)") }
        guard let map = node?.mapping else { throw SpikeError("\(path): the config must be a mapping of keys to values") }
        for (k, v) in map {
            guard let key = k.string, keys.contains(key) else {
                throw SpikeError("\(path): unknown key '\(k.string ?? "?")'; known keys: \(keys.sorted().joined(separator: ", "))")
            }
            let nested: Set<String>? = key == "sweep" ? SweepGrid.keys : key == "energy" ? EnergyTable.keys : nil
            if let nested {
                guard let m = v.mapping else { throw SpikeError("\(path): key '\(key)' must be a mapping") }
                for (nk, _) in m where !(nk.string.map(nested.contains) ?? false) {
                    throw SpikeError("\(path): unknown key '\(key).\(nk.string ?? "?")'; known keys of '\(key)': \(nested.sorted().joined(separator: ", "))")
                }
            }
        }
        let c: RunConfig
        do { c = try YAMLDecoder().decode(RunConfig.self, from: text) } catch let e as DecodingError {
            throw SpikeError("\(path): \(ModelFile.describe(e).replacingOccurrences(of: "field", with: "key"))")
        } catch { throw SpikeError("\(path): \(error)") }
        if let t = c.timesteps, t < 1 { throw SpikeError("\(path): key 'timesteps' must be at least 1, got \(t)") }
        if let s = c.samples, s < 1 { throw SpikeError("\(path): key 'samples' must be at least 1, got \(s)") }
        if let f = c.firstSample, f < 0 { throw SpikeError("\(path): key 'firstSample' must be non-negative, got \(f)") }
        if let r = c.ranks, r.contains(where: { $0 < 1 }) { throw SpikeError("\(path): key 'ranks' must list positive rank counts") }
        if let p = c.energyPreset, p != "custom" { _ = try EnergyPreset.named(p) }
        if let e = c.energy, !(e.macPicojoules > 0 && e.acPicojoules > 0) {
            throw SpikeError("\(path): keys 'energy.macPicojoules' and 'energy.acPicojoules' must be positive")
        }
        if let r = c.raster, r < 0 { throw SpikeError("\(path): key 'raster' must be non-negative, got \(r)") }
        if let b = c.binMs, !(b > 0) { throw SpikeError("\(path): key 'binMs' must be positive, got \(b)") }
        if let n = c.calibrationCount, n < 1 { throw SpikeError("\(path): key 'calibrationCount' must be at least 1, got \(n)") }
        if let cp = c.checkpoints, cp.contains(where: { $0 < 1 }) { throw SpikeError("\(path): key 'checkpoints' must list positive timesteps") }
        if let n = c.norm, n != "layer" && n != "channel" { throw SpikeError("\(path): key 'norm': '\(n)' is not layer or channel") }
        if let r = c.reset, r != "subtract" && r != "zero" { throw SpikeError("\(path): key 'reset': '\(r)' is not subtract or zero") }
        if let m = c.maxpool, m != "gate" && m != "average" { throw SpikeError("\(path): key 'maxpool': '\(m)' is not gate or average") }
        if let r = c.residual, ResidualScaling(rawValue: r) == nil { throw SpikeError("\(path): key 'residual': '\(r)' is not per-source or max") }
        if let n = c.neurons, n != "ibt" && n != "relu" { throw SpikeError("\(path): key 'neurons': '\(n)' is not ibt or relu") }
        if let n = c.outputNeurons, n != "accumulator" && n != "spiking" { throw SpikeError("\(path): key 'outputNeurons': '\(n)' is not accumulator or spiking") }
        if let g = c.maxpoolGate, MaxPoolGateMode(rawValue: g) == nil { throw SpikeError("\(path): key 'maxpoolGate': '\(g)' is not leader or count") }
        if let b = c.burst, !(1...64).contains(b) { throw SpikeError("\(path): key 'burst' must be between 1 and 64, got \(b)") }
        if let b = c.burnIn, b < 0 { throw SpikeError("\(path): key 'burnIn' must be non-negative, got \(b)") }
        if let v = c.initialMembrane, !(abs(v) <= 1) { throw SpikeError("\(path): key 'initialMembrane' must be a fraction of the threshold in [-1, 1], got \(v)") }
        if let v = c.thresholdScale, !(v > 0) { throw SpikeError("\(path): key 'thresholdScale' must be positive, got \(v)") }
        if let v = c.targetRate, !(v >= 0 && v < 1) { throw SpikeError("\(path): key 'targetRate' must be in [0, 1), got \(v)") }
        if let v = c.inputSize, v < 32 || v % 32 != 0 { throw SpikeError("\(path): key 'inputSize' must be a positive multiple of 32, got \(v)") }
        if let g = c.sweep {
            if let t = g.timesteps, t.isEmpty || t.contains(where: { $0 < 1 }) {
                throw SpikeError("\(path): key 'sweep.timesteps' must list timesteps of at least 1, got \(t)")
            }
            if let t = g.thresholdScale, t.isEmpty || t.contains(where: { !($0 > 0) }) {
                throw SpikeError("\(path): key 'sweep.thresholdScale' must list positive factors, got \(t)")
            }
            for n in g.norm ?? [] where n != "layer" && n != "channel" {
                throw SpikeError("\(path): key 'sweep.norm': '\(n)' is not layer or channel")
            }
            for e in g.encoder ?? [] where InputEncoder(rawValue: e) == nil {
                throw SpikeError("\(path): key 'sweep.encoder': '\(e)' is not one of \(InputEncoder.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for d in g.decoding ?? [] where Decoding(rawValue: d) == nil {
                throw SpikeError("\(path): key 'sweep.decoding': '\(d)' is not membrane or spikes")
            }
        }
        return c
    }
}
