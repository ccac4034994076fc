import Foundation
import Testing
import TestSupport
import SpikeANN
import SpikeCore
import SpikeImport

// Darknet importer: the two real Yolo-Fastest models, Debian's Tiny-YOLO cfgs, clear errors on bad
// input, and a bounded fuzz of the parsers.

private let yoloFastestDir = TestPaths.sharedData + "/yolo-fastest-1.1-coco"
private let darknetCfgDir = "/usr/share/darknet/cfg"

/// The message of the error `body` throws, or nil if it throws nothing.
private func darknetError(_ body: () throws -> Void) -> String? {
    do { try body(); return nil } catch let e as SpikeError { return e.message } catch { return "\(error)" }
}

/// Deterministic generator for the seeded tests (SplitMix64).
private typealias DarknetRNG = SplitMix

/// Little-endian bytes of a Darknet weights file: header (0.2.5, seen) then `floats`.
private func weightsFile(_ floats: [Float], major: Int32 = 0, minor: Int32 = 2, revision: Int32 = 5) -> [UInt8] {
    var b: [UInt8] = []
    for v in [major, minor, revision] { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    if Int(major) * 10 + Int(minor) >= 2 { withUnsafeBytes(of: Int64(1234).littleEndian) { b += $0 } }
    else { withUnsafeBytes(of: Int32(1234).littleEndian) { b += $0 } }
    for f in floats { withUnsafeBytes(of: f.bitPattern.littleEndian) { b += $0 } }
    return b
}

@Suite("Darknet importer")
struct DarknetTests {
    @Test("Yolo-Fastest 1.1 and XL import with their weights", arguments: ["yolo-fastest-1.1", "yolo-fastest-1.1-xl"])
    func yoloFastestImports(model: String) throws {
        let cfg = "\(yoloFastestDir)/\(model).cfg", weights = "\(yoloFastestDir)/\(model).weights"
        let m = try DarknetImporter.load(cfg: cfg, weights: weights)
        let n = m.network
        #expect(n.inputShape == Shape(320, 320, 3))
        // 1 input + 84 conv + 18 shortcut + 3 maxpool + 2 concat routes + 1 upsample; dropouts, yolo and
        // single-layer routes add no layer.
        #expect(n.layers.count == 109)
        #expect(m.heads.count == 2)
        #expect(m.heads.map { n.layers[$0.layer].shape } == [Shape(10, 10, 255), Shape(20, 20, 255)])
        #expect(m.heads.allSatisfy { $0.classes == 80 && $0.mask.count == 3 && $0.anchors.count == 6 })
        #expect(m.heads.map(\.mask) == [[3, 4, 5], [0, 1, 2]])
        #expect(n.outputs == m.heads.map(\.layer))
        // The file is consumed exactly (load throws otherwise): its floats are the parameters plus the
        // batch-norm triples folded away.
        let w = try DarknetWeights(contentsOf: weights)
        #expect(w.headerSize == 20 && w.strayBytes == 0)
        #expect(w.values.count == n.parameterCount + bnExtra(n))
        #expect(m.notes.contains { $0.contains("all consumed") })
        #expect(m.notes.filter { $0.hasPrefix("dropout") }.count == 18)
        // Names carry Darknet's layer indices; the heads' convolutions are accumulators.
        #expect(n.layers[1].name == "conv0")
        for h in m.heads {
            #expect(n.layers[h.layer].neuron == .accumulator)
            #expect(n.layers[h.layer].name.hasPrefix("conv"))
        }
        #expect(n.index(of: "route114") != nil && n.index(of: "route124") != nil)  // SPP and FPN concats
        #expect(n.index(of: "route112") == nil && n.index(of: "route122") == nil)  // single-layer routes are references
    }

    /// Batch-norm floats (scales, means, variances) of every conv that has them: all but the head convs.
    private func bnExtra(_ n: Network) -> Int {
        n.layers.reduce(0) { acc, l in
            guard case .conv(_, let outC, _) = l.op, l.neuron != .accumulator else { return acc }
            return acc + 3 * outC
        }
    }

    @Test("Yolo-Fastest 1.1 ANN reference gives finite head outputs on a seeded input")
    func yoloFastestForward() throws {
        let m = try DarknetImporter.load(cfg: "\(yoloFastestDir)/yolo-fastest-1.1.cfg",
                                         weights: "\(yoloFastestDir)/yolo-fastest-1.1.weights")
        var rng = DarknetRNG(state: 42)
        let input = (0..<(320 * 320 * 3)).map { _ in rng.unit() }
        let outs = try DenseForward(m.network).run(input)
        for h in m.heads {
            let o = outs[h.layer]
            #expect(o.count == m.network.layers[h.layer].shape.count)
            #expect(o.allSatisfy { $0.isFinite })
            #expect(o.contains { $0 != 0 })
        }
        #expect(outs.allSatisfy { $0.allSatisfy { $0.isFinite } })
    }

    @Test("BN folding and the weight transpose match Darknet's layout")
    func foldAndTranspose() throws {
        let cfg = """
        [net]
        width=5
        height=4
        channels=2
        [convolutional]
        batch_normalize=1
        filters=3
        size=3
        stride=1
        pad=1
        activation=leaky
        [convolutional]
        filters=2
        size=1
        activation=linear
        """
        let inC = 2, f = 3, k = 3
        let bias: [Float] = [0.5, -1, 2], scale: [Float] = [2, 0.5, 1], mean: [Float] = [1, 0, -2], variance: [Float] = [4, 1, 0.25]
        let w0 = (0..<(f * inC * k * k)).map { Float($0) * 0.01 - 0.2 }
        let b1: [Float] = [0.25, -0.25], w1 = (0..<(2 * 3)).map { Float($0) - 2.5 }
        let floats = bias + scale + mean + variance + w0 + b1 + w1
        let m = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "small.cfg"),
                                          weights: DarknetWeights(bytes: weightsFile(floats), file: "small.weights"))
        let conv = m.network.layers[1]
        #expect(conv.name == "conv0" && conv.shape == Shape(4, 5, 3) && conv.neuron == .ibt(alpha: 0.1))
        for o in 0..<f {
            let s = Double(scale[o]) / (Double(variance[o]).squareRoot() + 0.000001)   // Darknet normalize_cpu
            #expect(abs(Double(conv.bias[o]) - (Double(bias[o]) - s * Double(mean[o]))) < 1e-5)
            for c in 0..<inC { for ky in 0..<k { for kx in 0..<k {
                let darknet = Double(w0[((o * inC + c) * k + ky) * k + kx]) * s
                #expect(abs(Double(conv.weights[((ky * k + kx) * inC + c) * f + o]) - darknet) < 1e-5)
            } } }
        }
        let last = m.network.layers[2]
        #expect(last.bias == b1 && last.neuron == .ibt(alpha: 1))
        #expect(last.weights == [w1[0], w1[3], w1[1], w1[4], w1[2], w1[5]])  // [out][in] → [in][out]
        #expect(m.network.outputs == [2])
        // One float too many, and one float too few: both are errors naming the weights file.
        let extra = darknetError {
            _ = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "small.cfg"),
                                          weights: DarknetWeights(bytes: weightsFile(floats + [1]), file: "small.weights"))
        }
        #expect(extra?.contains("small.weights: 4 bytes (1 floats) left after the last layer of small.cfg") == true, "\(extra ?? "no error")")
        let short = darknetError {
            _ = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "small.cfg"),
                                          weights: DarknetWeights(bytes: weightsFile(Array(floats.dropLast())), file: "small.weights"))
        }
        #expect(short?.contains("layer conv1 (small.cfg:12) needs 6 more floats") == true, "\(short ?? "no error")")
        #expect(short?.contains("only 5 are left") == true)
    }

    @Test("route groups, shortcut, upsample, logistic and Darknet's max-pool padding")
    func smallGraph() throws {
        let cfg = """
        [net]
        width=8
        height=8
        channels=4
        [maxpool]
        size=2
        stride=1
        [route]
        layers=-1
        groups=2
        group_id=1
        [convolutional]
        filters=4
        size=1
        activation=relu
        [shortcut]
        from=-3
        activation=leaky
        [dropout]
        [maxpool]
        size=2
        stride=2
        [upsample]
        stride=2
        [route]
        layers=-1,3
        [convolutional]
        filters=3
        size=1
        activation=logistic
        [avgpool]
        """
        let m = try DarknetImporter.load(cfg: try {
            let d = URL(fileURLWithPath: TestPaths.tempDir("darknet-tests")); let p = d.appendingPathComponent("small.cfg").path
            try cfg.write(toFile: p, atomically: true, encoding: .utf8); return p
        }(), weights: nil)
        let n = m.network
        func layer(_ name: String) throws -> Layer { try #require(n.index(of: name).map { n.layers[$0] }, "no layer \(name)") }
        let mp = try layer("maxpool0")
        #expect(mp.shape == Shape(8, 8, 4))  // (8 + 1 - 2)/1 + 1
        if case .maxPool(let w) = mp.op { #expect(w.padTop == 0 && w.padBottom == 1 && w.padLeft == 0 && w.padRight == 1) }
        #expect(try layer("route1").op == .channelSlice(start: 2, count: 2))
        #expect(try layer("conv2").neuron == .integrateAndFire())
        let sc = try layer("shortcut3")
        #expect(sc.op == .add && sc.inputs == [n.index(of: "conv2")!, n.index(of: "maxpool0")!] && sc.neuron == .ibt(alpha: 0.1))
        #expect(try layer("maxpool5").shape == Shape(4, 4, 4))  // (8 + 1 - 2)/2 + 1: Darknet pads bottom/right
        #expect(try layer("upsample6").shape == Shape(8, 8, 4))
        #expect(try layer("route7").op == .concat && layer("route7").shape == Shape(8, 8, 8))
        #expect(try layer("conv8").neuron == .accumulator && layer("conv8_logistic").op == .activation(.sigmoid))
        #expect(try layer("avgpool9").op == .globalAvgPool && layer("avgpool9").shape == Shape(1, 1, 3))
        #expect(n.outputs == [n.layers.count - 1])
        #expect(m.notes.contains { $0.hasPrefix("conv8: logistic") } && m.notes.contains("dropout4: removed (identity at inference)"))
        // With a 7x7 input, max-pool 5 gives 4x4, upsampled to 8x8, which the 7x7 shortcut cannot be concatenated with.
        let odd = cfg.replacingOccurrences(of: "width=8\nheight=8", with: "width=7\nheight=7")
        let msg = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: odd, file: "s.cfg"), weights: nil) }
        #expect(msg?.hasPrefix("s.cfg:25 [route] #7: layer 'route7': concat inputs must agree in height and width") == true, "\(msg ?? "no error")")
    }

    @Test("Debian's yolov3-tiny and yolov2-tiny cfgs import (topology only)")
    func tinyYOLO() throws {
        let v3 = darknetCfgDir + "/yolov3-tiny.cfg", v2 = darknetCfgDir + "/yolov2-tiny.cfg"
        guard FileManager.default.fileExists(atPath: v3), FileManager.default.fileExists(atPath: v2) else {
            Issue.record("\(v3) or \(v2) is missing: run `apt-get install darknet` (Launch/deps.sh installs it)")
            return
        }
        let m3 = try DarknetImporter.load(cfg: v3, weights: nil)
        let n3 = m3.network
        #expect(n3.inputShape == Shape(416, 416, 3))
        #expect(m3.heads.count == 2)
        #expect(m3.heads.map { n3.layers[$0.layer].shape } == [Shape(13, 13, 255), Shape(26, 26, 255)])
        #expect(m3.heads.map { n3.layers[$0.layer].name } == ["conv15", "conv22"])
        #expect(n3.outputs == m3.heads.map(\.layer))
        // The stride-1 max-pool keeps 13x13 (Darknet pads one row/column at the bottom/right).
        let mp = try #require(n3.index(of: "maxpool11").map { n3.layers[$0] })
        #expect(n3.layers[mp.inputs[0]].shape == Shape(13, 13, 512) && mp.shape == Shape(13, 13, 512))
        #expect(try #require(n3.index(of: "route20").map { n3.layers[$0].shape }) == Shape(26, 26, 384))
        #expect(n3.layers.allSatisfy { $0.weights.allSatisfy { $0 == 0 } })

        let m2 = try DarknetImporter.load(cfg: v2, weights: nil)
        let n2 = m2.network
        #expect(n2.inputShape == Shape(416, 416, 3))
        #expect(m2.heads.isEmpty)
        #expect(n2.outputs.map { n2.layers[$0].shape } == [Shape(13, 13, 425)])
        #expect(n2.layers[n2.outputs[0]].neuron == .accumulator)
        #expect(try #require(n2.index(of: "maxpool11").map { n2.layers[$0].shape }) == Shape(13, 13, 512))
    }

    @Test("a .weights file shorter than the cfg needs is one clear error")
    func truncatedWeights() throws {
        let dir = URL(fileURLWithPath: TestPaths.tempDir("darknet-tests"))
        let src = "\(yoloFastestDir)/yolo-fastest-1.1.weights"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: src))
        let cut = dir.appendingPathComponent("yolo-fastest-1.1.weights")
        try bytes.prefix(bytes.count / 2).write(to: cut)
        let msg = darknetError { _ = try DarknetImporter.load(cfg: "\(yoloFastestDir)/yolo-fastest-1.1.cfg", weights: cut.path) }
        let m = try #require(msg)
        #expect(m.hasPrefix("yolo-fastest-1.1.weights: too short for the cfg: layer conv"), "\(m)")
        #expect(m.contains("(yolo-fastest-1.1.cfg:") && m.contains("more floats") && m.contains("are left"), "\(m)")
        // Trailing bytes are an error too (the weights do not match the cfg).
        let long = dir.appendingPathComponent("long.weights")
        try (bytes + Data([0, 0, 0, 0, 0, 0])).write(to: long)
        let m2 = try #require(darknetError { _ = try DarknetImporter.load(cfg: "\(yoloFastestDir)/yolo-fastest-1.1.cfg", weights: long.path) })
        #expect(m2.contains("long.weights: 6 bytes (1 floats + 2 stray bytes) left after the last layer of yolo-fastest-1.1.cfg"), "\(m2)")
        // A header cut short.
        let m3 = try #require(darknetError { _ = try DarknetWeights(bytes: Array(bytes.prefix(14)), file: "h.weights") })
        #expect(m3.hasPrefix("h.weights: 14 bytes, too short for the 20-byte header"), "\(m3)")
    }

    @Test("an unknown section is one error naming it and its line")
    func unknownSection() throws {
        let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n\n[convolutional]\nfilters=4\nactivation=leaky\n\n[frobnicate]\nsize=2\n"
        let msg = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "odd.cfg"), weights: nil) }
        #expect(msg == "odd.cfg:10 [frobnicate] #1: unknown section [frobnicate]")
        let dir = URL(fileURLWithPath: TestPaths.tempDir("darknet-tests")), p = dir.appendingPathComponent("odd2.cfg").path
        try cfg.replacingOccurrences(of: "frobnicate", with: "reorg").write(toFile: p, atomically: true, encoding: .utf8)
        let msg2 = darknetError { _ = try DarknetImporter.load(cfg: p, weights: nil) }
        #expect(msg2?.hasPrefix("odd2.cfg:10 [reorg] #1: Darknet layer type [reorg] is not supported") == true, "\(msg2 ?? "no error")")
    }

    @Test("a route to a missing layer is one error naming the line")
    func routeToMissingLayer() throws {
        let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n[convolutional]\nfilters=4\nactivation=leaky\n[route]\nlayers = -1, -5\n"
        let msg = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "r.cfg"), weights: nil) }
        #expect(msg == "r.cfg:9 [route] #1: key 'layers' refers to layer -5 (= -4), which is not an earlier layer (this is layer #1; layers are numbered from 0 after [net])")
        let fwd = cfg.replacingOccurrences(of: "-1, -5", with: "7")
        let msg2 = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: fwd, file: "r.cfg"), weights: nil) }
        #expect(msg2?.hasPrefix("r.cfg:9 [route] #1: key 'layers' refers to layer 7, which is not an earlier layer") == true, "\(msg2 ?? "no error")")
    }

    @Test("a non-integer value is one error naming file, line, section and key")
    func nonInteger() throws {
        let cfg = "[net]\nwidth=8\nheight=8\nchannels=3\n# comment\n; another\n[convolutional]\nfilters=4\nsize = x\nactivation=leaky\n"
        let msg = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: cfg, file: "yolo-fastest.cfg"), weights: nil) }
        #expect(msg == "yolo-fastest.cfg:9 [convolutional] #0: key 'size' is 'x', expected an integer")
        let net = "[net]\nwidth=8.5\nheight=8\nchannels=3\n"
        let msg2 = darknetError { _ = try DarknetImporter.build(config: DarknetConfig(text: net, file: "n.cfg"), weights: nil) }
        #expect(msg2 == "n.cfg:2 [net]: key 'width' is '8.5', expected an integer")
        let junk = darknetError { _ = try DarknetConfig(text: "[net]\nwidth\n", file: "j.cfg") }
        #expect(junk == "j.cfg:2: expected 'key=value' or '[section]', got 'width'")
    }

    @Test("fuzz: random and mutated cfg and weights bytes never crash the parsers", .tags(.slow))
    func fuzz() throws {
        let cfgPath = "\(yoloFastestDir)/yolo-fastest-1.1.cfg"
        let cfgBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: cfgPath)))
        let wBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: "\(yoloFastestDir)/yolo-fastest-1.1.weights")))
        let realCfg = try DarknetConfig(bytes: cfgBytes, file: "yolo-fastest-1.1.cfg")
        var rng = DarknetRNG(state: 0xDA4C_0001)
        let alphabet = Array("[]=#;,-.0123456789 \n\tabcdefghijklmnopqrstuvwxyz_".utf8) + [0, 0xFF, 0xC3, 0x80, 0x0D]
        var imported = 0, failed = 0

        func attempt(_ body: () throws -> Void) {
            do { try body(); imported += 1 } catch { failed += 1 }
        }
        // 1. Random bytes (half of them from a cfg-like alphabet) into the cfg parser and the importer.
        for _ in 0..<300 {
            let n = rng.int(400)
            let bytes: [UInt8] = (0..<n).map { _ in rng.int(2) == 0 ? UInt8(truncatingIfNeeded: rng.next()) : alphabet[rng.int(alphabet.count)] }
            attempt { _ = try DarknetImporter.build(config: DarknetConfig(bytes: [UInt8]("[net]\n".utf8) + bytes, file: "r.cfg"), weights: nil) }
            attempt { _ = try DarknetConfig(bytes: bytes, file: "r.cfg") }
        }
        // 2. The real cfg with a few bytes replaced, inserted or deleted.
        for _ in 0..<300 {
            var b = cfgBytes
            for _ in 0..<(1 + rng.int(4)) {
                let at = rng.int(b.count)
                switch rng.int(3) {
                case 0: b[at] = alphabet[rng.int(alphabet.count)]
                case 1: b.insert(alphabet[rng.int(alphabet.count)], at: at)
                default: b.remove(at: at)
                }
            }
            attempt { _ = try DarknetImporter.build(config: DarknetConfig(bytes: b, file: "m.cfg"), weights: nil) }
        }
        // 3. Weights: mutated headers, truncations and random tails, against the real cfg.
        for i in 0..<300 {
            var b = Array(wBytes.prefix(i % 3 == 0 ? wBytes.count : rng.int(wBytes.count / 8)))
            for _ in 0..<rng.int(4) where !b.isEmpty { b[rng.int(min(b.count, 24))] = UInt8(truncatingIfNeeded: rng.next()) }
            if i % 5 == 0 { b += (0..<rng.int(9)).map { _ in UInt8(truncatingIfNeeded: rng.next()) } }
            attempt { _ = try DarknetImporter.build(config: realCfg, weights: DarknetWeights(bytes: b, file: "w.weights")) }
        }
        // Random headers alone.
        for _ in 0..<300 {
            let b = (0..<rng.int(32)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            attempt { _ = try DarknetWeights(bytes: b, file: "h.weights") }
        }
        #expect(imported + failed == 1500)
        #expect(failed > 0)
    }
}

/// Compares the ANN reference with Darknet itself on yolo-fastest-1.1's raw head tensors. Needs the
/// dump written by `Benchmarks/reference/darknet_heads.sh` (Debian's libdarknet); runs only when
/// `DARKNET_REFERENCE_DIR` names that dump's folder.
@Test("Darknet reference: yolo-fastest-1.1 head outputs match libdarknet", .tags(.slow))
func darknetReferenceHeads() throws {
    let dir = try ProcessInfo.processInfo.environment["DARKNET_REFERENCE_DIR"] ?? dumpDarknetReference()
    func floats(_ name: String) throws -> [Float] {
        let d = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))
        return d.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
    func hwc(_ chw: [Float], _ s: Shape) -> [Float] {
        var o = [Float](repeating: 0, count: s.count)
        for c in 0..<s.channels { for y in 0..<s.height { for x in 0..<s.width {
            o[(y * s.width + x) * s.channels + c] = chw[(c * s.height + y) * s.width + x]
        } } }
        return o
    }
    let m = try DarknetImporter.load(cfg: "\(yoloFastestDir)/yolo-fastest-1.1.cfg",
                                     weights: "\(yoloFastestDir)/yolo-fastest-1.1.weights")
    let input = hwc(try floats("input_chw.f32"), m.network.inputShape)
    let outs = try DenseForward(m.network).run(input)
    for (k, h) in m.heads.enumerated() {
        let s = m.network.layers[h.layer].shape
        let ref = hwc(try floats("head\(k)_chw.f32"), s)
        let ours = outs[h.layer]
        var maxDiff: Float = 0, maxRef: Float = 0
        for i in ref.indices { maxDiff = max(maxDiff, abs(ref[i] - ours[i])); maxRef = max(maxRef, abs(ref[i])) }
        print("head \(k) (\(s)): max |Darknet - DenseForward| = \(maxDiff), max |Darknet| = \(maxRef)")
        #expect(maxDiff <= 2e-5 * max(1, maxRef), "head \(k): max abs difference \(maxDiff)")
    }
}

/// Builds Benchmarks/reference/NAME.c against Debian's libdarknet and returns the executable.
/// Fails (not skips) if darknet or gcc is missing.
func buildDarknetTool(_ name: String) throws -> String {
    guard FileManager.default.fileExists(atPath: "/usr/lib/darknet/include/darknet.h") || FileManager.default.fileExists(atPath: "/usr/include/darknet.h") else {
        Issue.record("libdarknet headers not found: apt-get install darknet (Launch/deps.sh does)")
        throw SpikeError("darknet missing")
    }
    let exe = TestPaths.tempDir(name) + "/" + name
    try Command.output(["gcc", "-O2", "-I/usr/lib/darknet/include", TestPaths.root + "/Benchmarks/reference/\(name).c", "-L/usr/lib/darknet",
                        "-ldarknet", "-Wl,-rpath,/usr/lib/darknet", "-o", exe])
    return exe
}

/// Runs Benchmarks/reference/darknet_heads.c on Darknet's dog.jpg, returning the dump folder.
func dumpDarknetReference() throws -> String {
    let exe = try buildDarknetTool("darknet_heads")
    let out = (exe as NSString).deletingLastPathComponent
    let data = TestPaths.sharedData + "/yolo-fastest-1.1-coco"
    try Command.output([exe, data + "/yolo-fastest-1.1.cfg", data + "/yolo-fastest-1.1.weights", "/usr/share/darknet/data/dog.jpg", out])
    return out
}
