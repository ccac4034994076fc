import Foundation

/// SVG charts. Each function returns a complete standalone `<svg>` document (viewBox, white
/// background, title, axes, legend below the plot). Non-finite values (and non-positive ones on
/// log axes) are skipped; empty data gives an empty frame marked "no data". Same input, same bytes.
public enum Chart {

    // MARK: Line chart

    /// Several named series of (x, y) points joined by lines, with a marker at each point.
    public static func line(_ series: [Series], options o: ChartOptions) -> String {
        let valid: [[DataPoint]] = series.map { s in
            s.points.filter { ResolvedAxis.usable($0.x, o.x.scale) && ResolvedAxis.usable($0.y, o.y.scale) }
        }
        let all = valid.flatMap { $0 }
        let xa = ResolvedAxis(values: all.map(\.x), axis: o.x)
        let ya = ResolvedAxis(values: all.map(\.y), axis: o.y)
        let items = o.legend ? series.enumerated().filter { !$0.element.name.isEmpty }.map { i, s in
            LegendItem(name: s.name, swatch: .line(color: Palette.color(i), marker: s.markers ? Marker.of(i) : nil, dashed: s.dashed))
        } : []
        var c = SVGCanvas(width: o.width, height: o.height)
        let left = Layout.leftMargin(tickLabels: ya.labels, yLabel: o.y.label)
        let right = Swift.max(22, (xa.labels.last.map { textWidth($0, size: Layout.tickSize) } ?? 0) / 2 + 8)
        let legendH = Layout.legendHeight(items, width: o.width - 20)
        let bottom = 26 + (o.x.label.isEmpty ? 0 : 22) + legendH + 8
        let p = PlotArea(x0: left, x1: o.width - right, y0: Layout.topMargin(o), y1: o.height - bottom)
        Layout.drawTitle(&c, o)
        Layout.drawYAxis(&c, ya, p, label: o.y.label)
        Layout.drawXAxis(&c, xa, p, label: o.x.label, chartWidth: o.width)
        if all.isEmpty { Layout.noData(&c, p) }
        for (i, s) in series.enumerated() {
            let pts = valid[i].filter { xa.contains($0.x) && ya.contains($0.y) }
            let xy = pts.map { (p.x0 + xa.fraction($0.x) * p.w, p.y1 - ya.fraction($0.y) * p.h) }
            c.polyline(xy, stroke: Palette.color(i), width: 2, dash: s.dashed ? "6,4" : nil)
            if s.markers && pts.count <= 200 {
                for (pt, q) in zip(pts, xy) {
                    c.marker(Marker.of(i), q.0, q.1, size: pts.count > 60 ? 2.5 : 4, color: Palette.color(i),
                             title: "\(s.name): (\(Fmt.compact(pt.x)), \(Fmt.compact(pt.y)))")
                }
            }
        }
        Layout.drawLegend(&c, items, top: o.height - legendH - 8, width: o.width - 20, chartWidth: o.width)
        return c.render(title: o.title, description: o.description)
    }

    // MARK: Distribution chart

    /// Box-and-whisker per category and group (groups side by side), over a jittered strip of the
    /// individual values. Whiskers reach the extreme values within 1.5 IQR of the box.
    public static func distribution(categories: [String], groups: [DistributionGroup], options o: ChartOptions) -> String {
        let usable: (Double) -> Bool = { ResolvedAxis.usable($0, o.y.scale) }
        let values = groups.map { g in categories.indices.map { i in i < g.values.count ? g.values[i].filter(usable) : [] } }
        let ya = ResolvedAxis(values: values.flatMap { $0.flatMap { $0 } }, axis: o.y)
        let items = o.legend ? groups.enumerated().filter { !$0.element.name.isEmpty }.map { i, g in
            LegendItem(name: g.name, swatch: .box(color: Palette.color(i)))
        } : []
        var (c, p, legendH) = categoryFrame(categories, ya, items, o)
        if values.allSatisfy({ $0.allSatisfy(\.isEmpty) }) { Layout.noData(&c, p) }
        let slot = p.w / Double(Swift.max(1, categories.count))
        let ng = Double(Swift.max(1, groups.count))
        let gw = slot * 0.84 / ng
        let bw = Swift.min(gw * 0.8, 46)
        let yOf: (Double) -> Double = { p.y1 - ya.fraction($0) * p.h }
        for (ci, cat) in categories.enumerated() {
            for (gi, g) in groups.enumerated() {
                let v = values[gi][ci].filter(ya.contains)
                guard let st = BoxStats(v) else { continue }
                let cx = p.x0 + Double(ci) * slot + slot * 0.08 + (Double(gi) + 0.5) * gw
                let color = Palette.color(gi)
                // Strip of individual values (deterministic jitter), subsampled beyond 600 values.
                let step = Swift.max(1, v.count / 600)
                var d = ""
                for k in Swift.stride(from: 0, to: v.count, by: step) {
                    let j = (Double((k &* 2654435761) % 1000) / 1000 - 0.5) * bw * 0.9
                    let y = yOf(v[k])
                    d += "M\(Fmt.c(cx + j - 1.2)),\(Fmt.c(y))h2.4"
                }
                c.path(d, stroke: color, width: 2.4, opacity: 0.45)
                let yq1 = yOf(st.q1), yq3 = yOf(st.q3)
                c.line(cx, yOf(st.lowerWhisker), cx, yq1, stroke: Layout.axisColor, width: 1.2)
                c.line(cx, yq3, cx, yOf(st.upperWhisker), stroke: Layout.axisColor, width: 1.2)
                c.line(cx - bw / 4, yOf(st.lowerWhisker), cx + bw / 4, yOf(st.lowerWhisker), stroke: Layout.axisColor, width: 1.2)
                c.line(cx - bw / 4, yOf(st.upperWhisker), cx + bw / 4, yOf(st.upperWhisker), stroke: Layout.axisColor, width: 1.2)
                c.rect(cx - bw / 2, yq3, bw, Swift.max(1, yq1 - yq3), fill: color, stroke: color, strokeWidth: 1.4, opacity: 0.3,
                       title: "\(cat) · \(g.name): n=\(st.count), min \(Fmt.compact(st.min)), q1 \(Fmt.compact(st.q1)), median \(Fmt.compact(st.median)), q3 \(Fmt.compact(st.q3)), max \(Fmt.compact(st.max))")
                c.line(cx - bw / 2, yOf(st.median), cx + bw / 2, yOf(st.median), stroke: "#111111", width: 2.2)
            }
        }
        Layout.drawLegend(&c, items, top: o.height - legendH - 6, width: o.width - 20, chartWidth: o.width)
        return c.render(title: o.title, description: o.description)
    }

    // MARK: Bar charts

    /// One bar per category, with an optional horizontal reference line (e.g. the layer maximum).
    public static func bars(categories: [String], values: [Double], seriesName: String = "",
                            reference: ReferenceLine? = nil, options o: ChartOptions) -> String {
        groupedBars(categories: categories, series: [BarSeries(seriesName, values: values)],
                    reference: reference, options: o)
    }

    /// Bars of two or more series per category, side by side or stacked; linear axes include 0,
    /// log axes start bars at the bottom of the axis.
    public static func groupedBars(categories: [String], series: [BarSeries], stacked: Bool = false,
                                   reference: ReferenceLine? = nil, options o: ChartOptions) -> String {
        let usable: (Double) -> Bool = { ResolvedAxis.usable($0, o.y.scale) }
        func value(_ s: BarSeries, _ i: Int) -> Double { i < s.values.count ? s.values[i] : .nan }
        var extent = [Double]()
        if stacked {
            for i in categories.indices {
                var pos = 0.0, neg = 0.0
                for s in series { let v = value(s, i); guard v.isFinite else { continue }; if v >= 0 { pos += v } else { neg += v } }
                extent += [pos, neg].filter(usable)
                extent += series.map { value($0, i) }.filter(usable)
            }
        } else {
            extent = series.flatMap { s in categories.indices.map { value(s, $0) } }.filter(usable)
        }
        if let r = reference, usable(r.value) { extent.append(r.value) }
        var yAxis = o.y
        if !yAxis.scale.isLog && !extent.isEmpty { yAxis.includeZero = true }
        let ya = ResolvedAxis(values: extent, axis: yAxis)
        var items = o.legend ? series.enumerated().filter { !$0.element.name.isEmpty }.map { i, s in
            LegendItem(name: s.name, swatch: .box(color: Palette.color(i)))
        } : []
        if let r = reference, o.legend, usable(r.value) { items.append(LegendItem(name: r.label, swatch: .reference(color: "#D55E00"))) }
        var (c, p, legendH) = categoryFrame(categories, ya, items, o)
        if extent.isEmpty || categories.isEmpty || series.isEmpty { Layout.noData(&c, p) }
        let slot = p.w / Double(Swift.max(1, categories.count))
        let gap = slot >= 6 ? 0.18 : 0.0
        let groupW = slot * (1 - gap)
        let base = ya.scale.isLog ? ya.lo : Swift.min(Swift.max(0, ya.lo), ya.hi)
        func yOf(_ v: Double) -> Double {
            let f = Swift.min(1, Swift.max(0, ya.fraction(v)))
            return p.y1 - f * p.h
        }
        let perBarTitles = categories.count * series.count <= 2000
        for i in categories.indices {
            let gx = p.x0 + Double(i) * slot + slot * gap / 2
            var pos = base, neg = base
            for (si, s) in series.enumerated() {
                let v = value(s, i)
                guard usable(v) else { continue }
                let lo: Double, hi: Double, bx: Double, bw: Double
                if stacked {
                    bx = gx; bw = groupW
                    if ya.scale.isLog || v >= 0 {
                        lo = pos; hi = ya.scale.isLog && pos == base ? v : pos + v; pos = hi
                    } else { hi = neg; lo = neg + v; neg = lo }
                } else {
                    bw = groupW / Double(series.count); bx = gx + Double(si) * bw
                    lo = Swift.min(base, v); hi = Swift.max(base, v)
                }
                let yTop = yOf(hi), yBot = yOf(ya.scale.isLog && lo <= 0 ? ya.lo : lo)
                let name = s.name.isEmpty ? categories[i] : "\(categories[i]) · \(s.name)"
                c.rect(bx, yTop, Swift.max(0.6, bw - (bw > 4 ? 1 : 0)), Swift.max(0.5, yBot - yTop), fill: Palette.color(si),
                       opacity: 0.9, title: perBarTitles ? "\(name): \(Fmt.compact(v))" : nil)
            }
        }
        if !ya.scale.isLog && ya.lo < 0 && ya.hi > 0 { c.line(p.x0, yOf(0), p.x1, yOf(0), stroke: Layout.axisColor) }
        if let r = reference, usable(r.value), ya.contains(r.value) {
            c.line(p.x0, yOf(r.value), p.x1, yOf(r.value), stroke: "#D55E00", width: 1.8, dash: "6,4")
        }
        Layout.drawLegend(&c, items, top: o.height - legendH - 6, width: o.width - 20, chartWidth: o.width)
        return c.render(title: o.title, description: o.description)
    }

    // MARK: Spike raster

    /// Rows = neurons (grouped and labelled by `group`), x = timestep 1...T, one tick per spike;
    /// negative spikes in a second colour.
    public static func raster(rows: [RasterRow], timesteps: Int, options o: ChartOptions) -> String {
        let tMax = Swift.max(1, timesteps, rows.flatMap { $0.spikeTimes.map { abs($0) } }.max() ?? 1)
        var ticks = Ticks.linear(1, Double(tMax), target: 8).filter { $0 >= 1 && $0 == $0.rounded() }
        if ticks.isEmpty { ticks = [1] }
        var xAxis = o.x
        xAxis.scale = .linear; xAxis.min = 0.5; xAxis.max = Double(tMax) + 0.5; xAxis.ticks = ticks
        let xa = ResolvedAxis(values: [], axis: xAxis)
        let hasNeg = rows.contains { $0.spikeTimes.contains { $0 < 0 } }
        let pos = Palette.color(0), negColor = Palette.color(3)
        var items = [LegendItem]()
        if o.legend && !rows.isEmpty {
            items.append(LegendItem(name: "spike", swatch: .tick(color: pos)))
            if hasNeg { items.append(LegendItem(name: "negative spike", swatch: .tick(color: negColor))) }
        }
        // Group runs of consecutive rows.
        var runs = [(name: String, start: Int, count: Int)]()
        for (i, r) in rows.enumerated() {
            if let last = runs.last, last.name == r.group { runs[runs.count - 1].count += 1 } else { runs.append((r.group, i, 1)) }
        }
        var c = SVGCanvas(width: o.width, height: o.height)
        let groupLabelW = runs.map { textWidth(truncate($0.name, 18), size: Layout.tickSize) }.max() ?? 0
        let left = 10 + (o.y.label.isEmpty ? 0 : 20) + groupLabelW + 10
        let legendH = Layout.legendHeight(items, width: o.width - 20)
        let bottom = 26 + (o.x.label.isEmpty ? 0 : 22) + legendH + 8
        let right = Swift.max(22, (xa.labels.last.map { textWidth($0, size: Layout.tickSize) } ?? 0) / 2 + 8)
        let p = PlotArea(x0: left, x1: o.width - right, y0: Layout.topMargin(o), y1: o.height - bottom)
        Layout.drawTitle(&c, o)
        Layout.drawXAxis(&c, xa, p, label: o.x.label, chartWidth: o.width)
        c.line(p.x0, p.y0, p.x0, p.y1, stroke: Layout.axisColor)
        if !o.y.label.isEmpty { c.text(o.y.label, 22, (p.y0 + p.y1) / 2, anchor: .middle, size: Layout.labelSize, rotate: -90) }
        if rows.isEmpty { Layout.noData(&c, p) }
        let band = p.h / Double(Swift.max(1, rows.count))
        let stepW = p.w / Double(tMax)
        let sw = Swift.max(0.8, Swift.min(3, stepW * 0.6))
        var lastLabelY = -Double.infinity
        for (k, run) in runs.enumerated() {
            let top = p.y0 + Double(run.start) * band, bot = top + Double(run.count) * band
            if k > 0 { c.line(p.x0 - 6, top, p.x1, top, stroke: "#9a9a9a", width: 0.8) }
            let ly = (top + bot) / 2 + 4
            if ly - lastLabelY >= 13 && ly <= p.y1 + 2 {
                let name = truncate(run.name, 18)
                c.text(name, p.x0 - 8, ly, anchor: .end, size: Layout.tickSize,
                       title: "\(run.name): \(run.count) neuron\(run.count == 1 ? "" : "s")")
                lastLabelY = ly
            }
        }
        var dPos = "", dNeg = ""
        let tickH = Swift.max(0.8, Swift.min(band * 0.8, 14))
        for (i, r) in rows.enumerated() {
            let yc = p.y0 + (Double(i) + 0.5) * band
            for t in r.spikeTimes where t != 0 {
                let x = p.x0 + (Double(abs(t)) - 0.5) * stepW
                let seg = "M\(Fmt.c(x)),\(Fmt.c(yc - tickH / 2))v\(Fmt.c(tickH))"
                if t > 0 { dPos += seg } else { dNeg += seg }
            }
        }
        c.path(dPos, stroke: pos, width: sw)
        c.path(dNeg, stroke: negColor, width: sw)
        Layout.drawLegend(&c, items, top: o.height - legendH - 8, width: o.width - 20, chartWidth: o.width)
        return c.render(title: o.title, description: o.description)
    }

    // MARK: Heatmap

    /// A grid of `values[row][column]` (row 0 at the bottom) coloured on a sequential colour-blind-safe
    /// scale, each cell labelled with its value; non-finite cells are left grey and marked "–".
    public static func heatmap(columns: [String], rows: [String], values: [[Double]], colorLabel: String = "",
                               range: ClosedRange<Double>? = nil, decimals: Int = 2, options o: ChartOptions) -> String {
        let finite = values.flatMap { $0 }.filter(\.isFinite)
        var lo = range?.lowerBound ?? finite.min() ?? 0, hi = range?.upperBound ?? finite.max() ?? 1
        if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
        if hi <= lo { let d = lo == 0 ? 1 : abs(lo) * 0.1; lo -= d; hi += d }
        let scaleTicks = Ticks.linear(lo, hi, target: 5)
        let scaleLabels = Fmt.tickLabels(scaleTicks, step: scaleTicks.count > 1 ? scaleTicks[1] - scaleTicks[0] : 1)
        var c = SVGCanvas(width: o.width, height: o.height)
        let rowLabelW = rows.map { textWidth(truncate($0, 18), size: Layout.tickSize) }.max() ?? 0
        let left = 10 + (o.y.label.isEmpty ? 0 : 20) + rowLabelW + 10
        let barLabelW = scaleLabels.map { textWidth($0, size: Layout.tickSize) }.max() ?? 0
        let right = 16 + 14 + 8 + barLabelW + (colorLabel.isEmpty ? 0 : 22) + 8
        let x0 = left, x1 = o.width - right
        let cl = Layout.categoryLabels(columns, plotWidth: x1 - x0)
        let bottom = cl.height + 12 + (o.x.label.isEmpty ? 0 : 22) + 8
        let p = PlotArea(x0: x0, x1: x1, y0: Layout.topMargin(o), y1: o.height - bottom)
        Layout.drawTitle(&c, o)
        Layout.drawCategoryAxis(&c, columns, cl, p, label: o.x.label)
        if !o.y.label.isEmpty { c.text(o.y.label, 22, (p.y0 + p.y1) / 2, anchor: .middle, size: Layout.labelSize, rotate: -90) }
        if rows.isEmpty || columns.isEmpty { Layout.noData(&c, p) }
        let cw = p.w / Double(Swift.max(1, columns.count)), ch = p.h / Double(Swift.max(1, rows.count))
        let labels: [[String]] = rows.indices.map { r in columns.indices.map { k in
            let v = r < values.count && k < values[r].count ? values[r][k] : .nan
            return v.isFinite ? Fmt.fixed(v, decimals) : "–"
        } }
        let longest = labels.flatMap { $0 }.map(\.count).max() ?? 1
        let fontSize = Swift.min(12, ch * 0.45, (cw - 4) / (Double(longest) * 0.6))
        var lastRowLabelY = Double.infinity
        for r in rows.indices {
            let y = p.y1 - Double(r + 1) * ch
            let ly = y + ch / 2 + 4
            if lastRowLabelY - ly >= 13 {
                let name = truncate(rows[r], 18)
                c.text(name, p.x0 - 8, ly, anchor: .end, size: Layout.tickSize, title: name == rows[r] ? nil : rows[r])
                lastRowLabelY = ly
            }
            for k in columns.indices {
                let v = r < values.count && k < values[r].count ? values[r][k] : .nan
                let x = p.x0 + Double(k) * cw
                let t = v.isFinite ? Swift.min(1, Swift.max(0, (v - lo) / (hi - lo))) : 0
                c.rect(x, y, cw, ch, fill: v.isFinite ? Palette.sequential(t) : "#dddddd", stroke: "#ffffff", strokeWidth: 1,
                       title: "\(rows[r]), \(columns[k]): \(labels[r][k])")
                if fontSize >= 7 {
                    c.text(labels[r][k], x + cw / 2, y + ch / 2 + fontSize * 0.35, anchor: .middle, size: fontSize,
                           fill: !v.isFinite || Palette.darkTextOn(t) ? "#111111" : "#ffffff")
                }
            }
        }
        c.line(p.x0, p.y0, p.x0, p.y1, stroke: Layout.axisColor)
        // Colour bar.
        let bx = p.x1 + 16, steps = 32
        for s in 0..<steps {
            let t0 = Double(s) / Double(steps)
            c.rect(bx, p.y1 - (t0 + 1 / Double(steps)) * p.h, 14, p.h / Double(steps) + 0.5, fill: Palette.sequential(t0 + 0.5 / Double(steps)))
        }
        c.rect(bx, p.y0, 14, p.h, fill: "none", stroke: Layout.axisColor, strokeWidth: 0.8)
        for (t, s) in zip(scaleTicks, scaleLabels) {
            let y = p.y1 - (t - lo) / (hi - lo) * p.h
            c.line(bx + 14, y, bx + 18, y, stroke: Layout.axisColor)
            c.text(s, bx + 21, y + 4, size: Layout.tickSize)
        }
        if !colorLabel.isEmpty {
            c.text(colorLabel, o.width - 14, (p.y0 + p.y1) / 2, anchor: .middle, size: Layout.labelSize, rotate: -90)
        }
        return c.render(title: o.title, description: o.description)
    }

    /// The frame every category chart shares: canvas, margins sized to the tick and category labels and
    /// the legend, title, y axis and category axis. Returns the canvas, the plot area and the legend's height.
    static func categoryFrame(_ categories: [String], _ ya: ResolvedAxis, _ items: [LegendItem],
                              _ o: ChartOptions) -> (SVGCanvas, PlotArea, legendHeight: Double) {
        var c = SVGCanvas(width: o.width, height: o.height)
        let left = Layout.leftMargin(tickLabels: ya.labels, yLabel: o.y.label)
        let x0 = left, x1 = o.width - 20
        let cl = Layout.categoryLabels(categories, plotWidth: x1 - x0)
        let legendH = Layout.legendHeight(items, width: o.width - 20)
        let bottom = cl.height + 12 + (o.x.label.isEmpty ? 0 : 22) + legendH + 6
        let p = PlotArea(x0: x0, x1: x1, y0: Layout.topMargin(o), y1: o.height - bottom)
        Layout.drawTitle(&c, o)
        Layout.drawYAxis(&c, ya, p, label: o.y.label)
        Layout.drawCategoryAxis(&c, categories, cl, p, label: o.x.label)
        return (c, p, legendH)
    }
}
