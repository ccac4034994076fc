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

    /// Runs `arguments` (the first is looked up on PATH by /usr/bin/env) and waits for it; both pipes
    /// are read concurrently so a chatty child never blocks. `environment` entries are added to ours.
    ///
    /// Nothing here can wait forever: the child runs under coreutils' `timeout`, in a process group of its
    /// own that gets SIGTERM after `timeout` seconds and SIGKILL 5 s later (status 124 or 137), and once the
    /// child has ended its output is read for at most 10 s more (a daemon it started may hold the pipes).
    public static func run(_ arguments: [String], environment: [String: String] = [:],
                           timeout: Double = defaultTimeout) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["timeout", "-k", "5", String(format: "%.1f", timeout)] + arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let start = Date()
        try p.run()
        let outText = PipeReader(out.fileHandleForReading), errText = PipeReader(err.fileHandleForReading)
        p.waitUntilExit()
        let drained = Date().addingTimeInterval(10)
        while !(outText.finished && errText.finished) && Date() < drained { Thread.sleep(forTimeInterval: 0.01) }
        var stderr = errText.text
        if !(outText.finished && errText.finished) {
            stderr += "\n[Command.run: \(arguments.first ?? "") ended but a process it started still holds its output open]"
        }
        return Outcome(status: p.terminationStatus, stdout: outText.text, stderr: stderr, seconds: Date().timeIntervalSince(start))
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
