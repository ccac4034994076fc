/// Statistics of layer activations used by data-based weight normalisation (Diehl et al. 2015,
/// Rueckauer et al. 2017): the maximum, a high percentile (99.9, 99.99) or the mean of |x|.
///
/// Percentiles follow NumPy's default ("linear"): the value at rank `p/100 · (n − 1)` of the sorted
/// |x|, interpolated between the two neighbouring order statistics. They are exact, found by
/// quickselect on a copy (O(n) expected), never by a histogram.
public enum ActivationStats {
    /// Largest |x| (0 for an empty array).
    public static func maxAbs(_ x: [Float]) -> Float {
        x.withUnsafeBufferPointer { b in
            var m: Float = 0
            for v in b { m = max(m, abs(v)) }
            return m
        }
    }

    /// Mean of |x| (0 for an empty array), accumulated in double precision.
    public static func meanAbs(_ x: [Float]) -> Float {
        guard !x.isEmpty else { return 0 }
        return Float(sumAbs(x) / Double(x.count))
    }

    /// Sum of |x| in double precision.
    public static func sumAbs(_ x: [Float]) -> Double {
        x.withUnsafeBufferPointer { b in
            // Four partial sums keep the loop vectorizable and the rounding error small.
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            var i = 0
            while i + 4 <= b.count {
                s0 += Double(abs(b[i])); s1 += Double(abs(b[i + 1]))
                s2 += Double(abs(b[i + 2])); s3 += Double(abs(b[i + 3]))
                i += 4
            }
            while i < b.count { s0 += Double(abs(b[i])); i += 1 }
            return (s0 + s1) + (s2 + s3)
        }
    }

    /// The `p`-th percentile (0...100) of |x|. With `ignoreZeros`, exact zeros are left out first
    /// (SNN-toolbox style, so that silent ReLU units do not pull the percentile down).
    /// Returns 0 when no value is left.
    public static func percentileAbs(_ x: [Float], _ p: Double, ignoreZeros: Bool = false) -> Float {
        percentilesAbs(x, [p], ignoreZeros: ignoreZeros)[0]
    }

    /// Several percentiles of |x| at once (one copy, successive selections), in the order of `ps`.
    public static func percentilesAbs(_ x: [Float], _ ps: [Double], ignoreZeros: Bool = false) -> [Float] {
        precondition(ps.allSatisfy { $0 >= 0 && $0 <= 100 }, "percentiles must lie in [0, 100]")
        var a = [Float]()
        a.reserveCapacity(x.count)
        for v in x where !(ignoreZeros && v == 0) { a.append(abs(v)) }
        var result = [Float](repeating: 0, count: ps.count)
        let n = a.count
        guard n > 0 else { return result }
        let order = ps.indices.sorted { ps[$0] < ps[$1] }
        a.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            var from = 0  // everything before `from` is <= everything from `from` on
            for idx in order {
                let pos = ps[idx] / 100 * Double(n - 1)
                let k = min(n - 1, Int(pos.rounded(.down)))
                let frac = Float(pos - Double(k))
                select(base, from, n, k)
                from = k
                var v = base[k]
                if frac > 0 && k + 1 < n {
                    var next = base[k + 1]
                    for j in (k + 2)..<max(k + 2, n) where base[j] < next { next = base[j] }
                    v += frac * (next - v)
                }
                result[idx] = v
            }
        }
        return result
    }

    /// Rearranges `a[lo..<hi]` so that `a[k]` holds the value it would have if sorted, everything
    /// before it is <= and everything after it is >= (quickselect, median-of-three pivots).
    static func select(_ a: UnsafeMutablePointer<Float>, _ lo0: Int, _ hi0: Int, _ k: Int) {
        var lo = lo0, hi = hi0 - 1
        while hi > lo {
            if hi - lo < 16 {
                // Insertion sort of the small remainder.
                for i in (lo + 1)...hi {
                    let v = a[i]
                    var j = i - 1
                    while j >= lo && a[j] > v { a[j + 1] = a[j]; j -= 1 }
                    a[j + 1] = v
                }
                return
            }
            let mid = lo + (hi - lo) / 2
            if a[mid] < a[lo] { a.swapAt(mid, lo) }
            if a[hi] < a[lo] { a.swapAt(hi, lo) }
            if a[hi] < a[mid] { a.swapAt(hi, mid) }
            let pivot = a[mid]
            var i = lo, j = hi
            while i <= j {
                while a[i] < pivot { i += 1 }
                while a[j] > pivot { j -= 1 }
                if i <= j { a.swapAt(i, j); i += 1; j -= 1 }
            }
            // Now a[lo...j] <= pivot, a[i...hi] >= pivot and a[j+1..<i] == pivot.
            if k <= j { hi = j } else if k >= i { lo = i } else { return }
        }
    }
}

private extension UnsafeMutablePointer where Pointee == Float {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]; self[i] = self[j]; self[j] = t
    }
}

/// Running |x| statistics of one layer over many samples (maximum and mean), for normalising by
/// the dataset-wide maximum without keeping the activations.
public struct ActivationSummary: Sendable, Hashable {
    public private(set) var count: Int = 0
    public private(set) var maxAbs: Float = 0
    public private(set) var sumAbs: Double = 0

    public init() {}

    public var meanAbs: Float { count == 0 ? 0 : Float(sumAbs / Double(count)) }

    /// Adds one sample's layer output.
    public mutating func add(_ x: [Float]) {
        count += x.count
        maxAbs = max(maxAbs, ActivationStats.maxAbs(x))
        sumAbs += ActivationStats.sumAbs(x)
    }

    /// Merges another summary (e.g. one kept by another rank).
    public mutating func merge(_ o: ActivationSummary) {
        count += o.count; maxAbs = max(maxAbs, o.maxAbs); sumAbs += o.sumAbs
    }
}
