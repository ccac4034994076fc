import Foundation
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeImport
import SpikeRun
import Testing
import TestSupport

/// One library's simulation of one network, as Tests/Fixtures/nir/make_nir_fixtures.py recorded it.
struct NIRReference: Decodable {
    var library: String
    var network: String
    var convention: String
    var dt: Double
    var timesteps: Int
    var inputShape: [Int]
    var outputShape: [Int]
    var outputKind: String
    /// Per sample: T frames of the input, each in NIR's CHW order.
    var inputs: [[Float]]
    /// Per sample: T rows of the output layer's values (spikes 0/1 or membrane).
    var outputs: [[Float]]
    var tolerance: Float
    var toleranceReason: String
    enum CodingKeys: String, CodingKey {
        case library, network, convention, dt, timesteps, outputs, inputs, tolerance
        case inputShape = "input_shape", outputShape = "output_shape", outputKind = "output_kind", toleranceReason = "tolerance_reason"
    }

    static let folder = TestPaths.fixtures + "/nir"
    static func load(_ name: String) throws -> NIRReference {
        try JSONDecoder().decode(NIRReference.self, from: Data(contentsOf: URL(fileURLWithPath: "\(folder)/\(name).json")))
    }
    static var all: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(5)) }.sorted()
    }

    /// The input frames in the engine's HWC order, concatenated over time.
    func engineInput(_ s: Int) -> [Float] { Self.hwc(inputs[s], shape: inputShape, steps: timesteps) }
    /// The reference output rows in the engine's HWC order.
    func engineOutput(_ s: Int) -> [Float] { Self.hwc(outputs[s], shape: outputShape, steps: timesteps) }

    /// T frames of CHW values as T frames of HWC values (vectors unchanged).
    static func hwc(_ v: [Float], shape: [Int], steps: Int) -> [Float] {
        guard shape.count == 3 else { return v }
        let (c, h, w) = (shape[0], shape[1], shape[2]), n = c * h * w
        var out = [Float](repeating: 0, count: v.count)
        for t in 0..<steps {
            for ch in 0..<c { for y in 0..<h { for x in 0..<w {
                out[t * n + (y * w + x) * c + ch] = v[t * n + (ch * h + y) * w + x]
            } } }
        }
        return out
    }
}

/// Runs `network` on `ranks` in-process ranks and returns, per sample, the first output layer's
/// per-step values (T rows, merged over ranks) and the summed counters.
func outputTraces(_ network: Network, ranks: Int, timesteps: Int, inputs: [[Float]]) throws -> (traces: [[Float]], counters: [[LayerCounters]]) {
    var c = SimulationConfig(timesteps: timesteps, encoder: .events)
    c.outputTrace = true
    let config = c
    let partition = try Partition(network: network, ranks: ranks)
    let perRank = try LocalGroup(size: ranks).run { t -> [RankSampleResultBox] in
        let sim = try RankSimulator(network: network, partition: partition, transport: t, config: config)
        return try inputs.enumerated().map { RankSampleResultBox(try sim.run(sample: $0.offset, input: $0.element)) }
    }
    let out = network.outputs[0], m = network.layers[out].shape.count
    var traces = [[Float]](), counters = [[LayerCounters]]()
    for s in inputs.indices {
        var tr = [Float](repeating: .nan, count: timesteps * m)
        var c = [LayerCounters](repeating: LayerCounters(), count: network.layers.count)
        for r in 0..<ranks {
            let res = perRank[r][s].value
            let range = res.outputs[0].range
            for t in 0..<timesteps { for j in 0..<range.count { tr[t * m + range.lower + j] = res.outputTraces[0][t][j] } }
            for i in c.indices { c[i] = c[i] + res.layers[i] }
        }
        traces.append(tr); counters.append(c)
    }
    return (traces, counters)
}

@Suite struct NIRTests {
    /// NIR files written by snnTorch, Norse and Sinabs (Tests/Fixtures/nir/make_nir_fixtures.py), imported with
    /// the writer's discretisation: the output layer's values at every step equal the library's own simulation
    /// (within the fixture's stated tolerance, 0 = bit for bit), on 1 and 2 ranks, with identical counters.
    @Test("Round trip: each library's NIR export matches its own simulation step for step", arguments: NIRReference.all)
    func roundTrip(_ name: String) throws {
        let ref = try NIRReference.load(name)
        let conv = try #require(NIRConvention(rawValue: ref.convention))
        let model = try NIRImporter.load(path: "\(NIRReference.folder)/\(name).nir", dt: ref.dt, convention: conv)
        let inputs = ref.inputs.indices.map { ref.engineInput($0) }
        let one = try outputTraces(model.network, ranks: 1, timesteps: ref.timesteps, inputs: inputs)
        let two = try outputTraces(model.network, ranks: 2, timesteps: ref.timesteps, inputs: inputs)
        for s in ref.outputs.indices {
            #expect(one.traces[s] == two.traces[s], "\(name) sample \(s): 1 and 2 ranks differ")
            #expect(one.counters[s] == two.counters[s], "\(name) sample \(s): counters differ between 1 and 2 ranks")
            let want = ref.engineOutput(s), got = one.traces[s]
            try #require(want.count == got.count, "\(name): \(got.count) output values, the reference has \(want.count)")
            var worst: Float = 0, at = 0
            for i in want.indices where abs(want[i] - got[i]) > worst { worst = abs(want[i] - got[i]); at = i }
            let m = want.count / ref.timesteps
            #expect(worst <= ref.tolerance, "\(name) sample \(s): step \(at / m + 1) neuron \(at % m): SpikeScale \(got[at]), \(ref.library) \(want[at]) (tolerance \(ref.tolerance): \(ref.toleranceReason))")
        }
    }

    static func tiny() -> NIRGraph {
        func f(_ v: [Double], _ shape: [Int]? = nil) -> H5Node { .numbers(shape: shape ?? [v.count], values: v) }
        return NIRGraph(nodes: [
            "input": NIRNode(type: "Input", params: ["shape": f([3])]),
            "fc": NIRNode(type: "Affine", params: ["weight": f([1, 0, 0.5, 0, 1, 0.25], [2, 3]), "bias": f([0, 0.125])]),
            "lif": NIRNode(type: "LIF", params: ["tau": f([0.25, 0.25]), "r": f([1, 1]), "v_leak": f([0, 0]), "v_threshold": f([1, 1])]),
            "output": NIRNode(type: "Output", params: ["shape": f([2])]),
        ], edges: [NIREdge("input", "fc"), NIREdge("fc", "lif"), NIREdge("lif", "output")])
    }

    static func tempFile(_ name: String) -> String {
        NSTemporaryDirectory() + "spikescale-nir-test-\(getpid())-\(name)"
    }

    @Test("A written graph reads back equal, nested graphs included; v_reset defaults to 0")
    func writeRead() throws {
        var g = Self.tiny()
        g.nodes["sub"] = NIRNode(type: "NIRGraph", graph: Self.tiny())
        let path = Self.tempFile("rw.nir")
        defer { unlink(path) }
        try NIRFile.write(g, to: path)
        let back = try NIRFile.read(path: path)
        #expect(back == g)
        // dt/τ = 0.5: snnTorch's step a = 1 − dt/τ, g = r·dt/τ; Norse's Euler step k = dt·(dt/τ).
        let net = try NIRImporter.importGraph(Self.tiny(), name: "tiny", dt: 0.125, convention: .snntorch, file: "tiny")
        let lif = try #require(net.network.layers.last?.neuron?.dynamics)
        #expect(lif.vReset == 0 && lif.reset == .subtractNext && !lif.euler)
        #expect(lif.memoryDecay == 0.5 && lif.inputGain == 0.5)
        let norse = try #require(NIRImporter.importGraph(Self.tiny(), name: "tiny", dt: 0.125, convention: .norse, file: "tiny").network.layers.last?.neuron?.dynamics)
        #expect(norse.vReset == 0 && norse.reset == .toValue && norse.euler && norse.memoryDecay == 0.0625)
    }

    /// Each kind of malformed NIR: one error naming the node (or file) and the field.
    @Test("Malformed NIR files: one clear error naming the node and field")
    func malformed() throws {
        func refused(_ g: NIRGraph, _ expect: [String]) throws {
            let path = Self.tempFile("bad.nir")
            defer { unlink(path) }
            try NIRFile.write(g, to: path)
            do {
                _ = try NIRImporter.load(path: path, dt: 1e-3, convention: .snntorch)
                Issue.record("accepted: \(expect)")
            } catch let e as SpikeError {
                for s in expect { #expect(e.message.contains(s), "\(e.message) does not say \(s)") }
            }
        }
        var g = Self.tiny(); g.nodes["lif"]!.params["tau"] = nil
        try refused(g, ["'lif'", "missing field 'tau'"])
        g = Self.tiny(); g.nodes["fc"]!.params["weight"] = .numbers(shape: [2, 4], values: [Double](repeating: 1, count: 8))
        try refused(g, ["'fc'", "'weight'", "shape [2, 4]"])
        g = Self.tiny(); g.nodes["lif"]!.params["v_threshold"] = .numbers(shape: [3], values: [1, 1, 1])
        try refused(g, ["'lif'", "'v_threshold'"])
        g = Self.tiny(); g.nodes["lif"]!.type = "Dropout"
        try refused(g, ["'lif'", "'Dropout'"])
        g = Self.tiny(); g.nodes["delay"] = NIRNode(type: "Delay", params: ["delay": .numbers(shape: [2], values: [1, 1])])
        g.edges = [NIREdge("input", "fc"), NIREdge("fc", "lif"), NIREdge("lif", "delay"), NIREdge("delay", "lif"), NIREdge("lif", "output")]
        try refused(g, ["cycle", "'delay'"])
        // Not HDF5 at all, and an HDF5 file cut short.
        let good = Self.tempFile("good.nir")
        defer { unlink(good) }
        try NIRFile.write(Self.tiny(), to: good)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        for (label, b) in [("text.nir", Array("not a nir file".utf8)), ("cut.nir", Array(bytes.prefix(bytes.count / 2)))] {
            #expect(throws: SpikeError.self) { _ = try NIRFile.read(bytes: b, label: label) }
            do { _ = try NIRFile.read(bytes: b, label: label) } catch let e as SpikeError { #expect(e.message.hasPrefix(label), "\(e.message)") }
        }
    }

    /// Seeded byte flips over a real library's NIR file: every mutant is read or refused with a SpikeError.
    @Test("Byte-flipped NIR files are accepted or refused, never a crash")
    func byteFlips() throws {
        let path = NIRReference.folder + "/snntorch-lif-mlp.nir"
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var rng = SplitMix64(seed: 14)
        var refused = 0
        for _ in 0..<300 {
            var b = bytes
            for _ in 0..<1 + Int(rng.next() % 4) {
                let i = Int(rng.next() % UInt64(b.count))
                b[i] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
            }
            do {
                let g = try NIRFile.read(bytes: b, label: "flip.nir")
                _ = try NIRImporter.importGraph(g, name: "flip", dt: 1e-4, convention: .snntorch, file: "flip.nir")
            } catch let e as SpikeError {
                #expect(e.message.contains("flip.nir"), "\(e.message)")
                refused += 1
            }
        }
        #expect(refused > 0)
    }
}

extension NIRTests {
    /// Malformed NIR files: seeded byte flips and cuts of every library's fixture, and the inputs libFuzzer kept
    /// (Tests/Fuzz/Crashes/nir), each read (or refused) with the HDF5 identifiers open counted before and after.
    /// Every identifier the reader opens is closed on every path: the counts come back to where they were.
    @Test("Reading or refusing malformed NIR files leaves no HDF5 identifier open")
    func noIdentifierLeftOpen() throws {
        var inputs: [(String, [UInt8])] = []
        let fixtures = ((try? FileManager.default.contentsOfDirectory(atPath: NIRReference.folder)) ?? []).filter { $0.hasSuffix(".nir") }.sorted()
        try #require(fixtures.count >= 5)
        var rng = SplitMix64(seed: 1415)
        for f in fixtures {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(NIRReference.folder)/\(f)")))
            for k in 0..<60 {
                var b = bytes
                for _ in 0..<1 + Int(rng.next() % 6) {
                    let i = Int(rng.next() % UInt64(b.count))
                    b[i] ^= UInt8(truncatingIfNeeded: 1 + rng.next() % 255)
                }
                inputs.append(("\(f) flip \(k)", b))
            }
            for frac in [0.1, 0.3, 0.5, 0.7, 0.9, 0.99] { inputs.append(("\(f) cut at \(frac)", Array(bytes.prefix(Int(Double(bytes.count) * frac))))) }
        }
        let kept = FuzzCorpusTests.root + "/Crashes/nir"
        for f in FuzzCorpusTests.files(kept) { inputs.append((f, try [UInt8](Data(contentsOf: URL(fileURLWithPath: f))))) }
        _ = try NIRFile.read(path: "\(NIRReference.folder)/\(fixtures[0])")   // HDF5's own start-up identifiers exist before the count
        let start = HDF5Tree.openIdentifiers()
        var refused = 0
        for (name, b) in inputs {
            let before = HDF5Tree.openIdentifiers()
            var outcome = "accepted"
            do {
                let g = try NIRFile.read(bytes: b, label: "bad.nir")
                _ = try NIRImporter.importGraph(g, name: "bad", dt: 1e-3, convention: .norse, file: "bad.nir")
            } catch let e as SpikeError {
                #expect(e.message.hasPrefix("bad.nir"), "\(name): \(e.message)")
                refused += 1
                outcome = e.message
            }
            let after = HDF5Tree.openIdentifiers()
            #expect(after == before, "\(name) (\(outcome)): HDF5 identifiers open before \(before.sorted { $0.key < $1.key }), after \(after.sorted { $0.key < $1.key })")
            if after != before, let dump = ProcessInfo.processInfo.environment["NIR_LEAK_DUMP"] {
                try Data(b).write(to: URL(fileURLWithPath: "\(dump)/\(name.replacingOccurrences(of: " ", with: "-"))"))
            }
        }
        #expect(HDF5Tree.openIdentifiers() == start)
        #expect(refused > inputs.count / 4, "only \(refused) of \(inputs.count) malformed inputs refused")
        print("NIR identifier check: \(inputs.count) malformed inputs, \(refused) refused, HDF5 identifiers open \(start) before and after")
    }
}

/// SpikeScale → NIR → SpikeScale: the model document and every tensor come back bit for bit.
@Suite struct NIRExportTests {
    static func roundTrip(_ network: Network, _ label: String) throws -> Network {
        let path = NIRTests.tempFile("\(label).nir")
        defer { unlink(path) }
        try NIRExporter.write(network, to: path)
        return try NIRImporter.load(path: path, dt: 1, convention: .snntorch).network
    }

    static func expectIdentical(_ a: Network, _ b: Network) throws {
        let (ja, ba) = try ModelFile.encode(a, weightsFile: "x.bin")
        let (jb, bb) = try ModelFile.encode(b, weightsFile: "x.bin")
        #expect(String(decoding: ja, as: UTF8.self) == String(decoding: jb, as: UTF8.self))
        #expect(ba.count == bb.count && zip(ba, bb).allSatisfy { $0.bitPattern == $1.bitPattern }, "tensors differ")
    }

    @Test("The converted MNIST CNN fixture through NIR is bit-identical, and the file holds standard nodes")
    func mnistCNN() throws {
        var o = ConversionOptions()
        o.spikingOutputs = true
        let (_, snn, _, _) = try convertedMNISTFixture(o, calibration: 20)
        #expect(snn.layers.contains { $0.neuron?.memory == true }, "the ReLU layers' IF neurons with memory go through NIR too")
        try Self.expectIdentical(snn, try Self.roundTrip(snn, "mnist-cnn"))
        let path = NIRTests.tempFile("mnist-std.nir")
        defer { unlink(path) }
        try NIRExporter.write(snn, to: path)
        let types = Set(try NIRFile.read(path: path).nodes.values.map(\.type))
        #expect(types.isSuperset(of: ["Input", "Conv2d", "IF", "Affine", "Output"]), "\(types)")
    }

    @Test("The zoo's branchy network (residual add, concat, channel slice, upsample, signed IBT) through NIR is bit-identical")
    func branchy() throws {
        let n = try ModelSource.zoo("branchy", seed: 5, targetRate: 0.1)
        #expect(Set(n.layers.map(\.op.name)).isSuperset(of: ["add", "concat", "slice", "upsample"]))
        try Self.expectIdentical(n, try Self.roundTrip(n, "branchy"))
    }

    @Test("A converted Yolo-Fastest (IBT, burst, max-pool gate, upsample, concat, residual add) through NIR is bit-identical", .tags(.slow))
    func yoloFastest() throws {
        let dir = TestPaths.sharedData + "/yolo-fastest-1.1-coco"
        let m = try DarknetImporter.load(cfg: "\(dir)/yolo-fastest-1.1.cfg", weights: "\(dir)/yolo-fastest-1.1.weights")
        var rng = SplitMix64(seed: 7)
        let image = (0..<m.network.inputShape.count).map { _ in Float(rng.next() % 256) / 255 }
        var o = ConversionOptions()
        o.burst = 4
        let (snn, _) = try Converter.convert(m.network, calibration: [image], calibrationData: "seeded", source: "yolo-fastest-1.1", options: o)
        let ops = Set(snn.layers.map(\.op.name))
        #expect(ops.isSuperset(of: ["maxpool", "upsample", "concat", "add"]), "\(ops)")
        #expect(snn.layers.contains { $0.neuron?.kind == .signedIBT && $0.neuron!.burst == 4 })
        try Self.expectIdentical(snn, try Self.roundTrip(snn, "yolo-fastest"))
    }
}
