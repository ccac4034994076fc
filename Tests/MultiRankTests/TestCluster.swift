import Foundation
import Testing
import TestSupport

/// The cluster of `Launch/testcluster.sh` (hosts that are network namespaces, with munge and Slurm),
/// up for one test: `TestCluster.with(hosts:)` brings it up, runs the test, and takes it down again,
/// checking that `down` leaves no namespace, bridge or process behind.
struct TestCluster {
    static let launch = TestPaths.root + "/Launch"
    let hosts: [String]
    /// The test's scratch folder (results, hosts file, job output).
    let dir: String

    static func with(hosts count: Int, _ body: (TestCluster) throws -> Void) throws {
        _ = try? Command.run([launch + "/testcluster.sh", "down"])   // what a killed earlier run left
        let up = try Command.run([launch + "/testcluster.sh", "up", "\(count)"])
        guard up.status == 0 else { throw CommandError("testcluster.sh up \(count) failed: \(up.stdout)\(up.stderr)") }
        let dir = TestPaths.tempDir("spikescale-cluster")
        let cluster = TestCluster(hosts: (1...count).map { "node\($0)" }, dir: dir)
        var failure: Error?
        do { try body(cluster) } catch { failure = error }
        let down = try Command.run([launch + "/testcluster.sh", "down"])
        if let failure { throw failure }
        #expect(down.status == 0, "testcluster.sh down: \(down.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/run/netns/ssc-node1"), "down left the namespace ssc-node1")
        #expect(!FileManager.default.fileExists(atPath: "/sys/class/net/sscbr0"), "down left the bridge")
    }

    /// What the launch scripts need: the binary under test, MPI over TCP between the hosts, and no core
    /// binding (every host of this cluster shares this machine's cores).
    var environment: [String: String] {
        ["SPIKESCALE_BIN": MPIHarness.binary, "UCX_TLS": "tcp", "SPIKESCALE_BIND": "none", "MPIR_CVAR_CH4_NUM_VCIS": "1"]
    }

    /// A hosts file for `mpirun -f` listing every host with `slots` ranks.
    func hostsFile(slots: Int = 1) throws -> String {
        let path = dir + "/hosts"
        try hosts.map { "\($0):\(slots)" }.joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `Launch/mpirun.sh` across the hosts through the cluster's ssh, as the README shows.
    func mpirunArguments(ranks: Int, hostsFile: String) -> [String] {
        [TestCluster.launch + "/mpirun.sh", "-n", "\(ranks)", "-f", hostsFile, "-launcher", "ssh",
         "-launcher-exec", TestCluster.launch + "/testcluster-ssh", "--"]
    }

    /// Submits a batch job from the repository root; its job id.
    func sbatch(_ args: [String], environment extra: [String: String] = [:]) throws -> Int {
        let r = try Command.run(["sbatch", "--parsable", "--chdir", TestPaths.root, "--output", "\(dir)/slurm-%j.out"] + args,
                                environment: environment.merging(extra) { _, b in b })
        guard r.status == 0, let id = Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";")[0]) else {
            throw CommandError("sbatch \(args.joined(separator: " ")) failed: \(r.stderr)")
        }
        return id
    }

    /// The job's Slurm state, or nil once Slurm no longer lists it.
    func state(of job: Int) -> String? {
        guard let r = try? Command.run(["squeue", "-h", "-j", "\(job)", "-o", "%T"]), r.status == 0 else { return nil }
        let s = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return s.isEmpty ? nil : s
    }

    /// Waits until the job no longer runs (Slurm lists it as ended, completing, or not at all), at most
    /// `timeout` seconds; the seconds it took, or nil if it still runs.
    func waitForEnd(of job: Int, timeout: Double) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            guard let s = state(of: job), ["PENDING", "RUNNING", "CONFIGURING"].contains(s) else { return Date().timeIntervalSince(start) }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return nil
    }

    /// Waits until Slurm lists `host` as down, at most `timeout` seconds; the seconds it took, or nil.
    func waitForNodeDown(_ host: String, timeout: Double) -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if let r = try? Command.run(["sinfo", "-h", "-n", host, "-o", "%T"]), r.stdout.lowercased().contains("down") {
                return Date().timeIntervalSince(start)
            }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return nil
    }

    /// The job output file of `job`.
    func output(of job: Int) -> String {
        (try? String(contentsOfFile: "\(dir)/slurm-\(job).out", encoding: .utf8)) ?? ""
    }

    /// Processes of a job still alive on any host (Slurm's own daemons and zombies aside), and on this
    /// machine any process whose command line names the test's folder.
    func leftovers() -> [String] {
        var out = [String]()
        for h in hosts {
            let pids = (try? Command.run(["ip", "netns", "pids", "ssc-\(h)"]).stdout) ?? ""
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) {
                guard let (comm, state) = TestCluster.process(pid), state != "Z",
                      !["slurmctld", "slurmd", "slurmscriptd"].contains(comm) else { continue }
                out.append("\(h): \(pid) \(comm)")
            }
        }
        let mine = getpid()
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != mine, let (comm, state) = TestCluster.process(pid), state != "Z",
                  let cmd = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), cmd.contains(dir) else { continue }
            out.append("this machine: \(pid) \(comm)")
        }
        return out
    }

    /// Waits up to `seconds` for `leftovers()` to be empty; what is left then.
    func leftovers(after seconds: Double) -> [String] {
        let end = Date().addingTimeInterval(seconds)
        var left = leftovers()
        while !left.isEmpty && Date() < end { Thread.sleep(forTimeInterval: 0.2); left = leftovers() }
        return left
    }

    /// The command name and state letter of a process, from /proc.
    static func process(_ pid: Int32) -> (String, String)? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
        let comm = String(stat[stat.index(after: open)..<close])
        let state = stat[stat.index(close, offsetBy: 2)...].prefix(1)
        return (comm, String(state))
    }

    /// The pids of the processes named `comm` on `host`.
    func pids(of comm: String, on host: String) -> [Int32] {
        let pids = (try? Command.run(["ip", "netns", "pids", "ssc-\(host)"]).stdout) ?? ""
        return pids.split(separator: "\n").compactMap { Int32($0) }.filter { TestCluster.process($0)?.0 == comm }
    }

    /// Every process on `host`, killed with SIGKILL.
    func killEverything(on host: String) throws {
        let pids = try Command.run(["ip", "netns", "pids", "ssc-\(host)"]).stdout.split(separator: "\n").compactMap { Int32($0) }
        for p in pids { kill(p, SIGKILL) }
    }

    /// Takes `host`'s network link down or up.
    func link(_ host: String, up: Bool) throws {
        try Command.output([TestCluster.launch + "/testcluster.sh", "link", host, up ? "up" : "down"])
    }
}

/// A child process left running while the test acts on the cluster; its output goes to files.
final class BackgroundRun {
    let process = Process()
    let stdoutPath: String, stderrPath: String
    let started = Date()

    init(_ arguments: [String], environment: [String: String], in dir: String, label: String) throws {
        stdoutPath = "\(dir)/\(label).out"; stderrPath = "\(dir)/\(label).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["timeout", "-k", "5", "600"] + arguments   // never outlives a hung test by long
        process.environment = Command.childEnvironment(environment)
        process.standardOutput = FileHandle(forWritingAtPath: stdoutPath)
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
    }

    /// Waits up to `timeout` seconds for the process to end; the moment it ended, or nil if it runs on.
    func waitForExit(timeout: Double) -> Date? {
        let end = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < end { Thread.sleep(forTimeInterval: 0.05) }
        return process.isRunning ? nil : Date()
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Ends the process (and so the test's job) if it is still running.
    func kill() { if process.isRunning { process.terminate() } }
}

/// Waits until the samples file of `json` holds at least `lines` finished samples (its run header aside),
/// at most `timeout` seconds.
func waitForSamples(_ json: String, atLeast lines: Int, timeout: Double) -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if let s = try? String(contentsOfFile: json + ".samples.jsonl", encoding: .utf8),
           s.split(separator: "\n").filter({ !$0.hasPrefix("{\"run\":") }).count >= lines { return true }
        Thread.sleep(forTimeInterval: 0.1)
    }
    return false
}
