import CBLAS
import Foundation
import SpikeCore

/// A trainable tensor: its value and, during a step, one gradient per local chunk (summed exactly
/// over every chunk of every rank by `ExactSum` before the optimiser sees it).
public final class Param {
    /// A bias over the last axis: every one of `rows` rows of `y` (row-major, `value.count` columns) starts at it.
    func broadcast(into y: inout [Float], rows: Int) {
        let n = value.count
        value.withUnsafeBufferPointer { b in y.withUnsafeMutableBufferPointer { yp in
            for r in 0..<rows { for o in 0..<n { yp[r * n + o] = b[o] } }
        } }
    }

    /// A bias's gradient in chunk `c`: the column sums of the output gradient `d` over its `rows` rows, row by row.
    func setRowSumGradient(chunk c: Int, of d: [Float], rows: Int) {
        let n = value.count
        var g = [Float](repeating: 0, count: n)
        for r in 0..<rows { for o in 0..<n { g[o] += d[r * n + o] } }
        chunkGrads[c] = g
    }

    public let name: String
    public var value: [Float]
    /// Gradient of each local chunk of the current step.
    public var chunkGrads: [[Float]] = []
    /// Whether weight decay applies (convolution and dense weights).
    public let decays: Bool
    public init(_ name: String, _ value: [Float], decays: Bool) { self.name = name; self.value = value; self.decays = decays }
    func resetGrads(chunks: Int) { chunkGrads = [[Float]](repeating: [Float](repeating: 0, count: value.count), count: chunks) }
}

/// What one forward or backward pass over this rank's chunks needs to know.
public struct StepContext {
    /// Timesteps T.
    public var timesteps: Int
    /// Samples in each local chunk; a chunk's tensors hold `T * samples` rows, timestep-major.
    public var chunkSamples: [Int]
    /// Samples of the global batch over every rank (batch-norm statistics and the loss use it).
    public var globalSamples: Int
    /// True in training (batch statistics, caches for backward); false in evaluation (running statistics).
    public var training: Bool
    public var reducer: ExactSum
    func rows(_ c: Int) -> Int { timesteps * chunkSamples[c] }
}

/// One layer of the trainer. Tensors are one `[Float]` per chunk of `T * n` rows (row `t * n + s`
/// is sample `s` at timestep `t + 1`), each row the layer's HWC output.
public protocol TrainLayer: AnyObject {
    var name: String { get }
    var inShape: Shape { get }
    var outShape: Shape { get }
    var params: [Param] { get }
    func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]]
    /// Returns the gradient with respect to the input (empty arrays when `needInput` is false).
    func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]]
}

@inline(__always) func bi(_ x: Int) -> blasint { blasint(x) }

/// Convolution (groups: 1 = full, `in` = depthwise), zero padding, weights `[kh][kw][in/groups][out]`
/// as in the native model; im2col + `cblas_sgemm` per chunk and group.
public final class Conv: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let kernel: Int, stride: Int, pad: Int, groups: Int
    public let weight: Param
    public let bias: Param?
    var cols: [[[Float]]] = []   // [chunk][group] im2col matrices of the last training forward
    public var params: [Param] { [weight] + (bias.map { [$0] } ?? []) }

    public init(name: String, input: Shape, out: Int, kernel: Int, stride: Int = 1, pad: Int? = nil, groups: Int = 1, bias: Bool, seed: UInt64, index: Int) throws {
        self.name = name; inShape = input; self.kernel = kernel; self.stride = stride; self.pad = pad ?? kernel / 2; self.groups = groups
        guard groups >= 1, input.channels % groups == 0, out % groups == 0 else {
            throw SpikeError("layer '\(name)': groups \(groups) must divide the input channels \(input.channels) and the output channels \(out)")
        }
        let oh = (input.height + 2 * self.pad - kernel) / stride + 1, ow = (input.width + 2 * self.pad - kernel) / stride + 1
        guard oh >= 1, ow >= 1 else { throw SpikeError("layer '\(name)': a \(kernel)x\(kernel) kernel does not fit the \(input) input") }
        outShape = Shape(oh, ow, out)
        let fanIn = kernel * kernel * input.channels / groups
        let bound = 1 / Float(fanIn).squareRoot()
        weight = Param(name + ".weight", Init.uniform(count: fanIn * out, bound: bound, seed: seed, tensor: index * 2), decays: true)
        self.bias = bias ? Param(name + ".bias", Init.uniform(count: out, bound: bound, seed: seed, tensor: index * 2 + 1), decays: false) : nil
    }

    var icg: Int { inShape.channels / groups }
    var ocg: Int { outShape.channels / groups }
    var K: Int { kernel * kernel * icg }
    var P: Int { outShape.height * outShape.width }

    func im2col(_ x: [Float], rows: Int, group g: Int) -> [Float] {
        let H = inShape.height, W = inShape.width, C = inShape.channels, OW = outShape.width, OH = outShape.height
        let K = self.K, icg = self.icg, inRow = inShape.count, P = self.P
        var col = [Float](repeating: 0, count: rows * P * K)
        col.withUnsafeMutableBufferPointer { c in
            x.withUnsafeBufferPointer { xp in
                for r in 0..<rows {
                    for oy in 0..<OH { for ox in 0..<OW {
                        let base = ((r * P) + oy * OW + ox) * K
                        for ky in 0..<kernel {
                            let iy = oy * stride - pad + ky
                            if iy < 0 || iy >= H { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - pad + kx
                                if ix < 0 || ix >= W { continue }
                                let src = r * inRow + (iy * W + ix) * C + g * icg
                                let dst = base + (ky * kernel + kx) * icg
                                for ci in 0..<icg { c[dst + ci] = xp[src + ci] }
                            }
                        }
                    } }
                }
            }
        }
        return col
    }

    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        if ctx.training { cols = [] }
        var out: [[Float]] = []
        let OC = outShape.channels, K = self.K, P = self.P, ocg = self.ocg
        for (c, xc) in x.enumerated() {
            let rows = ctx.rows(c), M = rows * P
            var y = [Float](repeating: 0, count: rows * outShape.count)
            bias?.broadcast(into: &y, rows: M)
            var cg: [[Float]] = []
            for g in 0..<groups {
                let col = im2col(xc, rows: rows, group: g)
                col.withUnsafeBufferPointer { a in weight.value.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { yp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi(M), bi(ocg), bi(K), 1,
                                a.baseAddress, bi(K), w.baseAddress! + g * ocg, bi(OC), 1, yp.baseAddress! + g * ocg, bi(OC))
                } } }
                if ctx.training { cg.append(col) }
            }
            if ctx.training { cols.append(cg) }
            out.append(y)
        }
        return out
    }

    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        let OC = outShape.channels, H = inShape.height, W = inShape.width, C = inShape.channels, OW = outShape.width, OH = outShape.height
        let icg = self.icg, K = self.K, inRow = inShape.count, P = self.P, ocg = self.ocg
        var dxs: [[Float]] = []
        for (c, d) in dy.enumerated() {
            let rows = ctx.rows(c), M = rows * P
            bias?.setRowSumGradient(chunk: c, of: d, rows: M)
            var dx = needInput ? [Float](repeating: 0, count: rows * inShape.count) : []
            for g in 0..<groups {
                d.withUnsafeBufferPointer { dp in cols[c][g].withUnsafeBufferPointer { a in weight.chunkGrads[c].withUnsafeMutableBufferPointer { gw in
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bi(K), bi(ocg), bi(M), 1,
                                a.baseAddress, bi(K), dp.baseAddress! + g * ocg, bi(OC), 0, gw.baseAddress! + g * ocg, bi(OC))
                } } }
                guard needInput else { continue }
                var dcol = [Float](repeating: 0, count: M * K)
                d.withUnsafeBufferPointer { dp in weight.value.withUnsafeBufferPointer { w in dcol.withUnsafeMutableBufferPointer { dc in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi(M), bi(K), bi(ocg), 1,
                                dp.baseAddress! + g * ocg, bi(OC), w.baseAddress! + g * ocg, bi(OC), 0, dc.baseAddress, bi(K))
                } } }
                // col2im, in the fixed order of the rows.
                dx.withUnsafeMutableBufferPointer { xp in dcol.withUnsafeBufferPointer { dc in
                    for r in 0..<rows { for oy in 0..<OH { for ox in 0..<OW {
                        let base = ((r * P) + oy * OW + ox) * K
                        for ky in 0..<kernel {
                            let iy = oy * stride - pad + ky
                            if iy < 0 || iy >= H { continue }
                            for kx in 0..<kernel {
                                let ix = ox * stride - pad + kx
                                if ix < 0 || ix >= W { continue }
                                let dst = r * inRow + (iy * W + ix) * C + g * icg
                                let src = base + (ky * kernel + kx) * icg
                                for ci in 0..<icg { xp[dst + ci] += dc[src + ci] }
                            }
                        }
                    } } }
                } }
            }
            dxs.append(dx)
        }
        if ctx.training { cols = [] }
        return dxs
    }
}

/// Fully connected layer over the HWC-flattened input; weights `[in][out]` as in the native model.
public final class Dense: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let weight: Param, bias: Param?
    var inputs: [[Float]] = []
    public var params: [Param] { [weight] + (bias.map { [$0] } ?? []) }

    public init(name: String, input: Shape, out: Int, bias: Bool, seed: UInt64, index: Int) {
        self.name = name; inShape = input; outShape = Shape(1, 1, out)
        let bound = 1 / Float(input.count).squareRoot()
        weight = Param(name + ".weight", Init.uniform(count: input.count * out, bound: bound, seed: seed, tensor: index * 2), decays: true)
        self.bias = bias ? Param(name + ".bias", Init.uniform(count: out, bound: bound, seed: seed, tensor: index * 2 + 1), decays: false) : nil
    }

    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        if ctx.training { inputs = x }
        let I = inShape.count, O = outShape.count
        return x.enumerated().map { c, xc in
            let rows = ctx.rows(c)
            var y = [Float](repeating: 0, count: rows * O)
            bias?.broadcast(into: &y, rows: rows)
            xc.withUnsafeBufferPointer { a in weight.value.withUnsafeBufferPointer { w in y.withUnsafeMutableBufferPointer { yp in
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bi(rows), bi(O), bi(I), 1, a.baseAddress, bi(I), w.baseAddress, bi(O), 1, yp.baseAddress, bi(O))
            } } }
            return y
        }
    }

    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        let I = inShape.count, O = outShape.count
        var dxs: [[Float]] = []
        for (c, d) in dy.enumerated() {
            let rows = ctx.rows(c)
            bias?.setRowSumGradient(chunk: c, of: d, rows: rows)
            inputs[c].withUnsafeBufferPointer { a in d.withUnsafeBufferPointer { dp in weight.chunkGrads[c].withUnsafeMutableBufferPointer { gw in
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, bi(I), bi(O), bi(rows), 1, a.baseAddress, bi(I), dp.baseAddress, bi(O), 0, gw.baseAddress, bi(O))
            } } }
            var dx = needInput ? [Float](repeating: 0, count: rows * I) : []
            if needInput {
                d.withUnsafeBufferPointer { dp in weight.value.withUnsafeBufferPointer { w in dx.withUnsafeMutableBufferPointer { xp in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bi(rows), bi(I), bi(O), 1, dp.baseAddress, bi(O), w.baseAddress, bi(O), 0, xp.baseAddress, bi(I))
                } } }
            }
            dxs.append(dx)
        }
        if ctx.training { inputs = [] }
        return dxs
    }
}

/// Average pooling, k x k windows with stride k (no padding; trailing rows and columns are dropped).
public final class AvgPool: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public let k: Int
    public var params: [Param] { [] }
    public init(name: String, input: Shape, k: Int) throws {
        self.name = name; inShape = input; self.k = k
        guard input.height >= k, input.width >= k else { throw SpikeError("layer '\(name)': a \(k)x\(k) pooling window does not fit the \(input) input") }
        outShape = Shape(input.height / k, input.width / k, input.channels)
    }
    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] {
        let C = inShape.channels, W = inShape.width, OH = outShape.height, OW = outShape.width, k = self.k
        let s = 1 / Float(k * k), inN = inShape.count, outN = outShape.count
        return x.enumerated().map { c, xc in
            let rows = ctx.rows(c)
            var y = [Float](repeating: 0, count: rows * outN)
            xc.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer { yp in
                for r in 0..<rows { for oy in 0..<OH { for ox in 0..<OW {
                    let dst = r * outN + (oy * OW + ox) * C
                    for dy in 0..<k { for dx in 0..<k {
                        let src = r * inN + ((oy * k + dy) * W + ox * k + dx) * C
                        for ch in 0..<C { yp[dst + ch] += xp[src + ch] }
                    } }
                    for ch in 0..<C { yp[dst + ch] *= s }
                } } }
            } }
            return y
        }
    }
    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] {
        let C = inShape.channels, W = inShape.width, OH = outShape.height, OW = outShape.width, k = self.k
        let s = 1 / Float(k * k), inN = inShape.count, outN = outShape.count
        return dy.enumerated().map { c, d in
            let rows = ctx.rows(c)
            var dx = [Float](repeating: 0, count: rows * inN)
            d.withUnsafeBufferPointer { dp in dx.withUnsafeMutableBufferPointer { xp in
                for r in 0..<rows { for oy in 0..<OH { for ox in 0..<OW {
                    let src = r * outN + (oy * OW + ox) * C
                    for a in 0..<k { for b in 0..<k {
                        let dst = r * inN + ((oy * k + a) * W + ox * k + b) * C
                        for ch in 0..<C { xp[dst + ch] = dp[src + ch] * s }
                    } }
                } } }
            } }
            return dx
        }
    }
}

/// Flattens HWC to a vector (a no-op on the values).
public final class Flatten: TrainLayer {
    public let name: String
    public let inShape: Shape, outShape: Shape
    public var params: [Param] { [] }
    public init(name: String, input: Shape) { self.name = name; inShape = input; outShape = Shape(1, 1, input.count) }
    public func forward(_ x: [[Float]], _ ctx: StepContext) throws -> [[Float]] { x }
    public func backward(_ dy: [[Float]], _ ctx: StepContext, needInput: Bool) throws -> [[Float]] { dy }
}

/// Seeded initialisation from the keyed Philox generator: element `i` of tensor `tensor` is drawn
/// from counter `(i, tensor)`, so weights do not depend on call order.
public enum Init {
    public static func uniform(count: Int, bound: Float, seed: UInt64, tensor: Int) -> [Float] {
        let rng = Philox(seed: seed &+ 0x5EED_1417)
        return (0..<count).map { i in (rng.uniform(i, tensor, 0x7141, 0) * 2 - 1) * bound }
    }
}
