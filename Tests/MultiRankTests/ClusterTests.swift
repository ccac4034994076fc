import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// Multi-node operation on the test cluster of `Launch/testcluster.sh`: hosts with their own network
/// namespace, address and host name, a real Slurm (slurmctld, one slurmd per host, munge), and MPI
/// between the hosts over TCP. Needs root, as CI has.
@Suite("Two hosts: Slurm, mpirun -f hosts, and failures", .serialized, .tags(.mpi, .slow))
struct ClusterTests {
    static let mnist = ["--config", TestPaths.root + "/Configs/mnist-cnn.yaml", "--data", TestPaths.sharedData + "/mnist"]
    /// The peer timeout of the failure tests, in seconds.
    static let peerTimeout = 5.0

    /// The same simulation on one rank of this machine, the reference every cluster run must equal.
    func reference(_ args: [String], _ dir: String, label: String = "one") throws -> String {
        let json = "\(dir)/\(label).json"
        let r = try MPIHarness.run(ranks: 1, ["simulate"] + args + ["--json", json, "--quiet"])
        #expect(r.status == 0, "1-rank reference: \(r.stderr)")
        return json
    }

    /// Checks `json` against the reference counters, outputs and hosts.
    func expectSame(_ json: String, as reference: String, hosts: [String]) throws {
        let result = try ResultReader.run(json)
        #expect(result.complete)
        #expect(result.communication.map { $0.host ?? "?" } == hosts, "ranks ran on \(result.communication.map(\.host))")
        #expect(try RunInvariant(json: json) == RunInvariant(json: reference), "\(json) differs from the 1-rank run")
    }

    @Test("sbatch of Launch/slurm.sbatch on 2 nodes equals 1 rank; only rank 0 writes the result files")
    func slurmTemplate() throws {
        try TestCluster.with(hosts: 2) { c in
            let args = Self.mnist + ["--samples", "12", "-T", "8"]
            let one = try reference(args, c.dir)
            let json = "\(c.dir)/out/two.json"
            let job = try c.sbatch(["--nodes=2", "--ntasks-per-node=1", "Launch/slurm.sbatch", "Configs/mnist-cnn.yaml",
                                    "--samples", "12", "-T", "8", "--json", json])
            #expect(c.waitForEnd(of: job, timeout: 120) != nil, "job \(job) still running: \(c.output(of: job))")
            try expectSame(json, as: one, hosts: ["node1", "node2"])
            let written = try FileManager.default.contentsOfDirectory(atPath: "\(c.dir)/out").sorted()
            #expect(written == ["two.json", "two.json.samples.jsonl"], "files written: \(written)")
        }
    }

    @Test("sbatch of Launch/slurm-coco8.sbatch (converted Yolo-Fastest, report) on 2 nodes equals 1 rank")
    func coco8Template() throws {
        try TestCluster.with(hosts: 2) { c in
            let extra = ["--samples", "2", "-T", "8", "--burn-in", "2", "--checkpoints", "4"]
            let one = try reference(["--config", TestPaths.root + "/Configs/yolo-fastest.yaml"] + extra, c.dir)
            let job = try c.sbatch(["--nodes=2", "--ntasks-per-node=1", "Launch/slurm-coco8.sbatch", "Configs/yolo-fastest.yaml"] + extra)
            #expect(c.waitForEnd(of: job, timeout: 300) != nil, "job \(job) still running")
            let out = TestPaths.root + "/results/coco8-\(job)"
            defer { try? FileManager.default.removeItem(atPath: out) }
            #expect(c.output(of: job).contains("report: "), "job output: \(c.output(of: job))")
            try expectSame(out + "/result.json", as: one, hosts: ["node1", "node2"])
            #expect(FileManager.default.fileExists(atPath: out + "/report/report.html"))
        }
    }

    @Test("Rank groups placed one group per node (SPIKESCALE_GROUPS=2, 2 nodes x 2 ranks) equal 1 rank")
    func groupPerNode() throws {
        try TestCluster.with(hosts: 2) { c in
            let one = try reference(Self.mnist + ["--samples", "10", "-T", "8"], c.dir)
            let json = "\(c.dir)/groups.json"
            let job = try c.sbatch(["--nodes=2", "--ntasks-per-node=2", "Launch/slurm.sbatch", "Configs/mnist-cnn.yaml",
                                    "--samples", "10", "-T", "8", "--json", json], environment: ["SPIKESCALE_GROUPS": "2"])
            #expect(c.waitForEnd(of: job, timeout: 120) != nil, "job \(job) still running")
            try expectSame(json, as: one, hosts: ["node1", "node1", "node2", "node2"])
            #expect(try ResultReader.run(json).groups == 2)
        }
    }

    @Test("Launch/scaling.sh inside a 2-node allocation writes its CSV for 1 and 2 ranks, one rank per node")
    func scalingDriver() throws {
        try TestCluster.with(hosts: 2) { c in
            let out = "\(c.dir)/scaling"
            let job = try c.sbatch(["--nodes=2", "--ntasks-per-node=1", "--wrap",
                                    "Launch/scaling.sh --ranks '1 2' --out \(out) Configs/mnist-cnn.yaml --samples 6 -T 8"])
            #expect(c.waitForEnd(of: job, timeout: 120) != nil, "job \(job) still running")
            let csv = (try? String(contentsOfFile: out + "/scaling.csv", encoding: .utf8)) ?? ""
            let rows = csv.split(separator: "\n")
            #expect(rows.count == 3, "scaling.csv: \(csv)\njob output: \(c.output(of: job))")
            #expect(try ResultReader.run(out + "/ranks-2.json").communication.map(\.host) == ["node1", "node2"])
            #expect(try RunInvariant(json: out + "/ranks-2.json") == RunInvariant(json: out + "/ranks-1.json"))
        }
    }

    @Test("The README's mpirun -f hosts command across 2 hosts equals 1 rank")
    func mpirunHostsFile() throws {
        try TestCluster.with(hosts: 2) { c in
            let args = Self.mnist + ["--samples", "12", "-T", "8"]
            let one = try reference(args, c.dir)
            let json = "\(c.dir)/mpirun.json"
            let r = try Command.run(c.mpirunArguments(ranks: 2, hostsFile: try c.hostsFile()) + ["simulate"] + args + ["--json", json, "--quiet"],
                                    environment: c.environment, timeout: 180)
            #expect(r.status == 0, "\(r.stderr)")
            try expectSame(json, as: one, hosts: ["node1", "node2"])
        }
    }

    // MARK: Failures: the job ends within the peer timeout + 10 s, leaves nothing, keeps finished samples.

    /// Runs a long MNIST job over both hosts with `mpirun -f hosts`, applies `failure` once samples are
    /// finishing, and checks the end: non-zero exit within the peer timeout + 10 s, the lost rank, its host
    /// and the phase named, no process left, and a `--resume` that ends equal to an uninterrupted run.
    func failMidRun(_ what: String, expected: [String], _ failure: (TestCluster) throws -> Void,
                    restore: (TestCluster) throws -> Void = { _ in }) throws {
        try TestCluster.with(hosts: 2) { c in
            let args = Self.mnist + ["--samples", "600", "-T", "32"]
            let json = "\(c.dir)/run.json"
            let run = try BackgroundRun(c.mpirunArguments(ranks: 2, hostsFile: try c.hostsFile()) + ["simulate"] + args
                                          + ["--json", json, "--quiet", "--peer-timeout", "\(Int(Self.peerTimeout))"],
                                        environment: c.environment, in: c.dir, label: "run")
            defer { run.kill() }
            #expect(waitForSamples(json, atLeast: 3, timeout: 60), "no samples finished: \(run.stderr)")
            try failure(c)
            let failedAt = Date()
            let ended = run.waitForExit(timeout: Self.peerTimeout + 10)
            let seconds = ended.map { $0.timeIntervalSince(failedAt) }
            #expect(ended != nil, "\(what): the job still runs \(Self.peerTimeout + 10) s later")
            #expect(run.process.isRunning || run.process.terminationStatus != 0, "\(what): exit status 0")
            let err = run.stderr
            #expect(expected.contains { err.contains($0) }, "\(what): expected one of \(expected) in: \(err)")
            let left = c.leftovers(after: 1)
            #expect(left.isEmpty, "\(what): left running: \(left)")
            print("cluster failure '\(what)': job ended \(seconds.map { String(format: "%.1f", $0) } ?? "-") s after it (peer timeout \(Self.peerTimeout) s)")
            try restore(c)
            // Finished samples are kept, and a resume (here on this machine, 1 rank) completes the run.
            let kept = try ResultReader.samples(json).count
            #expect(kept >= 3 && kept < 600, "\(what): \(kept) samples kept")
            let resumed = try MPIHarness.run(ranks: 1, ["simulate"] + args + ["--json", json, "--quiet", "--resume"])
            #expect(resumed.status == 0, "\(what): resume: \(resumed.stderr)")
            let whole = try reference(args, c.dir, label: "whole")
            // Per-channel rates cover the samples an invocation simulated: compare the samples and the totals.
            #expect(try RunInvariant(json: json).samples == RunInvariant(json: whole).samples, "\(what): resumed samples differ")
            #expect(try ResultReader.run(json).layers.map(LayerInvariant.init).map(\.counters)
                    == ResultReader.run(whole).layers.map(LayerInvariant.init).map(\.counters), "\(what): resumed totals differ")
        }
    }

    @Test("The link of one host taken down mid-run ends the job")
    func linkDown() throws {
        // Both sides see the other fall silent: rank 0 names rank 1 on node2 (or rank 1 names rank 0).
        try failMidRun("link down", expected: ["lost rank 1 (host node2, 10.77.0.2): no heartbeat for", "lost rank 0 (host node1, 10.77.0.1): no heartbeat for"],
                       { try $0.link("node2", up: false) }, restore: { try $0.link("node2", up: true) })
    }

    @Test("Every process on one host killed with SIGKILL mid-run ends the job")
    func hostKilled() throws {
        // mpiexec sees node2's launcher connection close and ends the job at once, before any watchdog;
        // the guard (Launch/mpiexec-guard) says what that message of MPICH means.
        try failMidRun("host killed", expected: ["spikescale: mpiexec lost the connection to a host"], { try $0.killEverything(on: "node2") })
    }

    @Test("slurmd stopped on one node during a batch job: the job ends, nothing is left, finished samples are intact")
    func slurmdStopped() throws {
        try TestCluster.with(hosts: 2) { c in
            let json = "\(c.dir)/batch.json"
            let job = try c.sbatch(["--nodes=2", "--ntasks-per-node=1", "Launch/slurm.sbatch", "Configs/mnist-cnn.yaml",
                                    "--samples", "10000", "-T", "32", "--json", json, "--peer-timeout", "\(Int(Self.peerTimeout))"])
            #expect(waitForSamples(json, atLeast: 3, timeout: 90), "no samples finished: \(c.output(of: job))")
            let slurmd = c.pids(of: "slurmd", on: "node2")
            #expect(slurmd.count == 1)
            for p in slurmd { kill(p, SIGTERM) }
            // Slurm declares node2 down once it has not answered for SlurmdTimeout (10 s in the generated
            // slurm.conf; Slurm's ping cycle, slower on a loaded machine, decides exactly when) and cancels
            // the job: node1's ranks are killed by Slurm, node2's (no slurmd to kill them) by their watchdog.
            let down = c.waitForNodeDown("node2", timeout: 120)
            #expect(down != nil, "Slurm did not declare node2 down within 120 s")
            let downAt = Date()
            let bound = Self.peerTimeout + 10
            #expect(c.waitForEnd(of: job, timeout: bound + 30) != nil, "job \(job) still running \(bound + 30) s after node2 went down")
            let left = c.leftovers(after: bound + 30)
            let sinceDown = Date().timeIntervalSince(downAt)
            #expect(left.isEmpty, "left running: \(left)")
            #expect(sinceDown <= bound, "the job and its processes ended \(sinceDown) s after node2 was declared down (bound \(bound) s)")
            print("cluster failure 'slurmd stopped': Slurm declared node2 down \(down.map { String(format: "%.1f", $0) } ?? "-") s after slurmd "
                  + "stopped; the job and all its processes had ended \(String(format: "%.1f", sinceDown)) s later")
            // Every finished sample is intact: equal to the same samples of a 1-rank run (resume is shown above).
            let kept = try ResultReader.samples(json)
            #expect(kept.count >= 3 && kept.count < 10000, "\(kept.count) samples kept")
            let one = try reference(Self.mnist + ["--samples", "\(kept.count)", "-T", "32"], c.dir)
            #expect(kept.map(SampleInvariant.init) == (try ResultReader.samples(one)).map(SampleInvariant.init))
        }
    }
}

/// The peer watchdog on this one machine: a rank that stops answering (SIGSTOP, as a hung host) ends the
/// job within `--peer-timeout` plus the guard's grace, with a message naming the rank, its host and the phase.
@Suite("Peer watchdog under mpiexec", .serialized, .tags(.mpi))
struct PeerWatchdogTests {
    @Test("A frozen rank ends the job through Launch/mpiexec-guard; finished samples are kept")
    func frozenRank() throws {
        let dir = TestPaths.tempDir("spikescale-watchdog")
        let json = "\(dir)/run.json"
        let run = try BackgroundRun([TestCluster.launch + "/mpiexec-guard", "-n", "3", MPIHarness.binary, "simulate"] + ClusterTests.mnist
                                      + ["--samples", "2000", "-T", "32", "--json", json, "--quiet", "--peer-timeout", "3"],
                                    environment: ["MPIR_CVAR_CH4_NUM_VCIS": "1"], in: dir, label: "run")
        defer { run.kill() }
        #expect(waitForSamples(json, atLeast: 2, timeout: 60), "no samples finished: \(run.stderr)")
        let ranks = try Command.run(["pgrep", "-f", "--", "--json \(json)"]).stdout.split(separator: "\n").compactMap { Int32($0) }
            .filter { TestCluster.process($0)?.0 == "spikescale" }.sorted()
        #expect(ranks.count == 3, "ranks: \(ranks)")
        guard ranks.count == 3 else { return }
        kill(ranks[2], SIGSTOP)
        let stoppedAt = Date()
        let ended = run.waitForExit(timeout: 3 + 10)
        #expect(ended != nil, "the job still runs 13 s after a rank froze")
        let err = run.stderr
        #expect(err.contains("no heartbeat for") && err.contains("(--peer-timeout 3) while in ") && err.contains("ending the job"), "\(err)")
        #expect(!run.process.isRunning && run.process.terminationStatus != 0)
        print("peer watchdog: job ended \(ended.map { String(format: "%.1f", $0.timeIntervalSince(stoppedAt)) } ?? "-") s after a rank froze")
        #expect(try ResultReader.samples(json).count >= 2)
        for r in ranks where TestCluster.process(r) != nil { kill(r, SIGKILL) }
    }
}
