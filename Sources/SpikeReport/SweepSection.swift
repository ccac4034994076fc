import Foundation
import SpikeAggregate

/// A sweep's grid points with what varies across them, to name each line after its settings.
struct SweepGridView {
    let sweep: SweepResult
    var rows: [SweepRow] { sweep.rows }
    let detection: Bool
    let scales: [Double]
    let ts: [Double]
    let vNorm: Bool, vScale: Bool, vEnc: Bool, vDec: Bool

    init(_ s: SweepResult) {
        sweep = s
        let rows = s.rows
        detection = !rows.contains { $0.top1 != nil } && rows.contains { $0.map50 != nil }
        scales = Array(Set(rows.map(\.thresholdScale))).sorted()
        ts = Array(Set(rows.map(\.timesteps))).sorted().map(Double.init)
        vNorm = Set(rows.map(\.norm)).count > 1
        vScale = scales.count > 1
        vEnc = Set(rows.map(\.encoder)).count > 1
        vDec = Set(rows.map(\.decoding)).count > 1
    }

    /// Top-1 (or mAP@0.5) in percent.
    func metric(_ r: SweepRow) -> Double? { (detection ? r.map50 : r.top1).map { $0 * 100 } }
    var metricLabel: String { metricName(detection) }
    var metricTitle: String { detection ? "mAP@0.5" : "Top-1 accuracy" }

    /// The settings that vary, without the threshold scale unless `scale`.
    func key(_ r: SweepRow, scale: Bool = true) -> String {
        var p = [String]()
        if vNorm { p.append("\(r.norm)-norm") }
        if vScale && scale { p.append("θ×\(Fmt.compact(r.thresholdScale))") }
        if vEnc { p.append("\(r.encoder) enc.") }
        if vDec { p.append("\(r.decoding) dec.") }
        return p.joined(separator: ", ")
    }

    /// Ordered unique keys.
    func keys(_ f: (SweepRow) -> String) -> [String] { var out = [String](); for r in rows where !out.contains(f(r)) { out.append(f(r)) }; return out }

    /// One line against T per combination of the varying settings.
    func seriesVsT(_ value: (SweepRow) -> Double?) -> [Series] {
        keys { key($0) }.map { k in
            let pts = rows.filter { key($0) == k }.sorted { $0.timesteps < $1.timesteps }
                .compactMap { r in value(r).map { DataPoint(Double(r.timesteps), $0) } }
            return Series(k.isEmpty ? sweep.model : k, points: pts)
        }
    }
}

// The report's sweep section (Deng et al. Fig. 13 / Spiking-YOLO Fig. 7 curves and heatmaps).
extension ReportBuilder {
    func sweepSection(_ input: ReportInput, _ s: SweepResult) -> ReportSection {
        let n = input.name
        let v = SweepGridView(s)
        var blocks = [sweepAccuracyFigure(v, name: n)].compactMap { $0 }
        blocks += sweepHeatmaps(v, name: n)
        blocks += [sweepThresholdFigure(v, name: n), sweepOpsFigure(v, name: n)].compactMap { $0 }
        blocks.append(.table(sweepTable(v)))
        let grid = "T ∈ {\(s.grid.timesteps.map(String.init).joined(separator: ", "))}, threshold scale ∈ {\(s.grid.thresholdScale.map(Fmt.compact).joined(separator: ", "))}, norm ∈ {\(s.grid.norm.joined(separator: ", "))}, encoder ∈ {\(s.grid.encoder.joined(separator: ", "))}, decoding ∈ {\(s.grid.decoding.joined(separator: ", "))}"
        let para = "Sweep of \(s.model) on \(s.data) (\(s.samples) samples, \(s.ranks) rank\(s.ranks == 1 ? "" : "s"), energy preset \(s.energyPreset)): \(grid).\(s.complete ? "" : " INCOMPLETE: some grid points are missing.")"
        return ReportSection("Sweep: \(input.name)", paragraph: para, blocks: blocks)
    }

    /// Accuracy vs T, one line per combination of the swept settings; dashed: the ANN.
    func sweepAccuracyFigure(_ v: SweepGridView, name n: String) -> ReportBlock? {
        var accSeries = v.seriesVsT(v.metric)
        guard accSeries.contains(where: { !$0.points.isEmpty }) else { return nil }
        let ann = v.rows.compactMap(\.annTop1)
        if !v.detection, !ann.isEmpty, let lo = v.ts.first, let hi = v.ts.last {
            let a = ann.reduce(0, +) / Double(ann.count) * 100
            accSeries.append(Series("ANN", xy: [(lo, a), (hi, a)], dashed: true, markers: false))
        }
        let svg = Chart.line(accSeries, options: ChartOptions(title: "\(v.metricTitle) vs timesteps: \(n)", x: timestepsAxis(v.ts),
                                                              y: percentAxis(v.metricLabel, accSeries.flatMap { $0.points.map(\.y) }),
                                                              height: accSeries.count > 6 ? 480 : 420))
        return figure("\(n)-\(v.detection ? "map" : "accuracy")-vs-T", svg, "\(v.metricTitle) against the number of timesteps, one line per combination of the swept settings\(accSeries.last?.name == "ANN" ? "; dashed: the ANN" : "").")
    }

    /// Heatmaps over T × threshold scale, one per combination of the other settings (at most 6).
    func sweepHeatmaps(_ v: SweepGridView, name n: String) -> [ReportBlock] {
        guard v.vScale && v.ts.count > 1 else { return [] }
        let others = v.keys { v.key($0, scale: false) }
        return others.prefix(6).enumerated().map { k, other in
            let values = v.scales.map { sc in v.ts.map { t -> Double in
                let m = v.rows.filter { v.key($0, scale: false) == other && $0.thresholdScale == sc && Double($0.timesteps) == t }.compactMap(v.metric)
                return m.isEmpty ? .nan : m.reduce(0, +) / Double(m.count)
            } }
            let svg = Chart.heatmap(columns: v.ts.map { Fmt.compact($0) }, rows: v.scales.map { Fmt.compact($0) }, values: values,
                                    colorLabel: v.metricLabel, decimals: 1, options: ChartOptions(
                                        title: "\(v.metricTitle) over T × threshold scale: \(n)\(other.isEmpty ? "" : " (\(other))")",
                                        x: Axis("timesteps T"), y: Axis("threshold scale"),
                                        height: Double(max(300, min(700, 140 + v.scales.count * 34)))))
            return figure("\(n)-heatmap\(others.count > 1 ? "-\(k + 1)" : "")", svg,
                          "\(v.metricTitle) (%) for each number of timesteps and threshold scale\(other.isEmpty ? "" : " (\(other))").")
        }
    }

    /// Accuracy vs threshold scale, one line per T (at most 16).
    func sweepThresholdFigure(_ v: SweepGridView, name n: String) -> ReportBlock? {
        guard v.vScale else { return nil }
        let scales = v.scales
        let ratio = (scales.last ?? 1) / max(scales.first ?? 1, 1e-12)
        func lineKey(_ r: SweepRow) -> String { "T=\(r.timesteps)" + (v.key(r, scale: false).isEmpty ? "" : ", " + v.key(r, scale: false)) }
        let lines = v.keys(lineKey).prefix(16).map { k in
            Series(k, points: v.rows.filter { lineKey($0) == k }
                .sorted { $0.thresholdScale < $1.thresholdScale }
                .compactMap { r in v.metric(r).map { DataPoint(r.thresholdScale, $0) } })
        }
        guard lines.contains(where: { !$0.points.isEmpty }) else { return nil }
        let svg = Chart.line(Array(lines), options: ChartOptions(
            title: "\(v.metricTitle) vs threshold scale: \(n)",
            x: Axis("threshold scale", scale: ratio >= 10 && scales.first! > 0 ? .log10 : .linear, ticks: scales.count <= 10 ? scales : nil),
            y: percentAxis(v.metricLabel, lines.flatMap { $0.points.map(\.y) }), height: lines.count > 6 ? 480 : 420))
        return figure("\(n)-accuracy-vs-threshold", svg, "\(v.metricTitle) against the threshold scale, one line per number of timesteps.")
    }

    /// Synaptic operations per sample vs T (log-log).
    func sweepOpsFigure(_ v: SweepGridView, name n: String) -> ReportBlock? {
        let opsSeries = v.seriesVsT { $0.synapticOpsPerSample }
        guard opsSeries.contains(where: { !$0.points.isEmpty }) else { return nil }
        let svg = Chart.line(opsSeries, options: ChartOptions(title: "Synaptic operations vs timesteps: \(n)", x: timestepsAxis(v.ts),
                                                              y: Axis("synaptic ops per sample", scale: .log10),
                                                              height: opsSeries.count > 6 ? 480 : 420))
        return figure("\(n)-ops-vs-T", svg, "Synaptic operations per sample against the number of timesteps (log-log).")
    }

    func sweepTable(_ v: SweepGridView) -> ReportTable {
        let header = ["norm", "threshold ×", "encoder", "decoding", "T", v.detection ? "mAP@0.5" : "top-1", "spikes / sample", "synaptic ops / sample",
                      "analog MACs / sample", "firing rate", "E SNN", "E ANN", "ANN top-1"]
        let trows = v.rows.map { r -> [String] in
            [r.norm, Fmt.compact(r.thresholdScale), r.encoder, r.decoding, "\(r.timesteps)", pct(v.detection ? r.map50 : r.top1), num(r.spikesPerSample),
             num(r.synapticOpsPerSample), num(r.analogMacsPerSample), Fmt.fixed(r.firingRate, 5), joules(r.snnJoulesPerSample),
             joules(r.annJoulesPerSample), pct(r.annTop1)]
        }
        return ReportTable(caption: "All grid points (\(v.rows.count))", header: header, rows: trows,
                           numericColumns: [false, true, false, false] + Array(repeating: true, count: 9))
    }
}
