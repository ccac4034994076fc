import ArgumentParser
import SpikeEngine
import SpikeMPI
import SpikeRun

/// Runs a command's body on the ranks of this MPI job: errors every rank agrees on are printed once by
/// rank 0 and end the job with exit code 1; any other error aborts the whole job with its message.
/// A peer silent for `peerTimeout` seconds ends the job (`PeerWatchdog`).
func runOnWorld(peerTimeout: Double, _ body: (MPITransport) throws -> Void) throws {
    PeerWatchdog.guardStartup(seconds: peerTimeout > 0 ? max(2 * peerTimeout, 60) : 0)
    try MPIRuntime.initialize()
    let transport = try MPITransport.world()
    try PeerWatchdog.start(timeout: peerTimeout)
    var failed = false
    do {
        try body(transport)
    } catch let e as CollectiveError {
        if transport.rank == 0 { printError("spikescale: error: \(e.message)") }
        failed = true
    } catch {
        if transport.size == 1 { printError("spikescale: error: \(error)"); failed = true } else { transport.abort("\(error)") }
    }
    try MPIRuntime.finalize(exitCode: failed ? 1 : 0)
    if failed { throw ExitCode(1) }
}

/// Runs `body` on every rank; if it fails anywhere, every rank throws the same `CollectiveError`
/// carrying the failing rank's message (rank 0's if it failed), so no rank is left waiting.
func agreeAll(_ t: Transport, _ body: () throws -> Void) throws {
    var message = ""
    do { try body() } catch { message = "\(error)" }
    let flags = try t.allreduceMax([message.isEmpty ? 0 : Int64(t.size - t.rank)])
    guard flags[0] > 0 else { return }
    let first = t.size - Int(flags[0])
    var bytes = t.rank == first ? Array(message.utf8) : []
    try t.broadcast(&bytes, root: first)
    let text = String(decoding: bytes, as: UTF8.self)
    throw CollectiveError(message: first == 0 ? text : "rank \(first): \(text)")
}
