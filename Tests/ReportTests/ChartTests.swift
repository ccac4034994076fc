import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import SpikeReport

/// Parses `xml` with Foundation's XMLParser; returns the error, or nil when well-formed.
func xmlError(_ xml: String) -> String? {
    final class Delegate: NSObject, XMLParserDelegate {
        var root: String?
        var error: String?
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if root == nil { root = name }
        }
        func parser(_ parser: XMLParser, parseErrorOccurred e: Error) { error = "\(e)" }
    }
    let p = XMLParser(data: Data(xml.utf8))
    let d = Delegate()
    p.delegate = d
    let ok = p.parse()
    if !ok { return d.error ?? "parse failed at line \(p.lineNumber)" }
    return d.root == "svg" ? nil : "root element is \(d.root ?? "none"), not svg"
}

/// Visible texts of all `<text>` elements (unescaped by the parser; tooltips left out).
func svgTexts(_ xml: String) -> [String] {
    final class Delegate: NSObject, XMLParserDelegate {
        var inText = false, inTitle = false, cur = "", texts = [String]()
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
            if name == "text" { inText = true; cur = "" }
            if name == "title" { inTitle = true }
        }
        func parser(_ parser: XMLParser, foundCharacters s: String) { if inText && !inTitle { cur += s } }
        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            if name == "text" { texts.append(cur); inText = false }
            if name == "title" { inTitle = false }
        }
    }
    let p = XMLParser(data: Data(xml.utf8))
    let d = Delegate()
    p.delegate = d
    _ = p.parse()
    return d.texts
}

let nasty = "a<b & \"c\" > 'd'"

/// One chart of each kind, on ordinary data, with `label` in every text slot.
func allCharts(label: String = "x") -> [String: String] {
    let o = ChartOptions(title: "title " + label, x: Axis("x " + label), y: Axis("y " + label))
    let t: [Double] = [8, 16, 32, 64, 128]
    return [
        "line": Chart.line([Series("s1 " + label, xy: t.map { ($0, 1 - 1 / $0) }), Series("ANN " + label, xy: [(8, 0.99), (128, 0.99)], dashed: true)],
                           options: ChartOptions(title: o.title, x: Axis("T " + label, scale: .log2), y: Axis("top-1 " + label))),
        "distribution": Chart.distribution(categories: ["conv1 " + label, "conv2", "fc"],
                                           groups: [DistributionGroup("layer " + label, values: [[0.1, 0.2, 0.05, 0.3], [0.01, 0.02], [0.5]]),
                                                    DistributionGroup("channel", values: [[0.2, 0.25, 0.3], [0.1, 0.15, 0.12, 0.4, 0.9], []])],
                                           options: o),
        "bars": Chart.bars(categories: (0..<16).map(String.init), values: (0..<16).map { Double($0 % 5) + 0.5 }, seriesName: "max " + label,
                           reference: ReferenceLine(4.5, label: "layer max " + label), options: o),
        "grouped": Chart.groupedBars(categories: ["c1 " + label, "c2", "c3"], series: [BarSeries("ANN " + label, values: [1e3, 2e4, 5e2]),
                                                                            BarSeries("SNN", values: [2e2, 1e3, 0])],
                                     options: ChartOptions(title: o.title, x: Axis("layer"), y: Axis("energy " + label, scale: .log10))),
        "stacked": Chart.groupedBars(categories: ["a", "b"], series: [BarSeries("p " + label, values: [1, 2]), BarSeries("q", values: [3, 4])],
                                     stacked: true, options: o),
        "raster": Chart.raster(rows: [RasterRow(group: "conv1 " + label, spikeTimes: [1, 3, 5]), RasterRow(group: "conv1 " + label, spikeTimes: [2]),
                                      RasterRow(group: "fc", spikeTimes: [4, -6, 7])], timesteps: 8, options: o),
        "heatmap": Chart.heatmap(columns: ["8", "16", "32"], rows: ["0.5 " + label, "1.0"], values: [[0.1, 0.5, 0.9], [0.2, .nan, 0.95]],
                                 colorLabel: "acc " + label, options: o),
    ]
}

@Suite struct ChartTests {
    @Test func everyChartKindIsWellFormedSVG() {
        for (kind, svg) in allCharts() {
            #expect(xmlError(svg) == nil, "\(kind): \(xmlError(svg) ?? "")")
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 760 420\""), "\(kind)")
            #expect(svg.contains("<title>title x</title>"), "\(kind)")
        }
    }

    @Test func outputIsDeterministic() {
        let a = allCharts(label: "q"), b = allCharts(label: "q")
        #expect(a.count == 7)
        for (k, v) in a { #expect(v == b[k], "\(k)") }
        #expect(allCharts(label: "q")["line"] != allCharts(label: "r")["line"])
    }

    @Test func labelsAreEscaped() {
        for (kind, svg) in allCharts(label: nasty) {
            #expect(xmlError(svg) == nil, "\(kind): \(xmlError(svg) ?? "")")
            #expect(!svg.contains("a<b"), "\(kind)")
            #expect(svg.contains("a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;"), "\(kind)")
            // The parser gives back the original text in the title and at least one label.
            #expect(svgTexts(svg).contains { $0.contains(nasty) }, "\(kind)")
        }
        #expect(Fmt.escape("<&>\"'") == "&lt;&amp;&gt;&quot;&#39;")
    }

    @Test func lineChartDrawsAMarkerPerPointAndTheLegend() {
        let svg = Chart.line([Series("alpha", xy: [(1, 1), (2, 4), (3, 9)]), Series("beta", xy: [(1, 2), (3, 3)])],
                             options: ChartOptions(title: "t", x: Axis("x"), y: Axis("y")))
        #expect(svg.components(separatedBy: "<polyline").count - 1 == 2)
        // 3 + 2 point markers, each with a tooltip.
        #expect(svg.components(separatedBy: "<g><title>alpha:").count - 1 == 3)
        #expect(svg.components(separatedBy: "<g><title>beta:").count - 1 == 2)
        let texts = svgTexts(svg)
        #expect(texts.contains("alpha") && texts.contains("beta"))
        // Linear y ticks over 1...9 at nice steps.
        #expect(texts.contains("0") && texts.contains("2") && texts.contains("10"))
    }

    @Test func degenerateInputsDoNotCrash() {
        let o = ChartOptions(title: "empty", x: Axis("x", scale: .log10), y: Axis("y", scale: .log10))
        let cases: [String] = [
            Chart.line([], options: o),
            Chart.line([Series("one", xy: [(5, 5)])], options: o),
            Chart.line([Series("flat", xy: [(1, 0), (2, 0), (3, 0)])], options: ChartOptions(title: "flat")),
            Chart.line([Series("bad", xy: [(.nan, 1), (1, .infinity), (-1, 2), (0, 0)])], options: o),
            Chart.line([Series("neg", xy: [(-3, -3), (-3, -3)])], options: ChartOptions(title: "t")),
            Chart.distribution(categories: [], groups: [], options: ChartOptions(title: "d")),
            Chart.distribution(categories: ["a"], groups: [DistributionGroup("g", values: [])], options: ChartOptions(title: "d")),
            Chart.distribution(categories: ["a", "b"], groups: [DistributionGroup("g", values: [[1], [.nan, .infinity]])], options: ChartOptions(title: "d")),
            Chart.bars(categories: [], values: [], options: ChartOptions(title: "b")),
            Chart.bars(categories: ["a", "b"], values: [.nan, 0], reference: ReferenceLine(.nan, label: "r"), options: o),
            Chart.bars(categories: ["a"], values: [3], options: ChartOptions(title: "b")),
            Chart.groupedBars(categories: ["a", "b"], series: [BarSeries("x", values: [1])], stacked: true, options: o),
            Chart.groupedBars(categories: ["a"], series: [], options: ChartOptions(title: "g")),
            Chart.raster(rows: [], timesteps: 0, options: ChartOptions(title: "r")),
            Chart.raster(rows: [RasterRow(group: "g", spikeTimes: [])], timesteps: 1, options: ChartOptions(title: "r")),
            Chart.heatmap(columns: [], rows: [], values: [], options: ChartOptions(title: "h")),
            Chart.heatmap(columns: ["a"], rows: ["b"], values: [[.nan]], options: ChartOptions(title: "h")),
            Chart.heatmap(columns: ["a", "b"], rows: ["c"], values: [[1, 1]], options: ChartOptions(title: "h")),
            Chart.heatmap(columns: ["a", "b"], rows: ["c", "d"], values: [[1]], options: ChartOptions(title: "h", width: 0, height: .nan)),
        ]
        for (i, svg) in cases.enumerated() {
            #expect(xmlError(svg) == nil, "case \(i): \(xmlError(svg) ?? "")")
            #expect(!svg.contains("NaN") && !svg.contains("inf"), "case \(i) has a non-finite number")
        }
        #expect(svgTexts(cases[0]).contains("no data"))
        #expect(!svgTexts(cases[1]).contains("no data"))
    }

    @Test func manyCategoriesThinTheLabels() {
        let n = 512
        let svg = Chart.bars(categories: (0..<n).map(String.init), values: (0..<n).map { Double($0 % 7) },
                             reference: ReferenceLine(6, label: "max"), options: ChartOptions(title: "channels"))
        #expect(xmlError(svg) == nil)
        let labels = svgTexts(svg).filter { Int($0) != nil }
        #expect(labels.count < 60)
        #expect(svg.components(separatedBy: "<rect").count - 1 > n)
    }

    @Test func rasterDrawsOneTickPerSpikeInTwoColours() {
        let svg = Chart.raster(rows: [RasterRow(group: "l1", spikeTimes: [1, 2, 3]), RasterRow(group: "l2", spikeTimes: [-4, 5])],
                               timesteps: 5, options: ChartOptions(title: "r", x: Axis("timestep")))
        #expect(xmlError(svg) == nil)
        let paths = svg.components(separatedBy: "\n").filter { $0.hasPrefix("<path d=\"M") && $0.contains("stroke=\"") && !$0.contains("fill=\"#") }
        let pos = paths.first { $0.contains("stroke=\"\(Palette.color(0))\"") && !$0.contains("stroke-width=\"2.40\"") }
        let neg = paths.first { $0.contains("stroke=\"\(Palette.color(3))\"") }
        #expect(pos.map { $0.components(separatedBy: "M").count - 1 } == 4)
        #expect(neg.map { $0.components(separatedBy: "M").count - 1 } == 1)
        let texts = svgTexts(svg)
        #expect(texts.contains("l1") && texts.contains("l2") && texts.contains("negative spike"))
    }

    @Test func heatmapLabelsEveryCell() {
        let svg = Chart.heatmap(columns: ["8", "16"], rows: ["0.5", "1"], values: [[0.25, 0.5], [0.75, .nan]], decimals: 2,
                                options: ChartOptions(title: "h"))
        let texts = svgTexts(svg)
        for s in ["0.25", "0.50", "0.75", "–"] { #expect(texts.contains(s), "\(s)") }
    }

    @Test func boxStats() {
        let b = BoxStats([1, 2, 3, 4, 5, 6, 7, 8, 100, .nan])
        #expect(b?.count == 9)
        #expect(b?.median == 5)
        #expect(b?.q1 == 3 && b?.q3 == 7)
        #expect(b?.upperWhisker == 8 && b?.max == 100)
        #expect(BoxStats([]) == nil && BoxStats([.nan]) == nil)
    }
}

@Suite struct TickTests {
    @Test func linearZeroToOne() {
        #expect(Ticks.linear(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1])
        let r = ResolvedAxis(values: [0, 1], axis: Axis())
        #expect(r.ticks == [0, 0.2, 0.4, 0.6, 0.8, 1])
        #expect(r.labels == ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"])
    }

    @Test func linearNiceSteps() {
        #expect(Ticks.linear(0, 100) == [0, 20, 40, 60, 80, 100])
        #expect(Ticks.linear(-1, 1, target: 4) == [-1, -0.5, 0, 0.5, 1])
        #expect(Ticks.linear(0.91, 0.99, target: 4) == [0.92, 0.94, 0.96, 0.98])
        #expect(Ticks.niceStep(0, 7, target: 5) == 2)
        #expect(Ticks.linear(3, 3) == [3])
        // Data 0.13...0.87 snaps outwards to 0...1 (wait: 0.1 steps) and stays nice.
        let r = ResolvedAxis(values: [0.13, 0.87], axis: Axis())
        #expect(r.lo <= 0.13 && r.hi >= 0.87)
        #expect(r.ticks.first == r.lo && r.ticks.last.map { abs($0 - r.hi) < 1e-12 } == true)
    }

    @Test func logTicks() {
        #expect(Ticks.log2(8, 128) == [8, 16, 32, 64, 128])
        #expect(Ticks.log2(8, 1024) == [8, 16, 32, 64, 128, 256, 512, 1024])
        #expect(Ticks.log10(1, 10_000) == [1, 10, 100, 1000, 10_000])
        #expect(Ticks.log10(8, 128) == [10, 20, 50, 100])
        #expect(Ticks.log10(1e3, 1e12).count <= 8)
        #expect(Ticks.log10(2, 3).allSatisfy { $0 >= 2 && $0 <= 3 })
        #expect(Ticks.log10(5000, 5e6) == [1e4, 3e4, 1e5, 3e5, 1e6, 3e6])
        #expect(Ticks.log10(0.02, 0.5) == [0.02, 0.05, 0.1, 0.2, 0.5])
        let r = ResolvedAxis(values: [8, 16, 32, 64, 128], axis: Axis(scale: .log2))
        #expect(r.ticks == [8, 16, 32, 64, 128])
        #expect(r.labels == ["8", "16", "32", "64", "128"])
        #expect(r.lo < 8 && r.hi > 128)
    }

    @Test func degenerateRangesArePadded() {
        let z = ResolvedAxis(values: [0, 0], axis: Axis())
        #expect(z.lo < 0 && z.hi > 0)
        let c = ResolvedAxis(values: [5], axis: Axis())
        #expect(c.lo < 5 && c.hi > 5 && c.ticks.contains(5))
        let l = ResolvedAxis(values: [7], axis: Axis(scale: .log10))
        #expect(l.lo < 7 && l.hi > 7 && !l.ticks.isEmpty)
        let e = ResolvedAxis(values: [.nan, -.infinity], axis: Axis())
        #expect(e.lo == 0 && e.hi == 1)
        let neg = ResolvedAxis(values: [-5, 0, 0.5], axis: Axis(scale: .log10))
        #expect(neg.lo > 0)
    }

    @Test func tickLabelFormats() {
        #expect(Fmt.tickLabels([0, 2e6, 4e6], step: 2e6) == ["0", "2M", "4M"])
        #expect(Fmt.tickLabels([0, 5e5, 1e6, 1.5e6], step: 5e5) == ["0", "0.5M", "1.0M", "1.5M"])
        #expect(Fmt.tickLabels([0, 2e-6, 4e-6], step: 2e-6) == ["0", "2e-6", "4e-6"])
        #expect(Fmt.compact(12_345) == "12.3k")
        #expect(Fmt.compact(0.5) == "0.5")
        #expect(Fmt.compact(1024) == "1024")
        #expect(Fmt.compact(3e-6) == "3e-6")
        #expect(Fmt.fixed(-0.0001, 2) == "0.00")
    }
}
