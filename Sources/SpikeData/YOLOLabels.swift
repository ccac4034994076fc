import Foundation
import SpikeCore

/// One labelled object of a YOLO-layout label file: a class and a centre box normalised to [0, 1]
/// by the image's width and height.
public struct YOLOLabel: Sendable, Equatable {
    public var classID: Int
    public var cx: Float, cy: Float, w: Float, h: Float
    public init(classID: Int, cx: Float, cy: Float, w: Float, h: Float) {
        self.classID = classID; self.cx = cx; self.cy = cy; self.w = w; self.h = h
    }
}

/// YOLO-layout detection labels (Darknet, Ultralytics, COCO8): one text file per image, one object
/// per line, `class cx cy w h` with the box normalised to the image size. Blank lines are ignored.
public enum YOLOLabels {
    /// Parses a label file. Every error names the file and line.
    public static func parse(_ text: String, name: String, classes: Int? = nil) throws -> [YOLOLabel] {
        var out = [YOLOLabel]()
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let at = "\(name):\(n + 1)"
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count == 5 else {
                throw SpikeError("\(at): expected 5 fields 'class cx cy w h', got \(f.count) ('\(line.prefix(80))')")
            }
            guard let c = Int(f[0]), c >= 0 else { throw SpikeError("\(at): class '\(f[0])' is not a non-negative integer") }
            if let classes, c >= classes { throw SpikeError("\(at): class \(c) but the model has \(classes) classes") }
            var v = [Float]()
            for (k, name) in ["cx", "cy", "w", "h"].enumerated() {
                guard let x = Float(f[k + 1]), x.isFinite else { throw SpikeError("\(at): \(name) '\(f[k + 1])' is not a number") }
                guard x >= 0, x <= 1 else { throw SpikeError("\(at): \(name) = \(x) is outside [0, 1] (coordinates are normalised to the image size)") }
                v.append(x)
            }
            guard v[2] > 0, v[3] > 0 else { throw SpikeError("\(at): box width and height must be positive") }
            out.append(YOLOLabel(classID: c, cx: v[0], cy: v[1], w: v[2], h: v[3]))
        }
        return out
    }

    /// Reads the label file at `path`; a missing file means an image without objects (YOLO's convention).
    public static func read(path: String, classes: Int? = nil) throws -> [YOLOLabel] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): cannot read the label file") }
        guard let text = String(data: data, encoding: .utf8) else { throw SpikeError("\(path): label file is not UTF-8 text") }
        return try parse(text, name: path, classes: classes)
    }

    /// The label file of an image by the YOLO convention: the last `images` path component replaced
    /// by `labels` and the extension by `.txt`; nil if the path has no `images` component.
    public static func labelPath(forImage path: String) -> String? {
        var parts = (path as NSString).pathComponents
        guard let k = parts.lastIndex(of: "images") else { return nil }
        parts[k] = "labels"
        let joined = NSString.path(withComponents: parts)
        return (joined as NSString).deletingPathExtension + ".txt"
    }
}
