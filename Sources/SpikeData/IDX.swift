import Foundation
import SpikeCore

/// An IDX image/label set (MNIST, Fashion-MNIST), gzipped or not, with pixel values scaled to [0, 1].
public struct IDXDataset: Sendable {
    public let images: [UInt8]
    public let labels: [UInt8]
    public let count: Int
    public let rows: Int, columns: Int

    /// Loads `split` ("t10k" or "train") from a folder holding `SPLIT-images-idx3-ubyte[.gz]` and
    /// `SPLIT-labels-idx1-ubyte[.gz]`.
    public init(folder: String, split: String = "t10k") throws {
        func find(_ base: String) throws -> String {
            for name in [base, base + ".gz"] {
                let p = (folder as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: p) { return p }
            }
            throw SpikeError("\(folder): no \(base) or \(base).gz (expected an MNIST-style IDX folder)")
        }
        try self.init(imagesPath: try find("\(split)-images-idx3-ubyte"), labelsPath: try find("\(split)-labels-idx1-ubyte"))
    }

    public init(imagesPath: String, labelsPath: String) throws {
        let img = try Gzip.readMaybeCompressed(imagesPath)
        let lab = try Gzip.readMaybeCompressed(labelsPath)
        let (idims, ibytes) = try IDXDataset.parse(img, path: imagesPath, expectedRank: 3)
        let (ldims, lbytes) = try IDXDataset.parse(lab, path: labelsPath, expectedRank: 1)
        guard idims[0] == ldims[0] else {
            throw SpikeError("\(labelsPath): \(ldims[0]) labels for the \(idims[0]) images of \(imagesPath)")
        }
        if let bad = lbytes.firstIndex(where: { $0 > 9 }) {
            throw SpikeError("\(labelsPath): label #\(bad) is \(lbytes[bad]), expected 0...9")
        }
        images = ibytes; labels = lbytes; count = idims[0]; rows = idims[1]; columns = idims[2]
    }

    /// Parses an IDX header of unsigned-byte data: magic `00 00 08 RANK`, big-endian dimensions.
    public static func parse(_ d: Data, path: String, expectedRank: Int) throws -> ([Int], [UInt8]) {
        let b = [UInt8](d)
        guard b.count >= 4 else { throw SpikeError("\(path): \(b.count) bytes, too short for an IDX header") }
        guard b[0] == 0, b[1] == 0, b[2] == 0x08 else {
            throw SpikeError("\(path): not an unsigned-byte IDX file (magic \(b[0..<4].map { String(format: "%02x", $0) }.joined()))")
        }
        guard Int(b[3]) == expectedRank else { throw SpikeError("\(path): IDX rank \(b[3]), expected \(expectedRank)") }
        let header = 4 + 4 * expectedRank
        guard b.count >= header else { throw SpikeError("\(path): truncated IDX header") }
        var dims = [Int]()
        for k in 0..<expectedRank {
            let o = 4 + 4 * k
            dims.append(Int(b[o]) << 24 | Int(b[o + 1]) << 16 | Int(b[o + 2]) << 8 | Int(b[o + 3]))
        }
        guard dims.allSatisfy({ $0 > 0 }) else { throw SpikeError("\(path): IDX dimensions \(dims) include a zero") }
        try InputLimits.check(dims[0], .datasetSamples, "\(path): the sample count in the IDX header")
        try InputLimits.check(InputLimits.product(Array(dims.dropFirst())), .imagePixels, "\(path): the pixels per image \(dims.dropFirst().map(String.init).joined(separator: "x")) in the IDX header")
        let n = InputLimits.product(dims)
        guard b.count - header == n else {
            throw SpikeError("\(path): \(b.count - header) data bytes but the header \(dims) needs \(n) (truncated or corrupt)")
        }
        return (dims, Array(b[header...]))
    }

    /// Image `i` as HWC floats in [0, 1] (one channel).
    public func image(_ i: Int) -> [Float] {
        let n = rows * columns
        return images[i * n ..< (i + 1) * n].map { Float($0) / 255 }
    }
}
