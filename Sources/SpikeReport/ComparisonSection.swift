import Foundation
import SpikeAggregate

// Comparison of two or more runs (Spiking-YOLO Fig. 3: per-layer firing-rate distributions side by side).
extension ReportBuilder {
    /// "channel-norm" or "layer-norm" when the run's model or network name says which.
    func normLabel(_ r: RunResult) -> String? {
        let m = ((r.model as NSString).lastPathComponent + " " + r.network).lowercased()
        let ch = m.contains("channel"), ly = m.contains("layer")
        if ch && !ly { return "channel-norm" }
        if ly && !ch { return "layer-norm" }
        return nil
    }

    func comparison(_ runs: [(ReportInput, RunResult)]) -> ReportSection {
        // Every run given is compared; a model name that says layer or channel normalization labels it.
        let names = runs.map { i, r in normLabel(r).map { "\($0) (\(i.name))" } ?? i.name }
        var blocks = [ReportBlock]()
        if let f = firingRateComparison(runs.map(\.1), names: names) { blocks.append(f) }
        let curves = zip(runs, names).compactMap { run, name -> Series? in
            let (_, p) = metricPoints(run.1)
            return p.isEmpty ? nil : Series(name, points: p)
        }
        if curves.count >= 2 {
            let det = runs.allSatisfy { metricPoints($0.1).detection }
            let ts = Array(Set(curves.flatMap { $0.points.map(\.x) })).sorted()
            let svg = Chart.line(curves, options: ChartOptions(title: "\(det ? "mAP@0.5" : "Top-1 accuracy") vs timesteps by run",
                                                               x: timestepsAxis(ts),
                                                               y: percentAxis(metricName(det), curves.flatMap { $0.points.map(\.y) })))
            blocks.append(figure("compare-accuracy-vs-T", svg, "Accuracy decoded at each checkpoint, one line per run."))
        }
        let rows = zip(runs, names).map { run, name -> [String] in
            let r = run.1, s = Double(max(1, r.samples))
            return [name, r.network, "\(r.timesteps)", "\(r.samples)", pct(r.top1), pct(r.detection?.map50), Fmt.fixed(r.firingRate, 5),
                    num(Double(r.spikes) / s), num(Double(r.synapticOps) / s), joules(r.energy.snnJoules), joules(r.energy.annJoules)]
        }
        blocks.append(.table(ReportTable(caption: "Runs side by side", header: ["run", "network", "T", "samples", "top-1", "mAP@0.5", "firing rate",
                                                                                 "spikes / sample", "synaptic ops / sample", "E SNN", "E ANN"],
                                         rows: rows, numericColumns: [false, false] + Array(repeating: true, count: 9))))
        return ReportSection("Comparison of runs", paragraph: "\(runs.count) runs compared (labelled by normalization where the model name says layer or channel).", blocks: blocks)
    }

    /// Per-layer distribution of the runs' firing rates (per channel where any run has them), one box per run.
    func firingRateComparison(_ runs: [RunResult], names: [String]) -> ReportBlock? {
        var cats = [String]()
        for r in runs { for l in r.layers where l.neurons > 0 && !cats.contains(l.name) { cats.append(l.name) } }
        guard !cats.isEmpty else { return nil }
        let groups = zip(runs, names).map { run, name in
            DistributionGroup(name, values: cats.map { c in
                guard let l = run.layers.first(where: { $0.name == c && $0.neurons > 0 }) else { return [] }
                if let ch = l.channelFiringRates, !ch.isEmpty { return ch }
                return [l.firingRate]
            })
        }
        let perChannel = runs.contains { $0.layers.contains { !($0.channelFiringRates ?? []).isEmpty } }
        let svg = Chart.distribution(categories: cats, groups: groups, options: ChartOptions(
            title: "Firing rates per layer, \(perChannel ? "per channel" : "layer means"), by run", x: Axis("layer"),
            y: Axis("\(perChannel ? "channel " : "")firing rate (spikes / neuron / step)"), width: 900, height: 460))
        return figure("compare-firing-rates", svg,
                      "Per-layer distribution of \(perChannel ? "per-channel" : "mean") firing rates, one box per run side by side (cf. Spiking-YOLO Fig. 3: channel-norm raises the rates of the many channels that layer-norm leaves nearly silent).")
    }
}
