import Foundation
import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData
import SpikeImport

extension ANNSource {
    static func loadImported(_ path: String, ext: String, weights: String?) throws -> ImportedModel {
        switch ext {
        case "onnx":
            return try ONNXImporter.load(path: path)
        case "cfg":
            let w = weights ?? ((path as NSString).deletingPathExtension + ".weights")
            return try DarknetImporter.load(cfg: path, weights: w)
        default:
            throw SpikeError("\(path): unknown model type '.\(ext)'; expected .onnx, .cfg (Darknet) or .json (SpikeScale)")
        }
    }
}
