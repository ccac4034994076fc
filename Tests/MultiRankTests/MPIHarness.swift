import Foundation
import Testing

/// Runs the real `spikescale` binary under `mpiexec -n K`, as users do.
enum MPIHarness {
    /// The package root (two levels above this file's folder).
    static let root: URL = {
        var u = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { u.deleteLastPathComponent() }
        return u
    }()

    static let sharedData = root.deletingLastPathComponent().appendingPathComponent("shared/data").path

    /// The built binary beside this test bundle (debug or release, whichever `swift test` built).
    static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let p = dir.appendingPathComponent("spikescale").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            dir.deleteLastPathComponent()
        }
        for c in ["release", "debug"] {
            let p = root.appendingPathComponent(".build/\(c)/spikescale").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "spikescale-not-built"
    }()

    static let mpiexec: String = {
        for p in ["/usr/bin/mpiexec.mpich", "/usr/bin/mpiexec", "/usr/local/bin/mpiexec"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return "mpiexec"
    }()

    struct Outcome { var status: Int32; var stdout: String; var stderr: String; var seconds: Double }

    /// Runs `spikescale ARGS` on `ranks` ranks with a hard time limit (a hang fails the test).
    static func run(ranks: Int, _ args: [String], timeout: Int = 300) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
        p.arguments = ["-k", "5", "\(timeout)", mpiexec, "-n", "\(ranks)", binary] + args
        var env = ProcessInfo.processInfo.environment
        env["MPIR_CVAR_CH4_NUM_VCIS"] = env["MPIR_CVAR_CH4_NUM_VCIS"] ?? "1"
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let start = Date()
        try p.run()
        // Read both pipes concurrently so a chatty child never blocks.
        final class Buf: @unchecked Sendable { var data = Data() }
        let eb = Buf()
        let t = Thread { eb.data = err.fileHandleForReading.readDataToEndOfFile() }
        t.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while t.isExecuting || !t.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                       stderr: String(decoding: eb.data, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    static func tempDir() -> String {
        let d = NSTemporaryDirectory() + "spikescale-mpi-\(UInt32.random(in: 0...UInt32.max))"
        try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }

    static func json(_ path: String) throws -> [String: Any] {
        let d = try Data(contentsOf: URL(fileURLWithPath: path))
        return try JSONSerialization.jsonObject(with: d) as! [String: Any]
    }

    /// Per-sample records of a run (one JSON object per line).
    static func samples(_ path: String) throws -> [[String: Any]] {
        let text = try String(contentsOfFile: path + ".samples.jsonl", encoding: .utf8)
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }
}
