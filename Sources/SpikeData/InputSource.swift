import Foundation
import SpikeCore
import SpikeMetrics

/// One sample as a source gives it: the network input, and what it is scored against.
public struct Sample: Sendable {
    /// HWC floats of the network's input shape; for event frames, `timesteps` such frames one after another.
    public var input: [Float]
    /// Class label (classification sets).
    public var label: Int?
    /// Labelled objects in original-image pixels, centre boxes (detection sets); `image` is the sample index.
    public var boxes: [GroundTruth]?
    /// Original image size before letterboxing (detection sets).
    public var imageWidth: Int?
    public var imageHeight: Int?
    /// File the sample came from, for reports.
    public var name: String?
    public init(input: [Float], label: Int? = nil, boxes: [GroundTruth]? = nil, imageWidth: Int? = nil, imageHeight: Int? = nil,
                name: String? = nil) {
        self.input = input; self.label = label; self.boxes = boxes; self.imageWidth = imageWidth; self.imageHeight = imageHeight
        self.name = name
    }
}

/// Where a run's samples come from. Only rank 0 reads them; the coordinator broadcasts each one.
public protocol InputSource {
    /// A short description for reports (`mnist t10k (10000 images)`).
    var description: String { get }
    /// Number of samples available.
    var count: Int { get }
    /// Sample `i` as HWC floats, and its class label where the source has one.
    func sample(_ i: Int) throws -> (input: [Float], label: Int?)
    /// Sample `i` with everything the source knows about it (boxes, image size, file name).
    func load(_ i: Int) throws -> Sample
    /// Number of input frames a sample holds (1 for images; `timesteps` for event frames).
    var framesPerSample: Int { get }
}

extension InputSource {
    public func load(_ i: Int) throws -> Sample {
        let s = try sample(i)
        return Sample(input: s.input, label: s.label)
    }
    public var framesPerSample: Int { 1 }
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
    /// With the original size, so detections come out in image pixels.
    public func load(_ i: Int) throws -> Sample {
        guard images.files.indices.contains(i) else { throw SpikeError("\(images.folder): image #\(i) requested but the folder has \(images.count)") }
        let img = try JPEG.decode(path: images.files[i])
        return Sample(input: Letterbox.darknet(img, width: shape.width, height: shape.height), imageWidth: img.width,
                      imageHeight: img.height, name: images.files[i])
    }
}

/// A detection set in the YOLO layout (COCO8, Darknet, Ultralytics): JPEG images letterboxed as
/// Darknet does, each with a label file (`class cx cy w h` per line, normalised) found by replacing
/// `images` by `labels` in its path. An image without a label file has no objects. Several image
/// folders (splits `train+val`) are read one after the other, each in name order.
public struct DetectionFolderSource: InputSource {
    public let folders: [String]
    /// Full paths of the images, in sample order.
    public let files: [String]
    public let shape: Shape
    public let classes: Int?
    public let labelFiles: [String?]
    public init(imageFolder: String, expecting shape: Shape, classes: Int? = nil) throws {
        try self.init(imageFolders: [imageFolder], expecting: shape, classes: classes)
    }
    public init(imageFolders: [String], expecting shape: Shape, classes: Int? = nil) throws {
        guard shape.channels == 3 else {
            throw SpikeError("\(imageFolders.joined(separator: ", ")): JPEG images have 3 channels but the model's input is \(shape)")
        }
        var f = [String]()
        for d in imageFolders { f += try ImageFolder(folder: d).files }
        folders = imageFolders; files = f
        self.shape = shape; self.classes = classes
        labelFiles = files.map { YOLOLabels.labelPath(forImage: $0) }
    }
    /// True if `imageFolder` has a sibling label folder (`.../images/X` beside `.../labels/X`).
    public static func hasLabels(imageFolder: String) -> Bool {
        guard let l = YOLOLabels.labelPath(forImage: (imageFolder as NSString).appendingPathComponent("x.jpg")) else { return false }
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: (l as NSString).deletingLastPathComponent, isDirectory: &d) && d.boolValue
    }
    public var description: String {
        "\(folders.joined(separator: " + ")) (\(files.count) JPEG images with YOLO labels, letterboxed to \(shape.width)x\(shape.height))"
    }
    public var count: Int { files.count }
    public func sample(_ i: Int) throws -> (input: [Float], label: Int?) { (try load(i).input, nil) }
    public func load(_ i: Int) throws -> Sample {
        guard files.indices.contains(i) else { throw SpikeError("\(folders.joined(separator: " + ")): image #\(i) requested but there are \(files.count)") }
        let img = try JPEG.decode(path: files[i])
        let labels = try labelFiles[i].map { try YOLOLabels.read(path: $0, classes: classes) } ?? []
        let W = Float(img.width), H = Float(img.height)
        let boxes = labels.map {
            GroundTruth(image: i, classID: $0.classID, box: Box(x: $0.cx * W, y: $0.cy * H, w: $0.w * W, h: $0.h * H))
        }
        return Sample(input: Letterbox.darknet(img, width: shape.width, height: shape.height), boxes: boxes,
                      imageWidth: img.width, imageHeight: img.height, name: files[i])
    }
}

/// Opens a data path: an IDX folder (MNIST-style), an N-MNIST folder (with `split` a list such as
/// test100), a YOLO-layout detection set (a folder with `images/SPLIT` and `labels/SPLIT`, or an
/// image folder with labels beside it), or a folder of JPEG images.
public enum DataSource {
    /// How event data (N-MNIST) becomes network input.
    public struct EventOptions: Sendable {
        /// nil: from the model's input shape: 34x34x2 takes intensity images, 34x34x(2k) unrolled
        /// binary images of k bins (frames must be asked for, with the events encoder).
        public var representation: String?
        public var binMilliseconds: Double = 10
        public var timesteps = 32
        public init() {}
    }

    /// `split` nil picks the evaluation split: t10k (IDX), test100 (N-MNIST), val (detection sets).
    public static func open(_ path: String, split requested: String?, expecting shape: Shape, classes: Int? = nil,
                            events: EventOptions = EventOptions()) throws -> InputSource {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir) else { throw SpikeError("\(path): no such data folder") }
        guard isDir.boolValue else { throw SpikeError("\(path): not a folder (expected an IDX, N-MNIST, YOLO-layout or JPEG folder)") }
        var split = requested ?? "t10k"
        func exists(_ p: String, dir: Bool) -> Bool {
            var d: ObjCBool = false
            return fm.fileExists(atPath: p, isDirectory: &d) && d.boolValue == dir
        }
        let idx = ["\(split)-images-idx3-ubyte", "\(split)-images-idx3-ubyte.gz"].contains {
            fm.fileExists(atPath: (path as NSString).appendingPathComponent($0))
        }
        if idx { return try IDXSource(folder: path, split: split, expecting: shape) }
        if requested == nil, exists((path as NSString).appendingPathComponent("images"), dir: true) { split = "val" }
        let splitImages = ((path as NSString).appendingPathComponent("images") as NSString).appendingPathComponent(split)
        if exists(splitImages, dir: true) {
            return try DetectionFolderSource(imageFolder: splitImages, expecting: shape, classes: classes)
        }
        // Several splits of a detection set, read one after the other: `train+val`.
        if split.contains("+"), exists((path as NSString).appendingPathComponent("images"), dir: true) {
            let parts = split.split(separator: "+").map(String.init)
            let folders = parts.map { ((path as NSString).appendingPathComponent("images") as NSString).appendingPathComponent($0) }
            if let missing = zip(parts, folders).first(where: { !exists($0.1, dir: true) }) {
                throw SpikeError("\(path): split '\(missing.0)' of '\(split)' has no images/\(missing.0) folder")
            }
            return try DetectionFolderSource(imageFolders: folders, expecting: shape, classes: classes)
        }
        if exists((path as NSString).appendingPathComponent("train1K.txt"), dir: false) {
            switch requested {
            case nil, "t10k", "test": split = "test100"
            case "train": split = "train1K"
            default: break
            }
        }
        let list = split.hasSuffix(".txt") ? split : split + ".txt"
        if exists((path as NSString).appendingPathComponent(list), dir: false) || exists((path as NSString).appendingPathComponent("train1K.txt"), dir: false) {
            let name = events.representation ?? (shape.channels == 2 ? "intensity"
                                                 : shape.channels % 2 == 0 ? "binary:\(shape.channels / 2)" : "intensity")
            let rep = try EventRepresentation(parsing: name, binMilliseconds: events.binMilliseconds, timesteps: events.timesteps)
            return try NMNISTSource(folder: path, split: split, representation: rep, expecting: shape)
        }
        if DetectionFolderSource.hasLabels(imageFolder: path) {
            return try DetectionFolderSource(imageFolder: path, expecting: shape, classes: classes)
        }
        return try ImageFolderSource(folder: path, expecting: shape)
    }
}

extension NMNISTSource {
    /// `timesteps` for the frames representation (one frame per timestep), else 1.
    public var framesPerSample: Int {
        if case .frames(_, let t) = representation { return t }
        return 1
    }
}
