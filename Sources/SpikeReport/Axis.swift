import Foundation

/// How an axis maps values to positions.
public enum AxisScale: String, Sendable, Codable, Equatable {
    case linear
    /// Logarithmic, ticks at 1-2-5 steps or decades.
    case log10
    /// Logarithmic, ticks at powers of two (timesteps 8, 16, ..., 1024).
    case log2

    public var isLog: Bool { self != .linear }
}

/// A value axis: label, scale and optional forced bounds or tick positions.
public struct Axis: Sendable, Equatable {
    public var label: String
    public var scale: AxisScale
    /// Forced lower / upper bound (otherwise from the data, padded and rounded to ticks).
    public var min: Double?
    public var max: Double?
    /// Explicit tick positions (e.g. the timesteps that were run); they widen the range to include them.
    public var ticks: [Double]?
    /// Linear axes only: the range always includes 0.
    public var includeZero: Bool

    public init(_ label: String = "", scale: AxisScale = .linear, min: Double? = nil, max: Double? = nil,
                ticks: [Double]? = nil, includeZero: Bool = false) {
        self.label = label; self.scale = scale; self.min = min; self.max = max
        self.ticks = ticks; self.includeZero = includeZero
    }
}

/// Tick positions at "nice" values.
public enum Ticks {
    /// Step of about `(hi - lo) / target` rounded to 1, 2 or 5 × 10^k.
    public static func niceStep(_ lo: Double, _ hi: Double, target: Int = 5) -> Double {
        let span = hi - lo
        guard span > 0, span.isFinite else { return 1 }
        let raw = span / Double(Swift.max(1, target))
        let e = floor(Foundation.log10(raw))
        let mag = pow(10, e)
        let r = raw / mag
        let nice: Double = r <= 1 + 1e-9 ? 1 : r <= 2 + 1e-9 ? 2 : r <= 5 + 1e-9 ? 5 : 10
        return value(nice, Int(e))
    }

    /// `m × 10^e` computed so that decimal values come out correctly rounded (0.6, not 0.6000000000000001).
    static func value(_ m: Double, _ e: Int) -> Double {
        e >= 0 ? m * pow(10, Double(e)) : m / pow(10, Double(-e))
    }

    /// Multiples of a 1-2-5 step within [lo, hi] (ends included when they are multiples).
    public static func linear(_ lo: Double, _ hi: Double, target: Int = 5) -> [Double] {
        guard lo.isFinite, hi.isFinite else { return [] }
        if hi <= lo { return [lo] }
        let step = niceStep(lo, hi, target: target)
        return multiples(of: step, in: lo, hi)
    }

    static func multiples(of step: Double, in lo: Double, _ hi: Double) -> [Double] {
        // Express the step as n × 10^e with integer n, so ticks are i·n / 10^-e exactly rounded.
        let e = Int(floor(Foundation.log10(step) + 1e-9)) - 1
        let n = (step / pow(10, Double(e))).rounded()
        let first = Int((lo / step - 1e-9).rounded(.up)), last = Int((hi / step + 1e-9).rounded(.down))
        guard first <= last, last - first < 10_000 else { return [] }
        return (first...last).map { i in value(Double(i) * n, e) + 0.0 }
    }

    /// Ticks of a log10 axis over [lo, hi] (both > 0): decades when the range holds four or more
    /// (thinned to at most 8); else 1-2-5 steps within each decade when that gives 2 to 8 ticks, else
    /// 1-3 steps, else decades; linear ticks when the range holds too few of those.
    public static func log10(_ lo: Double, _ hi: Double) -> [Double] {
        guard lo > 0, hi >= lo, lo.isFinite, hi.isFinite else { return [] }
        let a = Int((Foundation.log10(lo) - 1e-9).rounded(.up)), b = Int((Foundation.log10(hi) + 1e-9).rounded(.down))
        let decades = b >= a ? Array(a...b) : []
        if decades.count >= 4 {
            let stride = Swift.max(1, Int((Double(decades.count) / 8).rounded(.up)))
            return Swift.stride(from: a, through: b, by: stride).map { value(1, $0) }
        }
        func steps(_ ms: [Double]) -> [Double] {
            var out = [Double]()
            for k in Int(floor(Foundation.log10(lo)))...Int(floor(Foundation.log10(hi))) {
                for m in ms {
                    let v = value(m, k)
                    if v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) { out.append(v) }
                }
            }
            return out
        }
        let s125 = steps([1, 2, 5])
        if s125.count >= 2 && s125.count <= 8 { return s125 }
        if decades.count >= 2 {
            let s13 = steps([1, 3])
            return s13.count <= 8 ? s13 : decades.map { value(1, $0) }
        }
        if s125.count >= 2 { return s125 }
        return linear(lo, hi, target: 4).filter { $0 > 0 }
    }

    /// Powers of two within [lo, hi] (thinned to at most 11), else `log10`'s ticks.
    public static func log2(_ lo: Double, _ hi: Double) -> [Double] {
        guard lo > 0, hi >= lo, lo.isFinite, hi.isFinite else { return [] }
        let a = Int((Foundation.log2(lo) - 1e-9).rounded(.up)), b = Int((Foundation.log2(hi) + 1e-9).rounded(.down))
        guard b - a + 1 >= 2 else { return log10(lo, hi) }
        let stride = Swift.max(1, Int((Double(b - a + 1) / 11).rounded(.up)))
        return Swift.stride(from: a, through: b, by: stride).map { pow(2, Double($0)) }
    }
}

/// An axis resolved against data: its domain, ticks and tick labels.
public struct ResolvedAxis: Sendable, Equatable {
    public let scale: AxisScale
    public let lo: Double
    public let hi: Double
    public let ticks: [Double]
    public let labels: [String]

    /// Values this axis can show (finite, and positive on a log axis).
    public static func usable(_ v: Double, _ scale: AxisScale) -> Bool { v.isFinite && (!scale.isLog || v > 0) }

    /// Domain from the usable `values` (plus forced bounds and explicit ticks), padded when empty or
    /// zero-width; linear domains are widened to tick multiples unless `snap` is false.
    public init(values: [Double], axis: Axis, target: Int = 5, snap: Bool = true) {
        scale = axis.scale
        var vals = values.filter { ResolvedAxis.usable($0, axis.scale) }
        if let t = axis.ticks { vals += t.filter { ResolvedAxis.usable($0, axis.scale) } }
        let fmin = axis.min.flatMap { ResolvedAxis.usable($0, axis.scale) ? $0 : nil }
        let fmax = axis.max.flatMap { ResolvedAxis.usable($0, axis.scale) ? $0 : nil }
        var lo = fmin ?? vals.min() ?? (axis.scale.isLog ? 1 : 0)
        var hi = fmax ?? vals.max() ?? (axis.scale.isLog ? 10 : 1)
        if !axis.scale.isLog && axis.includeZero { if fmin == nil { lo = Swift.min(lo, 0) }; if fmax == nil { hi = Swift.max(hi, 0) } }
        if lo > hi { swap(&lo, &hi) }
        if axis.scale.isLog {
            if hi <= lo * (1 + 1e-12) {
                if fmin == nil { lo /= 2 }
                if fmax == nil { hi *= 2 }
                if hi <= lo { lo /= 2; hi *= 2 }
            } else {
                // Pad 4 % of the log range on free sides so markers do not sit on the frame.
                let pad = pow(hi / lo, 0.04)
                if fmin == nil { lo /= pad }
                if fmax == nil { hi *= pad }
            }
            let ticks: [Double]
            if let t = axis.ticks {
                ticks = t.filter { ResolvedAxis.usable($0, .log10) && $0 >= lo * (1 - 1e-9) && $0 <= hi * (1 + 1e-9) }
            } else {
                ticks = axis.scale == .log2 ? Ticks.log2(lo, hi) : Ticks.log10(lo, hi)
            }
            self.lo = lo; self.hi = hi
            self.ticks = ticks
            self.labels = ticks.map(Fmt.compact)
        } else {
            if hi - lo <= Swift.max(abs(hi), abs(lo)) * 1e-12 {
                let d = lo == 0 ? 1 : abs(lo) * 0.1
                if fmin == nil { lo -= d }
                if fmax == nil { hi += d }
                if hi <= lo { lo -= d; hi += d }
            }
            var step = Ticks.niceStep(lo, hi, target: target)
            if snap && axis.ticks == nil {
                if fmin == nil { lo = (lo / step + 1e-9).rounded(.down) * step }
                if fmax == nil { hi = (hi / step - 1e-9).rounded(.up) * step }
                step = Ticks.niceStep(lo, hi, target: target)
            } else if axis.ticks != nil {
                let pad = (hi - lo) * 0.04
                if fmin == nil { lo -= pad }
                if fmax == nil { hi += pad }
            }
            let ticks: [Double]
            if let t = axis.ticks {
                ticks = t.filter { $0.isFinite && $0 >= lo - 1e-12 && $0 <= hi + 1e-12 }
                self.labels = ticks.map(Fmt.compact)
            } else {
                ticks = Ticks.multiples(of: step, in: lo, hi)
                self.labels = Fmt.tickLabels(ticks, step: step)
            }
            self.lo = lo; self.hi = hi
            self.ticks = ticks
        }
    }

    /// Position in [0, 1] of `v` along the domain (may fall outside for out-of-range values).
    public func fraction(_ v: Double) -> Double {
        if scale.isLog {
            let a = Foundation.log(lo), b = Foundation.log(hi)
            return b > a ? (Foundation.log(v) - a) / (b - a) : 0.5
        }
        return hi > lo ? (v - lo) / (hi - lo) : 0.5
    }

    public func contains(_ v: Double) -> Bool {
        ResolvedAxis.usable(v, scale) && v >= lo - (hi - lo) * 1e-9 && v <= hi + (hi - lo) * 1e-9
    }
}
