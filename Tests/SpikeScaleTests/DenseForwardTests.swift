import Foundation
import Testing
import SpikeCore
import SpikeANN

// Checks the ANN reference executor (SpikeANN.DenseForward) layer by layer against naive loops.


private func referencePercentile(_ sorted: [Float], _ p: Double) -> Float {
    guard !sorted.isEmpty else { return 0 }
    let pos = p / 100 * Double(sorted.count - 1)
    let k = Int(pos.rounded(.down)), f = Float(pos - Double(k))
    return k + 1 < sorted.count ? sorted[k] + f * (sorted[k + 1] - sorted[k]) : sorted[k]
}

@Suite struct DenseForwardTests {
    @Test("conv matches the naive loop", arguments: denseForwardConvCases)
    func convMatchesNaive(_ c: DenseForwardConvCase) throws {
        var rng = SplitMix(0xC0FFEE &+ UInt64(c.name.utf8.count))
        var b = NetworkBuilder(name: "conv", input: c.input)
        let nW = c.window.kernelH * c.window.kernelW * (c.input.channels / c.groups) * c.outC
        try b.add("conv", .conv(c.window, outChannels: c.outC, groups: c.groups), neuron: c.neuron,
                  weights: randomArray(nW, &rng), bias: c.bias ? randomArray(c.outC, &rng) : [])
        try checkNetwork(try b.build(), seed: 7, im2colLimit: c.im2colLimit)
    }

    // MARK: - Dense, pooling, routing, add

    @Test func denseMatchesNaive() throws {
        var rng = SplitMix(11)
        var b = NetworkBuilder(name: "dense", input: Shape(3, 4, 5))
        try b.add("fc1", .dense(outFeatures: 13), neuron: .integrateAndFire(),
                  weights: randomArray(60 * 13, &rng), bias: randomArray(13, &rng))
        try b.add("fc2", .dense(outFeatures: 7), neuron: .ibt(alpha: 0.1), weights: randomArray(13 * 7, &rng))
        try b.add("out", .dense(outFeatures: 4), neuron: .accumulator,
                  weights: randomArray(7 * 4, &rng), bias: randomArray(4, &rng))
        try checkNetwork(try b.build(), seed: 12)
    }

    @Test func poolingMatchesNaive() throws {
        var b = NetworkBuilder(name: "pool", input: Shape(9, 10, 3))
        // Pooling straight off the (signed) input so negative values and padding both matter.
        try b.add("avg_incl", .avgPool(Window(kernel: 3, stride: 2, pad: 1), countIncludePad: true), inputs: [0],
                  neuron: .accumulator)
        try b.add("avg_excl", .avgPool(Window(kernel: 3, stride: 2, pad: 1), countIncludePad: false), inputs: [0],
                  neuron: .ibt(alpha: 0.5))
        try b.add("avg_relu", .avgPool(Window(kernel: 2, stride: 2), countIncludePad: false), inputs: [0],
                  neuron: .integrateAndFire())
        try b.add("max_same", .maxPool(Window(kernelH: 2, kernelW: 2, strideH: 1, strideW: 1,
                                              padTop: 0, padLeft: 0, padBottom: 1, padRight: 1)), inputs: [0])
        try b.add("max_s2", .maxPool(Window(kernel: 3, stride: 2, pad: 1)), inputs: [0])
        try b.add("max_dil", .maxPool(Window(kernel: 2, stride: 1, pad: 0, dilation: 2)), inputs: [0])
        try b.add("gap", .globalAvgPool, inputs: [0], neuron: .accumulator)
        try b.add("gap_relu", .globalAvgPool, inputs: [0], neuron: .integrateAndFire())
        try checkNetwork(try b.build(outputs: [1, 2, 3, 4, 5, 6, 7, 8]), seed: 21)
    }

    @Test func routingMatchesNaive() throws {
        var rng = SplitMix(31)
        var b = NetworkBuilder(name: "route", input: Shape(4, 5, 3))
        let c1 = try b.add("c1", .conv(Window(kernel: 3, pad: 1), outChannels: 6, groups: 1), neuron: .ibt(alpha: 0.1),
                           weights: randomArray(9 * 3 * 6, &rng), bias: randomArray(6, &rng))
        let cat = try b.add("cat", .concat, inputs: [0, c1, 0])
        let sl = try b.add("slice", .channelSlice(start: 2, count: 5), inputs: [cat])
        let up = try b.add("up", .upsample(factor: 2), inputs: [sl])
        let up3 = try b.add("up3", .upsample(factor: 3), inputs: [c1])
        let fl = try b.add("flat", .flatten, inputs: [up])
        try b.add("fc", .dense(outFeatures: 3), inputs: [fl], neuron: .accumulator,
                  weights: randomArray(8 * 10 * 5 * 3, &rng), bias: randomArray(3, &rng))
        try checkNetwork(try b.build(outputs: [up3, b.last]), seed: 32)
    }

    @Test func addMatchesNaive() throws {
        var rng = SplitMix(41)
        let s = Shape(5, 4, 6)
        var b = NetworkBuilder(name: "add", input: s)
        let a = try b.add("a", .conv(Window(kernel: 3, pad: 1), outChannels: 6, groups: 1), inputs: [0],
                          neuron: .integrateAndFire(), weights: randomArray(9 * 36, &rng))
        let c = try b.add("c", .conv(Window(kernel: 1), outChannels: 6, groups: 1), inputs: [0],
                          neuron: .ibt(alpha: 0.1), weights: randomArray(36, &rng), bias: randomArray(6, &rng))
        let plain = try b.add("sum", .add, inputs: [0, a], neuron: .integrateAndFire())
        let scaled = try b.add("scaled", .add, inputs: [a, c, 0], neuron: .ibt(alpha: 0.2),
                               weights: randomArray(3 * 6, &rng, scale: 2), bias: randomArray(6, &rng))
        let acc = try b.add("acc", .add, inputs: [plain, scaled], neuron: .accumulator, bias: randomArray(6, &rng))
        try checkNetwork(try b.build(outputs: [acc]), seed: 42)
    }

    /// A small mixed network end to end, plus the timing, prediction and single-layer entry points.
    @Test func mixedNetworkAndAPI() throws {
        var rng = SplitMix(51)
        var b = NetworkBuilder(name: "mixed", input: Shape(16, 16, 3))
        try b.add("c1", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 8, groups: 1), neuron: .ibt(alpha: 0.1),
                  weights: randomArray(9 * 3 * 8, &rng), bias: randomArray(8, &rng))
        let c1 = b.last
        try b.add("dw", .conv(Window(kernel: 3, pad: 1), outChannels: 8, groups: 8), neuron: .integrateAndFire(),
                  weights: randomArray(9 * 8, &rng), bias: randomArray(8, &rng))
        try b.add("pw", .conv(Window(kernel: 1), outChannels: 8, groups: 2), neuron: .integrateAndFire(),
                  weights: randomArray(4 * 8, &rng))
        try b.add("res", .add, inputs: [c1, b.last], neuron: .integrateAndFire())
        try b.add("mp", .maxPool(Window(kernel: 2, stride: 2)))
        try b.add("c2", .conv(Window(kernel: 3, pad: 2, dilation: 2), outChannels: 12, groups: 2), neuron: .integrateAndFire(),
                  weights: randomArray(9 * 4 * 12, &rng), bias: randomArray(12, &rng))
        try b.add("gap", .globalAvgPool, neuron: .integrateAndFire())
        try b.add("fc", .dense(outFeatures: 5), neuron: .accumulator, weights: randomArray(12 * 5, &rng),
                  bias: randomArray(5, &rng))
        let net = try b.build()
        try checkNetwork(net, seed: 52)

        let fw = try DenseForward(net)
        let input = randomArray(net.inputShape.count, &rng)
        let outs = fw.run(input)
        let (timedOuts, seconds) = fw.runTimed(input)
        #expect(seconds.count == net.layers.count)
        #expect(seconds.allSatisfy { $0 >= 0 })
        for i in outs.indices { #expect(timedOuts[i] == outs[i]) }
        #expect(fw.predict(input) == [outs[net.layers.count - 1]])
        for i in 1..<net.layers.count {
            let single = fw.forward(layer: i, inputs: net.layers[i].inputs.map { outs[$0] })
            #expect(single == outs[i], "forward(layer: \(i))")
        }
    }

    @Test func activationLayersMatchNaive() throws {
        var rng = SplitMix(77)
        var b = NetworkBuilder(name: "acts", input: Shape(5, 6, 4))
        try b.add("c", .conv(Window(kernel: 3, pad: 1), outChannels: 6, groups: 1), neuron: .accumulator,
                  weights: randomArray(9 * 4 * 6, &rng), bias: randomArray(6, &rng))
        let c = b.last
        for f: ActivationFunction in [.relu, .leakyRelu(alpha: 0.1), .sigmoid, .hardSwish, .swish, .clip(min: -0.5, max: 0.7), .softmax] {
            try b.add("a-\(f.name)", .activation(f), inputs: [c])
        }
        try checkNetwork(try b.build(outputs: [b.last]), seed: 5)
    }

    @Test func rejectsInvalidNetwork() throws {
        var b = NetworkBuilder(name: "bad", input: Shape(4, 4, 2))
        try b.add("c", .conv(Window(kernel: 3, pad: 1), outChannels: 2, groups: 1), neuron: .integrateAndFire(),
                  weights: [Float](repeating: 0.1, count: 36))
        var net = try b.build()
        net.layers[1].weights.removeLast()
        #expect(throws: SpikeError.self) { try DenseForward(net) }
    }

    @Test(arguments: [1, 2, 5, 17, 100, 1000, 4099])
    func activationStatsMatchSorting(_ n: Int) {
        var rng = SplitMix(UInt64(n))
        // Many exact zeros and repeated values, as in ReLU outputs.
        let x: [Float] = (0..<n).map { _ in
            let r = Float.random(in: 0..<1, using: &rng)
            if r < 0.4 { return 0 }
            if r < 0.5 { return -0.5 }
            return Float.random(in: -3..<3, using: &rng)
        }
        let sorted = x.map(abs).sorted()
        #expect(ActivationStats.maxAbs(x) == sorted.last!)
        let mean = sorted.reduce(0.0) { $0 + Double($1) } / Double(n)
        #expect(abs(Double(ActivationStats.meanAbs(x)) - mean) <= 1e-5 * max(1, mean))
        let ps: [Double] = [99.99, 0, 50, 99.9, 100, 90, 12.5]
        let got = ActivationStats.percentilesAbs(x, ps)
        for (p, v) in zip(ps, got) {
            let want = referencePercentile(sorted, p)
            #expect(abs(v - want) <= 1e-5 * max(1, abs(want)), "p\(p) of \(n)")
            #expect(ActivationStats.percentileAbs(x, p) == v)
        }
        let nonzero = sorted.filter { $0 != 0 }
        for p in [99.9, 50.0] {
            let want = referencePercentile(nonzero, p)
            #expect(abs(ActivationStats.percentileAbs(x, p, ignoreZeros: true) - want) <= 1e-5 * max(1, abs(want)))
        }
    }

    @Test func activationStatsEdgeCases() {
        #expect(ActivationStats.maxAbs([]) == 0)
        #expect(ActivationStats.meanAbs([]) == 0)
        #expect(ActivationStats.percentileAbs([], 99.9) == 0)
        #expect(ActivationStats.percentileAbs([0, 0], 99.9, ignoreZeros: true) == 0)
        #expect(ActivationStats.percentileAbs([-4], 50) == 4)
        #expect(ActivationStats.percentileAbs([1, -2, 3, -4], 100) == 4)
        #expect(ActivationStats.percentileAbs([1, -2, 3, -4], 0) == 1)
        #expect(ActivationStats.percentileAbs([1, -2, 3, -4], 50) == 2.5)

        var s = ActivationSummary()
        s.add([1, -3, 0])
        var t = ActivationSummary()
        t.add([2])
        s.merge(t)
        #expect(s.count == 4)
        #expect(s.maxAbs == 3)
        #expect(s.meanAbs == 1.5)
    }
}
