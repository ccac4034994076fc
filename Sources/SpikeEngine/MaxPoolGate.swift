import SpikeCore

/// Spiking max-pooling gated by the most active input: each input neuron keeps a running sum of
/// its events; an output passes on, at each timestep, the event of the input in its window with
/// the largest running sum (ties to the first in window order). Over T steps the output's count
/// follows the most active input, the rate-coded counterpart of max (Rueckauer et al. 2017).
/// Only outputs whose window received an event this step can emit, so only they are evaluated:
/// the cost is proportional to the input events. Windows that tile the input are evaluated per
/// output position, eight channels at a time (`emitPositions`): an output of such a position whose
/// window had no event this step emits nothing either way (its window's events this step are all 0,
/// and in count mode its running maximum has not moved), so the events are the same.
///
/// Mode `count` instead keeps, per output, the sum it has emitted and emits the change of the
/// window's running maximum (±1 for spike inputs): the output count is then exactly the max of the
/// input counts, with no events lost when the leading input changes.
struct MaxPoolGate {
    var score: [Float]   // running sum per input neuron of the view
    var now: [Float]     // this timestep's event value per input neuron of the view: the rank's scratch, lent per step
    let viewCount: Int
    var marks: [UInt64]  // candidate owned outputs this step (bitmap); for tiling windows, owned output positions
    let viewLower: Int
    let mode: MaxPoolGateMode
    var emitted: [Float]  // count mode: the sum emitted so far per owned output

    init(view: FlatRange, ownCount: Int, mode: MaxPoolGateMode = .leader) {
        self.mode = mode
        emitted = mode == .count ? [Float](repeating: 0, count: ownCount) : []
        score = [Float](repeating: 0, count: view.count)
        now = []
        viewCount = view.count
        marks = [UInt64](repeating: 0, count: (ownCount + 63) / 64)
        viewLower = view.lower
    }

    mutating func reset() {
        for i in score.indices { score[i] = 0 }
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

    /// Windows that tile the input (kernel = stride, no padding before the input, no dilation): every input
    /// belongs to at most one output, found without division by the stride per kernel offset. Padding after
    /// the input (Darknet's `size=2 stride=2` pads one at the bottom and right) only clips the last windows.
    func nonOverlapping(_ w: Window) -> Bool {
        w.kernelH == w.strideH && w.kernelW == w.strideW && w.padTop == 0 && w.padLeft == 0
            && w.dilationH == 1 && w.dilationW == 1
    }

    mutating func stepTiled(input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape, window w: Window,
                            block b: RankBlock, into out: inout EventList) {
        let c = s.channels, ownLo = b.own.lower, vLo = viewLower
        let sh = w.strideH, sw = w.strideW
        ev.index.withUnsafeBufferPointer { idx in
        ev.value.withUnsafeBufferPointer { val in
        score.withUnsafeMutableBufferPointer { score in
        now.withUnsafeMutableBufferPointer { now in
        marks.withUnsafeMutableBufferPointer { marks in
            // Events are sorted, so position, row and column advance incrementally (no divisions for
            // nearby events); a far jump recomputes them.
            var pos = -1, posBase = 0, iy = 0, ix = 0
            for k in span.0..<span.1 {
                let gi = Int(idx[k])
                let i = gi - vLo
                let v = val[k]
                score[i] += v; now[i] = v
                if gi >= posBase + c || pos < 0 {
                    if pos >= 0 && gi < posBase + 4 * c {
                        repeat {
                            pos += 1; posBase += c; ix += 1
                            if ix == s.width { ix = 0; iy += 1 }
                        } while gi >= posBase + c
                    } else {
                        pos = gi / c; posBase = pos * c; iy = pos / s.width; ix = pos - iy * s.width
                    }
                }
                let ch = gi - posBase
                if ch < b.channelLower || ch >= b.channelUpper { continue }
                let oy = iy / sh, ox = ix / sw
                if oy < b.rowLower || oy >= b.rowUpper || ox >= o.width { continue }
                let pr = (oy - b.rowLower) * o.width + ox
                marks[pr >> 6] |= 1 << UInt64(pr & 63)
            }
        }}}}}
        emitPositions(inShape: s, outShape: o, window: w, block: b, into: &out)
        clearNow(ev, span: span)
    }

    /// Tiling windows: for every marked output position (ascending), every owned channel's output passes
    /// on this step's event of the window input with the largest running sum (ties to the first in
    /// (ky, kx) order), eight channels at a time where the window lies inside the input; clears the marks.
    /// The lanes do the scalar path's IEEE comparisons and selections, so the events are the same.
    mutating func emitPositions(inShape s: Shape, outShape o: Shape, window w: Window, block b: RankBlock, into out: inout EventList) {
        let c = s.channels, oc = o.channels, vLo = viewLower, ownLo = b.own.lower
        let kh = w.kernelH, kw = w.kernelW, chLo = b.channelLower, chHi = b.channelUpper
        var offsets = [Int]()
        offsets.reserveCapacity(kh * kw)
        for ky in 0..<kh { for kx in 0..<kw { offsets.append((ky * s.width + kx) * c) } }
        let count = mode == .count
        score.withUnsafeBufferPointer { score in
        now.withUnsafeBufferPointer { now in
        marks.withUnsafeMutableBufferPointer { marks in
        emitted.withUnsafeMutableBufferPointer { emitted in
        offsets.withUnsafeBufferPointer { offsets in
            let sp = UnsafeRawPointer(score.baseAddress!), np = UnsafeRawPointer(now.baseAddress!)
            for word in 0..<marks.count where marks[word] != 0 {
                var bitsLeft = marks[word]
                marks[word] = 0
                while bitsLeft != 0 {
                    let pr = word * 64 + bitsLeft.trailingZeroBitCount
                    bitsLeft &= bitsLeft - 1
                    let ry = pr / o.width, ox = pr - ry * o.width, oy = b.rowLower + ry
                    let iy0 = oy * w.strideH, ix0 = ox * w.strideW
                    let jBase = (oy * o.width + ox) * oc
                    var ch = chLo
                    if iy0 + kh <= s.height && ix0 + kw <= s.width {
                        let q0 = (iy0 * s.width + ix0) * c - vLo
                        while ch + 8 <= chHi {
                            var best = SIMD8<Float>(repeating: -.infinity), bestV = SIMD8<Float>.zero
                            for off in offsets {
                                let q = (q0 + off + ch) * 4
                                let sv = sp.loadUnaligned(fromByteOffset: q, as: SIMD8<Float>.self)
                                let nv = np.loadUnaligned(fromByteOffset: q, as: SIMD8<Float>.self)
                                let gt = sv .> best
                                best.replace(with: sv, where: gt); bestV.replace(with: nv, where: gt)
                            }
                            let j0 = jBase + ch
                            if count {
                                let ep = UnsafeMutableRawPointer(emitted.baseAddress! + (j0 - ownLo))
                                let d = best - ep.loadUnaligned(as: SIMD8<Float>.self)
                                var bits = laneBits(d .!= 0)
                                if bits != 0 {
                                    while bits != 0 {
                                        let l = bits.trailingZeroBitCount
                                        bits &= bits - 1
                                        out.append(j0 + l, d[l]); emitted[j0 - ownLo + l] = best[l]
                                    }
                                }
                            } else {
                                var bits = laneBits(bestV .!= 0)
                                if bits != 0 {
                                    while bits != 0 {
                                        let l = bits.trailingZeroBitCount
                                        bits &= bits - 1
                                        out.append(j0 + l, bestV[l])
                                    }
                                }
                            }
                            ch += 8
                        }
                    }
                    // The channels left, and windows clipped by the input's end, one output at a time.
                    while ch < chHi {
                        var best = -Float.infinity, bestV: Float = 0
                        for ky in 0..<kh {
                            let iy = iy0 + ky
                            if iy >= s.height { continue }
                            for kx in 0..<kw {
                                let ix = ix0 + kx
                                if ix >= s.width { continue }
                                let q = (iy * s.width + ix) * c + ch - vLo
                                if score[q] > best { best = score[q]; bestV = now[q] }
                            }
                        }
                        let j = jBase + ch
                        if count {
                            let d = best - emitted[j - ownLo]
                            if d != 0 { out.append(j, d); emitted[j - ownLo] = best }
                        } else if bestV != 0 {
                            out.append(j, bestV)
                        }
                        ch += 1
                    }
                }
            }
        }}}}}
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
                        if d != 0 { out.append(j, d); emitted[j - ownLo] = best }
                    } else if bestV != 0 {
                        out.append(j, bestV)
                    }
                }
            }
        }}}}
    }
}
