import Foundation
import SpikeCore
import SpikeEngine
import SpikeMetrics

/// Writes a run's files on rank 0: one JSON line per finished sample, appended and flushed as it
/// finishes (a killed job keeps them), and the result JSON at the end, written atomically.
public final class ResultWriter {
    public let jsonPath: String
    public let samplesPath: String
    let handle: FileHandle
    /// Records already in the samples file (on resume).
    private var lastSync = -Double.infinity
    public private(set) var previous: [SampleRecord] = []

    /// Opens the samples file of a run of `identity`: a new one starts with it as its header; a resumed one
    /// must have been written by the same run (else the error names the field that differs).
    public init(jsonPath: String, identity: RunIdentity, resume: Bool, overwrite: Bool) throws {
        self.jsonPath = jsonPath
        samplesPath = jsonPath + ".samples.jsonl"
        let fm = FileManager.default
        let dir = (jsonPath as NSString).deletingLastPathComponent
        if !dir.isEmpty && !fm.fileExists(atPath: dir) {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw SpikeError("\(dir): cannot create the output folder: \(error.localizedDescription)")
            }
        }
        if fm.fileExists(atPath: samplesPath) {
            if resume {
                let (header, records) = try ResultWriter.readSamplesFile(samplesPath)
                try Self.checkResume(header, identity, path: samplesPath)
                previous = records
                try Self.dropPartialLastLine(samplesPath)
            } else if !overwrite {
                throw SpikeError("\(samplesPath) already exists: pass --resume to continue that run or --overwrite to replace it")
            } else {
                try? fm.removeItem(atPath: samplesPath)
            }
        }
        let fresh = !fm.fileExists(atPath: samplesPath)
        let fd = open(samplesPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw SpikeError("\(samplesPath): cannot open for writing: \(String(cString: strerror(errno)))") }
        handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        if fresh { try writeLine(SamplesHeader(run: identity), what: "the run header") }
    }

    /// Cuts a last line left unfinished by a killed run (the reader ignores it), so that appending starts a new line.
    static func dropPartialLastLine(_ path: String) throws {
        guard let d = FileManager.default.contents(atPath: path), let last = d.last, last != UInt8(ascii: "\n") else { return }
        let keep = (d.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) - d.startIndex
        guard truncate(path, off_t(keep)) == 0 else {
            throw SpikeError("\(path): cannot cut its unfinished last line: \(String(cString: strerror(errno)))")
        }
    }

    /// Refuses to resume a samples file written by another run (a file without a header predates them).
    static func checkResume(_ header: RunIdentity?, _ identity: RunIdentity, path: String) throws {
        let d = header?.differences(from: identity, this: "in the samples file", other: "in this run") ?? []
        guard d.isEmpty else { throw SpikeError("\(path): cannot resume another run: \(d.joined(separator: "; ")) (pass --overwrite to start again)") }
    }

    /// Reads the complete lines of a samples file; a torn last line (killed mid-write) is dropped.
    public static func readSamples(_ path: String) throws -> [SampleRecord] { try readSamplesFile(path).records }

    /// The run header (nil in files that predate it) and the sample records; a torn last line is dropped.
    public static func readSamplesFile(_ path: String) throws -> (header: RunIdentity?, records: [SampleRecord]) {
        guard let d = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): cannot read") }
        var out = [SampleRecord]()
        var header: RunIdentity?
        let lines = d.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (n, line) in lines.enumerated() {
            if n == 0, let h = try? JSONDecoder().decode(SamplesHeader.self, from: Data(line)) { header = h.run; continue }
            do { out.append(try JSONDecoder().decode(SampleRecord.self, from: Data(line))) } catch {
                if n == lines.count - 1 && d.last != UInt8(ascii: "\n") { break }
                throw SpikeError("\(path): line \(n + 1) is not a sample record: \(error)")
            }
        }
        return (header, out)
    }

    public func append(_ r: SampleRecord) throws {
        // Records with a non-finite number go through JSONEncoder, whose error is then the one reported.
        guard Self.writesByHand(r) else { return try writeLine(r, what: "sample \(r.sample)") }
        do {
            var buffer = Data()
            buffer.reserveCapacity(Self.flushBytes + 4096)
            try Self.writeRecord(r, into: &buffer) { try handle.write(contentsOf: $0) }
            buffer.append(UInt8(ascii: "\n"))
            try handle.write(contentsOf: buffer)
            try syncIfDue()
        } catch {
            throw SpikeError("\(samplesPath): cannot append sample \(r.sample): \(error.localizedDescription)")
        }
    }

    /// Bytes of formatted outputs buffered before they are written.
    static let flushBytes = 1 << 20

    /// True if `writeRecord` writes `r` exactly as `JSONEncoder` (sorted keys) would: every number finite (the
    /// encoder refuses others; that error is then its own).
    public static func writesByHand(_ r: SampleRecord) -> Bool {
        func finite(_ d: [Detection]?) -> Bool {
            (d ?? []).allSatisfy { [$0.score, $0.box.x, $0.box.y, $0.box.w, $0.box.h].allSatisfy(\.isFinite) }
        }
        return r.seconds.isFinite && r.outputs.allSatisfy { $0.allSatisfy(\.isFinite) }
            && finite(r.detections) && finite(r.annDetections) && (r.checkpointDetections ?? []).allSatisfy(finite)
    }

    /// A sample record as one JSON object with sorted keys, the bytes `JSONEncoder` gives (tested), written without
    /// it: per record, the encoder's tree of values costs more than the rank's share of a small network's work (the
    /// root writes every record), and for a detector's outputs (near a million values) tens of MB; yolo-fastest's
    /// 127,500 outputs took the root 37 ms a record through the encoder. The outputs are handed to `flush` in pieces
    /// of `flushBytes`.
    static func writeRecord(_ r: SampleRecord, into buffer: inout Data, flush: (Data) throws -> Void) throws {
        var first = true
        func key(_ k: String) {
            buffer.append(UInt8(ascii: first ? "{" : ",")); first = false
            buffer.append(UInt8(ascii: "\"")); buffer.append(contentsOf: k.utf8); buffer.append(contentsOf: Array("\":".utf8))
        }
        func int<I: BinaryInteger>(_ v: I) { buffer.append(contentsOf: String(v).utf8) }
        func ints<I: BinaryInteger>(_ a: [I]) {
            buffer.append(UInt8(ascii: "["))
            for (j, v) in a.enumerated() { if j > 0 { buffer.append(UInt8(ascii: ",")) }; int(v) }
            buffer.append(UInt8(ascii: "]"))
        }
        func intRows(_ a: [[Int64]]) {
            buffer.append(UInt8(ascii: "["))
            for (j, row) in a.enumerated() { if j > 0 { buffer.append(UInt8(ascii: ",")) }; ints(row) }
            buffer.append(UInt8(ascii: "]"))
        }
        func float(_ v: Float) { number(v.description, into: &buffer) }
        func text(_ t: String) { buffer.append(contentsOf: t.utf8) }
        // A detection's keys sorted as the encoder sorts them: box (h, w, x, y), classID, image, score.
        func detections(_ a: [Detection]) {
            buffer.append(UInt8(ascii: "["))
            for (j, d) in a.enumerated() {
                if j > 0 { buffer.append(UInt8(ascii: ",")) }
                text(#"{"box":{"h":"#); float(d.box.h); text(#","w":"#); float(d.box.w); text(#","x":"#); float(d.box.x)
                text(#","y":"#); float(d.box.y); text(#"},"classID":"#); int(d.classID); text(#","image":"#); int(d.image)
                text(#","score":"#); float(d.score); buffer.append(UInt8(ascii: "}"))
            }
            buffer.append(UInt8(ascii: "]"))
        }
        key("analogMacs"); int(r.analogMacs)
        if let v = r.annDetections { key("annDetections"); detections(v) }
        if let v = r.annPrediction { key("annPrediction"); int(v) }
        key("busiestStepSpikes"); int(r.busiestStepSpikes)
        if let v = r.checkpointCounters { key("checkpointCounters"); intRows(v) }
        if let v = r.checkpointDetections {
            key("checkpointDetections"); buffer.append(UInt8(ascii: "["))
            for (j, d) in v.enumerated() { if j > 0 { buffer.append(UInt8(ascii: ",")) }; detections(d) }
            buffer.append(UInt8(ascii: "]"))
        }
        if let v = r.checkpointPredictions { key("checkpointPredictions"); ints(v) }
        if let v = r.detections { key("detections"); detections(v) }
        if let v = r.label { key("label"); int(v) }
        key("layers"); intRows(r.layers)
        key("outputs"); try writeOutputs(r.outputs, into: &buffer, flush: flush)
        if let v = r.prediction { key("prediction"); int(v) }
        key("sample"); int(r.sample)
        key("seconds"); number(r.seconds.description, into: &buffer)
        key("spikes"); int(r.spikes)
        key("synapticOps"); int(r.synapticOps)
        buffer.append(UInt8(ascii: "}"))
    }

    /// A finite number's shortest round-trip decimal as `JSONEncoder` writes it (integral values without ".0").
    @inline(__always)
    static func number(_ description: String, into buffer: inout Data) {
        var text = description
        if text.hasSuffix(".0") { text.removeLast(2) }
        buffer.append(contentsOf: text.utf8)
    }

    /// Appends `outputs` as a JSON array of arrays to `buffer`, each value as its shortest round-trip decimal
    /// (integral values without ".0", as `JSONEncoder` writes them), handing `buffer` to `flush` (and emptying it)
    /// whenever it holds `flushBytes`.
    static func writeOutputs(_ outputs: [[Float]], into buffer: inout Data, flush: (Data) throws -> Void) throws {
        buffer.append(UInt8(ascii: "["))
        for (k, o) in outputs.enumerated() {
            if k > 0 { buffer.append(UInt8(ascii: ",")) }
            buffer.append(UInt8(ascii: "["))
            for (j, v) in o.enumerated() {
                if j > 0 { buffer.append(UInt8(ascii: ",")) }
                number(v.description, into: &buffer)
                if buffer.count >= flushBytes { try flush(buffer); buffer.removeAll(keepingCapacity: true) }
            }
            buffer.append(UInt8(ascii: "]"))
        }
        buffer.append(UInt8(ascii: "]"))
    }

    /// Appends `value` as one JSON line. Each line reaches the file at once (a killed process loses nothing; a
    /// sample record with large outputs is written in pieces of `flushBytes`, and a line a killed process left
    /// unfinished is ignored by the reader and cut on resume); it is forced to the disk at most once a second, so a
    /// node crash loses at most the last second's samples.
    func writeLine<T: Encodable>(_ value: T, what: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var d = try enc.encode(value)
        d.append(UInt8(ascii: "\n"))
        do {
            try handle.write(contentsOf: d)
            try syncIfDue()
        } catch {
            throw SpikeError("\(samplesPath): cannot append \(what): \(error.localizedDescription)")
        }
    }

    /// Forces the samples file to the disk at most once a second.
    func syncIfDue() throws {
        let now = monotonicSeconds()
        if now - lastSync >= 1 { try handle.synchronize(); lastSync = now }
    }

    public func finish(_ result: RunResult) throws {
        try? handle.synchronize()
        try? handle.close()
        do { try ResultFiles.writeJSON(result, to: jsonPath) } catch let e as SpikeError {
            throw SpikeError("\(e.message) (the per-sample lines are kept in \(samplesPath))")
        }
    }
}

/// A progress line with rate and ETA on standard error (rank 0 only). On a terminal it redraws
/// in place; otherwise it prints a line at most every 10 seconds.
public final class ProgressLine {
    let total: Int
    let enabled: Bool
    let start = Date()
    var last = Date.distantPast
    let tty = isatty(2) != 0
    var printed = false

    public init(total: Int, enabled: Bool) { self.total = total; self.enabled = enabled }

    public func update(done: Int, accuracy: Double?) {
        guard enabled else { return }
        let now = Date()
        let minGap: TimeInterval = tty ? 0.2 : 10
        guard now.timeIntervalSince(last) >= minGap || (done == total && printed) else { return }
        last = now
        let el = now.timeIntervalSince(start)
        let per = el / Double(max(done, 1))
        let eta = per * Double(total - done)
        var s = String(format: "[%d/%d] %.3f s/sample, elapsed %@, ETA %@", done, total, per, fmt(el), fmt(eta))
        if let a = accuracy { s += String(format: ", top-1 %.2f%%", a * 100) }
        FileHandle.standardError.write(((tty ? "\r\u{1B}[K" : "") + s + (tty ? "" : "\n")).data(using: .utf8)!)
        printed = true
    }

    public func finish() { if enabled && tty && printed { FileHandle.standardError.write("\n".data(using: .utf8)!) } }

    func fmt(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 3600 ? String(format: "%dh%02dm", t / 3600, (t % 3600) / 60) : String(format: "%dm%02ds", t / 60, t % 60)
    }
}

/// Writing result files whole: to a temporary name in the same folder, then renamed.
public enum ResultFiles {
    /// Writes `value` as pretty-printed JSON with sorted keys (the layout of every result file), whole.
    public static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try atomicWrite(try enc.encode(value), to: path)
    }

    public static func atomicWrite(_ d: Data, to path: String) throws {
        let fm = FileManager.default
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty && !fm.fileExists(atPath: dir) {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) } catch {
                throw SpikeError("\(dir): cannot create the output folder: \(error.localizedDescription)")
            }
        }
        let tmp = path + ".partial"
        do {
            try d.write(to: URL(fileURLWithPath: tmp))
            if fm.fileExists(atPath: path) { try fm.removeItem(atPath: path) }
            try fm.moveItem(atPath: tmp, toPath: path)
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw SpikeError("\(path): cannot write: \(error.localizedDescription)")
        }
    }
}
