import Foundation
import SpikeConvert
import SpikeCore
import SpikeTrain

/// Reading any result file spikescale writes. Every file carries `tool`, `kind` and `version`:
///
/// | kind         | written by                 | type               |
/// |--------------|----------------------------|--------------------|
/// | `run`        | `simulate --json`          | `RunResult`        |
/// | `sweep`      | `sweep`                    | `SweepResult`      |
/// | `ann`        | `evaluate --json`          | `ANNResult`        |
/// | `conversion` | `convert` (OUT.report.json)| `ConversionReport` |
/// | `training`   | `train --json`             | `TrainingResult`   |
///
/// Run results and conversion reports written before they had a `kind` are recognised by their keys.
public enum ResultFile {
    /// The format version this build writes and reads. A file with a larger one is refused.
    public static let version = 1

    public enum Content: Sendable {
        case run(RunResult)
        case sweep(SweepResult)
        case ann(ANNResult)
        case conversion(ConversionReport)
        case training(TrainingResult)

        /// The file's `kind`.
        public var kind: Kind {
            switch self {
            case .run: return .run
            case .sweep: return .sweep
            case .ann: return .ann
            case .conversion: return .conversion
            case .training: return .training
            }
        }
    }

    public enum Kind: String, Sendable, CaseIterable {
        case run, sweep, ann, conversion, training

        /// How messages name a file of this kind.
        public var description: String {
            switch self {
            case .run: return "run result"
            case .sweep: return "sweep"
            case .ann: return "ANN result"
            case .conversion: return "conversion report"
            case .training: return "training result"
            }
        }
    }

    /// Reads and decodes the result file at `path`. Errors name the path and what is wrong.
    public static func load(_ path: String) throws -> Content {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw SpikeError("\(path): no such file") }
        if isDir.boolValue { throw SpikeError("\(path): is a directory, not a result file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): cannot read the file") }
        do { return try decode(data) } catch let e as SpikeError { throw SpikeError("\(path): \(e.message)") }
    }

    /// Decodes a result file's bytes; errors say what is wrong without a path.
    public static func decode(_ data: Data) throws -> Content {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw SpikeError("not JSON (\(data.isEmpty ? "empty file" : "parse error"))")
        }
        guard let dict = object as? [String: Any] else { throw SpikeError("not a JSON object, so not a known kind of result file") }
        let kind = try self.kind(of: dict)
        let version = (dict["version"] ?? dict["resultVersion"]) as? Int ?? 1
        if version > self.version {
            throw SpikeError("a \(kind.description) of format version \(version): this build reads version \(self.version) and older (a newer spikescale wrote it)")
        }
        let dec = JSONDecoder()
        do {
            switch kind {
            case .run: return .run(try dec.decode(RunResult.self, from: data))
            case .sweep: return .sweep(try dec.decode(SweepResult.self, from: data))
            case .ann: return .ann(try dec.decode(ANNResult.self, from: data))
            case .conversion: return .conversion(try dec.decode(ConversionReport.self, from: data))
            case .training: return .training(try dec.decode(TrainingResult.self, from: data))
            }
        } catch let e as DecodingError {
            throw SpikeError("looks like a \(kind.description) but \(describe(e))")
        }
    }

    /// The `kind` field, or for files from before it existed, the kind their keys say.
    static func kind(of dict: [String: Any]) throws -> Kind {
        if let value = dict["kind"] {
            guard let name = value as? String, let kind = Kind(rawValue: name) else {
                let known = Kind.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
                throw SpikeError("unknown kind \(value is String ? "\"\(value)\"" : "\(value)") (known: \(known))")
            }
            return kind
        }
        if dict["calibrationSamples"] != nil || (dict["statistic"] != nil && dict["replacements"] != nil) { return .conversion }
        if dict["resultVersion"] != nil || (dict["layers"] != nil && (dict["synapticOps"] != nil || dict["timesteps"] != nil)) { return .run }
        throw SpikeError("not a known kind of result file (no \"kind\" field, and the keys are neither a run result's nor a conversion report's)")
    }

    /// A decoding error as a sentence that names the field.
    public static func describe(_ e: DecodingError) -> String {
        func path(_ c: [any CodingKey]) -> String {
            var s = ""
            for k in c { if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue } }
            return s.isEmpty ? "(top level)" : s
        }
        switch e {
        case let .keyNotFound(k, ctx): return "field '\(path(ctx.codingPath + [k]))' is missing"
        case let .valueNotFound(t, ctx): return "field '\(path(ctx.codingPath))' is null (expected \(t))"
        case let .typeMismatch(t, ctx): return "field '\(path(ctx.codingPath))' has the wrong type (expected \(t))"
        case let .dataCorrupted(ctx): return "field '\(path(ctx.codingPath))' is invalid: \(ctx.debugDescription)"
        @unknown default: return "cannot be decoded: \(e)"
        }
    }
}

extension ResultFile.Content {
    /// The run result, or an error that names the path and what the file is instead.
    public func runResult(path: String) throws -> RunResult {
        if case .run(let r) = self { return r }
        throw SpikeError("\(path): is a \(kind.description), not a run result (`simulate --json`)")
    }
}
