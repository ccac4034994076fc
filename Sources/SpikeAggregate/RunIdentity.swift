import Foundation
import SpikeCore
import SpikeEngine

/// What a run's sample records depend on. It is the first line of the samples file (`{"run": {...}}`), and
/// `--resume` refuses to continue a file whose run differs, naming the fields that do.
public struct RunIdentity: Codable, Equatable, Sendable {
    public var model: String
    /// A fingerprint of the network the engine ran (structure, neuron models, weights), as hex.
    public var network: String
    public var data: String
    public var timesteps: Int
    public var seed: UInt64
    public var encoder: String
    public var decoding: String
    public var burnIn: Int
    public var checkpoints: [Int]
    public var maxPoolGate: String

    public init(network: Network, config: SimulationConfig, model: String, data: String) {
        self.init(fingerprint: Self.fingerprint(network), config: config, model: model, data: data)
    }

    /// `fingerprint`: `RunIdentity.fingerprint` of the network the engine runs.
    public init(fingerprint: String, config: SimulationConfig, model: String, data: String) {
        self.model = model; self.network = fingerprint; self.data = data
        timesteps = config.timesteps; seed = config.seed; encoder = config.encoder.rawValue
        decoding = config.decoding.rawValue; burnIn = config.burnIn; checkpoints = config.checkpoints
        maxPoolGate = config.maxPoolGate.rawValue
    }

    /// The fields whose values differ from `other`'s, each as `field 'name' is THIS ... but OTHER ...`.
    public func differences(from other: RunIdentity, this: String, other otherName: String) -> [String] {
        zip(Mirror(reflecting: self).children, Mirror(reflecting: other).children).compactMap { a, b in
            "\(a.value)" == "\(b.value)" ? nil : "field '\(a.label ?? "?")' is \(a.value) \(this) but \(b.value) \(otherName)"
        }
    }

    /// FNV-1a (64 bit) over every layer's description, weights, biases, output scales and per-neuron parameters.
    public static func fingerprint(_ n: Network) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ v: UInt64) { h = (h ^ v) &* 0x0000_0100_0000_01B3 }
        for l in n.layers {
            let neuron = l.neuron?.fingerprintText ?? String(describing: l.neuron)
            for b in "\(l.name)|\(l.op)|\(l.inputs)|\(l.shape)|\(neuron)".utf8 { mix(UInt64(b)) }
            for a in [l.weights, l.bias, l.outputScale] { mix(UInt64(a.count)); for v in a { mix(UInt64(v.bitPattern)) } }
            for (name, a) in l.perNeuron.present {   // absent for most layers: their fingerprints stay as they were
                for b in name.utf8 { mix(UInt64(b)) }
                mix(UInt64(a.count)); for v in a { mix(UInt64(v.bitPattern)) }
            }
        }
        for o in n.outputs { mix(UInt64(o)) }
        return String(h, radix: 16)
    }
}

/// The first line of a samples file.
struct SamplesHeader: Codable {
    var run: RunIdentity
}
