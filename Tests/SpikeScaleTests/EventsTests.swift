import Foundation
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeConvert
import Testing
import TestSupport

/// N-MNIST event decoding and the signal conversions of Deng et al. 2020, section 3.1.
@Suite struct EventsTests {
    static let folder = TestPaths.sharedData + "/nmnist-small"

    static func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as SpikeError { return e.message } catch { return "unexpected error type: \(error)" }
        return nil
    }

    // MARK: the shared data

    @Test func readsAllTrainAndTestSamples() throws {
        let train = try NMNISTSplit(folder: Self.folder, list: "train1K.txt")
        let test = try NMNISTSplit(folder: Self.folder, list: "test100.txt")
        #expect(train.samples.count == 1000)
        #expect(test.samples.count == 100)
        #expect(train.samples.map(\.id) == Array(1...1000))
        #expect(test.samples.map(\.id) == Array(60001...60100))
        #expect(train.samples.allSatisfy { (0...9).contains($0.label) })
        #expect(Set(train.samples.map(\.label)).count == 10)
        #expect(train.samples[0].label == 5 && train.samples[1].label == 0)
        #expect(test.samples[0].label == 7)

        var total = 0, polarities = [0, 0], longest: UInt32 = 0, shortest = UInt32.max
        for split in [train, test] {
            for i in split.samples.indices {
                let events = try split.events(i)
                let name = "sample \(split.samples[i].id)"
                // The data holds 1,069...7,152 events per sample (about 4,100 on average).
                #expect((1000...10000).contains(events.count), "\(name): \(events.count) events")
                #expect(events.allSatisfy { $0.x < 34 && $0.y < 34 && $0.polarity <= 1 }, "\(name)")
                // Timestamps never decrease within a file, and recordings last about 300 ms.
                #expect(zip(events, events.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp }, "\(name)")
                let last = events.last?.timestamp ?? 0
                #expect(last < 400_000 && last > 250_000, "\(name): last event at \(last) µs")
                total += events.count; longest = max(longest, last); shortest = min(shortest, last)
                for e in events { polarities[Int(e.polarity)] += 1 }
            }
        }
        #expect(total > 1100 * 3000 && total < 1100 * 5000)
        // Both polarities occur, in roughly equal numbers (the saccades make ON and OFF edges).
        #expect(polarities[0] > total / 3 && polarities[1] > total / 3)
    }

    // MARK: decoding

    @Test func decodesHandMadeBytes() throws {
        let bytes: [UInt8] = [
            0x00, 0x00, 0x00, 0x00, 0x00, // x 0, y 0, polarity 0, t 0
            0x21, 0x05, 0xFF, 0xFF, 0xFF, // x 33, y 5, polarity 1, t 0x7FFFFF (all 23 bits)
            0x0C, 0x21, 0x01, 0x23, 0x45, // x 12, y 33, polarity 0, t 0x012345 = 74,565
            0x07, 0x08, 0x80, 0x00, 0x01, // x 7, y 8, polarity 1, t 1
        ]
        let events = try NMNIST.readEvents(data: Data(bytes), name: "hand.bs2")
        #expect(events == [
            Event(x: 0, y: 0, polarity: 0, timestamp: 0),
            Event(x: 33, y: 5, polarity: 1, timestamp: 8_388_607),
            Event(x: 12, y: 33, polarity: 0, timestamp: 74_565),
            Event(x: 7, y: 8, polarity: 1, timestamp: 1),
        ])
        #expect(try NMNIST.readEvents(data: Data(), name: "empty.bs2") == [])
    }

    @Test func truncatedFileIsOneClearError() throws {
        let path = Self.folder + "/1.bs2"
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        let cut = whole.dropLast(2)
        let m = Self.message { _ = try NMNIST.readEvents(data: Data(cut), name: "cut.bs2") }
        #expect(m == "cut.bs2: truncated: \(whole.count - 2) bytes is not a whole number of 5-byte events")

        let dir = TestPaths.tempDir("spikescale-events")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = dir + "/cut.bs2"
        try Data(cut).write(to: URL(fileURLWithPath: file))
        let m2 = Self.message { _ = try NMNIST.readEvents(path: file) }
        #expect(m2?.hasPrefix(file + ": truncated: \(whole.count - 2) bytes") == true, "\(m2 ?? "no error")")
    }

    @Test func coordinateOutsideSensorNamesTheEvent() {
        let bytes: [UInt8] = [1, 2, 0, 0, 5, 3, 34, 0, 0, 6]
        let m = Self.message { _ = try NMNIST.readEvents(data: Data(bytes), name: "bad.bs2") }
        #expect(m?.hasPrefix("bad.bs2: event #1") == true, "\(m ?? "no error")")
        #expect(m?.contains("y=34") == true)
        let m2 = Self.message { _ = try NMNIST.readEvents(data: Data([200, 0, 0, 0, 0]), name: "x.bs2") }
        #expect(m2?.contains("event #0") == true && m2?.contains("x=200") == true, "\(m2 ?? "no error")")
    }

    @Test func missingFilesAreNamed() throws {
        let m = Self.message { _ = try NMNIST.readEvents(path: "/nonexistent/42.bs2") }
        #expect(m?.hasPrefix("/nonexistent/42.bs2:") == true, "\(m ?? "no error")")

        let dir = TestPaths.tempDir("spikescale-events")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "#sample #class\r\n7\t3\r\n".write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
        let split = try NMNISTSplit(folder: dir, list: "list.txt")
        #expect(split.samples.count == 1 && split.samples[0].id == 7 && split.samples[0].label == 3)
        let m2 = Self.message { _ = try split.events(0) }
        #expect(m2?.hasPrefix(dir + "/7.bs2:") == true, "\(m2 ?? "no error")")
        let m3 = Self.message { _ = try split.events(1) }
        #expect(m3?.contains("out of range") == true, "\(m3 ?? "no error")")
        let m4 = Self.message { _ = try NMNISTSplit(folder: dir, list: "nolist.txt") }
        #expect(m4?.hasPrefix(dir + "/nolist.txt:") == true, "\(m4 ?? "no error")")
    }

    @Test func badListLineIsNamed() throws {
        let dir = TestPaths.tempDir("spikescale-events")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for (text, line) in [("1 5\nfoo bar\n", 2), ("#h\n1 5\n2 11\n", 3), ("1 5 7\n", 1), ("3\n", 1), ("#h\r\n1\t5\r\nfoo\r\n", 3)] {
            try text.write(toFile: dir + "/list.txt", atomically: true, encoding: .utf8)
            let m = Self.message { _ = try NMNISTSplit(folder: dir, list: "list.txt") }
            #expect(m?.hasPrefix(dir + "/list.txt: line \(line):") == true, "\(text.debugDescription): \(m ?? "no error")")
        }
    }

    @Test func fuzzedBytesNeverCrash() throws {
        var rng = SplitMix(0x5EED_1234_ABCD_0001)
        func next() -> UInt64 { rng.next() }
        let real = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.folder + "/2.bs2")).prefix(500))
        var decoded = 0, rejected = 0
        for iteration in 0..<200 {
            var bytes: [UInt8]
            switch iteration % 4 {
            case 0: // random bytes of random length
                bytes = (0..<Int(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
            case 1: // random events with valid coordinates, any length
                bytes = (0..<Int(next() % 80)).map { k in
                    let r = UInt8(truncatingIfNeeded: next())
                    return k % 5 < 2 ? r % 34 : r
                }
            case 2: // a real file with a few bytes overwritten
                bytes = real
                for _ in 0..<(1 + Int(next() % 4)) { bytes[Int(next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: next()) }
            default: // a real file cut or extended at a random point
                bytes = Array(real.prefix(Int(next() % UInt64(real.count + 1))))
                if next() % 2 == 0 { bytes += (0..<Int(next() % 7)).map { _ in UInt8(truncatingIfNeeded: next()) } }
            }
            do {
                let events = try NMNIST.readEvents(data: Data(bytes), name: "fuzz\(iteration)")
                #expect(events.count * 5 == bytes.count)
                #expect(events.allSatisfy { $0.x < 34 && $0.y < 34 && $0.polarity <= 1 && $0.timestamp < (1 << 23) })
                decoded += 1
            } catch let e as SpikeError {
                #expect(e.message.hasPrefix("fuzz\(iteration): "))
                rejected += 1
            }
        }
        #expect(decoded > 0 && rejected > 0)
    }

    // MARK: signal conversion

    @Test func binsEventsIntoFrames() {
        let h = 2, w = 3
        let events = [
            Event(x: 0, y: 0, polarity: 1, timestamp: 0),    // frame 0, index (0*3+0)*2+1 = 1
            Event(x: 2, y: 1, polarity: 0, timestamp: 500),  // frame 0, index (1*3+2)*2+0 = 10
            Event(x: 2, y: 1, polarity: 0, timestamp: 999),  // same pixel again: still 1
            Event(x: 1, y: 0, polarity: 0, timestamp: 1000), // frame 1, index (0*3+1)*2+0 = 2
            Event(x: 1, y: 1, polarity: 1, timestamp: 2999), // frame 2, index (1*3+1)*2+1 = 9
            Event(x: 0, y: 0, polarity: 0, timestamp: 3000), // past the last bin: dropped
        ]
        let frames = EventBinning.frames(events, binMicroseconds: 1000, timesteps: 3, height: h, width: w)
        var expected = [[Float]](repeating: [Float](repeating: 0, count: h * w * 2), count: 3)
        expected[0][1] = 1; expected[0][10] = 1; expected[1][2] = 1; expected[2][9] = 1
        #expect(frames == expected)
        #expect(EventBinning.frames([], binMicroseconds: 10, timesteps: 2, height: h, width: w) == [[Float]](repeating: [Float](repeating: 0, count: 12), count: 2))
        // Defaults: 34x34x2 frames.
        let big = EventBinning.frames(events, binMicroseconds: 1500, timesteps: 2)
        #expect(big.count == 2 && big.allSatisfy { $0.count == 34 * 34 * 2 })
        #expect(big[0][(0 * 34 + 1) * 2 + 0] == 1 && big[1][(1 * 34 + 1) * 2 + 1] == 1)
        #expect(big[0].reduce(0, +) == 3 && big[1].reduce(0, +) == 1)
    }

    @Test func binsARealSample() throws {
        let events = try NMNIST.readEvents(path: Self.folder + "/1.bs2")
        let frames = EventBinning.frames(events, binMicroseconds: 10_000, timesteps: 30)
        #expect(frames.count == 30)
        #expect(frames.allSatisfy { f in f.allSatisfy { $0 == 0 || $0 == 1 } })
        let active = frames.map { $0.reduce(0, +) }
        #expect(active.reduce(0, +) > 0 && active.reduce(0, +) <= Float(events.count))
        // The union of the frames is the binary image of the events inside the 300 ms.
        let inside = events.filter { $0.timestamp < 300_000 }
        var union = [Float](repeating: 0, count: 34 * 34 * 2)
        for f in frames { for i in f.indices where f[i] == 1 { union[i] = 1 } }
        #expect(union == EventBinning.binaryImage(inside))
    }

    @Test func binaryAndIntensityImages() {
        let h = 2, w = 2
        func at(_ x: Int, _ y: Int, _ c: Int) -> Int { (y * w + x) * 2 + c }
        var events = [Event]()
        events += Array(repeating: Event(x: 1, y: 0, polarity: 1, timestamp: 5), count: 4)
        events += Array(repeating: Event(x: 0, y: 1, polarity: 0, timestamp: 9), count: 2)
        events += [Event(x: 1, y: 1, polarity: 0, timestamp: 100_000)]
        events += [Event(x: 5, y: 0, polarity: 0, timestamp: 1)] // outside a 2x2 frame: dropped
        var binary = [Float](repeating: 0, count: 8)
        binary[at(1, 0, 1)] = 1; binary[at(0, 1, 0)] = 1; binary[at(1, 1, 0)] = 1
        #expect(EventBinning.binaryImage(events, height: h, width: w) == binary)
        var intensity = [Float](repeating: 0, count: 8)
        intensity[at(1, 0, 1)] = 1; intensity[at(0, 1, 0)] = 0.5; intensity[at(1, 1, 0)] = 0.25
        #expect(EventBinning.intensityImage(events, height: h, width: w) == intensity)
        #expect(EventBinning.intensityImage([], height: h, width: w) == [Float](repeating: 0, count: 8))
        #expect(EventBinning.binaryImage([]).count == 34 * 34 * 2)
    }
}

/// The one Bernoulli/Poisson encoder (SpikeCore's RateEncoder): its law, its draws, and that the
/// engine's input spikes and SpikeData's PoissonEncoding are exactly its frames.
@Suite struct RateEncoderTests {
    static func rate(_ i: Int, _ s: [[Float]]) -> Double { Double(s.reduce(0) { $0 + $1[i] }) / Double(s.count) }

    @Test func probabilityIsTheLaw() {
        let poisson = RateEncoder(.poisson, seed: 1), bernoulli = RateEncoder(.bernoulli, seed: 1)
        for x: Float in [0.001, 0.3, 0.5, 1, 2.5] {
            #expect(bernoulli.probability(x) == x)
            #expect(poisson.probability(x).bitPattern == (1 - expf(-x)).bitPattern, "Float arithmetic, as the engine has always drawn")
        }
    }

    @Test func drawsArePhiloxKeyedPerNeuronAndStep() {
        let image: [Float] = [0.3, 0, 1, 0.3, -0.5, 0.3, 0.3, 0.3]
        let enc = RateEncoder(.poisson, seed: 42)
        let a = enc.frames(image, sample: 7, timesteps: 2000)
        #expect(a == enc.frames(image, sample: 7, timesteps: 2000))
        #expect(a.count == 2000 && a.allSatisfy { $0.count == image.count })
        #expect(a.allSatisfy { f in f.allSatisfy { $0 == 0 || $0 == 1 } })
        #expect(a != RateEncoder(.poisson, seed: 43).frames(image, sample: 7, timesteps: 2000))
        #expect(a != enc.frames(image, sample: 8, timesteps: 2000))
        // A shorter run gives the first steps of a longer one: the draws are keyed per step.
        #expect(enc.frames(image, sample: 7, timesteps: 10) == Array(a.prefix(10)))
        // The draws are Philox's (seed, sample, layer 0, neuron, timestep 1...T) numbers, whoever calls.
        let rng = Philox(seed: 42), p = enc.probability(0.3)
        for t in 1...50 {
            #expect(a[t - 1][0] == (rng.uniform(sample: 7, layer: 0, neuron: 0, timestep: t) < p ? 1 : 0))
        }
        // Zero and negative inputs never spike; Bernoulli values >= 1 spike every step.
        #expect(Self.rate(1, a) == 0 && Self.rate(4, a) == 0)
        let b = RateEncoder(.bernoulli, seed: 42).frames(image, sample: 7, timesteps: 2000)
        #expect(Self.rate(2, b) == 1 && Self.rate(1, b) == 0 && Self.rate(4, b) == 0)
    }

    @Test func ratesMatchTheLaw() {
        let image: [Float] = [0.3, 0, 1, 0.3, -0.5, 0.3, 0.3, 0.3]
        let a = PoissonEncoding.spikes(image, timesteps: 2000, seed: 42, sample: 7)
        #expect(a == RateEncoder(.poisson, seed: 42).frames(image, sample: 7, timesteps: 2000), "maxRate 1 is the engine's Poisson input")
        let expected = 1 - exp(-0.3)
        #expect(abs(Self.rate(0, a) - expected) <= 0.02, "rate \(Self.rate(0, a)) vs \(expected)")
        let pooled = [0, 3, 5, 6, 7].map { Self.rate($0, a) }.reduce(0, +) / 5
        #expect(abs(pooled - expected) <= 0.01, "pooled rate \(pooled) vs \(expected)")
        #expect(abs(Self.rate(2, a) - (1 - exp(-1))) <= 0.03)
        let b = RateEncoder(.bernoulli, seed: 42).frames(image, sample: 7, timesteps: 2000)
        #expect(abs([0, 3, 5, 6, 7].map { Self.rate($0, b) }.reduce(0, +) / 5 - 0.3) <= 0.01)
        // maxRate scales the rate: x = 0.3 at maxRate 2 behaves like x = 0.6, draw for draw.
        let c = PoissonEncoding.spikes([0.3], timesteps: 2000, seed: 1, sample: 0, maxRate: 2)
        #expect(c == RateEncoder(.poisson, seed: 1).frames([0.6], sample: 0, timesteps: 2000))
        #expect(abs(Self.rate(0, c) - (1 - exp(-0.6))) <= 0.03)
    }

    /// The input layer's spikes in one engine run of `input` as sample `sample`, per timestep (the
    /// number of times each neuron was recorded spiking) from the rasters of every in-process rank,
    /// and the input layer's spike counter summed over the ranks.
    static func engineInputSpikes(_ net: Network, input: [Float], sample: Int, config: SimulationConfig, ranks: Int)
        throws -> (frames: [[Float]], counted: Int64) {
        var cfg = config
        cfg.rasterNeurons = input.count; cfg.rasterSample = sample
        let partition = try Partition(network: net, ranks: ranks), c = cfg
        let results = try LocalGroup(size: ranks).run { t -> RankSampleResultBox in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: c)
            return RankSampleResultBox(try sim.run(sample: sample, input: input))
        }
        var frames = [[Float]](repeating: [Float](repeating: 0, count: input.count), count: config.timesteps)
        for r in results { for e in r.value.raster where e.layer == 0 { frames[e.time - 1][e.neuron] += 1 } }
        return (frames, results.reduce(0) { $0 + $1.value.layers[0].positiveSpikes })
    }

    @Test func engineInputSpikesAreTheEncoderFrames() throws {
        var b = NetworkBuilder(name: "encoder", input: Shape(4, 3, 2))
        var g = WeightInit(seed: 5)
        try b.add("out", .dense(outFeatures: 6), neuron: .accumulator, weights: g.he(count: 24 * 6, fanIn: 24), bias: [Float](repeating: 0, count: 6))
        let net = try b.build()
        var rng = SplitMix(99)
        let input: [Float] = (0..<24).map { i in i % 5 == 0 ? 0 : i % 7 == 0 ? -0.5 : i == 23 ? 1.5 : rng.unit() }
        for (law, encoder) in [(RateEncoder.Law.bernoulli, InputEncoder.bernoulli), (.poisson, .poisson)] {
            let config = SimulationConfig(timesteps: 40, seed: 17, encoder: encoder)
            let want = RateEncoder(law, seed: 17).frames(input, sample: 3, timesteps: 40)
            #expect(want.joined().contains(1) && want.joined().contains(0))
            for ranks in [1, 2, 3] {
                let got = try Self.engineInputSpikes(net, input: input, sample: 3, config: config, ranks: ranks)
                #expect(got.frames == want, "\(encoder) input spikes on \(ranks) ranks differ from the encoder's")
                #expect(got.counted == Int64(want.joined().reduce(0, +)))
            }
        }
    }
}
