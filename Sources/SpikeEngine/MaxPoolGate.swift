import SpikeCore

/// Spiking max-pooling gated by the most active input: each input neuron keeps a running sum of
/// its events; an output passes on, at each timestep, the event of the input in its window with
/// the largest running sum (ties to the first in window order). Over T steps the output's count
/// follows the most active input, the rate-coded counterpart of max (Rueckauer et al. 2017).
/// Only outputs whose window received an event this step can emit, so only they are evaluated:
/// the cost is proportional to the input events. Windows that tile the input are evaluated per
/// output position with an event, all its channels, eight at a time (`stepTiled`): an output of such
/// a position whose window had no event this step emits nothing either way (its window's events this
/// step are all 0, and in count mode its running maximum has not moved), so the events are the same.
///
/// Mode `count` instead keeps, per output, the sum it has emitted and emits the change of the
/// window's running maximum (±1 for spike inputs): the output count is then exactly the max of the
/// input counts, with no events lost when the leading input changes.
/// Where a gate keeps its running sums: Float, or, when the events are whole spikes (±1, or a burst's ±k)
/// whose sum over a sample cannot leave the type's range, the narrowest signed integer that holds it.
/// Float sums of whole numbers below 2^24 are exact, so every comparison and every emitted difference
/// is the same in either form; the integers take a half or a quarter of the memory.
protocol GateSum {
    static func add(_ p: UnsafeMutablePointer<Self>, _ v: Float)
    /// Lanes `i ..< i + 8` as Float.
    static func load8(_ p: UnsafePointer<Self>, _ i: Int) -> SIMD8<Float>
    var float: Float { get }
}

extension Float: GateSum {
    @inline(__always) static func add(_ p: UnsafeMutablePointer<Float>, _ v: Float) { p.pointee += v }
    @inline(__always) static func load8(_ p: UnsafePointer<Float>, _ i: Int) -> SIMD8<Float> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
    }
    @inline(__always) var float: Float { self }
}

extension Int16: GateSum {
    @inline(__always) static func add(_ p: UnsafeMutablePointer<Int16>, _ v: Float) { p.pointee &+= Int16(truncatingIfNeeded: Int32(v)) }
    @inline(__always) static func load8(_ p: UnsafePointer<Int16>, _ i: Int) -> SIMD8<Float> {
        SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Int16>.self)))
    }
    @inline(__always) var float: Float { Float(self) }
}

extension Int8: GateSum {
    @inline(__always) static func add(_ p: UnsafeMutablePointer<Int8>, _ v: Float) { p.pointee &+= Int8(truncatingIfNeeded: Int32(v)) }
    @inline(__always) static func load8(_ p: UnsafePointer<Int8>, _ i: Int) -> SIMD8<Float> {
        SIMD8<Float>(SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Int8>.self)))
    }
    @inline(__always) var float: Float { Float(self) }
}

struct MaxPoolGate {
    var score: [Float]   // running sum per input neuron of the view (unless kept as integers below)
    var score16: [Int16] = [], score8: [Int8] = []  // tiling windows over whole spikes: the running sums as integers
    var now: [Float]     // overlapping windows: this step's event value per input neuron of the view (the rank's scratch, lent per step)
    let viewCount: Int
    var marks: [UInt64]  // candidate owned outputs this step (bitmap; overlapping windows only)
    let viewLower: Int
    let mode: MaxPoolGateMode
    var emitted: [Float]  // count mode: the sum emitted so far per owned output
    var window: [Float] = []  // tiling windows: this step's events of one output position's inputs

    /// `sumBound`: the largest |running sum| a sample can reach if every event is a whole number of spikes
    /// (timesteps × the largest event), nil otherwise.
    init(view: FlatRange, ownCount: Int, window: Window, mode: MaxPoolGateMode = .leader, sumBound: Int? = nil) {
        self.mode = mode
        emitted = mode == .count ? [Float](repeating: 0, count: ownCount) : []
        switch Self.sumBytes(window: window, sumBound: sumBound) {
        case 1: score8 = [Int8](repeating: 0, count: view.count); score = []
        case 2: score16 = [Int16](repeating: 0, count: view.count); score = []
        default: score = [Float](repeating: 0, count: view.count)
        }
        now = []
        viewCount = view.count
        marks = window.tilesInput ? [] : [UInt64](repeating: 0, count: (ownCount + 63) / 64)
        viewLower = view.lower
    }

    /// Bytes per running sum: 1 or 2 (an integer) for tiling windows over whole spikes whose sums fit, else 4 (Float).
    static func sumBytes(window: Window, sumBound: Int?) -> Int {
        guard window.tilesInput, let b = sumBound else { return 4 }
        return b <= Int(Int8.max) ? 1 : b <= Int(Int16.max) ? 2 : 4
    }

    mutating func reset() {
        for i in score.indices { score[i] = 0 }
        for i in score16.indices { score16[i] = 0 }
        for i in score8.indices { score8[i] = 0 }
        for i in emitted.indices { emitted[i] = 0 }
    }

    mutating func step(input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape, window w: Window,
                       block b: RankBlock, into out: inout EventList) {
        if nonOverlapping(w) {
            stepTiled(input: ev, span: span, inShape: s, outShape: o, window: w, block: b, into: &out)
            return
        }
        let c = s.channels
        let ownLo = b.own.lower, vLo = viewLower
        ev.index.withUnsafeBufferPointer { idx in
        ev.value.withUnsafeBufferPointer { val in
        score.withUnsafeMutableBufferPointer { score in
        now.withUnsafeMutableBufferPointer { now in
        marks.withUnsafeMutableBufferPointer { marks in
            for k in span.0..<span.1 {
                let gi = Int(idx[k])
                let i = gi - vLo
                score[i] += val[k]; now[i] = val[k]
                // Mark every owned output whose window holds this input.
                let iy = gi / s.rowStride, rem = gi - iy * s.rowStride, ix = rem / c, ch = rem - ix * c
                if ch < b.channelLower || ch >= b.channelUpper { continue }
                w.forEachOutput(containing: iy, ix, rows: b.rowLower..<b.rowUpper, outputWidth: o.width) { oy, ox, _, _ in
                    let j = (oy * o.width + ox) * o.channels + ch - ownLo
                    marks[j >> 6] |= 1 << UInt64(j & 63)
                }
            }
        }}}}}
        emitMarked(inShape: s, outShape: o, window: w, ownLower: ownLo, into: &out)
        clearNow(ev, span: span)
    }

    /// Zeroes the scratch entries this step's events set.
    mutating func clearNow(_ ev: EventList, span: (Int, Int)) {
        let vLo = viewLower
        ev.index.withUnsafeBufferPointer { idx in
            now.withUnsafeMutableBufferPointer { now in
                for k in span.0..<span.1 { now[Int(idx[k]) - vLo] = 0 }
            }
        }
    }

    /// Windows that tile the input (`Window.tilesInput`): every input belongs to at most one output.
    func nonOverlapping(_ w: Window) -> Bool { w.tilesInput }

    /// Tiling windows, in one sweep of the sorted events: for each owned output row, the events of its input
    /// rows are walked together, one output column at a time. An output position's events add to the running
    /// sums and are set in `window` (its inputs' events this step, `[ky][kx][channel]`, a few kB); then every
    /// owned channel's output at that position passes on the event of the window input with the largest
    /// running sum (ties to the first in (ky, kx) order), eight channels at a time where the window lies inside
    /// the input, and `window` is cleared again. An output position without an event this step emits nothing,
    /// and neither does an output whose window had none (see the type's comment), so the events are those of
    /// the per-output rule, in ascending index order, without a scratch the size of the input.
    mutating func stepTiled(input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape, window w: Window,
                            block b: RankBlock, into out: inout EventList) {
        if window.count != w.kernelH * w.kernelW * s.channels { window = [Float](repeating: 0, count: w.kernelH * w.kernelW * s.channels) }
        let vLo = viewLower, count = mode == .count
        window.withUnsafeMutableBufferPointer { win in
        emitted.withUnsafeMutableBufferPointer { emitted in
            if !score8.isEmpty {
                score8.withUnsafeMutableBufferPointer {
                    Self.sweep($0.baseAddress!, win.baseAddress!, emitted.baseAddress, count: count, viewLower: vLo, input: ev, span: span,
                               inShape: s, outShape: o, window: w, block: b, into: &out)
                }
            } else if !score16.isEmpty {
                score16.withUnsafeMutableBufferPointer {
                    Self.sweep($0.baseAddress!, win.baseAddress!, emitted.baseAddress, count: count, viewLower: vLo, input: ev, span: span,
                               inShape: s, outShape: o, window: w, block: b, into: &out)
                }
            } else {
                score.withUnsafeMutableBufferPointer {
                    Self.sweep($0.baseAddress!, win.baseAddress!, emitted.baseAddress, count: count, viewLower: vLo, input: ev, span: span,
                               inShape: s, outShape: o, window: w, block: b, into: &out)
                }
            }
        }}
    }

    static func sweep<S: GateSum>(_ score: UnsafeMutablePointer<S>, _ win: UnsafeMutablePointer<Float>, _ emitted: UnsafeMutablePointer<Float>?,
                                  count: Bool, viewLower vLo: Int, input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape,
                                  window w: Window, block b: RankBlock, into out: inout EventList) {
        let c = s.channels, rs = s.rowStride, ownLo = b.own.lower
        let kh = w.kernelH, kw = w.kernelW, sh = w.strideH, sw = w.strideW
        let chLo = b.channelLower, chHi = b.channelUpper
        var scoreOffsets = [Int](), windowOffsets = [Int]()
        for ky in 0..<kh { for kx in 0..<kw { scoreOffsets.append((ky * s.width + kx) * c); windowOffsets.append((ky * kw + kx) * c) } }
        var heads = [Int](repeating: 0, count: kh), ends = heads, firsts = heads
        var emitter = LaneEmitter()
        defer { emitter.flush(into: &out); emitter.deallocate() }
        ev.index.withUnsafeBufferPointer { idx in
        ev.value.withUnsafeBufferPointer { val in
        scoreOffsets.withUnsafeBufferPointer { scoreOffsets in
        windowOffsets.withUnsafeBufferPointer { windowOffsets in
            let wp = UnsafeRawPointer(win)
            for oy in b.rowLower..<b.rowUpper {
                let iy0 = oy * sh
                if iy0 >= s.height { break }
                let rows = Swift.min(kh, s.height - iy0)
                // Each input row's events, within this step's span of the view.
                for r in 0..<rows {
                    let lo = (iy0 + r) * rs
                    var x = span.0, y = span.1
                    while x < y { let m = (x + y) >> 1; if Int(idx[m]) < lo { x = m + 1 } else { y = m } }
                    heads[r] = x
                    y = span.1
                    var z = x
                    while z < y { let m = (z + y) >> 1; if Int(idx[m]) < lo + rs { z = m + 1 } else { y = m } }
                    ends[r] = z
                }
                while true {
                    // The next output column with an event in its window.
                    var ox = Int.max
                    for r in 0..<rows where heads[r] < ends[r] {
                        ox = Swift.min(ox, (Int(idx[heads[r]]) - (iy0 + r) * rs) / c / sw)
                    }
                    if ox >= o.width { break }   // none left (or only inputs past the last window)
                    let ix0 = ox * sw
                    // Its events: add them to the running sums and set them in the window.
                    for r in 0..<rows {
                        let base = (iy0 + r) * rs + ix0 * c, limit = base + kw * c
                        let wr = r * kw * c - base
                        var k = heads[r]
                        firsts[r] = k
                        while k < ends[r] {
                            let gi = Int(idx[k])
                            if gi >= limit { break }
                            let v = val[k]
                            S.add(score + (gi - vLo), v)
                            win[wr + gi] = v
                            k += 1
                        }
                        heads[r] = k
                    }
                    let jBase = (oy * o.width + ox) * o.channels
                    var ch = chLo
                    if rows == kh && ix0 + kw <= s.width {
                        let q0 = (iy0 * s.width + ix0) * c - vLo
                        while ch + 8 <= chHi {
                            var best = SIMD8<Float>(repeating: -.infinity), bestV = SIMD8<Float>.zero
                            for t in 0..<scoreOffsets.count {
                                let sv = S.load8(score, q0 + scoreOffsets[t] + ch)
                                let nv = wp.loadUnaligned(fromByteOffset: (windowOffsets[t] + ch) * 4, as: SIMD8<Float>.self)
                                let gt = sv .> best
                                best.replace(with: sv, where: gt); bestV.replace(with: nv, where: gt)
                            }
                            let j0 = jBase + ch
                            if count {
                                let ep = UnsafeMutableRawPointer(emitted! + (j0 - ownLo))
                                let before = ep.loadUnaligned(as: SIMD8<Float>.self)
                                let d = best - before
                                let moved = d .!= 0
                                emitter.emit8(j0, laneBits(moved), d, into: &out)
                                ep.storeBytes(of: before.replacing(with: best, where: moved), as: SIMD8<Float>.self)
                            } else {
                                emitter.emit8(j0, laneBits(bestV .!= 0), bestV, into: &out)
                            }
                            ch += 8
                        }
                    }
                    // The channels left, and windows clipped by the input's end, one output at a time.
                    while ch < chHi {
                        var best = -Float.infinity, bestV: Float = 0
                        for ky in 0..<rows {
                            for kx in 0..<kw where ix0 + kx < s.width {
                                let q = ((iy0 + ky) * s.width + ix0 + kx) * c + ch - vLo
                                let sq = score[q].float
                                if sq > best { best = sq; bestV = win[(ky * kw + kx) * c + ch] }
                            }
                        }
                        let j = jBase + ch
                        if count {
                            let d = best - emitted![j - ownLo]
                            if d != 0 { emitter.emit(j, d, into: &out); emitted![j - ownLo] = best }
                        } else if bestV != 0 {
                            emitter.emit(j, bestV, into: &out)
                        }
                        ch += 1
                    }
                    // Clear the window for the next position.
                    for r in 0..<rows {
                        let wr = r * kw * c - ((iy0 + r) * rs + ix0 * c)
                        for k in firsts[r]..<heads[r] { win[wr + Int(idx[k])] = 0 }
                    }
                }
            }
        }}}}
    }

    /// For every marked output (ascending), passes on this step's event of the window input with the
    /// largest running sum (ties to the first in (ky, kx) order), and clears the marks. Outputs are
    /// decoded from their index incrementally (no division for nearby outputs); a window inside the
    /// input reads its inputs at fixed offsets, one clipped by the border checks each.
    mutating func emitMarked(inShape s: Shape, outShape o: Shape, window w: Window, ownLower ownLo: Int, into out: inout EventList) {
        let c = s.channels, oc = o.channels, vLo = viewLower
        let kh = w.kernelH, kw = w.kernelW
        // Offsets of the window's inputs from its first, in (ky, kx) order.
        var offsets = [Int]()
        offsets.reserveCapacity(kh * kw)
        for ky in 0..<kh { for kx in 0..<kw { offsets.append((ky * w.dilationH * s.width + kx * w.dilationW) * c) } }
        let spanH = (kh - 1) * w.dilationH, spanW = (kw - 1) * w.dilationW
        let count = mode == .count
        var emitter = LaneEmitter()
        defer { emitter.flush(into: &out); emitter.deallocate() }
        score.withUnsafeBufferPointer { score in
        now.withUnsafeBufferPointer { now in
        marks.withUnsafeMutableBufferPointer { marks in
        offsets.withUnsafeBufferPointer { offsets in
            var pos = -1, posBase = 0, oy = 0, ox = 0
            for word in 0..<marks.count where marks[word] != 0 {
                var bitsLeft = marks[word]
                marks[word] = 0
                while bitsLeft != 0 {
                    let bit = bitsLeft.trailingZeroBitCount
                    bitsLeft &= bitsLeft - 1
                    let j = word * 64 + bit + ownLo
                    if j >= posBase + oc || pos < 0 {
                        if pos >= 0 && j < posBase + 4 * oc {
                            repeat {
                                pos += 1; posBase += oc; ox += 1
                                if ox == o.width { ox = 0; oy += 1 }
                            } while j >= posBase + oc
                        } else {
                            pos = j / oc; posBase = pos * oc; oy = pos / o.width; ox = pos - oy * o.width
                        }
                    }
                    let ch = j - posBase
                    // The largest running sum in the window (windows always hold an input: pads are smaller
                    // than the kernel) and this step's event of the first input that has it.
                    var best = -Float.infinity, bestV: Float = 0
                    let iy0 = oy * w.strideH - w.padTop, ix0 = ox * w.strideW - w.padLeft
                    if iy0 >= 0 && iy0 + spanH < s.height && ix0 >= 0 && ix0 + spanW < s.width {
                        let q0 = (iy0 * s.width + ix0) * c + ch - vLo
                        // Branch-free: which input leads is data-dependent and mispredicts as a branch.
                        for off in offsets {
                            let q = q0 + off
                            let sq = score[q], nq = now[q]
                            let gt = sq > best
                            best = gt ? sq : best; bestV = gt ? nq : bestV
                        }
                    } else {
                        for ky in 0..<kh {
                            let iy = iy0 + ky * w.dilationH
                            if iy < 0 || iy >= s.height { continue }
                            for kx in 0..<kw {
                                let ix = ix0 + kx * w.dilationW
                                if ix < 0 || ix >= s.width { continue }
                                let q = (iy * s.width + ix) * c + ch - vLo
                                if score[q] > best { best = score[q]; bestV = now[q] }
                            }
                        }
                    }
                    if count {
                        let d = best - emitted[j - ownLo]
                        if d != 0 { emitter.emit(j, d, into: &out); emitted[j - ownLo] = best }
                    } else if bestV != 0 {
                        emitter.emit(j, bestV, into: &out)
                    }
                }
            }
        }}}}
    }
}

/// What a max-pool layer's gate keeps per input neuron, for memory models (`ScalingModel`).
public enum MaxPoolGateMemory {
    /// Bytes per running sum of max-pool layer `i` at `timesteps` (rate coding): 1 or 2 where they are kept as
    /// integers, else 4.
    public static func bytesPerSum(_ network: Network, layer i: Int, timesteps: Int, encoder: InputEncoder = .direct) -> Int {
        guard case .maxPool(let w) = network.layers[i].op, let src = network.layers[i].inputs.first else { return 4 }
        let bound = LayerState.wholeSpikeBound(src, network, encoder: encoder).map { $0 * timesteps }
        return MaxPoolGate.sumBytes(window: w, sumBound: bound)
    }
}
