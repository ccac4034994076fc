import Foundation
import Testing
import SpikeCore
import SpikeEngine
import SpikeConvert
import SpikeRun

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
                let own = partition.layers[i].blocks[r].own
                for j in 0..<own.count { full[i][own.lower + j] = v[j] }
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
