import Foundation
import Testing
import TestSupport

/// The test harness itself: a child process can never hang a test.
@Suite("Test harness: bounded child processes")
struct TestHarnessTests {
    @Test("A child that leaves a daemon behind ends the wait with its own status (the daemon kept Foundation's exit descriptor)")
    func daemonLeftBehind() throws {
        // The background sleep keeps every descriptor the shell had but its standard streams, as a daemon
        // that does not close them (munged did, under `testcluster.sh up`): Foundation alone would wait 30 s.
        let r = try Command.run(["sh", "-c", "sleep 30 </dev/null >/dev/null 2>&1 & echo started; exit 3"])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stdout == "started\n")
        #expect(r.seconds < 15, "waited \(r.seconds) s for a child that ended at once")
        _ = try? Command.run(["pkill", "-f", "^sleep 30$"])
    }

    @Test("A child past its time limit is ended, and the outcome says so")
    func timeLimit() throws {
        let r = try Command.run(["sleep", "20"], timeout: 1)
        #expect(r.status != 0 && r.seconds < 10, "status \(r.status) after \(r.seconds) s")
        #expect(r.stderr.contains("time limit"), "\(r.stderr)")
    }
}
