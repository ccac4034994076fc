import Foundation
import SpikeAggregate

// A run's tables: headline figures (SNN beside ANN) and one row per layer.
extension ReportBuilder {
    func headlineTable(_ r: RunResult) -> ReportTable {
        let s = Double(max(1, r.samples))
        var rows: [[String]] = []
        if r.top1 != nil || r.ann?.top1 != nil {
            rows.append(["top-1 accuracy", pct(r.top1), pct(r.ann?.top1)])
        }
        if let a = r.ann { rows.append(["top-1 agreement SNN/ANN", pct(a.top1Agreement), ""]) }
        if let d = r.detection {
            rows.append(["mAP@0.5", pct(d.map50), pct(d.annMap50)])
            rows.append(["mAP@[.5:.95]", pct(d.map50to95), pct(d.annMap50to95)])
            rows.append(["detections", "\(d.detections)", d.annDetections.map { "\($0)" } ?? "–"])
            if let f = d.fidelityMap50 { rows.append(["fidelity mAP@0.5 (vs ANN)", pct(f), ""]) }
        }
        rows += [
            ["spikes per sample", num(Double(r.spikes) / s), ""],
            ["firing rate (per neuron per step)", Fmt.fixed(r.firingRate, 5), ""],
            ["synaptic ops per sample", num(Double(r.synapticOps) / s), ""],
            ["analog MACs per sample", num(Double(r.analogMacs) / s), ""],
            ["MACs per sample", "", num(Double(r.annMacsPerSample))],
            ["energy per sample (\(r.energy.preset))", joules(r.energy.snnJoules), joules(r.energy.annJoules)],
            ["energy ratio ANN / SNN", r.energy.snnJoules > 0 ? Fmt.fixed(r.energy.annJoules / r.energy.snnJoules, 2) + "×" : "–", ""],
            ["memory", bits(Double(r.memory.snnBits)), bits(Double(r.memory.annBits))],
            ["multiplies per sample", num(r.compute.snn.multiplies), num(r.compute.ann.multiplies)],
            ["additions per sample", num(r.compute.snn.additions), num(r.compute.ann.additions)],
            ["wall time", Fmt.fixed(r.wallSeconds, 3) + " s", ""],
            ["seconds per sample", Fmt.fixed(r.secondsPerSample, 4) + " s", ""],
            ["synaptic ops per second", num(r.synapticOpsPerSecond), ""],
        ]
        if let tmax = r.timing.map(\.total).max() {
            rows.append(["slowest rank: update / exchange / wait", r.timing.max { $0.total < $1.total }.map {
                "\(Fmt.fixed($0.update, 3)) / \(Fmt.fixed($0.exchange, 3)) / \(Fmt.fixed($0.wait, 3)) s of \(Fmt.fixed(tmax, 3)) s"
            } ?? "–", ""])
        }
        return ReportTable(caption: "Headline figures (per sample unless noted)", header: ["figure", "SNN", "ANN"], rows: rows,
                           numericColumns: [false, true, true])
    }

    func layerTable(_ r: RunResult) -> ReportTable {
        let s = Double(max(1, r.samples))
        let rows = r.layers.map { l -> [String] in
            let e = (Double(l.synapticOps) * r.energy.acPicojoules + Double(l.analogMacs) * r.energy.macPicojoules) / s * 1e-12
            return [l.name, l.op, l.neuronModel ?? "", "\(l.neurons)", num(Double(l.spikes) / s),
                    l.neurons > 0 ? Fmt.fixed(l.firingRate, 5) : "–", num(Double(l.synapticOps) / s), num(Double(l.analogMacs) / s),
                    num(Double(l.macs)), joules(e), joules(Double(l.macs) * r.energy.macPicojoules * 1e-12), l.partition]
        }
        return ReportTable(caption: "Per layer (per sample)", header: ["layer", "op", "neuron", "neurons", "spikes", "firing rate",
                                                                       "synaptic ops", "analog MACs", "ANN MACs", "E SNN", "E ANN", "partition"],
                           rows: rows, numericColumns: [false, false, false, true, true, true, true, true, true, true, true, false])
    }
}
