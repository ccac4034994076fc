import Testing
import SpikeCore
import SpikeEngine

/// One input neuron driving one neuron through a unit weight: the current is exactly x every step.
func singleNeuron(_ model: NeuronModel, weight: Float = 1) throws -> Network {
    var b = NetworkBuilder(name: "single", input: Shape(1, 1, 1))
    try b.add("n", .dense(outFeatures: 1), neuron: model, weights: [weight])
    return try b.build()
}

@Suite("Neuron dynamics against hand-computed cases")
struct DynamicsTests {
    @Test("IF with reset by subtraction fires floor(xT) or floor(xT)+1 times", arguments: [0.0, 0.1, 0.125, 0.25, 0.3, 1.0 / 3, 0.5, 0.625, 0.77, 0.999, 1.0])
    func ifSubtractCount(x: Double) throws {
        let net = try singleNeuron(.integrateAndFire(threshold: 1, reset: .subtract))
        for T in [1, 7, 32, 100] {
            let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: T, decoding: .spikes), inputs: [[Float(x)]])
            let spikes = r.counters[0][1].positiveSpikes
            let f = Int64((Double(Float(x)) * Double(T)).rounded(.down))
            #expect(spikes == f || spikes == f + 1, "x=\(x) T=\(T): \(spikes) spikes")
            #expect(r.counters[0][1].negativeSpikes == 0)
        }
    }

    @Test("IF with reset to zero loses the residual charge")
    func ifZero() throws {
        // x = 0.625: V = 0.625, 1.25 -> spike, V = 0; every second step: T/2 spikes (subtract gives floor(6.25) = 6).
        let net = try singleNeuron(.integrateAndFire(threshold: 1, reset: .zero))
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 10), inputs: [[0.625]])
        #expect(r.counters[0][1].positiveSpikes == 5)
        let s = try simulateLocally(try singleNeuron(.integrateAndFire()), ranks: 1, config: SimulationConfig(timesteps: 10), inputs: [[0.625]])
        #expect(s.counters[0][1].positiveSpikes == 6)
    }

    @Test("IBT with alpha 0.1 fires a negative spike only after ten times the negative charge")
    func ibtNegative() throws {
        let net = try singleNeuron(.ibt(alpha: 0.1))
        // x = -0.5 per step: the negative threshold is -θ/α = -10, reached at step 20 (exact in binary).
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 60), inputs: [[-0.5]])
        let steps = r.steps[0]
        #expect(steps[0..<19].allSatisfy { $0 == 0 }, "no spike before step 20")
        #expect(steps[19] == 1)
        #expect(r.counters[0][1].negativeSpikes == 3 && r.counters[0][1].positiveSpikes == 0)
        // The same charge on the positive side spikes every second step.
        let p = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 60), inputs: [[0.5]])
        #expect(p.counters[0][1].positiveSpikes == 30 && p.counters[0][1].negativeSpikes == 0)
        // Spike-count decoding of the negative side is alpha * x: 3 spikes of -1 over 60 steps = -0.05.
        let d = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 60, decoding: .spikes), inputs: [[-0.5]])
        #expect(d.outputs[0][0][0] == -0.05)
    }

    @Test("Signed linear IBT (alpha 1) is symmetric")
    func ibtLinear() throws {
        let net = try singleNeuron(.ibt(alpha: 1))
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 40), inputs: [[-0.25]])
        #expect(r.counters[0][1].negativeSpikes == 10)
    }

    @Test("LIF decays by tau and resets after a spike")
    func lifDecay() throws {
        // I = 0.15, tau = 0.9: V_t = 0.9 V_{t-1} + 0.15 first crosses 1 at t = 11 (V_11 ≈ 1.029);
        // after a spike the next step starts from 0, so it fires at 11, 22, 33.
        let net = try singleNeuron(.lif(tau: 0.9))
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 33), inputs: [[0.15]])
        let fired = r.steps[0].enumerated().filter { $0.element > 0 }.map { $0.offset + 1 }
        #expect(fired == [11, 22, 33])
        // Without leak (tau = 1) the same current fires at step 7 (0.15 * 7 = 1.05).
        let noLeak = try simulateLocally(try singleNeuron(.lif(tau: 1)), ranks: 1, config: SimulationConfig(timesteps: 7), inputs: [[0.15]])
        #expect(noLeak.steps[0].enumerated().filter { $0.element > 0 }.map { $0.offset + 1 } == [7])
    }

    @Test("Accumulator membrane decoding reads V_T / T")
    func accumulator() throws {
        let net = try singleNeuron(.accumulator, weight: 2)
        let r = try simulateLocally(net, ranks: 1, config: SimulationConfig(timesteps: 8), inputs: [[0.375]])
        #expect(r.outputs[0][0][0] == 0.75)
        #expect(r.counters[0][1].spikes == 0)
    }

    @Test("Initial membrane of half the threshold rounds the first spikes")
    func initialMembrane() throws {
        var m = NeuronModel.integrateAndFire()
        m.initialMembrane = 0.5
        let r = try simulateLocally(try singleNeuron(m), ranks: 1, config: SimulationConfig(timesteps: 10), inputs: [[0.26]])
        // 0.5 + 0.26 t crosses 1 at t = 2 and then every ~3.85 steps: 3 spikes in 10 steps (round(2.6)).
        #expect(r.counters[0][1].positiveSpikes == 3)
    }
}

/// Burst sizes counted against precomputed edges equal the Float division's floor, capped, at and around
/// every edge (the vector update of burst neurons relies on it).
@Suite("Burst size without division")
struct BurstCountTests {
    @Test("min(⌊v/θ⌋, cap) by comparisons equals the Float division's, within 2000 ulps of every edge and at random",
          arguments: [Float(1), 0.1, 0.7, 1 / Float(0.1), 3.3e-3, 0.9999999, 1234.5] as [Float])
    func edges(theta: Float) {
        for cap in 2...4 {
            let edges = BurstCount.edges(theta, upTo: cap)
            #expect(edges.count == cap - 1)
            func expected(_ v: Float) -> Float { min((v / theta).rounded(.down), Float(cap)) }
            var checked = 0
            for e in edges {
                var v = e
                for _ in 0..<2000 { v = v.nextDown }
                for _ in 0..<4000 {
                    if v >= theta { #expect(BurstCount.count(v, edges: edges) == expected(v), "θ \(theta), cap \(cap), v \(v)"); checked += 1 }
                    v = v.nextUp
                }
            }
            var g = SplitMix64(seed: 7)
            for _ in 0..<5000 {
                let v = theta * (1 + Float(g.next() % 1_000_000) / 1_000_000 * Float(cap + 1))
                #expect(BurstCount.count(v, edges: edges) == expected(v), "θ \(theta), cap \(cap), v \(v)")
            }
            #expect(checked >= (cap - 1) * 3000)
            #expect(BurstCount.count(.infinity, edges: edges) == Float(cap))
        }
    }
}
