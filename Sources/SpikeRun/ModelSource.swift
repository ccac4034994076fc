import Foundation
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeImport

/// What a model argument names, decided once: `zoo:NAME`, an ONNX file, a Darknet `.cfg` (weights beside
/// it), or a native SpikeScale model (`.json` + `.bin`). Extensions are compared case-insensitively.
public enum ModelSpec: Equatable, Sendable {
    case zoo(String)
    case onnx(String)
    case darknet(String)
    case native(String)
    /// A NIR graph (HDF5), imported with a dt and a library's discretisation.
    case nir(String)

    public init(_ spec: String) {
        if spec.hasPrefix("zoo:") { self = .zoo(String(spec.dropFirst(4))); return }
        switch (spec as NSString).pathExtension.lowercased() {
        case "onnx": self = .onnx(spec)
        case "cfg": self = .darknet(spec)
        case "nir": self = .nir(spec)
        default: self = .native(spec)
        }
    }

    /// A trained ANN that conversion turns into an SNN.
    public var isANN: Bool {
        switch self { case .onnx, .darknet: true; case .zoo, .native, .nir: false }
    }
}

/// Loads a trained ANN for conversion: ONNX, Darknet (`.cfg` with the `.weights` beside it or given), or a
/// native model taken as an ANN graph.
public enum ANNSource {
    public static func load(_ path: String, weights: String? = nil) throws -> ImportedModel {
        switch ModelSpec(path) {
        case .onnx: return try ONNXImporter.load(path: path)
        case .darknet: return try DarknetImporter.load(cfg: path, weights: weights ?? ((path as NSString).deletingPathExtension + ".weights"))
        case .zoo(let name): throw SpikeError("\(path): zoo network '\(name)' has no trained ANN to convert; write it with `spikescale zoo`")
        case .nir: throw SpikeError("\(path): a NIR graph is a spiking network, not an ANN to convert; simulate it or import it with `spikescale import-nir`")
        case .native:
            let ext = (path as NSString).pathExtension.lowercased()
            guard ext == "json" else { throw SpikeError("\(path): unknown model type '.\(ext)'; expected .onnx, .cfg (Darknet) or .json (SpikeScale)") }
            let n = try ModelFile.read(path)
            return ImportedModel(network: n, heads: n.heads, source: path)
        }
    }
}

/// Loads a model argument as a network: a native model, `zoo:NAME` (a seeded zoo network scaled to fire
/// at about `targetRate` on synthetic calibration images), or an ANN (.onnx, .cfg) as imported.
public enum ModelSource {
    public static func load(_ spec: String, seed: UInt64 = 1, targetRate: Float = 0.1, inputSize: Int? = nil,
                            dt: Double? = nil, convention: NIRConvention = .snntorch) throws -> Network {
        switch ModelSpec(spec) {
        case .nir(let path):
            guard let dt else { throw SpikeError("\(path): a NIR model needs --dt SECONDS (NIR is continuous-time and stores no timestep)") }
            return try NIRImporter.load(path: path, dt: dt, convention: convention).network
        case .zoo(let name): return try zoo(name, seed: seed, targetRate: targetRate, inputSize: inputSize)
        case .onnx, .darknet: return try ANNSource.load(spec).network
        case .native: return try ModelFile.read(spec)
        }
    }

    public static func zoo(_ name: String, seed: UInt64, targetRate: Float, inputSize: Int? = nil, calibrationSamples: Int = 2) throws -> Network {
        let raw = try ModelZoo.build(name, seed: seed, inputSize: inputSize)
        let src = SyntheticSource(shape: raw.inputShape, seed: seed &+ 1000, count: calibrationSamples)
        let samples = try (0..<calibrationSamples).map { try src.sample($0).input }
        return try RateCalibration.scaleToRate(raw, samples: samples, targetRate: targetRate)
    }
}
