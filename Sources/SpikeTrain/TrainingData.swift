import Foundation
import SpikeCore
import SpikeData

/// How images become the input of each timestep.
public enum TrainEncoding: String, Sendable, CaseIterable, Codable {
    /// The pixel value as a current every timestep (the engine's `direct` encoder).
    case analog
    /// `P(spike) = x` each timestep, from the keyed Philox generator (the engine's `bernoulli`).
    case bernoulli
    /// `P(spike) = 1 − exp(−x)` each timestep (the engine's `poisson`).
    case poisson
    /// Event frames (N-MNIST), one per timestep (the engine's `events`).
    case events
}

/// A labelled data set held in memory: images in [0, 1] (HWC), or precomputed event frames.
public struct TrainingSet: Sendable {
    public let name: String
    /// Shape of one timestep's input.
    public let shape: Shape
    public let count: Int
    public let labels: [Int]
    /// Images: `count x shape.count` bytes (value/255). Events: `count x T x shape.count` frame bytes.
    let bytes: [UInt8]
    let scale: Float
    /// Frames per sample for event data, else 1 (the image is encoded every timestep).
    public let framesPerSample: Int

    /// An IDX set (MNIST, Fashion-MNIST); `split` is `train` or `t10k`; `limit` keeps the first samples.
    public static func idx(folder: String, split: String, limit: Int?) throws -> TrainingSet {
        let d = try IDXDataset(folder: folder, split: split)
        let n = min(d.count, limit ?? d.count)
        let px = d.rows * d.columns
        return TrainingSet(name: "\(folder) \(split)", shape: Shape(d.rows, d.columns, 1), count: n, labels: d.labels[0..<n].map { Int($0) },
                           bytes: Array(d.images[0..<(n * px)]), scale: 1 / 255, framesPerSample: 1)
    }

    /// N-MNIST event frames of `binMilliseconds` each, `timesteps` per sample, from a split list (`train1K`, `test100`).
    public static func nmnist(folder: String, split: String, binMilliseconds: Double, timesteps: Int, limit: Int?) throws -> TrainingSet {
        let rep = try EventRepresentation(parsing: "frames", binMilliseconds: binMilliseconds, timesteps: timesteps)
        let src = try NMNISTSource(folder: folder, split: split, representation: rep, expecting: rep.shape)
        let n = min(src.count, limit ?? src.count)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(n * rep.valuesPerSample)
        var labels: [Int] = []
        for i in 0..<n {
            let (x, label) = try src.sample(i)
            bytes += x.map { UInt8(min(255, max(0, $0))) }
            labels.append(label ?? 0)
        }
        return TrainingSet(name: "\(folder) \(split)", shape: rep.shape, count: n, labels: labels, bytes: bytes, scale: 1, framesPerSample: timesteps)
    }

    /// The inputs of samples `indices` as one chunk tensor: `T * n` rows, row `t * n + s`. `sampleKeys`
    /// are the Philox sample numbers of the stochastic encoders (the engine uses the sample's index).
    public func chunk(_ indices: [Int], sampleKeys: [Int], timesteps T: Int, encoding: TrainEncoding, seed: UInt64) -> [Float] {
        let F = shape.count, n = indices.count
        var x = [Float](repeating: 0, count: T * n * F)
        let rate: RateEncoder? = encoding == .bernoulli ? RateEncoder(.bernoulli, seed: seed) : encoding == .poisson ? RateEncoder(.poisson, seed: seed) : nil
        for (s, idx) in indices.enumerated() {
            for t in 0..<T {
                let o = (t * n + s) * F
                if framesPerSample > 1 {
                    let b = (idx * framesPerSample + t) * F
                    for i in 0..<F { x[o + i] = Float(bytes[b + i]) * scale }
                } else {
                    let b = idx * F
                    for i in 0..<F {
                        let v = Float(bytes[b + i]) * scale
                        if let r = rate { x[o + i] = r.fires(v, sample: sampleKeys[s], neuron: i, timestep: t + 1) ? 1 : 0 } else { x[o + i] = v }
                    }
                }
            }
        }
        return x
    }
}

extension TrainingSet {
    /// Seeded synthetic images for tests: class k is a bright square in quadrant-like position k plus noise.
    public static func synthetic(count: Int, shape: Shape, classes: Int, seed: UInt64) -> TrainingSet {
        var rng = SplitMix64(seed: seed)
        var bytes = [UInt8](repeating: 0, count: count * shape.count), labels: [Int] = []
        let side = max(1, shape.height / 2)
        for i in 0..<count {
            let k = Int(rng.next() % UInt64(classes)); labels.append(k)
            let oy = (k / 2) % 2 * (shape.height - side), ox = k % 2 * (shape.width - side)
            for y in 0..<shape.height { for x in 0..<shape.width { for c in 0..<shape.channels {
                var v = Int(rng.next() % 80)
                if y >= oy, y < oy + side, x >= ox, x < ox + side { v += 150 }
                bytes[i * shape.count + (y * shape.width + x) * shape.channels + c] = UInt8(min(255, v))
            } } }
        }
        return TrainingSet(name: "synthetic", shape: shape, count: count, labels: labels, bytes: bytes, scale: 1 / 255, framesPerSample: 1)
    }
}
