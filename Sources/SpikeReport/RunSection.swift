import Foundation
import SpikeAggregate

// A run's section: headline table, accuracy, operations, energy, firing rates, raster, per-layer table.
extension ReportBuilder {
    func runSection(_ input: ReportInput, _ r: RunResult) -> ReportSection {
        let n = input.name
        let cps = (r.checkpoints ?? []).sorted { $0.timesteps < $1.timesteps }
        var blocks: [ReportBlock] = [.table(headlineTable(r))]
        blocks += [accuracyFigure(r, name: n), opsFigure(checkpoints: cps, name: n),
                   energyByPresetFigure(r, checkpoints: cps, name: n), layerErrorFigure(r, name: n)].compactMap { $0 }
        blocks += firingRateFigures(r, name: n)
        blocks += [energyPerLayerFigure(r, name: n), rasterFigure(r, name: n)].compactMap { $0 }
        blocks.append(.table(layerTable(r)))
        let para = "\(r.network) (\(r.model)) on \(r.data): T = \(r.timesteps), \(r.samples) sample\(r.samples == 1 ? "" : "s"), \(r.encoder) encoding, \(r.decoding) decoding, \(r.ranks) rank\(r.ranks == 1 ? "" : "s")\(r.complete ? "" : "; INCOMPLETE run (stopped early)")."
        return ReportSection("Run: \(input.name)", paragraph: para, blocks: blocks)
    }

    /// Accuracy (or mAP) vs T, with the ANN's as a dashed line.
    func accuracyFigure(_ r: RunResult, name n: String) -> ReportBlock? {
        let (detection, pts) = metricPoints(r)
        guard !pts.isEmpty else { return nil }
        var series = [Series("SNN", points: pts)]
        let ts = pts.map(\.x)
        let annRef = detection ? r.detection?.annMap50 : r.ann?.top1
        if let a = annRef, let lo = ts.min(), let hi = ts.max() {
            series.append(Series("ANN", xy: [(lo, a * 100), (hi, a * 100)], dashed: true, markers: false))
        }
        let svg = Chart.line(series, options: ChartOptions(
            title: "\(detection ? "mAP@0.5" : "Top-1 accuracy") vs timesteps: \(n)",
            x: timestepsAxis(ts),
            y: percentAxis(metricName(detection), series.flatMap { $0.points.map(\.y) })))
        return figure("\(n)-\(detection ? "map" : "accuracy")-vs-T", svg,
                      "\(detection ? "mAP@0.5" : "Top-1 accuracy") decoded at each checkpoint of one run of \(r.timesteps) timesteps on \(r.samples) samples\(annRef != nil ? "; dashed: the ANN on the same samples" : "").")
    }

    /// Cumulative spikes and synaptic ops vs T.
    func opsFigure(checkpoints cps: [RunResult.Checkpoint], name n: String) -> ReportBlock? {
        let spk = cps.compactMap { c in c.spikesPerSample.map { DataPoint(Double(c.timesteps), $0) } }
        let ops = cps.compactMap { c in c.synapticOpsPerSample.map { DataPoint(Double(c.timesteps), $0) } }
        guard !spk.isEmpty || !ops.isEmpty else { return nil }
        let ts = Array(Set((spk + ops).map(\.x))).sorted()
        let svg = Chart.line([Series("spikes", points: spk), Series("synaptic ops", points: ops)], options: ChartOptions(
            title: "Spikes and synaptic operations vs timesteps: \(n)",
            x: timestepsAxis(ts), y: Axis("per sample (cumulative)", scale: .log10)))
        return figure("\(n)-ops-vs-T", svg, "Cumulative spikes and synaptic operations per sample up to each checkpoint.")
    }

    /// Mean firing rate per layer, and the distribution of per-channel rates where the run has them.
    func firingRateFigures(_ r: RunResult, name n: String) -> [ReportBlock] {
        var blocks = [ReportBlock]()
        let neuronLayers = r.layers.filter { $0.neurons > 0 }
        if !neuronLayers.isEmpty {
            let svg = Chart.bars(categories: neuronLayers.map(\.name), values: neuronLayers.map(\.firingRate), seriesName: "mean firing rate",
                                 options: ChartOptions(title: "Firing rate per layer: \(n)", x: Axis("layer"),
                                                       y: Axis("spikes per neuron per timestep"), legend: false))
            blocks.append(figure("\(n)-firing-rate", svg, "Mean firing rate of each spiking layer over \(r.samples) samples and \(r.timesteps) timesteps."))
        }
        let chLayers = neuronLayers.filter { !($0.channelFiringRates ?? []).isEmpty }
        if !chLayers.isEmpty {
            let svg = Chart.distribution(categories: chLayers.map(\.name),
                                         groups: [DistributionGroup(r.network, values: chLayers.map { $0.channelFiringRates ?? [] })],
                                         options: ChartOptions(title: "Per-channel firing rates: \(n)", x: Axis("layer"),
                                                               y: Axis("channel firing rate"), legend: false))
            blocks.append(figure("\(n)-channel-firing-rates", svg,
                                 "Distribution of the per-channel firing rates of each layer (box: quartiles and median; whiskers: 1.5 IQR; dots: channels)."))
        }
        return blocks
    }

    /// Energy per layer and sample: the ANN's MACs against the SNN's ACs (plus analog MACs).
    func energyPerLayerFigure(_ r: RunResult, name n: String) -> ReportBlock? {
        let samples = Double(max(1, r.samples))
        let annPJ = r.layers.map { Double($0.macs) * r.energy.macPicojoules }
        let snnPJ = r.layers.map { (Double($0.synapticOps) * r.energy.acPicojoules + Double($0.analogMacs) * r.energy.macPicojoules) / samples }
        let energyLayers = r.layers.indices.filter { annPJ[$0] > 0 || snnPJ[$0] > 0 }
        guard !energyLayers.isEmpty else { return nil }
        let (u, unit) = energyUnit(maxPJ: (annPJ + snnPJ).max() ?? 0)
        let svg = Chart.groupedBars(categories: energyLayers.map { r.layers[$0].name },
                                    series: [BarSeries("ANN (MAC × \(Fmt.compact(r.energy.macPicojoules)) pJ)", values: energyLayers.map { annPJ[$0] / u }),
                                             BarSeries("SNN (AC × \(Fmt.compact(r.energy.acPicojoules)) pJ + analog MAC)", values: energyLayers.map { snnPJ[$0] / u })],
                                    options: ChartOptions(title: "Energy per layer and sample: \(n)", x: Axis("layer"),
                                                          y: Axis("energy per sample (\(unit))", scale: .log10)))
        return figure("\(n)-energy-per-layer", svg,
                      "Energy per sample of each layer with the \(r.energy.preset) preset: the ANN's multiply-accumulates against the SNN's accumulates (plus multiply-accumulates on analog input), log scale.")
    }

    /// Spike raster of the sampled neurons of one sample (`simulate --raster`).
    func rasterFigure(_ r: RunResult, name n: String) -> ReportBlock? {
        guard let ras = r.raster, !ras.neurons.isEmpty else { return nil }
        let rows = ras.neurons.map { RasterRow(group: $0.layer, label: "\($0.neuron)", spikeTimes: $0.spikeTimes) }
        let h = Double(min(1000, max(320, 150 + rows.count * 9)))
        let svg = Chart.raster(rows: rows, timesteps: ras.timesteps, options: ChartOptions(
            title: "Spike raster, sample \(ras.sample): \(n)", x: Axis("timestep"), y: Axis("neurons by layer"), width: 900, height: h))
        return figure("\(n)-raster", svg, "Spikes of \(rows.count) sampled neurons in sample \(ras.sample) over \(ras.timesteps) timesteps, grouped by layer.")
    }
}
