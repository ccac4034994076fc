import SpikeCore

/// Event-driven synaptic kernels: each input event adds its weights to the currents of the owned
/// neurons it reaches. The cost is proportional to events × fan-out. Events are visited in ascending
/// source index, so every neuron sums its inputs in one canonical order whatever the rank count
/// (DESIGN.md section 5, rule 2). Each returns the number of accumulate operations performed.
extension Window {
    /// Calls `body(oy, ox, ky, kx)` for every output position with a row in `rows` and a column in
    /// `[0, outputWidth)` whose window holds input position `(iy, ix)`, in (ky, kx) order.
    @inline(__always)
    func forEachOutput(containing iy: Int, _ ix: Int, rows: Range<Int>, outputWidth: Int,
                       _ body: (_ oy: Int, _ ox: Int, _ ky: Int, _ kx: Int) -> Void) {
        for ky in 0..<kernelH {
            let ty = iy + padTop - ky * dilationH
            if ty < 0 { break }
            if ty % strideH != 0 { continue }
            let oy = ty / strideH
            if !rows.contains(oy) { continue }
            for kx in 0..<kernelW {
                let tx = ix + padLeft - kx * dilationW
                if tx < 0 { break }
                if tx % strideW != 0 { continue }
                let ox = tx / strideW
                if ox >= outputWidth { continue }
                body(oy, ox, ky, kx)
            }
        }
    }
}

enum Kernels {
    /// `y[0..<n] += a * x[0..<n]`, with add/subtract fast paths for spikes (a = ±1).
    /// The fast paths give the same bits as the multiply-add (a·x is exact for a = ±1).
    @inline(__always)
    static func axpy(_ n: Int, _ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
        if a == 1 {
            for o in 0..<n { y[o] += x[o] }
        } else if a == -1 {
            for o in 0..<n { y[o] -= x[o] }
        } else {
            for o in 0..<n { y[o] += a * x[o] }
        }
    }

    /// Convolution scatter into the currents of the owned block (rows or channels) of the output.
    static func conv(events: EventList, range: (Int, Int), input inS: Shape, output outS: Shape, window w: Window,
                     groups: Int, weights: UnsafePointer<Float>, block b: RankBlock,
                     current: UnsafeMutablePointer<Float>) -> Int {
        let inC = inS.channels, outC = outS.channels
        let ipg = inC / groups, opg = outC / groups
        let inRow = inS.rowStride
        let outW = outS.width
        let stride = b.stateStride(channels: outC), base = b.stateBase
        var ops = 0
        events.index.withUnsafeBufferPointer { idxs in
            events.value.withUnsafeBufferPointer { vals in
                for e in range.0..<range.1 {
                    let idx = Int(idxs[e]), v = vals[e]
                    let iy = idx / inRow
                    let rem = idx - iy * inRow
                    let ix = rem / inC
                    let ic = rem - ix * inC
                    let g = ic / ipg, icl = ic - g * ipg
                    let oLo = Swift.max(g * opg, b.channelLower), oHi = Swift.min(g * opg + opg, b.channelUpper)
                    if oLo >= oHi { continue }
                    let cnt = oHi - oLo
                    w.forEachOutput(containing: iy, ix, rows: b.rowLower..<b.rowUpper, outputWidth: outW) { oy, ox, ky, kx in
                        let wp = weights + ((ky * w.kernelW + kx) * ipg + icl) * outC + oLo
                        let yp = current + ((oy * outW + ox) * stride + oLo - base)
                        axpy(cnt, v, wp, yp)
                        ops += cnt
                    }
                }
            }
        }
        return ops
    }

    /// Dense scatter: event `i` adds row `i` of the weight matrix (owned columns only).
    static func dense(events: EventList, range: (Int, Int), outFeatures: Int, weights: UnsafePointer<Float>,
                      block b: RankBlock, current: UnsafeMutablePointer<Float>) -> Int {
        let cnt = b.channelUpper - b.channelLower
        guard cnt > 0 else { return 0 }
        for e in range.0..<range.1 {
            let idx = Int(events.index[e])
            axpy(cnt, events.value[e], weights + idx * outFeatures + b.channelLower, current)
        }
        return cnt * (range.1 - range.0)
    }

    /// Average-pool scatter; `inverse[oy * outW + ox]` is 1 / (window count) of each output position.
    static func avgPool(events: EventList, range: (Int, Int), input inS: Shape, output outS: Shape, window w: Window,
                        inverse: [Float], block b: RankBlock, current: UnsafeMutablePointer<Float>) -> Int {
        let c = inS.channels, inRow = inS.rowStride, outW = outS.width
        var ops = 0
        for e in range.0..<range.1 {
            let idx = Int(events.index[e]), v = events.value[e]
            let iy = idx / inRow, rem = idx - iy * inRow, ix = rem / c, ic = rem - ix * c
            if ic < b.channelLower || ic >= b.channelUpper { continue }
            w.forEachOutput(containing: iy, ix, rows: b.rowLower..<b.rowUpper, outputWidth: outW) { oy, ox, _, _ in
                current[(oy * outW + ox) * c + ic - b.own.lower] += v * inverse[oy * outW + ox]
                ops += 1
            }
        }
        return ops
    }

    /// Global-average-pool scatter into owned channels.
    static func globalAvgPool(events: EventList, range: (Int, Int), input inS: Shape, block b: RankBlock,
                              current: UnsafeMutablePointer<Float>) -> Int {
        let c = inS.channels
        let inv = 1 / Float(inS.height * inS.width)
        var ops = 0
        for e in range.0..<range.1 {
            let ic = Int(events.index[e]) % c
            if ic < b.channelLower || ic >= b.channelUpper { continue }
            current[ic - b.channelLower] += events.value[e] * inv
            ops += 1
        }
        return ops
    }

    /// Element-wise scatter of one input of an add layer, with an optional per-channel scale.
    static func add(events: EventList, range: (Int, Int), channels c: Int, scales: UnsafePointer<Float>?,
                    block b: RankBlock, current: UnsafeMutablePointer<Float>) -> Int {
        for e in range.0..<range.1 {
            let idx = Int(events.index[e])
            let s = scales.map { $0[idx % c] } ?? 1
            current[idx - b.own.lower] += events.value[e] * s
        }
        return range.1 - range.0
    }
}
