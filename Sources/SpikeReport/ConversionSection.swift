import Foundation
import SpikeConvert

// The report's conversion section (Spiking-YOLO Fig. 1 per-channel maxima, normalization table).
extension ReportBuilder {
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
        let para = "Conversion of \(c.source): \(c.norm)-norm, statistic \(c.statistic), reset \(c.reset), initial membrane \(Fmt.compact(Double(c.initialMembrane)))θ\(c.signedInitialMembrane.map { " (signed neurons \(Fmt.compact(Double($0)))θ)" } ?? ""), threshold ×\(Fmt.compact(Double(c.thresholdScale))), max-pool \(c.maxPool)\(c.reluNeurons.map { ", ReLU neurons \($0)" } ?? ""); calibration on \(c.calibrationSamples) sample\(c.calibrationSamples == 1 ? "" : "s") from \(c.calibrationData)."
        return ReportSection("Conversion: \(input.name)", paragraph: para, blocks: blocks)
    }
}
