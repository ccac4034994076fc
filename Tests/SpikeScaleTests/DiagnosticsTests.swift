import Foundation
import Testing
import TestSupport
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeRun
import SpikeANN
import SpikeData

/// Layer values (`--layer-errors`) and the count max-pool gate.
@Suite("Layer values and max-pool gates")
struct DiagnosticsTests {
    /// Tiny-YOLOv3 topology at 64x64 (six max-pools, one with stride 1 and one-sided padding), seeded
    /// weights scaled to a 15% firing rate.
    static func network() throws -> Network { try ModelSource.load("zoo:tiny-yolov3", seed: 3, targetRate: 0.15, inputSize: 64) }

    /// Every layer's full decoded values, assembled from the ranks' owned pieces.
    static func layerValues(_ net: Network, ranks: Int, config: SimulationConfig, input: [Float]) throws -> [[Float]] {
        let partition = try Partition(network: net, ranks: ranks)
        let pieces = try LocalGroup(size: ranks).run { t -> RankSampleResultBox in
            let sim = try RankSimulator(network: net, partition: partition, transport: t, config: config)
            return RankSampleResultBox(try sim.run(sample: 0, input: input))
        }
        var full = net.layers.map { [Float](repeating: .nan, count: $0.shape.count) }
        for (r, p) in pieces.enumerated() {
            for (i, v) in p.value.layerValues.enumerated() where !v.isEmpty {
                #expect(v.count == partition.layers[i].blocks[r].ownedCount(channels: net.layers[i].shape.channels), "layer \(net.layers[i].name), rank \(r)")
                partition.place(v, rank: r, layer: i, channels: net.layers[i].shape.channels, into: &full[i])
            }
        }
        return net.layers.indices.map { RankSimulator.recordsValues(net, $0) ? full[$0] : [] }
    }

    @Test("Count gate: every max-pool's count is exactly the max of its window's input counts; same bits on 1 and 2 ranks")
    func countGateIsExactMax() throws {
        let net = try Self.network()
        let input = try SyntheticSource(shape: net.inputShape, seed: 5, count: 1).sample(0).input
        var cfg = SimulationConfig(timesteps: 24, seed: 2, encoder: .bernoulli)
        cfg.layerValues = true
        cfg.maxPoolGate = .count
        let one = try Self.layerValues(net, ranks: 1, config: cfg, input: input)
        let two = try Self.layerValues(net, ranks: 2, config: cfg, input: input)
        #expect(one.map { $0.map(\.bitPattern) } == two.map { $0.map(\.bitPattern) })
        var pools = 0, active = 0
        for (i, l) in net.layers.enumerated() {
            guard case .maxPool(let w) = l.op else { continue }
            pools += 1
            let src = one[l.inputs[0]], s = net.layers[l.inputs[0]].shape, o = l.shape
            #expect(!src.isEmpty)
            for oy in 0..<o.height {
                for ox in 0..<o.width {
                    for ch in 0..<o.channels {
                        var m = -Float.infinity
                        for ky in 0..<w.kernelH {
                            let iy = oy * w.strideH - w.padTop + ky
                            guard iy >= 0 && iy < s.height else { continue }
                            for kx in 0..<w.kernelW {
                                let ix = ox * w.strideW - w.padLeft + kx
                                guard ix >= 0 && ix < s.width else { continue }
                                m = max(m, src[(iy * s.width + ix) * s.channels + ch])
                            }
                        }
                        let got = one[i][(oy * o.width + ox) * o.channels + ch]
                        if got != 0 { active += 1 }
                        #expect(got == m, "\(l.name) (\(oy),\(ox),\(ch)): \(got) vs max \(m)")
                    }
                }
            }
        }
        #expect(pools == 6 && active > 100)
        // The leader gate loses events when the leader changes: never above the max, below it somewhere.
        cfg.maxPoolGate = .leader
        let leader = try Self.layerValues(net, ranks: 1, config: cfg, input: input)
        var below = 0
        for (i, l) in net.layers.enumerated() {
            guard case .maxPool = l.op else { continue }
            for (a, b) in zip(leader[i], one[i]) where a < b { below += 1 }
        }
        #expect(below > 0)
    }

    @Test("Layer errors: values are floor(a·T)/T of constant inputs; bias, saturation and correlation as computed by hand")
    func layerErrors() throws {
        // One dense IF layer fed a constant analog input: after T steps the count is floor(a·T)
        // (reset by subtraction, at most one spike per step), so r ≤ a, |r − a| < 1/T below θ, and
        // a > θ saturates at r = θ.
        var b = NetworkBuilder(name: "one", input: Shape(1, 1, 4))
        let l = try b.add("fc", .dense(outFeatures: 4), neuron: .integrateAndFire(),
                          weights: [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], bias: [])
        let out = try b.add("out", .dense(outFeatures: 1), inputs: [l], neuron: .accumulator, weights: [1, 1, 1, 1], bias: [])
        let net = try b.build(outputs: [out])
        let T = 50
        var cfg = SimulationConfig(timesteps: T)
        cfg.layerValues = true
        let input: [Float] = [0.25, 0.5, 0.73, 1.6]
        let v = try Self.layerValues(net, ranks: 1, config: cfg, input: input)
        let want: [Float] = [12, 25, 36, 50].map { Float($0) / Float(T) }   // floor(a·T), at most T
        #expect(zip(v[1], want).allSatisfy { abs($0 - $1) < 1e-6 }, "\(v[1])")
        var acc = LayerErrorAccumulator(network: net)
        acc.add(snn: v, ann: [input, input, [3.08]])
        let e = try #require(acc.result.first)
        #expect(acc.result.count == 1 && e.layer == "fc")   // the accumulator output is not a spiking layer
        #expect(abs(e.meanError - (-0.01 - 0.01 - 0.6) / 4) < 1e-6, "\(e.meanError)")
        #expect(abs(e.saturated - 0.25) < 1e-12)
        #expect(e.correlation! > 0.9)
    }
}

@Suite("Burst spikes")
struct BurstTests {
    @Test("A burst neuron carries activations above θ: count floor(a·T) up to burst·θ; the rate-limited ANN clips at burst·θ")
    func burstCarriesLargeActivations() throws {
        var b = NetworkBuilder(name: "one", input: Shape(1, 1, 3))
        var n = NeuronModel.ibt(alpha: 0.1)
        n.burst = 2
        let l = try b.add("fc", .dense(outFeatures: 3), neuron: n, weights: [1, 0, 0, 0, 1, 0, 0, 0, 1], bias: [])
        let out = try b.add("out", .dense(outFeatures: 1), inputs: [l], neuron: .accumulator, weights: [1, 1, 1], bias: [])
        let net = try b.build(outputs: [out])
        let T = 40
        var cfg = SimulationConfig(timesteps: T)
        cfg.layerValues = true
        // 1.6 is carried (1 or 2 spikes per step), 2.5 clips at 2, −1.5 (leaky: −0.15) is carried as negatives.
        let v = try DiagnosticsTests.layerValues(net, ranks: 1, config: cfg, input: [1.6, 2.5, -1.5])
        #expect(abs(v[1][0] - 1.6) < 1.0 / Float(T) + 1e-6 && abs(v[1][1] - 2) < 1e-6 && abs(v[1][2] + 0.15) < 1.0 / Float(T) + 1e-6, "\(v[1])")
        let clipped = try DenseForward(net, rateLimited: true).run([1.6, 2.5, -1.5])[1]
        #expect(zip(clipped, [1.6, 2, -0.15] as [Float]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(clipped)")
        // The neuron model survives the model file; invalid bursts are refused with the layer named.
        let dir = URL(fileURLWithPath: TestPaths.tempDir("burst"))
        defer { try? FileManager.default.removeItem(at: dir) }
        try ModelFile.write(net, to: dir.appendingPathComponent("m.json").path)
        #expect(try ModelFile.read(dir.appendingPathComponent("m.json").path).layers[1].neuron?.burst == 2)
        for bad in [0, 65] {
            var m = net
            m.layers[1].neuron!.burst = bad
            #expect { try m.validate() } throws: { "\($0)".contains("'fc'") && "\($0)".contains("burst") }
        }
        var zero = net
        zero.layers[1].neuron!.reset = .zero
        #expect(throws: SpikeError.self) { try zero.validate() }
    }

    @Test("Burst neurons eight at a time (vector lanes and scalar tail): spike counts equal the neuron equation's, lane by lane")
    func burstLanes() throws {
        // 21 neurons: two vectors of eight and a tail of five; inputs on, near and above the thresholds, both signs.
        let x: [Float] = [0.99, 1, 1.01, 2.5, 3.7, 0, -0.5, -12, 0.25, 7, -31, 1.5, 0.5, -10, 2, 0.75, 4.2, -20.5, 0.1, 1.9, -9.99]
        let n = x.count, cap = 3, T = 9
        var b = NetworkBuilder(name: "lanes", input: Shape(1, 1, n))
        var neuron = NeuronModel.ibt(alpha: 0.1)
        neuron.burst = cap
        var eye = [Float](repeating: 0, count: n * n)
        for i in 0..<n { eye[i * n + i] = 1 }
        let l = try b.add("fc", .dense(outFeatures: n), neuron: neuron, weights: eye, bias: [])
        let net = try b.build(outputs: [l])
        var cfg = SimulationConfig(timesteps: T)
        cfg.layerValues = true
        // The neuron equation, one neuron at a time (DESIGN.md section 3: burst k = min(⌊V/θ⌋, burst)).
        let th: Float = 1, negTh: Float = 10
        var pos = [Int](repeating: 0, count: n), neg = [Int](repeating: 0, count: n)
        for i in 0..<n {
            var V: Float = 0
            for _ in 0..<T {
                let v = V + x[i]
                if v >= th {
                    let k = min((v / th).rounded(.down), Float(cap)); V = v - k * th; pos[i] += Int(k)
                } else if v <= -negTh {
                    let k = min((-v / negTh).rounded(.down), Float(cap)); V = v + k * negTh; neg[i] += Int(k)
                } else { V = v }
            }
        }
        #expect(pos.reduce(0, +) > 20 && neg.reduce(0, +) > 5, "the inputs must make both kinds of burst")
        let r = try simulateLocally(net, ranks: 1, config: cfg, inputs: [x])
        #expect(r.counters[0][1].positiveSpikes == Int64(pos.reduce(0, +)) && r.counters[0][1].negativeSpikes == Int64(neg.reduce(0, +)))
        let v = try DiagnosticsTests.layerValues(net, ranks: 1, config: cfg, input: x)[1]
        for i in 0..<n where neg[i] == 0 {
            #expect(abs(v[i] - Float(pos[i]) / Float(T)) < 1e-6, "neuron \(i) (input \(x[i])): value \(v[i]), expected \(pos[i]) spikes")
        }
        for i in 0..<n where neg[i] > 0 { #expect(v[i] < 0 && pos[i] == 0, "neuron \(i) (input \(x[i])): value \(v[i])") }
    }

    @Test("Burst events cross ranks exactly: same outputs, counters and layer values on 1, 2 and 3 ranks", .tags(.slow))
    func burstRankInvariance() throws {
        let base = try ModelSource.load("zoo:tiny-yolov3", seed: 3, targetRate: 0.4, inputSize: 96)
        var net = base
        for i in net.layers.indices where net.layers[i].neuron?.kind == .signedIBT { net.layers[i].neuron!.burst = 3 }
        let input = try SyntheticSource(shape: net.inputShape, seed: 6, count: 1).sample(0).input.map { $0 * 3 }
        var cfg = SimulationConfig(timesteps: 12, seed: 2, encoder: .direct)
        cfg.layerValues = true
        let one = try DiagnosticsTests.layerValues(net, ranks: 1, config: cfg, input: input)
        // Bursts happen: some layer value exceeds one spike per step.
        #expect(one.contains { $0.contains { abs($0) > 1 } })
        for r in [2, 3] {
            let other = try DiagnosticsTests.layerValues(net, ranks: r, config: cfg, input: input)
            #expect(one.map { $0.map(\.bitPattern) } == other.map { $0.map(\.bitPattern) }, "\(r) ranks")
        }
        let a = try simulateLocally(net, ranks: 1, config: cfg, inputs: [input])
        let c = try simulateLocally(net, ranks: 3, config: cfg, inputs: [input])
        #expect(a.counters == c.counters)
        #expect(a.outputs.map { $0.map { $0.map(\.bitPattern) } } == c.outputs.map { $0.map { $0.map(\.bitPattern) } })
    }
}
