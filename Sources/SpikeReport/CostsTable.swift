import Foundation
import SpikeAggregate
import SpikeCore

/// The Deng et al.-style table of `spikescale costs` (their Tables 4-6): accuracy beside memory
/// (eq. 8) and compute (eq. 9) per sample, one row per ANN result or run result, as Markdown.
public enum CostsTable {
    /// One row: a labelled result, or a model not yet available (shown as a row of dashes).
    public struct Row: Sendable {
        public var label: String
        /// The file it was read from (for messages); nil for a placeholder row.
        public var path: String?
        /// nil: a placeholder row ("–" in every column).
        public var result: ResultFile.Content?

        public init(label: String, path: String? = nil, result: ResultFile.Content?) {
            self.label = label; self.path = path; self.result = result
        }

        /// Parses LABEL=FILE and reads FILE with `ResultFile.load`; FILE '-' is a placeholder row.
        public init(parsing spec: String) throws {
            guard let eq = spec.firstIndex(of: "=") else { throw SpikeError("'\(spec)': expected LABEL=FILE") }
            let label = String(spec[..<eq]), path = String(spec[spec.index(after: eq)...])
            if path == "-" { self.init(label: label, result: nil); return }
            self.init(label: label, path: path, result: try ResultFile.load(path))
        }
    }

    /// The Markdown table with a trailing newline. Energy is that of `energyPreset` (NaN if a file lacks
    /// it). Throws for an incomplete run or a file that is neither an ANN result nor a run result.
    public static func render(rows: [Row], energyPreset: String) throws -> String {
        var lines = ["| Model | Input | T | Accuracy | Memory (MB) | Multiplies / sample | Additions / sample | Energy / sample (µJ, \(energyPreset)) |",
                     "|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in rows { lines.append(try line(row, energyPreset: energyPreset)) }
        return lines.joined(separator: "\n") + "\n"
    }

    static func line(_ row: Row, energyPreset: String) throws -> String {
        let path = row.path ?? row.label
        func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
        func g(_ v: Double) -> String { v == 0 ? "0" : String(format: "%.4g", v) }
        func mb(_ bits: Double) -> String { String(format: "%.3f", bits / 8e6) }
        func uj(_ joules: Double) -> String { String(format: "%.3f", joules * 1e6) }
        func accuracy(_ top1: Double?, _ d: RunResult.DetectionSummary?, samples: Int) -> String {
            (top1.map { pct($0) } ?? d?.map50.map { String(format: "mAP %.4f", $0) } ?? "–") + " (\(samples))"
        }
        switch row.result {
        case nil:
            return "| \(row.label) | – | – | – | – | – | – | – |"
        case .ann(let a)?:
            let e = a.energy.first { $0.preset == energyPreset }?.annJoules ?? .nan
            return "| \(row.label) | image (ANN) | – | \(accuracy(a.top1, a.detection, samples: a.samples)) | \(mb(Double(a.memory.annBits))) | \(g(a.compute.multiplies)) | \(g(a.compute.additions)) | \(uj(e)) |"
        case .run(let r)?:
            guard r.complete else { throw SpikeError("\(path): the run is incomplete (\(r.samples) samples)") }
            let e = r.energyPresets.first { $0.preset == energyPreset }?.snnJoules ?? .nan
            return "| \(row.label) | \(r.encoder) | \(r.timesteps) | \(accuracy(r.top1, r.detection, samples: r.samples)) | \(mb(Double(r.memory.snnBits))) | \(g(r.compute.snn.multiplies)) | \(g(r.compute.snn.additions)) | \(uj(e)) |"
        case let other?:
            throw SpikeError("\(path): neither an ANN result nor a simulation result (it is a \(other.kind.description))")
        }
    }
}
