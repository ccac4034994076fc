import Foundation

/// Running a child process and collecting what it printed.
public enum Command {
    /// How a child process ended.
    public struct Outcome: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var seconds: Double
    }

    /// The longest any child process of a test may run, in seconds, unless the caller says otherwise.
    public static let defaultTimeout: Double = 900

    /// The environment every child of a test starts from: ours, plus `UCX_TLS=self,sm` unless it is set. MPICH's
    /// UCX enumerates the network devices when a rank starts and fails (`init_worker No such device`) if one
    /// disappears meanwhile, and the cluster tests add and remove hosts, veths and a bridge while other tests
    /// run one-host jobs. One-host jobs need shared memory only; cluster jobs pass `UCX_TLS=tcp` themselves.
    public static func childEnvironment(_ extra: [String: String] = [:]) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        if env["UCX_TLS"] == nil { env["UCX_TLS"] = "self,sm" }
        return env.merging(extra) { _, new in new }
    }

    /// Runs `arguments` (the first is looked up on PATH by /usr/bin/env) and waits for it; both pipes
    /// are read concurrently so a chatty child never blocks. `environment` entries are added to
    /// `childEnvironment()`.
    ///
    /// Nothing here can wait forever: a child still running after `timeout` seconds gets SIGTERM, and SIGKILL
    /// 5 s later (status 15 or 9), and once the child has ended its output is read for at most 10 s more (a
    /// daemon it started may hold the pipes). The child runs as itself (no wrapper process), so `pgrep -f`
    /// patterns of the caller do not match a wrapper's command line.
    public static func run(_ arguments: [String], environment: [String: String] = [:],
                           timeout: Double = defaultTimeout) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.environment = childEnvironment(environment)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let start = Date()
        try p.run()
        let outText = PipeReader(out.fileHandleForReading), errText = PipeReader(err.fileHandleForReading)
        var timedOut = false
        // Foundation's Process on Linux learns that a child ended when a descriptor it gave the child closes; a
        // daemon the child started may keep that descriptor, and then `isRunning` stays true for as long as the
        // daemon runs (swift-corelibs-foundation issue 4795). A child that has been a zombie for 2 s is reaped
        // here instead, with a note, so that such a child can never hang a test.
        var zombieSince: Date?
        var reaped: Int32?
        while p.isRunning {
            if !timedOut && Date().timeIntervalSince(start) > timeout { timedOut = true; p.terminate() }
            if timedOut && Date().timeIntervalSince(start) > timeout + 5 { kill(p.processIdentifier, SIGKILL) }
            if Self.isZombie(p.processIdentifier) {
                if zombieSince == nil { zombieSince = Date() }
                var status: Int32 = 0
                if Date().timeIntervalSince(zombieSince!) > 2, waitpid(p.processIdentifier, &status, WNOHANG) == p.processIdentifier {
                    reaped = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                    break
                }
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        if reaped == nil { p.waitUntilExit() }
        let drained = Date().addingTimeInterval(10)
        while !(outText.finished && errText.finished) && Date() < drained { Thread.sleep(forTimeInterval: 0.01) }
        var stderr = errText.text
        if timedOut { stderr += "\n[Command.run: \(arguments.first ?? "") ended after the \(timeout) s time limit]" }
        if reaped != nil { stderr += "\n[Command.run: \(arguments.first ?? "") ended, but a process it started kept Foundation's exit descriptor (a daemon that did not close its descriptors?)]" }
        if !(outText.finished && errText.finished) {
            stderr += "\n[Command.run: \(arguments.first ?? "") ended but a process it started still holds its output open]"
        }
        return Outcome(status: reaped ?? p.terminationStatus, stdout: outText.text, stderr: stderr, seconds: Date().timeIntervalSince(start))
    }

    /// True if process `pid` has ended and waits to be reaped.
    static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(close, offsetBy: 2)...].hasPrefix("Z")
    }

    /// Reads a pipe to its end on a thread of its own, keeping what came so far readable.
    final class PipeReader: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private var done = false
        init(_ handle: FileHandle) {
            Thread {
                while true {
                    let chunk = handle.availableData
                    self.lock.lock()
                    if chunk.isEmpty { self.done = true } else { self.data.append(chunk) }
                    self.lock.unlock()
                    if chunk.isEmpty { return }
                }
            }.start()
        }
        var finished: Bool { lock.lock(); defer { lock.unlock() }; return done }
        var text: String { lock.lock(); defer { lock.unlock() }; return String(decoding: data, as: UTF8.self) }
    }

    /// Runs `arguments` and returns its standard output; a non-zero exit throws with its standard error.
    @discardableResult
    public static func output(_ arguments: [String], timeout: Double = defaultTimeout) throws -> String {
        let r = try run(arguments, timeout: timeout)
        guard r.status == 0 else { throw CommandError("\(arguments.joined(separator: " ")) failed with \(r.status): \(r.stderr)") }
        return r.stdout
    }
}

/// A child process that failed.
public struct CommandError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
