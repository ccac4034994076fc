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

    /// Runs `arguments` (the first is looked up on PATH by /usr/bin/env) and waits for it; both pipes
    /// are read concurrently so a chatty child never blocks. `environment` entries are added to ours.
    public static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out; p.standardError = err
        let start = Date()
        try p.run()
        final class Buffer: @unchecked Sendable { var data = Data() }
        let errors = Buffer()
        let reader = Thread { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        while !reader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        return Outcome(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                       stderr: String(decoding: errors.data, as: UTF8.self), seconds: Date().timeIntervalSince(start))
    }

    /// Runs `arguments` and returns its standard output; a non-zero exit throws with its standard error.
    @discardableResult
    public static func output(_ arguments: [String]) throws -> String {
        let r = try run(arguments)
        guard r.status == 0 else { throw CommandError("\(arguments.joined(separator: " ")) failed with \(r.status): \(r.stderr)") }
        return r.stdout
    }
}

/// A child process that failed.
public struct CommandError: Error, CustomStringConvertible {
    public var description: String
    public init(_ d: String) { description = d }
}
