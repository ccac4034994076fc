import SpikeCore

/// The table kernel's dense pass: where an input's events fill a large share of the input rows they lie in (the
/// early layers of yolo-fastest fire at 30-45%, with up to two spikes per event), adding each event's weights one
/// synapse at a time costs more than a dense convolution over those rows. `runDense` writes the events' values into
/// a dense map of the rows (zeros elsewhere) and computes each owned output as `runDense`'s loops say: its current,
/// then for each kernel offset (ky, kx) in order and each input channel of its group in order, `+ s · w`.
///
/// Same bits as `run`: that is the canonical order `run` adds the events in (ascending input index within the
/// window), and a slot without an event adds `0 · w = ±0`, which leaves every sum unchanged, except a sum of
/// exactly −0 (`−0 + +0 = +0`). A sum is −0 only if it starts at −0 (a sum that starts elsewhere never reaches
/// −0: `x + (−x)` is +0), and it starts at the layer's bias, so layers with a bias of −0 never take the dense
/// pass (`denseSafe`). Which pass runs never changes a result; `SimulationConfig.denseAbove` sets where it
/// switches, by the events' share of their input rows, whatever the rank count.
extension ConvScatterTables {
    /// True if the dense pass applies here and the events `range` fill at least `fraction` of the input rows they
    /// lie in.
    func prefersDense(events: EventList, range: (Int, Int), above fraction: Double) -> Bool {
        guard denseSafe, !block.channelSplit, range.1 > range.0 else { return false }
        let row = inShape.rowStride
        let first = Int(events.index[range.0]) / row, last = Int(events.index[range.1 - 1]) / row
        return Double(range.1 - range.0) >= fraction * Double((last - first + 1) * row)
    }

    /// Adds the events `range` of `events` to `current` as `run` does (same rows, same bits, same returned count),
    /// by a dense pass over their input rows. `map`: a scratch of zeros, grown as needed, left all zeros.
    func runDense(events: EventList, range: (Int, Int), weights: UnsafePointer<Float>, current: UnsafeMutablePointer<Float>,
                  rows band: Range<Int>? = nil, map: inout [Float]) -> Int {
        precondition(denseSafe && !block.channelSplit, "ConvScatterTables.runDense: not for this layer")
        guard range.1 > range.0 else { return 0 }
        let inC = inShape.channels, rowStride = inShape.rowStride
        let outC = outShape.channels, outW = outShape.width
        let ipg = inC / groups, opg = outC / groups
        let w = window
        let iyLo = Int(events.index[range.0]) / rowStride, iyHi = Int(events.index[range.1 - 1]) / rowStride + 1
        let mapBase = iyLo * rowStride, mapCount = (iyHi - iyLo) * rowStride
        if map.count < mapCount { map.append(contentsOf: repeatElement(0, count: mapCount - map.count)) }
        var oyLo = block.rowLower, oyHi = block.rowUpper
        if let band { oyLo = Swift.max(oyLo, band.lowerBound); oyHi = Swift.min(oyHi, band.upperBound) }
        let cL = block.channelLower, cU = block.channelUpper, ownLower = block.own.lower
        let depthwise = ipg == 1 && opg == 1
        var ops = 0
        let rs = rowStart, ro = rowOutput
        let ocs = outColStart, oci = outColInput, ocw = outColWeight
        let inLo = interiorLo, inHi = interiorHi, dIn = w.strideW * inC
        map.withUnsafeMutableBufferPointer { M in
        events.index.withUnsafeBufferPointer { idxs in
        events.value.withUnsafeBufferPointer { vals in
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * w.kernelH) { rowBuf in
            let m = M.baseAddress!
            // The events into the map, and the count `run` returns (its loop, without the adds): per input row, the
            // sum of its events' synapses within the row (`rowOffsetReach`) times the output rows the row reaches.
            var count = 0
            let reach = rowOffsetReach
            var e = range.0
            while e < range.1 {
                let iy = Int(idxs[e]) / rowStride
                let rowBase = iy * rowStride, rowEnd = rowBase + rowStride
                var r0 = rs[iy], r1 = rs[iy + 1]
                if let band {
                    while r0 < r1 && ro[r0] >= band.upperBound { r0 += 1 }
                    while r1 > r0 && ro[r1 - 1] < band.lowerBound { r1 -= 1 }
                }
                var inRow = 0
                repeat {
                    let idx = Int(idxs[e])
                    m[idx - mapBase] = vals[e]
                    inRow += Int(reach[idx - rowBase])
                    e += 1
                } while e < range.1 && Int(idxs[e]) < rowEnd
                count += inRow * (r1 - r0)
            }
            ops = count
            let rowIn = rowBuf.baseAddress!, rowW = rowBuf.baseAddress! + w.kernelH
            for oy in oyLo..<Swift.max(oyLo, oyHi) {
                // The kernel rows whose input row holds events, ky ascending.
                var n = 0
                for ky in 0..<w.kernelH {
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    if iy < iyLo || iy >= iyHi { continue }
                    rowIn[n] = (iy - iyLo) * rowStride; rowW[n] = ky * w.kernelW * ipg * outC
                    n += 1
                }
                if n == 0 { continue }
                var ox = 0
                while ox < outW {
                    let y = current + ((oy * outW + ox) * outC - ownLower)
                    let e0 = ocs[ox], e1 = ocs[ox + 1]
                    // Four output columns at once where their windows lie inside the input: four independent sums per
                    // weight load (each sum's adds stay in its own order), instead of one chain of dependent adds.
                    let four = ox >= inLo && ox + 4 <= inHi
                    let width = four ? 4 : 1
                    if depthwise {
                        // One input channel per output channel: eight channels are eight independent sums.
                        var c = cL
                        while c + 8 <= cU {
                            if four {
                                let y0 = UnsafeMutableRawPointer(y + c), y1 = UnsafeMutableRawPointer(y + outC + c)
                                let y2 = UnsafeMutableRawPointer(y + 2 * outC + c), y3 = UnsafeMutableRawPointer(y + 3 * outC + c)
                                var a0 = y0.loadUnaligned(as: SIMD8<Float>.self), a1 = y1.loadUnaligned(as: SIMD8<Float>.self)
                                var a2 = y2.loadUnaligned(as: SIMD8<Float>.self), a3 = y3.loadUnaligned(as: SIMD8<Float>.self)
                                for r in 0..<n {
                                    let mr = m + rowIn[r] + c, wr = weights + rowW[r] + c
                                    for e in e0..<e1 {
                                        let k = UnsafeRawPointer(wr + ocw[e]).loadUnaligned(as: SIMD8<Float>.self)
                                        let sp = mr + oci[e]
                                        a0 += UnsafeRawPointer(sp).loadUnaligned(as: SIMD8<Float>.self) * k
                                        a1 += UnsafeRawPointer(sp + dIn).loadUnaligned(as: SIMD8<Float>.self) * k
                                        a2 += UnsafeRawPointer(sp + 2 * dIn).loadUnaligned(as: SIMD8<Float>.self) * k
                                        a3 += UnsafeRawPointer(sp + 3 * dIn).loadUnaligned(as: SIMD8<Float>.self) * k
                                    }
                                }
                                y0.storeBytes(of: a0, as: SIMD8<Float>.self); y1.storeBytes(of: a1, as: SIMD8<Float>.self)
                                y2.storeBytes(of: a2, as: SIMD8<Float>.self); y3.storeBytes(of: a3, as: SIMD8<Float>.self)
                            } else {
                                let yr = UnsafeMutableRawPointer(y + c)
                                var acc = yr.loadUnaligned(as: SIMD8<Float>.self)
                                for r in 0..<n {
                                    let mr = m + rowIn[r] + c, wr = weights + rowW[r] + c
                                    for e in e0..<e1 {
                                        let s = UnsafeRawPointer(mr + oci[e]).loadUnaligned(as: SIMD8<Float>.self)
                                        let k = UnsafeRawPointer(wr + ocw[e]).loadUnaligned(as: SIMD8<Float>.self)
                                        acc += s * k
                                    }
                                }
                                yr.storeBytes(of: acc, as: SIMD8<Float>.self)
                            }
                            c += 8
                        }
                        for j in 0..<width {
                            let yj = y + j * outC, off = j * dIn
                            for c in c..<cU {
                                var a = yj[c]
                                for r in 0..<n {
                                    let mr = m + rowIn[r] + c + off, wr = weights + rowW[r] + c
                                    for e in e0..<e1 { a += mr[oci[e]] * wr[ocw[e]] }
                                }
                                yj[c] = a
                            }
                        }
                        ox += width
                        continue
                    }
                    for g in 0..<groups {
                        let oLo = Swift.max(g * opg, cL), oHi = Swift.min(g * opg + opg, cU)
                        if oLo >= oHi { continue }
                        let icBase = g * ipg
                        var o = oLo
                        while o + 8 <= oHi {
                            if four {
                                let y0 = UnsafeMutableRawPointer(y + o), y1 = UnsafeMutableRawPointer(y + outC + o)
                                let y2 = UnsafeMutableRawPointer(y + 2 * outC + o), y3 = UnsafeMutableRawPointer(y + 3 * outC + o)
                                var a0 = y0.loadUnaligned(as: SIMD8<Float>.self), a1 = y1.loadUnaligned(as: SIMD8<Float>.self)
                                var a2 = y2.loadUnaligned(as: SIMD8<Float>.self), a3 = y3.loadUnaligned(as: SIMD8<Float>.self)
                                for r in 0..<n {
                                    for e in e0..<e1 {
                                        let sp = m + rowIn[r] + oci[e] + icBase
                                        let wp = weights + rowW[r] + ocw[e] + o
                                        for icl in 0..<ipg {
                                            let k = UnsafeRawPointer(wp + icl * outC).loadUnaligned(as: SIMD8<Float>.self)
                                            a0 += SIMD8(repeating: sp[icl]) * k
                                            a1 += SIMD8(repeating: sp[dIn + icl]) * k
                                            a2 += SIMD8(repeating: sp[2 * dIn + icl]) * k
                                            a3 += SIMD8(repeating: sp[3 * dIn + icl]) * k
                                        }
                                    }
                                }
                                y0.storeBytes(of: a0, as: SIMD8<Float>.self); y1.storeBytes(of: a1, as: SIMD8<Float>.self)
                                y2.storeBytes(of: a2, as: SIMD8<Float>.self); y3.storeBytes(of: a3, as: SIMD8<Float>.self)
                            } else {
                                let yr = UnsafeMutableRawPointer(y + o)
                                var acc = yr.loadUnaligned(as: SIMD8<Float>.self)
                                for r in 0..<n {
                                    for e in e0..<e1 {
                                        let sp = m + rowIn[r] + oci[e] + icBase
                                        let wp = weights + rowW[r] + ocw[e] + o
                                        for icl in 0..<ipg {
                                            acc += SIMD8(repeating: sp[icl]) * UnsafeRawPointer(wp + icl * outC).loadUnaligned(as: SIMD8<Float>.self)
                                        }
                                    }
                                }
                                yr.storeBytes(of: acc, as: SIMD8<Float>.self)
                            }
                            o += 8
                        }
                        if o + 4 <= oHi {
                            if four {
                                let y0 = UnsafeMutableRawPointer(y + o), y1 = UnsafeMutableRawPointer(y + outC + o)
                                let y2 = UnsafeMutableRawPointer(y + 2 * outC + o), y3 = UnsafeMutableRawPointer(y + 3 * outC + o)
                                var a0 = y0.loadUnaligned(as: SIMD4<Float>.self), a1 = y1.loadUnaligned(as: SIMD4<Float>.self)
                                var a2 = y2.loadUnaligned(as: SIMD4<Float>.self), a3 = y3.loadUnaligned(as: SIMD4<Float>.self)
                                for r in 0..<n {
                                    for e in e0..<e1 {
                                        let sp = m + rowIn[r] + oci[e] + icBase
                                        let wp = weights + rowW[r] + ocw[e] + o
                                        for icl in 0..<ipg {
                                            let k = UnsafeRawPointer(wp + icl * outC).loadUnaligned(as: SIMD4<Float>.self)
                                            a0 += SIMD4(repeating: sp[icl]) * k
                                            a1 += SIMD4(repeating: sp[dIn + icl]) * k
                                            a2 += SIMD4(repeating: sp[2 * dIn + icl]) * k
                                            a3 += SIMD4(repeating: sp[3 * dIn + icl]) * k
                                        }
                                    }
                                }
                                y0.storeBytes(of: a0, as: SIMD4<Float>.self); y1.storeBytes(of: a1, as: SIMD4<Float>.self)
                                y2.storeBytes(of: a2, as: SIMD4<Float>.self); y3.storeBytes(of: a3, as: SIMD4<Float>.self)
                            } else {
                                let yr = UnsafeMutableRawPointer(y + o)
                                var acc = yr.loadUnaligned(as: SIMD4<Float>.self)
                                for r in 0..<n {
                                    for e in e0..<e1 {
                                        let sp = m + rowIn[r] + oci[e] + icBase
                                        let wp = weights + rowW[r] + ocw[e] + o
                                        for icl in 0..<ipg {
                                            acc += SIMD4(repeating: sp[icl]) * UnsafeRawPointer(wp + icl * outC).loadUnaligned(as: SIMD4<Float>.self)
                                        }
                                    }
                                }
                                yr.storeBytes(of: acc, as: SIMD4<Float>.self)
                            }
                            o += 4
                        }
                        for j in 0..<width {
                            let yj = y + j * outC, off = j * dIn
                            for o in o..<oHi {
                                var a = yj[o]
                                for r in 0..<n {
                                    for e in e0..<e1 {
                                        let sp = m + rowIn[r] + oci[e] + icBase + off
                                        let wp = weights + rowW[r] + ocw[e] + o
                                        for icl in 0..<ipg { a += sp[icl] * wp[icl * outC] }
                                    }
                                }
                                yj[o] = a
                            }
                        }
                    }
                    ox += width
                }
            }
            // Leave the map all zeros.
            for e in range.0..<range.1 { m[Int(idxs[e]) - mapBase] = 0 }
        }}}}
        return ops
    }
}
