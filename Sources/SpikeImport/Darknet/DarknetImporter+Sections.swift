import SpikeCore

/// The importer's handling of each Darknet section kind.
extension DarknetBuilder {
    // MARK: sections

    mutating func convolutional(_ i: Int, _ s: DarknetSection) throws {
        let name = "conv\(i)"
        let input = try previous(i, s)
        let inC = net.shape(input).channels
        let filters = try s.int("filters", default: 1, in: 1...DarknetBuilder.maxChannels)
        let size = try s.int("size", default: 1, in: 1...1024)
        let stride = try s.int("stride", default: 1, in: 1...1024)
        let sx = try s.int("stride_x", default: stride, in: 1...1024), sy = try s.int("stride_y", default: stride, in: 1...1024)
        let pad = try s.int("pad", default: 0)
        let padding = pad != 0 ? size / 2 : try s.int("padding", default: 0, in: 0...1024)
        let groups = try s.int("groups", default: 1, in: 1...DarknetBuilder.maxChannels)
        let bn = try s.int("batch_normalize", default: 0) != 0
        if let d = try s.int("dilation"), d != 1 { throw s.error("key 'dilation=\(d)' is not supported by the importer", key: "dilation") }
        try rejectKeys(s, ["binary", "xnor", "antialiasing", "deform", "share_index", "coordconv", "stretch", "stretch_sway"])
        guard inC % groups == 0, filters % groups == 0 else {
            throw s.error("groups=\(groups) must divide the input channels (\(inC)) and filters (\(filters))", key: "groups")
        }
        let (neuron, act) = try neuronModel(s, darknetIndex: i, default: "logistic")
        let cig = inC / groups
        let count = InputLimits.product([size, size, cig, filters])
        try InputLimits.check(count, .tensorElements, s.location(key: "filters") + ": the weights of a \(size)x\(size) convolution from \(inC) to \(filters) channels")
        try countParameters(s, count + filters)
        let window = Window(kernelH: size, kernelW: size, strideH: sy, strideW: sx,
                            padTop: padding, padLeft: padding, padBottom: padding, padRight: padding)
        // Shape first, so that a wrong geometry is reported before the weights are read.
        do { _ = try Network.inferShape(.conv(window, outChannels: filters, groups: groups), inputs: [net.shape(input)], layer: name) }
        catch let e as SpikeError { throw s.error(e.message) }

        let (w, bias) = try convolutionWeights(s, name: name, filters: filters, inputsPerGroup: cig, size: size, batchNorm: bn, count: count)
        var idx = try add(s, name, .conv(window, outChannels: filters, groups: groups), inputs: [input],
                          neuron: neuron, weights: w, bias: bias)
        if neuron.kind == .accumulator && act == nil {
            notes.append("\(name): linear, feeds a detection head: accumulator neurons (read out as V/T)")
        }
        idx = try finishActivation(s, name, idx, act)
        out.append(idx)
    }

    mutating func maxpool(_ i: Int, _ s: DarknetSection) throws {
        let name = "maxpool\(i)"
        let input = try previous(i, s)
        let stride = try s.int("stride", default: 1, in: 1...1024)
        let sx = try s.int("stride_x", default: stride, in: 1...1024), sy = try s.int("stride_y", default: stride, in: 1...1024)
        let size = try s.int("size", default: stride, in: 1...1024)
        let padding = try s.int("padding", default: size - 1, in: 0...1024)
        try rejectKeys(s, ["maxpool_depth", "antialiasing"])
        let window = Window(kernelH: size, kernelW: size, strideH: sy, strideW: sx, padTop: padding / 2, padLeft: padding / 2,
                            padBottom: padding - padding / 2, padRight: padding - padding / 2)
        let idx = try add(s, name, .maxPool(window), inputs: [input])
        let inS = net.shape(input), o = net.shape(idx)
        let dh = (inS.height + padding - size) / sy + 1, dw = (inS.width + padding - size) / sx + 1
        guard o.height == dh, o.width == dw else {
            throw s.error("max-pool output \(o.height)x\(o.width) differs from Darknet's (w + padding - size)/stride + 1 = \(dh)x\(dw)")
        }
        out.append(idx)
    }

    mutating func avgpool(_ i: Int, _ s: DarknetSection) throws {
        let input = try previous(i, s)
        out.append(try add(s, "avgpool\(i)", .globalAvgPool, inputs: [input], neuron: .ibt(alpha: 1)))
    }

    mutating func route(_ i: Int, _ s: DarknetSection) throws {
        let name = "route\(i)"
        guard let refs = try s.ints("layers"), !refs.isEmpty else {
            throw s.error("key 'layers' is missing or empty", key: "layers")
        }
        let ins = try refs.map { try resolve($0, at: i, s, key: "layers") }
        let groups = try s.int("groups", default: 1, in: 1...DarknetBuilder.maxChannels)
        let gid = try s.int("group_id", default: 0, in: 0...(groups - 1))
        var parts = ins
        if groups > 1 {
            parts = []
            for (k, j) in ins.enumerated() {
                let c = net.shape(j).channels
                guard c % groups == 0 else {
                    throw s.error("groups=\(groups) does not divide the \(c) channels of layer \(net.layers[j].name)", key: "groups")
                }
                let part = ins.count == 1 ? name : "\(name)_part\(k)"
                parts.append(try add(s, part, .channelSlice(start: gid * (c / groups), count: c / groups), inputs: [j]))
            }
        }
        if parts.count == 1 {
            out.append(parts[0])  // a reference, or the single slice
        } else {
            out.append(try add(s, name, .concat, inputs: parts))
        }
    }

    mutating func shortcut(_ i: Int, _ s: DarknetSection) throws {
        let name = "shortcut\(i)"
        let input = try previous(i, s)
        guard let from = try s.ints("from"), !from.isEmpty else {
            throw s.error("key 'from' is missing or empty", key: "from")
        }
        for k in ["weights_type", "weights_normalization"] {
            let v = s.string(k, default: "none").lowercased()
            if v != "none" { throw s.error("key '\(k)=\(v)' (weighted shortcut) is not supported by the importer", key: k) }
        }
        let others = try from.map { try resolve($0, at: i, s, key: "from") }
        let alpha = try s.float("alpha", default: 1), beta = try s.float("beta", default: 1)
        let (neuron, act) = try neuronModel(s, darknetIndex: i, default: "linear")
        var scales: [Float] = []
        if alpha != 1 || beta != 1 {
            let c = net.shape(input).channels
            scales = [Float](repeating: alpha, count: c)
            for _ in others { scales += [Float](repeating: beta, count: c) }
            notes.append("\(name): alpha \(alpha), beta \(beta) as per-input scales of the add")
        }
        let idx = try add(s, name, .add, inputs: [input] + others, neuron: neuron, weights: scales)
        out.append(try finishActivation(s, name, idx, act))
    }

    mutating func upsample(_ i: Int, _ s: DarknetSection) throws {
        let input = try previous(i, s)
        let stride = try s.int("stride", default: 2)
        guard stride >= 1 else {
            throw s.error("key 'stride' is \(stride): downsampling (stride < 1) is not supported", key: "stride")
        }
        guard stride <= 64 else { throw s.error("key 'stride' is \(stride), expected a value in 1...64", key: "stride") }
        if let sc = try s.float("scale"), sc != 1 {
            throw s.error("key 'scale=\(sc)' is not supported by the importer", key: "scale")
        }
        out.append(try add(s, "upsample\(i)", .upsample(factor: stride), inputs: [input]))
    }

    mutating func yolo(_ i: Int, _ s: DarknetSection) throws {
        let input = try previous(i, s)
        guard input > 0 else { throw s.error("a [yolo] head needs a preceding layer") }
        let classes = try s.int("classes", default: 20, in: 1...100_000)
        let num = try s.int("num", default: 1, in: 1...1000)
        let mask = try s.ints("mask") ?? Array(0..<num)
        let a = try s.floats("anchors") ?? []
        guard a.count % 2 == 0, a.count >= 2 * num else {
            throw s.error("key 'anchors' has \(a.count) values, expected \(2 * num) (num=\(num) width,height pairs)", key: "anchors")
        }
        let anchors = (0..<num).map { [a[2 * $0], a[2 * $0 + 1]] }
        guard !mask.isEmpty, mask.allSatisfy({ $0 >= 0 && $0 < num }) else {
            throw s.error("key 'mask' must list anchor indices in 0..<\(num)", key: "mask")
        }
        let scaleXY = try s.float("scale_x_y", default: 1)
        let c = net.shape(input).channels
        guard c == mask.count * (classes + 5) else {
            throw s.error("the preceding layer \(net.layers[input].name) has \(c) channels, expected mask count \(mask.count) × (classes \(classes) + 5) = \(mask.count * (classes + 5))")
        }
        heads.append(YOLOHead(layer: input, anchors: anchors, mask: mask, classes: classes, scaleXY: scaleXY))
        outputs.append(input)
        out.append(nil)
        notes.append("yolo\(i): head on \(net.layers[input].name) (\(net.shape(input)), mask \(mask.map(String.init).joined(separator: ",")))")
    }

    mutating func region(_ i: Int, _ s: DarknetSection) throws {
        let input = try previous(i, s)
        guard input > 0 else { throw s.error("a [region] head needs a preceding layer") }
        outputs.append(input)
        out.append(nil)
        notes.append("region\(i): YOLOv2 [region] head not represented (its decoding differs from [yolo]); \(net.layers[input].name) is a raw network output")
    }

    /// Reads a convolution's biases, batch norm (folded into weights and biases as Darknet's inference
    /// computes it) and weights, reordered from Darknet's [out][in][ky][kx] to [ky][kx][in][out].
    /// Without weights (a cfg alone) both are zero.
    mutating func convolutionWeights(_ s: DarknetSection, name: String, filters: Int, inputsPerGroup cig: Int, size: Int,
                                     batchNorm bn: Bool, count: Int) throws -> ([Float], [Float]) {
        var w = [Float](repeating: 0, count: count)
        var bias = [Float](repeating: 0, count: filters)
        if var r = reader {
            let where_ = "\(name) (\(config.file):\(s.line))"
            let b = try r.read(filters, for: where_, what: "biases")
            var scale = [Double](repeating: 1, count: filters), shift = [Double](b.map(Double.init))
            if bn {
                let g = try r.read(filters, for: where_, what: "batch-norm scales")
                let mean = try r.read(filters, for: where_, what: "batch-norm rolling means")
                let v = try r.read(filters, for: where_, what: "batch-norm rolling variances")
                for f in 0..<filters {
                    let variance = Double(v[v.startIndex + f])
                    guard variance >= 0 else {
                        throw s.error("weights: batch-norm variance of filter \(f) of \(name) is \(variance) (negative)")
                    }
                    // Darknet's inference normalizes by sqrt(variance) + 1e-6 (normalize_cpu), not sqrt(variance + eps).
                    let sc = Double(g[g.startIndex + f]) / (variance.squareRoot() + DarknetImporter.batchNormEpsilon)
                    scale[f] = sc
                    shift[f] = Double(b[b.startIndex + f]) - sc * Double(mean[mean.startIndex + f])
                }
                foldedBN += 1
            }
            let src = try r.read(count, for: where_, what: "convolution weights [\(filters)][\(cig)][\(size)][\(size)]")
            reader = r
            src.withUnsafeBufferPointer { sp in
                w.withUnsafeMutableBufferPointer { dp in
                    for f in 0..<filters {
                        let sc = scale[f]
                        for c in 0..<cig {
                            for ky in 0..<size {
                                for kx in 0..<size {
                                    let v = sp[((f * cig + c) * size + ky) * size + kx]
                                    dp[((ky * size + kx) * cig + c) * filters + f] = Float(Double(v) * sc)
                                }
                            }
                        }
                    }
                }
            }
            for f in 0..<filters { bias[f] = Float(shift[f]) }
            if let bad = bias.firstIndex(where: { !$0.isFinite }) {
                throw s.error("weights: bias of filter \(bad) of \(name) is not finite after folding batch norm")
            }
            if let bad = w.firstIndex(where: { !$0.isFinite }) {
                throw s.error("weights: weight #\(bad) of \(name) is not finite after folding batch norm")
            }
        }
        return (w, bias)
    }
}
