import Foundation
import Testing
import SpikeCore
import SpikeEngine
import SpikeRun
import SpikeConvert
import SpikeImport
import SpikeData
import TestSupport

/// Runs `network` on `ranks` in-process ranks over `inputs`, returning per-sample merged outputs and
/// summed counters, exactly as the coordinator reduces them.
/// `batch` > 1: rate-coded samples go through `run(batch:)` in chunks of that many.
func simulateLocally(_ network: Network, ranks: Int, config: SimulationConfig, inputs: [[Float]], pipeline: Int = 1, batch: Int = 1)
    throws -> (outputs: [[[Float]]], counters: [[LayerCounters]], steps: [[Int64]]) {
    let partition = try Partition(network: network, ranks: ranks)
    let perRank = try LocalGroup(size: ranks).run { t -> [RankSampleResultBox] in
        let sim = try RankSimulator(network: network, partition: partition, transport: t, config: config)
        if batch > 1 {
            let all = inputs.enumerated().map { (sample: $0.offset, input: $0.element) }
            return try stride(from: 0, to: all.count, by: batch).flatMap {
                try sim.run(batch: Array(all[$0 ..< min($0 + batch, all.count)])).map(RankSampleResultBox.init)
            }
        }
        guard pipeline > 1 else { return try inputs.enumerated().map { RankSampleResultBox(try sim.run(sample: $0.offset, input: $0.element)) } }
        // Few-spike networks: chunks of `pipeline` samples through the layer pipeline.
        let all = inputs.enumerated().map { (sample: $0.offset, input: $0.element) }
        return try stride(from: 0, to: all.count, by: pipeline).flatMap {
            try sim.runFewSpike(samples: Array(all[$0 ..< min($0 + pipeline, all.count)])).map(RankSampleResultBox.init)
        }
    }
    var outputs = [[[Float]]](), counters = [[LayerCounters]](), steps = [[Int64]]()
    for s in inputs.indices {
        var outs = network.outputs.map { [Float](repeating: .nan, count: network.layers[$0].shape.count) }
        var c = [LayerCounters](repeating: LayerCounters(), count: network.layers.count)
        var st = [Int64](repeating: 0, count: config.timesteps)
        for r in 0..<ranks {
            let res = perRank[r][s].value
            for (o, piece) in res.outputs.enumerated() {
                for j in 0..<piece.range.count { outs[o][piece.range.lower + j] = piece.values[j] }
            }
            for i in c.indices { c[i] = c[i] + res.layers[i] }
            for t in st.indices { st[t] += res.spikesPerStep[t] }
        }
        outputs.append(outs); counters.append(c); steps.append(st)
    }
    return (outputs, counters, steps)
}

/// Runs `net` on 1 rank, then with each (ranks, batch) of `runs`, and expects the 1-rank run's per-layer counters,
/// per-step spikes and output bits from every one. Returns the 1-rank run.
@discardableResult
func expectSameBits(_ net: Network, inputs: [[Float]], config: SimulationConfig, runs: [(ranks: Int, batch: Int)])
    throws -> (outputs: [[[Float]]], counters: [[LayerCounters]], steps: [[Int64]]) {
    let base = try simulateLocally(net, ranks: 1, config: config, inputs: inputs)
    #expect(base.counters[0].reduce(Int64(0)) { $0 + $1.spikes } > 0, "the network must spike")
    for (k, b) in runs {
        let r = try simulateLocally(net, ranks: k, config: config, inputs: inputs, batch: b)
        #expect(r.counters == base.counters, "\(net.name): per-layer counters differ on \(k) ranks, batch \(b)")
        #expect(r.steps == base.steps, "\(net.name): per-step spikes differ on \(k) ranks, batch \(b)")
        for s in inputs.indices { #expect(bits(r.outputs[s]) == bits(base.outputs[s]), "\(net.name): outputs differ on \(k) ranks, batch \(b)") }
    }
    return base
}

struct RankSampleResultBox: @unchecked Sendable {
    let value: RankSampleResult
    init(_ v: RankSampleResult) { value = v }
}

/// The trained MNIST CNN fixture converted with `options`, calibrated on the first `calibration`
/// MNIST train images; also returns the imported ANN and the MNIST test set.
func convertedMNISTFixture(_ options: ConversionOptions, calibration n: Int)
    throws -> (ann: Network, snn: Network, report: ConversionReport, test: IDXDataset) {
    let model = try ONNXImporter.load(path: TestPaths.fixtures + "/mnist-cnn.onnx")
    let train = try IDXDataset(folder: TestPaths.sharedData + "/mnist", split: "train")
    let (snn, report) = try Converter.convert(model.network, calibration: (0..<n).map { train.image($0) },
                                              calibrationData: "mnist train 0..<\(n)", source: "mnist-cnn.onnx", options: options,
                                              importNotes: model.notes)
    return (model.network, snn, report, try IDXDataset(folder: TestPaths.sharedData + "/mnist"))
}

/// The zoo's branchy network (residual add, concat, slice, upsample, signed IBT and IF layers; seed 5, about 15%
/// firing) and `count` synthetic inputs (seed 4), the tests' small network with every conversion rule in it.
func branchyWithInputs(_ count: Int) throws -> (net: Network, inputs: [[Float]]) {
    let net = try ModelSource.zoo("branchy", seed: 5, targetRate: 0.15)
    let src = SyntheticSource(shape: net.inputShape, seed: 4, count: count)
    return (net, try (0..<count).map { try src.sample($0).input })
}

/// `net` converted with `options`, calibrated on `calibration` (the branchy network's inputs).
func convertBranchy(_ net: Network, calibration: [[Float]], options: ConversionOptions) throws -> (Network, ConversionReport) {
    try Converter.convert(net, calibration: calibration, calibrationData: "synthetic", source: "branchy", options: options)
}

/// The tests' seeded generator: SpikeCore's SplitMix64 with the tests' helpers.
typealias SplitMix = SplitMix64

extension SplitMix64 {
    init(_ seed: UInt64) { self.init(seed: seed) }
    init(state: UInt64) { self.init(seed: state) }
    /// A uniform integer in 0..<n.
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(max(1, n))) }
    /// A uniform Float in [0, 1) with 24 bits.
    mutating func unit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
