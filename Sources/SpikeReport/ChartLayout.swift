import Foundation

/// A legend entry's symbol.
enum LegendSwatch {
    case line(color: String, marker: Marker?, dashed: Bool)
    case box(color: String)
    case tick(color: String)
    case reference(color: String)
}

struct LegendItem {
    var name: String
    var swatch: LegendSwatch
}

/// Where the plot area sits inside the chart.
struct PlotArea {
    var x0: Double, x1: Double, y0: Double, y1: Double
    var w: Double { x1 - x0 }
    var h: Double { y1 - y0 }
}

/// Shared layout: title, margins from the tick labels, legend rows below the plot.
enum Layout {
    static let titleSize = 15.0
    static let tickSize = 11.0
    static let labelSize = 12.5
    static let legendSize = 11.5
    static let legendRowHeight = 18.0
    static let grid = "#e3e3e3"
    static let axisColor = "#444444"

    static func topMargin(_ o: ChartOptions) -> Double { o.title.isEmpty ? 14 : 38 }

    /// Left margin for numeric y tick labels and the rotated y label.
    static func leftMargin(tickLabels: [String], yLabel: String) -> Double {
        let w = tickLabels.map { textWidth($0, size: tickSize) }.max() ?? 0
        return 10 + (yLabel.isEmpty ? 0 : 20) + w + 9
    }

    static func legendItemWidth(_ it: LegendItem) -> Double {
        30 + textWidth(truncate(it.name, 48), size: legendSize) + 16
    }

    /// Rows of legend items flowing within `width`.
    static func legendRows(_ items: [LegendItem], width: Double) -> [[LegendItem]] {
        var rows = [[LegendItem]](), cur = [LegendItem](), used = 0.0
        for it in items {
            let w = legendItemWidth(it)
            if !cur.isEmpty && used + w > width { rows.append(cur); cur = []; used = 0 }
            cur.append(it); used += w
        }
        if !cur.isEmpty { rows.append(cur) }
        return rows
    }

    static func legendHeight(_ items: [LegendItem], width: Double) -> Double {
        items.isEmpty ? 0 : Double(legendRows(items, width: width).count) * legendRowHeight + 6
    }

    static func drawTitle(_ c: inout SVGCanvas, _ o: ChartOptions) {
        guard !o.title.isEmpty else { return }
        let maxChars = Int((o.width - 20) / (titleSize * 0.6))
        c.text(truncate(o.title, maxChars), o.width / 2, 24, anchor: .middle, size: titleSize, weight: "bold",
               fill: "#111111", title: o.title.count > maxChars ? o.title : nil)
    }

    /// Legend rows centred under the plot, starting at `top`.
    static func drawLegend(_ c: inout SVGCanvas, _ items: [LegendItem], top: Double, width: Double, chartWidth: Double) {
        let rows = legendRows(items, width: width)
        for (r, row) in rows.enumerated() {
            let total = row.map(legendItemWidth).reduce(0, +) - 16
            var x = (chartWidth - total) / 2
            let y = top + Double(r) * legendRowHeight + 9
            for it in row {
                switch it.swatch {
                case let .line(color, marker, dashed):
                    c.line(x, y, x + 24, y, stroke: color, width: 2, dash: dashed ? "5,3" : nil)
                    if let marker { c.marker(marker, x + 12, y, size: 3.5, color: color) }
                case let .box(color):
                    c.rect(x + 5, y - 6, 14, 12, fill: color, stroke: color, opacity: 0.75)
                case let .tick(color):
                    c.rect(x + 10.5, y - 6, 3, 12, fill: color)
                case let .reference(color):
                    c.line(x, y, x + 24, y, stroke: color, width: 1.8, dash: "6,4")
                }
                let name = truncate(it.name, 48)
                c.text(name, x + 30, y + 4, size: legendSize, title: name == it.name ? nil : it.name)
                x += legendItemWidth(it)
            }
        }
    }

    /// Horizontal grid lines, tick labels and the rotated label of a numeric y axis.
    static func drawYAxis(_ c: inout SVGCanvas, _ a: ResolvedAxis, _ p: PlotArea, label: String) {
        for (t, s) in zip(a.ticks, a.labels) where a.contains(t) {
            let y = p.y1 - a.fraction(t) * p.h
            c.line(p.x0, y, p.x1, y, stroke: grid)
            c.line(p.x0 - 5, y, p.x0, y, stroke: axisColor)
            c.text(s, p.x0 - 8, y + 4, anchor: .end, size: tickSize)
        }
        c.line(p.x0, p.y0, p.x0, p.y1, stroke: axisColor)
        if !label.isEmpty {
            let maxChars = Int(p.h / (labelSize * 0.6))
            c.text(truncate(label, maxChars), 22, (p.y0 + p.y1) / 2, anchor: .middle, size: labelSize, rotate: -90,
                   title: label.count > maxChars ? label : nil)
        }
    }

    /// Vertical grid lines, tick labels and the label of a numeric x axis.
    static func drawXAxis(_ c: inout SVGCanvas, _ a: ResolvedAxis, _ p: PlotArea, label: String, chartWidth: Double) {
        // Skip labels that would collide with the previous one.
        var lastRight = -Double.infinity
        for (t, s) in zip(a.ticks, a.labels) where a.contains(t) {
            let x = p.x0 + a.fraction(t) * p.w
            c.line(x, p.y0, x, p.y1, stroke: grid)
            c.line(x, p.y1, x, p.y1 + 5, stroke: axisColor)
            let w = textWidth(s, size: tickSize)
            if x - w / 2 > lastRight + 4 {
                c.text(s, x, p.y1 + 18, anchor: .middle, size: tickSize)
                lastRight = x + w / 2
            }
        }
        c.line(p.x0, p.y1, p.x1, p.y1, stroke: axisColor)
        if !label.isEmpty {
            let maxChars = Int(p.w / (labelSize * 0.6))
            c.text(truncate(label, maxChars), (p.x0 + p.x1) / 2, p.y1 + 38, anchor: .middle, size: labelSize,
                   title: label.count > maxChars ? label : nil)
        }
    }

    /// Layout of category labels under a plot of width `plotWidth`.
    struct CategoryLabels {
        var labels: [String]
        var stride: Int
        var angle: Double   // degrees, 0 = horizontal
        var height: Double  // space they need below the axis
    }

    static func categoryLabels(_ cats: [String], plotWidth: Double) -> CategoryLabels {
        let labels = cats.map { truncate($0, 18) }
        guard !cats.isEmpty else { return CategoryLabels(labels: [], stride: 1, angle: 0, height: 16) }
        let slot = plotWidth / Double(cats.count)
        let maxW = labels.map { textWidth($0, size: tickSize) }.max() ?? 0
        if maxW <= slot - 4 { return CategoryLabels(labels: labels, stride: 1, angle: 0, height: 18) }
        if slot >= 17 {
            return CategoryLabels(labels: labels, stride: 1, angle: -45,
                                  height: maxW * 0.7072 + tickSize * 0.7072 + 12)
        }
        var stride = 1
        if slot < 13 {
            let need = 13 / slot
            stride = [1, 2, 5].lazy.flatMap { m in (0...8).map { m * Int(pow(10, Double($0))) } }
                .sorted().first { Double($0) >= need } ?? cats.count
        }
        let shown = Swift.stride(from: 0, to: cats.count, by: stride).map { labels[$0] }
        let w = shown.map { textWidth($0, size: tickSize) }.max() ?? 0
        // Short labels (channel numbers) stay horizontal when they fit between shown positions.
        if w <= slot * Double(stride) - 4 { return CategoryLabels(labels: labels, stride: stride, angle: 0, height: 18) }
        return CategoryLabels(labels: labels, stride: stride, angle: -90, height: w + 14)
    }

    static func drawCategoryAxis(_ c: inout SVGCanvas, _ cats: [String], _ cl: CategoryLabels, _ p: PlotArea,
                                 label: String) {
        let n = Swift.max(1, cats.count)
        let slot = p.w / Double(n)
        for i in Swift.stride(from: 0, to: cats.count, by: cl.stride) {
            let x = p.x0 + (Double(i) + 0.5) * slot
            c.line(x, p.y1, x, p.y1 + 5, stroke: axisColor)
            let full = cats[i] == cl.labels[i] ? nil : cats[i]
            if cl.angle == 0 {
                c.text(cl.labels[i], x, p.y1 + 18, anchor: .middle, size: tickSize, title: full)
            } else {
                c.text(cl.labels[i], x + (cl.angle == -90 ? 4 : 3), p.y1 + 12, anchor: .end, size: tickSize,
                       rotate: cl.angle, title: full)
            }
        }
        c.line(p.x0, p.y1, p.x1, p.y1, stroke: axisColor)
        if !label.isEmpty {
            let maxChars = Int(p.w / (labelSize * 0.6))
            c.text(truncate(label, maxChars), (p.x0 + p.x1) / 2, p.y1 + cl.height + 20, anchor: .middle, size: labelSize)
        }
    }

    static func noData(_ c: inout SVGCanvas, _ p: PlotArea) {
        c.text("no data", (p.x0 + p.x1) / 2, (p.y0 + p.y1) / 2, anchor: .middle, size: 14, fill: "#888888")
    }
}
