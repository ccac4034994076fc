import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData
import SpikeEngine

/// Layer-by-layer agreement of the SNN with the ANN of the same (converted) network: where a
/// conversion loses accuracy. Per layer, over every neuron of every compared sample, the SNN's
/// decoded value r = Σ s·θ / (T − burn-in) against the ANN's activation a, both in the normalized
/// units in which λ = 1 (so a rate of one event per step is θ).
public struct LayerErrorAccumulator: Sendable {
    struct Sums: Sendable {
        var n = 0.0, absDiff = 0.0, diff = 0.0, absANN = 0.0
        var r = 0.0, a = 0.0, rr = 0.0, aa = 0.0, ra = 0.0, saturated = 0.0
    }
    let names: [String]
    /// The largest value a step can carry: θ × burst of the spiking layer.
    let thresholds: [Float]
    let recorded: [Bool]
    var sums: [Sums]
    public private(set) var samples = 0

    public init(network: Network) {
        names = network.layers.map(\.name)
        recorded = network.layers.indices.map { RankSimulator.recordsValues(network, $0) }
        thresholds = network.layers.indices.map { i in
            var j = i
            while network.layers[j].neuron == nil, let k = network.layers[j].inputs.first, k > 0 { j = k }
            return (network.layers[j].neuron?.threshold ?? 1) * Float(network.layers[j].neuron?.burst ?? 1)
        }
        sums = [Sums](repeating: Sums(), count: network.layers.count)
    }

    /// Adds one sample: `snn[i]` and `ann[i]` are layer i's full values (empty where not recorded).
    public mutating func add(snn: [[Float]], ann: [[Float]]) {
        samples += 1
        for i in sums.indices where recorded[i] && !snn[i].isEmpty && snn[i].count == ann[i].count {
            var s = sums[i]
            let th = thresholds[i]
            for (x, y) in zip(snn[i], ann[i]) {
                let r = Double(x), a = Double(y), d = r - a
                s.n += 1; s.absDiff += abs(d); s.diff += d; s.absANN += abs(a)
                s.r += r; s.a += a; s.rr += r * r; s.aa += a * a; s.ra += r * a
                if abs(y) > th { s.saturated += 1 }
            }
            sums[i] = s
        }
    }

    public var result: [RunResult.LayerError] {
        sums.indices.compactMap { i in
            let s = sums[i]
            guard recorded[i], s.n > 0 else { return nil }
            let cov = s.ra / s.n - (s.r / s.n) * (s.a / s.n)
            let vr = s.rr / s.n - (s.r / s.n) * (s.r / s.n), va = s.aa / s.n - (s.a / s.n) * (s.a / s.n)
            return RunResult.LayerError(layer: names[i], meanAbsError: s.absDiff / s.n, meanError: s.diff / s.n,
                                        meanAbsANN: s.absANN / s.n, relativeError: s.absANN > 0 ? s.absDiff / s.absANN : 0,
                                        correlation: vr > 0 && va > 0 ? cov / (vr * va).squareRoot() : nil,
                                        saturated: s.saturated / s.n)
        }
    }
}
