import Foundation

/// Runs the real `spikescale` binary under `mpiexec -n K`, as users do.
public enum MPIHarness {
    /// The built binary beside this test bundle (debug or release, whichever `swift test` built).
    public static let binary: String = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let p = dir.appendingPathComponent("spikescale").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
            dir.deleteLastPathComponent()
        }
        for c in ["release", "debug"] {
            let p = TestPaths.packageRoot.appendingPathComponent(".build/\(c)/spikescale").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return "spikescale-not-built"
    }()

    public static let mpiexec: String = {
        for p in ["/usr/bin/mpiexec.mpich", "/usr/bin/mpiexec", "/usr/local/bin/mpiexec"] where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        return "mpiexec"
    }()

    /// Runs `spikescale ARGS` on `ranks` ranks with a hard time limit in seconds (a hang fails the test:
    /// `timeout` ends it with status 124, or 137 after a further 5 s).
    public static func run(ranks: Int, _ args: [String], timeout: Int = 300) throws -> Command.Outcome {
        let vcis = ProcessInfo.processInfo.environment["MPIR_CVAR_CH4_NUM_VCIS"] ?? "1"
        return try Command.run(["timeout", "-k", "5", "\(timeout)", mpiexec, "-n", "\(ranks)", binary] + args,
                               environment: ["MPIR_CVAR_CH4_NUM_VCIS": vcis], timeout: Double(timeout + 30))
    }

    /// Starts `spikescale ARGS` on `ranks` ranks and returns at once (for tests that interfere with a running
    /// job); its standard error goes to `log`. The same time limit as `run` applies.
    public static func start(ranks: Int, _ args: [String], log: String, timeout: Int = 120) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["timeout", "-k", "5", "\(timeout)", mpiexec, "-n", "\(ranks)", binary] + args
        p.environment = Command.childEnvironment().merging(["MPIR_CVAR_CH4_NUM_VCIS": "1"]) { a, _ in a }
        FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle(forWritingAtPath: log)
        try p.run()
        return p
    }

    /// The process ids of the `spikescale` rank processes whose command line contains `marker` (the
    /// launcher, mpiexec and its proxies not included).
    public static func rankPIDs(marker: String) throws -> [Int32] {
        let r = try Command.run(["pgrep", "-f", "^" + binary + " .*" + marker])
        return r.stdout.split(separator: "\n").compactMap { Int32($0) }
    }

    /// Every process (launcher, mpiexec, proxies, ranks) whose command line contains `marker`, but pgrep itself.
    public static func jobPIDs(marker: String) throws -> [Int32] {
        try Command.run(["pgrep", "-f", marker]).stdout.split(separator: "\n").compactMap { Int32($0) }
    }
}
