import Foundation
import Testing
import SpikeAggregate
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

    @Test("IF with memory takes a spike back when its membrane falls below 0 after firing: eight-lane groups and the scalar tail equal a scalar model, on 1 and 2 ranks")
    func memoryNeuron() throws {
        var model = NeuronModel.integrateAndFire()
        model.memory = true; model.initialMembrane = 0.5
        let n = 20
        let w0 = (0..<n).map { Float(($0 * 5) % 17 - 6) / 8 }, w1 = (0..<n).map { Float(($0 * 3) % 13 - 6) / 8 }
        let (counts, back, pos) = try checkAgainstScalarModel(model, v0: 0.5, w0: w0, w1: w1, steps: 40) { v, count, u in
            if u >= 1 { v = u - 1; count += 1; return (1, false) }
            if u < 0 && count > 0 { v = u + 1; count -= 1; return (-1, true) }
            v = u; return (0, false)
        }
        #expect(back[0] > 0 && counts.allSatisfy { $0 >= 0 })
        // A plain IF neuron keeps every spike: never a negative one, and at least as many positive ones.
        model.memory = false
        let p = try simulateLocally(try twoSourceNetwork(model, w0, w1), ranks: 1, config: SimulationConfig(timesteps: 40, decoding: .spikes),
                                    inputs: [twoSourceInput])
        #expect(p.counters[0][2].negativeSpikes == 0 && p.counters[0][2].positiveSpikes >= pos - Int64(back[0]))
    }

    @Test("Signed IBT neurons with memory: +1 / −1 only while the net count allows, and a spike of either sign taken back; lanes and tail equal a scalar model, 1 and 2 ranks")
    func signedMemoryNeuron() throws {
        // Leaky (α = 0.25) IBT neurons with memory: θ/α = 4; weights in quarters.
        var model = NeuronModel.ibt(alpha: 0.25)
        model.memory = true
        let n = 20
        let w0 = (0..<n).map { Float(($0 * 5) % 17 - 9) / 4 }, w1 = (0..<n).map { Float(($0 * 3) % 13 - 5) / 4 }
        let (counts, back, _) = try checkAgainstScalarModel(model, v0: 0, w0: w0, w1: w1, steps: 48) { v, count, u in
            if u >= 1 && count >= 0 { v = u - 1; count += 1; return (1, false) }
            if u <= -4 && count <= 0 { v = u + 4; count -= 1; return (-1, false) }
            if u > 0 && count < 0 { v = u - 4; count += 1; return (1, true) }
            if u < 0 && count > 0 { v = u + 1; count -= 1; return (-1, true) }
            v = u; return (0, false)
        }
        #expect(back[0] > 0 && back[1] > 0 && counts.contains { $0 < 0 } && counts.contains { $0 > 0 }, "both signs fired and were taken back")
        // With a margin of 0.5 a spike is taken back only half a step past its firing point: fewer cancelling pairs.
        model.memoryMargin = 0.5
        let (_, fewer, _) = try checkAgainstScalarModel(model, v0: 0, w0: w0, w1: w1, steps: 48) { v, count, u in
            if u >= 1 && count >= 0 { v = u - 1; count += 1; return (1, false) }
            if u <= -4 && count <= 0 { v = u + 4; count -= 1; return (-1, false) }
            if u > 2 && count < 0 { v = u - 4; count += 1; return (1, true) }
            if u < -0.5 && count > 0 { v = u + 1; count -= 1; return (-1, true) }
            v = u; return (0, false)
        }
        #expect(fewer[0] + fewer[1] < back[0] + back[1])
    }

    @Test("Burst neurons with memory: up to `burst` spikes fired, and taken back, at once; lanes and tail equal a scalar model, 1 and 2 ranks")
    func burstMemoryNeuron() throws {
        // IF, burst 3, V0 = θ/2: k = min(⌊u⌋, 3) at u ≥ 1; j = min(⌈−u⌉, n, 3) taken back at u < 0 while n > 0.
        var model = NeuronModel.integrateAndFire()
        model.memory = true; model.initialMembrane = 0.5; model.burst = 3
        let n = 20
        let w0 = (0..<n).map { Float(($0 * 5) % 17 - 6) * 3 / 8 }, w1 = (0..<n).map { Float(($0 * 3) % 13 - 6) * 3 / 8 }
        var multi = 0
        let (counts, back, _) = try checkAgainstScalarModel(model, v0: 0.5, w0: w0, w1: w1, steps: 40) { v, count, u in
            if u >= 1 {
                let k = min(u.rounded(.down), 3); v = u - k; count += Int(k); if k > 1 { multi += 1 }
                return (Int(k), false)
            }
            if u < 0 && count > 0 {
                let j = min(min((-u).rounded(.up), Float(count)), 3); v = u + j; count -= Int(j); if j > 1 { multi += 1 }
                return (-Int(j), true)
            }
            v = u; return (0, false)
        }
        #expect(back[0] > 0 && multi > 0 && counts.allSatisfy { $0 >= 0 }, "bursts fired and taken back")
        // Signed IBT (α = 0.25: θ/α = 4), burst 3, with and without a margin: both signs fire and are taken back.
        var ibt = NeuronModel.ibt(alpha: 0.25)
        ibt.memory = true; ibt.burst = 3
        let s0 = (0..<n).map { Float(($0 * 5) % 17 - 9) * 3 / 4 }, s1 = (0..<n).map { Float(($0 * 3) % 13 - 5) * 3 / 4 }
        for h: Float in [0, 0.5] {
            ibt.memoryMargin = h
            let up = -h, down = h * 4
            let (c, b, _) = try checkAgainstScalarModel(ibt, v0: 0, w0: s0, w1: s1, steps: 48) { v, count, u in
                if u >= 1 && count >= 0 { let k = min(u.rounded(.down), 3); v = u - k; count += Int(k); return (Int(k), false) }
                if u <= -4 && count <= 0 { let k = min((-u / 4).rounded(.down), 3); v = u + k * 4; count -= Int(k); return (-Int(k), false) }
                if u > down && count < 0 {
                    let j = min(min(((u - down) / 4).rounded(.up), Float(-count)), 3); v = u - j * 4; count += Int(j); return (Int(j), true)
                }
                if u < up && count > 0 {
                    let j = min(min(((up - u) / 1).rounded(.up), Float(count)), 3); v = u + j; count -= Int(j); return (-Int(j), true)
                }
                v = u; return (0, false)
            }
            #expect(b[0] > 0 && b[1] > 0 && c.contains { $0 < 0 } && c.contains { $0 > 0 }, "h = \(h): both signs fired and were taken back")
        }
    }

    @Test("Memory is for IF and IBT neurons with reset by subtraction (bursts too); a model file keeps it")
    func memoryValidation() throws {
        var m = NeuronModel.lif(tau: 0.9)
        m.memory = true
        #expect(throws: SpikeError.self) { try m.validate(layer: "x") }
        var burst = NeuronModel.ibt(alpha: 0.1)
        burst.memory = true; burst.burst = 2
        try burst.validate(layer: "x")
        #expect(try JSONDecoder().decode(NeuronModel.self, from: try JSONEncoder().encode(burst)) == burst)
        var z = NeuronModel.integrateAndFire(reset: .zero)
        z.memory = true
        #expect { try z.validate(layer: "conv3") } throws: { "\($0)".contains("conv3") && "\($0)".contains("memory") }
        var ok = NeuronModel.integrateAndFire()
        ok.memoryMargin = 0.25
        #expect(throws: SpikeError.self) { try ok.validate(layer: "x") }   // a margin without memory
        ok.memory = true
        try ok.validate(layer: "x")
        ok.memoryMargin = 1
        #expect(throws: SpikeError.self) { try ok.validate(layer: "x") }
        ok.memoryMargin = 0.25
        let data = try JSONEncoder().encode(ok)
        #expect(try JSONDecoder().decode(NeuronModel.self, from: data) == ok)
        #expect(!String(decoding: try JSONEncoder().encode(NeuronModel.integrateAndFire()), as: UTF8.self).contains("memory"))
        // A run's network fingerprint tells memory neurons apart, and is the one from before the field for the others
        // (the value recorded for this network before memory existed), so their earlier runs still resume.
        let plain = try singleNeuron(.integrateAndFire())
        var withMemory = plain
        withMemory.layers[1].neuron?.memory = true
        #expect(RunIdentity.fingerprint(plain) == "21739c5442329bb7")
        #expect(RunIdentity.fingerprint(withMemory) != RunIdentity.fingerprint(plain))
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

/// The input of `twoSourceNetwork`: its two sources are fed 0.7 and −0.45 every step.
let twoSourceInput: [Float] = [0.7, -0.45]

/// Two signed linear IBT sources (θ = 1, α = 1, V0 = 0) that turn `twoSourceInput` into fixed trains of ±1 spikes, into
/// as many neurons of `model` as `w0` has weights (two groups of eight and a tail for 20), through `w0` and `w1`.
func twoSourceNetwork(_ model: NeuronModel, _ w0: [Float], _ w1: [Float]) throws -> Network {
    var b = NetworkBuilder(name: "two-sources", input: Shape(1, 1, 2))
    try b.add("src", .dense(outFeatures: 2), neuron: .ibt(alpha: 1), weights: [1, 0, 0, 1])
    try b.add("m", .dense(outFeatures: w0.count), neuron: model, weights: w0 + w1)
    return try b.build()
}

/// Runs `twoSourceNetwork(model, w0, w1)` for `steps` steps against a scalar model: the sources' IBT rule, then
/// `rule(&V, &netCount, V + I)` on each neuron (starting at V = `v0`), which sets V and the count and returns the
/// spike and whether it took one back. Weights in quarters or eighths keep every sum exact. Expects the engine's
/// spike counters and decoded counts on 1 rank, and the same bits on 2. Returns the final counts, the spikes taken
/// back (negative, positive) and the positive spikes.
func checkAgainstScalarModel(_ model: NeuronModel, v0: Float, w0: [Float], w1: [Float], steps T: Int,
                             rule: (inout Float, inout Int, Float) -> (spike: Int, tookBack: Bool)) throws
    -> (counts: [Int], back: [Int], positive: Int64) {
    let n = w0.count, x = twoSourceInput
    var src: [Float] = [0, 0], v = [Float](repeating: v0, count: n), count = [Int](repeating: 0, count: n)
    var pos: Int64 = 0, neg: Int64 = 0, back = [0, 0]
    for _ in 0..<T {
        var s: [Float] = [0, 0]
        for k in 0..<2 {
            let u = src[k] + x[k]
            if u >= 1 { src[k] = u - 1; s[k] = 1 } else if u <= -1 { src[k] = u + 1; s[k] = -1 } else { src[k] = u }
        }
        for j in 0..<n {
            var current: Float = 0
            if s[0] != 0 { current += s[0] * w0[j] }
            if s[1] != 0 { current += s[1] * w1[j] }
            let (spike, tookBack) = rule(&v[j], &count[j], v[j] + current)
            if spike > 0 { pos += Int64(spike) } else if spike < 0 { neg += Int64(-spike) }
            if tookBack { back[spike < 0 ? 0 : 1] += 1 }
        }
    }
    let net = try twoSourceNetwork(model, w0, w1)
    let cfg = SimulationConfig(timesteps: T, decoding: .spikes)
    let r = try simulateLocally(net, ranks: 1, config: cfg, inputs: [x])
    #expect(r.counters[0][2].positiveSpikes == pos && r.counters[0][2].negativeSpikes == neg)
    for j in 0..<n { #expect((r.outputs[0][0][j] * Float(T)).rounded() == Float(count[j]), "neuron \(j)") }
    let r2 = try simulateLocally(net, ranks: 2, config: cfg, inputs: [x])
    #expect(r2.counters == r.counters && r2.outputs == r.outputs)
    return (count, back, pos)
}
