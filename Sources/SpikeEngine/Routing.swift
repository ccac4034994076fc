import SpikeCore

/// Layers without neurons: they re-index their inputs' events for the owned block of their output.
/// Outputs are produced in ascending index order.
enum Routing {
    /// Channel concatenation: at each position, input 0's channels, then input 1's, ...
    static func concat(inputs: [EventList], shapes: [Shape], output outS: Shape, block b: RankBlock, into out: inout EventList) {
        let offsets = shapes.reduce(into: [0]) { $0.append($0.last! + $1.channels) }
        var heads = [Int](), ends = [Int]()
        for (k, ev) in inputs.enumerated() {
            let s = shapes[k]
            // Own rows, or the single position of a 1x1 layer.
            let (a, e) = ev.span(FlatRange(b.rowLower * s.rowStride, b.rowUpper * s.rowStride))
            heads.append(a); ends.append(e)
        }
        while true {
            var pos = Int.max
            for k in inputs.indices where heads[k] < ends[k] {
                pos = Swift.min(pos, Int(inputs[k].index[heads[k]]) / shapes[k].channels)
            }
            if pos == Int.max { return }
            for k in inputs.indices {
                let c = shapes[k].channels
                while heads[k] < ends[k] {
                    let i = Int(inputs[k].index[heads[k]])
                    if i / c != pos { break }
                    let oc = offsets[k] + i % c
                    let o = pos * outS.channels + oc
                    if b.own.contains(o) { out.append(o, inputs[k].value[heads[k]]) }
                    heads[k] += 1
                }
            }
        }
    }

    /// Channels `[start, start + count)` of the input.
    static func slice(input ev: EventList, shape s: Shape, start: Int, count: Int, block b: RankBlock, into out: inout EventList) {
        let (a, e) = ev.span(FlatRange(b.rowLower * s.rowStride, b.rowUpper * s.rowStride))
        for k in a..<e {
            let i = Int(ev.index[k])
            let pos = i / s.channels, c = i - pos * s.channels
            guard c >= start, c < start + count else { continue }
            let o = pos * count + c - start
            if b.own.contains(o) { out.append(o, ev.value[k]) }
        }
    }

    /// Nearest-neighbour upsampling by `f`.
    static func upsample(input ev: EventList, shape s: Shape, factor f: Int, output outS: Shape, block b: RankBlock, into out: inout EventList) {
        let c = s.channels
        for oy in b.rowLower..<b.rowUpper {
            let iy = oy / f
            var (k, e) = ev.span(FlatRange(iy * s.rowStride, (iy + 1) * s.rowStride))
            while k < e {
                // The run of events at one input column.
                let ix = (Int(ev.index[k]) - iy * s.rowStride) / c
                var runEnd = k
                while runEnd < e && (Int(ev.index[runEnd]) - iy * s.rowStride) / c == ix { runEnd += 1 }
                for j in 0..<f {
                    let ox = ix * f + j
                    for r in k..<runEnd {
                        let ch = Int(ev.index[r]) % c
                        out.append((oy * outS.width + ox) * c + ch, ev.value[r])
                    }
                }
                k = runEnd
            }
        }
    }

    /// HWC flatten: indices are unchanged.
    static func flatten(input ev: EventList, block b: RankBlock, into out: inout EventList) {
        let (a, e) = ev.span(b.own)
        out.append(contentsOf: ev, from: a, to: e)
    }
}

/// Spiking max-pooling gated by the most active input: each input neuron keeps a running sum of
/// its events; an output passes on, at each timestep, the event of the input in its window with
/// the largest running sum (ties to the first in window order). Over T steps the output's count
/// follows the most active input, the rate-coded counterpart of max (Rueckauer et al. 2017).
/// Only outputs whose window received an event this step can emit, so only they are evaluated:
/// the cost is proportional to the input events.
///
/// Mode `count` instead keeps, per output, the sum it has emitted and emits the change of the
/// window's running maximum (±1 for spike inputs): the output count is then exactly the max of the
/// input counts, with no events lost when the leading input changes.
struct MaxPoolGate {
    var score: [Float]   // running sum per input neuron of the view
    var now: [Float]     // this timestep's event value per input neuron of the view: the rank's scratch, lent per step
    let viewCount: Int
    var marks: [UInt64]  // candidate owned outputs this step (bitmap)
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
        let c = s.channels
        let ownLo = b.own.lower
        if nonOverlapping(w) {
            stepTiled(input: ev, span: span, inShape: s, outShape: o, window: w, block: b, into: &out)
            return
        }
        for k in span.0..<span.1 {
            let gi = Int(ev.index[k])
            let i = gi - viewLower
            score[i] += ev.value[k]; now[i] = ev.value[k]
            // Mark every owned output whose window holds this input.
            let iy = gi / s.rowStride, rem = gi - iy * s.rowStride, ix = rem / c, ch = rem - ix * c
            if ch < b.channelLower || ch >= b.channelUpper { continue }
            w.forEachOutput(containing: iy, ix, rows: b.rowLower..<b.rowUpper, outputWidth: o.width) { oy, ox, _, _ in
                let j = (oy * o.width + ox) * o.channels + ch - ownLo
                marks[j >> 6] |= 1 << UInt64(j & 63)
            }
        }
        emitMarked(inShape: s, outShape: o, window: w, ownLower: ownLo, into: &out)
        for k in span.0..<span.1 { now[Int(ev.index[k]) - viewLower] = 0 }
    }

    /// Windows that tile the input (kernel = stride, no padding or dilation): every input belongs to
    /// at most one output, found without division by the stride per kernel offset.
    func nonOverlapping(_ w: Window) -> Bool {
        w.kernelH == w.strideH && w.kernelW == w.strideW && w.padTop == 0 && w.padLeft == 0 && w.padBottom == 0
            && w.padRight == 0 && w.dilationH == 1 && w.dilationW == 1
    }

    mutating func stepTiled(input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape, window w: Window,
                            block b: RankBlock, into out: inout EventList) {
        let c = s.channels, ownLo = b.own.lower
        let sh = w.strideH, sw = w.strideW
        // Events are sorted, so position, row and column advance incrementally (no divisions for
        // nearby events); a far jump recomputes them.
        var pos = -1, posBase = 0, iy = 0, ix = 0
        for k in span.0..<span.1 {
            let gi = Int(ev.index[k])
            let i = gi - viewLower
            let v = ev.value[k]
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
            let j = (oy * o.width + ox) * o.channels + ch - ownLo
            marks[j >> 6] |= 1 << UInt64(j & 63)
        }
        emitMarked(inShape: s, outShape: o, window: w, ownLower: ownLo, into: &out)
        for k in span.0..<span.1 { now[Int(ev.index[k]) - viewLower] = 0 }
    }

    /// For every marked output (ascending), passes on this step's event of the window input with the
    /// largest running sum (ties to the first in (ky, kx) order), and clears the marks.
    mutating func emitMarked(inShape s: Shape, outShape o: Shape, window w: Window, ownLower ownLo: Int, into out: inout EventList) {
        let c = s.channels
        for word in marks.indices where marks[word] != 0 {
            var bitsLeft = marks[word]
            marks[word] = 0
            while bitsLeft != 0 {
                let bit = bitsLeft.trailingZeroBitCount
                bitsLeft &= bitsLeft - 1
                let j = word * 64 + bit + ownLo
                let oy = j / o.rowStride, rem = j - oy * o.rowStride, ox = rem / o.channels, ch = rem - ox * o.channels
                // The largest running sum in the window (windows always hold an input: pads are smaller
                // than the kernel) and this step's event of the first input that has it.
                var best = -Float.infinity, bestV: Float = 0
                for ky in 0..<w.kernelH {
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    if iy < 0 || iy >= s.height { continue }
                    for kx in 0..<w.kernelW {
                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                        if ix < 0 || ix >= s.width { continue }
                        let q = (iy * s.width + ix) * c + ch - viewLower
                        if score[q] > best { best = score[q]; bestV = now[q] }
                    }
                }
                if mode == .count {
                    let d = best - emitted[j - ownLo]
                    if d != 0 { out.append(j, d); emitted[j - ownLo] = best }
                } else if bestV != 0 {
                    out.append(j, bestV)
                }
            }
        }
    }
}
