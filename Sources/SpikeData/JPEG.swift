import CTurboJPEG
import Foundation
import SpikeCore

/// A decoded colour image: channels-last (HWC) floats, 3 channels (R, G, B), values in [0, 1].
public struct RGBImage: Sendable {
    public let width: Int, height: Int
    /// `(y * width + x) * 3 + c`, each `byte / 255`.
    public var pixels: [Float]

    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width >= 0 && height >= 0 && pixels.count == width * height * 3,
                     "RGBImage: \(pixels.count) values for \(width)x\(height)x3")
        self.width = width; self.height = height; self.pixels = pixels
    }
}

/// JPEG decoding through libturbojpeg.
public enum JPEG {
    /// The largest image decoded (pixels), so that a corrupt header cannot ask for an absurd allocation.
    public static let maxPixels = 1 << 28

    /// Decodes the JPEG file at `path`.
    public static func decode(path: String) throws -> RGBImage {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SpikeError("\(path): cannot read the file (\(error.localizedDescription))")
        }
        return try decode(data: data, name: path)
    }

    /// Decodes JPEG bytes; `name` (a path) appears in error messages. Anything turbojpeg reports,
    /// warnings included (a truncated file is one), is an error.
    public static func decode(data: Data, name: String) throws -> RGBImage {
        guard !data.isEmpty else { throw SpikeError("\(name): empty file, not a JPEG") }
        guard data.count <= Int(UInt32.max) else { throw SpikeError("\(name): \(data.count) bytes, too large for a JPEG") }
        guard let handle = tjInitDecompress() else {
            throw SpikeError("\(name): cannot start the JPEG decoder (\(String(cString: tjGetErrorStr2(nil))))")
        }
        defer { tjDestroy(handle) }
        func failure(_ what: String) -> SpikeError {
            let message = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
            return SpikeError("\(name): \(what): \(message)")
        }
        let bytes = [UInt8](data)
        var w: Int32 = 0, h: Int32 = 0, subsamp: Int32 = 0, colorspace: Int32 = 0
        let header = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt(bytes.count), &w, &h, &subsamp, &colorspace)
        }
        guard header == 0 else { throw failure("not a valid JPEG") }
        let width = Int(w), height = Int(h)
        guard width > 0, height > 0, width <= maxPixels / height else {
            throw SpikeError("\(name): JPEG header gives an unsupported size \(width)x\(height) (at most \(maxPixels) pixels)")
        }
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        let flags = TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS
        let status = bytes.withUnsafeBufferPointer { src in
            rgb.withUnsafeMutableBufferPointer { dst in
                tjDecompress2(handle, src.baseAddress, UInt(bytes.count), dst.baseAddress, w, Int32(width * 3), h,
                              Int32(TJPF_RGB.rawValue), Int32(flags))
            }
        }
        guard status == 0 else { throw failure("corrupt or truncated JPEG") }
        return RGBImage(width: width, height: height, pixels: rgb.map { Float($0) / 255 })
    }
}
