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
    /// takes is an error naming the file and the key; a key another command takes is left to that command.
    public init(_ args: [String], commands: [String: ParsableArguments.Type]) throws {
        guard let sub = args.first, let command = commands[sub], let path = Self.configPath(in: args) else {
            arguments = args; configPath = nil; injected = []; return
        }
        let config = try ConfigFile(path: path)
        let mine = OptionKeys.of(command)
        var known = Set<String>()
        for c in commands.values { known.formUnion(OptionKeys.of(c).keys) }
        var tokens = [String](), injected = [(key: String, flag: String)]()
        for (key, value) in config.entries {
            guard known.contains(key) else {
                throw SpikeError("\(path): unknown key '\(key)'; known keys: \(known.sorted().joined(separator: ", "))")
            }
            guard let kind = mine[key], let value else { continue }
            let flag = OptionKey.flag(key)
            switch kind {
            case .option: tokens.append("--\(flag)=\(value)")
            case .flag:
                guard ["true", "yes", "on"].contains(value.lowercased()) else {
                    throw SpikeError("\(path): key '\(key)' is a switch: true or false, got '\(value)'")
                }
                tokens.append("--\(flag)")
            }
            injected.append((key, flag))
        }
        arguments = [sub] + tokens + args.dropFirst()
        configPath = path
        self.injected = injected
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
