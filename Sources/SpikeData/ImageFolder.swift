import Foundation
import SpikeCore

/// The JPEG images of a folder (not its subfolders), in sorted file-name order, letterboxed on demand.
public struct ImageFolder: Sendable {
    public let folder: String
    /// Full paths of the folder's `*.jpg` / `*.jpeg` files (extension case-insensitive), sorted by name.
    public let files: [String]

    public init(folder: String) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDir) else {
            throw SpikeError("\(folder): no such image folder")
        }
        guard isDir.boolValue else { throw SpikeError("\(folder): not a folder (expected a folder of .jpg images)") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw SpikeError("\(folder): cannot list the folder (\(error.localizedDescription))")
        }
        let jpegs = names.filter { name in
            let ext = (name as NSString).pathExtension.lowercased()
            guard ext == "jpg" || ext == "jpeg", !name.hasPrefix(".") else { return false }
            var d: ObjCBool = false
            let path = (folder as NSString).appendingPathComponent(name)
            return FileManager.default.fileExists(atPath: path, isDirectory: &d) && !d.boolValue
        }.sorted()
        guard !jpegs.isEmpty else { throw SpikeError("\(folder): no .jpg or .jpeg images in the folder") }
        self.folder = folder
        files = jpegs.map { (folder as NSString).appendingPathComponent($0) }
    }

    public var count: Int { files.count }

    /// Image `i`, decoded and letterboxed as Darknet does to `width x height`: HWC floats in [0, 1].
    public func image(_ i: Int, width: Int, height: Int) throws -> [Float] {
        guard files.indices.contains(i) else {
            throw SpikeError("\(folder): image #\(i) requested but the folder has \(files.count)")
        }
        guard width > 0, height > 0 else { throw SpikeError("\(folder): letterbox size \(width)x\(height) is not positive") }
        return Letterbox.darknet(try JPEG.decode(path: files[i]), width: width, height: height)
    }
}
