#if arch(x86_64) && SPIKESCALE_AVX2
import CSpikeSIMD
#endif

/// For each 8-lane firing mask, the lanes whose bit is set in ascending order, then zeros: row `mask` (8 lane
/// numbers) is the permutation that left-packs those lanes (`packLanes`). Allocated once, never freed.
enum LeftPack {
    nonisolated(unsafe) static let rows: UnsafePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 256 * 8)
        for mask in 0..<256 {
            let lanes = (0..<8).filter { mask >> $0 & 1 == 1 }
            for j in 0..<8 { p[mask * 8 + j] = j < lanes.count ? Int32(lanes[j]) : 0 }
        }
        return UnsafePointer(p)
    }()
}

/// Writes the events of lanes `first ..< first + 8` whose bit is set in `bits`, with values `v`, in lane order, to
/// `index` and `value` (which must have room for eight), and returns how many it wrote. `table` is `LeftPack.rows`,
/// read once by the caller outside its loop (a static's lazy initialization is checked at every read). On AVX2 one left-packing
/// permutation and two 8-lane stores, with no branch per event (a spike's lane is data-dependent and mispredicts);
/// in a portable build lane by lane. The one packing step of `LaneEmitter.emit8` and `LayerState.fire`.
@inline(__always)
func packLanes(_ first: Int, _ bits: UInt32, _ v: SIMD8<Float>,
               _ index: UnsafeMutablePointer<Int32>, _ value: UnsafeMutablePointer<Float>, table: UnsafePointer<Int32>) -> Int {
    #if arch(x86_64) && SPIKESCALE_AVX2
    let lanes = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: first)) &+ SIMD8<Int32>(0, 1, 2, 3, 4, 5, 6, 7)
    cs_left_pack8(lanes, v, table + Int(bits) * 8, index, value)
    return bits.nonzeroBitCount
    #else
    var b = bits, k = 0
    while b != 0 {
        let l = b.trailingZeroBitCount
        b &= b - 1
        index[k] = Int32(truncatingIfNeeded: first + l); value[k] = v[l]; k += 1
    }
    return k
    #endif
}

/// Events emitted eight lanes at a time (`packLanes`) into a fixed buffer that is appended to an event list when it
/// fills and at the end (`flush`). The events reach the list in the order they were emitted.
struct LaneEmitter {
    let index: UnsafeMutablePointer<Int32>, value: UnsafeMutablePointer<Float>
    let capacity: Int
    let table = LeftPack.rows
    var count = 0

    init(capacity: Int = 4096) {
        precondition(capacity >= 8)
        self.capacity = capacity
        index = .allocate(capacity: capacity); value = .allocate(capacity: capacity)
    }

    func deallocate() { index.deallocate(); value.deallocate() }

    mutating func flush(into out: inout EventList) {
        out.index.append(contentsOf: UnsafeBufferPointer(start: index, count: count))
        out.value.append(contentsOf: UnsafeBufferPointer(start: value, count: count))
        count = 0
    }

    @inline(__always)
    mutating func emit(_ i: Int, _ v: Float, into out: inout EventList) {
        if _slowPath(count == capacity) { flush(into: &out) }
        index[count] = Int32(truncatingIfNeeded: i); value[count] = v; count += 1
    }

    /// The events of lanes `first ..< first + 8` whose bit is set in `bits`, with values `v`, in lane order.
    @inline(__always)
    mutating func emit8(_ first: Int, _ bits: UInt32, _ v: SIMD8<Float>, into out: inout EventList) {
        if _slowPath(count > capacity - 8) { flush(into: &out) }
        count += packLanes(first, bits, v, index + count, value + count, table: table)
    }
}
