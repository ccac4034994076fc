import Foundation
import SpikeCore

/// Imports a NIR graph as a native network (see README, "NIR interchange", for the node-type table).
public enum NIRImporter {
    public static func load(path: String, dt: Double, convention: NIRConvention) throws -> ImportedModel {
        let graph = try NIRFile.read(path: path)
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        return try importGraph(graph, name: name, dt: dt, convention: convention, file: path)
    }

    /// A flattened node: nested graphs are inlined, their names joined with dots.
    struct FlatNode { var name: String; var node: NIRNode }

    static func flatten(_ g: NIRGraph, prefix: String, file: String, into nodes: inout [String: NIRNode], edges: inout [NIREdge]) throws {
        func full(_ n: String) -> String { prefix.isEmpty ? n : prefix + "." + n }
        // An edge to a nested graph goes to its Input node; from it, from its Output node.
        func endpoint(_ n: String, incoming: Bool) throws -> String {
            guard let sub = g.nodes[n]?.graph else { return full(n) }
            let want = incoming ? "Input" : "Output"
            let ends = sub.nodes.filter { $0.value.type == want }.map(\.key).sorted()
            guard ends.count == 1 else {
                throw SpikeError("\(file): NIR node '\(full(n))' (NIRGraph): an edge \(incoming ? "into" : "out of") a nested graph needs exactly one \(want) node in it, found \(ends.count)")
            }
            return full(n) + "." + ends[0]
        }
        for (name, n) in g.nodes {
            if let sub = n.graph {
                try flatten(sub, prefix: full(name), file: file, into: &nodes, edges: &edges)
            } else {
                nodes[full(name)] = n
            }
        }
        for e in g.edges {
            edges.append(NIREdge(try endpoint(e.source, incoming: false), try endpoint(e.target, incoming: true)))
        }
    }

    /// Kahn's topological order (ties by name); a cycle is an error naming a node on it.
    static func order(_ nodes: [String: NIRNode], _ edges: [NIREdge], file: String) throws -> [String] {
        var indegree = Dictionary(uniqueKeysWithValues: nodes.keys.map { ($0, 0) })
        var succ = [String: [String]]()
        for e in edges {
            guard nodes[e.source] != nil else { throw SpikeError("\(file): NIR edge \(e.source) -> \(e.target): unknown node '\(e.source)'") }
            guard nodes[e.target] != nil else { throw SpikeError("\(file): NIR edge \(e.source) -> \(e.target): unknown node '\(e.target)'") }
            succ[e.source, default: []].append(e.target)
            indegree[e.target]! += 1
        }
        var ready = indegree.filter { $0.value == 0 }.map(\.key).sorted()
        var out = [String]()
        while !ready.isEmpty {
            let n = ready.removeFirst()
            out.append(n)
            for s in succ[n] ?? [] {
                indegree[s]! -= 1
                if indegree[s]! == 0 { ready.append(s); ready.sort() }
            }
        }
        if out.count < nodes.count {
            let stuck = indegree.filter { $0.value > 0 }.map(\.key).sorted()
            throw SpikeError("\(file): NIR graph has a cycle through node '\(stuck[0])' (recurrent connections cannot be simulated here; nodes on or after the cycle: \(stuck.prefix(5).joined(separator: ", ")))")
        }
        return out
    }

    /// What a node's output is while the graph is walked: an engine layer with its NIR shape, or a
    /// synaptic operation waiting for the neuron node that follows it.
    struct Value {
        var layer: Int
        var nirShape: [Int]           // NIR's shape without batch: [N] or [C, H, W]
        var pending: Pending?
        /// After a Flatten: the CHW shape it flattened (a following Affine's weights are in CHW order).
        var flattenedFrom: [Int]? = nil
    }
    struct Pending {
        var op: LayerOp
        var weights: [Float]
        var bias: [Float]
        var shape: [Int]              // NIR output shape
        var node: String
    }

    static func engineShape(_ s: [Int], node: String, file: String) throws -> Shape {
        switch s.count {
        case 1: return Shape(1, 1, s[0])
        case 3: return Shape(s[1], s[2], s[0])
        case 2: return Shape(1, s[1], s[0])   // (C, L)
        default: throw SpikeError("\(file): NIR node '\(node)': shape \(s) is not (N) or (C, H, W)")
        }
    }

    /// Maps `graph` onto the engine's network. Every error names `file` (the node's field checks say the node
    /// and field; the file is put in front of them here).
    public static func importGraph(_ graph: NIRGraph, name: String, dt: Double, convention: NIRConvention, file: String) throws -> ImportedModel {
        do { return try mapGraph(graph, name: name, dt: dt, convention: convention, file: file) } catch let e as SpikeError {
            guard !e.message.hasPrefix(file), !e.message.hasPrefix("--dt") else { throw e }
            throw SpikeError("\(file): \(e.message)")
        }
    }

    static func mapGraph(_ graph: NIRGraph, name: String, dt: Double, convention: NIRConvention, file: String) throws -> ImportedModel {
        if case .strings(_, let doc)? = graph.metadata[NIRExporter.metadataKey], doc.count == 1 {
            // SpikeScale's own file: its layers exactly (the neuron models are discrete already; dt is not used).
            let net = try NIRExporter.network(graph, document: doc[0], file: file)
            return ImportedModel(network: net, heads: net.heads, notes: ["\(file): written by SpikeScale; layers from its metadata, tensors from the NIR fields"], source: file)
        }
        guard dt.isFinite, dt > 0 else { throw SpikeError("--dt must be a positive number of seconds, got \(dt)") }
        var nodes = [String: NIRNode](), edges = [NIREdge]()
        try flatten(graph, prefix: "", file: file, into: &nodes, edges: &edges)
        let topo = try order(nodes, edges, file: file)
        var preds = [String: [String]]()
        for e in edges { preds[e.target, default: []].append(e.source) }
        let inputs = topo.filter { nodes[$0]!.type == "Input" && (preds[$0] ?? []).isEmpty }
        guard inputs.count == 1 else {
            throw SpikeError("\(file): NIR graph must have exactly one Input node without incoming edges, found \(inputs.count)\(inputs.isEmpty ? "" : " (\(inputs.joined(separator: ", ")))")")
        }
        let inShapeN = try nodes[inputs[0]]!.integers("shape", node: inputs[0])
        guard !inShapeN.isEmpty, inShapeN.allSatisfy({ $0 > 0 && $0 < 1 << 24 }) else {
            throw SpikeError("\(file): NIR node '\(inputs[0])' (Input): field 'shape' must hold positive sizes, got \(inShapeN)")
        }
        try InputLimits.check(InputLimits.product(inShapeN), .tensorElements, "\(file): NIR node '\(inputs[0])' (Input): the elements of field 'shape'")
        var b = NetworkBuilder(name: name, input: try engineShape(inShapeN, node: inputs[0], file: file))
        var values = [String: Value]()
        var outputs = [Int]()
        var notes = ["NIR discretisation: \(convention.rawValue), dt = \(dt) s"]
        let ctx = Context(dt: dt, convention: convention, file: file)

        // A pending synapse without a neuron of its own becomes a relay layer (a leaky integrator that
        // passes its current on exactly: V = I each step).
        func materialize(_ v: Value) throws -> Value {
            guard let p = v.pending else { return v }
            let idx = try b.add(p.node, p.op, inputs: [v.layer], neuron: .leakyIntegrator(.relay), weights: p.weights, bias: p.bias)
            notes.append("\(p.node): no neuron node follows; a relay layer passes its current on")
            return Value(layer: idx, nirShape: p.shape, pending: nil)
        }

        for name in topo {
            let n = nodes[name]!
            let ins = preds[name] ?? []
            if name == inputs[0] { values[name] = Value(layer: 0, nirShape: inShapeN); continue }
            guard !ins.isEmpty else { throw SpikeError("\(file): NIR node '\(name)' (\(n.type)): no incoming edge (only the graph's Input may have none)") }
            guard ins.count == 1 else {
                throw SpikeError("\(file): NIR node '\(name)' (\(n.type)): \(ins.count) incoming edges (\(ins.sorted().joined(separator: ", "))); only chains and trees of single-input nodes can be imported")
            }
            let src = values[ins[0]]!
            switch n.type {
            case "Input":   // a nested graph's Input: identity
                values[name] = src
            case "Output":
                let v = try materialize(src)
                if let declared = try? n.integers("shape", node: name), !declared.isEmpty, declared.reduce(1, *) != v.nirShape.reduce(1, *) {
                    throw SpikeError("\(file): NIR node '\(name)' (Output): field 'shape' \(declared) does not match its input's shape \(v.nirShape)")
                }
                if !outputs.contains(v.layer) { outputs.append(v.layer) }
                values[name] = v
            case "Affine", "Linear", "Conv2d", "SumPool2d", "AvgPool2d", "Scale":
                let v = try materialize(src)
                values[name] = Value(layer: v.layer, nirShape: v.nirShape,
                                     pending: try synapse(n, name: name, input: v, builder: b, ctx: ctx))
            case "Flatten":
                let v = try materialize(src)
                let total = v.nirShape.reduce(1, *)
                let idx = try b.add(name, .flatten, inputs: [v.layer])
                var out = Value(layer: idx, nirShape: [total])
                out.flattenedFrom = v.nirShape
                values[name] = out
            case "LIF", "CubaLIF", "IF", "LI", "CubaLI", "I", "Threshold":
                let shape = src.pending?.shape ?? src.nirShape
                let (model, arrays) = try neuronModels(n, name: name, nirShape: shape, ctx: ctx)
                var p = src.pending ?? identity(src, node: name, builder: b)
                p.node = name
                let idx = try b.add(name, p.op, inputs: [src.layer], neuron: model, weights: p.weights, bias: p.bias, perNeuron: arrays)
                if !arrays.isEmpty {
                    let s = b.shape(idx)
                    notes.append("\(name): per-neuron parameters " + arrays.present.map {
                        "\($0.name) (\($0.values.count == s.count ? "per neuron" : "per channel"))"
                    }.joined(separator: ", "))
                }
                values[name] = Value(layer: idx, nirShape: p.shape)
            default:
                throw SpikeError("\(file): NIR node '\(name)': node type '\(n.type)' cannot be imported (supported: Input, Output, Affine, Linear, Scale, Conv2d, SumPool2d, AvgPool2d, Flatten, LIF, CubaLIF, IF, LI, CubaLI, I, Threshold)")
            }
        }
        guard !outputs.isEmpty else { throw SpikeError("\(file): NIR graph has no Output node reachable from its Input") }
        let network = try b.build(outputs: outputs)
        return ImportedModel(network: network, notes: notes, source: file)
    }

    struct Context { var dt: Double; var convention: NIRConvention; var file: String }

    /// A depthwise 1x1 convolution of weight 1: the identity synapse for a neuron node fed directly
    /// by a layer (Input → LIF).
    static func identity(_ v: Value, node: String, builder b: NetworkBuilder) -> Pending {
        let c = b.shape(v.layer).channels
        return Pending(op: .conv(Window(kernel: 1), outChannels: c, groups: c), weights: [Float](repeating: 1, count: c), bias: [], shape: v.nirShape, node: node)
    }
}

extension LeakyDynamics {
    /// V = I every step: a relay for a synapse without a neuron node.
    public static let relay = LeakyDynamics(memoryDecay: 0, inputGain: 1, convention: "relay")
}

extension NIRImporter {
    /// Two values (H, W) from a scalar or a pair.
    static func pair(_ n: NIRNode, _ field: String, name: String, default d: Int? = nil) throws -> (Int, Int) {
        if n.params[field] == nil, let d { return (d, d) }
        let v = try n.integers(field, node: name)
        switch v.count {
        case 1: return (v[0], v[0])
        case 2: return (v[0], v[1])
        default: throw SpikeError("NIR node '\(name)' (\(n.type)): field '\(field)' must hold 1 or 2 integers, got \(v.count)")
        }
    }

    static func synapse(_ n: NIRNode, name: String, input v: Value, builder b: NetworkBuilder, ctx: Context) throws -> Pending {
        let file = ctx.file
        func err(_ m: String) -> SpikeError { SpikeError("\(file): NIR node '\(name)' (\(n.type)): \(m)") }
        let inCount = v.nirShape.reduce(1, *)
        switch n.type {
        case "Affine", "Linear":
            let (ws, w) = try n.numbers("weight", node: name)
            guard ws.count == 2, ws[1] == inCount else { throw err("field 'weight' has shape \(ws), expected (out, \(inCount)) for an input of shape \(v.nirShape)") }
            guard v.nirShape.count == 1 else { throw err("an input of shape \(v.nirShape) needs a Flatten first") }
            let out = ws[0]
            guard out > 0 else { throw err("field 'weight' has shape \(ws): no outputs") }
            var bias = [Float]()
            if n.type == "Affine", let (bs, bv) = try n.numbersIfPresent("bias", node: name) {
                guard bv.count == out else { throw err("field 'bias' has shape \(bs), expected (\(out))") }
                bias = bv.map { Float($0) }
            }
            // Engine dense weights are [in][out] over the HWC-flattened input; NIR's over its CHW flattening.
            var weights = [Float](repeating: 0, count: out * inCount)
            if let chw = v.flattenedFrom, chw.count == 3 {
                let (C, H, W) = (chw[0], chw[1], chw[2])
                for c in 0..<C { for y in 0..<H { for x in 0..<W {
                    let nirIn = (c * H + y) * W + x, hwc = (y * W + x) * C + c
                    for o in 0..<out { weights[hwc * out + o] = Float(w[o * inCount + nirIn]) }
                } } }
            } else {
                for i in 0..<inCount { for o in 0..<out { weights[i * out + o] = Float(w[o * inCount + i]) } }
            }
            return Pending(op: .dense(outFeatures: out), weights: weights, bias: bias, shape: [out], node: name)
        case "Scale":
            let (ss, s) = try n.numbers("scale", node: name)
            let c = b.shape(v.layer).channels
            guard s.count == inCount || s.count == c || s.count == 1 else { throw err("field 'scale' has shape \(ss), expected \(v.nirShape)") }
            var perChannel = [Float](repeating: 0, count: c)
            for ch in 0..<c {
                let vals: [Double] = s.count == inCount && v.nirShape.count == 3
                    ? (0..<(inCount / c)).map { s[ch * (inCount / c) + $0] } : [s.count == 1 ? s[0] : s[ch]]
                guard vals.allSatisfy({ $0 == vals[0] }) else { throw err("field 'scale' differs within channel \(ch); only per-channel scales are supported") }
                perChannel[ch] = Float(vals[0])
            }
            return Pending(op: .conv(Window(kernel: 1), outChannels: c, groups: c), weights: perChannel, bias: [], shape: v.nirShape, node: name)
        case "Conv2d":
            guard v.nirShape.count == 3 else { throw err("input of shape \(v.nirShape), expected (C, H, W)") }
            let (ws, w) = try n.numbers("weight", node: name)
            let groups = try n.params["groups"] == nil ? 1 : (n.integers("groups", node: name).first ?? 1)
            let cin = v.nirShape[0]
            guard groups >= 1, cin % groups == 0 else { throw err("field 'groups' = \(groups) does not divide the \(cin) input channels") }
            guard ws.count == 4, ws[1] == cin / groups, ws[0] % groups == 0 else {
                throw err("field 'weight' has shape \(ws), expected (C_out, \(cin / groups), kh, kw) for an input of shape \(v.nirShape)")
            }
            let (cout, cg, kh, kw) = (ws[0], ws[1], ws[2], ws[3])
            let (sh, sw) = try pair(n, "stride", name: name, default: 1)
            let (dh, dw) = try pair(n, "dilation", name: name, default: 1)
            guard kh > 0, kw > 0, sh > 0, sw > 0, dh > 0, dw > 0 else {
                throw err("kernel \(kh)x\(kw), field 'stride' \(sh)x\(sw) and field 'dilation' \(dh)x\(dw) must be positive")
            }
            var ph = 0, pw = 0
            if case .strings(_, let p)? = n.params["padding"] {
                switch p.first {
                case "valid": break
                case "same":
                    guard sh == 1, sw == 1 else { throw err("padding 'same' with stride \(sh)x\(sw) is not supported") }
                    ph = dh * (kh - 1) / 2; pw = dw * (kw - 1) / 2
                default: throw err("field 'padding' = \(p.first ?? "") is not 'same', 'valid' or integers")
                }
            } else {
                (ph, pw) = try pair(n, "padding", name: name, default: 0)
            }
            guard ph >= 0, pw >= 0, ph <= dh * (kh - 1), pw <= dw * (kw - 1) || (ph == 0 && pw == 0) else {
                throw err("field 'padding' \(ph)x\(pw) must be between 0 and the kernel's extent")
            }
            var weights = [Float](repeating: 0, count: w.count)
            for o in 0..<cout { for i in 0..<cg { for y in 0..<kh { for x in 0..<kw {
                weights[((y * kw + x) * cg + i) * cout + o] = Float(w[((o * cg + i) * kh + y) * kw + x])
            } } } }
            var bias = [Float]()
            if let (bs, bv) = try n.numbersIfPresent("bias", node: name), !(bv.count == 1 && bv[0] == 0 && cout != 1) {
                guard bv.count == cout else { throw err("field 'bias' has shape \(bs), expected (\(cout))") }
                bias = bv.map { Float($0) }
            }
            let win = Window(kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padTop: ph, padLeft: pw, padBottom: ph, padRight: pw, dilationH: dh, dilationW: dw)
            let s = b.shape(v.layer)
            guard let ho = win.outputHeight(s.height), let wo = win.outputWidth(s.width), ho > 0, wo > 0 else {
                throw err("the \(kh)x\(kw) kernel does not fit the \(s.height)x\(s.width) input")
            }
            try InputLimits.check(InputLimits.product([cout, ho, wo]), .tensorElements, "\(file): NIR node '\(name)' (Conv2d): its output neurons")
            return Pending(op: .conv(win, outChannels: cout, groups: groups), weights: weights, bias: bias, shape: [cout, ho, wo], node: name)
        case "SumPool2d", "AvgPool2d":
            guard v.nirShape.count == 3 else { throw err("input of shape \(v.nirShape), expected (C, H, W)") }
            let (kh, kw) = try pair(n, "kernel_size", name: name)
            let (sh, sw) = try pair(n, "stride", name: name, default: kh)
            let (ph, pw) = try pair(n, "padding", name: name, default: 0)
            guard kh > 0, kw > 0, sh > 0, sw > 0, ph >= 0, pw >= 0, ph < kh, pw < kw else {
                throw err("kernel \(kh)x\(kw) and stride \(sh)x\(sw) must be positive, padding \(ph)x\(pw) non-negative and below the kernel")
            }
            let win = Window(kernelH: kh, kernelW: kw, strideH: sh, strideW: sw, padTop: ph, padLeft: pw, padBottom: ph, padRight: pw)
            let s = b.shape(v.layer)
            guard let ho = win.outputHeight(s.height), let wo = win.outputWidth(s.width), ho > 0, wo > 0 else {
                throw err("the \(kh)x\(kw) window does not fit the \(s.height)x\(s.width) input")
            }
            let c = s.channels
            try InputLimits.check(InputLimits.product([kh, kw, c]), .tensorElements, "\(file): NIR node '\(name)' (\(n.type)): the window's elements")
            if n.type == "AvgPool2d" {
                return Pending(op: .avgPool(win, countIncludePad: true), weights: [], bias: [], shape: [c, ho, wo], node: name)
            }
            // Sum pooling: a depthwise convolution of ones (exact sums).
            return Pending(op: .conv(win, outChannels: c, groups: c), weights: [Float](repeating: 1, count: kh * kw * c), bias: [],
                           shape: [c, ho, wo], node: name)
        default:
            throw err("not a synaptic node")
        }
    }
}
