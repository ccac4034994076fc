import SpikeCore

/// Event-order convolution scatter, driven by tables built once per layer and rank.
///
/// For every input row `iy` the table lists the (output row, kernel row) pairs it reaches among this rank's
/// owned output rows, and for every input column `ix` the (output column, kernel column) pairs, both as
/// ready-made offsets into the currents and the weights. Per input channel it holds the channel's slot in
/// its group and the owned output channels it reaches. An event then costs one position decode (when the
/// position changes: events are sorted) and one add per reached synapse, with no integer division or
/// stride test in the loop. This is the kernel of depthwise layers and of layers with fewer than 16 output
/// channels per group (wider ones use `ConvGather`).
///
/// Order: events are visited in ascending input index, so every neuron sums its inputs in one canonical
/// order (DESIGN.md section 5, rule 2), the same as `ConvGather`'s (ky, kx, channel) order; which of the
/// two kernels a layer uses depends on its shape only, never on the rank count.
final class ConvScatterTables {
    /// `rowStart[iy] ..< rowStart[iy + 1]`: entries of input row iy; `rowCurrent` = oy·outW·outC,
    /// `rowWeight` = ky·kw·ipg·outC.
    let rowStart: UnsafeMutableBufferPointer<Int>, rowCurrent: UnsafeMutableBufferPointer<Int>, rowWeight: UnsafeMutableBufferPointer<Int>
    /// The output row of each entry (non-increasing within an input row's entries, as ky grows).
    let rowOutput: UnsafeMutableBufferPointer<Int>
    /// The same per input column: `colCurrent` = ox·outC, `colWeight` = kx·ipg·outC.
    let colStart: UnsafeMutableBufferPointer<Int>, colCurrent: UnsafeMutableBufferPointer<Int>, colWeight: UnsafeMutableBufferPointer<Int>
    /// Per input channel: offset of its first reached owned output channel in the currents (minus the
    /// owned range's start) and in the weights (icl·outC + oLo), and how many output channels it reaches
    /// (0: none owned here).
    let chanCurrent: UnsafeMutableBufferPointer<Int>, chanWeight: UnsafeMutableBufferPointer<Int>, chanCount: UnsafeMutableBufferPointer<Int>
    /// What the dense pass (`runDense`) reads: the shapes, window, groups and block the tables were built for.
    let inShape: Shape, outShape: Shape, window: Window, groups: Int, block: RankBlock
    /// Dense pass, per output column ox: `outColStart[ox] ..< outColStart[ox + 1]` are its window's input columns
    /// inside the input, kx ascending: `outColInput` = ix·inC (offset in an input row), `outColWeight` = kx·ipg·outC.
    let outColStart: UnsafeMutableBufferPointer<Int>, outColInput: UnsafeMutableBufferPointer<Int>, outColWeight: UnsafeMutableBufferPointer<Int>
    /// Dense pass, per offset o in an input row (o = ix·inC + ic): the owned output channels channel ic reaches times
    /// the output columns column ix reaches, so that an event's synapses are this times its row's reached output rows.
    let rowOffsetReach: UnsafeMutableBufferPointer<Int32>
    /// Dense pass: the output columns `[interiorLo, interiorHi)` whose whole window lies inside the input's columns.
    let interiorLo: Int, interiorHi: Int
    /// False if a bias is −0, where a dense pass could give +0 for a neuron without input (ConvScatter+Dense).
    let denseSafe: Bool

    /// `bias`: the layer's (empty if none), only to decide `denseSafe`.
    init(input inS: Shape, output outS: Shape, window w: Window, groups: Int, block b: RankBlock, bias: [Float] = []) {
        let inC = inS.channels, outC = outS.channels
        let ipg = inC / groups, opg = outC / groups
        var rowStart = [0], rowCurrent = [Int](), rowWeight = [Int](), rowOutput = [Int]()
        var colStart = [0], colCurrent = [Int](), colWeight = [Int]()
        var chanCurrent = [Int](), chanWeight = [Int](), chanCount = [Int]()
        for iy in 0..<inS.height {
            for ky in 0..<w.kernelH {
                let ty = iy + w.padTop - ky * w.dilationH
                if ty < 0 || ty % w.strideH != 0 { continue }
                let oy = ty / w.strideH
                if oy < b.rowLower || oy >= b.rowUpper { continue }
                rowCurrent.append(oy * outS.width * outC); rowWeight.append(ky * w.kernelW * ipg * outC); rowOutput.append(oy)
            }
            rowStart.append(rowCurrent.count)
        }
        for ix in 0..<inS.width {
            for kx in 0..<w.kernelW {
                let tx = ix + w.padLeft - kx * w.dilationW
                if tx < 0 || tx % w.strideW != 0 { continue }
                let ox = tx / w.strideW
                if ox >= outS.width { continue }
                colCurrent.append(ox * outC); colWeight.append(kx * ipg * outC)
            }
            colStart.append(colCurrent.count)
        }
        for ic in 0..<inC {
            let g = ic / ipg, icl = ic - g * ipg
            let oLo = Swift.max(g * opg, b.channelLower), oHi = Swift.min(g * opg + opg, b.channelUpper)
            chanCurrent.append(oLo - b.own.lower); chanWeight.append(icl * outC + oLo)
            chanCount.append(Swift.max(0, oHi - oLo))
        }
        func copy(_ a: [Int]) -> UnsafeMutableBufferPointer<Int> {
            let p = UnsafeMutableBufferPointer<Int>.allocate(capacity: Swift.max(1, a.count))
            _ = p.initialize(from: a)
            return p
        }
        self.rowStart = copy(rowStart); self.rowCurrent = copy(rowCurrent); self.rowWeight = copy(rowWeight)
        self.rowOutput = copy(rowOutput)
        self.colStart = copy(colStart); self.colCurrent = copy(colCurrent); self.colWeight = copy(colWeight)
        self.chanCurrent = copy(chanCurrent); self.chanWeight = copy(chanWeight); self.chanCount = copy(chanCount)
        var outColStart = [0], outColInput = [Int](), outColWeight = [Int]()
        for ox in 0..<outS.width {
            for kx in 0..<w.kernelW {
                let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                if ix < 0 || ix >= inS.width { continue }
                outColInput.append(ix * inC); outColWeight.append(kx * ipg * outC)
            }
            outColStart.append(outColInput.count)
        }
        self.outColStart = copy(outColStart); self.outColInput = copy(outColInput); self.outColWeight = copy(outColWeight)
        inShape = inS; outShape = outS; window = w; self.groups = groups; block = b
        rowOffsetReach = .allocate(capacity: Swift.max(1, inS.rowStride))
        for ix in 0..<inS.width {
            for ic in 0..<inC { rowOffsetReach[ix * inC + ic] = Int32(chanCount[ic] * (colStart[ix + 1] - colStart[ix])) }
        }
        let inside = (0..<outS.width).filter { ox in
            ox * w.strideW - w.padLeft >= 0 && ox * w.strideW - w.padLeft + (w.kernelW - 1) * w.dilationW < inS.width
        }
        (interiorLo, interiorHi) = (inside.first ?? 0, (inside.last ?? -1) + 1)
        denseSafe = !bias.contains { $0 == 0 && $0.sign == .minus }
    }

    deinit {
        for p in [rowStart, rowCurrent, rowWeight, rowOutput, colStart, colCurrent, colWeight, chanCurrent, chanWeight, chanCount,
                  outColStart, outColInput, outColWeight] { p.deallocate() }
        rowOffsetReach.deallocate()
    }

    /// Adds the events `range` of `events` (input of shape `inS`) to `current`; returns the accumulate count.
    /// `rows`: only to these output rows (an overlapped layer's passes, `RankSimulator.computeInterior`); each
    /// neuron of them still receives its events in event order.
    func run(events: EventList, range: (Int, Int), input inS: Shape, weights: UnsafePointer<Float>,
             current: UnsafeMutablePointer<Float>, rows: Range<Int>? = nil) -> Int {
        let inC = inS.channels, inW = inS.width
        var ops = 0
        let rs = rowStart, rc = rowCurrent, rw = rowWeight, ro = rowOutput, cs = colStart, cc = colCurrent, cwt = colWeight
        let chc = chanCurrent, chw = chanWeight, chn = chanCount
        events.index.withUnsafeBufferPointer { idxs in
        events.value.withUnsafeBufferPointer { vals in
            var posBase = -1, posEnd = -1
            var r0 = 0, r1 = 0, c0 = 0, c1 = 0
            for e in range.0..<range.1 {
                let idx = Int(idxs[e]), v = vals[e]
                if idx >= posEnd {
                    let p = idx / inC
                    let iy = p / inW, ix = p - iy * inW
                    posBase = p * inC; posEnd = posBase + inC
                    r0 = rs[iy]; r1 = rs[iy + 1]; c0 = cs[ix]; c1 = cs[ix + 1]
                    if let band = rows {
                        // The entries of the band: a contiguous run, output rows falling as the kernel row grows.
                        while r0 < r1 && ro[r0] >= band.upperBound { r0 += 1 }
                        while r1 > r0 && ro[r1 - 1] < band.lowerBound { r1 -= 1 }
                    }
                }
                let ic = idx - posBase
                let cnt = chn[ic]
                if cnt == 0 || r0 == r1 || c0 == c1 { continue }
                let wBase = weights + chw[ic], yBase = current + chc[ic]
                ops += cnt * (r1 - r0) * (c1 - c0)
                if cnt == 1 {
                    // Depthwise: one synapse per reached position; v·w is the product axpy forms.
                    for r in r0..<r1 {
                        let wr = wBase + rw[r], yr = yBase + rc[r]
                        for c in c0..<c1 { yr[cc[c]] += v * wr[cwt[c]] }
                    }
                } else {
                    for r in r0..<r1 {
                        let wr = wBase + rw[r], yr = yBase + rc[r]
                        for c in c0..<c1 { Kernels.axpy(cnt, v, wr + cwt[c], yr + cc[c]) }
                    }
                }
            }
        }}
        return ops
    }
}
