import ArgumentParser
import Foundation
import SpikeCore
import Yams

/// A YAML experiment config turned into the options it stands for. A key is an option's property name
/// (`burnIn` is `--burn-in`); a nested mapping joins its keys (`sweep: {timesteps: [8, 16]}` is
/// `--sweep-timesteps 8,16`, `energy: {macPicojoules: 3}` is `--energy-mac-picojoules 3`); a sequence is a
/// comma-separated list; `true` sets a flag. So the config decodes into the same option groups as the command
/// line, the known keys are the commands' options, and each value is parsed and checked in one place.
public struct ConfigFile {
    public let path: String
    /// Keys in file order (`sweepTimesteps`), as written (`sweep.timesteps`), with the argument each stands
    /// for (nil: a flag set to false, i.e. not given).
    public let entries: [Entry]
    public struct Entry: Sendable {
        public var key: String
        public var written: String
        public var value: String?
    }

    public init(path: String) throws {
        self.path = path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw SpikeError("\(path): cannot read the config file")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch { throw SpikeError("\(path): not valid YAML: \(error)") }
        guard let map = node?.mapping else { throw SpikeError("\(path): the config must be a mapping of keys to values") }
        var out = [Entry]()
        try Self.flatten(map, prefix: "", written: "", path: path, into: &out)
        entries = out
    }

    static func flatten(_ map: Node.Mapping, prefix: String, written: String, path: String, into out: inout [Entry]) throws {
        for (k, v) in map {
            guard let name = k.string, !name.isEmpty else { throw SpikeError("\(path): a key is not a string") }
            let key = prefix.isEmpty ? name : prefix + name.prefix(1).uppercased() + name.dropFirst()
            let shown = written.isEmpty ? name : written + "." + name
            switch v {
            case .mapping(let m): try flatten(m, prefix: key, written: shown, path: path, into: &out)
            case .sequence(let s):
                let items = try s.map { item -> String in
                    guard let v = item.scalar?.string else { throw SpikeError("\(path): key '\(shown)' must list plain values") }
                    return v
                }
                out.append(Entry(key: key, written: shown, value: items.joined(separator: ",")))
            case .scalar(let s):
                if v.null != nil { continue }
                out.append(Entry(key: key, written: shown, value: v.bool == false ? nil : s.string))
            case .alias: throw SpikeError("\(path): key '\(shown)': YAML aliases are not supported")
            }
        }
    }
}

/// The option keys a command takes, found by reflection on its declared options (what ArgumentParser itself
/// reads), so no list of keys is kept by hand.
public enum OptionKeys {
    public enum Kind: Sendable { case option, flag }

    /// Property names of `command`'s options and flags, including those of its option groups.
    public static func of(_ command: ParsableArguments.Type) -> [String: Kind] {
        var out = [String: Kind]()
        collect(command.init(), into: &out)
        out["config"] = nil
        for k in (command as? CommandLineOnly.Type)?.commandLineOnly ?? [] { out[k] = nil }
        return out
    }

    static func collect(_ value: Any, into out: inout [String: Kind]) {
        for child in Mirror(reflecting: value).children {
            guard let label = child.label, label.hasPrefix("_") else { continue }
            let key = String(label.dropFirst())
            if let g = child.value as? OptionGroupReflection { collect(type(of: g).groupType.init(), into: &out) }
            else if child.value is Flag<Bool> { out[key] = .flag }
            else if child.value is OptionReflection { out[key] = .option }
        }
    }
}

/// A command whose listed options have no config key (say why where the command declares them).
public protocol CommandLineOnly {
    static var commandLineOnly: Set<String> { get }
}

protocol OptionReflection {}
extension Option: OptionReflection {}
protocol OptionGroupReflection { static var groupType: ParsableArguments.Type { get } }
extension OptionGroup: OptionGroupReflection { static var groupType: ParsableArguments.Type { Value.self } }
