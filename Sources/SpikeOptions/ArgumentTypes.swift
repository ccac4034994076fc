import ArgumentParser
import SpikeConvert
import SpikeCore
import SpikeEngine

/// Comma-separated values of one type on the command line (`8,16,32`), a YAML sequence in a config.
public struct CommaList<Element: ExpressibleByArgument>: ExpressibleByArgument {
    public var values: [Element]
    public init(_ values: [Element]) { self.values = values }
    public init?(argument: String) {
        var out = [Element]()
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let v = Element(argument: part.trimmingCharacters(in: .whitespaces)) else { return nil }
            out.append(v)
        }
        guard !out.isEmpty else { return nil }
        values = out
    }
    public var defaultValueDescription: String { values.map(\.defaultValueDescription).joined(separator: ",") }
}

/// Neurons for leaky-ReLU and linear layers.
public enum NeuronChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Signed IBT neurons (Spiking-YOLO).
    case ibt
    /// IF neurons, negative activations dropped (the ablation).
    case relu
    /// Signed IBT neurons with memory: a spike of either sign is taken back when later input cancels it.
    case memory
}

/// Neurons for ReLU layers (and pooling of them).
public enum RectifierNeuronChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Plain IF neurons: a spike once sent stays sent.
    case `if`
    /// IF neurons with memory: a neuron whose membrane falls below 0 takes back one of its spikes.
    case memory
}

/// Output layers of a conversion.
public enum OutputNeuronChoice: String, CaseIterable, ExpressibleByArgument, Sendable {
    /// Non-spiking accumulators, decoded from the membrane.
    case accumulator
    /// Spiking signed neurons normalized like hidden layers (λ kept as `outputScale`).
    case spiking
}

/// Where inputs come from when there is no dataset.
public enum InputKind: String, CaseIterable, ExpressibleByArgument, Sendable {
    case synthetic
}

extension Statistic: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
    public var defaultValueDescription: String { description }
}

extension InputEncoder: ExpressibleByArgument {}
extension Decoding: ExpressibleByArgument {}
extension NIRConvention: ExpressibleByArgument {}
extension MaxPoolGateMode: ExpressibleByArgument {}
extension ExchangeOverlap: ExpressibleByArgument {}
extension PartitionPolicy: ExpressibleByArgument {}
extension NormMode: ExpressibleByArgument {}
extension Coding: ExpressibleByArgument {}
extension FewSpikeSigned: ExpressibleByArgument {}
extension ResetMode: ExpressibleByArgument {}
extension MaxPoolMode: ExpressibleByArgument {}
extension ResidualScaling: ExpressibleByArgument {}

/// A range check of one option: fails with a message that names the flag and its config key.
func check(_ ok: Bool, _ key: String, _ message: @autoclosure () -> String) throws {
    if !ok { throw ValidationError("\(OptionKey.describe(key)) \(message())") }
}

/// Names of an option: the config key is the property name, the flag its kebab-case form.
public enum OptionKey {
    /// `burnIn` -> `burn-in` (ArgumentParser's default long name for a property).
    public static func flag(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "-" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
    /// `--burn-in (key 'burnIn')`: how an error names an option, whichever way it was given.
    public static func describe(_ key: String) -> String { "--\(flag(key)) (key '\(key)')" }
}
