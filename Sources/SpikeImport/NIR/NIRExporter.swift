import Foundation
import SpikeCore

/// Writes a native network as a NIR graph, and reads SpikeScale's own NIR files back exactly.
///
/// Every layer becomes standard NIR nodes where NIR has them: the input an `Input`, a convolution a
/// `Conv2d`, a dense layer an `Affine` (its weights in NIR's CHW order after a `Flatten`), average
/// pooling an `AvgPool2d`, flatten a `Flatten`; the layer's neurons a second node `NAME.neurons`: IF →
/// `IF` (r = 1, dt = 1 step), iterative LIF → `LIF`, accumulator → `I`, leaky → `LIF` / `CubaLIF`,
/// leaky integrator → `LI`. What NIR cannot say is written as metadata and custom node types:
/// - every neuron node's `metadata/spikescale` holds the layer's full native record (JSON: op, window,
///   neuron model with reset mode, IBT α, burst, initial membrane, few-spike code) and
///   `metadata/output_scale` its output scales;
/// - layers with no NIR primitive are nodes of type `SpikeScaleMaxPool` (the spiking max-pool gate),
///   `SpikeScaleUpsample`, `SpikeScaleConcat`, `SpikeScaleSlice`, `SpikeScaleAdd`,
///   `SpikeScaleGlobalAvgPool`: other readers refuse them by type;
/// - the root graph's `metadata/spikescale_model` holds the native model document (layer order, names,
///   outputs, detection heads) whose tensors are taken back from the nodes' NIR fields.
/// IBT neurons are written as `IF` (its positive side) with α in the metadata, IF neurons with memory as
/// `IF` with `memory` in the metadata; reset by subtraction is
/// NIR's IF reset; so a reader without the metadata gets the nearest standard equivalent.
public enum NIRExporter {
    public static let metadataKey = "spikescale_model"

    static func numbers(_ v: [Float], _ shape: [Int]? = nil) -> H5Node { .numbers(shape: shape ?? [v.count], values: v.map(Double.init)) }
    static func ints(_ v: [Int]) -> H5Node { .numbers(shape: [v.count], values: v.map(Double.init)) }
    static func string(_ s: String) -> H5Node { .strings(shape: [], values: [s]) }

    static func nirShape(_ s: Shape) -> [Int] { s.isVector ? [s.channels] : [s.channels, s.height, s.width] }

    /// NIR node names may not contain the '.' SpikeScale uses for nesting, nor HDF5's '/'.
    static func nodeName(_ layer: String) -> String {
        layer.replacingOccurrences(of: ".", with: "_").replacingOccurrences(of: "/", with: "_")
    }

    public static func graph(_ network: Network) throws -> NIRGraph {
        let (json, _) = try ModelFile.encode(network, weightsFile: "(nir)")
        var g = NIRGraph()
        g.metadata[metadataKey] = string(String(decoding: json, as: UTF8.self))
        g.metadata["spikescale_note"] = string("written by spikescale export-nir; SpikeScale reads its own layers from the metadata and the tensors from the standard fields")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var outName = [String](repeating: "", count: network.layers.count)   // the node a layer's output leaves from
        for (i, l) in network.layers.enumerated() {
            let name = nodeName(l.name)
            guard outName.firstIndex(of: name) == nil, g.nodes[name] == nil else { throw SpikeError("layer '\(l.name)': its NIR node name '\(name)' is taken") }
            let ins = l.inputs.map { outName[$0] }
            var synapse: NIRNode
            switch l.op {
            case .input:
                g.nodes[name] = NIRNode(type: "Input", params: ["shape": ints(nirShape(l.shape))])
                outName[i] = name
                continue
            case .conv(let w, let oc, let groups):
                let inC = network.layers[l.inputs[0]].shape.channels, cg = inC / groups
                var nirW = [Float](repeating: 0, count: l.weights.count)
                for o in 0..<oc { for c in 0..<cg { for y in 0..<w.kernelH { for x in 0..<w.kernelW {
                    nirW[((o * cg + c) * w.kernelH + y) * w.kernelW + x] = l.weights[((y * w.kernelW + x) * cg + c) * oc + o]
                } } } }
                synapse = NIRNode(type: "Conv2d", params: [
                    "weight": numbers(nirW, [oc, cg, w.kernelH, w.kernelW]),
                    "bias": numbers(l.bias.isEmpty ? [Float](repeating: 0, count: oc) : l.bias),
                    "stride": ints([w.strideH, w.strideW]), "padding": ints([w.padTop, w.padLeft]),
                    "dilation": ints([w.dilationH, w.dilationW]), "groups": .numbers(shape: [], values: [Double(groups)]),
                    "input_shape": ints([network.layers[l.inputs[0]].shape.height, network.layers[l.inputs[0]].shape.width]),
                ])
            case .dense(let out):
                let src = network.layers[l.inputs[0]]
                let n = src.shape.count
                let perm = denseInputOrder(network, l.inputs[0])
                var nirW = [Float](repeating: 0, count: l.weights.count)
                for hwc in 0..<n { for o in 0..<out { nirW[o * n + perm[hwc]] = l.weights[hwc * out + o] } }
                synapse = NIRNode(type: l.bias.isEmpty ? "Linear" : "Affine", params: ["weight": numbers(nirW, [out, n])])
                if !l.bias.isEmpty { synapse.params["bias"] = numbers(l.bias) }
            case .avgPool(let w, _):
                synapse = NIRNode(type: "AvgPool2d", params: ["kernel_size": ints([w.kernelH, w.kernelW]), "stride": ints([w.strideH, w.strideW]),
                                                              "padding": ints([w.padTop, w.padLeft])])
            case .flatten:
                let s = network.layers[l.inputs[0]].shape
                g.nodes[name] = NIRNode(type: "Flatten", params: ["start_dim": .numbers(shape: [], values: [0]), "end_dim": .numbers(shape: [], values: [-1]),
                                                                   "input_type": .group(["input": ints(nirShape(s))])])
                for s in ins { g.edges.append(NIREdge(s, name)) }
                outName[i] = name
                continue
            case .maxPool, .upsample, .concat, .channelSlice, .globalAvgPool, .add, .activation:
                let type: String
                switch l.op {
                case .maxPool: type = "SpikeScaleMaxPool"
                case .upsample: type = "SpikeScaleUpsample"
                case .concat: type = "SpikeScaleConcat"
                case .channelSlice: type = "SpikeScaleSlice"
                case .globalAvgPool: type = "SpikeScaleGlobalAvgPool"
                case .add: type = "SpikeScaleAdd"
                default: type = "SpikeScaleActivation"
                }
                synapse = NIRNode(type: type, params: l.weights.isEmpty ? [:] : ["weight": numbers(l.weights)])
                if !l.bias.isEmpty { synapse.params["bias"] = numbers(l.bias) }
                if !l.op.hasNeurons {
                    synapse.params["metadata"] = .group(["spikescale_op": string(String(decoding: try encoder.encode(OpRecord(l)), as: UTF8.self))])
                    g.nodes[name] = synapse
                    for s in ins { g.edges.append(NIREdge(s, name)) }
                    outName[i] = name
                    continue
                }
            }
            g.nodes[name] = synapse
            for s in ins { g.edges.append(NIREdge(s, name)) }
            guard let nm = l.neuron else { outName[i] = name; continue }
            let neurons = name + "_neurons"
            var node = neuronNode(nm, layer: l)
            var meta: [String: H5Node] = ["spikescale": string(String(decoding: try encoder.encode(nm), as: UTF8.self))]
            if !l.outputScale.isEmpty { meta["output_scale"] = numbers(l.outputScale) }
            if !l.perNeuron.isEmpty {
                // The native per-neuron arrays as they are (engine order), for SpikeScale's exact read-back.
                meta["per_neuron"] = .group(Dictionary(uniqueKeysWithValues: l.perNeuron.present.map { ($0.name, numbers($0.values)) }))
            }
            node.params["metadata"] = .group(meta)
            g.nodes[neurons] = node
            g.edges.append(NIREdge(name, neurons))
            outName[i] = neurons
        }
        for (k, o) in network.outputs.enumerated() {
            var name = "output" + (network.outputs.count > 1 ? "_\(k)" : "")
            while g.nodes[name] != nil { name += "_nir" }   // a layer may be called "output" (the trainer's last layer)
            g.nodes[name] = NIRNode(type: "Output", params: ["shape": ints(nirShape(network.layers[o].shape))])
            g.edges.append(NIREdge(outName[o], name))
        }
        return g
    }

    /// For a dense layer's input: the NIR (CHW-flattened) index of each HWC-flattened input element when
    /// it is a Flatten of a spatial layer, else the identity.
    static func denseInputOrder(_ network: Network, _ input: Int) -> [Int] {
        let src = network.layers[input]
        let n = src.shape.count
        guard case .flatten = src.op, let from = src.inputs.first else { return Array(0..<n) }
        let s = network.layers[from].shape
        guard !s.isVector else { return Array(0..<n) }
        var perm = [Int](repeating: 0, count: n)
        for y in 0..<s.height { for x in 0..<s.width { for c in 0..<s.channels {
            perm[(y * s.width + x) * s.channels + c] = (c * s.height + y) * s.width + x
        } } }
        return perm
    }

    /// The NIR neuron node nearest to a layer's native neuron model (dt = 1 step). With per-neuron
    /// parameters (`Layer.perNeuron`) each field holds every neuron's value in NIR's shape ((N) or (C, H, W)).
    static func neuronNode(_ nm: NeuronModel, layer l: Layer) -> NIRNode {
        let count = l.shape.count
        func all(_ x: Float) -> H5Node { numbers([Float](repeating: x, count: count)) }
        if !l.perNeuron.isEmpty, let d0 = nm.dynamics { return perNeuronNode(nm, d0, layer: l) }
        switch nm.kind {
        case .integrateAndFire, .signedIBT:
            return NIRNode(type: "IF", params: ["r": all(1), "v_threshold": all(nm.threshold)])
        case .leakyIntegrateAndFire:
            // V = τ·V + I: NIR LIF with dt = 1, a = 1 − 1/τ_NIR = τ, input gain r/τ_NIR = 1.
            let tauN = 1 / max(1 - nm.tau, 1e-30)
            return NIRNode(type: "LIF", params: ["tau": all(tauN), "r": all(tauN), "v_leak": all(0), "v_threshold": all(nm.threshold)])
        case .accumulator, .fewSpike:
            return NIRNode(type: nm.kind == .fewSpike ? "SpikeScaleFewSpike" : "I", params: ["r": all(1)])
        case .leaky, .leakyIntegrator:
            let d = nm.dynamics ?? .relay
            let tauN = 1 / max(1 - d.memoryDecay, 1e-30)
            var p: [String: H5Node] = ["tau": all(tauN), "r": all(d.inputGain * tauN), "v_leak": all(0)]
            var type = nm.kind == .leaky ? "LIF" : "LI"
            if let aj = d.synapseDecay {
                type = nm.kind == .leaky ? "CubaLIF" : "CubaLI"
                p["tau_mem"] = p["tau"]; p["tau"] = nil
                let ts = 1 / max(1 - aj, 1e-30)
                p["tau_syn"] = all(ts); p["w_in"] = all(d.synapseGain * ts)
            }
            if nm.kind == .leaky { p["v_threshold"] = all(nm.threshold) }
            return NIRNode(type: type, params: p)
        }
    }

    /// `neuronNode` for a leaky layer with per-neuron parameters: the same fields, each computed per neuron
    /// from that neuron's discrete values, in NIR's C-major order and shape.
    static func perNeuronNode(_ nm: NeuronModel, _ d0: LeakyDynamics, layer l: Layer) -> NIRNode {
        let s = l.shape, c = s.channels, count = s.count, a = l.perNeuron
        var fields = [String: [Float]]()
        let cuba = d0.synapseDecay != nil
        for ch in 0..<c { for k in 0..<(count / c) {
            let i = k * c + ch   // HWC index of the neuron at C-major position ch * (count / c) + k
            func v(_ arr: [Float], _ x: Float) -> Float { NeuronArrays.value(arr, i, channels: c, x) }
            let tauN = 1 / max(1 - v(a.memoryDecay, d0.memoryDecay), 1e-30)
            var p: [String: Float] = [cuba ? "tau_mem" : "tau": tauN, "r": v(a.inputGain, d0.inputGain) * tauN, "v_leak": 0]
            if cuba {
                let ts = 1 / max(1 - v(a.synapseDecay, d0.synapseDecay ?? 0), 1e-30)
                p["tau_syn"] = ts; p["w_in"] = v(a.synapseGain, d0.synapseGain) * ts
            }
            if nm.kind == .leaky { p["v_threshold"] = v(a.threshold, nm.threshold) }
            for (f, x) in p { fields[f, default: []].append(x) }
        } }
        let type = nm.kind == .leaky ? (cuba ? "CubaLIF" : "LIF") : (cuba ? "CubaLI" : "LI")
        return NIRNode(type: type, params: fields.mapValues { numbers($0, nirShape(s)) })
    }

    /// A routing layer's op, for its node's metadata (the native record carries it too).
    struct OpRecord: Encodable {
        var op: String
        init(_ l: Layer) { op = l.op.name }
    }

    public static func write(_ network: Network, to path: String) throws {
        try NIRFile.write(try graph(network), to: path)
    }

    // MARK: reading SpikeScale's own files

    /// The native network of a graph SpikeScale wrote: the layers from the root metadata, the tensors
    /// from the nodes' NIR fields (transposed back), the output scales from the neuron nodes' metadata.
    static func network(_ g: NIRGraph, document: String, file: String) throws -> Network {
        let doc: ModelFile.Document
        do { doc = try JSONDecoder().decode(ModelFile.Document.self, from: Data(document.utf8)) } catch {
            throw SpikeError("\(file): metadata '\(metadataKey)' is not a SpikeScale model document: \(error.localizedDescription)")
        }
        // Every tensor comes from the nodes' fields, so the document cannot need more floats than they hold.
        var held = 0
        func count(_ n: H5Node) { switch n { case .numbers(_, let v): held += v.count; case .group(let c): c.values.forEach(count); case .strings: break } }
        for n in g.nodes.values { n.params.values.forEach(count) }
        guard doc.weightsBytes >= 0, doc.weightsBytes % 4 == 0, doc.weightsBytes / 4 <= held else {
            throw SpikeError("\(file): metadata '\(metadataKey)': field 'weightsBytes' is \(doc.weightsBytes), but the nodes hold \(held) numbers")
        }
        var blob = [Float](repeating: 0, count: doc.weightsBytes / 4)
        var shapes = [String: Shape]()
        var ops = [String: String]()
        var inputsOf = [String: [String]]()
        for r in doc.layers {
            guard r.shape.count == 3 else { throw SpikeError("\(file): layer '\(r.name)': field 'shape' must have 3 entries") }
            shapes[r.name] = Shape(r.shape[0], r.shape[1], r.shape[2])
            ops[r.name] = r.op
            inputsOf[r.name] = r.inputs
        }
        func put(_ ref: ModelFile.TensorRef?, _ values: [Float], layer: String, field: String) throws {
            guard let ref else { return }
            guard ref.count == values.count, ref.offset >= 0, ref.offset % 4 == 0, ref.offset / 4 + ref.count <= blob.count else {
                throw SpikeError("\(file): NIR node '\(nodeName(layer))': field '\(field)' has \(values.count) values, the layer's record says \(ref.count)")
            }
            for (k, v) in values.enumerated() { blob[ref.offset / 4 + k] = v }
        }
        func floats(_ node: NIRNode, _ field: String, _ name: String) throws -> [Float] {
            try node.numbers(field, node: name).values.map { Float($0) }
        }
        for r in doc.layers {
            let name = nodeName(r.name)
            guard let node = g.nodes[name] else { throw SpikeError("\(file): NIR node '\(name)' for layer '\(r.name)' is missing") }
            if r.weights != nil {
                let w = try floats(node, "weight", name)
                var engine = [Float](repeating: 0, count: w.count)
                switch r.op {
                case "conv":
                    guard let k = r.kernel, k.count == 2, let oc = r.outChannels, oc > 0, let inName = r.inputs.first, let inS = shapes[inName] else {
                        throw SpikeError("\(file): layer '\(r.name)': incomplete conv record")
                    }
                    let groups = max(r.groups ?? 1, 1), cg = inS.channels / groups
                    guard w.count == oc * cg * k[0] * k[1] else { throw SpikeError("\(file): NIR node '\(name)': field 'weight' has \(w.count) values, expected \(oc * cg * k[0] * k[1])") }
                    for o in 0..<oc { for c in 0..<cg { for y in 0..<k[0] { for x in 0..<k[1] {
                        engine[((y * k[1] + x) * cg + c) * oc + o] = w[((o * cg + c) * k[0] + y) * k[1] + x]
                    } } } }
                case "dense":
                    guard let out = r.outChannels, out > 0, let inName = r.inputs.first, let inS = shapes[inName] else {
                        throw SpikeError("\(file): layer '\(r.name)': incomplete dense record")
                    }
                    let n = inS.count
                    guard w.count == n * out else { throw SpikeError("\(file): NIR node '\(name)': field 'weight' has \(w.count) values, expected \(n * out)") }
                    var perm = Array(0..<n)
                    if ops[inName] == "flatten", let from = inputsOf[inName]?.first, let s = shapes[from], !s.isVector, s.count == n {
                        for y in 0..<s.height { for x in 0..<s.width { for c in 0..<s.channels {
                            perm[(y * s.width + x) * s.channels + c] = (c * s.height + y) * s.width + x
                        } } }
                    }
                    for hwc in 0..<n { for o in 0..<out { engine[hwc * out + o] = w[o * n + perm[hwc]] } }
                default:
                    engine = w
                }
                try put(r.weights, engine, layer: r.name, field: "weight")
            }
            if r.bias != nil { try put(r.bias, try floats(node, "bias", name), layer: r.name, field: "bias") }
            if r.outputScale != nil {
                guard case .group(let meta)? = g.nodes[name + "_neurons"]?.params["metadata"], case .numbers(_, let v)? = meta["output_scale"] else {
                    throw SpikeError("\(file): NIR node '\(name)_neurons': missing field 'metadata/output_scale'")
                }
                try put(r.outputScale, v.map { Float($0) }, layer: r.name, field: "metadata/output_scale")
            }
            for (key, ref) in (r.perNeuron ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard case .group(let meta)? = g.nodes[name + "_neurons"]?.params["metadata"], case .group(let arrays)? = meta["per_neuron"],
                      case .numbers(_, let v)? = arrays[key] else {
                    throw SpikeError("\(file): NIR node '\(name)_neurons': missing field 'metadata/per_neuron/\(key)'")
                }
                try put(ref, v.map { Float($0) }, layer: r.name, field: "metadata/per_neuron/\(key)")
            }
        }
        let bin = blob.withUnsafeBytes { Data($0) }
        return try ModelFile.decode(doc, bin: bin, jsonPath: file, binPath: file)
    }
}
