import Foundation
import Testing
import SpikeCore
import SpikeANN

// Checks the ANN reference executor (SpikeANN.DenseForward) layer by layer against naive loops.


/// Naive reference implementations the dense forward is checked against, and the convolution cases.
func randomArray(_ n: Int, _ rng: inout SplitMix, scale: Float = 1) -> [Float] {
    (0..<n).map { _ in Float.random(in: -scale..<scale, using: &rng) }
}

func expectClose(_ a: [Float], _ b: [Float], tol: Float = 1e-4, _ what: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.count == b.count, "\(what): \(a.count) values, expected \(b.count)", sourceLocation: sourceLocation)
    guard a.count == b.count else { return }
    var worst: Float = 0, at = 0
    for i in a.indices {
        let d = abs(a[i] - b[i]) / max(1, abs(b[i]))
        if !(d <= worst) { worst = d; at = i }
    }
    #expect(worst <= tol, "\(what): differs by \(worst) at \(at) (\(a[at]) vs \(b[at]))", sourceLocation: sourceLocation)
}

func activate(_ v: [Float], _ n: NeuronModel?) -> [Float] {
    guard let n else { return v }
    return v.map { n.annActivation($0) }
}

// MARK: - Naive references (HWC, same conventions as SpikeCore)

func naiveConv(_ x: [Float], _ s: Shape, _ w: Window, _ outC: Int, _ groups: Int,
                       _ wt: [Float], _ bias: [Float]) -> [Float] {
    let oh = w.outputHeight(s.height)!, ow = w.outputWidth(s.width)!
    let icg = s.channels / groups, ocg = outC / groups
    var out = [Float](repeating: 0, count: oh * ow * outC)
    for oy in 0..<oh {
        for ox in 0..<ow {
            for oc in 0..<outC {
                let g = oc / ocg
                var acc: Double = bias.isEmpty ? 0 : Double(bias[oc])
                for ky in 0..<w.kernelH {
                    for kx in 0..<w.kernelW {
                        let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                        guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                        for icl in 0..<icg {
                            let ic = g * icg + icl
                            let wv = wt[((ky * w.kernelW + kx) * icg + icl) * outC + oc]
                            acc += Double(wv) * Double(x[(iy * s.width + ix) * s.channels + ic])
                        }
                    }
                }
                out[(oy * ow + ox) * outC + oc] = Float(acc)
            }
        }
    }
    return out
}

func naiveDense(_ x: [Float], _ outF: Int, _ wt: [Float], _ bias: [Float]) -> [Float] {
    (0..<outF).map { o in
        var acc: Double = bias.isEmpty ? 0 : Double(bias[o])
        for i in x.indices { acc += Double(wt[i * outF + o]) * Double(x[i]) }
        return Float(acc)
    }
}

func naivePool(_ x: [Float], _ s: Shape, _ w: Window, max isMax: Bool, includePad: Bool) -> [Float] {
    let oh = w.outputHeight(s.height)!, ow = w.outputWidth(s.width)!, C = s.channels
    var out = [Float](repeating: 0, count: oh * ow * C)
    for oy in 0..<oh {
        for ox in 0..<ow {
            for c in 0..<C {
                var vals: [Float] = []
                for ky in 0..<w.kernelH {
                    for kx in 0..<w.kernelW {
                        let iy = oy * w.strideH - w.padTop + ky * w.dilationH
                        let ix = ox * w.strideW - w.padLeft + kx * w.dilationW
                        guard iy >= 0, iy < s.height, ix >= 0, ix < s.width else { continue }
                        vals.append(x[(iy * s.width + ix) * C + c])
                    }
                }
                let v: Float
                if isMax {
                    v = vals.max() ?? 0
                } else {
                    let div = includePad ? Float(w.kernelH * w.kernelW) : Float(vals.count)
                    v = vals.reduce(0, +) / div
                }
                out[(oy * ow + ox) * C + c] = v
            }
        }
    }
    return out
}

func naiveGlobalAvg(_ x: [Float], _ s: Shape) -> [Float] {
    (0..<s.channels).map { c in
        var acc = 0.0
        for p in 0..<(s.height * s.width) { acc += Double(x[p * s.channels + c]) }
        return Float(acc / Double(s.height * s.width))
    }
}

func naiveAdd(_ xs: [[Float]], _ s: Shape, _ scales: [Float], _ bias: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: s.count)
    for y in 0..<s.height {
        for x in 0..<s.width {
            for c in 0..<s.channels {
                let j = (y * s.width + x) * s.channels + c
                var acc: Float = bias.isEmpty ? 0 : bias[c]
                for (k, a) in xs.enumerated() { acc += (scales.isEmpty ? 1 : scales[k * s.channels + c]) * a[j] }
                out[j] = acc
            }
        }
    }
    return out
}

func naiveConcat(_ xs: [[Float]], _ shapes: [Shape]) -> [Float] {
    var out: [Float] = []
    for p in 0..<(shapes[0].height * shapes[0].width) {
        for (k, a) in xs.enumerated() {
            let c = shapes[k].channels
            out += a[(p * c)..<(p * c + c)]
        }
    }
    return out
}

func naiveSlice(_ x: [Float], _ s: Shape, _ start: Int, _ count: Int) -> [Float] {
    var out: [Float] = []
    for y in 0..<s.height {
        for xx in 0..<s.width {
            for c in start..<(start + count) { out.append(x[(y * s.width + xx) * s.channels + c]) }
        }
    }
    return out
}

func naiveUpsample(_ x: [Float], _ s: Shape, _ f: Int) -> [Float] {
    var out: [Float] = []
    for y in 0..<(s.height * f) {
        for xx in 0..<(s.width * f) {
            for c in 0..<s.channels { out.append(x[((y / f) * s.width + xx / f) * s.channels + c]) }
        }
    }
    return out
}

/// The naive output of layer `i` of `net` given all layers' outputs (only its inputs are read).
func naiveLayer(_ net: Network, _ i: Int, _ outs: [[Float]]) -> [Float] {
    let l = net.layers[i]
    let xs = l.inputs.map { outs[$0] }, ss = l.inputs.map { net.layers[$0].shape }
    let pre: [Float]
    switch l.op {
    case .input: pre = outs[0]
    case .conv(let w, let outC, let groups): pre = naiveConv(xs[0], ss[0], w, outC, groups, l.weights, l.bias)
    case .dense(let outF): pre = naiveDense(xs[0], outF, l.weights, l.bias)
    case .avgPool(let w, let inc): pre = naivePool(xs[0], ss[0], w, max: false, includePad: inc)
    case .maxPool(let w): pre = naivePool(xs[0], ss[0], w, max: true, includePad: false)
    case .globalAvgPool: pre = naiveGlobalAvg(xs[0], ss[0])
    case .add: pre = naiveAdd(xs, l.shape, l.weights, l.bias)
    case .concat: pre = naiveConcat(xs, ss)
    case .channelSlice(let start, let count): pre = naiveSlice(xs[0], ss[0], start, count)
    case .upsample(let f): pre = naiveUpsample(xs[0], ss[0], f)
    case .flatten: pre = xs[0]
    case .activation(let f):
        if case .softmax = f {
            let c = ss[0].channels
            var soft = xs[0]
            for p in 0..<(soft.count / c) {
                let row = (0..<c).map { Double(xs[0][p * c + $0]) }
                let m = row.max()!
                let e = row.map { Foundation.exp($0 - m) }
                let z = e.reduce(0, +)
                for k in 0..<c { soft[p * c + k] = Float(e[k] / z) }
            }
            pre = soft
        } else {
            pre = xs[0].map { x -> Float in
                let d = Double(x)
                switch f {
                case .relu: return Float(Swift.max(d, 0))
                case .leakyRelu(let a): return Float(d >= 0 ? d : Double(a) * d)
                case .sigmoid: return Float(1 / (1 + Foundation.exp(-d)))
                case .hardSwish: return Float(d * Swift.min(Swift.max(d + 3, 0), 6) / 6)
                case .swish: return Float(d / (1 + Foundation.exp(-d)))
                case .clip(let lo, let hi): return Float(Swift.min(Swift.max(d, Double(lo)), Double(hi)))
                case .softmax: return x
                }
            }
        }
    }
    return activate(pre, l.neuron)
}

/// Runs `net` on a random input and compares every layer with the naive loops.
func checkNetwork(_ net: Network, seed: UInt64, im2colLimit: Int? = nil) throws {
    var rng = SplitMix(seed)
    let fw = try DenseForward(net)
    if let im2colLimit { fw.im2colLimit = im2colLimit }
    let input = randomArray(net.inputShape.count, &rng)
    let outs = fw.run(input)
    #expect(outs.count == net.layers.count)
    #expect(outs[0] == input)
    for i in 1..<net.layers.count {
        #expect(outs[i].count == net.layers[i].shape.count)
        expectClose(outs[i], naiveLayer(net, i, outs), "layer '\(net.layers[i].name)' (\(net.layers[i].op.name))")
    }
    // A second run on the same executor (buffers reused) gives the same result.
    let again = fw.run(input)
    for i in outs.indices { #expect(again[i] == outs[i], "rerun of layer \(i)") }
}

// MARK: - Convolution

struct DenseForwardConvCase: Sendable, CustomStringConvertible {
    var name: String
    var input: Shape
    var window: Window
    var outC: Int
    var groups: Int
    var neuron: NeuronModel
    var bias = true
    var im2colLimit: Int? = nil
    var description: String { name }
}

let denseForwardConvCases: [DenseForwardConvCase] = [
    DenseForwardConvCase(name: "3x3 stride 2 pad 1", input: Shape(9, 11, 5), window: Window(kernel: 3, stride: 2, pad: 1),
             outC: 7, groups: 1, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "2x3 asymmetric pads and strides",
             input: Shape(8, 9, 3),
             window: Window(kernelH: 2, kernelW: 3, strideH: 1, strideW: 2, padTop: 0, padLeft: 1, padBottom: 2, padRight: 0),
             outC: 4, groups: 1, neuron: .ibt(alpha: 0.1)),
    DenseForwardConvCase(name: "3x3 dilation 2 pad 2", input: Shape(10, 10, 4), window: Window(kernel: 3, stride: 1, pad: 2, dilation: 2),
             outC: 6, groups: 1, neuron: .accumulator),
    DenseForwardConvCase(name: "dilation 2 stride 2 no bias", input: Shape(11, 9, 3), window: Window(kernel: 3, stride: 2, pad: 1, dilation: 2),
             outC: 5, groups: 1, neuron: .lif(tau: 0.9), bias: false),
    DenseForwardConvCase(name: "groups 2", input: Shape(7, 8, 6), window: Window(kernel: 3, stride: 1, pad: 1),
             outC: 8, groups: 2, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "groups 3 stride 2 dilation 2", input: Shape(9, 9, 6), window: Window(kernel: 3, stride: 2, pad: 2, dilation: 2),
             outC: 9, groups: 3, neuron: .ibt(alpha: 0.25)),
    DenseForwardConvCase(name: "depthwise 3x3", input: Shape(8, 7, 6), window: Window(kernel: 3, stride: 1, pad: 1),
             outC: 6, groups: 6, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "depthwise stride 2 dilation 2 asymmetric",
             input: Shape(10, 9, 5),
             window: Window(kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padTop: 1, padLeft: 2, padBottom: 0, padRight: 1,
                            dilationH: 2, dilationW: 2),
             outC: 5, groups: 5, neuron: .ibt(alpha: 1)),
    DenseForwardConvCase(name: "channel multiplier 2 (groups = inC)", input: Shape(6, 6, 4), window: Window(kernel: 3, stride: 1, pad: 1),
             outC: 8, groups: 4, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "1x1 stride 1", input: Shape(5, 6, 7), window: Window(kernel: 1),
             outC: 9, groups: 1, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "1x1 stride 1 groups 2", input: Shape(5, 6, 8), window: Window(kernel: 1),
             outC: 6, groups: 2, neuron: .accumulator),
    DenseForwardConvCase(name: "1x1 stride 2", input: Shape(7, 6, 4), window: Window(kernel: 1, stride: 2),
             outC: 3, groups: 1, neuron: .integrateAndFire()),
    DenseForwardConvCase(name: "banded im2col", input: Shape(12, 10, 4), window: Window(kernel: 3, stride: 1, pad: 1),
             outC: 6, groups: 2, neuron: .integrateAndFire(), im2colLimit: 5 * 10 * 18 + 5),
    DenseForwardConvCase(name: "5x5 valid on 1 channel", input: Shape(9, 9, 1), window: Window(kernel: 5),
             outC: 4, groups: 1, neuron: .integrateAndFire()),
]

// MARK: - Activation statistics

/// NumPy's default ("linear") percentile on a sorted array.
