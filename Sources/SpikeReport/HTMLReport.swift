import Foundation

/// A table of an HTML report: a header row and body rows of text cells.
public struct ReportTable: Sendable, Equatable {
    public var caption: String?
    public var header: [String]
    public var rows: [[String]]
    /// Right-aligned (numeric) columns; nil = detected (every non-empty cell starts with a number).
    public var numericColumns: [Bool]?

    public init(caption: String? = nil, header: [String], rows: [[String]], numericColumns: [Bool]? = nil) {
        self.caption = caption; self.header = header; self.rows = rows; self.numericColumns = numericColumns
    }

    /// Whether `s` reads as a number, possibly with a unit or suffix ("12.5 %", "3.2M", "-1e-6 J").
    public static func looksNumeric(_ s: String) -> Bool {
        let t = s.trimmingCharacters(in: .whitespaces)
        if t == "–" || t == "-" || t.isEmpty { return true }
        let head = t.split(separator: " ", maxSplits: 1).first.map(String.init) ?? t
        var core = Substring(head)
        while let l = core.last, l.isLetter || l == "%" || l == "×" { core.removeLast() }
        if core.hasSuffix("e") { core.removeLast() }
        return !core.isEmpty && Double(core) != nil
    }

    public func isNumeric(_ col: Int) -> Bool {
        if let n = numericColumns { return col < n.count && n[col] }
        let cells = rows.compactMap { col < $0.count ? $0[col] : nil }
        let real = cells.filter { !["", "–", "-"].contains($0.trimmingCharacters(in: .whitespaces)) }
        return !real.isEmpty && cells.allSatisfy(ReportTable.looksNumeric)
    }
}

/// An inline SVG figure with a caption.
public struct ReportFigure: Sendable, Equatable {
    /// A file-name-like identifier (also the figure's HTML id).
    public var name: String
    public var svg: String
    public var caption: String
    public init(name: String, svg: String, caption: String) { self.name = name; self.svg = svg; self.caption = caption }
}

/// A block of a report section.
public enum ReportBlock: Sendable, Equatable {
    case paragraph(String)
    case figure(ReportFigure)
    case table(ReportTable)
    /// A key/value list.
    case keyValues([KeyValue])
}

public struct KeyValue: Sendable, Equatable {
    public var key: String
    public var value: String
    public init(_ key: String, _ value: String) { self.key = key; self.value = value }
}

public struct ReportSection: Sendable, Equatable {
    public var heading: String
    public var paragraph: String?
    public var blocks: [ReportBlock]
    public init(_ heading: String, paragraph: String? = nil, blocks: [ReportBlock] = []) {
        self.heading = heading; self.paragraph = paragraph; self.blocks = blocks
    }
    public var figures: [ReportFigure] { blocks.compactMap { if case .figure(let f) = $0 { return f } else { return nil } } }
    public var tables: [ReportTable] { blocks.compactMap { if case .table(let t) = $0 { return t } else { return nil } } }
}

/// A self-contained HTML5 document: inline CSS and SVG, no scripts, no external resources.
public struct HTMLReport: Sendable, Equatable {
    public var title: String
    public var metadata: [KeyValue]
    public var sections: [ReportSection]

    public init(title: String, metadata: [KeyValue] = [], sections: [ReportSection] = []) {
        self.title = title; self.metadata = metadata; self.sections = sections
    }

    public mutating func add(_ section: ReportSection) { sections.append(section) }

    /// Every figure, in document order.
    public var figures: [ReportFigure] { sections.flatMap(\.figures) }

    static let css = """
    :root { color-scheme: light; }
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1b1b1b; background: #fafafa; margin: 0; }
    main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; background: #ffffff; }
    h1 { font-size: 26px; margin: 8px 0 16px; }
    h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #0072B2; }
    p { line-height: 1.5; max-width: 72em; }
    nav ol { columns: 2; font-size: 14px; }
    nav a, a { color: #0062a0; }
    dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; margin: 0 0 12px; }
    dl.meta dt { font-weight: bold; color: #444444; }
    dl.meta dd { margin: 0; overflow-wrap: anywhere; }
    figure { margin: 18px 0; padding: 10px; border: 1px solid #dddddd; border-radius: 4px; background: #ffffff; }
    figure svg { display: block; max-width: 100%; height: auto; margin: 0 auto; }
    figcaption { font-size: 13.5px; color: #333333; margin-top: 6px; line-height: 1.4; }
    figcaption .fig { font-weight: bold; }
    .tablewrap { overflow-x: auto; margin: 14px 0; }
    table { border-collapse: collapse; font-size: 13px; }
    caption { text-align: left; font-weight: bold; padding: 4px 0; }
    th, td { border: 1px solid #d4d4d4; padding: 3px 8px; }
    th { background: #eef3f8; text-align: left; }
    td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    tbody tr:nth-child(even) { background: #f6f6f6; }
    footer { margin-top: 40px; font-size: 12px; color: #666666; }
    """

    /// The document.
    public func render() -> String {
        var h = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
                 "<title>\(Fmt.escape(title))</title>", "<link rel=\"icon\" href=\"data:,\">",
                 "<style>", HTMLReport.css, "</style>", "</head>", "<body>", "<main>",
                 "<h1>\(Fmt.escape(title))</h1>"]
        if !metadata.isEmpty { h.append(HTMLReport.keyValues(metadata)) }
        if sections.count > 1 {
            h.append("<nav aria-label=\"contents\"><ol>")
            for (i, s) in sections.enumerated() { h.append("<li><a href=\"#section-\(i + 1)\">\(Fmt.escape(s.heading))</a></li>") }
            h.append("</ol></nav>")
        }
        var fig = 0, tab = 0
        var usedIDs = Set<String>()
        for (i, s) in sections.enumerated() {
            h.append("<section id=\"section-\(i + 1)\">")
            h.append("<h2>\(Fmt.escape(s.heading))</h2>")
            if let p = s.paragraph { h.append("<p>\(Fmt.escape(p))</p>") }
            for b in s.blocks {
                switch b {
                case .paragraph(let p): h.append("<p>\(Fmt.escape(p))</p>")
                case .keyValues(let kv): h.append(HTMLReport.keyValues(kv))
                case .figure(let f):
                    fig += 1
                    var id = "fig-" + HTMLReport.slug(f.name)
                    while usedIDs.contains(id) { id += "-\(fig)" }
                    usedIDs.insert(id)
                    h.append("<figure id=\"\(id)\">")
                    h.append(HTMLReport.inlineSVG(f.svg))
                    h.append("<figcaption><span class=\"fig\">Figure \(fig).</span> \(Fmt.escape(f.caption))</figcaption>")
                    h.append("</figure>")
                case .table(let t):
                    tab += 1
                    h.append(HTMLReport.table(t, number: tab))
                }
            }
            h.append("</section>")
        }
        h += ["<footer>Generated by spikescale report: \(fig) figure\(fig == 1 ? "" : "s"), \(tab) table\(tab == 1 ? "" : "s").</footer>",
              "</main>", "</body>", "</html>", ""]
        return h.joined(separator: "\n")
    }

    static func keyValues(_ kv: [KeyValue]) -> String {
        "<dl class=\"meta\">" + kv.map { "<dt>\(Fmt.escape($0.key))</dt><dd>\(Fmt.escape($0.value))</dd>" }.joined() + "</dl>"
    }

    static func table(_ t: ReportTable, number: Int) -> String {
        let ncol = Swift.max(t.header.count, t.rows.map(\.count).max() ?? 0)
        let numeric = (0..<ncol).map(t.isNumeric)
        var h = ["<div class=\"tablewrap\"><table>"]
        h.append("<caption>Table \(number).\(t.caption.map { " " + Fmt.escape($0) } ?? "")</caption>")
        if !t.header.isEmpty {
            h.append("<thead><tr>" + (0..<ncol).map { i in
                "<th scope=\"col\"\(numeric[i] ? " class=\"num\"" : "")>\(Fmt.escape(i < t.header.count ? t.header[i] : ""))</th>"
            }.joined() + "</tr></thead>")
        }
        h.append("<tbody>")
        for r in t.rows {
            h.append("<tr>" + (0..<ncol).map { i in
                "<td\(numeric[i] ? " class=\"num\"" : "")>\(Fmt.escape(i < r.count ? r[i] : ""))</td>"
            }.joined() + "</tr>")
        }
        h.append("</tbody></table></div>")
        return h.joined(separator: "\n")
    }

    /// The SVG without an XML declaration (inline SVG in HTML must not carry one).
    public static func inlineSVG(_ svg: String) -> String {
        var s = svg.trimmingCharacters(in: .whitespacesAndNewlines)
        if s.hasPrefix("<?xml"), let end = s.range(of: "?>") { s = String(s[end.upperBound...]).trimmingCharacters(in: .whitespacesAndNewlines) }
        return s
    }

    /// Lower-case letters, digits and dashes.
    public static func slug(_ s: String) -> String {
        var out = ""
        for ch in s.lowercased().unicodeScalars {
            if CharacterSet.alphanumerics.contains(ch) && ch.isASCII { out.unicodeScalars.append(ch) }
            else if !out.hasSuffix("-") { out += "-" }
        }
        while out.hasSuffix("-") { out.removeLast() }
        while out.hasPrefix("-") { out.removeFirst() }
        return out.isEmpty ? "x" : out
    }
}
