import Foundation
import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeData
import SpikeRun

/// The scaling model's arithmetic (issue 11, item 7) on a network small enough to check by hand, the
/// profiler on a real run, and the full YOLOv3 zoo network's structure against Darknet (item 5).
@Suite("Scaling model and zoo YOLOv3")
struct ScalingModelTests {
    /// input 8x8x1 -> conv 3x3 (4 IF neurons per pixel) -> conv 3x3 (4 accumulators): on 2 ranks, rows 0..<4
    /// and 4..<8; conv1 sends one 8x4-neuron halo row each way per step.
    static func network() throws -> Network {
        var g = WeightInit(seed: 1)
        var b = NetworkBuilder(name: "halo", input: Shape(8, 8, 1))
        try b.add("conv1", .conv(Window(kernel: 3, pad: 1), outChannels: 4, groups: 1), neuron: .integrateAndFire(),
                  weights: g.he(count: 36, fanIn: 9), bias: g.small(4))
        try b.add("conv2", .conv(Window(kernel: 3, pad: 1), outChannels: 4, groups: 1), neuron: .accumulator,
                  weights: g.he(count: 144, fanIn: 36), bias: g.small(4))
        return try b.build()
    }

    static func profile(_ n: Network) -> ScalingProfile {
        let secs = [0.001, 0.004, 0.002], rates = [0.0, 0.25, 0.0]
        let layers = n.layers.enumerated().map { i, l in
            ScalingProfile.Layer(name: l.name, op: l.op.name, neurons: l.shape.count, secondsPerStep: secs[i], firingRate: rates[i], synapticOpsPerStep: 0)
        }
        return ScalingProfile(model: "halo", network: n.name, ranks: 1, timesteps: 10, samples: 1, layers: layers, secondsPerSample: 0.12,
                              overheadSecondsPerSample: 0.05, peakResidentBytes: [100_000_000], bytesSentPerStep: [0], machine: "test", date: "today")
    }

    @Test("Network parameters: a message costs latency + bytes / bandwidth, a collective ceil(log2 P) latencies")
    func networkArithmetic() {
        let net = NetworkParameters(latencySeconds: 2e-6, bandwidthBytesPerSecond: 1e9)
        #expect(net.message(1000) == 2e-6 + 1e-6)
        #expect(net.collective(ranks: 1) == 0)
        #expect(net.collective(ranks: 2) == 2e-6)
        #expect(net.collective(ranks: 5) == 3 * 2e-6)
        #expect(net.collective(ranks: 4096) == 12 * 2e-6)
        #expect([1, 2, 3, 4, 5, 8, 9, 4096].map(ScalingModel.log2Ceil) == [0, 1, 2, 2, 3, 3, 4, 12])
        let d = NetworkParameters()
        #expect(d.latencySeconds == 1.5e-6 && d.bandwidthBytesPerSecond == 12e9)
    }

    @Test("Packet bytes follow the engine's encoding: the smaller of delta list and bitmap")
    func packetBytes() {
        // 32 neurons at 25%: 8 events with gaps of 3 -> list 1 + 1 + 8 = 10 bytes, bitmap 1 + 4 = 5.
        #expect(ScalingModel.packetBytes(count: 32, rate: 0.25, signed: false, analog: false) == 5)
        // Signed: the bitmap doubles (1 + 8); the list stays 10.
        #expect(ScalingModel.packetBytes(count: 32, rate: 0.25, signed: true, analog: false) == 9)
        // One event in 32: list 1 + 1 + 1 = 3 beats the bitmap.
        #expect(ScalingModel.packetBytes(count: 32, rate: 1.0 / 32, signed: false, analog: false) == 3)
        // Analog events carry a float each and are never a bitmap: 1 + 1 + 8 x (1 + 4).
        #expect(ScalingModel.packetBytes(count: 32, rate: 0.25, signed: false, analog: true) == 42)
        #expect(ScalingModel.packetBytes(count: 32, rate: 0, signed: false, analog: false) == 1)
        // Long gaps need multi-byte varints: 1 event in 1000 neurons of 100,000 -> gap 999, 2 bytes each.
        #expect(ScalingModel.packetBytes(count: 100_000, rate: 0.001, signed: false, analog: false) == 1 + 1 + 100 * 2)
    }

    @Test("Time per image: T x (busiest rank's share of the layer costs + halo exchange + collective) + overhead")
    func projectedTime() throws {
        let n = try Self.network()
        let net = NetworkParameters(latencySeconds: 1e-6, bandwidthBytesPerSecond: 1e9)
        let m = try ScalingModel(network: n, profile: Self.profile(n), net: net)
        let one = m.project(ranksPerGroup: 1)
        #expect(one.infeasible == nil)
        #expect(abs(one.computeSecondsPerStep - 0.007) < 1e-12)
        #expect(one.communicationSecondsPerStep == 0 && one.haloBytesPerStep == 0 && one.messagesPerStep == 0)
        #expect(abs(one.secondsPerImage - (10 * 0.007 + 0.05)) < 1e-12)

        let two = m.project(ranksPerGroup: 2)
        #expect(abs(two.computeSecondsPerStep - 0.0035) < 1e-12)
        // conv1: one 32-neuron row each way at 25% (5-byte bitmap): 1 us + 5 ns; plus one collective of 1 us.
        #expect(abs(two.communicationSecondsPerStep - (2e-6 + 5e-9)) < 1e-15)
        #expect(two.haloBytesPerStep == 5 && two.messagesPerStep == 1)
        // The outputs (8x8x4 floats = 1024 bytes) are gathered once per image: 1 us + 1.024 us.
        #expect(abs(two.overheadSecondsPerImage - (0.05 + 1e-6 + 1.024e-6)) < 1e-15)
        #expect(abs(two.secondsPerImage - (10 * (0.0035 + 2e-6 + 5e-9) + 0.05 + 2.024e-6)) < 1e-12)

        var long = m
        long.timesteps = 256
        #expect(abs(long.project(ranksPerGroup: 1).secondsPerImage - (256 * 0.007 + 0.05)) < 1e-12)
    }

    @Test("Weights of layers split by output channels are projected at their share per rank")
    func shardedWeights() throws {
        let n = try ChannelSplitTests.network()
        let split = try Partition(network: n, ranks: 2)
        var w1 = 0.0, w2 = 0.0
        for (i, l) in n.layers.enumerated() {
            w1 += 4 * Double(l.weightCount + l.bias.count)
            let b = split.layers[i].blocks[0]
            w2 += 4 * (Double(l.weightCount) * (b.channelSplit ? Double(b.channelUpper - b.channelLower) / Double(l.shape.channels) : 1) + Double(l.bias.count))
        }
        let r0 = ScalingModel.rankMemory(network: n, partition: split, rank: 0, rates: n.layers.map { _ in 0.1 }, memory: MemoryParameters(), timesteps: 16)
        let r1 = ScalingModel.rankMemory(network: n, partition: try Partition(network: n, ranks: 1), rank: 0, rates: n.layers.map { _ in 0.1 }, memory: MemoryParameters(), timesteps: 16)
        #expect(r1.weights == w1 && r0.weights == w2)
        #expect(r0.weights < 0.6 * r1.weights, "\(r0.weights) of \(r1.weights)")
    }

    @Test("Memory per rank: the profile's peak RSS on 1 rank, then replicated weights + the owned share of neurons and buffers")
    func projectedMemory() throws {
        let n = try Self.network()
        let m = try ScalingModel(network: n, profile: Self.profile(n))
        let one = m.project(ranksPerGroup: 1), two = m.project(ranksPerGroup: 2)
        #expect(one.memoryBytesPerRank == 100_000_000)
        #expect(one.weightBytes == 4 * Double(n.parameterCount) && two.weightBytes == one.weightBytes)
        // Membranes of 512 neurons x 4 B on 1 rank, 256 on each of 2; conv1 reads the input, so it keeps its own current
        // (256 x 4 B, 128 on each of 2); conv2 borrows the shared current (256 x 4 B, 128). Buffers of conv1:
        // 0.25 x (own + view) x 8 B: 256 + 256 neurons on 1 rank, 128 + 160 (one halo row) on rank 0 of 2.
        #expect(one.neuronBytes == 4096 && two.neuronBytes == 2048)
        #expect(one.bufferBytes == 1024 && two.bufferBytes == 576)
        #expect(two.memoryBytesPerRank == 100_000_000 - 4096 - 1024 + 2048 + 576)
        #expect(m.baselineBytes == 100_000_000 - one.weightBytes - 4096 - 1024)
    }

    @Test("Groups multiply throughput; evaluations run in whole rounds; partitions past the rows are infeasible")
    func groupsAndLimits() throws {
        let n = try Self.network()
        let m = try ScalingModel(network: n, profile: Self.profile(n))
        let g = m.project(ranksPerGroup: 1, groups: 4)
        #expect(abs(g.imagesPerSecond - 4 / 0.12) < 1e-9)
        #expect(abs(g.seconds(images: 10) - 3 * 0.12) < 1e-12)
        // Rank-0 bound: all 0.05 s of per-image overhead on rank 0 (plus the result message) caps 4 groups at ~20 images/s.
        let result = NetworkParameters().message(4 * 256 + 40 * 3)
        #expect(abs(g.rootBoundImagesPerSecond - 1 / (0.05 + result)) < 1e-9)
        #expect(abs(g.rootBoundSeconds(images: 10) - 10 * (0.05 + result)) < 1e-12)
        #expect(m.project(ranksPerGroup: 1).rootBoundImagesPerSecond == m.project(ranksPerGroup: 1).imagesPerSecond)
        #expect(abs(m.project(ranksPerGroup: 1).seconds(images: 10) - 1.2) < 1e-12)
        #expect(ScalingModel.maxRanksPerGroup(n) == 8)
        let bad = m.project(ranksPerGroup: 9)
        #expect(bad.infeasible?.contains("only 8 rows") == true, "\(bad.infeasible ?? "nil")")
        // Weak scaling lists only group counts that divide the ranks, and partitions the rows allow.
        #expect(ScalingReport.weakPairs(ranks: 64, groups: nil, limit: 8).map(\.perGroup) == [1, 2, 4, 8])
        #expect(ScalingReport.weakPairs(ranks: 64, groups: [3, 8], limit: 8).map(\.groups) == [8])
        #expect(ScalingReport.strongRanks([64], limit: 13) == [1, 2, 4, 8, 13, 64])
        let text = ScalingReport.render(m, profilePath: "p.json", ranks: [4, 64], groups: nil, images: 5000, checks: [])
        #expect(text.contains("ON PAPER") && text.contains("64 | not one partition"), "\(text)")
    }

    @Test("A profile of another model, or a file that is not a profile, is refused with the reason")
    func profileErrors() throws {
        let n = try Self.network()
        var p = Self.profile(n)
        p.layers[1].name = "convX"
        #expect(throws: SpikeError.self) { try ScalingModel(network: n, profile: p) }
        do { try p.check(matches: n, path: "p.json"); Issue.record("no error") } catch let e as SpikeError {
            #expect(e.message.contains("p.json") && e.message.contains("convX"), "\(e.message)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("scaling-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json").path
        try Data("{\"kind\": \"run\"}".utf8).write(to: URL(fileURLWithPath: bad))
        do { _ = try ScalingProfile.read(bad); Issue.record("no error") } catch let e as SpikeError {
            #expect(e.message.contains("bad.json") && e.message.contains("not a spikescale profile"), "\(e.message)")
        }
        var wrongKind = Self.profile(n)
        wrongKind.kind = "run"
        let wk = dir.appendingPathComponent("kind.json").path
        try JSONEncoder().encode(wrongKind).write(to: URL(fileURLWithPath: wk))
        do { _ = try ScalingProfile.read(wk); Issue.record("no error") } catch let e as SpikeError {
            #expect(e.message.contains("'kind'"), "\(e.message)")
        }
        let good = dir.appendingPathComponent("good.json").path
        try JSONEncoder().encode(Self.profile(n)).write(to: URL(fileURLWithPath: good))
        #expect(try ScalingProfile.read(good) == Self.profile(n))
    }

    @Test("The profiler measures a real run: per-layer seconds, and firing rates and synaptic ops equal to the engine's counters on 1 and 2 ranks")
    func profilerMeasuresRealRun() throws {
        let net = try ModelSource.load("zoo:mnist-cnn", seed: 2, targetRate: 0.1)
        let inputs = try (0..<2).map { try SyntheticSource(shape: net.inputShape, seed: 4, count: 2).sample($0).input }
        let cfg = SimulationConfig(timesteps: 8, seed: 1)
        var profiles = [ScalingProfile]()
        for ranks in [1, 2] {
            let got = try LocalGroup(size: ranks).run { t in
                try ScalingProfiler.measure(model: "zoo:mnist-cnn", network: net, transport: t, config: cfg, inputs: inputs, machine: "m", date: "d")
            }
            #expect(got.dropFirst().allSatisfy { $0 == nil })
            profiles.append(try #require(got[0]))
        }
        // The engine's own counters of the same two samples, on one rank.
        let partition = try Partition(network: net, ranks: 1)
        let counters = try LocalGroup(size: 1).run { t -> [[Int64]] in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: cfg)
            var c = [[Int64]](repeating: [0, 0], count: net.layers.count)
            for (k, x) in inputs.enumerated() {
                for (i, l) in try sim.run(sample: k, input: x).layers.enumerated() { c[i][0] += l.spikes; c[i][1] += l.synapticOps }
            }
            return c
        }[0]
        for p in profiles {
            #expect(p.layers.count == net.layers.count && p.timesteps == 8 && p.samples == 2)
            #expect(p.layerSecondsPerStep > 0 && p.secondsPerSample > 0)
            #expect(p.peakResidentBytes.count == p.ranks && p.peakResidentBytes.allSatisfy { $0 > 0 })
            for (i, l) in net.layers.enumerated() {
                #expect(p.layers[i].firingRate == Double(counters[i][0]) / (Double(l.shape.count) * 16))
                #expect(p.layers[i].synapticOpsPerStep == Double(counters[i][1]) / 16)
            }
        }
        #expect(profiles[1].bytesSentPerStep.allSatisfy { $0 > 0 })
        // A whole run's seconds per sample minus its own engine time is the overhead, added to the layers' time.
        let q = ScalingProfiler.withRun(profiles[0], secondsPerSample: 5, engineSecondsPerSample: 4.5, peakResidentBytes: [1])
        #expect(q.overheadSecondsPerSample == 0.5 && q.engineSecondsPerSample == profiles[0].engineSecondsPerSample)
        #expect(abs(q.secondsPerSample - (q.layerSecondsPerStep * 8 + 0.5)) < 1e-12)
        // The run's peak RSS is the memory the model projects (the profiler's process also holds its caller's weights).
        #expect(q.peakResidentBytes == [1])
        #expect(ScalingProfiler.withRun(profiles[0], secondsPerSample: 5, engineSecondsPerSample: 4.5, peakResidentBytes: []).peakResidentBytes
                == profiles[0].peakResidentBytes)
        // A model built from the profile reproduces the profile's own time per image on its rank count.
        let m = try ScalingModel(network: net, profile: profiles[0])
        let p1 = m.project(ranksPerGroup: 1)
        #expect(abs(p1.secondsPerImage - profiles[0].secondsPerSample) < 1e-6 * profiles[0].secondsPerSample + 1e-9)
        #expect(p1.memoryBytesPerRank == Double(profiles[0].peakResidentBytes[0]))
    }

    @Test("zoo:yolov3 is Darknet's yolov3.cfg at 416: 75 convolutions, 23 shortcuts, three head outputs, 65.86 G FLOPs as Darknet counts", .tags(.slow))
    func yolov3Structure() throws {
        var g = WeightInit(seed: 1)
        let n = try ModelZoo.yolov3(size: 416, init: &g)
        #expect(n.name == "yolov3-416" && n.layers.count == 103)
        var convs = 0, adds = 0, ups = 0, concats = 0, convMACs = 0
        for (i, l) in n.layers.enumerated() {
            switch l.op {
            case .conv: convs += 1; convMACs += n.macs(layer: i)
            case .add: adds += 1
            case .upsample: ups += 1
            case .concat: concats += 1
            default: break
            }
        }
        #expect(convs == 75 && adds == 23 && ups == 2 && concats == 2)
        #expect(n.outputs.map { n.layers[$0].shape } == [Shape(13, 13, 255), Shape(26, 26, 255), Shape(52, 52, 255)])
        #expect(n.outputs.allSatisfy { n.layers[$0].neuron?.kind == .accumulator })
        #expect(n.heads.isEmpty)                                            // no decoding of random boxes
        // Darknet (darknet detector test on yolov3.cfg at 416) prints 65.862 BFLOPs (2 x MACs, per-layer rounded).
        #expect(abs(2 * Double(convMACs) / 1e9 - 65.862) < 0.04, "\(2 * Double(convMACs) / 1e9)")
        #expect(n.macs(layer: 1) == 416 * 416 * 32 * 27)                  // conv0: 0.299 BFLOPs
        #expect(n.parameterCount == 61_922_845)                             // weights + folded biases of the 75 convolutions
        #expect(n.neuronCount == 53_730_339)
        // Seeded: the same seed gives the same weights, another seed others (the weights do not depend on the size).
        var g2 = WeightInit(seed: 1), g3 = WeightInit(seed: 2)
        let again = try ModelZoo.yolov3(size: 64, init: &g2), other = try ModelZoo.yolov3(size: 64, init: &g3)
        #expect(n.layers[3].name == "conv2" && !n.layers[3].weights.isEmpty)
        #expect(again.layers[3].weights == n.layers[3].weights && other.layers[3].weights != n.layers[3].weights)
        #expect(again.outputs.map { again.layers[$0].shape } == [Shape(2, 2, 255), Shape(4, 4, 255), Shape(8, 8, 255)])
        #expect(n.layers[1].weights.allSatisfy { $0 != 0 })
        #expect(throws: SpikeError.self) { var h = WeightInit(seed: 1); _ = try ModelZoo.yolov3(size: 416, init: &h, cfg: "/nonexistent/yolov3.cfg") }
        #expect(throws: SpikeError.self) { var h = WeightInit(seed: 1); _ = try ModelZoo.yolov3(size: 400, init: &h) }
    }
}

@Suite("Max-pool gate memory")
struct GateMemoryTests {
    /// input -> conv of IBT neurons (burst 2) -> Darknet-style tiling pool (pad after) -> overlapping pool; and a pool
    /// straight on the input.
    static func network() throws -> Network {
        var b = NetworkBuilder(name: "pools", input: Shape(8, 8, 2))
        var ibt = NeuronModel(kind: .signedIBT, threshold: 1)
        ibt.alpha = 0.1; ibt.burst = 2
        _ = try b.add("conv", .conv(Window(kernel: 3, stride: 1, pad: 1), outChannels: 4, groups: 1), neuron: ibt,
                      weights: [Float](repeating: 0.1, count: 3 * 3 * 2 * 4), bias: [Float](repeating: 0, count: 4))
        _ = try b.add("tile", .maxPool(Window(kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padTop: 0, padLeft: 0, padBottom: 1, padRight: 1)))
        _ = try b.add("overlap", .maxPool(Window(kernel: 3, stride: 1, pad: 1)))
        _ = try b.add("onInput", .maxPool(Window(kernel: 2, stride: 2)), inputs: [0])
        return try b.build()
    }

    @Test("Running sums: 8-bit while T × burst fits, then 16-bit, then Float; Float for overlapping windows and analog input")
    func bytesPerSum() throws {
        let n = try Self.network()
        #expect([16, 63, 64, 16383, 16384].map { MaxPoolGateMemory.bytesPerSum(n, layer: 2, timesteps: $0) } == [1, 1, 2, 2, 4])
        #expect(MaxPoolGateMemory.bytesPerSum(n, layer: 3, timesteps: 16) == 4)
        #expect(MaxPoolGateMemory.bytesPerSum(n, layer: 4, timesteps: 16) == 4)
        #expect(MaxPoolGateMemory.bytesPerSum(n, layer: 4, timesteps: 16, encoder: .bernoulli) == 1)
    }
}
