import Foundation
import SpikeCore

/// Writes a report as files.
public enum ReportWriter {
    /// Writes every figure to DIR/NAME.svg and DIR/report.html. Everything is staged in a hidden
    /// directory first and moved into place at the end, report.html last, so a failure leaves no
    /// new report.html behind.
    public static func write(_ report: HTMLReport, to dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
            throw SpikeError("exists and is not a directory")
        }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let staging = (dir as NSString).appendingPathComponent(".report-staging-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        defer { try? fm.removeItem(atPath: staging) }
        var names = [String]()
        for f in report.figures {
            let name = f.name + ".svg"
            try Data(f.svg.utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent(name)))
            names.append(name)
        }
        try Data(report.render().utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent("report.html")))
        // An old report.html would describe other figures: take it away before replacing them.
        let html = (dir as NSString).appendingPathComponent("report.html")
        if fm.fileExists(atPath: html) { try fm.removeItem(atPath: html) }
        for name in names + ["report.html"] {
            let dst = (dir as NSString).appendingPathComponent(name)
            let src = (staging as NSString).appendingPathComponent(name)
            if rename(src, dst) != 0 { throw SpikeError("cannot move \(name) into place: \(String(cString: strerror(errno)))") }
        }
    }
}
