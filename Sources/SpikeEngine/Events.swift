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

    /// Appends up to `n` events written by `body` straight into the arrays (no capacity or uniqueness check per
    /// event): `body` gets where the first goes and returns how many it wrote. If it throws, nothing is appended.
    public mutating func append(upTo n: Int,
                                _ body: (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Float>) throws -> Int) rethrows {
        guard n > 0 else { return }
        let old = count
        index.append(contentsOf: repeatElement(0, count: n)); value.append(contentsOf: repeatElement(0, count: n))
        var written = 0
        defer { index.removeLast(n - written); value.removeLast(n - written) }
        written = try index.withUnsafeMutableBufferPointer { I in
            try value.withUnsafeMutableBufferPointer { V in try body(I.baseAddress! + old, V.baseAddress! + old) }
        }
        precondition(written <= n, "EventList.append(upTo:): wrote \(written) events into room for \(n)")
    }

    /// Merges the sorted runs that start at `starts` (ascending, the first at 0; the last ends at `count`) into
    /// one list sorted by index, merging adjacent runs pairwise through `scratch`. Indices are distinct across
    /// runs (each rank sends the events of its own neurons).
    public mutating func mergeRuns(_ starts: [Int], scratch: inout EventList) {
        var bounds = starts + [count]
        let n = count
        while bounds.count > 2 {
            // The scratch holds exactly n events; each pass writes every one of them.
            let have = scratch.count
            if have < n {
                scratch.index.append(contentsOf: repeatElement(0, count: n - have))
                scratch.value.append(contentsOf: repeatElement(0, count: n - have))
            } else if have > n {
                scratch.index.removeLast(have - n); scratch.value.removeLast(have - n)
            }
            var next = [0]
            var k = 0
            index.withUnsafeBufferPointer { I in
            value.withUnsafeBufferPointer { V in
            scratch.index.withUnsafeMutableBufferPointer { SI in
            scratch.value.withUnsafeMutableBufferPointer { SV in
                var o = 0
                @inline(__always) func put(_ x: Int) { SI[o] = I[x]; SV[o] = V[x]; o += 1 }
                while k + 1 < bounds.count {
                    let a0 = bounds[k], a1 = bounds[k + 1]
                    if k + 2 < bounds.count {
                        let b1 = bounds[k + 2]
                        var i = a0, j = a1
                        while i < a1 && j < b1 {
                            if I[i] < I[j] { put(i); i += 1 } else { put(j); j += 1 }
                        }
                        for x in i..<a1 { put(x) }
                        for x in j..<b1 { put(x) }
                        k += 2
                    } else {
                        for x in a0..<a1 { put(x) }
                        k += 1
                    }
                    next.append(o)
                }
            }}}}
            swap(&self, &scratch)
            bounds = next
        }
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
