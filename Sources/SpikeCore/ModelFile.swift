import Foundation

/// The native model format: a JSON graph (`NAME.json`) beside a little-endian float32 weight file
/// (`NAME.bin`, named in the JSON). `version` is checked on load.
public enum ModelFile {
    public static let format = "spikescale-network"
    public static let version = 1

    package struct Document: Codable {
        package var format: String
        package var version: Int
        package var name: String
        package var weightsFile: String
        package var weightsBytes: Int
        package var outputs: [String]
        package var layers: [Record]
        package var yoloHeads: [HeadRecord]?
    }

    package struct HeadRecord: Codable {
        package var layer: String
        package var anchors: [[Float]]
        package var mask: [Int]
        package var classes: Int
        package var scaleXY: Float?
    }

    package struct TensorRef: Codable { package var offset: Int; package var count: Int }

    package struct Record: Codable {
        package var name: String
        package var op: String
        package var inputs: [String]
        package var shape: [Int]
        package var kernel: [Int]?
        package var stride: [Int]?
        package var pads: [Int]?
        package var dilation: [Int]?
        package var groups: Int?
        package var outChannels: Int?
        package var countIncludePad: Bool?
        package var start: Int?
        package var count: Int?
        package var factor: Int?
        package var function: String?
        package var alpha: Float?
        package var min: Float?
        package var max: Float?
        package var neuron: NeuronModel?
        package var weights: TensorRef?
        package var bias: TensorRef?
        package var outputScale: TensorRef?
        /// Leaky layers' per-neuron parameters (`NeuronArrays`), by field name.
        package var perNeuron: [String: TensorRef]?
    }

    /// Writes `network` to `jsonPath` and its weights to the `.bin` file beside it.
    /// Both are written to temporary names and renamed, so a failure never leaves a half-written model.
    public static func write(_ network: Network, to jsonPath: String) throws {
        let url = URL(fileURLWithPath: jsonPath)
        let binName = url.deletingPathExtension().lastPathComponent + ".bin"
        let binURL = url.deletingLastPathComponent().appendingPathComponent(binName)
        let (json, blob) = try encode(network, weightsFile: binName)
        let bytes = blob.withUnsafeBytes { Data($0) }  // little-endian on every supported host
        try atomicWrite(bytes, to: binURL)
        try atomicWrite(json, to: url)
    }

    /// The model document (JSON) and its weight blob, in memory (the NIR exporter stores the document as
    /// metadata and the tensors in NIR's own fields).
    package static func encode(_ network: Network, weightsFile binName: String) throws -> (json: Data, blob: [Float]) {
        try network.validate()
        var blob = [Float]()
        func ref(_ a: [Float]) -> TensorRef? {
            guard !a.isEmpty else { return nil }
            let r = TensorRef(offset: blob.count * 4, count: a.count)
            blob.append(contentsOf: a)
            return r
        }
        var records = [Record]()
        for l in network.layers {
            var r = Record(name: l.name, op: l.op.name, inputs: l.inputs.map { network.layers[$0].name },
                           shape: [l.shape.height, l.shape.width, l.shape.channels])
            func window(_ w: Window) {
                r.kernel = [w.kernelH, w.kernelW]; r.stride = [w.strideH, w.strideW]
                r.pads = [w.padTop, w.padLeft, w.padBottom, w.padRight]; r.dilation = [w.dilationH, w.dilationW]
            }
            switch l.op {
            case .conv(let w, let oc, let g): window(w); r.outChannels = oc; r.groups = g
            case .dense(let o): r.outChannels = o
            case .avgPool(let w, let inc): window(w); r.countIncludePad = inc
            case .maxPool(let w): window(w)
            case .channelSlice(let s, let c): r.start = s; r.count = c
            case .upsample(let f): r.factor = f
            case .activation(let f):
                r.function = f.name
                switch f {
                case .leakyRelu(let a): r.alpha = a
                case .clip(let lo, let hi): r.min = lo; r.max = hi
                default: break
                }
            case .input, .globalAvgPool, .add, .concat, .flatten: break
            }
            r.neuron = l.neuron
            r.weights = ref(l.weights)
            r.bias = ref(l.bias)
            r.outputScale = ref(l.outputScale)
            if !l.perNeuron.isEmpty {
                var refs = [String: TensorRef]()
                for (name, a) in l.perNeuron.present { refs[name] = ref(a) }
                r.perNeuron = refs
            }
            records.append(r)
        }
        let doc = Document(format: format, version: version, name: network.name, weightsFile: binName,
                           weightsBytes: blob.count * 4, outputs: network.outputs.map { network.layers[$0].name },
                           layers: records,
                           yoloHeads: network.heads.isEmpty ? nil : network.heads.map {
                               HeadRecord(layer: network.layers[$0.layer].name, anchors: $0.anchors, mask: $0.mask,
                                          classes: $0.classes, scaleXY: $0.scaleXY)
                           })
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try enc.encode(doc), blob)
    }

    static func atomicWrite(_ data: Data, to url: URL) throws {
        let dir = url.deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: dir.path) {
            do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) } catch {
                throw SpikeError("\(dir.path): cannot create the output folder: \(error.localizedDescription)")
            }
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial")
        do {
            try data.write(to: tmp)
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
            try FileManager.default.moveItem(at: tmp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: tmp)
            throw SpikeError("\(url.path): cannot write: \(error.localizedDescription)")
        }
    }

    /// Reads and validates a model. Every error names the file and the field or layer at fault.
    public static func read(_ jsonPath: String) throws -> Network {
        guard let data = FileManager.default.contents(atPath: jsonPath) else {
            throw SpikeError("\(jsonPath): cannot read the model file (missing or unreadable)")
        }
        let doc: Document
        do {
            doc = try JSONDecoder().decode(Document.self, from: data)
        } catch let e as DecodingError {
            throw SpikeError("\(jsonPath): \(describe(e))")
        } catch {
            throw SpikeError("\(jsonPath): not a valid model file: \(error.localizedDescription)")
        }
        guard doc.format == format else {
            throw SpikeError("\(jsonPath): field 'format' is '\(doc.format)', expected '\(format)'")
        }
        guard doc.version == version else {
            throw SpikeError("\(jsonPath): field 'version' is \(doc.version); this build reads version \(version)")
        }
        try checkKeys(data, path: jsonPath)
        let dir = URL(fileURLWithPath: jsonPath).deletingLastPathComponent()
        let binPath = doc.weightsFile.hasPrefix("/") ? doc.weightsFile : dir.appendingPathComponent(doc.weightsFile).path
        // Each tensor is read from the file straight into its array (no copy of the whole file in memory).
        guard let file = FileHandle(forReadingAtPath: binPath) else {
            throw SpikeError("\(jsonPath): weight file '\(binPath)' named by field 'weightsFile' cannot be read")
        }
        defer { try? file.close() }
        let size: Int
        do { size = Int(try file.seekToEnd()) } catch {
            throw SpikeError("\(binPath): cannot read the weight file: \(error.localizedDescription)")
        }
        return try decode(doc, binBytes: size, jsonPath: jsonPath, binPath: binPath) { offset, count in
            var a = [Float](repeating: 0, count: count)
            let want = 4 * count
            let got = a.withUnsafeMutableBytes { raw -> Int in
                var done = 0
                while done < want {
                    let n = pread(file.fileDescriptor, raw.baseAddress! + done, want - done, off_t(offset + done))
                    if n <= 0 { break }
                    done += n
                }
                return done
            }
            guard got == want else {
                throw SpikeError("\(binPath): cannot read \(want) bytes at byte \(offset) (file changed or unreadable)")
            }
            #if _endian(big)
            for i in a.indices { a[i] = Float(bitPattern: UInt32(littleEndian: a[i].bitPattern)) }
            #endif
            return a
        }
    }

    /// The document's layers with their tensors from `bin`; errors name `jsonPath` (and `binPath`).
    package static func decode(_ doc: Document, bin: Data, jsonPath: String, binPath: String) throws -> Network {
        try decode(doc, binBytes: bin.count, jsonPath: jsonPath, binPath: binPath) { offset, count in
            bin.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: offset + 4 * $0, as: Float.self) } }
        }
    }

    /// The document's layers with their tensors read by `read(byteOffset, floatCount)` from a weight file of
    /// `binBytes` bytes (checked against the document, and every tensor against it, before it is read).
    static func decode(_ doc: Document, binBytes: Int, jsonPath: String, binPath: String,
                       read: (Int, Int) throws -> [Float]) throws -> Network {
        guard binBytes == doc.weightsBytes else {
            throw SpikeError("\(binPath): has \(binBytes) bytes but \(jsonPath) field 'weightsBytes' says \(doc.weightsBytes) (truncated or wrong file)")
        }
        try InputLimits.check(doc.layers.count, .layers, "\(jsonPath): field 'layers': the number of layers")
        var layers = [Layer]()
        var byName = [String: Int]()
        for (i, r) in doc.layers.enumerated() {
            let at = "\(jsonPath): layers[\(i)] '\(r.name)'"
            func tensor(_ t: TensorRef?, _ field: String) throws -> [Float] {
                guard let t else { return [] }
                guard t.offset >= 0, t.count >= 0, t.offset % 4 == 0, t.offset <= binBytes, t.count <= (binBytes - t.offset) / 4 else {
                    throw SpikeError("\(at): field '\(field)' points at \(t.count) floats from byte \(t.offset), outside the \(binBytes)-byte weight file")
                }
                return try read(t.offset, t.count)
            }
            guard r.shape.count == 3, r.shape.allSatisfy({ $0 > 0 && $0 < 1 << 24 }) else {
                throw SpikeError("\(at): field 'shape' must be [height, width, channels] of positive sizes, got \(r.shape)")
            }
            var inputs = [Int]()
            for n in r.inputs {
                guard let j = byName[n] else { throw SpikeError("\(at): input '\(n)' is not an earlier layer") }
                inputs.append(j)
            }
            let op = try parseOp(r, at: at)
            var layer = Layer(name: r.name, op: op, inputs: inputs, shape: Shape(r.shape[0], r.shape[1], r.shape[2]),
                              neuron: r.neuron, weights: try tensor(r.weights, "weights"), bias: try tensor(r.bias, "bias"))
            layer.outputScale = try tensor(r.outputScale, "outputScale")
            for (name, t) in (r.perNeuron ?? [:]).sorted(by: { $0.key < $1.key }) {
                guard let k = NeuronArrays.names.firstIndex(of: name) else {
                    throw SpikeError("\(at): field 'perNeuron' has unknown key '\(name)'; known: \(NeuronArrays.names.joined(separator: ", "))")
                }
                layer.perNeuron[keyPath: NeuronArrays.keyPaths[k]] = try tensor(t, "perNeuron.\(name)")
            }
            byName[r.name] = i
            layers.append(layer)
        }
        var outs = [Int]()
        for o in doc.outputs {
            guard let j = byName[o] else { throw SpikeError("\(jsonPath): field 'outputs' names unknown layer '\(o)'") }
            outs.append(j)
        }
        var heads = [YOLOHead]()
        for (k, h) in (doc.yoloHeads ?? []).enumerated() {
            let at = "\(jsonPath): yoloHeads[\(k)]"
            guard let j = byName[h.layer] else { throw SpikeError("\(at): field 'layer' names unknown layer '\(h.layer)'") }
            guard h.classes >= 1, !h.mask.isEmpty, h.mask.allSatisfy({ h.anchors.indices.contains($0) }),
                  h.anchors.allSatisfy({ $0.count == 2 }) else {
                throw SpikeError("\(at): needs classes >= 1, anchors as [width, height] pairs and mask entries indexing them")
            }
            guard layers[j].shape.channels == h.mask.count * (5 + h.classes) else {
                throw SpikeError("\(at): layer '\(h.layer)' has \(layers[j].shape.channels) channels, the head needs \(h.mask.count) x (5 + \(h.classes))")
            }
            heads.append(YOLOHead(layer: j, anchors: h.anchors, mask: h.mask, classes: h.classes, scaleXY: h.scaleXY ?? 1))
        }
        let net = Network(name: doc.name, layers: layers, outputs: outs, heads: heads)
        do { try net.validate() } catch let e as SpikeError { throw SpikeError("\(jsonPath): \(e.message)") }
        return net
    }

    static func parseOp(_ r: Record, at: String) throws -> LayerOp {
        func pair(_ v: [Int]?, _ field: String, _ def: Int?) throws -> (Int, Int) {
            guard let v else {
                guard let def else { throw SpikeError("\(at): \(r.op) needs field '\(field)'") }
                return (def, def)
            }
            guard v.count == 2 else { throw SpikeError("\(at): field '\(field)' must have 2 entries, got \(v.count)") }
            return (v[0], v[1])
        }
        func window() throws -> Window {
            let k = try pair(r.kernel, "kernel", nil), s = try pair(r.stride, "stride", 1), d = try pair(r.dilation, "dilation", 1)
            let p = r.pads ?? [0, 0, 0, 0]
            guard p.count == 4 else { throw SpikeError("\(at): field 'pads' must be [top, left, bottom, right]") }
            return Window(kernelH: k.0, kernelW: k.1, strideH: s.0, strideW: s.1, padTop: p[0], padLeft: p[1],
                          padBottom: p[2], padRight: p[3], dilationH: d.0, dilationW: d.1)
        }
        func int(_ v: Int?, _ field: String) throws -> Int {
            guard let v else { throw SpikeError("\(at): \(r.op) needs field '\(field)'") }
            return v
        }
        switch r.op {
        case "input": return .input
        case "conv": return .conv(try window(), outChannels: try int(r.outChannels, "outChannels"), groups: r.groups ?? 1)
        case "dense": return .dense(outFeatures: try int(r.outChannels, "outChannels"))
        case "avgpool": return .avgPool(try window(), countIncludePad: r.countIncludePad ?? false)
        case "maxpool": return .maxPool(try window())
        case "globalavgpool": return .globalAvgPool
        case "add": return .add
        case "concat": return .concat
        case "slice": return .channelSlice(start: try int(r.start, "start"), count: try int(r.count, "count"))
        case "upsample": return .upsample(factor: try int(r.factor, "factor"))
        case "flatten": return .flatten
        case "activation":
            switch r.function {
            case "relu": return .activation(.relu)
            case "leakyrelu": return .activation(.leakyRelu(alpha: r.alpha ?? 0.01))
            case "sigmoid": return .activation(.sigmoid)
            case "hardswish": return .activation(.hardSwish)
            case "swish": return .activation(.swish)
            case "clip": return .activation(.clip(min: r.min ?? -.infinity, max: r.max ?? .infinity))
            case "softmax": return .activation(.softmax)
            default: throw SpikeError("\(at): field 'function' is '\(r.function ?? "missing")'; known: relu, leakyrelu, sigmoid, hardswish, swish, clip, softmax")
            }
        default:
            throw SpikeError("\(at): field 'op' is '\(r.op)'; known ops: input, conv, dense, avgpool, maxpool, globalavgpool, add, concat, slice, upsample, flatten, activation")
        }
    }

    /// Rejects keys this version does not know, so a misspelt field is not silently ignored.
    static func checkKeys(_ data: Data, path: String) throws {
        guard let top = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return }
        let topKeys: Set<String> = ["format", "version", "name", "weightsFile", "weightsBytes", "outputs", "layers", "yoloHeads"]
        if let k = top.keys.sorted().first(where: { !topKeys.contains($0) }) {
            throw SpikeError("\(path): unknown field '\(k)'")
        }
        let layerKeys: Set<String> = ["name", "op", "inputs", "shape", "kernel", "stride", "pads", "dilation", "groups",
                                      "outChannels", "countIncludePad", "start", "count", "factor", "function", "alpha", "min", "max",
                                      "neuron", "weights", "bias", "outputScale", "perNeuron"]
        let neuronKeys: Set<String> = ["kind", "threshold", "reset", "alpha", "tau", "initialMembrane", "burst", "memory", "memoryMargin", "fewSpike", "dynamics"]
        for (i, l) in (top["layers"] as? [[String: Any]] ?? []).enumerated() {
            if let k = l.keys.sorted().first(where: { !layerKeys.contains($0) }) {
                throw SpikeError("\(path): layers[\(i)]: unknown field '\(k)'")
            }
            if let n = l["neuron"] as? [String: Any], let k = n.keys.sorted().first(where: { !neuronKeys.contains($0) }) {
                throw SpikeError("\(path): layers[\(i)].neuron: unknown field '\(k)'")
            }
        }
    }

    /// A one-line description of a decoding error with its coding path (`layers[3].kernel`).
    public static func describe(_ e: DecodingError) -> String {
        func path(_ p: [CodingKey]) -> String {
            var s = ""
            for k in p {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s.isEmpty ? "top level" : "field '\(s)'"
        }
        switch e {
        case .typeMismatch(let t, let c): return "\(path(c.codingPath)): expected \(t)"
        case .valueNotFound(let t, let c): return "\(path(c.codingPath)): missing \(t) value"
        case .keyNotFound(let k, let c): return "\(path(c.codingPath + [k])): missing required field"
        case .dataCorrupted(let c):
            return "\(path(c.codingPath)): \(c.debugDescription)" + ((c.underlyingError).map { " (\($0.localizedDescription))" } ?? "")
        @unknown default: return "\(e)"
        }
    }
}
