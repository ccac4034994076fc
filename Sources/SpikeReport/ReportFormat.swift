import Foundation

// Number formats of the report's tables and axes.

func pct(_ v: Double?) -> String { Fmt.percent(v, decimals: 2) }
func num(_ v: Double) -> String { Fmt.compact(v) }
func num(_ v: Int64) -> String { Fmt.compact(Double(v)) }

/// Energy with a unit (J, mJ, µJ, nJ, pJ).
func joules(_ j: Double) -> String {
    guard j.isFinite else { return "–" }
    if j == 0 { return "0 J" }
    let units: [(Double, String)] = [(1, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ")]
    let (u, s) = units.first { abs(j) >= $0.0 } ?? (1e-12, "pJ")
    return Fmt.compact(j / u) + " " + s
}

/// The unit that suits picojoule values up to `maxPJ`: (divisor, name).
func energyUnit(maxPJ: Double) -> (Double, String) {
    if maxPJ >= 1e9 { return (1e9, "mJ") }
    if maxPJ >= 1e6 { return (1e6, "µJ") }
    if maxPJ >= 1e3 { return (1e3, "nJ") }
    return (1, "pJ")
}

func bits(_ b: Double) -> String {
    let mb = b / 8 / 1_048_576
    return "\(Fmt.compact(b)) bit (\(Fmt.compact(mb)) MiB)"
}

func metricName(_ detection: Bool) -> String { detection ? "mAP@0.5 (%)" : "top-1 accuracy (%)" }

/// A percentage axis that does not run past 100 % when the data stay within.
func percentAxis(_ label: String, _ values: [Double]) -> Axis {
    let v = values.filter(\.isFinite)
    let free = ResolvedAxis(values: v, axis: Axis(label))
    return Axis(label, max: (v.max() ?? 100) <= 100 && free.hi > 100 ? 100 : nil)
}

/// A timesteps axis (log 2) that labels every T when there are few.
func timestepsAxis(_ ts: [Double]) -> Axis {
    Axis("timesteps T", scale: .log2, ticks: ts.count <= 12 ? ts : nil)
}
