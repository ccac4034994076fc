import Foundation
import SpikeAggregate
import SpikeCore
import SpikeData
import SpikeImport
import SpikeOptions
import SpikeTrain

/// One parser under fuzzing: it takes any bytes and must either accept them or throw a `SpikeError`; a crash,
/// a hang or a leak is a bug. The same entry runs under libFuzzer (`Launch/fuzz.sh`) and in the unit test that
/// replays the committed corpus and crash inputs (`Tests/Fuzz`).
public enum FuzzTarget: String, CaseIterable, Sendable {
    case onnx, darknetCfg = "darknet-cfg", darknetWeights = "darknet-weights", idx, nmnistEvents = "nmnist-events"
    case nmnistList = "nmnist-list", yoloLabels = "yolo-labels", jpeg, config, model, result, samples, nir, checkpoint

    /// What a parser made of an input.
    public enum Verdict: Equatable, Sendable, CustomStringConvertible {
        case accepted
        /// One clear error (a `SpikeError`), the message.
        case refused(String)
        /// Any other error: a bug (errors must say what is wrong in the user's terms).
        case unexpected(String)

        public var description: String {
            switch self {
            case .accepted: "accepted"
            case .refused(let m): "refused: \(m)"
            case .unexpected(let m): "UNEXPECTED ERROR: \(m)"
            }
        }
    }

    /// Runs the parser on `bytes`.
    @discardableResult
    public func run(_ bytes: Data) -> Verdict {
        do { try parse(bytes); return .accepted } catch let e as SpikeError { return .refused(e.message) } catch { return .unexpected("\(error)") }
    }

    /// The file name the parser's errors start with (the scratch files are named by path).
    public var fileInErrors: String {
        switch self {
        case .nmnistList: "list.txt"
        case .config: "c.yaml"
        case .model: "m."
        case .result: "r.json"
        case .samples: "s.jsonl"
        case .checkpoint: "t.checkpoint"
        default: "fuzz."
        }
    }

    func parse(_ d: Data) throws {
        switch self {
        case .onnx: _ = try ONNXImporter.load(data: d, name: "fuzz.onnx")
        case .darknetCfg: _ = try DarknetImporter.build(config: DarknetConfig(bytes: [UInt8](d), file: "fuzz.cfg"), weights: nil)
        case .darknetWeights: try Self.darknetWeights(d)
        case .idx: try Self.idx(d)
        case .nmnistEvents: try Self.events(d)
        case .nmnistList: _ = try NMNISTSplit(folder: try FuzzScratch.write(d, as: "list.txt"), list: "list.txt")
        case .yoloLabels: _ = try YOLOLabels.parse(String(decoding: d, as: UTF8.self), name: "fuzz.txt", classes: 80)
        case .jpeg: try Self.jpeg(d)
        case .config: _ = try ConfigFile(path: try FuzzScratch.write(d, as: "c.yaml") + "/c.yaml")
        case .model: try Self.model(d)
        case .nir:
            // The HDF5 layer, the NIR layout and the mapping onto the engine's network (every convention's checks).
            let g = try NIRFile.read(bytes: [UInt8](d), label: "fuzz.nir")
            _ = try NIRImporter.importGraph(g, name: "fuzz", dt: 1e-3, convention: .norse, file: "fuzz.nir")
        case .result: _ = try ResultFile.load(try FuzzScratch.write(d, as: "r.json") + "/r.json")
        case .samples: _ = try ResultWriter.readSamplesFile(try FuzzScratch.write(d, as: "s.jsonl") + "/s.jsonl")
        case .checkpoint: try Self.checkpoint(d)
        }
    }

    /// The training run the checkpoint seeds come from (Tests/Fuzz/make_corpus.sh runs it with the same options):
    /// `train --data ../shared/data/mnist --train-limit 64 --architecture ap4-2c3s2-8fc --timesteps 2 --epochs 2
    /// --batch-size 16 --chunk-size 8` (tdBN, LIF, Adam), so that a seed passes the identity check and reaches
    /// every size check of the restore.
    public static let checkpointConfig: TrainConfig = {
        var c = TrainConfig()
        c.architecture = "ap4-2c3s2-8fc"; c.timesteps = 2; c.epochs = 2; c.batchSize = 16; c.chunkSize = 8
        return c
    }()
    public static let checkpointData = "../shared/data/mnist", checkpointSamples = 64

    /// A training checkpoint: read, then restored into the trainer of the run it belongs to.
    static func checkpoint(_ d: Data) throws {
        let path = try FuzzScratch.write(d, as: "t.checkpoint") + "/t.checkpoint"
        let c = try Checkpoint.read(path)
        let trainer = try Trainer(config: checkpointConfig, inputShape: Shape(28, 28, 1), transport: nil)
        try c.restore(into: trainer, identity: Checkpoint.identity(checkpointConfig, data: checkpointData, trainSamples: checkpointSamples),
                      path: path)
    }

    /// A small cfg whose layers read every kind of weight (biases, batch norm, convolution), then the weights.
    static let weightsCfg = """
        [net]
        width=8
        height=8
        channels=3
        [convolutional]
        batch_normalize=1
        filters=4
        size=3
        pad=1
        activation=leaky
        [convolutional]
        filters=2
        size=1
        activation=linear
        """

    static func darknetWeights(_ d: Data) throws {
        let w = try DarknetWeights(bytes: [UInt8](d), file: "fuzz.weights")
        _ = try DarknetImporter.build(config: DarknetConfig(text: weightsCfg, file: "fuzz.cfg"), weights: w)
    }

    /// Plain or gzipped IDX of rank 3 (images) and 1 (labels).
    static func idx(_ d: Data) throws {
        let plain = Gzip.isGzip(d) ? try Gzip.decompress(d, path: "fuzz.idx") : d
        _ = try? IDXDataset.parse(plain, path: "fuzz.idx", expectedRank: 1)
        _ = try IDXDataset.parse(plain, path: "fuzz.idx", expectedRank: 3)
    }

    /// The events, then every representation the data source can make of them.
    static func events(_ d: Data) throws {
        let events = try NMNIST.readEvents(data: d, name: "fuzz.bs2")
        for r in ["frames", "binary:2", "intensity"] {
            _ = try EventRepresentation(parsing: r, binMilliseconds: 10, timesteps: 8).encode(events)
        }
    }

    /// A decoded JPEG letterboxed as Darknet does, to a square and to a wide input.
    static func jpeg(_ d: Data) throws {
        let image = try JPEG.decode(data: d, name: "fuzz.jpg")
        _ = Letterbox.darknet(image, width: 32, height: 32)
        _ = Letterbox.darknet(image, width: 48, height: 16)
    }

    /// A native model: the JSON, a NUL byte, then the weights (`weightsFile` should be `m.bin`).
    static func model(_ d: Data) throws {
        let cut = d.firstIndex(of: 0) ?? d.endIndex
        let dir = try FuzzScratch.write(d[d.startIndex..<cut], as: "m.json")
        _ = try FuzzScratch.write(cut < d.endIndex ? d[(cut + 1)...] : Data(), as: "m.bin")
        _ = try ModelFile.read(dir + "/m.json")
    }
}

/// A private folder for the parsers that read files (in /dev/shm where it exists, so no disk is touched).
enum FuzzScratch {
    static let dir: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let d = "\(base)/spikescale-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    /// Writes `data` to `name` in the folder and returns the folder.
    static func write(_ data: Data, as name: String) throws -> String {
        try data.write(to: URL(fileURLWithPath: "\(dir)/\(name)"))
        return dir
    }
}
