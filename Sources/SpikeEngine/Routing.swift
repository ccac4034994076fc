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
struct MaxPoolGate {
    var score: [Float]   // running sum per input neuron of the view
    var now: [Float]     // this timestep's event value per input neuron of the view (scratch)
    let viewLower: Int

    init(view: FlatRange) {
        score = [Float](repeating: 0, count: view.count)
        now = [Float](repeating: 0, count: view.count)
        viewLower = view.lower
    }

    mutating func reset() { for i in score.indices { score[i] = 0 } }

    mutating func step(input ev: EventList, span: (Int, Int), inShape s: Shape, outShape o: Shape, window w: Window,
                       block b: RankBlock, into out: inout EventList) {
        for k in span.0..<span.1 {
            let i = Int(ev.index[k]) - viewLower
            score[i] += ev.value[k]; now[i] = ev.value[k]
        }
        let c = s.channels
        for oy in b.rowLower..<b.rowUpper {
            for ox in 0..<o.width {
                for ch in b.channelLower..<b.channelUpper {
                    var best = -Float.infinity, bestV: Float = 0
                    for ky in 0..<w.kernelH {
                        let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                        if iy < 0 || iy >= s.height { continue }
                        for kx in 0..<w.kernelW {
                            let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                            if ix < 0 || ix >= s.width { continue }
                            let j = (iy * s.width + ix) * c + ch - viewLower
                            if score[j] > best { best = score[j]; bestV = now[j] }
                        }
                    }
                    if bestV != 0 { out.append((oy * o.width + ox) * o.channels + ch, bestV) }
                }
            }
        }
        for k in span.0..<span.1 { now[Int(ev.index[k]) - viewLower] = 0 }
    }
}
