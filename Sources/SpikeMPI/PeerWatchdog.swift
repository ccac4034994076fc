import Foundation
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// Ends the job when a peer rank stops answering, instead of letting MPI wait forever.
///
/// MPICH (ch4:ucx over TCP) does not notice a peer whose host died or whose link went down: the
/// socket stays open and every rank blocks in its next exchange or collective, and `mpiexec` cannot
/// reach the lost host to clean up. So each rank runs a thread that sends a small UDP heartbeat to
/// the peers it watches every `interval` seconds and listens for theirs. A watched peer that has been
/// heard once and then stays silent for `timeout` seconds is lost: the rank prints which rank, on
/// which host, and what its own MPI thread was doing (exchange, reduce, broadcast, ...), then exits
/// at once with `exitCode` (no `MPI_Abort`, which needs the launcher to be reachable and would be an
/// MPI call from a second thread). `mpiexec` sees the rank end and stops the others; ranks cut off
/// from the launcher detect the loss themselves and exit the same way, so no process is left.
///
/// Who watches whom: every rank watches every other in worlds of up to 64 ranks; in larger worlds,
/// rank 0 watches all ranks, and every other rank watches rank 0 and its two ring neighbours, so the
/// traffic stays linear in the rank count. A peer never heard at all (UDP filtered between hosts) is
/// not declared lost: the rank warns once that it cannot watch it. A rank that finishes normally sends
/// a goodbye, after which its silence is expected.
public final class PeerWatchdog: @unchecked Sendable {
    /// The exit code of a rank that lost a peer (`EX_TEMPFAIL`: the run can be resumed).
    public static let exitCode: Int32 = 75

    private static let lock = NSLock()
    nonisolated(unsafe) private static var running: PeerWatchdog?

    let rank: Int
    let timeout: Double
    let interval: Double
    let peers: [PeerAddress]
    let watched: [Int]
    let nonce: UInt32
    let socket: HeartbeatSocket

    private let lock = NSLock()
    private var stopped = false

    private init(rank: Int, timeout: Double, peers: [PeerAddress], nonce: UInt32, socket: HeartbeatSocket) {
        self.rank = rank; self.timeout = timeout; self.peers = peers; self.nonce = nonce; self.socket = socket
        interval = min(1.0, timeout / 5)
        watched = PeerWatchdog.watchSet(rank: rank, size: peers.count)
    }

    /// Guards MPI's start-up, before `MPI_Init`: a host lost while the job starts leaves `MPI_Init`
    /// (and `mpiexec`) waiting forever. Unless `start(timeout:)` has completed within `seconds`, the
    /// process prints what happened and exits with `exitCode`. Start-up of thousands of ranks can take
    /// tens of seconds, so callers give it a generous bound (twice the peer timeout, at least 60 s).
    public static func guardStartup(seconds: Double) {
        guard seconds > 0 else { return }
        let deadline = monotonicSeconds() + seconds
        let thread = Thread {
            while monotonicSeconds() < deadline {
                usleep(200_000)
                lock.lock(); let done = startupDone; lock.unlock()
                if done { return }
            }
            let who = ProcessInfo.processInfo.environment["PMI_RANK"].map { "rank \($0)" } ?? "rank ?"
            writeStderr("spikescale: \(who) (\(hostName())): MPI start-up did not complete within \(formatSeconds(seconds)) s "
                + "(a host of the job unreachable, or a rank that never started); ending the job.\n")
            _exit(exitCode)
        }
        thread.name = "spikescale-startup-guard"
        thread.start()
    }
    nonisolated(unsafe) private static var startupDone = false

    /// Starts the watchdog of this rank with `timeout` seconds (0: none). Collective over the world:
    /// every rank must call it, after `MPIRuntime.initialize()`. A world of one rank needs no watchdog.
    public static func start(timeout: Double) throws {
        let world = try Communicator.world()
        defer { lock.lock(); startupDone = true; lock.unlock() }
        guard world.size > 1, timeout > 0 else { return }
        let socket = try HeartbeatSocket()
        let me = PeerAddress(host: hostName(), port: socket.port, addresses: hostIPv4Addresses())
        let (nonce, peers) = try MPIActivity.shared.during(.setup) { try exchangeAddresses(me, world) }
        let dog = PeerWatchdog(rank: world.rank, timeout: timeout, peers: peers, nonce: nonce, socket: socket)
        lock.lock(); running = dog; lock.unlock()
        let thread = Thread { dog.run() }
        thread.name = "spikescale-watchdog"
        thread.start()
    }

    /// Stops this rank's watchdog (if any) and tells its peers it left normally. Called before `MPI_Finalize`.
    public static func stop() {
        lock.lock(); let dog = running; running = nil; lock.unlock()
        dog?.stopAndSayGoodbye()
    }

    /// Every rank's address and rank 0's job nonce, through a gather to rank 0 and a broadcast.
    private static func exchangeAddresses(_ me: PeerAddress, _ world: Communicator) throws -> (UInt32, [PeerAddress]) {
        let all = try world.gatherv(Array(me.encoded.utf8), root: 0)
        var table = [UInt8]()
        if world.rank == 0 {
            let lines = [String(UInt32.random(in: 1...UInt32.max))] + all.map { String(decoding: $0, as: UTF8.self) }
            table = Array(lines.joined(separator: "\n").utf8)
        }
        try world.broadcast(&table, root: 0)
        let lines = String(decoding: table, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.count == world.size + 1, let nonce = UInt32(lines[0]) else {
            throw MPIError(call: "PeerWatchdog", code: nil, message: "peer watchdog: malformed address table")
        }
        let peers = try lines.dropFirst().map { line -> PeerAddress in
            guard let p = PeerAddress(encoded: String(line)) else {
                throw MPIError(call: "PeerWatchdog", code: nil, message: "peer watchdog: malformed address '\(line)'")
            }
            return p
        }
        return (nonce, peers)
    }

    /// The ranks `rank` watches (and sends heartbeats to) in a world of `size`.
    static func watchSet(rank: Int, size: Int) -> [Int] {
        if size <= 64 || rank == 0 { return (0..<size).filter { $0 != rank } }
        return Array(Set([0, (rank + size - 1) % size, (rank + 1) % size]).subtracting([rank])).sorted()
    }

    // MARK: The watchdog thread

    private func run() {
        let start = monotonicSeconds()
        var lastHeard = [Double](repeating: start, count: peers.count)
        var heard = [Bool](repeating: false, count: peers.count)
        var left = [Bool](repeating: false, count: peers.count)
        var warned = [Bool](repeating: false, count: peers.count)
        var nextBeat = start
        var seq: UInt64 = 0
        while !isStopped {
            var now = monotonicSeconds()
            if now >= nextBeat { send(.beat, seq); seq &+= 1; nextBeat = now + interval }
            let waitMs = Int32(max(1, min(1000, (nextBeat - now) * 1000)))
            for d in socket.receive(waiting: waitMs) {
                guard let (from, kind) = decode(d) else { continue }
                lastHeard[from] = monotonicSeconds(); heard[from] = true
                if kind == .bye { left[from] = true }
            }
            now = monotonicSeconds()
            for p in watched where !left[p] {
                if heard[p], now - lastHeard[p] > timeout { lost(p, silentFor: now - lastHeard[p]) }
                if !heard[p], !warned[p], now - start > timeout {
                    warned[p] = true
                    writeStderr("spikescale: warning: rank \(rank) (\(peers[rank].host)): no heartbeat ever arrived from rank \(p) "
                        + "(\(peers[p].host), UDP port \(peers[p].port)); the peer watchdog cannot watch that rank (UDP filtered?)\n")
                }
            }
        }
    }

    private var isStopped: Bool { lock.lock(); defer { lock.unlock() }; return stopped }

    private func stopAndSayGoodbye() {
        lock.lock(); stopped = true; lock.unlock()
        for _ in 0..<3 { send(.bye, 0) }
    }

    /// Reports the lost peer and ends this process (unless the watchdog was stopped meanwhile).
    private func lost(_ peer: Int, silentFor: Double) {
        lock.lock()
        guard !stopped else { lock.unlock(); return }
        let phase = MPIActivity.shared.current
        let p = peers[peer]
        let addr = p.addresses.first.map(ipv4String) ?? "?"
        writeStderr("spikescale: rank \(rank) (\(peers[rank].host)): lost rank \(peer) (host \(p.host), \(addr)): "
            + "no heartbeat for \(String(format: "%.1f", silentFor)) s (--peer-timeout \(formatSeconds(timeout))) "
            + "while in \(phase.rawValue); ending the job. Finished samples are kept: run again with --resume to complete it.\n")
        fflush(nil)
        _exit(PeerWatchdog.exitCode)
    }

    // MARK: Packets: magic, nonce, from, to, kind, sequence (little-endian)

    enum Kind: UInt8 { case beat = 1, bye = 2 }
    private static let magic: UInt32 = 0x5353_4842   // "SSHB"

    private func send(_ kind: Kind, _ seq: UInt64) {
        for p in watched {
            var b = [UInt8](); b.reserveCapacity(25)
            for v in [PeerWatchdog.magic, nonce, UInt32(rank), UInt32(p)] { append(v, &b) }
            b.append(kind.rawValue)
            append(seq, &b)
            for a in peers[p].addresses { socket.send(b, to: a, port: peers[p].port) }
        }
    }

    /// The sender and kind of a heartbeat meant for this rank in this job; nil for anything else.
    private func decode(_ b: [UInt8]) -> (Int, Kind)? {
        guard b.count == 25, read32(b, 0) == PeerWatchdog.magic, read32(b, 4) == nonce,
              read32(b, 12) == UInt32(rank), let kind = Kind(rawValue: b[16]) else { return nil }
        let from = Int(read32(b, 8))
        guard from < peers.count, from != rank else { return nil }
        return (from, kind)
    }
}

private func append<T: FixedWidthInteger>(_ v: T, _ b: inout [UInt8]) {
    withUnsafeBytes(of: v.littleEndian) { b.append(contentsOf: $0) }
}

private func read32(_ b: [UInt8], _ at: Int) -> UInt32 {
    (0..<4).reduce(UInt32(0)) { $0 | UInt32(b[at + $1]) << (8 * $1) }
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

private func formatSeconds(_ s: Double) -> String {
    s == s.rounded() ? String(Int(s)) : String(s)
}

/// Writes `text` to standard error with one unbuffered write (safe right before `_exit`).
private func writeStderr(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}
