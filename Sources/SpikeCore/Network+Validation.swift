extension Network {
    /// The output shape of `op` applied to inputs of the given shapes; `layer` names the layer in errors.
    /// Largest number of neurons in one layer (events are indexed with 32-bit integers).
    public static let maxLayerSize = Int(Int32.max)

    public static func inferShape(_ op: LayerOp, inputs: [Shape], layer: String) throws -> Shape {
        let shape = try inferShapeUnchecked(op, inputs: inputs, layer: layer)
        try checkSize(shape, layer: layer)
        return shape
    }

    /// Throws if `shape` is empty, or has more neurons than events can index or the tensor limit allows.
    public static func checkSize(_ shape: Shape, layer: String) throws {
        let n = InputLimits.product([shape.height, shape.width, shape.channels])
        guard n <= maxLayerSize, shape.height > 0, shape.width > 0, shape.channels > 0 else {
            throw SpikeError("layer '\(layer)': output shape \(shape) is empty or larger than \(maxLayerSize) neurons")
        }
        try InputLimits.check(n, .tensorElements, "layer '\(layer)': the neurons of shape \(shape)")
    }

    static func inferShapeUnchecked(_ op: LayerOp, inputs: [Shape], layer: String) throws -> Shape {
        for s in inputs where s.height <= 0 || s.width <= 0 || s.channels <= 0 || s.height > 1 << 20 || s.width > 1 << 20 || s.channels > 1 << 24 {
            throw SpikeError("layer '\(layer)': input shape \(s) is out of range")
        }
        func need(_ n: Int) throws {
            guard inputs.count == n else {
                throw SpikeError("layer '\(layer)': \(op.name) takes \(n) input(s), got \(inputs.count)")
            }
        }
        switch op {
        case .input:
            throw SpikeError("layer '\(layer)': only the first layer can be an input")
        case .conv(let w, let outC, let groups):
            try need(1); try w.validate(layer: layer)
            let s = inputs[0]
            guard groups > 0, outC > 0, s.channels % groups == 0, outC % groups == 0 else {
                throw SpikeError("layer '\(layer)': groups \(groups) must divide input channels \(s.channels) and output channels \(outC)")
            }
            guard let h = w.outputHeight(s.height), let wd = w.outputWidth(s.width), h > 0, wd > 0 else {
                throw SpikeError("layer '\(layer)': a \(w.kernelH)x\(w.kernelW) kernel does not fit the \(s) input")
            }
            return Shape(h, wd, outC)
        case .avgPool(let w, _), .maxPool(let w):
            try need(1); try w.validate(layer: layer)
            let s = inputs[0]
            guard let h = w.outputHeight(s.height), let wd = w.outputWidth(s.width), h > 0, wd > 0 else {
                throw SpikeError("layer '\(layer)': a \(w.kernelH)x\(w.kernelW) pooling window does not fit the \(s) input")
            }
            return Shape(h, wd, s.channels)
        case .dense(let out):
            try need(1)
            guard out > 0 else { throw SpikeError("layer '\(layer)': dense layer needs a positive number of outputs") }
            return Shape(1, 1, out)
        case .globalAvgPool:
            try need(1); return Shape(1, 1, inputs[0].channels)
        case .flatten:
            try need(1); return Shape(1, 1, inputs[0].count)
        case .activation:
            try need(1); return inputs[0]
        case .add:
            guard inputs.count >= 2 else { throw SpikeError("layer '\(layer)': add needs at least 2 inputs") }
            guard inputs.allSatisfy({ $0 == inputs[0] }) else {
                throw SpikeError("layer '\(layer)': add inputs must have the same shape, got \(inputs.map(\.description).joined(separator: ", "))")
            }
            return inputs[0]
        case .concat:
            guard !inputs.isEmpty else { throw SpikeError("layer '\(layer)': concat needs inputs") }
            guard inputs.allSatisfy({ $0.height == inputs[0].height && $0.width == inputs[0].width }) else {
                throw SpikeError("layer '\(layer)': concat inputs must agree in height and width, got \(inputs.map(\.description).joined(separator: ", "))")
            }
            return Shape(inputs[0].height, inputs[0].width, inputs.reduce(0) { $0 + $1.channels })
        case .channelSlice(let start, let count):
            try need(1)
            guard start >= 0, count > 0, start + count <= inputs[0].channels else {
                throw SpikeError("layer '\(layer)': channel slice [\(start), \(start + count)) is outside the input's \(inputs[0].channels) channels")
            }
            return Shape(inputs[0].height, inputs[0].width, count)
        case .upsample(let f):
            try need(1)
            guard f > 0, f <= 1 << 10 else { throw SpikeError("layer '\(layer)': upsample factor must be in 1...1024, got \(f)") }
            return Shape(inputs[0].height * f, inputs[0].width * f, inputs[0].channels)
        }
    }

    /// Number of weights layer `l` must carry (add: 0 or one scale per input channel).
    public func expectedWeightCount(_ l: Layer) -> [Int] {
        switch l.op {
        case .conv(let w, let outC, let groups):
            return [w.kernelH * w.kernelW * (layers[l.inputs[0]].shape.channels / groups) * outC]
        case .dense(let out): return [layers[l.inputs[0]].shape.count * out]
        case .add: return [0, l.inputs.count * l.shape.channels]
        default: return [0]
        }
    }

    /// Checks the whole graph: order, names, shapes, neuron models and parameter sizes.
    /// Every error names the layer and what is wrong.
    public func validate() throws {
        guard let first = layers.first, case .input = first.op else {
            throw SpikeError("network '\(name)': the first layer must be the input")
        }
        try Network.checkSize(first.shape, layer: first.name)
        try InputLimits.check(layers.count, .layers, "network '\(name)': the number of layers")
        var names = Set<String>()
        for (i, l) in layers.enumerated() {
            guard !l.name.isEmpty else { throw SpikeError("layer #\(i): empty name") }
            guard names.insert(l.name).inserted else { throw SpikeError("layer '\(l.name)': the name is used twice") }
            if i == 0 { continue }
            for j in l.inputs where !(j >= 0 && j < i) {
                throw SpikeError("layer '\(l.name)': input #\(j) is not an earlier layer (layers must be in topological order)")
            }
            let shape = try Network.inferShape(l.op, inputs: l.inputs.map { layers[$0].shape }, layer: l.name)
            guard shape == l.shape else {
                throw SpikeError("layer '\(l.name)': declared shape \(l.shape) does not match the \(shape) its inputs give")
            }
            if l.op.hasNeurons {
                guard let n = l.neuron else { throw SpikeError("layer '\(l.name)': \(l.op.name) layer has no neuron model") }
                try n.validate(layer: l.name)
            } else if l.neuron != nil {
                throw SpikeError("layer '\(l.name)': \(l.op.name) is a routing layer and takes no neuron model")
            }
            let expected = expectedWeightCount(l)
            guard expected.contains(l.weights.count) else {
                throw SpikeError("layer '\(l.name)': has \(l.weights.count) weights, expected \(expected.filter { $0 > 0 || expected.count == 1 }.map(String.init).joined(separator: " or "))")
            }
            let biasOK: Bool
            switch l.op {
            case .conv, .dense, .add: biasOK = l.bias.isEmpty || l.bias.count == l.shape.channels
            default: biasOK = l.bias.isEmpty
            }
            guard biasOK else { throw SpikeError("layer '\(l.name)': has \(l.bias.count) biases, expected 0 or \(l.shape.channels)") }
            if let bad = l.weights.firstIndex(where: { !$0.isFinite }) {
                throw SpikeError("layer '\(l.name)': weight #\(bad) is not finite")
            }
            if let bad = l.bias.firstIndex(where: { !$0.isFinite }) {
                throw SpikeError("layer '\(l.name)': bias #\(bad) is not finite")
            }
            try l.perNeuron.validate(layer: l.name, neuron: l.neuron, shape: l.shape)
            if !l.outputScale.isEmpty {
                guard l.outputScale.count == l.shape.channels, l.outputScale.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                    throw SpikeError("layer '\(l.name)': outputScale needs \(l.shape.channels) positive finite factors, got \(l.outputScale.count)")
                }
                guard outputs.contains(i), l.neuron.map({ $0.kind != .accumulator }) ?? false else {
                    throw SpikeError("layer '\(l.name)': outputScale is only for output layers with spiking neurons")
                }
            }
        }
        guard !outputs.isEmpty, outputs.allSatisfy({ $0 > 0 && $0 < layers.count }) else {
            throw SpikeError("network '\(name)': outputs must name existing non-input layers")
        }
        try validateFewSpike()
    }
}
