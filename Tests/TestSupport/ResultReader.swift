import Foundation
import SpikeAggregate
import SpikeConvert

/// Reads the files a run writes into the records that wrote them (strictly: a torn or foreign line
/// is an error here, unlike `ResultWriter.readSamples`, which drops a torn last line on resume).
public enum ResultReader {
    /// Decodes the JSON file at `path` as `T`.
    public static func decode<T: Decodable>(_ type: T.Type, _ path: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The result of `simulate --json PATH`.
    public static func run(_ path: String) throws -> RunResult { try decode(RunResult.self, path) }

    /// The per-sample records of `simulate --json PATH` (PATH.samples.jsonl), one per line after the run header.
    public static func samples(_ path: String) throws -> [SampleRecord] { try samplesFile(path + ".samples.jsonl") }

    /// The sample records of a samples file (its header line left out).
    public static func samplesFile(_ path: String) throws -> [SampleRecord] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return try text.split(separator: "\n").filter { !$0.hasPrefix("{\"run\":") }.map { try JSONDecoder().decode(SampleRecord.self, from: Data($0.utf8)) }
    }

    /// The table of `sweep --output DIR` (DIR/sweep.json).
    public static func sweep(_ path: String) throws -> SweepResult { try decode(SweepResult.self, path) }

    /// The conversion report written beside a converted model (NAME.report.json).
    public static func conversionReport(_ path: String) throws -> ConversionReport { try decode(ConversionReport.self, path) }
}

/// Bit patterns, so that comparisons are exact (and NaN-safe).
public func bits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }
public func bits(_ a: [[Float]]) -> [[UInt32]] { a.map(bits) }
public func bits(_ a: [Double]) -> [UInt64] { a.map(\.bitPattern) }
