import Foundation

/// Text escaping and deterministic number formatting (no locale, fixed precision).
public enum Fmt {
    /// Escapes `& < > " '` for XML/HTML text and attribute values.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default:
                // Control characters other than tab/newline are not allowed in XML 1.0.
                if ch.value < 0x20 && ch != "\t" && ch != "\n" && ch != "\r" { out += " " }
                else if ch.value == 0xFFFE || ch.value == 0xFFFF { out += " " }
                else { out.unicodeScalars.append(ch) }
            }
        }
        return out
    }

    /// `value` with `decimals` digits after the point; never "-0".
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value > 0 ? "inf" : "-inf") }
        let d = max(0, min(decimals, 12))
        var s = String(format: "%.\(d)f", value)
        if s.hasPrefix("-"), s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) { s.removeFirst() }
        return s
    }

    /// SVG coordinate: two decimals.
    static func c(_ v: Double) -> String { fixed(v, 2) }

    /// Removes trailing zeros after a decimal point ("2.50" -> "2.5", "3.0" -> "3").
    static func trimZeros(_ s: String) -> String {
        guard s.contains("."), !s.contains("e") else { return s }
        var t = s
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }

    /// Compact human form with about three significant digits: 0, 0.0123, 12.3, 1234, 12.3k, 4.5M, 2e-6.
    public static func compact(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "inf" : "-inf") }
        let a = abs(v)
        if a == 0 { return "0" }
        let units: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        if a >= 1e4 {
            for (u, s) in units where a >= u * 0.9995 {
                let m = v / u
                if abs(m) >= 1000 && u == 1e15 { return scientific(v, 2) }
                return trimZeros(fixed(m, abs(m) >= 100 ? 0 : abs(m) >= 10 ? 1 : 2)) + s
            }
        }
        if a >= 100 { return fixed(v, 0) }
        if a >= 1e-3 {
            let e = Int(floor(log10(a)))
            return trimZeros(fixed(v, max(0, 2 - e)))
        }
        return scientific(v, 2)
    }

    /// Scientific form "1.5e-6" with up to `decimals` mantissa decimals (trailing zeros removed).
    public static func scientific(_ v: Double, _ decimals: Int) -> String {
        guard v.isFinite, v != 0 else { return compact(v) }
        var e = Int(floor(log10(abs(v))))
        var m = v / pow(10, Double(e))
        // Rounding may carry the mantissa to 10.
        if abs(Double(fixed(m, decimals)) ?? m) >= 10 { e += 1; m = v / pow(10, Double(e)) }
        return trimZeros(fixed(m, decimals)) + "e\(e)"
    }

    /// Tick labels for evenly spaced linear ticks with the given step: enough decimals to tell
    /// them apart, SI suffixes for large values and exponents for tiny ones.
    public static func tickLabels(_ ticks: [Double], step: Double) -> [String] {
        guard step > 0, step.isFinite else { return ticks.map(compact) }
        let maxAbs = ticks.map(abs).max() ?? 0
        let stepExp = Int(floor(log10(step) + 1e-9))
        if maxAbs >= 1e4 {
            let unitExp = min(15, 3 * Int(floor(log10(maxAbs) / 3 + 1e-9)))
            let suffix = ["", "k", "M", "G", "T", "P"][unitExp / 3]
            let d = max(0, unitExp - stepExp)
            let u = pow(10, Double(unitExp))
            return ticks.map { $0 == 0 ? "0" : fixed($0 / u, d) + suffix }
        }
        if maxAbs > 0 && maxAbs < 1e-3 {
            let unitExp = Int(floor(log10(maxAbs) + 1e-9))
            let d = max(0, unitExp - stepExp)
            let u = pow(10, Double(unitExp))
            return ticks.map { $0 == 0 ? "0" : fixed($0 / u, d) + "e\(unitExp)" }
        }
        let d = max(0, -stepExp)
        return ticks.map { fixed($0, d) }
    }

    /// Percent with one decimal, or "–" for nil/non-finite.
    public static func percent(_ v: Double?, decimals: Int = 1) -> String {
        guard let v, v.isFinite else { return "–" }
        return fixed(v * 100, decimals) + " %"
    }
}
