/// The shape of one layer's output for one sample, stored channels-last (HWC).
///
/// Channels-last makes a band of rows one contiguous range of the flat index space and keeps
/// a neuron's output channels contiguous, which is what the spike scatter vectorizes over.
/// Flat index of (y, x, c) is `(y * width + x) * channels + c`.
public struct Shape: Hashable, Codable, Sendable, CustomStringConvertible {
    public var height: Int
    public var width: Int
    public var channels: Int

    public init(_ height: Int, _ width: Int, _ channels: Int) {
        self.height = height; self.width = width; self.channels = channels
    }

    /// Number of elements (neurons) in one sample.
    public var count: Int { height * width * channels }
    /// Elements in one row (all columns, all channels).
    public var rowStride: Int { width * channels }
    /// True for 1x1xC shapes (outputs of dense layers, global pooling and flatten).
    public var isVector: Bool { height == 1 && width == 1 }

    public var description: String { "\(height)x\(width)x\(channels)" }
}

/// A half-open range of flat indices `[lower, upper)` within one layer's output.
public struct FlatRange: Hashable, Codable, Sendable, CustomStringConvertible {
    public var lower: Int
    public var upper: Int
    public init(_ lower: Int, _ upper: Int) { self.lower = lower; self.upper = max(lower, upper) }
    public static let empty = FlatRange(0, 0)
    public var count: Int { upper - lower }
    public var isEmpty: Bool { upper <= lower }
    public func intersection(_ o: FlatRange) -> FlatRange {
        let lo = Swift.max(lower, o.lower), hi = Swift.min(upper, o.upper)
        return hi > lo ? FlatRange(lo, hi) : .empty
    }
    /// Smallest range covering both (the empty range is the identity).
    public func hull(_ o: FlatRange) -> FlatRange {
        if isEmpty { return o }
        if o.isEmpty { return self }
        return FlatRange(Swift.min(lower, o.lower), Swift.max(upper, o.upper))
    }
    public func contains(_ i: Int) -> Bool { i >= lower && i < upper }
    public var description: String { "[\(lower), \(upper))" }
}
