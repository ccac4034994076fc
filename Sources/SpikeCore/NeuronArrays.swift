/// Per-neuron values of a leaky (`leaky`, `li`) layer's parameters: NIR's parameters are per neuron, and
/// libraries train them (snnTorch's learnable β and θ, Norse's τ, Sinabs' τ_mem). Each present array
/// overrides one per-layer value of the layer's `LeakyDynamics` (or its `threshold`) and holds either one
/// value per channel (broadcast over height and width) or one value per neuron, in the engine's HWC order,
/// indexed by the neuron's global index, so every rank reads the same value for a neuron. An empty array
/// means the layer's single value (the fast path). The native model stores them in the `.bin` beside the
/// weights (record field `perNeuron`).
public struct NeuronArrays: Hashable, Sendable {
    public var threshold: [Float] = []
    public var memoryDecay: [Float] = []
    public var inputGain: [Float] = []
    public var leak: [Float] = []
    public var synapseDecay: [Float] = []
    public var synapseGain: [Float] = []
    public var vReset: [Float] = []

    public init() {}

    /// The fields in file order, with their names (the `perNeuron` keys of the native model).
    public static let names = ["threshold", "memoryDecay", "inputGain", "leak", "synapseDecay", "synapseGain", "vReset"]
    public static var keyPaths: [WritableKeyPath<NeuronArrays, [Float]>] { [
        \.threshold, \.memoryDecay, \.inputGain, \.leak, \.synapseDecay, \.synapseGain, \.vReset] }

    public var isEmpty: Bool { Self.keyPaths.allSatisfy { self[keyPath: $0].isEmpty } }

    /// The present arrays with their names.
    public var present: [(name: String, values: [Float])] {
        zip(Self.names, Self.keyPaths).compactMap { self[keyPath: $1].isEmpty ? nil : ($0, self[keyPath: $1]) }
    }

    /// Value of `array` for the neuron of global HWC index `i` in a layer of `channels` channels, or `scalar`
    /// when the array is empty.
    @inline(__always)
    public static func value(_ array: [Float], _ i: Int, channels: Int, _ scalar: Float) -> Float {
        if array.isEmpty { return scalar }
        return array.count == channels ? array[i % channels] : array[i]
    }

    /// `count` values of one field for the neurons `lower ..< lower + count` (global indices).
    public static func expand(_ array: [Float], lower: Int, count: Int, channels: Int, _ scalar: Float) -> [Float] {
        (0..<count).map { value(array, lower + $0, channels: channels, scalar) }
    }

    /// Checks lengths and values against a layer; `layer` names it in the error.
    public func validate(layer: String, neuron: NeuronModel?, shape: Shape) throws {
        guard !isEmpty else { return }
        guard let nm = neuron, nm.kind == .leaky || nm.kind == .leakyIntegrator, let d = nm.dynamics else {
            throw SpikeError("layer '\(layer)': per-neuron parameters (perNeuron) are only for leaky and li neurons")
        }
        for (name, a) in present {
            guard a.count == shape.channels || a.count == shape.count else {
                throw SpikeError("layer '\(layer)': perNeuron.\(name) has \(a.count) values; expected \(shape.channels) (one per channel) or \(shape.count) (one per neuron)")
            }
            if let bad = a.firstIndex(where: { !$0.isFinite }) {
                throw SpikeError("layer '\(layer)': perNeuron.\(name) value #\(bad) is not finite")
            }
        }
        if !threshold.isEmpty {
            guard nm.kind == .leaky else { throw SpikeError("layer '\(layer)': perNeuron.threshold is only for leaky neurons (li neurons never fire)") }
            if let bad = threshold.firstIndex(where: { !($0 > 0) }) {
                throw SpikeError("layer '\(layer)': perNeuron.threshold value #\(bad) is \(threshold[bad]); thresholds must be positive")
            }
        }
        if !synapseDecay.isEmpty || !synapseGain.isEmpty, d.synapseDecay == nil {
            throw SpikeError("layer '\(layer)': perNeuron.synapseDecay/synapseGain need a synaptic current (dynamics.synapseDecay)")
        }
    }
}
