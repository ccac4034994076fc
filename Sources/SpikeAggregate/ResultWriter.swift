import Foundation
import SpikeCore
import SpikeEngine

/// Writes a run's files on rank 0: one JSON line per finished sample, appended and flushed as it
/// finishes (a killed job keeps them), and the result JSON at the end, written atomically.
public final class ResultWriter {
    public let jsonPath: String
    public let samplesPath: String
    let handle: FileHandle
    /// Records already in the samples file (on resume).
    private var lastSync = -Double.infinity
    public private(set) var previous: [SampleRecord] = []

    public init(jsonPath: String, resume: Bool, overwrite: Bool) throws {
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
                previous = try ResultWriter.readSamples(samplesPath)
            } else if !overwrite {
                throw SpikeError("\(samplesPath) already exists: pass --resume to continue that run or --overwrite to replace it")
            } else {
                try? fm.removeItem(atPath: samplesPath)
            }
        }
        if !fm.fileExists(atPath: samplesPath) { fm.createFile(atPath: samplesPath, contents: nil) }
        guard let h = FileHandle(forWritingAtPath: samplesPath) else { throw SpikeError("\(samplesPath): cannot open for writing") }
        handle = h
        handle.seekToEndOfFile()
    }

    /// Reads the complete lines of a samples file; a torn last line (killed mid-write) is dropped.
    public static func readSamples(_ path: String) throws -> [SampleRecord] {
        guard let d = FileManager.default.contents(atPath: path) else { throw SpikeError("\(path): cannot read") }
        var out = [SampleRecord]()
        let lines = d.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        for (n, line) in lines.enumerated() {
            do { out.append(try JSONDecoder().decode(SampleRecord.self, from: Data(line))) } catch {
                if n == lines.count - 1 && d.last != UInt8(ascii: "\n") { break }
                throw SpikeError("\(path): line \(n + 1) is not a sample record: \(error)")
            }
        }
        return out
    }

    public func append(_ r: SampleRecord) throws {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        var d = try enc.encode(r)
        d.append(UInt8(ascii: "\n"))
        // Each line reaches the file at once (a killed process loses nothing); it is forced to the disk at
        // most once a second, so a node crash loses at most the last second's samples.
        do {
            try handle.write(contentsOf: d)
            let now = monotonicSeconds()
            if now - lastSync >= 1 { try handle.synchronize(); lastSync = now }
        } catch {
            throw SpikeError("\(samplesPath): cannot append sample \(r.sample): \(error.localizedDescription)")
        }
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
