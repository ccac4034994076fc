import CZlib
import Foundation
import SpikeCore

/// Gzip decompression through the system zlib.
public enum Gzip {
    /// True if `data` starts with the gzip magic bytes.
    public static func isGzip(_ data: Data) -> Bool { data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b }

    /// Inflates a whole gzip stream; `path` names the file in errors (truncated or corrupt streams).
    public static func decompress(_ data: Data, path: String) throws -> Data {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw SpikeError("\(path): zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var out = Data()
        let chunk = 1 << 20
        var buffer = [UInt8](repeating: 0, count: chunk)
        var status: Int32 = Z_OK
        try data.withUnsafeBytes { (src: UnsafeRawBufferPointer) in
            stream.next_in = UnsafeMutablePointer(mutating: src.bindMemory(to: Bytef.self).baseAddress)
            stream.avail_in = uInt(src.count)
            repeat {
                status = buffer.withUnsafeMutableBufferPointer { b -> Int32 in
                    stream.next_out = b.baseAddress
                    stream.avail_out = uInt(chunk)
                    return inflate(&stream, Z_NO_FLUSH)
                }
                guard status == Z_OK || status == Z_STREAM_END else {
                    throw SpikeError("\(path): corrupt gzip data (zlib status \(status))")
                }
                out.append(buffer, count: chunk - Int(stream.avail_out))
                try InputLimits.check(out.count, .decompressedBytes, "\(path): the inflated size so far")
                if status == Z_OK && stream.avail_in == 0 && stream.avail_out != 0 {
                    throw SpikeError("\(path): gzip stream is truncated")
                }
            } while status != Z_STREAM_END
        }
        return out
    }

    /// Reads a file, inflating it if it is gzipped.
    public static func readMaybeCompressed(_ path: String) throws -> Data {
        guard let d = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): cannot read the file (missing or unreadable)") }
        return isGzip(d) ? try decompress(d, path: path) : d
    }
}
