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
        guard width > 0, height > 0 else { throw SpikeError("\(name): JPEG header gives an empty size \(width)x\(height)") }
        try InputLimits.check(width * height, .imagePixels, "\(name): the pixels of the \(width)x\(height) image in the JPEG header")
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

    /// Encodes `image` as a baseline JPEG (4:2:0) of `quality` 1...100 (for test fixtures and seed corpora).
    public static func encode(_ image: RGBImage, quality: Int) throws -> Data {
        guard let handle = tjInitCompress() else { throw SpikeError("cannot start the JPEG encoder") }
        defer { tjDestroy(handle) }
        let rgb = image.pixels.map { UInt8(max(0, min(255, ($0 * 255).rounded()))) }
        var out: UnsafeMutablePointer<UInt8>?
        var size: UInt = 0
        let status = rgb.withUnsafeBufferPointer {
            tjCompress2(handle, $0.baseAddress, Int32(image.width), Int32(image.width * 3), Int32(image.height), Int32(TJPF_RGB.rawValue),
                        &out, &size, Int32(TJSAMP_420.rawValue), Int32(quality), 0)
        }
        defer { tjFree(out) }
        guard status == 0, let out else { throw SpikeError("JPEG encoding failed: \(String(cString: tjGetErrorStr2(handle)))") }
        return Data(bytes: out, count: Int(size))
    }
}
