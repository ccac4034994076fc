/// A layered network: layers in topological order (every input index is smaller than the layer's own),
/// the first layer being the only `.input`. The same type holds ANN graphs and converted SNNs: the
/// neuron model of a layer says how it spikes and which ANN activation it stands for.
public struct Network: Sendable {
    public var name: String
    public var layers: [Layer]
    /// Indices of the layers whose decoded values form the network's output, in order.
    public var outputs: [Int]
    /// Darknet `[yolo]` heads reading layers of this network (detectors), kept through conversion
    /// and in the model file so that runs can decode detections.
    public var heads: [YOLOHead] = []

    public init(name: String, layers: [Layer], outputs: [Int], heads: [YOLOHead] = []) {
        self.name = name; self.layers = layers; self.outputs = outputs; self.heads = heads
    }

    public var inputShape: Shape { layers[0].shape }

    /// Index of the layer called `name`.
    public func index(of name: String) -> Int? { layers.firstIndex { $0.name == name } }

    /// For every layer, the indices of the layers that read it.
    public var consumers: [[Int]] {
        var c = [[Int]](repeating: [], count: layers.count)
        for (i, l) in layers.enumerated() { for j in l.inputs where !c[j].contains(i) { c[j].append(i) } }
        return c
    }

    /// Number of trainable parameters (weights and biases).
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weightCount + $1.bias.count } }

    /// This network without the weight arrays of `layers` (their counts kept in `releasedWeights`): what a
    /// simulator keeps once it holds its own packed copy of those layers' weights, so that the arrays are
    /// freed when no other copy of the network holds them.
    public func releasingWeights(of indices: [Int]) -> Network {
        var n = self
        n.releaseWeights(of: indices)
        return n
    }

    /// Releases the weight arrays of `indices` in place (see `releasingWeights`).
    public mutating func releaseWeights(of indices: [Int]) {
        for i in indices where !layers[i].weights.isEmpty {
            layers[i].releasedWeights += layers[i].weights.count
            layers[i].weights = []
        }
    }

    /// Whether layer `i`'s events count as spikes: layers with neurons, and the input layer (its
    /// encoder's spikes). Routing layers (pooling, concat, upsample, ...) relay events and are not counted.
    public func countsSpikes(_ i: Int) -> Bool { layers[i].op.hasNeurons || i == 0 }

    /// Number of neurons with a membrane (layers with `hasNeurons`).
    public var neuronCount: Int { layers.reduce(0) { $0 + ($1.op.hasNeurons ? $1.shape.count : 0) } }

    /// Multiply-accumulates of layer `i` in a dense ANN forward pass of one sample.
    public func macs(layer i: Int) -> Int {
        let l = layers[i]
        switch l.op {
        case .conv(let w, _, let groups):
            let inC = layers[l.inputs[0]].shape.channels
            return l.shape.count * w.kernelH * w.kernelW * (inC / groups)
        case .dense:
            return layers[l.inputs[0]].shape.count * l.shape.count
        case .avgPool(let w, _):
            return l.shape.count * w.kernelH * w.kernelW
        case .globalAvgPool:
            return layers[l.inputs[0]].shape.count
        case .add:
            return l.shape.count * l.inputs.count
        case .input, .maxPool, .concat, .channelSlice, .upsample, .flatten, .activation:
            return 0
        }
    }

    /// Multiply-accumulates of the whole dense ANN forward pass of one sample.
    public var totalMACs: Int { (0..<layers.count).reduce(0) { $0 + macs(layer: $1) } }
}

/// Builds a network layer by layer, inferring shapes; used by the model zoo, importers and tests.
public struct NetworkBuilder {
    public private(set) var layers: [Layer] = []
    public let name: String

    public init(name: String, input: Shape) {
        self.name = name
        layers = [Layer(name: "input", op: .input, inputs: [], shape: input)]
    }

    public var last: Int { layers.count - 1 }
    /// Index of the layer called `name`.
    public func index(of name: String) throws -> Int {
        guard let i = layers.firstIndex(where: { $0.name == name }) else { throw SpikeError("network '\(self.name)': no layer '\(name)'") }
        return i
    }
    public func shape(_ i: Int) -> Shape { layers[i].shape }

    /// Appends a layer; the output shape is inferred and the weights checked. Returns its index.
    @discardableResult
    public mutating func add(_ name: String, _ op: LayerOp, inputs: [Int]? = nil, neuron: NeuronModel? = nil,
                             weights: [Float] = [], bias: [Float] = [], perNeuron: NeuronArrays = NeuronArrays()) throws -> Int {
        let ins = inputs ?? [last]
        let shape = try Network.inferShape(op, inputs: ins.map { layers[$0].shape }, layer: name)
        var layer = Layer(name: name, op: op, inputs: ins, shape: shape, neuron: neuron, weights: weights, bias: bias)
        layer.perNeuron = perNeuron
        layers.append(layer)
        return last
    }

    public func build(outputs: [Int]? = nil) throws -> Network {
        let n = Network(name: name, layers: layers, outputs: outputs ?? [layers.count - 1])
        try n.validate()
        return n
    }
}
