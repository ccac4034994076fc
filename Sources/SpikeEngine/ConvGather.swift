import SpikeCore

/// Output-stationary convolution for layers with at least 16 output channels per group (register
/// chunks of 64, 32 or 16 output channels, the widest that fits; a remainder narrower than 16 goes through `axpy`), reading
/// only its packed copy of this rank's output channels' weights.
///
/// For each chunk of output channels, tile of output rows and kernel offset, the partial sums of
/// one position stay in vector registers while that offset's input events are added; every neuron
/// thus receives its inputs in (ky, kx, channel) order —
/// the same per-neuron order as the event-order scatter in `Kernels.conv`, so both give the same
/// bits and neither depends on the partition. Weight chunks are reused across positions from cache;
/// the work is proportional to events × fan-out plus one look-up per position and window offset.
enum ConvGather {
    /// Position index of a view: `start[p] ..< start[p + 1]` are the events at position `p0 + p`.
    struct PositionIndex {
        var start: [Int32] = []
        var p0 = 0

        mutating func build(_ ev: EventList, span: (Int, Int), view: FlatRange, channels c: Int) {
            p0 = view.lower / c
            let n = (view.upper + c - 1) / c - p0
            if start.count != n + 1 { start = [Int32](repeating: 0, count: n + 1) } else { for i in start.indices { start[i] = 0 } }
            ev.index.withUnsafeBufferPointer { idx in
                start.withUnsafeMutableBufferPointer { s in
                    for e in span.0..<span.1 { s[Int(idx[e]) / c - p0 + 1] += 1 }
                    for p in 0..<n { s[p + 1] += s[p] }
                    if span.0 != 0 { for p in 0...n { s[p] += Int32(span.0) } }
                }
            }
        }
    }

    /// Weights of every chunk of output channels this rank computes (chunks of `nextWidth`, and a
    /// narrower remainder per group), each chunk contiguous as `[kh·kw][inChannels/groups][width]`, so a
    /// chunk's working set is one compact block (few TLB entries, linear prefetch). The kernel reads only
    /// this copy: the layer's own weight array is not needed on the rank afterwards (only this rank's
    /// output channels are packed, so a layer split by output channels holds only its own weights).
    /// Returns the packed weights and, per chunk, its first channel and its offset in the packed array.
    static func pack(weights: [Float], window w: Window, inChannels inC: Int, outChannels outC: Int, groups: Int,
                     block b: RankBlock) -> (packed: [Float], chunks: [Int]) {
        let ipg = inC / groups, opg = outC / groups, kk = w.kernelH * w.kernelW
        let cw = chunkWidth(outChannelsPerGroup: opg)
        var packed = [Float](), chunks = [Int]()
        var total = 0
        for g in 0..<groups {
            let cLo = Swift.max(g * opg, b.channelLower), cHi = Swift.min(g * opg + opg, b.channelUpper)
            if cHi > cLo { total += kk * ipg * (cHi - cLo) }
        }
        packed.reserveCapacity(total)
        for g in 0..<groups {
            let cLo = Swift.max(g * opg, b.channelLower), cHi = Swift.min(g * opg + opg, b.channelUpper)
            var c = cLo
            while c < cHi {
                let width = nextWidth(remaining: cHi - c, chunk: cw)
                chunks.append(c); chunks.append(packed.count)
                for k in 0..<kk {
                    for icl in 0..<ipg {
                        let base = (k * ipg + icl) * outC + c
                        packed.append(contentsOf: weights[base ..< base + width])
                    }
                }
                c += width
            }
        }
        return (packed, chunks)
    }

    /// Output channels per register chunk: 64 (eight SIMD8 sums), 32 or 16, the widest a group fills. A
    /// neuron's sum is a chain of dependent adds (one per input event, in the canonical order), so the more
    /// sums an event feeds, the more adds run in parallel while each waits for the last.
    static func chunkWidth(outChannelsPerGroup opg: Int) -> Int { opg >= 64 ? 64 : opg >= 32 ? 32 : 16 }

    /// The width of the next chunk when `remaining` channels of a group are left: the widest register
    /// chunk (at most `cw`) that fits, else the narrow remainder (added with `axpy`).
    @inline(__always)
    static func nextWidth(remaining r: Int, chunk cw: Int) -> Int {
        r >= cw ? cw : r >= 32 && cw > 32 ? 32 : r >= 16 && cw > 16 ? 16 : r
    }

    /// `w` with its sign flipped where `sign` (0 or the sign bit) is set: `±1 × w` without a branch on the
    /// spike's sign (signed IBT layers send both) and with the same bits as the multiplication.
    @inline(__always)
    static func signed(_ w: SIMD8<Float>, _ sign: SIMD8<UInt32>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(w, to: SIMD8<UInt32>.self) ^ sign, to: SIMD8<Float>.self)
    }

    static func run(events ev: EventList, span: (Int, Int), index pi: inout PositionIndex, view: FlatRange,
                    input inS: Shape, output outS: Shape, window w: Window, groups: Int,
                    packed: UnsafePointer<Float>, chunks: [Int],
                    block b: RankBlock, rows: Range<Int>? = nil, current: UnsafeMutablePointer<Float>) -> Int {
        // The output rows computed: all owned ones, or one band of them (an overlapped layer's interior rows before
        // its input's exchange completes, then each band next to the halo). Each row is computed whole in one call,
        // so a neuron's order of addition is the same either way.
        let band = rows ?? (b.rowLower ..< b.rowUpper)
        let inC = inS.channels, outC = outS.channels
        let cw = chunkWidth(outChannelsPerGroup: outC / groups)
        var chunkNo = 0
        // Neuron (position p, channel ch) is at p * stride + ch - base in this rank's currents (RankBlock).
        let stride = b.stateStride(channels: outC), base = b.stateBase
        let ipg = inC / groups, opg = outC / groups
        pi.build(ev, span: span, view: view, channels: inC)
        var ops = 0
        let nPos = pi.start.count - 1
        ev.index.withUnsafeBufferPointer { idxBuf in
        ev.value.withUnsafeBufferPointer { valBuf in
        pi.start.withUnsafeBufferPointer { startBuf in
            let idx = idxBuf.baseAddress!, val = valBuf.baseAddress!, start = startBuf.baseAddress!
            for g in 0..<groups {
                let cLo = Swift.max(g * opg, b.channelLower), cHi = Swift.min(g * opg + opg, b.channelUpper)
                if cLo >= cHi { continue }
                let icLo = g * ipg, icHi = icLo + ipg
                var c = cLo
                while c < cHi {
                    let width = nextWidth(remaining: cHi - c, chunk: cw)
                    precondition(2 * chunkNo + 1 < chunks.count && chunks[2 * chunkNo] == c, "packed chunk mismatch")
                    let chunkBase = packed + chunks[2 * chunkNo + 1]
                    chunkNo += 1
                    // Tiles of output rows whose partial sums of this chunk stay in L1 (about 32 KB);
                    // within a tile, one kernel offset at a time, so the weight rows of that offset
                    // (in-channels x 32 floats) are reused across the tile's positions.
                    // A map whose partial sums of this chunk fit in 128 KB (L2) is one tile: each kernel offset's weight
                    // rows are then read once per step, not once per tile (Tiny-YOLOv3's conv12: 13 rows, 18.9 MB of
                    // weights, was two tiles).
                    let rowBytes = Swift.max(1, outS.width * cw * 4), owned = b.rowUpper - b.rowLower
                    let tileRows = owned * rowBytes <= 131072 ? Swift.max(1, owned) : Swift.max(1, 32768 / rowBytes)
                    var tile = band.lowerBound
                    while tile < band.upperBound {
                        let tileEnd = Swift.min(band.upperBound, tile + tileRows)
                        for ky in 0..<w.kernelH {
                            for kx in 0..<w.kernelW {
                                let packedRow = chunkBase + ((ky * w.kernelW + kx) * ipg - icLo) * width
                                for oy in tile..<tileEnd {
                                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                                    if iy < 0 || iy >= inS.height { continue }
                                    for ox in 0..<outS.width {
                                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                                        if ix < 0 || ix >= inS.width { continue }
                                        let p = iy * inS.width + ix - pi.p0
                                        if p < 0 || p >= nPos { continue }
                                        var e = Int(start[p]), eEnd = Int(start[p + 1])
                                        if groups > 1 {
                                            while e < eEnd && Int(idx[e]) - (p + pi.p0) * inC < icLo { e += 1 }
                                            while eEnd > e && Int(idx[eEnd - 1]) - (p + pi.p0) * inC >= icHi { eEnd -= 1 }
                                        }
                                        if e == eEnd { continue }
                                        let acc = current + ((oy * outS.width + ox) * stride + c - base)
                                        let posBase = (p + pi.p0) * inC
                                        ops += (eEnd - e) * width
                                        if width == 64 {
                                            let accRaw = UnsafeMutableRawPointer(acc)
                                            var a0 = accRaw.loadUnaligned(as: SIMD8<Float>.self)
                                            var a1 = accRaw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                            var a2 = accRaw.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                            var a3 = accRaw.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                            var a4 = accRaw.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
                                            var a5 = accRaw.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
                                            var a6 = accRaw.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self)
                                            var a7 = accRaw.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
                                            for k in e..<eEnd {
                                                let r = UnsafeRawPointer(packedRow + (Int(idx[k]) - posBase) * 64)
                                                let v = val[k]
                                                if abs(v) == 1 {
                                                    let m = SIMD8<UInt32>(repeating: v.bitPattern & 0x8000_0000)
                                                    a0 += signed(r.loadUnaligned(as: SIMD8<Float>.self), m)
                                                    a1 += signed(r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self), m)
                                                    a2 += signed(r.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self), m)
                                                    a3 += signed(r.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self), m)
                                                    a4 += signed(r.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self), m)
                                                    a5 += signed(r.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self), m)
                                                    a6 += signed(r.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self), m)
                                                    a7 += signed(r.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self), m)
                                                } else {
                                                    let s = SIMD8<Float>(repeating: v)
                                                    a0 += s * r.loadUnaligned(as: SIMD8<Float>.self)
                                                    a1 += s * r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                                    a2 += s * r.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                                    a3 += s * r.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                                    a4 += s * r.loadUnaligned(fromByteOffset: 128, as: SIMD8<Float>.self)
                                                    a5 += s * r.loadUnaligned(fromByteOffset: 160, as: SIMD8<Float>.self)
                                                    a6 += s * r.loadUnaligned(fromByteOffset: 192, as: SIMD8<Float>.self)
                                                    a7 += s * r.loadUnaligned(fromByteOffset: 224, as: SIMD8<Float>.self)
                                                }
                                            }
                                            accRaw.storeBytes(of: a0, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a4, toByteOffset: 128, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a5, toByteOffset: 160, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a6, toByteOffset: 192, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a7, toByteOffset: 224, as: SIMD8<Float>.self)
                                        } else if width == 16 {
                                            let accRaw = UnsafeMutableRawPointer(acc)
                                            var a0 = accRaw.loadUnaligned(as: SIMD8<Float>.self)
                                            var a1 = accRaw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                            for k in e..<eEnd {
                                                let r = UnsafeRawPointer(packedRow + (Int(idx[k]) - posBase) * 16)
                                                let v = val[k]
                                                let w0 = r.loadUnaligned(as: SIMD8<Float>.self)
                                                let w1 = r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                                if abs(v) == 1 {
                                                    let m = SIMD8<UInt32>(repeating: v.bitPattern & 0x8000_0000)
                                                    a0 += signed(w0, m); a1 += signed(w1, m)
                                                } else {
                                                    let s = SIMD8<Float>(repeating: v)
                                                    a0 += s * w0; a1 += s * w1
                                                }
                                            }
                                            accRaw.storeBytes(of: a0, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                                        } else if width == 32 {
                                            let accRaw = UnsafeMutableRawPointer(acc)
                                            var a0 = accRaw.loadUnaligned(as: SIMD8<Float>.self)
                                            var a1 = accRaw.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                            var a2 = accRaw.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                            var a3 = accRaw.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                            for k in e..<eEnd {
                                                let r = UnsafeRawPointer(packedRow + (Int(idx[k]) - posBase) * 32)
                                                let v = val[k]
                                                let w0 = r.loadUnaligned(as: SIMD8<Float>.self)
                                                let w1 = r.loadUnaligned(fromByteOffset: 32, as: SIMD8<Float>.self)
                                                let w2 = r.loadUnaligned(fromByteOffset: 64, as: SIMD8<Float>.self)
                                                let w3 = r.loadUnaligned(fromByteOffset: 96, as: SIMD8<Float>.self)
                                                if abs(v) == 1 {
                                                    let m = SIMD8<UInt32>(repeating: v.bitPattern & 0x8000_0000)
                                                    a0 += signed(w0, m); a1 += signed(w1, m); a2 += signed(w2, m); a3 += signed(w3, m)
                                                } else {
                                                    let s = SIMD8<Float>(repeating: v)
                                                    a0 += s * w0; a1 += s * w1; a2 += s * w2; a3 += s * w3
                                                }
                                            }
                                            accRaw.storeBytes(of: a0, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
                                            accRaw.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
                                        } else {
                                            for k in e..<eEnd {
                                                Kernels.axpy(width, val[k], packedRow + (Int(idx[k]) - posBase) * width, acc)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        tile = tileEnd
                    }
                    c += width
                }
            }
        }}}
        return ops
    }
}

