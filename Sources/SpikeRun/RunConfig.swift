import Foundation
import SpikeCore
import SpikeEngine
import Yams

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

    public init() {}

    static let keys: Set<String> = ["model", "data", "split", "input", "timesteps", "samples", "firstSample", "seed",
                                    "encoder", "decoding", "json", "energyPreset", "ranks", "checkpoints"]

    /// Loads and validates a config file; errors name the file and the key.
    public static func load(_ path: String) throws -> RunConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpikeError("\(path): cannot read the config file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw SpikeError("\(path): not valid YAML: \(error)") }
        guard let map = node?.mapping else { throw SpikeError("\(path): the config must be a mapping of keys to values") }
        for (k, _) in map {
            guard let key = k.string, keys.contains(key) else {
                throw SpikeError("\(path): unknown key '\(k.string ?? "?")'; known keys: \(keys.sorted().joined(separator: ", "))")
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
        if let p = c.energyPreset { _ = try EnergyPreset.named(p) }
        return c
    }
}
