import Foundation
import SpikeCore
import SpikeData
import SpikeEngine

/// Where a run's samples come from. Only rank 0 reads them; the coordinator broadcasts each one.
public protocol InputSource {
    /// A short description for reports (`mnist t10k (10000 images)`).
    var description: String { get }
    /// Number of samples available.
    var count: Int { get }
    /// Sample `i` as HWC floats, and its class label where the source has one.
    func sample(_ i: Int) throws -> (input: [Float], label: Int?)
}

/// IDX images (MNIST, Fashion-MNIST) from a folder.
public struct IDXSource: InputSource {
    public let dataset: IDXDataset
    public let folder: String
    public let split: String
    public init(folder: String, split: String = "t10k", expecting shape: Shape) throws {
        dataset = try IDXDataset(folder: folder, split: split)
        self.folder = folder; self.split = split
        guard shape == Shape(dataset.rows, dataset.columns, 1) else {
            throw SpikeError("\(folder): images are \(dataset.rows)x\(dataset.columns)x1 but the model's input is \(shape)")
        }
    }
    public var description: String { "\(folder) \(split) (\(dataset.count) images)" }
    public var count: Int { dataset.count }
    public func sample(_ i: Int) throws -> (input: [Float], label: Int?) { (dataset.image(i), Int(dataset.labels[i])) }
}

/// Seeded synthetic images for networks without a dataset (scaling and benchmark runs): smooth
/// random blobs in [0, 1], the same for a given (seed, sample) on every machine.
public struct SyntheticSource: InputSource {
    public let shape: Shape
    public let seed: UInt64
    public let count: Int
    public init(shape: Shape, seed: UInt64, count: Int) { self.shape = shape; self.seed = seed; self.count = count }
    public var description: String { "synthetic \(shape) images, seed \(seed)" }

    public func sample(_ i: Int) throws -> (input: [Float], label: Int?) {
        let rng = Philox(seed: seed ^ 0x5EED_1A6E)
        // A coarse 8x8 grid of random values per channel, bilinearly upsampled, plus fine noise.
        let g = 8
        var out = [Float](repeating: 0, count: shape.count)
        for y in 0..<shape.height {
            let fy = Float(y) / Float(max(1, shape.height - 1)) * Float(g - 1)
            let y0 = min(Int(fy), g - 2), ty = fy - Float(y0)
            for x in 0..<shape.width {
                let fx = Float(x) / Float(max(1, shape.width - 1)) * Float(g - 1)
                let x0 = min(Int(fx), g - 2), tx = fx - Float(x0)
                for c in 0..<shape.channels {
                    func v(_ a: Int, _ b: Int) -> Float { rng.uniform(i, (a * g + b), c, 1) }
                    let top = v(y0, x0) * (1 - tx) + v(y0, x0 + 1) * tx
                    let bot = v(y0 + 1, x0) * (1 - tx) + v(y0 + 1, x0 + 1) * tx
                    let smooth = top * (1 - ty) + bot * ty
                    let noise = rng.uniform(i, (y * shape.width + x) * shape.channels + c, 0, 2)
                    out[(y * shape.width + x) * shape.channels + c] = 0.8 * smooth + 0.2 * noise
                }
            }
        }
        return (out, nil)
    }
}

/// JPEG images from a folder (e.g. COCO8's images/val), letterboxed as Darknet does to the model's
/// input size; no labels.
public struct ImageFolderSource: InputSource {
    public let images: ImageFolder
    public let shape: Shape
    public init(folder: String, expecting shape: Shape) throws {
        guard shape.channels == 3 else {
            throw SpikeError("\(folder): JPEG images have 3 channels but the model's input is \(shape)")
        }
        images = try ImageFolder(folder: folder)
        self.shape = shape
    }
    public var description: String { "\(images.folder) (\(images.count) JPEG images, letterboxed to \(shape.width)x\(shape.height))" }
    public var count: Int { images.count }
    public func sample(_ i: Int) throws -> (input: [Float], label: Int?) {
        (try images.image(i, width: shape.width, height: shape.height), nil)
    }
}

/// Opens a data path: an IDX folder (MNIST-style) or a folder of JPEG images.
public enum DataSource {
    public static func open(_ path: String, split: String, expecting shape: Shape) throws -> InputSource {
        let fm = FileManager.default
        let idx = ["\(split)-images-idx3-ubyte", "\(split)-images-idx3-ubyte.gz"].contains {
            fm.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
        if idx { return try IDXSource(folder: path, split: split, expecting: shape) }
        return try ImageFolderSource(folder: path, expecting: shape)
    }
}
