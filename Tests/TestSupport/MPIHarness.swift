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
                               environment: ["MPIR_CVAR_CH4_NUM_VCIS": vcis])
    }
}
