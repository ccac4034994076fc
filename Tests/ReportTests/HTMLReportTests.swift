import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import SpikeReport

@Suite struct HTMLReportTests {
    func sample() -> HTMLReport {
        let figs = allCharts(label: nasty).sorted { $0.key < $1.key }
        var r = HTMLReport(title: "Report " + nasty, metadata: [KeyValue("model", "m<1>"), KeyValue("files", "a.json")])
        r.add(ReportSection("Charts", paragraph: "All kinds & more.",
                            blocks: figs.map { .figure(ReportFigure(name: $0.key, svg: $0.value, caption: "caption " + $0.key)) }))
        r.add(ReportSection("Tables", blocks: [
            .table(ReportTable(caption: "headline", header: ["figure", "value"], rows: [["top-1", "98.5 %"], ["spikes", "1.2M"]])),
            .table(ReportTable(header: ["layer", "rate", "note"], rows: [["conv1", "0.12", "x<y"], ["fc", "–", ""]])),
            .keyValues([KeyValue("k", "v")]),
        ]))
        return r
    }

    @Test func containsEveryFigureAndTable() {
        let r = sample()
        let html = r.render()
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(r.figures.count == 7)
        for f in r.figures {
            #expect(html.contains(HTMLReport.inlineSVG(f.svg)), "\(f.name)")
            #expect(html.contains("id=\"fig-\(HTMLReport.slug(f.name))\""))
            #expect(html.contains("caption \(f.name)</figcaption>"))
        }
        #expect(html.components(separatedBy: "<svg xmlns").count - 1 == 7)
        #expect(html.components(separatedBy: "<table>").count - 1 == 2)
        #expect(html.contains("<caption>Table 1. headline</caption>"))
        #expect(html.contains("<td class=\"num\">98.5 %</td>"))
        #expect(html.contains("<td>conv1</td><td class=\"num\">0.12</td><td>x&lt;y</td>"))
        #expect(html.contains("<th scope=\"col\">figure</th><th scope=\"col\" class=\"num\">value</th>"))
        #expect(html.contains("<dt>model</dt><dd>m&lt;1&gt;</dd>"))
        #expect(html.contains("<h2>Charts</h2>") && html.contains("<p>All kinds &amp; more.</p>"))
    }

    @Test func selfContainedAndDeterministic() {
        let html = sample().render()
        #expect(html == sample().render())
        #expect(!html.contains("<script"))
        #expect(!html.contains("http://") || html.components(separatedBy: "http://").count - 1 == html.components(separatedBy: "xmlns=\"http://www.w3.org/2000/svg\"").count - 1)
        #expect(!html.contains("https://"))
        #expect(!html.contains("src="))
        #expect(!html.contains(nasty))
        #expect(html.contains("<title>Report a&lt;b &amp; &quot;c&quot; &gt; &#39;d&#39;</title>"))
    }

    @Test func bodyIsWellFormedXML() {
        // The document minus doctype parses as XML (void elements are self-contained one-liners).
        var html = sample().render()
        html = html.replacingOccurrences(of: "<!DOCTYPE html>", with: "")
        html = html.replacingOccurrences(of: "<meta charset=\"utf-8\">", with: "")
        html = html.replacingOccurrences(of: "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">", with: "")
        html = html.replacingOccurrences(of: "<link rel=\"icon\" href=\"data:,\">", with: "")
        let p = XMLParser(data: Data(html.utf8))
        #expect(p.parse(), "\(p.parserError.map { "\($0)" } ?? "") line \(p.lineNumber)")
    }

    @Test func numericDetection() {
        #expect(ReportTable.looksNumeric("12.5 %"))
        #expect(ReportTable.looksNumeric("3.2M"))
        #expect(ReportTable.looksNumeric("-1e-6 J"))
        #expect(ReportTable.looksNumeric("1.5e-6"))
        #expect(!ReportTable.looksNumeric("conv1"))
        #expect(!ReportTable.looksNumeric("rate"))
        let t = ReportTable(header: ["a", "b"], rows: [["x", "1"], ["y", "–"]])
        #expect(!t.isNumeric(0) && t.isNumeric(1))
        let forced = ReportTable(header: ["a"], rows: [["1"]], numericColumns: [false])
        #expect(!forced.isNumeric(0))
    }

    @Test func slugs() {
        #expect(HTMLReport.slug("Run A: accuracy vs T") == "run-a-accuracy-vs-t")
        #expect(HTMLReport.slug("<>") == "x")
    }
}
