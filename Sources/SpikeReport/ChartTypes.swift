import Foundation

/// Size, title and axes of a chart. On category charts (bars, distributions, heatmaps) only the
/// label of `x` is used.
public struct ChartOptions: Sendable {
    public var title: String
    public var x: Axis
    public var y: Axis
    public var width: Double
    public var height: Double
    /// Draw the legend (below the plot) when the chart has named entries.
    public var legend: Bool
    /// Longer text for screen readers (`<desc>`).
    public var description: String?

    public init(title: String, x: Axis = Axis(), y: Axis = Axis(), width: Double = 760, height: Double = 420,
                legend: Bool = true, description: String? = nil) {
        self.title = title; self.x = x; self.y = y
        self.width = Swift.max(160, width.isFinite ? width : 760)
        self.height = Swift.max(140, height.isFinite ? height : 420)
        self.legend = legend; self.description = description
    }
}

public struct DataPoint: Sendable, Equatable {
    public var x: Double
    public var y: Double
    public init(_ x: Double, _ y: Double) { self.x = x; self.y = y }
}

/// A named series of a line chart; points are joined in the order given.
public struct Series: Sendable, Equatable {
    public var name: String
    public var points: [DataPoint]
    /// Dashed line (e.g. a reference such as the ANN's accuracy).
    public var dashed: Bool
    public var markers: Bool

    public init(_ name: String, points: [DataPoint], dashed: Bool = false, markers: Bool = true) {
        self.name = name; self.points = points; self.dashed = dashed; self.markers = markers
    }
    public init(_ name: String, xy: [(Double, Double)], dashed: Bool = false, markers: Bool = true) {
        self.init(name, points: xy.map { DataPoint($0.0, $0.1) }, dashed: dashed, markers: markers)
    }
}

/// One named series of a bar chart: a value per category (NaN or missing = no bar).
public struct BarSeries: Sendable, Equatable {
    public var name: String
    public var values: [Double]
    public init(_ name: String, values: [Double]) { self.name = name; self.values = values }
}

/// One group of a distribution chart: many values per category (`values[c]` for category c).
public struct DistributionGroup: Sendable, Equatable {
    public var name: String
    public var values: [[Double]]
    public init(_ name: String, values: [[Double]]) { self.name = name; self.values = values }
}

/// A horizontal reference line with a legend label.
public struct ReferenceLine: Sendable, Equatable {
    public var value: Double
    public var label: String
    public init(_ value: Double, label: String) { self.value = value; self.label = label }
}

/// One neuron's row of a spike raster.
public struct RasterRow: Sendable, Equatable {
    /// Rows of the same group (e.g. layer) are drawn together and labelled once.
    public var group: String
    public var label: String
    /// Timesteps (1...T) of its spikes; a negative value -t is a negative spike at t.
    public var spikeTimes: [Int]
    public init(group: String, label: String = "", spikeTimes: [Int]) {
        self.group = group; self.label = label; self.spikeTimes = spikeTimes
    }
}

/// Five-number summary used by the distribution chart.
public struct BoxStats: Sendable, Equatable {
    public var count: Int
    public var min: Double, q1: Double, median: Double, q3: Double, max: Double
    /// Whisker ends: the most extreme values within 1.5 IQR of the box.
    public var lowerWhisker: Double, upperWhisker: Double

    /// Summary of the finite values (nil when there are none). Quantiles interpolate linearly.
    public init?(_ values: [Double]) {
        let v = values.filter(\.isFinite).sorted()
        guard !v.isEmpty else { return nil }
        func q(_ p: Double) -> Double {
            let h = Double(v.count - 1) * p
            let i = Int(h.rounded(.down)), f = h - Double(i)
            return i + 1 < v.count ? v[i] + (v[i + 1] - v[i]) * f : v[i]
        }
        count = v.count; min = v[0]; max = v[v.count - 1]
        q1 = q(0.25); median = q(0.5); q3 = q(0.75)
        let lo = q1 - 1.5 * (q3 - q1), hi = q3 + 1.5 * (q3 - q1)
        lowerWhisker = v.first { $0 >= lo } ?? v[0]
        upperWhisker = v.last { $0 <= hi } ?? v[v.count - 1]
    }
}
