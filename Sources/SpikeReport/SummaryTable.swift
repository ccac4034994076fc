import Foundation
import SpikeAggregate
import SpikeCore

/// Readable tables for the terminal.
public enum SummaryTable {
    static func pad(_ s: String, _ w: Int, right: Bool = false) -> String {
        s.count >= w ? s : (right ? String(repeating: " ", count: w - s.count) + s : s + String(repeating: " ", count: w - s.count))
    }
    static func big(_ x: Double) -> String {
        let a = abs(x)
        if a >= 1e12 { return String(format: "%.2fT", x / 1e12) }
        if a >= 1e9 { return String(format: "%.2fG", x / 1e9) }
        if a >= 1e6 { return String(format: "%.2fM", x / 1e6) }
        if a >= 1e3 { return String(format: "%.1fk", x / 1e3) }
        return String(format: "%.0f", x)
    }

    /// The end-of-run summary: per-layer activity, totals, task metric, energy, memory and timing.
    public static func render(_ r: RunResult) -> String {
        var out = [String]()
        out.append("\(r.network): \(r.samples) sample(s), T = \(r.timesteps), \(r.ranks) rank(s), encoder \(r.encoder), decoding \(r.decoding)\(r.complete ? "" : "  [INCOMPLETE]")")
        let cols = [("layer", 14, false), ("op", 13, false), ("shape", 12, false), ("neurons", 9, true), ("spikes", 9, true),
                    ("rate", 7, true), ("synops", 9, true), ("ANN MACs", 9, true), ("split", 14, false)]
        out.append(cols.map { pad($0.0, $0.1, right: $0.2) }.joined(separator: " "))
        for l in r.layers {
            let v = [l.name, l.op, l.shape.map(String.init).joined(separator: "x"), l.neurons > 0 ? big(Double(l.neurons)) : "-",
                     big(Double(l.spikes)), l.neurons > 0 ? String(format: "%.2f%%", l.firingRate * 100) : "-",
                     big(Double(l.synapticOps + l.analogMacs)), big(Double(l.macs)), l.partition]
            out.append(zip(cols, v).map { pad($1, $0.1, right: $0.2) }.joined(separator: " "))
        }
        out.append(String(format: "total: %@ neurons, %@ spikes, firing rate %.2f%%, %@ synaptic ops + %@ analog MACs, ANN %@ MACs/sample",
                          big(Double(r.neurons)), big(Double(r.spikes)), r.firingRate * 100, big(Double(r.synapticOps)),
                          big(Double(r.analogMacs)), big(Double(r.annMacsPerSample))))
        if let t = r.top1 { out.append(String(format: "top-1: %.2f%% (%d labelled samples)", t * 100, r.labelledSamples)) }
        if let cs = r.checkpoints {
            let acc = cs.compactMap { c in c.top1.map { String(format: "T=%d %.2f%%", c.timesteps, $0 * 100) } }
            if !acc.isEmpty { out.append("top-1 vs T: " + acc.joined(separator: ", ")) }
            let maps = cs.compactMap { c in c.map50.map { String(format: "T=%d %.4f", c.timesteps, $0) } }
            if !maps.isEmpty { out.append("mAP@0.5 vs T: " + maps.joined(separator: ", ")) }
            let fid = cs.compactMap { c in c.fidelityMap50.map { String(format: "T=%d %.4f", c.timesteps, $0) } }
            if !fid.isEmpty { out.append("fidelity vs T: " + fid.joined(separator: ", ")) }
            let mae = cs.compactMap { c in c.headMAE.map { String(format: "T=%d %.4g", c.timesteps, $0) } }
            if !mae.isEmpty { out.append("head MAE vs T: " + mae.joined(separator: ", ")) }
        }
        if let d = r.detection {
            func f(_ v: Double?) -> String { v.map { String(format: "%.4f", $0) } ?? "-" }
            out.append("detection: \(d.images) images, \(d.groundTruthBoxes) labelled boxes, \(d.detections) SNN detections; mAP@0.5 \(f(d.map50)), COCO mAP@[.5:.95] \(f(d.map50to95))")
            if d.annDetections != nil {
                out.append("ANN reference: mAP@0.5 \(f(d.annMap50)), COCO mAP \(f(d.annMap50to95)), \(d.annDetections ?? 0) detections; fidelity mAP@0.5 (SNN vs ANN detections >= 0.25) \(f(d.fidelityMap50)); head MAE \(d.headMAE.map { String(format: "%.4g", $0) } ?? "-")")
            }
        }
        if let es = r.layerErrors {
            out.append("SNN vs ANN per layer (normalized units, 1 = λ): mean |r - a|, mean r - a, mean |a|, relative error, correlation, |a| > θ")
            for e in es {
                out.append(pad(e.layer, 16) + String(format: " %9.4f %9.4f %9.4f %8.3f %8@ %7.3f%%", e.meanAbsError, e.meanError, e.meanAbsANN,
                                                     e.relativeError, e.correlation.map { String(format: "%.4f", $0) } ?? "-", e.saturated * 100))
            }
        }
        if let a = r.ann {
            out.append(String(format: "ANN reference: top-1 %@, SNN/ANN top-1 agreement %.2f%% (%d samples)",
                              a.top1.map { String(format: "%.2f%%", $0 * 100) } ?? "-", a.top1Agreement * 100, a.samples))
        }
        out.append(String(format: "energy/sample (%@): SNN %.3g J, ANN %.3g J", r.energy.preset, r.energy.snnJoules, r.energy.annJoules))
        out.append(String(format: "memory: ANN %@bit, SNN %@bit (weights %@bit, membranes %@bit, busiest-step spikes %@bit)",
                          big(Double(r.memory.annBits)), big(Double(r.memory.snnBits)), big(Double(r.memory.weightBits)),
                          big(Double(r.memory.membraneBits)), big(Double(r.memory.spikeBits))))
        let severalHosts = Set(r.communication.compactMap(\.host)).count > 1
        for (t, c) in zip(r.timing, r.communication) {
            let on = severalHosts ? " (\(c.host ?? "?"))" : ""
            let held = c.weightBytes.map { " (weights held \(big(Double($0)))B)" } ?? ""
            out.append(String(format: "rank %d%@: update %.3fs pack %.3fs exchange %.3fs wait %.3fs | sent %@B in %@ msgs | peak RSS %@B%@",
                              t.rank, on, t.update, t.pack, t.exchange, t.wait, big(Double(c.bytesSent)), big(Double(c.messages)),
                              big(Double(c.peakResidentBytes)), held))
        }
        out.append(String(format: "wall %.3fs, %.4fs/sample, %@ synaptic ops/s", r.wallSeconds, r.secondsPerSample, big(r.synapticOpsPerSecond)))
        return out.joined(separator: "\n")
    }

    /// `spikescale inspect`: layers, shapes, parameters, MACs.
    public static func inspect(_ n: Network) -> String {
        var out = ["\(n.name): \(n.layers.count) layers, input \(n.inputShape), \(n.neuronCount) neurons, \(n.parameterCount) parameters, \(big(Double(n.totalMACs))) MACs/sample"]
        out.append([pad("#", 4, right: true), pad("layer", 14), pad("op", 13), pad("inputs", 18), pad("shape", 12), pad("neuron", 12),
                    pad("params", 9, right: true), pad("MACs", 9, right: true)].joined(separator: " "))
        for (i, l) in n.layers.enumerated() {
            out.append([pad("\(i)", 4, right: true), pad(l.name, 14), pad(l.op.name, 13),
                        pad(l.inputs.map { n.layers[$0].name }.joined(separator: ","), 18), pad(l.shape.description, 12),
                        pad(l.neuron.map { $0.kind.rawValue + ($0.kind == .signedIBT ? "(\($0.alpha))" : "") } ?? "-", 12),
                        pad(big(Double(l.weightCount + l.bias.count)), 9, right: true), pad(big(Double(n.macs(layer: i))), 9, right: true)]
                .joined(separator: " "))
        }
        return out.joined(separator: "\n")
    }
}
