import Foundation
import SpikeConvert
import SpikeReport
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

// The report's sweep and conversion sections (Deng et al. Fig. 13 / Spiking-YOLO Fig. 7 curves and
// heatmaps; Spiking-YOLO Fig. 1 per-channel maxima).
extension ReportBuilder {
    func sweepSection(_ input: ReportInput, _ s: SweepResult) -> ReportSection {
        let n = input.name
        let rows = s.rows
        let detection = !rows.contains { $0.top1 != nil } && rows.contains { $0.map50 != nil }
        func metric(_ r: SweepRow) -> Double? { (detection ? r.map50 : r.top1).map { $0 * 100 } }
        let norms = Array(Set(rows.map(\.norm))).sorted(), scales = Array(Set(rows.map(\.thresholdScale))).sorted()
        let encs = Array(Set(rows.map(\.encoder))).sorted(), decs = Array(Set(rows.map(\.decoding))).sorted()
        let ts = Array(Set(rows.map(\.timesteps))).sorted().map(Double.init)
        let vNorm = norms.count > 1, vScale = scales.count > 1, vEnc = encs.count > 1, vDec = decs.count > 1
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
        let metricLabel = metricName(detection), metricTitle = detection ? "mAP@0.5" : "Top-1 accuracy"
        var blocks = [ReportBlock]()
        let xT = Axis("timesteps T", scale: .log2, ticks: ts.count <= 12 ? ts : nil)

        func seriesVsT(_ value: (SweepRow) -> Double?) -> [Series] {
            keys { key($0) }.map { k in
                let pts = rows.filter { key($0) == k }.sorted { $0.timesteps < $1.timesteps }
                    .compactMap { r in value(r).map { DataPoint(Double(r.timesteps), $0) } }
                return Series(k.isEmpty ? s.model : k, points: pts)
            }
        }
        var accSeries = seriesVsT(metric)
        if accSeries.contains(where: { !$0.points.isEmpty }) {
            let ann = rows.compactMap(\.annTop1)
            if !detection, !ann.isEmpty, let lo = ts.first, let hi = ts.last {
                let a = ann.reduce(0, +) / Double(ann.count) * 100
                accSeries.append(Series("ANN", xy: [(lo, a), (hi, a)], dashed: true, markers: false))
            }
            let svg = Chart.line(accSeries, options: ChartOptions(title: "\(metricTitle) vs timesteps: \(n)", x: xT,
                                                                  y: percentAxis(metricLabel, accSeries.flatMap { $0.points.map(\.y) }),
                                                                  height: accSeries.count > 6 ? 480 : 420))
            blocks.append(figure("\(n)-\(detection ? "map" : "accuracy")-vs-T", svg, "\(metricTitle) against the number of timesteps, one line per combination of the swept settings\(accSeries.last?.name == "ANN" ? "; dashed: the ANN" : "")."))
        }
        // Heatmaps over T × threshold scale.
        if vScale && ts.count > 1 {
            let others = keys { key($0, scale: false) }
            for (k, other) in others.prefix(6).enumerated() {
                let values = scales.map { sc in ts.map { t -> Double in
                    let m = rows.filter { key($0, scale: false) == other && $0.thresholdScale == sc && Double($0.timesteps) == t }.compactMap(metric)
                    return m.isEmpty ? .nan : m.reduce(0, +) / Double(m.count)
                } }
                let svg = Chart.heatmap(columns: ts.map { Fmt.compact($0) }, rows: scales.map { Fmt.compact($0) }, values: values,
                                        colorLabel: metricLabel, decimals: 1, options: ChartOptions(
                                            title: "\(metricTitle) over T × threshold scale: \(n)\(other.isEmpty ? "" : " (\(other))")",
                                            x: Axis("timesteps T"), y: Axis("threshold scale"),
                                            height: Double(max(300, min(700, 140 + scales.count * 34)))))
                blocks.append(figure("\(n)-heatmap\(others.count > 1 ? "-\(k + 1)" : "")", svg,
                                     "\(metricTitle) (%) for each number of timesteps and threshold scale\(other.isEmpty ? "" : " (\(other))")."))
            }
        }
        // Accuracy vs threshold scale, one line per T.
        if vScale {
            let ratio = (scales.last ?? 1) / max(scales.first ?? 1, 1e-12)
            let lines = keys { "T=\($0.timesteps)" + (key($0, scale: false).isEmpty ? "" : ", " + key($0, scale: false)) }.prefix(16).map { k in
                Series(k, points: rows.filter { "T=\($0.timesteps)" + (key($0, scale: false).isEmpty ? "" : ", " + key($0, scale: false)) == k }
                    .sorted { $0.thresholdScale < $1.thresholdScale }
                    .compactMap { r in metric(r).map { DataPoint(r.thresholdScale, $0) } })
            }
            if lines.contains(where: { !$0.points.isEmpty }) {
                let svg = Chart.line(Array(lines), options: ChartOptions(
                    title: "\(metricTitle) vs threshold scale: \(n)",
                    x: Axis("threshold scale", scale: ratio >= 10 && scales.first! > 0 ? .log10 : .linear, ticks: scales.count <= 10 ? scales : nil),
                    y: percentAxis(metricLabel, lines.flatMap { $0.points.map(\.y) }), height: lines.count > 6 ? 480 : 420))
                blocks.append(figure("\(n)-accuracy-vs-threshold", svg, "\(metricTitle) against the threshold scale, one line per number of timesteps."))
            }
        }
        let opsSeries = seriesVsT { $0.synapticOpsPerSample }
        if opsSeries.contains(where: { !$0.points.isEmpty }) {
            let svg = Chart.line(opsSeries, options: ChartOptions(title: "Synaptic operations vs timesteps: \(n)", x: xT,
                                                                  y: Axis("synaptic ops per sample", scale: .log10),
                                                                  height: opsSeries.count > 6 ? 480 : 420))
            blocks.append(figure("\(n)-ops-vs-T", svg, "Synaptic operations per sample against the number of timesteps (log-log)."))
        }
        let header = ["norm", "threshold ×", "encoder", "decoding", "T", detection ? "mAP@0.5" : "top-1", "spikes / sample", "synaptic ops / sample",
                      "analog MACs / sample", "firing rate", "E SNN", "E ANN", "ANN top-1"]
        let trows = rows.map { r -> [String] in
            [r.norm, Fmt.compact(r.thresholdScale), r.encoder, r.decoding, "\(r.timesteps)", pct(detection ? r.map50 : r.top1), num(r.spikesPerSample),
             num(r.synapticOpsPerSample), num(r.analogMacsPerSample), Fmt.fixed(r.firingRate, 5), joules(r.snnJoulesPerSample),
             joules(r.annJoulesPerSample), pct(r.annTop1)]
        }
        blocks.append(.table(ReportTable(caption: "All grid points (\(rows.count))", header: header, rows: trows,
                                         numericColumns: [false, true, false, false] + Array(repeating: true, count: 9))))
        let grid = "T ∈ {\(s.grid.timesteps.map(String.init).joined(separator: ", "))}, threshold scale ∈ {\(s.grid.thresholdScale.map(Fmt.compact).joined(separator: ", "))}, norm ∈ {\(s.grid.norm.joined(separator: ", "))}, encoder ∈ {\(s.grid.encoder.joined(separator: ", "))}, decoding ∈ {\(s.grid.decoding.joined(separator: ", "))}"
        let para = "Sweep of \(s.model) on \(s.data) (\(s.samples) samples, \(s.ranks) rank\(s.ranks == 1 ? "" : "s"), energy preset \(s.energyPreset)): \(grid).\(s.complete ? "" : " INCOMPLETE: some grid points are missing.")"
        return ReportSection("Sweep: \(input.name)", paragraph: para, blocks: blocks)
    }

    // MARK: Conversion

    func conversionSection(_ input: ReportInput, _ c: ConversionReport) -> ReportSection {
        let n = input.name
        var blocks = [ReportBlock]()
        let withChannels = c.layers.filter { ($0.channelMax?.count ?? 0) >= 2 }
        for l in withChannels.prefix(channelLayers) {
            let ch = (l.channelMax ?? []).map(Double.init)
            let layerMax = Double(l.maxActivation)
            let below = ch.filter { $0 < layerMax * 0.1 }.count
            let svg = Chart.bars(categories: ch.indices.map(String.init), values: ch, seriesName: "channel max |a|",
                                 reference: ReferenceLine(layerMax, label: "layer max |a| = \(Fmt.compact(layerMax))"),
                                 options: ChartOptions(title: "Per-channel maximum activation: \(l.name) (\(n))", x: Axis("channel"),
                                                       y: Axis("max |activation|"), width: 900))
            blocks.append(figure("\(n)-channel-max-\(HTMLReport.slug(l.name))", svg,
                                 "Maximum activation of each channel of \(l.name) over \(c.calibrationSamples) calibration samples, in channel order; dashed: the layer maximum that layer-norm uses for every channel (cf. Spiking-YOLO Fig. 1). \(below) of \(ch.count) channels stay below 10 % of it."))
        }
        let rows = c.layers.map { l in
            [l.name, l.op, l.annActivation, l.neuronModel, Fmt.compact(Double(l.maxActivation)), Fmt.compact(Double(l.statisticValue)),
             Fmt.compact(Double(l.lambdaMin)), Fmt.compact(Double(l.lambdaMedian)), Fmt.compact(Double(l.lambdaMax)),
             l.channelMax.map { "\($0.count)" } ?? "–", l.note ?? ""]
        }
        blocks.append(.table(ReportTable(caption: "Normalization per layer", header: ["layer", "op", "ANN activation", "neuron", "max |a|", "statistic",
                                                                                      "λ min", "λ median", "λ max", "channels", "note"],
                                         rows: rows, numericColumns: [false, false, false, false, true, true, true, true, true, true, false])))
        if !c.replacements.isEmpty {
            blocks.append(.keyValues(c.replacements.enumerated().map { KeyValue("replacement \($0.offset + 1)", $0.element) }))
        }
        let para = "Conversion of \(c.source): \(c.norm)-norm, statistic \(c.statistic), reset \(c.reset), initial membrane \(Fmt.compact(Double(c.initialMembrane)))θ, threshold ×\(Fmt.compact(Double(c.thresholdScale))), max-pool \(c.maxPool); calibration on \(c.calibrationSamples) sample\(c.calibrationSamples == 1 ? "" : "s") from \(c.calibrationData)."
        return ReportSection("Conversion: \(input.name)", paragraph: para, blocks: blocks)
    }
}
