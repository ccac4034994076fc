import Foundation
import SpikeCore

/// A Darknet `.weights` file: a header, then float32 values (little-endian) for each layer in cfg order.
///
/// Header (as Darknet's `load_weights_upto`): `major`, `minor`, `revision` as int32, then `seen`
/// (images seen in training) as int64 when `major*10 + minor >= 2 && major < 1000 && minor < 1000`,
/// else as int32. The floats are consumed with a `DarknetWeightReader`; the importer requires the
/// file to be consumed exactly: a short file and trailing bytes are both errors (trailing data almost
/// always means the cfg does not match the weights, which Darknet itself silently ignores).
public struct DarknetWeights: Sendable {
    /// File name used in error messages.
    public var file: String
    public var major: Int32
    public var minor: Int32
    public var revision: Int32
    public var seen: Int64
    /// Bytes taken by the header (16 or 20).
    public var headerSize: Int
    /// The float32 payload after the header.
    public var values: [Float]
    /// Bytes after the last whole float (0 to 3); any is an error when the file is finished.
    public var strayBytes: Int

    public init(contentsOf path: String) throws {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpikeError("\(path): cannot read the Darknet .weights file")
        }
        try self.init(bytes: [UInt8](data), file: name)
    }

    public init(bytes: [UInt8], file: String) throws {
        self.file = file
        func i32(_ at: Int) -> Int32 {
            var v: UInt32 = 0
            for k in 0..<4 { v |= UInt32(bytes[at + k]) << (8 * UInt32(k)) }
            return Int32(bitPattern: v)
        }
        guard bytes.count >= 12 else {
            throw SpikeError("\(file): \(bytes.count) bytes, too short for the 12-byte version header (major, minor, revision)")
        }
        major = i32(0); minor = i32(4); revision = i32(8)
        // Written as in Darknet; the products cannot overflow Int on 64-bit platforms.
        let wide = Int(major) * 10 + Int(minor) >= 2 && major < 1000 && minor < 1000
        let hs = wide ? 20 : 16
        headerSize = hs
        guard bytes.count >= hs else {
            throw SpikeError("\(file): \(bytes.count) bytes, too short for the \(hs)-byte header (version \(major).\(minor).\(revision) stores 'seen' as \(wide ? "int64" : "int32"))")
        }
        if wide {
            seen = Int64(bitPattern: UInt64(UInt32(bitPattern: i32(12))) | UInt64(UInt32(bitPattern: i32(16))) << 32)
        } else {
            seen = Int64(i32(12))
        }
        let payload = bytes.count - hs
        let n = payload / 4
        strayBytes = payload - 4 * n
        var vals = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            vals.withUnsafeMutableBytes { dst in
                if n > 0 { dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[hs..<(hs + 4 * n)])) }
            }
        }
        #if _endian(big)
        vals = vals.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
        #endif
        values = vals
    }

    /// A reader positioned at the first float.
    public func reader() -> DarknetWeightReader { DarknetWeightReader(self) }
}

/// Reads a `DarknetWeights` payload layer by layer.
public struct DarknetWeightReader: Sendable {
    public let weights: DarknetWeights
    /// Index of the next float.
    public private(set) var position = 0
    public init(_ weights: DarknetWeights) { self.weights = weights }

    /// Floats not read yet.
    public var remaining: Int { weights.values.count - position }

    /// The next `count` floats for `layer` (a description such as `conv12 (net.cfg:57)`); throws, naming
    /// the layer and how many floats it needed and how many were left, when the file is too short.
    public mutating func read(_ count: Int, for layer: String, what: String = "values") throws -> ArraySlice<Float> {
        guard count >= 0, count <= remaining else {
            throw SpikeError("\(weights.file): too short for the cfg: layer \(layer) needs \(count) more floats (\(what)) but only \(remaining) are left (the file has \(weights.values.count) floats after its \(weights.headerSize)-byte header)")
        }
        defer { position += count }
        return weights.values[position..<(position + count)]
    }

    /// Throws if anything is left after the last layer (extra floats or a partial float).
    public func finish(cfg: String) throws {
        guard remaining == 0, weights.strayBytes == 0 else {
            let extra = remaining * 4 + weights.strayBytes
            throw SpikeError("\(weights.file): \(extra) bytes (\(remaining) floats\(weights.strayBytes > 0 ? " + \(weights.strayBytes) stray bytes" : "")) left after the last layer of \(cfg): the weights do not match the cfg")
        }
    }
}
