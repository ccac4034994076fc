import Foundation

/// What this rank's MPI thread is doing: computing, or blocked in one kind of MPI call. The peer
/// watchdog names it when a peer is lost, so the message says where the job stood.
public enum MPIPhase: String, Sendable {
    case compute, setup, exchange, reduce, broadcast, gather, split, finalize
}

/// The phase of the MPI thread, written by the transport around each blocking call and read by the
/// watchdog thread. One per process.
final class MPIActivity: @unchecked Sendable {
    static let shared = MPIActivity()

    private let lock = NSLock()
    private var phase = MPIPhase.compute

    /// Runs `body` (a blocking MPI call) as `phase`, then returns to `compute`.
    @inline(__always)
    func during<T>(_ phase: MPIPhase, _ body: () throws -> T) rethrows -> T {
        set(phase)
        defer { set(.compute) }
        return try body()
    }

    func set(_ p: MPIPhase) {
        lock.lock(); phase = p; lock.unlock()
    }

    /// The current phase.
    var current: MPIPhase {
        lock.lock(); defer { lock.unlock() }
        return phase
    }
}
