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
