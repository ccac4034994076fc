import CBLAS
import SpikeCore
import Glibc

/// Pooling, residual adds, concatenation and upsampling of the ANN reference (no weights).
extension DenseForward {
    func pool(_ x: UnsafeBufferPointer<Float>, _ s: Shape, _ w: Window, isMax: Bool, countIncludePad: Bool,
                      _ o: UnsafeMutableBufferPointer<Float>, _ os: Shape) {
        let C = s.channels, H = s.height, W = s.width
        let xp = x.baseAddress!, op = o.baseAddress!
        let fullWindow = Float(w.kernelH * w.kernelW)
        for oy in 0..<os.height {
            for ox in 0..<os.width {
                let dst = op + (oy * os.width + ox) * C
                dst.update(repeating: isMax ? -Float.infinity : 0, count: C)
                var n = 0
                for ky in 0..<w.kernelH {
                    let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                    if iy < 0 || iy >= H { continue }
                    for kx in 0..<w.kernelW {
                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                        if ix < 0 || ix >= W { continue }
                        let src = xp + (iy * W + ix) * C
                        n += 1
                        if isMax {
                            for c in 0..<C { dst[c] = max(dst[c], src[c]) }
                        } else {
                            for c in 0..<C { dst[c] += src[c] }
                        }
                    }
                }
                if isMax {
                    if n == 0 { dst.update(repeating: 0, count: C) }
                } else {
                    let div = countIncludePad ? fullWindow : Float(n)
                    if div > 0 {
                        let inv = 1 / div
                        for c in 0..<C { dst[c] *= inv }
                    }
                }
            }
        }
    }

    func globalAvgPool(_ x: UnsafeBufferPointer<Float>, _ s: Shape, _ o: UnsafeMutableBufferPointer<Float>) {
        let C = s.channels, P = s.height * s.width
        var acc = [Double](repeating: 0, count: C)
        acc.withUnsafeMutableBufferPointer { a in
            for p in 0..<P {
                let src = x.baseAddress! + p * C
                for c in 0..<C { a[c] += Double(src[c]) }
            }
            for c in 0..<C { o[c] = Float(a[c] / Double(P)) }
        }
    }

    // MARK: - Add and routing

    func add(_ ins: [[Float]], _ scales: [Float], _ bias: [Float],
                     _ o: UnsafeMutableBufferPointer<Float>, _ os: Shape) {
        let C = os.channels, P = os.height * os.width
        fillBias(o, bias, channels: C)
        let op = o.baseAddress!
        for (k, input) in ins.enumerated() {
            input.withUnsafeBufferPointer { x in
                let xp = x.baseAddress!
                if scales.isEmpty {
                    for j in 0..<o.count { op[j] += xp[j] }
                } else {
                    scales.withUnsafeBufferPointer { sc in
                        let s = sc.baseAddress! + k * C
                        for p in 0..<P {
                            let d = op + p * C, src = xp + p * C
                            for c in 0..<C { d[c] += s[c] * src[c] }
                        }
                    }
                }
            }
        }
    }

    func concat(_ ins: [[Float]], _ shapes: [Shape], _ o: UnsafeMutableBufferPointer<Float>, _ os: Shape) {
        let C = os.channels, P = os.height * os.width
        var off = 0
        for (k, input) in ins.enumerated() {
            let ck = shapes[k].channels
            input.withUnsafeBufferPointer { x in
                for p in 0..<P {
                    (o.baseAddress! + p * C + off).update(from: x.baseAddress! + p * ck, count: ck)
                }
            }
            off += ck
        }
    }

    func upsample(_ x: UnsafeBufferPointer<Float>, _ s: Shape, _ f: Int, _ o: UnsafeMutableBufferPointer<Float>) {
        let C = s.channels, OW = s.width * f
        for oy in 0..<(s.height * f) {
            for ox in 0..<OW {
                (o.baseAddress! + (oy * OW + ox) * C)
                    .update(from: x.baseAddress! + ((oy / f) * s.width + ox / f) * C, count: C)
            }
        }
    }
}
