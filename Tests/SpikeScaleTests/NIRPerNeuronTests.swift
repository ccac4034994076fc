import Foundation
import SpikeCore
import SpikeEngine
import SpikeImport
import Testing
import TestSupport

/// NIR parameters are per neuron: trained exports (learnable β and θ in snnTorch, τ in Sinabs, θ in Norse)
/// import as the layer's per-neuron arrays (`Layer.perNeuron`), simulate rank-invariantly, and go through the
/// native model file and NIR export bit for bit.
@Suite struct NIRPerNeuronTests {
    static let fixtures = NIRReference.all.filter { $0.hasSuffix("-perneuron") || $0.hasSuffix("-pertau") }

    @Test("Per-neuron fixtures: imported as per-neuron arrays; 1, 2 and 3 ranks identical; native file and NIR export bit for bit",
          arguments: fixtures)
    func fixture(_ name: String) throws {
        let ref = try NIRReference.load(name)
        let conv = try #require(NIRConvention(rawValue: ref.convention))
        let net = try NIRImporter.load(path: "\(NIRReference.folder)/\(name).nir", dt: ref.dt, convention: conv).network
        // Every neuron layer of these fixtures has neurons that differ (two per network).
        let varying = net.layers.filter { !$0.perNeuron.isEmpty }
        #expect(varying.count == 2, "\(name): \(varying.count) layers with per-neuron parameters")
        for l in varying {
            #expect(!l.perNeuron.threshold.isEmpty, "\(name) \(l.name): thresholds differ between neurons in the fixture")
            #expect(l.perNeuron.present.allSatisfy { $0.values.count == l.shape.count }, "\(name) \(l.name): one value per neuron")
            if ref.library != "norse" { #expect(!l.perNeuron.memoryDecay.isEmpty, "\(name) \(l.name): β / τ differ between neurons") }
        }
        let inputs = ref.inputs.indices.map { ref.engineInput($0) }
        let one = try outputTraces(net, ranks: 1, timesteps: ref.timesteps, inputs: inputs)
        let three = try outputTraces(net, ranks: 3, timesteps: ref.timesteps, inputs: inputs)
        #expect(one.traces == three.traces, "\(name): 1 and 3 ranks differ")
        #expect(one.counters == three.counters, "\(name): counters differ between 1 and 3 ranks")
        for s in inputs.indices { #expect(one.traces[s] == ref.engineOutput(s), "\(name) sample \(s): not the library's spikes") }

        // The native model (.json + .bin) and SpikeScale → NIR → SpikeScale keep every array bit for bit.
        let path = NIRTests.tempFile("\(name).json")
        let bin = String(path.dropLast(5)) + ".bin"
        defer { unlink(path); unlink(bin) }
        try ModelFile.write(net, to: path)
        let back = try ModelFile.read(path)
        try NIRExportTests.expectIdentical(net, back)
        #expect(back.layers.map(\.perNeuron) == net.layers.map(\.perNeuron))
        let viaNIR = try NIRExportTests.roundTrip(net, name)
        try NIRExportTests.expectIdentical(net, viaNIR)
        #expect(viaNIR.layers.map(\.perNeuron) == net.layers.map(\.perNeuron))
        #expect(try outputTraces(viaNIR, ranks: 2, timesteps: ref.timesteps, inputs: inputs).traces == one.traces)
    }

    /// A conv layer (3 channels, 4x4) whose LIF neurons have τ per channel (shape (3, 1, 1)) and θ per neuron
    /// (shape (3, 4, 4), C-major), against the same graph with τ written out per neuron.
    static func convGraph(tau: H5Node) -> NIRGraph {
        var rng = SplitMix64(seed: 1414)
        func u() -> Double { Double(rng.next() % 1000) / 1000 }
        func f(_ v: [Double], _ shape: [Int]) -> H5Node { .numbers(shape: shape, values: v) }
        let w = (0..<54).map { _ in (u() - 0.3) * 1.5 }
        let th = (0..<48).map { _ in 0.4 + u() }
        return NIRGraph(nodes: [
            "input": NIRNode(type: "Input", params: ["shape": f([2, 4, 4], [3])]),
            "conv": NIRNode(type: "Conv2d", params: ["weight": f(w, [3, 2, 3, 3]), "bias": f([0.05, 0, -0.05], [3]), "stride": f([1, 1], [2]),
                                                      "padding": f([1, 1], [2]), "dilation": f([1, 1], [2]), "groups": f([1], [])]),
            "lif": NIRNode(type: "LIF", params: ["tau": tau, "r": f([1], [1]), "v_leak": f([0], [1]), "v_threshold": f(th, [3, 4, 4])]),
            "output": NIRNode(type: "Output", params: ["shape": f([3, 4, 4], [3])]),
        ], edges: [NIREdge("input", "conv"), NIREdge("conv", "lif"), NIREdge("lif", "output")])
    }

    @Test("Per-channel τ (C, 1, 1) broadcasts over H and W like the same τ per neuron; ranks 1-3 identical; other shapes refused")
    func perChannel() throws {
        let taus = [2.0, 5.0, 12.0]   // steps of dt = 1 (snnTorch's form: a = 1 − dt/τ)
        let perChannel = Self.convGraph(tau: .numbers(shape: [3, 1, 1], values: taus))
        let full = Self.convGraph(tau: .numbers(shape: [3, 4, 4], values: taus.flatMap { [Double](repeating: $0, count: 16) }))
        let a = try NIRImporter.importGraph(perChannel, name: "pc", dt: 1, convention: .snntorch, file: "pc.nir").network
        let b = try NIRImporter.importGraph(full, name: "pn", dt: 1, convention: .snntorch, file: "pn.nir").network
        let la = try #require(a.layers.last), lb = try #require(b.layers.last)
        #expect(la.perNeuron.memoryDecay == [0.5, 0.8, Float(1 - 1.0 / 12)], "per channel: \(la.perNeuron.memoryDecay)")
        // τ written out per neuron but equal within each channel is stored per channel too; θ stays per neuron.
        #expect(lb.perNeuron.memoryDecay == la.perNeuron.memoryDecay && la.perNeuron.threshold.count == 48 && lb.perNeuron.threshold == la.perNeuron.threshold)
        var rng = SplitMix64(seed: 3)
        let T = 10
        let inputs = (0..<2).map { _ in (0..<(T * 32)).map { _ in Float(rng.next() % 3 == 0 ? 1 : 0) } }
        let ref = try outputTraces(b, ranks: 1, timesteps: T, inputs: inputs)
        #expect(ref.traces.joined().reduce(0, +) > 10, "the layer should fire")
        for ranks in 1...3 {
            let r = try outputTraces(a, ranks: ranks, timesteps: T, inputs: inputs)
            #expect(r.traces == ref.traces, "per-channel on \(ranks) rank(s) differs from per-neuron on 1")
            #expect(r.counters == ref.counters)
            #expect(try outputTraces(b, ranks: ranks, timesteps: T, inputs: inputs).traces == ref.traces)
        }
        // Neither one value, one per channel nor one per neuron: refused naming the node and the field.
        for (shape, count) in [([2], 2), ([4, 4], 16), ([3, 4], 12), ([1, 3, 1, 1], 3)] {
            let g = Self.convGraph(tau: .numbers(shape: shape, values: (0..<count).map { 2 + Double($0) }))
            do {
                _ = try NIRImporter.importGraph(g, name: "bad", dt: 1, convention: .snntorch, file: "bad.nir")
                Issue.record("tau of shape \(shape) accepted")
            } catch let e as SpikeError {
                #expect(e.message.contains("bad.nir") && e.message.contains("'lif'") && e.message.contains("'tau'") && e.message.contains("\(shape)"), "\(e.message)")
            }
        }
    }

    @Test("The per-neuron update with equal values gives the per-layer update's bits (fast path and per-neuron path agree)")
    func equalArraysMatchFastPath() throws {
        for name in ["snntorch-lif-mlp", "snntorch-cubalif-mlp", "norse-cubalif-mlp", "sinabs-lif-mlp"] {
            let ref = try NIRReference.load(name)
            let net = try NIRImporter.load(path: "\(NIRReference.folder)/\(name).nir", dt: ref.dt, convention: try #require(NIRConvention(rawValue: ref.convention))).network
            #expect(net.layers.allSatisfy { $0.perNeuron.isEmpty })
            var slow = net
            for i in slow.layers.indices {
                guard let nm = slow.layers[i].neuron, let d = nm.dynamics else { continue }
                let n = slow.layers[i].shape.count
                slow.layers[i].perNeuron.memoryDecay = [Float](repeating: d.memoryDecay, count: n)
                if d.synapseDecay != nil { slow.layers[i].perNeuron.synapseGain = [Float](repeating: d.synapseGain, count: n) }
                if nm.kind == .leaky { slow.layers[i].perNeuron.threshold = [Float](repeating: nm.threshold, count: n) }
            }
            try slow.validate()
            let inputs = ref.inputs.indices.map { ref.engineInput($0) }
            let fast = try outputTraces(net, ranks: 2, timesteps: ref.timesteps, inputs: inputs)
            let per = try outputTraces(slow, ranks: 2, timesteps: ref.timesteps, inputs: inputs)
            #expect(fast.traces == per.traces && fast.counters == per.counters, "\(name)")
        }
    }

    @Test("Native model: per-neuron arrays of a wrong length or on a non-leaky layer are refused naming the layer and field")
    func nativeValidation() throws {
        let ref = try NIRReference.load("snntorch-lif-mlp-perneuron")
        var net = try NIRImporter.load(path: "\(NIRReference.folder)/snntorch-lif-mlp-perneuron.nir", dt: ref.dt, convention: .snntorch).network
        let i = try #require(net.layers.firstIndex { !$0.perNeuron.isEmpty })
        net.layers[i].perNeuron.leak = [0, 0, 0]
        #expect(throws: SpikeError.self) { try net.validate() }
        do { try net.validate() } catch let e as SpikeError {
            #expect(e.message.contains("'\(net.layers[i].name)'") && e.message.contains("perNeuron.leak") && e.message.contains("3 values"), "\(e.message)")
        }
        net.layers[i].perNeuron.leak = []
        net.layers[i].perNeuron.threshold[0] = -1
        do { try net.validate(); Issue.record("negative threshold accepted") } catch let e as SpikeError {
            #expect(e.message.contains("perNeuron.threshold"), "\(e.message)")
        }
    }
}
