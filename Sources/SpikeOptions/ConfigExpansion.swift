import ArgumentParser
import SpikeCore

/// A command line with its `--config` file expanded: the config's keys become options placed right after
/// the subcommand, before the user's own, so the command line wins (a repeated option keeps its last value).
public struct ConfigExpansion {
    /// The arguments to parse (without the program name).
    public let arguments: [String]
    public let configPath: String?
    /// Options that came from the config: key and flag.
    let injected: [(key: String, flag: String)]

    /// `commands` maps each subcommand that takes `--config` to its type. A key that no such command
    /// takes is an error naming the file and the key. A key another command takes is checked as that
    /// command would parse it, then left to it: one config can serve several commands, and is checked whole.
    public init(_ args: [String], commands: [String: ParsableArguments.Type]) throws {
        guard let sub = args.first, let command = commands[sub], let path = Self.configPath(in: args) else {
            arguments = args; configPath = nil; injected = []; return
        }
        let config = try ConfigFile(path: path)
        var keysOf = [String: [String: OptionKeys.Kind]]()
        for (name, c) in commands { keysOf[name] = OptionKeys.of(c) }
        let known = Set(keysOf.values.flatMap(\.keys))
        var tokens = [String: [String]](), injected = [String: [(key: String, flag: String)]]()
        for e in config.entries {
            guard known.contains(e.key) else {
                throw SpikeError("\(path): unknown key '\(e.written)'; known keys: \(known.sorted().joined(separator: ", "))")
            }
            guard let value = e.value else { continue }
            let owner = keysOf[sub]![e.key] != nil ? sub : commands.keys.sorted().first { keysOf[$0]![e.key] != nil }!
            let flag = OptionKey.flag(e.key)
            switch keysOf[owner]![e.key]! {
            case .option: tokens[owner, default: []].append("--\(flag)=\(value)")
            case .flag:
                guard ["true", "yes", "on"].contains(value.lowercased()) else {
                    throw SpikeError("\(path): key '\(e.written)' is a switch: true or false, got '\(value)'")
                }
                tokens[owner, default: []].append("--\(flag)")
            }
            injected[owner, default: []].append((e.written, flag))
        }
        for (other, t) in tokens where other != sub {
            do { _ = try commands[other]!.parse(t) } catch {
                let text = commands[other]!.message(for: error)
                // Only the config's values are checked here: a required option of that command that the config does
                // not set (`profile --output`) is for whoever runs it, not an error in the config.
                if text.hasPrefix("Missing expected argument") { continue }
                throw SpikeError(ConfigExpansion(path: path, injected: injected[other] ?? []).explain(text))
            }
        }
        arguments = [sub] + (tokens[sub] ?? []) + args.dropFirst()
        configPath = path
        self.injected = injected[sub] ?? []
    }

    init(path: String, injected: [(key: String, flag: String)]) {
        arguments = []; configPath = path; self.injected = injected
    }

    /// The value of `--config PATH` or `--config=PATH` among the subcommand's arguments.
    static func configPath(in args: [String]) -> String? {
        for (i, a) in args.enumerated() {
            if a == "--" { return nil }
            if a == "--config", i + 1 < args.count { return args[i + 1] }
            if a.hasPrefix("--config=") { return String(a.dropFirst("--config=".count)) }
        }
        return nil
    }

    /// An error message with the config file and key named where it is about an option the config gave.
    public func explain(_ message: String) -> String {
        guard let path = configPath else { return message }
        for (key, flag) in injected where message.contains("--\(flag)") || message.contains("<\(flag)>") {
            return message + " (config \(path), key '\(key)')"
        }
        return message
    }
}
