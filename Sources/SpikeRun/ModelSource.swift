import SpikeConvert
import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData

/// Loads a model argument: a native model file, `zoo:NAME` for a seeded zoo network scaled to
/// fire at about `targetRate` on synthetic calibration images, or an ANN (.onnx, .cfg) as imported.
public enum ModelSource {
    public static func load(_ spec: String, seed: UInt64 = 1, targetRate: Float = 0.1, inputSize: Int? = nil) throws -> Network {
        if spec.hasPrefix("zoo:") {
            return try zoo(String(spec.dropFirst(4)), seed: seed, targetRate: targetRate, inputSize: inputSize)
        }
        if spec.hasSuffix(".onnx") || spec.hasSuffix(".cfg") { return try ANNSource.load(spec).network }
        return try ModelFile.read(spec)
    }

    public static func zoo(_ name: String, seed: UInt64, targetRate: Float, inputSize: Int? = nil, calibrationSamples: Int = 2) throws -> Network {
        let raw = try ModelZoo.build(name, seed: seed, inputSize: inputSize)
        let src = SyntheticSource(shape: raw.inputShape, seed: seed &+ 1000, count: calibrationSamples)
        let samples = try (0..<calibrationSamples).map { try src.sample($0).input }
        return try RateCalibration.scaleToRate(raw, samples: samples, targetRate: targetRate)
    }
}
