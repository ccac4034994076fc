import Foundation
import SpikeCore
import SpikeImport

/// Built-in network topologies with seeded random weights, used for engine tests, scaling studies
/// and benchmarks where the topology and firing activity matter, not the task accuracy.
public enum ModelZoo {
    public static let names = ["tiny-yolov3", "yolov3", "mnist-cnn", "branchy"]

    /// Darknet's YOLOv3 topology, read from the `darknet` package (Debian: `apt-get install darknet`).
    public static let yolov3Config = "/usr/share/darknet/cfg/yolov3.cfg"

    /// Builds zoo network `name`; `inputSize` overrides the default square input side (416) of tiny-yolov3 and yolov3.
    public static func build(_ name: String, seed: UInt64, inputSize: Int? = nil) throws -> Network {
        var g = WeightInit(seed: seed)
        switch name {
        case "tiny-yolov3": return try tinyYOLOv3(size: inputSize ?? 416, init: &g)
        case "yolov3": return try yolov3(size: inputSize ?? 416, init: &g)
        case "mnist-cnn": return try mnistCNN(init: &g)
        case "branchy": return try branchy(init: &g)
        default: throw SpikeError("unknown zoo network '\(name)'; known: \(names.joined(separator: ", "))")
        }
    }

    /// The exact Tiny-YOLOv3 topology of Darknet's `yolov3-tiny.cfg`: 13 convolutions with
    /// leaky-ReLU (α = 0.1) as IBT neurons, six max-pools (the last with stride 1 and Darknet's
    /// one-sided padding), a route back to layer 13, a 1x1 convolution, a 2x upsample, a route
    /// concatenating it with layer 8, and two linear 255-channel heads as accumulators.
    public static func tinyYOLOv3(size: Int, init g: inout WeightInit) throws -> Network {
        guard size % 32 == 0, size >= 32 else { throw SpikeError("tiny-yolov3: input size must be a multiple of 32, got \(size)") }
        var b = NetworkBuilder(name: "tiny-yolov3-\(size)", input: Shape(size, size, 3))
        let leaky = NeuronModel.ibt(alpha: 0.1)
        func conv(_ name: String, _ outC: Int, _ k: Int, from: Int? = nil, neuron: NeuronModel = leaky) throws -> Int {
            let inC = b.shape(from ?? b.last).channels
            return try b.add(name, .conv(Window(kernel: k, stride: 1, pad: k / 2), outChannels: outC, groups: 1),
                             inputs: from.map { [$0] }, neuron: neuron,
                             weights: g.he(count: k * k * inC * outC, fanIn: k * k * inC), bias: g.small(outC))
        }
        func pool(_ name: String, stride: Int) throws {
            let w = stride == 2 ? Window(kernel: 2, stride: 2)
                : Window(kernelH: 2, kernelW: 2, strideH: 1, strideW: 1, padTop: 0, padLeft: 0, padBottom: 1, padRight: 1)
            try b.add(name, .maxPool(w))
        }
        var c = 16
        for i in 0..<5 {                                       // darknet layers 0-9
            _ = try conv("conv\(2 * i)", c, 3); try pool("maxpool\(2 * i + 1)", stride: 2); c *= 2
        }
        let l8 = try b.index(of: "conv8")
        _ = try conv("conv10", 512, 3); try pool("maxpool11", stride: 1)
        _ = try conv("conv12", 1024, 3)
        let l13 = try conv("conv13", 256, 1)
        _ = try conv("conv14", 512, 3)
        let head1 = try conv("conv15", 255, 1, neuron: .accumulator)   // [yolo] 16 reads it
        _ = try conv("conv18", 128, 1, from: l13)                      // route 17 = -4
        try b.add("upsample19", .upsample(factor: 2))
        try b.add("route20", .concat, inputs: [b.last, l8])
        _ = try conv("conv21", 256, 3)
        let head2 = try conv("conv22", 255, 1, neuron: .accumulator)   // [yolo] 23 reads it
        return try b.build(outputs: [head1, head2])
    }

    /// Full YOLOv3: the topology of Darknet's `yolov3.cfg` (75 convolutions, 23 residual shortcuts, 4 routes,
    /// 2 upsamples, three `[yolo]` heads at strides 32, 16 and 8) as the Darknet importer reads it, at
    /// `size`x`size` instead of the cfg's 608, with seeded He-normal weights and small biases in place of
    /// trained ones (batch norm is then the identity). The three head convolutions are the outputs. Convolutions are in cfg order, so the weights do
    /// not depend on anything but the seed and the cfg.
    public static func yolov3(size: Int, init g: inout WeightInit, cfg: String = yolov3Config) throws -> Network {
        guard size % 32 == 0, size >= 32 else { throw SpikeError("yolov3: input size must be a multiple of 32, got \(size)") }
        guard FileManager.default.fileExists(atPath: cfg) else {
            throw SpikeError("yolov3: Darknet's config \(cfg) is missing; install the Debian package darknet (Launch/deps.sh does)")
        }
        var config = try DarknetConfig(contentsOf: cfg)
        for key in ["width", "height"] {
            guard let k = config.sections[0].options.firstIndex(where: { $0.key == key }) else {
                throw SpikeError("\(cfg): [net] has no '\(key)' (the input size)")
            }
            config.sections[0].options[k].value = String(size)
        }
        var n = try DarknetImporter.build(config: config, weights: nil).network
        n.name = "yolov3-\(size)"
        // Like zoo tiny-yolov3, no [yolo] decoding: random weights make every anchor a "detection" (half a
        // million boxes per image), whose decoding would cost more than the simulation it follows.
        n.heads = []
        for i in n.layers.indices {
            guard case .conv(_, let outC, _) = n.layers[i].op else { continue }
            let count = n.layers[i].weights.count
            n.layers[i].weights = g.he(count: count, fanIn: count / outC)
            n.layers[i].bias = g.small(outC)
        }
        return n
    }

    /// A small CNN for 28x28 digits: conv-avgpool-conv-maxpool-dense-dense.
    public static func mnistCNN(init g: inout WeightInit) throws -> Network {
        var b = NetworkBuilder(name: "mnist-cnn", input: Shape(28, 28, 1))
        try b.add("conv1", .conv(Window(kernel: 3, pad: 1), outChannels: 16, groups: 1), neuron: .integrateAndFire(),
                  weights: g.he(count: 9 * 16, fanIn: 9), bias: g.small(16))
        try b.add("pool1", .avgPool(Window(kernel: 2, stride: 2), countIncludePad: false), neuron: .integrateAndFire(), bias: [])
        try b.add("conv2", .conv(Window(kernel: 3, pad: 1), outChannels: 32, groups: 1), neuron: .integrateAndFire(),
                  weights: g.he(count: 9 * 16 * 32, fanIn: 144), bias: g.small(32))
        try b.add("pool2", .maxPool(Window(kernel: 2, stride: 2)))
        try b.add("flatten", .flatten)
        try b.add("fc1", .dense(outFeatures: 64), neuron: .integrateAndFire(), weights: g.he(count: 7 * 7 * 32 * 64, fanIn: 1568), bias: g.small(64))
        try b.add("fc2", .dense(outFeatures: 10), neuron: .accumulator, weights: g.he(count: 640, fanIn: 64), bias: g.small(10))
        return try b.build()
    }

    /// A network with every merge and routing op and signed neurons: residual add, channel slice,
    /// strided 1x1 conv, upsample, concat, depthwise conv, max-pool, global pooling and dense.
    public static func branchy(init g: inout WeightInit) throws -> Network {
        var b = NetworkBuilder(name: "branchy", input: Shape(16, 16, 3))
        let leaky = NeuronModel.ibt(alpha: 0.1), linear = NeuronModel.ibt(alpha: 1)
        let c0 = try b.add("conv0", .conv(Window(kernel: 3, pad: 1), outChannels: 8, groups: 1), neuron: leaky,
                           weights: g.he(count: 27 * 8, fanIn: 27), bias: g.small(8))
        let c1 = try b.add("conv1", .conv(Window(kernel: 3, pad: 1), outChannels: 8, groups: 1), neuron: leaky,
                           weights: g.he(count: 72 * 8, fanIn: 72), bias: g.small(8))
        let sum = try b.add("add", .add, inputs: [c0, c1], neuron: linear)
        let sl = try b.add("slice", .channelSlice(start: 4, count: 4), inputs: [sum])
        try b.add("down", .conv(Window(kernel: 1, stride: 2), outChannels: 8, groups: 1), inputs: [sum], neuron: leaky,
                  weights: g.he(count: 64, fanIn: 8), bias: g.small(8))
        let up = try b.add("up", .upsample(factor: 2))
        try b.add("route", .concat, inputs: [up, sl])
        try b.add("dw", .conv(Window(kernel: 3, pad: 2, dilation: 2), outChannels: 12, groups: 12), neuron: leaky,
                  weights: g.he(count: 9 * 12, fanIn: 9), bias: g.small(12))
        try b.add("conv2", .conv(Window(kernel: 3, stride: 2, pad: 1), outChannels: 16, groups: 1), neuron: linear,
                  weights: g.he(count: 9 * 12 * 16, fanIn: 108), bias: g.small(16))
        try b.add("pool", .maxPool(Window(kernel: 2, stride: 2)))
        try b.add("gap", .globalAvgPool, neuron: .integrateAndFire())
        try b.add("fc", .dense(outFeatures: 10), neuron: .accumulator, weights: g.he(count: 160, fanIn: 16), bias: g.small(10))
        return try b.build()
    }
}

/// Seeded weight initialisation from the counter-based generator.
public struct WeightInit {
    let rng: Philox
    var counter = 0
    public init(seed: UInt64) { rng = Philox(seed: seed ^ 0x00C0_FFEE) }

    /// He-normal weights, `N(0, 2 / fanIn)`, by Box-Muller.
    public mutating func he(count: Int, fanIn: Int) -> [Float] {
        let sd = (2 / Float(fanIn)).squareRoot()
        counter += 1
        return (0..<count).map { i in
            let u1 = max(rng.uniform(i, counter, 1), 1e-7), u2 = rng.uniform(i, counter, 2)
            return sd * (-2 * logf(u1)).squareRoot() * cosf(2 * Float.pi * u2)
        }
    }

    /// Small biases in [-0.05, 0.05).
    public mutating func small(_ count: Int) -> [Float] {
        counter += 1
        return (0..<count).map { 0.1 * (rng.uniform($0, counter, 3) - 0.5) }
    }
}

#if canImport(Glibc)
import Glibc
#endif
