import Foundation
import SpikeAggregate
import SpikeCore
import SpikeMetrics
import SpikeData
import SpikeImport

/// Loads a trained ANN for conversion: ONNX (`.onnx`), Darknet (`.cfg` with the `.weights` beside it
/// or given), or a native model (`.json`) taken as an ANN graph.
public enum ANNSource {
    public static func load(_ path: String, weights: String? = nil) throws -> ImportedModel {
        let ext = (path as NSString).pathExtension.lowercased()
        switch ext {
        case "json":
            let n = try ModelFile.read(path)
            return ImportedModel(network: n, heads: n.heads, source: path)
        default:
            return try loadImported(path, ext: ext, weights: weights)
        }
    }
}
