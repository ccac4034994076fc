/// The events one layer emitted in one timestep, sorted by flat index (HWC) within the layer.
/// Spikes carry ±1; analog inputs (direct encoding) carry the input value.
public struct EventList: Sendable {
    public var index: [Int32] = []
    public var value: [Float] = []

    public init() {}
    public init(capacity: Int) { index.reserveCapacity(capacity); value.reserveCapacity(capacity) }

    public var count: Int { index.count }

    @inline(__always)
    public mutating func append(_ i: Int, _ v: Float) {
        index.append(Int32(truncatingIfNeeded: i)); value.append(v)
    }

    public mutating func removeAll() {
        index.removeAll(keepingCapacity: true); value.removeAll(keepingCapacity: true)
    }

    public mutating func append(contentsOf o: EventList, from lo: Int, to hi: Int) {
        index.append(contentsOf: o.index[lo..<hi]); value.append(contentsOf: o.value[lo..<hi])
    }

    /// Position of the first event with index >= `i` (binary search).
    public func lowerBound(_ i: Int) -> Int {
        var lo = 0, hi = index.count
        let key = Int32(truncatingIfNeeded: i)
        while lo < hi {
            let mid = (lo + hi) >> 1
            if index[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Positions `[a, b)` of the events whose index lies in `r`.
    public func span(_ r: FlatRange) -> (Int, Int) {
        (lowerBound(r.lower), lowerBound(r.upper))
    }
}

import SpikeCore
