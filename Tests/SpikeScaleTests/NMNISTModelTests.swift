import Foundation
import SpikeANN
import SpikeCore
import SpikeData
import SpikeRun
import Testing
import TestSupport

/// Deng et al.'s N-MNIST ANN baselines (model 4 on the unrolled binary image, model 5 on the
/// intensity image) trained by Benchmarks/nmnist/train_models45.py, and the NMNISTSource that feeds
/// N-MNIST to SpikeScale. The Python side recorded input checksums, onnxruntime logits and test100
/// accuracies in Tests/Fixtures/nmnist-fixtures.json.
@Suite struct NMNISTModelTests {
    static let folder = TestPaths.sharedData + "/nmnist-small"

    static func meta() throws -> [String: Any] {
        let d = try Data(contentsOf: URL(fileURLWithPath: TestPaths.fixtures + "/nmnist-fixtures.json"))
        return try #require(try JSONSerialization.jsonObject(with: d) as? [String: Any])
    }

    /// bin width (µs) and bins recorded by the Python script.
    static func binning(_ meta: [String: Any]) throws -> (binUs: Int, bins: Int) {
        let r = try #require(meta["representation"] as? [String: Any])
        return (try #require(r["bin_us"] as? Int), try #require(r["bins"] as? Int))
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as SpikeError { return e.message } catch { return "unexpected error type: \(error)" }
        return nil
    }

    /// Sum, sum of squares, and the layout-sensitive sum of `((i mod 1000) + 1) * a[i]` (as the
    /// Python script computes them, in Double).
    static func sums(_ a: [Float]) -> (sum: Double, squares: Double, weighted: Double) {
        var r = (sum: 0.0, squares: 0.0, weighted: 0.0)
        for (i, v) in a.enumerated() {
            let d = Double(v)
            r.sum += d; r.squares += d * d; r.weighted += Double(i % 1000 + 1) * d
        }
        return r
    }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-6 * max(1, abs(b)) }

    // MARK: representations equal the Python ones

    @Test("Swift's intensity, unrolled binary and frame inputs of test samples 0...2 have the Python checksums (sum, squares, weighted)")
    func representationsMatchPython() throws {
        let meta = try Self.meta()
        let (binUs, bins) = try Self.binning(meta)
        #expect(binUs == 10_000 && bins == 30)
        let checks = try #require(meta["checks"] as? [[String: Any]])
        #expect(checks.count == 3)
        let split = try NMNISTSplit(folder: Self.folder, list: "test100.txt")
        let reps: [(String, EventRepresentation)] = [
            ("intensity", .intensity),
            ("binary", .binary(binMicroseconds: binUs, bins: bins)),
            ("frames", .frames(binMicroseconds: binUs, timesteps: bins)),
        ]
        let sources = try reps.map { name, r in
            (name, try NMNISTSource(folder: Self.folder, split: "test100", representation: r, expecting: r.shape))
        }
        for c in checks {
            let i = try #require(c["index"] as? Int)
            let events = try split.events(i)
            #expect(split.samples[i].id == c["sample"] as? Int)
            #expect(events.count == c["events"] as? Int)
            for (name, source) in sources {
                let want = try #require(c[name] as? [String: Any])
                let (input, label) = try source.sample(i)
                #expect(label == c["label"] as? Int)
                #expect(input.count == want["count"] as? Int, "\(name)")
                let got = Self.sums(input)
                let sum = try #require(want["sum"] as? Double), sq = try #require(want["sum_squares"] as? Double)
                #expect(Self.close(got.sum, sum), "sample \(i) \(name): sum \(got.sum) vs Python \(sum)")
                #expect(Self.close(got.squares, sq), "sample \(i) \(name): sum of squares \(got.squares) vs Python \(sq)")
                let weighted = try #require(want["weighted_sum"] as? Double)
                #expect(Self.close(got.weighted, weighted), "sample \(i) \(name): weighted sum \(got.weighted) vs Python \(weighted)")
                #expect(got.sum > 0, "\(name) of sample \(i) is not empty")
            }
        }
    }

    // MARK: imported models agree with onnxruntime

    @Test("The imported models 4 and 5 give onnxruntime's logits (max |diff| <= 1e-4) and its test100 accuracy")
    func modelsMatchOnnxRuntime() throws {
        let meta = try Self.meta()
        let (binUs, bins) = try Self.binning(meta)
        let models = try #require(meta["models"] as? [String: [String: Any]])
        #expect(models["nmnist-model4-cnn"] != nil && models["nmnist-model5-cnn"] != nil)
        for name in models.keys.sorted() {
            let m = models[name]!
            let representation: EventRepresentation = (m["representation"] as? String) == "binary"
                ? .binary(binMicroseconds: binUs, bins: bins) : .intensity
            let network = try ANNSource.load(TestPaths.fixtures + "/\(name).onnx").network
            #expect(network.inputShape == representation.shape, "\(name): \(network.inputShape)")
            #expect(network.parameterCount == m["parameters"] as? Int, "\(name): \(network.parameterCount) parameters")
            let source = try NMNISTSource(folder: Self.folder, split: "test100", representation: representation,
                                          expecting: network.inputShape)
            #expect(source.count == 100)
            let forward = try DenseForward(network)
            let reference = try #require(m["logits"] as? [[Double]])
            let predicted = try #require(m["test_predicted"] as? [Int])
            #expect(reference.count == 3 && predicted.count == 100)
            var worst: Float = 0, correct = 0, disagreements = [Int]()
            for i in 0..<source.count {
                let (input, label) = try source.sample(i)
                let logits = forward.predict(input)[0]
                #expect(logits.count == 10)
                if i < reference.count {
                    for k in 0..<10 { worst = max(worst, abs(logits[k] - Float(reference[i][k]))) }
                }
                let p = logits.indices.max { logits[$0] < logits[$1] }!
                if p == label { correct += 1 }
                if p != predicted[i] { disagreements.append(i) }
            }
            let accuracy = Double(correct) / Double(source.count)
            let recorded = try #require(m["test_accuracy"] as? Double)
            print("\(name): test100 accuracy \(accuracy) (onnxruntime \(recorded)), max |logit diff| on 3 samples \(worst)")
            #expect(worst <= 1e-4, "\(name): \(worst)")
            #expect(abs(accuracy - recorded) < 1e-9, "\(name): \(accuracy) vs \(recorded)")
            #expect(disagreements.isEmpty, "\(name): predictions differ from onnxruntime's on samples \(disagreements)")
        }
    }

    // MARK: NMNISTSource

    @Test("Frames: timesteps * 2312 values per sample, frame t equals EventBinning.frames' frame t")
    func framesInput() throws {
        let r = EventRepresentation.frames(binMicroseconds: 10_000, timesteps: 30)
        #expect(r.shape == Shape(34, 34, 2))
        #expect(r.valuesPerSample == 30 * 2312)
        let source = try NMNISTSource(folder: Self.folder, split: "train1K", representation: r, expecting: Shape(34, 34, 2))
        #expect(source.count == 1000)
        #expect(source.description.contains("train1K") && source.description.contains("30 binary frames"))
        for i in [0, 1, 999] {
            let (input, label) = try source.sample(i)
            #expect(label == source.samples[i].label)
            #expect(input.count == 30 * 2312)
            let events = try source.events(i)
            let frames = EventBinning.frames(events, binMicroseconds: 10_000, timesteps: 30)
            for t in 0..<30 { #expect(Array(input[(t * 2312)..<((t + 1) * 2312)]) == frames[t], "sample \(i) frame \(t)") }
            // Every frame of a ~300 ms recording holds spikes.
            #expect(frames.allSatisfy { $0.contains(1) })
            // The unrolled binary image holds the same spikes, channel t*2 + polarity.
            let unrolled = EventBinning.unrolledBinaryImage(events, binMicroseconds: 10_000, bins: 30)
            #expect(unrolled.count == 34 * 34 * 60)
            for t in 0..<30 {
                let slice = (0..<(34 * 34 * 2)).map { j in unrolled[(j / 2) * 60 + t * 2 + j % 2] }
                #expect(slice == frames[t], "sample \(i) bin \(t)")
            }
        }
        #expect(Self.message { _ = try source.sample(1000) }?.contains("out of range") == true)
    }

    @Test("unrolledBinaryImage: channel t*2 + polarity, late and outside events dropped, empty input")
    func unrolledBinaryImageByHand() {
        let events = [
            Event(x: 0, y: 0, polarity: 1, timestamp: 0),       // bin 0, ON  -> channel 1
            Event(x: 1, y: 0, polarity: 0, timestamp: 1999),    // bin 1, OFF -> channel 2
            Event(x: 1, y: 0, polarity: 0, timestamp: 1500),    // same bin again: still 1
            Event(x: 0, y: 1, polarity: 1, timestamp: 2000),    // bin 2, ON  -> channel 5
            Event(x: 0, y: 0, polarity: 0, timestamp: 3000),    // bin 3: dropped (3 bins)
            Event(x: 5, y: 0, polarity: 0, timestamp: 0),       // outside 2x2: dropped
        ]
        let img = EventBinning.unrolledBinaryImage(events, binMicroseconds: 1000, bins: 3, height: 2, width: 2)
        var want = [Float](repeating: 0, count: 2 * 2 * 6)
        want[0 * 6 + 1] = 1; want[1 * 6 + 2] = 1; want[2 * 6 + 5] = 1
        #expect(img == want)
        #expect(EventBinning.unrolledBinaryImage([], binMicroseconds: 7, bins: 4, height: 3, width: 3) == [Float](repeating: 0, count: 72))
        #expect(EventBinning.unrolledBinaryImage(events, binMicroseconds: 1000, bins: 0, height: 2, width: 2) == [])
        // One bin covering everything is the binary image of the events before its end.
        let one = EventBinning.unrolledBinaryImage(events, binMicroseconds: 10_000, bins: 1, height: 2, width: 2)
        #expect(one == EventBinning.binaryImage(events, height: 2, width: 2))
    }

    @Test("Representation parsing: names, bins = ceil(300 ms / bin), whole microseconds")
    func parsing() throws {
        #expect(try EventRepresentation(parsing: "intensity", binMilliseconds: 10, timesteps: 30) == .intensity)
        #expect(try EventRepresentation(parsing: " Binary ", binMilliseconds: 10, timesteps: 99) == .binary(binMicroseconds: 10_000, bins: 30))
        #expect(try EventRepresentation(parsing: "binary", binMilliseconds: 7, timesteps: 1) == .binary(binMicroseconds: 7000, bins: 43))
        #expect(try EventRepresentation(parsing: "binary:12", binMilliseconds: 25, timesteps: 1) == .binary(binMicroseconds: 25_000, bins: 12))
        #expect(try EventRepresentation(parsing: "frames", binMilliseconds: 0.5, timesteps: 64) == .frames(binMicroseconds: 500, timesteps: 64))
        #expect(try EventRepresentation(parsing: "frames", binMilliseconds: 0.001, timesteps: 1) == .frames(binMicroseconds: 1, timesteps: 1))
        #expect(EventRepresentation.binary(binMicroseconds: 10_000, bins: 30).shape == Shape(34, 34, 60))
        #expect(EventRepresentation.intensity.shape == Shape(34, 34, 2))
        #expect(EventRepresentation.intensity.valuesPerSample == 2312)
    }

    @Test("Errors: bad representation, non-positive or fractional-µs bin width, bad timesteps")
    func representationErrors() {
        for bad in ["", "rate", "binary:", "binary:0", "binary:x", "intensity:3", "frames:4"] {
            let m = Self.message { _ = try EventRepresentation(parsing: bad, binMilliseconds: 10, timesteps: 8) }
            #expect(m != nil, "'\(bad)' accepted")
        }
        let unknown = Self.message { _ = try EventRepresentation(parsing: "rate", binMilliseconds: 10, timesteps: 8) }
        #expect(unknown?.contains("'rate'") == true && unknown?.contains("intensity, binary") == true)
        for ms in [0.0, -10, -0.001, .nan, .infinity] {
            for name in ["binary", "frames"] {
                let m = Self.message { _ = try EventRepresentation(parsing: name, binMilliseconds: ms, timesteps: 8) }
                #expect(m?.contains("positive") == true, "\(name) \(ms) ms: \(m ?? "accepted")")
            }
        }
        for ms in [0.0005, 1.0005, 10.0000001] {
            let m = Self.message { _ = try EventRepresentation(parsing: "frames", binMilliseconds: ms, timesteps: 8) }
            #expect(m?.contains("whole number of microseconds") == true, "\(ms) ms: \(m ?? "accepted")")
        }
        let t0 = Self.message { _ = try EventRepresentation(parsing: "frames", binMilliseconds: 10, timesteps: 0) }
        #expect(t0?.contains("timesteps must be positive") == true)
        // Hand-made values are checked by NMNISTSource too.
        let hand = Self.message {
            _ = try NMNISTSource(folder: Self.folder, split: "test100", representation: .frames(binMicroseconds: 0, timesteps: 4),
                                 expecting: Shape(34, 34, 2))
        }
        #expect(hand?.contains("bin width must be positive") == true)
    }

    @Test("NMNISTSource errors name the folder or list: shape mismatch, missing list, missing folder and event file")
    func sourceErrors() throws {
        let shape = Self.message {
            _ = try NMNISTSource(folder: Self.folder, split: "test100", representation: .binary(binMicroseconds: 10_000, bins: 30),
                                 expecting: Shape(34, 34, 2))
        }
        #expect(shape?.contains(Self.folder) == true && shape?.contains("34x34x60") == true && shape?.contains("34x34x2") == true,
                "\(shape ?? "accepted")")
        let shape2 = Self.message {
            _ = try NMNISTSource(folder: Self.folder, split: "test100", representation: .intensity, expecting: Shape(28, 28, 1))
        }
        #expect(shape2?.contains("28x28x1") == true)
        let list = Self.message {
            _ = try NMNISTSource(folder: Self.folder, split: "test999", representation: .intensity, expecting: Shape(34, 34, 2))
        }
        #expect(list?.contains(Self.folder) == true && list?.contains("test999") == true, "\(list ?? "accepted")")
        let folder = Self.message {
            _ = try NMNISTSource(folder: "/nonexistent/nmnist", split: "test100", representation: .intensity, expecting: Shape(34, 34, 2))
        }
        #expect(folder?.contains("/nonexistent/nmnist") == true && folder?.contains("no such N-MNIST folder") == true)

        // A list given by path (outside the folder) whose samples are read from the folder; a list
        // naming a sample with no event file is refused up front.
        let dir = TestPaths.tempDir("spikescale-nmnist")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "60002 2\n60001 7\n".write(toFile: dir + "/two.txt", atomically: true, encoding: .utf8)
        let two = try NMNISTSource(folder: Self.folder, split: dir + "/two.txt", representation: .intensity, expecting: Shape(34, 34, 2))
        #expect(two.count == 2 && two.samples.map(\.id) == [60002, 60001])
        let test = try NMNISTSource(folder: Self.folder, split: "test100.txt", representation: .intensity, expecting: Shape(34, 34, 2))
        #expect(try two.sample(1).input == test.sample(0).input)
        #expect(try two.sample(0).label == 2)
        try "60001 7\n99999 3\n".write(toFile: dir + "/missing.txt", atomically: true, encoding: .utf8)
        let missing = Self.message {
            _ = try NMNISTSource(folder: Self.folder, split: dir + "/missing.txt", representation: .intensity, expecting: Shape(34, 34, 2))
        }
        #expect(missing?.contains("99999.bs2") == true && missing?.contains("missing.txt") == true, "\(missing ?? "accepted")")
    }
}
