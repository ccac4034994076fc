import CBLAS
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// The ANN reference executor: a dense (non-spiking) forward pass of a `Network`, one sample at a time.
///
/// Every layer with neurons computes its pre-activation (`W·x + b` for conv and dense, the pooled or
/// summed input otherwise) and applies its neuron model's `annActivation` (ReLU for IF/LIF,
/// leaky-ReLU(α) for IBT, identity for the accumulator). The threshold θ is not divided out: the
/// output is exactly `annActivation(preactivation)`. Routing layers (max-pool, concat, slice,
/// upsample, flatten) apply no activation. Tensors are channels-last (HWC), as everywhere else.
///
/// Convolutions run as im2col + `cblas_sgemm` per group (1x1 stride-1 unpadded convolutions read
/// the input in place; depthwise convolutions use a direct loop); dense layers use `cblas_sgemv`.
///
/// The executor keeps scratch buffers and the last run's layer outputs for reuse, so one instance
/// must not be used from several threads at once; make one per thread instead.
public final class DenseForward {
    public let network: Network

    /// Most floats the im2col scratch may hold; larger convolutions are done in bands of output rows.
    public var im2colLimit: Int = 1 << 23

    private enum Activation {
        case none, relu, leaky(Float)
        /// The function a few-spike neuron computes (exactly, in the same float operations as the engine).
        case fewSpike(FewSpikeCode)
        /// Rate-limited: the activation, then clipped to [lo, hi] (at most one spike of ±θ per step).
        indirect case clipped(Activation, lo: Float, hi: Float)
    }
    private let activations: [Activation]
    private var outs: [[Float]]
    private var scratch: UnsafeMutablePointer<Float>?
    private var scratchCapacity = 0

    /// Validates `network` and prepares the executor. `threads` sets OpenBLAS's (process-wide)
    /// thread count; the default of 1 suits one MPI rank per core. Pass nil to leave it unchanged.
    ///
    /// `rateLimited`: every spiking layer's output is clipped to what its spikes can carry per step,
    /// [0, bθ] (IF) or [−bθ, bθ] (IBT) with b the burst size (1 for ordinary neurons), so the executor computes what a rate-coded SNN of this
    /// (converted) network converges to as T grows: the SNN's error against the exact ANN then splits
    /// into clipping (this reference against the exact one) and finite-T error (the SNN against this).
    ///
    /// `exactFewSpike`: few-spike layers whose code is a binary code in closed form (ReLU, and
    /// leaky-ReLU and linear in sign-magnitude) apply the activation they quantize, unquantized and
    /// unclipped, so the executor is the ANN the network was converted from; fitted codes stay as coded.
    public init(_ network: Network, threads: Int? = 1, rateLimited: Bool = false, exactFewSpike: Bool = false) throws {
        try network.validate()
        self.network = network
        activations = network.layers.map { l in
            guard l.op.hasNeurons, let n = l.neuron else { return .none }
            let a: Activation
            switch n.kind {
            case .integrateAndFire, .leakyIntegrateAndFire: a = .relu
            case .signedIBT: a = n.alpha == 1 ? .none : .leaky(n.alpha)
            case .accumulator, .leaky, .leakyIntegrator: return .none
            case .fewSpike:
                let code = n.fewSpike!
                guard exactFewSpike, let slope = code.closedFormNegativeSlope else { return .fewSpike(code) }
                return slope == 0 ? .relu : slope == 1 ? .none : .leaky(slope)
            }
            guard rateLimited else { return a }
            let top = n.threshold * Float(n.burst)
            return .clipped(a, lo: n.kind == .signedIBT ? -top : 0, hi: top)
        }
        outs = Array(repeating: [], count: network.layers.count)
        if let t = threads { DenseForward.setThreads(t) }
    }

    deinit { scratch?.deallocate() }

    /// Sets OpenBLAS's thread count for the whole process.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// Every layer's output for one sample (HWC, indexed like `network.layers`; entry 0 is `input`).
    public func run(_ input: [Float]) -> [[Float]] {
        forwardAll(input, timed: false)
        return outs
    }

    /// Like `run`, also returning the seconds each layer took (0 for the input layer).
    public func runTimed(_ input: [Float]) -> (outputs: [[Float]], seconds: [Double]) {
        let t = forwardAll(input, timed: true)
        return (outs, t)
    }

    /// The outputs of the network's output layers (`network.outputs`, in order) for one sample, in the
    /// ANN's units (a spiking output layer's `outputScale` applied).
    public func predict(_ input: [Float]) -> [[Float]] {
        forwardAll(input, timed: false)
        return network.outputs.map { i in
            let scale = network.layers[i].outputScale, c = scale.count
            return c == 0 ? outs[i] : outs[i].enumerated().map { $1 * scale[$0 % c] }
        }
    }

    /// Output of layer `index` (not the input layer) given its input layers' outputs, in the order
    /// of `layers[index].inputs`.
    public func forward(layer index: Int, inputs: [[Float]]) -> [Float] {
        let l = network.layers[index]
        precondition(index > 0 && inputs.count == l.inputs.count, "forward(layer:inputs:) needs one array per input layer")
        for (k, j) in l.inputs.enumerated() {
            precondition(inputs[k].count == network.layers[j].shape.count,
                         "input \(k) of layer '\(l.name)' has \(inputs[k].count) values, expected \(network.layers[j].shape.count)")
        }
        var o = [Float](repeating: 0, count: l.shape.count)
        compute(index, inputs, &o)
        return o
    }

    // MARK: - Driver

    /// Runs every layer into `outs`; returns per-layer seconds when `timed` (else an empty array).
    @discardableResult
    private func forwardAll(_ input: [Float], timed: Bool) -> [Double] {
        precondition(input.count == network.inputShape.count,
                     "input has \(input.count) values, the network expects \(network.inputShape) = \(network.inputShape.count)")
        var seconds = timed ? [Double](repeating: 0, count: network.layers.count) : []
        outs[0] = input
        let clock = ContinuousClock()
        for i in 1..<network.layers.count {
            let l = network.layers[i]
            let t0 = timed ? clock.now : nil
            var o = [Float]()
            swap(&o, &outs[i])  // reuse last run's buffer when the caller no longer holds it
            if o.count != l.shape.count { o = [Float](repeating: 0, count: l.shape.count) }
            compute(i, l.inputs.map { outs[$0] }, &o)
            outs[i] = o
            if let t0 {
                let d = clock.now - t0
                seconds[i] = Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
            }
        }
        return seconds
    }

    /// Computes layer `i` into `out` (which has the layer's size; its contents are overwritten).
    private func compute(_ i: Int, _ ins: [[Float]], _ out: inout [Float]) {
        let l = network.layers[i]
        let inShapes = l.inputs.map { network.layers[$0].shape }
        let act = activations[i]
        out.withUnsafeMutableBufferPointer { o in
            switch l.op {
            case .input:
                break  // layer 0 is never computed: run() stores the input itself
            case .conv(let w, let outC, let groups):
                ins[0].withUnsafeBufferPointer { x in
                    l.weights.withUnsafeBufferPointer { wt in
                        conv(x, inShapes[0], w, outC, groups, wt, l.bias, o, l.shape)
                    }
                }
            case .dense(let outF):
                ins[0].withUnsafeBufferPointer { x in
                    l.weights.withUnsafeBufferPointer { wt in
                        dense(x, outF, wt, l.bias, o)
                    }
                }
            case .avgPool(let w, let includePad):
                ins[0].withUnsafeBufferPointer { x in
                    pool(x, inShapes[0], w, isMax: false, countIncludePad: includePad, o, l.shape)
                }
            case .maxPool(let w):
                ins[0].withUnsafeBufferPointer { x in
                    pool(x, inShapes[0], w, isMax: true, countIncludePad: false, o, l.shape)
                }
            case .globalAvgPool:
                ins[0].withUnsafeBufferPointer { x in globalAvgPool(x, inShapes[0], o) }
            case .add:
                add(ins, l.weights, l.bias, o, l.shape)
            case .concat:
                concat(ins, inShapes, o, l.shape)
            case .channelSlice(let start, let count):
                ins[0].withUnsafeBufferPointer { x in
                    let c = inShapes[0].channels
                    for p in 0..<(l.shape.height * l.shape.width) {
                        let src = x.baseAddress! + p * c + start
                        (o.baseAddress! + p * count).update(from: src, count: count)
                    }
                }
            case .upsample(let f):
                ins[0].withUnsafeBufferPointer { x in upsample(x, inShapes[0], f, o) }
            case .flatten:
                ins[0].withUnsafeBufferPointer { x in o.baseAddress!.update(from: x.baseAddress!, count: o.count) }
            case .activation(let f):
                ins[0].withUnsafeBufferPointer { x in
                    if case .softmax = f {
                        // Per position, over channels, max-subtracted.
                        let c = l.shape.channels
                        for p in 0..<(o.count / c) {
                            var m = -Float.infinity
                            for k in 0..<c { m = max(m, x[p * c + k]) }
                            var sum: Float = 0
                            for k in 0..<c { let e = expf(x[p * c + k] - m); o[p * c + k] = e; sum += e }
                            for k in 0..<c { o[p * c + k] /= sum }
                        }
                    } else {
                        for k in 0..<o.count { o[k] = f.apply(x[k]) }
                    }
                }
            }
            apply(act, o)
        }
    }

    private func apply(_ a: Activation, _ o: UnsafeMutableBufferPointer<Float>) {
        switch a {
        case .clipped(let inner, let lo, let hi):
            apply(inner, o)
            for k in 0..<o.count { o[k] = min(max(o[k], lo), hi) }
        case .none: return
        case .relu:
            for k in 0..<o.count { o[k] = max(o[k], 0) }
        case .leaky(let alpha):
            for k in 0..<o.count { let v = o[k]; o[k] = v >= 0 ? v : alpha * v }
        case .fewSpike(let code):
            for k in 0..<o.count { o[k] = code.apply(o[k]).value }
        }
    }

    private func ensureScratch(_ n: Int) -> UnsafeMutablePointer<Float> {
        if n > scratchCapacity || scratch == nil {
            scratch?.deallocate()
            scratchCapacity = max(n, 1)
            scratch = .allocate(capacity: scratchCapacity)
        }
        return scratch!
    }

    /// Fills every pixel of `o` with `bias` (per channel), or zeros if `bias` is empty.
    func fillBias(_ o: UnsafeMutableBufferPointer<Float>, _ bias: [Float], channels c: Int) {
        if bias.isEmpty {
            o.update(repeating: 0)
            return
        }
        bias.withUnsafeBufferPointer { b in
            let base = o.baseAddress!
            for p in 0..<(o.count / c) { (base + p * c).update(from: b.baseAddress!, count: c) }
        }
    }

    // MARK: - Convolution

    private func conv(_ x: UnsafeBufferPointer<Float>, _ s: Shape, _ w: Window, _ outC: Int, _ groups: Int,
                      _ wt: UnsafeBufferPointer<Float>, _ bias: [Float],
                      _ o: UnsafeMutableBufferPointer<Float>, _ os: Shape) {
        let inC = s.channels, icg = inC / groups, ocg = outC / groups
        let H = s.height, W = s.width, OH = os.height, OW = os.width
        fillBias(o, bias, channels: outC)
        let xp = x.baseAddress!, wp = wt.baseAddress!, op = o.baseAddress!

        if icg == 1 && ocg == 1 {
            // Depthwise: out[p, c] += w[ky, kx, c] * in[q, c], vectorized over channels.
            let C = outC
            for oy in 0..<OH {
                for ky in 0..<w.kernelH {
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    if iy < 0 || iy >= H { continue }
                    for ox in 0..<OW {
                        let dst = op + (oy * OW + ox) * C
                        for kx in 0..<w.kernelW {
                            let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                            if ix < 0 || ix >= W { continue }
                            let src = xp + (iy * W + ix) * C
                            let wk = wp + (ky * w.kernelW + kx) * C
                            for c in 0..<C { dst[c] += wk[c] * src[c] }
                        }
                    }
                }
            }
            return
        }

        if w.kernelH == 1 && w.kernelW == 1 && w.strideH == 1 && w.strideW == 1
            && w.padTop == 0 && w.padLeft == 0 && w.padBottom == 0 && w.padRight == 0 {
            // 1x1 stride-1 convolution: the input itself is the patch matrix (lda = inC).
            for g in 0..<groups {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            blasint(OH * OW), blasint(ocg), blasint(icg), 1,
                            xp + g * icg, blasint(inC), wp + g * ocg, blasint(outC),
                            1, op + g * ocg, blasint(outC))
            }
            return
        }

        // General case: im2col (patch order ky, kx, icl matches the weight rows) + sgemm, by bands of rows.
        let K = w.kernelH * w.kernelW * icg
        let rowsPerBand = max(1, min(OH, im2colLimit / max(1, OW * K)))
        let a = ensureScratch(rowsPerBand * OW * K)
        var r0 = 0
        while r0 < OH {
            let r1 = min(OH, r0 + rowsPerBand)
            let P = (r1 - r0) * OW
            for g in 0..<groups {
                let cOff = g * icg
                var row = a
                for oy in r0..<r1 {
                    for ox in 0..<OW {
                        var dst = row
                        for ky in 0..<w.kernelH {
                            let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                            let rowOK = iy >= 0 && iy < H
                            for kx in 0..<w.kernelW {
                                let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                                if rowOK && ix >= 0 && ix < W {
                                    let src = xp + (iy * W + ix) * inC + cOff
                                    if icg >= 32 {
                                        dst.update(from: src, count: icg)
                                    } else {
                                        for c in 0..<icg { dst[c] = src[c] }  // avoid a memmove call per few floats
                                    }
                                } else {
                                    for c in 0..<icg { dst[c] = 0 }
                                }
                                dst += icg
                            }
                        }
                        row += K
                    }
                }
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
                            blasint(P), blasint(ocg), blasint(K), 1,
                            a, blasint(K), wp + g * ocg, blasint(outC),
                            1, op + r0 * OW * outC + g * ocg, blasint(outC))
            }
            r0 = r1
        }
    }

    // MARK: - Dense

    private func dense(_ x: UnsafeBufferPointer<Float>, _ outF: Int, _ wt: UnsafeBufferPointer<Float>,
                       _ bias: [Float], _ o: UnsafeMutableBufferPointer<Float>) {
        fillBias(o, bias, channels: outF)
        // y = Wᵀx with W stored [in][out] row-major.
        cblas_sgemv(CblasRowMajor, CblasTrans, blasint(x.count), blasint(outF), 1,
                    wt.baseAddress!, blasint(outF), x.baseAddress!, 1, 1, o.baseAddress!, 1)
    }

    // MARK: - Pooling

}
