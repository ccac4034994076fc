import Foundation

/// Colour-blind-safe colours (Okabe & Ito) and a viridis-like sequential scale.
public enum Palette {
    /// Categorical colours, in order of use: blue, orange, bluish green, vermillion, reddish purple,
    /// sky blue, yellow-brown, grey.
    public static let categorical = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#B8860B", "#666666"]

    public static func color(_ i: Int) -> String { categorical[((i % categorical.count) + categorical.count) % categorical.count] }

    static let viridisStops: [(Double, Double, Double)] = [
        (68, 1, 84), (72, 40, 120), (62, 74, 137), (49, 104, 142), (38, 130, 142),
        (31, 158, 137), (53, 183, 121), (109, 205, 89), (180, 222, 44), (253, 231, 37),
    ]

    /// Sequential colour for t in [0, 1] (dark purple → yellow), as "#rrggbb".
    public static func sequential(_ t: Double) -> String {
        let (r, g, b) = sequentialRGB(t)
        return String(format: "#%02X%02X%02X", Int(r.rounded()), Int(g.rounded()), Int(b.rounded()))
    }

    static func sequentialRGB(_ t: Double) -> (Double, Double, Double) {
        let x = t.isFinite ? Swift.min(1, Swift.max(0, t)) : 0
        let p = x * Double(viridisStops.count - 1)
        let i = Swift.min(viridisStops.count - 2, Int(p.rounded(.down)))
        let f = p - Double(i)
        let a = viridisStops[i], b = viridisStops[i + 1]
        return (a.0 + (b.0 - a.0) * f, a.1 + (b.1 - a.1) * f, a.2 + (b.2 - a.2) * f)
    }

    /// Whether text on the sequential colour at t should be dark (light background).
    static func darkTextOn(_ t: Double) -> Bool {
        let (r, g, b) = sequentialRGB(t)
        return 0.299 * r + 0.587 * g + 0.114 * b > 140
    }
}

/// Marker shapes cycled per series, so series differ by more than colour.
enum Marker: CaseIterable {
    case circle, square, triangle, diamond, triangleDown, cross

    static func of(_ i: Int) -> Marker { allCases[i % allCases.count] }
}

/// Accumulates SVG elements; everything is escaped and formatted with fixed precision.
struct SVGCanvas {
    let width: Double
    let height: Double
    private(set) var body: [String] = []

    init(width: Double, height: Double) { self.width = width; self.height = height }

    mutating func raw(_ s: String) { body.append(s) }

    mutating func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, fill: String, stroke: String? = nil,
                       strokeWidth: Double = 1, opacity: Double? = nil, title: String? = nil) {
        var s = "<rect x=\"\(Fmt.c(x))\" y=\"\(Fmt.c(y))\" width=\"\(Fmt.c(Swift.max(0, w)))\" height=\"\(Fmt.c(Swift.max(0, h)))\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(Fmt.c(strokeWidth))\"" }
        if let opacity { s += " fill-opacity=\"\(Fmt.fixed(opacity, 2))\"" }
        if let title { s += "><title>\(Fmt.escape(title))</title></rect>" } else { s += "/>" }
        body.append(s)
    }

    mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String,
                       width: Double = 1, dash: String? = nil, opacity: Double? = nil) {
        var s = "<line x1=\"\(Fmt.c(x1))\" y1=\"\(Fmt.c(y1))\" x2=\"\(Fmt.c(x2))\" y2=\"\(Fmt.c(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Fmt.c(width))\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        if let opacity { s += " stroke-opacity=\"\(Fmt.fixed(opacity, 2))\"" }
        body.append(s + "/>")
    }

    mutating func polyline(_ pts: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
        guard pts.count >= 2 else { return }
        let p = pts.map { "\(Fmt.c($0.0)),\(Fmt.c($0.1))" }.joined(separator: " ")
        var s = "<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Fmt.c(width))\" stroke-linejoin=\"round\""
        if let dash { s += " stroke-dasharray=\"\(dash)\"" }
        body.append(s + "/>")
    }

    mutating func path(_ d: String, stroke: String? = nil, fill: String = "none", width: Double = 1, opacity: Double? = nil) {
        guard !d.isEmpty else { return }
        var s = "<path d=\"\(d)\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\" stroke-width=\"\(Fmt.c(width))\"" }
        if let opacity { s += " opacity=\"\(Fmt.fixed(opacity, 2))\"" }
        body.append(s + "/>")
    }

    mutating func circle(_ x: Double, _ y: Double, _ r: Double, fill: String, stroke: String? = nil, opacity: Double? = nil) {
        var s = "<circle cx=\"\(Fmt.c(x))\" cy=\"\(Fmt.c(y))\" r=\"\(Fmt.c(r))\" fill=\"\(fill)\""
        if let stroke { s += " stroke=\"\(stroke)\"" }
        if let opacity { s += " fill-opacity=\"\(Fmt.fixed(opacity, 2))\"" }
        body.append(s + "/>")
    }

    mutating func marker(_ m: Marker, _ x: Double, _ y: Double, size r: Double, color: String, title: String? = nil) {
        let open = title.map { "<g><title>\(Fmt.escape($0))</title>" } ?? ""
        let close = title == nil ? "" : "</g>"
        let shape: String
        switch m {
        case .circle:
            shape = "<circle cx=\"\(Fmt.c(x))\" cy=\"\(Fmt.c(y))\" r=\"\(Fmt.c(r))\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .square:
            shape = "<rect x=\"\(Fmt.c(x - r * 0.9))\" y=\"\(Fmt.c(y - r * 0.9))\" width=\"\(Fmt.c(r * 1.8))\" height=\"\(Fmt.c(r * 1.8))\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .triangle:
            shape = "<path d=\"M\(Fmt.c(x)),\(Fmt.c(y - r * 1.15))L\(Fmt.c(x + r * 1.05)),\(Fmt.c(y + r * 0.8))L\(Fmt.c(x - r * 1.05)),\(Fmt.c(y + r * 0.8))Z\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .triangleDown:
            shape = "<path d=\"M\(Fmt.c(x)),\(Fmt.c(y + r * 1.15))L\(Fmt.c(x + r * 1.05)),\(Fmt.c(y - r * 0.8))L\(Fmt.c(x - r * 1.05)),\(Fmt.c(y - r * 0.8))Z\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .diamond:
            shape = "<path d=\"M\(Fmt.c(x)),\(Fmt.c(y - r * 1.25))L\(Fmt.c(x + r * 1.1)),\(Fmt.c(y))L\(Fmt.c(x)),\(Fmt.c(y + r * 1.25))L\(Fmt.c(x - r * 1.1)),\(Fmt.c(y))Z\" fill=\"\(color)\" stroke=\"#ffffff\" stroke-width=\"0.8\"/>"
        case .cross:
            let a = r * 0.95
            shape = "<path d=\"M\(Fmt.c(x - a)),\(Fmt.c(y - a))L\(Fmt.c(x + a)),\(Fmt.c(y + a))M\(Fmt.c(x - a)),\(Fmt.c(y + a))L\(Fmt.c(x + a)),\(Fmt.c(y - a))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2.2\"/>"
        }
        body.append(open + shape + close)
    }

    enum Anchor: String { case start, middle, end }

    mutating func text(_ s: String, _ x: Double, _ y: Double, anchor: Anchor = .start, size: Double = 12,
                       weight: String? = nil, fill: String = "#222222", rotate: Double? = nil, baseline: String? = nil,
                       title: String? = nil) {
        var a = "<text x=\"\(Fmt.c(x))\" y=\"\(Fmt.c(y))\" font-size=\"\(Fmt.fixed(size, 1))\" fill=\"\(fill)\""
        if anchor != .start { a += " text-anchor=\"\(anchor.rawValue)\"" }
        if let weight { a += " font-weight=\"\(weight)\"" }
        if let baseline { a += " dominant-baseline=\"\(baseline)\"" }
        if let rotate { a += " transform=\"rotate(\(Fmt.fixed(rotate, 1)) \(Fmt.c(x)) \(Fmt.c(y)))\"" }
        let t = title.map { "<title>\(Fmt.escape($0))</title>" } ?? ""
        body.append(a + ">" + t + Fmt.escape(s) + "</text>")
    }

    /// The complete standalone document.
    func render(title: String, description: String? = nil) -> String {
        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Fmt.fixed(width, 0)) \(Fmt.fixed(height, 0))\" width=\"\(Fmt.fixed(width, 0))\" height=\"\(Fmt.fixed(height, 0))\" role=\"img\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
        out += "<title>\(Fmt.escape(title))</title>\n"
        if let description { out += "<desc>\(Fmt.escape(description))</desc>\n" }
        out += "<rect x=\"0\" y=\"0\" width=\"\(Fmt.fixed(width, 0))\" height=\"\(Fmt.fixed(height, 0))\" fill=\"#ffffff\"/>\n"
        out += body.joined(separator: "\n")
        out += "\n</svg>\n"
        return out
    }
}

/// Rough text width for layout (sans-serif average advance ≈ 0.6 em; wide enough to avoid overlap).
func textWidth(_ s: String, size: Double) -> Double { Double(s.count) * size * 0.6 }

/// `s` shortened to at most `n` characters with an ellipsis.
func truncate(_ s: String, _ n: Int) -> String {
    s.count <= n ? s : String(s.prefix(Swift.max(1, n - 1))) + "…"
}
