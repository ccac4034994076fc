import SpikeANN
import SpikeCore

/// Which activation statistic sets a layer's normalization factor λ.
public enum Statistic: Sendable, Equatable, CustomStringConvertible {
    case max
    /// A percentile of |a| in (0, 100], e.g. 99.9 or 99.99 (Rueckauer et al. 2017).
    case percentile(Double)

    /// Parses `max`, `p99.9`, `p99.99`, `p95`.
    public init(parsing s: String) throws {
        if s == "max" { self = .max; return }
        if s.hasPrefix("p"), let v = Double(s.dropFirst()), v > 0, v <= 100 { self = .percentile(v); return }
        throw SpikeError("statistic '\(s)': expected max, p99.9, p99.99 or another pNN.N with 0 < NN.N <= 100")
    }
    public var description: String {
        switch self { case .max: "max"; case .percentile(let p): "p\(p)" }
    }
}

/// Per-layer, per-channel statistics of |activation| over calibration samples, from the ANN reference.
///
/// Two passes: the first finds each channel's maximum, the second fills 2048-bin histograms over
/// [0, max] per channel and per layer, from which percentiles are read with linear interpolation
/// inside the bin (resolution max/2048). Memory is independent of the number of samples.
public struct CalibrationStats: Sendable {
    public static let bins = 2048
    /// Per layer: per-channel max |a| (empty for layers without neurons).
    public private(set) var channelMax: [[Float]]
    public private(set) var layerMax: [Float]
    var channelHist: [[[Int32]]]
    var layerHist: [[Int64]]
    public private(set) var samples = 0

    public init(network: Network, samples inputs: [[Float]]) throws {
        let f = try DenseForward(network)
        let L = network.layers.count
        var cmax = network.layers.map { $0.op.hasNeurons ? [Float](repeating: 0, count: $0.shape.channels) : [] }
        var lmax = [Float](repeating: 0, count: L)
        for x in inputs {
            let outs = f.run(x)
            for (i, l) in network.layers.enumerated() where l.op.hasNeurons {
                let c = l.shape.channels
                for k in 0..<outs[i].count {
                    let a = abs(outs[i][k])
                    if a > cmax[i][k % c] { cmax[i][k % c] = a }
                }
                lmax[i] = cmax[i].max() ?? 0
            }
        }
        channelMax = cmax
        layerMax = lmax
        channelHist = network.layers.map { $0.op.hasNeurons ? [[Int32]](repeating: [Int32](repeating: 0, count: Self.bins), count: $0.shape.channels) : [] }
        layerHist = network.layers.map { $0.op.hasNeurons ? [Int64](repeating: 0, count: Self.bins) : [] }
        let nb = Float(Self.bins)
        for x in inputs {
            let outs = f.run(x)
            for (i, l) in network.layers.enumerated() where l.op.hasNeurons {
                let c = l.shape.channels
                let lm = layerMax[i]
                for k in 0..<outs[i].count {
                    let a = abs(outs[i][k]), ch = k % c
                    let cm = channelMax[i][ch]
                    if cm > 0 { channelHist[i][ch][Swift.min(Self.bins - 1, Int(a / cm * nb))] += 1 }
                    if lm > 0 { layerHist[i][Swift.min(Self.bins - 1, Int(a / lm * nb))] += 1 }
                }
            }
        }
        samples = inputs.count
    }

    static func percentile(_ hist: [Int32], _ hist64: [Int64]?, max m: Float, _ p: Double) -> Float {
        let counts: [Int64] = hist64 ?? hist.map(Int64.init)
        let total = counts.reduce(0, +)
        guard total > 0, m > 0 else { return 0 }
        let target = p / 100 * Double(total)
        var acc: Int64 = 0
        for (b, n) in counts.enumerated() {
            if Double(acc + n) >= target {
                let within = n > 0 ? (target - Double(acc)) / Double(n) : 0
                return Swift.min(m, m * Float((Double(b) + within) / Double(Self.bins)))
            }
            acc += n
        }
        return m
    }

    /// λ of layer `i` for the whole layer.
    public func layerValue(_ i: Int, _ s: Statistic) -> Float {
        switch s {
        case .max: return layerMax[i]
        case .percentile(let p): return Self.percentile([], layerHist[i], max: layerMax[i], p)
        }
    }

    /// λ of layer `i`, one per output channel.
    public func channelValues(_ i: Int, _ s: Statistic) -> [Float] {
        switch s {
        case .max: return channelMax[i]
        case .percentile(let p): return channelMax[i].indices.map { Self.percentile(channelHist[i][$0], nil, max: channelMax[i][$0], p) }
        }
    }
}
