import Foundation
import SpikeAggregate

// Figures of a run's section that need more than one field: energy by preset at each checkpoint
// (Spiking-YOLO Fig. 9) and the layer-by-layer agreement with the ANN (`simulate --layer-errors`).
extension ReportBuilder {
    /// Energy per sample with every preset: the ANN's MACs against the SNN's operations up to each checkpoint.
    func energyByPresetFigure(_ r: RunResult, checkpoints cps: [RunResult.Checkpoint], name n: String) -> ReportBlock? {
        if !cps.isEmpty, !r.energyPresets.isEmpty, cps.allSatisfy({ $0.synapticOpsPerSample != nil && $0.analogMacsPerSample != nil }) {
            let presets = r.energyPresets
            let annMacs = Double(r.annMacsPerSample)
            var series = [BarSeries]()
            let maxPJ = presets.flatMap { p in cps.map { ($0.synapticOpsPerSample! * p.acPicojoules + $0.analogMacsPerSample! * p.macPicojoules) } + [annMacs * p.macPicojoules] }.max() ?? 0
            let (u, unit) = energyUnit(maxPJ: maxPJ)
            series.append(BarSeries("ANN", values: presets.map { annMacs * $0.macPicojoules / u }))
            for c in cps {
                series.append(BarSeries("SNN T=\(c.timesteps)", values: presets.map { (c.synapticOpsPerSample! * $0.acPicojoules + c.analogMacsPerSample! * $0.macPicojoules) / u }))
            }
            let svg = Chart.groupedBars(categories: presets.map(\.preset), series: series,
                                        options: ChartOptions(title: "Energy per sample by preset: \(n)", x: Axis("energy preset (pJ per MAC / AC)"),
                                                              y: Axis("energy per sample (\(unit))", scale: .log10)))
            return figure("\(n)-energy-by-preset", svg,
                          "Energy per sample with each preset: the ANN's MACs against the SNN's synaptic operations (ACs) plus analog MACs accumulated up to each checkpoint T (Spiking-YOLO Fig. 9).")
        }
        return nil
    }

    /// Relative error, 1 − correlation and saturation of every spiking layer against the ANN.
    func layerErrorFigure(_ r: RunResult, name n: String) -> ReportBlock? {
        if let es = r.layerErrors, !es.isEmpty {
            let svg = Chart.line([Series("relative error |r − a| / |a|", points: es.enumerated().map { DataPoint(Double($0.offset), $0.element.relativeError) }),
                                  Series("1 − correlation", points: es.enumerated().compactMap { e in e.element.correlation.map { DataPoint(Double(e.offset), 1 - $0) } }),
                                  Series("saturated (|a| > θ)", points: es.enumerated().map { DataPoint(Double($0.offset), $0.element.saturated) })],
                                 options: ChartOptions(title: "SNN vs ANN layer by layer: \(n)", x: Axis("spiking layer (network order)"),
                                                       y: Axis("fraction")))
            return figure("\(n)-layer-errors", svg,
                          "Each spiking layer's decoded values r against the ANN's activations a over \(r.samples) samples: relative mean error, 1 − Pearson correlation and the fraction of activations above the threshold (clipped by the SNN). Layers: \(es.first!.layer) … \(es.last!.layer).")
        }
        return nil
    }
}
