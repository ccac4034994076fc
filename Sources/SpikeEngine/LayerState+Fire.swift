import SpikeCore
#if arch(x86_64) && SPIKESCALE_AVX2
import CSpikeSIMD
#endif

/// The neuron updates of one layer's owned neurons: a rate-coded step (`fire`: IF, signed IBT, burst, LIF,
/// leaky and accumulator neurons, DESIGN.md section 3, with memory and bursts). Few-spike sub-steps: LayerState+FewSpike.
extension LayerState {
    /// Updates the owned neurons with `current`, appends their spikes to `own` and returns the count
    /// of spikes this step. The rules are those of DESIGN.md section 3.
    func fire() -> Int {
        guard let kind = neuronKind else { return 0 }
        // The owned neurons' count: a borrowed scratch current may be longer (it is sized by the largest layer).
        let n = ownedCount, lo = block.own.lower
        let th = threshold
        var pos = 0, neg = 0
        let firstEvent = own.count
        if isOutput { for i in 0..<n { inputSum[i] += current[i] } }
        var m = 0
        let size = min(n, EmitScratch.chunk)
        if scratch.index.count < size { scratch.index = [Int32](repeating: 0, count: size); scratch.value = [Float](repeating: 0, count: size) }
        scratch.index.withUnsafeMutableBufferPointer { EI in
        scratch.value.withUnsafeMutableBufferPointer { EV in
        // The IF, IBT and burst updates emit through the scratch buffers (no per-event array growth checks);
        // a full buffer is appended to the layer's events, in order, and reused.
        let cap = EI.count
        let leftPack = LeftPack.rows
        @inline(__always) func flush() {
            own.index.append(contentsOf: UnsafeBufferPointer(rebasing: EI[0..<m]))
            own.value.append(contentsOf: UnsafeBufferPointer(rebasing: EV[0..<m]))
            m = 0
        }
        @inline(__always) func emit(_ i: Int, _ v: Float) {
            if _slowPath(m == cap) { flush() }
            EI[m] = Int32(truncatingIfNeeded: i); EV[m] = v; m += 1
        }
        // The firing lanes of eight neurons, in lane order (`packLanes`). The buffer count stays in a local: through
        // a `LaneEmitter` the update measured 4% slower. (Called only for groups of eight, so the buffer has room.)
        @inline(__always) func emit8(_ first: Int, _ bits: UInt32, _ v: SIMD8<Float>) {
            if _slowPath(m > cap - 8) { flush() }
            m += packLanes(first, bits, v, EI.baseAddress! + m, EV.baseAddress! + m, table: leftPack)
        }
        // Channel counts as the neurons fire (eligible layers: whole rows of C channels, C a multiple of 8, so the
        // lanes of an 8-neuron group are 8 consecutive channels starting at a multiple of 8).
        let C = layer.shape.channels
        stepChannelCounts.withUnsafeMutableBufferPointer { CCbuf in
        // (An empty array's buffer has a base address too: the shared empty storage, never to be written.)
        let CC = CCbuf.isEmpty ? nil : CCbuf.baseAddress
        @inline(__always) func count8(_ c0: Int, _ inc: SIMD8<Int32>) {
            let p = UnsafeMutableRawPointer(CC! + c0)
            p.storeBytes(of: p.loadUnaligned(as: SIMD8<Int32>.self) &+ inc, as: SIMD8<Int32>.self)
        }
        membrane.withUnsafeMutableBufferPointer { V in
            current.withUnsafeBufferPointer { I in
                if burst > 1 && memory {
                    // Burst neurons with memory: by the sign of the net count n, n ≥ 0 fires k = min(⌊V/θ⌋, burst) at
                    // V ≥ θ (V −= kθ) and n > 0 takes j = min(⌈(−hθ − V)/θ⌉, n, burst) back at V < −hθ (V += jθ);
                    // n ≤ 0 fires k = min(⌊−V/(θ/α)⌋, burst) at V ≤ −θ/α and n < 0 takes j = min(⌈(V − hθ/α)/(θ/α)⌉,
                    // −n, burst) back at V > hθ/α. One step takes back at once what the unit rule takes back over j
                    // steps without input. Eight neurons at a time, lane by lane the scalar tail's IEEE operations.
                    let signed = kind == .signedIBT
                    let cap = Float(burst), negTh = signed ? th / alpha : Float.infinity
                    let backUp = -memoryMargin * th, backDown = signed ? memoryMargin * negTh : 0
                    let thV = SIMD8<Float>(repeating: th), negV = SIMD8<Float>(repeating: negTh), capV = SIMD8<Float>(repeating: cap)
                    let upV = SIMD8<Float>(repeating: backUp), downV = SIMD8<Float>(repeating: backDown)
                    let zero = SIMD8<Int32>.zero, never = SIMDMask<SIMD8<Int32>>(repeating: false)
                    let one = SIMD8<Float>(repeating: 1), oneI = SIMD8<Int32>(repeating: 1)
                    netCount.withUnsafeMutableBufferPointer { ncb in
                    let NC = ncb.baseAddress!
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    var c0 = CC == nil ? 0 : sa % C
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let cnt = UnsafeRawPointer(NC + i0).loadUnaligned(as: SIMD8<Int32>.self)
                        // fp / fn: spikes that add to |n|; tp / tn: spikes taking back negative / positive ones.
                        let fp = signed ? (v .>= th) .& (cnt .>= zero) : v .>= th
                        let fn = signed ? (v .<= -negTh) .& (cnt .<= zero) : never
                        let tp = signed ? (v .> downV) .& (cnt .< zero) : never
                        let tn = (v .< upV) .& (cnt .> zero)
                        let up = fp .| tp, down = fn .| tn
                        let bits = laneBits(up) | laneBits(down)
                        var nv = v
                        if branchFree || bits != 0 {
                            // The counts by comparisons with whole numbers (exact), in Float and Int32 lanes side by side:
                            // min(⌊q⌋, cap) = 1 + #{e in 2...cap: q ≥ e} for q ≥ 1, min(⌈q⌉, cap) = #{e in 0..<cap: q > e}.
                            let q = v / thV, qt = (upV - v) / thV
                            var kp = one, kpI = oneI, jn = SIMD8<Float>.zero, jnI = zero
                            for e in 0..<burst {
                                let f = SIMD8<Float>(repeating: Float(e))
                                if e >= 2 {
                                    let m = q .>= f
                                    kp.replace(with: kp + one, where: m); kpI.replace(with: kpI &+ oneI, where: m)
                                }
                                let t = qt .> f
                                jn.replace(with: jn + one, where: t); jnI.replace(with: jnI &+ oneI, where: t)
                            }
                            let lastP = q .>= capV
                            kp.replace(with: kp + one, where: lastP); kpI.replace(with: kpI &+ oneI, where: lastP)
                            // Taken back: at most n (n < cap where it binds, so n is one of 1 ..< cap).
                            for k in 1..<burst {
                                let kI = SIMD8<Int32>(repeating: Int32(k))
                                let m = (cnt .== kI) .& (jnI .> kI)
                                jn.replace(with: SIMD8<Float>(repeating: Float(k)), where: m); jnI.replace(with: kI, where: m)
                            }
                            // (The negative side repeats the positive one's loops: through nested functions returning the
                            // counts, yolo-fastest's update measured 1.6x slower.)
                            var kn = one, knI = oneI, jp = SIMD8<Float>.zero, jpI = zero
                            if signed {
                                let qn = -v / negV, qp = (v - downV) / negV
                                for e in 0..<burst {
                                    let f = SIMD8<Float>(repeating: Float(e))
                                    if e >= 2 {
                                        let m = qn .>= f
                                        kn.replace(with: kn + one, where: m); knI.replace(with: knI &+ oneI, where: m)
                                    }
                                    let t = qp .> f
                                    jp.replace(with: jp + one, where: t); jpI.replace(with: jpI &+ oneI, where: t)
                                }
                                let lastN = qn .>= capV
                                kn.replace(with: kn + one, where: lastN); knI.replace(with: knI &+ oneI, where: lastN)
                                for k in 1..<burst {
                                    let kI = SIMD8<Int32>(repeating: Int32(k))
                                    let m = (cnt .== SIMD8<Int32>.zero &- kI) .& (jpI .> kI)
                                    jp.replace(with: SIMD8<Float>(repeating: Float(k)), where: m); jpI.replace(with: kI, where: m)
                                }
                            }
                            // (A take-back of 0, from a quotient that underflows to 0, is no spike, as in the scalar tail.)
                            let up = fp .| (tp .& (jpI .> zero)), down = fn .| (tn .& (jnI .> zero))
                            let bits = laneBits(up) | laneBits(down)
                            var mag = SIMD8<Float>.zero, magI = zero
                            mag.replace(with: kp, where: fp); mag.replace(with: kn, where: fn)
                            mag.replace(with: jp, where: tp); mag.replace(with: jn, where: tn)
                            magI.replace(with: kpI, where: fp); magI.replace(with: knI, where: fn)
                            magI.replace(with: jpI, where: tp); magI.replace(with: jnI, where: tn)
                            nv.replace(with: v - kp * thV, where: fp)
                            nv.replace(with: v + kn * negV, where: fn)
                            nv.replace(with: v - jp * negV, where: tp)
                            nv.replace(with: v + jn * thV, where: tn)
                            let upI = zero.replacing(with: magI, where: up), downI = zero.replacing(with: magI, where: down)
                            UnsafeMutableRawPointer(NC + i0).storeBytes(of: cnt &+ upI &- downI, as: SIMD8<Int32>.self)
                            if CC != nil { count8(c0, upI &+ downI) }
                            pos += Int(upI.wrappedSum()); neg += Int(downI.wrappedSum())
                            emit8(go + i0, bits, mag.replacing(with: -mag, where: down))
                        }
                        store8(nv, V, i0)
                        i0 += 8
                        c0 += 8; if c0 == C { c0 = 0 }
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        let n = NC[i]
                        var k: Float = 0
                        if v >= th && (!signed || n >= 0) {
                            k = min((v / th).rounded(.down), cap)
                            V[i] = v - k * th
                        } else if signed && v <= -negTh && n <= 0 {
                            k = -min((-v / negTh).rounded(.down), cap)
                            V[i] = v + -k * negTh
                        } else if signed && v > backDown && n < 0 {
                            k = min(min(((v - backDown) / negTh).rounded(.up), Float(-n)), cap)
                            V[i] = v - k * negTh
                        } else if v < backUp && n > 0 {
                            k = -min(min(((backUp - v) / th).rounded(.up), Float(n)), cap)
                            V[i] = v + -k * th
                        } else { V[i] = v }
                        if k != 0 {
                            let c = Int32(k)
                            NC[i] = n + c
                            emit(go + i, k)
                            if c > 0 { pos += Int(c) } else { neg += Int(-c) }
                            if let CC { CC[i % C] += Int32(c.magnitude) }
                        }
                    }
                    }
                    }
                    return
                }
                if burst > 1 {
                    // Burst spikes: k = min(⌊V/θ⌋, burst) spikes as one event of value ±k (reset by subtraction).
                    let cap = Float(burst)
                    let negTh = kind == .signedIBT ? th / alpha : Float.infinity
                    // Eight neurons at a time, lane by lane the scalar tail's IEEE operations (a quotient, its
                    // floor, a min, a product and a difference); the lanes that fire are then appended in order.
                    let thV = SIMD8<Float>(repeating: th), negV = SIMD8<Float>(repeating: negTh), one = SIMD8<Float>(repeating: 1)
                    // (Through buffer pointers: an array's iterator here costs a call per group of eight.)
                    self.burstEdges.withUnsafeBufferPointer { burstEdges in
                    self.negativeBurstEdges.withUnsafeBufferPointer { negativeBurstEdges in
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    var c0 = CC == nil ? 0 : sa % C
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let fp = v .>= th, fn = v .<= -negTh
                        var nv = v
                        let pb = laneBits(fp), nb = laneBits(fn)
                        let fired = pb | nb
                        if branchFree || fired != 0 {
                            // k = min(⌊v / θ⌋, cap), counted against the edges where the Float quotient reaches 2, 3, ...
                            // (the division's bits without dividing); likewise for −v over θ/α. The spike counts
                            // are the lanes' k summed: one per firing lane plus one per edge a firing lane reaches.
                            var kp = one, kn = one
                            var kpI = SIMD8<Int32>(repeating: 1), knI = kpI
                            var spikes = pb.nonzeroBitCount
                            for e in burstEdges {
                                let m = v .>= SIMD8<Float>(repeating: e)
                                kp.replace(with: kp + one, where: m); kpI.replace(with: kpI &+ 1, where: m)
                                spikes += (laneBits(m) & pb).nonzeroBitCount
                            }
                            pos += spikes
                            if branchFree || nb != 0 {
                                var negSpikes = nb.nonzeroBitCount
                                for e in negativeBurstEdges {
                                    let m = -v .>= SIMD8<Float>(repeating: e)
                                    kn.replace(with: kn + one, where: m); knI.replace(with: knI &+ 1, where: m)
                                    negSpikes += (laneBits(m) & nb).nonzeroBitCount
                                }
                                neg += negSpikes
                                nv.replace(with: v + kn * negV, where: fn)
                            }
                            if CC != nil { count8(c0, SIMD8<Int32>.zero.replacing(with: kpI, where: fp).replacing(with: knI, where: fn)) }
                            nv.replace(with: v - kp * thV, where: fp)
                            // A firing lane is positive or negative, never both: its event is kp or -kn.
                            emit8(go + i0, fired, kp.replacing(with: -kn, where: fn))
                        }
                        store8(nv, V, i0)
                        i0 += 8
                        c0 += 8; if c0 == C { c0 = 0 }
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        if v >= th {
                            let k = min((v / th).rounded(.down), cap)
                            V[i] = v - k * th
                            emit(go + i, k); pos += Int(k)
                            if let CC { CC[i % C] += Int32(k) }
                        } else if v <= -negTh {
                            let k = min((-v / negTh).rounded(.down), cap)
                            V[i] = v + k * negTh
                            emit(go + i, -k); neg += Int(k)
                            if let CC { CC[i % C] += Int32(k) }
                        } else { V[i] = v }
                    }
                    }
                    }}
                    return
                }
                switch kind {
                case .integrateAndFire, .signedIBT:
                    // IF is IBT without the negative threshold: the same loop, with the negative test switched off. IF with
                    // memory instead fires −1 at V < 0 while its net count this sample is positive, and takes θ back.
                    // (`run` is inlined at its three calls, so each variant's loop has its tests folded away.)
                    let signed = kind == .signedIBT
                    let negTh = signed ? th / alpha : Float.infinity
                    let toZero = resetToZero
                    let never = SIMDMask<SIMD8<Int32>>(repeating: false)
                    @inline(__always) func run(_ withMemory: Bool, _ signed: Bool, _ NC: UnsafeMutablePointer<Int32>?) {
                    // With memory, by the sign of the net count n: n ≥ 0 fires +1 at V ≥ θ (V −= θ) and n > 0 takes one back
                    // at V < 0 (−1, V += θ); n ≤ 0 fires −1 at V ≤ −θ/α (V += θ/α) and n < 0 takes one back at V > 0 (+1,
                    // V −= θ/α). An IF neuron's n is never negative and its θ/α infinite, so it has the first two only.
                    // Eight neurons at a time; lane by lane the same IEEE operations as the scalar tail.
                    let zero = SIMD8<Int32>.zero
                    // Take-back points: V < −h·θ for a positive spike, V > h·θ/α for a negative one (h = 0: V crosses 0).
                    let backUp = -memoryMargin * th, backDown = signed ? memoryMargin * negTh : 0
                    for (sa, sb, go) in segments {
                    var i0 = sa
                    var c0 = CC == nil ? 0 : sa % C
                    while i0 + 8 <= sb {
                        let v = sum8(V, I, i0)
                        let cnt = withMemory ? UnsafeRawPointer(NC! + i0).loadUnaligned(as: SIMD8<Int32>.self) : zero
                        // fp / fn: +1 and −1 spikes that add to |n| (or plain IF / IBT spikes); tp / tn: the ones taking one back.
                        let fp = withMemory && signed ? (v .>= th) .& (cnt .>= zero) : v .>= th   // (an IF neuron's n is never negative)
                        let fn = !signed ? never : withMemory ? (v .<= -negTh) .& (cnt .<= zero) : v .<= -negTh
                        let tp = withMemory && signed ? (v .> SIMD8<Float>(repeating: backDown)) .& (cnt .< zero) : never
                        let tn = withMemory ? (v .< SIMD8<Float>(repeating: backUp)) .& (cnt .> zero) : never
                        let up = fp .| tp, down = fn .| tn
                        var nv = v
                        let pb = laneBits(up), nb = laneBits(down)
                        let bits = pb | nb
                        if branchFree || bits != 0 {
                            if CC != nil { count8(c0, SIMD8<Int32>.zero.replacing(with: 1, where: up .| down)) }
                            nv.replace(with: toZero ? SIMD8<Float>.zero : v - th, where: fp)
                            nv.replace(with: toZero ? SIMD8<Float>.zero : v + negTh, where: fn)
                            if withMemory {
                                nv.replace(with: v - negTh, where: tp)
                                nv.replace(with: v + th, where: tn)
                                UnsafeMutableRawPointer(NC! + i0).storeBytes(
                                    of: cnt &+ SIMD8<Int32>.zero.replacing(with: 1, where: up).replacing(with: -1, where: down), as: SIMD8<Int32>.self)
                            }
                            // The sign of each spike without a branch (it is data-dependent and mispredicts).
                            pos += pb.nonzeroBitCount; neg += nb.nonzeroBitCount
                            emit8(go + i0, bits, SIMD8<Float>(repeating: -1).replacing(with: 1, where: up))
                        }
                        store8(nv, V, i0)
                        i0 += 8
                        c0 += 8; if c0 == C { c0 = 0 }
                    }
                    for i in i0..<sb {
                        let v = V[i] + I[i]
                        let n = withMemory ? NC![i] : 0
                        if v >= th && (!signed || n >= 0) {
                            V[i] = toZero ? 0 : v - th
                            if withMemory { NC![i] += 1 }
                            emit(go + i, 1); pos += 1
                            if let CC { CC[i % C] += 1 }
                        } else if signed && v <= -negTh && n <= 0 {
                            V[i] = toZero ? 0 : v + negTh
                            if withMemory { NC![i] -= 1 }
                            emit(go + i, -1); neg += 1
                            if let CC { CC[i % C] += 1 }
                        } else if withMemory && signed && v > backDown && n < 0 {
                            V[i] = v - negTh; NC![i] += 1
                            emit(go + i, 1); pos += 1
                            if let CC { CC[i % C] += 1 }
                        } else if withMemory && v < backUp && n > 0 {
                            V[i] = v + th; NC![i] -= 1
                            emit(go + i, -1); neg += 1
                            if let CC { CC[i % C] += 1 }
                        } else { V[i] = v }
                    }
                    }
                    }
                    if memory {
                        netCount.withUnsafeMutableBufferPointer { nc in if signed { run(true, true, nc.baseAddress) } else { run(true, false, nc.baseAddress) } }
                    } else { run(false, signed, nil) }
                case .leakyIntegrateAndFire:
                    let tau = self.tau
                    for i in 0..<n {
                        let keep: Float = lastSpike[i] != 0 ? 0 : 1
                        let v = tau * V[i] * keep + I[i]
                        V[i] = v
                        if v >= th { lastSpike[i] = 1; own.append(lo + i, 1); pos += 1 } else { lastSpike[i] = 0 }
                    }
                case .accumulator:
                    if V.count == n { for i in 0..<n { V[i] += I[i] } }   // (an output read from its input sum keeps none)
                case .fewSpike:
                    return   // sub-steps: fireFewSpike
                case .leaky, .leakyIntegrator:
                    let d = layer.neuron!.dynamics!
                    let fires = kind == .leaky
                    if let p = leakyParams { pos += fireLeaky(p, d, fires: fires, V, I, lo) }
                    else { pos += fireLeaky(UniformLeaky(threshold: th, d), d, fires: fires, V, I, lo) }
                }
            }
        }
        }
        }}
        if m > 0 {
            own.index.append(contentsOf: scratch.index[0..<m]); own.value.append(contentsOf: scratch.value[0..<m])
        }
        if isOutput, kind == .leakyIntegrator { for i in 0..<n { spikeSum[i] += membrane[i] } }
        if isOutput, pos + neg > 0 {
            for k in firstEvent..<own.count { spikeSum[Int(own.index[k]) - lo] += own.value[k] }
        }
        counters.positiveSpikes += Int64(pos)
        counters.negativeSpikes += Int64(neg)
        counters.neuronUpdates += Int64(ownedCount)
        return pos + neg
    }
}

/// Whether `fire` runs a group of eight neurons' firing path whether or not one fires: with the left-packing
/// emission it has no per-spike branch, and skipping it for silent groups costs a mispredicted branch whenever
/// the firing lanes are scattered (a group fires in most steps at 10-40% firing).
#if arch(x86_64) && SPIKESCALE_AVX2
let branchFree = true
#else
let branchFree = false
#endif

/// `V[i ..< i + 8] + I[i ..< i + 8]`, lane by lane.
@inline(__always)
func sum8(_ V: UnsafeMutableBufferPointer<Float>, _ I: UnsafeBufferPointer<Float>, _ i: Int) -> SIMD8<Float> {
    UnsafeRawPointer(V.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(I.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ V: UnsafeMutableBufferPointer<Float>, _ i: Int) {
    UnsafeMutableRawPointer(V.baseAddress! + i).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// The lanes of a comparison mask as bits (lane i is bit i). Also the test for any lane: the standard
/// library's `any(_:)` reduces through a generic `min()` that is not inlined here.
@inline(__always)
func laneBits(_ m: SIMDMask<SIMD8<Int32>>) -> UInt32 {
    #if arch(x86_64) && SPIKESCALE_AVX2
    // One movemask (a mask's storage is its lanes as all-ones or all-zeros Int32).
    cs_lane_bits8(unsafeBitCast(m, to: SIMD8<Int32>.self))
    #else
    UInt32(SIMD8<Int32>.zero.replacing(with: SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128), where: m).wrappedSum())
    #endif
}

/// The size of a burst, min(⌊v / d⌋, cap) with the quotient rounded as Float division rounds it, counted with
/// comparisons instead of a division: `edges(d, upTo: cap)` once per layer, then `count(v, edges)` for v ≥ d.
public enum BurstCount {
    /// For k = 2 ... `cap`, the smallest positive Float v with `(v / d).rounded(.down) >= k` in Float arithmetic
    /// (the quotient only grows with v, so a binary search over the ordered bit patterns of positive floats finds
    /// it); +∞ where no finite v reaches k, or where d is not a positive finite number.
    public static func edges(_ d: Float, upTo cap: Int) -> [Float] {
        guard cap >= 2 else { return [] }
        return (2...cap).map { k -> Float in
            guard d > 0, d.isFinite else { return .infinity }
            let target = Float(k)
            func reaches(_ bits: UInt32) -> Bool { (Float(bitPattern: bits) / d).rounded(.down) >= target }
            var lo: UInt32 = 0, hi = Float.greatestFiniteMagnitude.bitPattern   // reaches(lo) is false (0 / d = 0)
            guard reaches(hi) else { return .infinity }
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                if reaches(mid) { hi = mid } else { lo = mid }
            }
            return Float(bitPattern: hi)
        }
    }

    /// min(⌊v / d⌋, cap) for v ≥ d: one plus the edges v reaches.
    @inline(__always)
    public static func count(_ v: Float, edges: [Float]) -> Float {
        var k: Float = 1
        for e in edges where v >= e { k += 1 }
        return k
    }
}
