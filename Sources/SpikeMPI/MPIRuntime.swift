import Foundation
internal import CMPI

/// The process-wide MPI lifecycle: initialise once, finalise once, at the end of a normal run.
///
/// `initialize()` is idempotent and is called by `Communicator.world()` and `MPITransport.world()`,
/// so callers rarely call it themselves. MPI is initialised with `MPI_THREAD_FUNNELED`: any thread may
/// compute, but only the thread that initialised MPI (the main thread) may make MPI calls. A program
/// started without `mpiexec` runs as a world of one (MPICH's singleton init).
///
/// Errors on `MPI_COMM_WORLD` are switched to `MPI_ERRORS_RETURN`, so a failed call throws an
/// `MPIError` instead of killing the job from inside MPI. `finalize()` must be called by every rank at
/// the end of a successful run (it is collective); on failure call `MPITransport.abort(_:)` instead,
/// never `finalize()`, which could wait forever for ranks that are gone.
public enum MPIRuntime {
    /// The lock-guarded lifecycle state: one per process.
    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var initializedHere = false
        var finalized = false
        var threadLevel: Int32 = 0
        var aborting = false
    }
    private static let state = State()

    /// Initialises MPI (once) and sets `MPI_ERRORS_RETURN` on `MPI_COMM_WORLD`.
    ///
    /// Every rank must call it (directly or through `world()`) before any other SpikeMPI call, from the
    /// thread that will make all MPI calls. If MPI was already initialised by someone else it is
    /// adopted as is, and left for that owner to finalise. Throws if MPI was finalised already or
    /// provides less than `MPI_THREAD_FUNNELED`.
    public static func initialize() throws {
        state.lock.lock(); defer { state.lock.unlock() }
        var flag: Int32 = 0
        try check(MPI_Finalized(&flag), "MPI_Finalized")
        if flag != 0 || state.finalized {
            throw MPIError(call: "MPI_Init_thread", code: nil, message: "MPI was already finalized")
        }
        try check(MPI_Initialized(&flag), "MPI_Initialized")
        var provided: Int32 = 0
        if flag == 0 {
            try check(MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided), "MPI_Init_thread")
            state.initializedHere = true
        } else {
            try check(MPI_Query_thread(&provided), "MPI_Query_thread")
        }
        state.threadLevel = provided
        try check(MPI_Comm_set_errhandler(cmpi_comm_world(), cmpi_errors_return()), "MPI_Comm_set_errhandler")
        if provided < cmpi_thread_funneled() {
            throw MPIError(call: "MPI_Init_thread", code: nil,
                           message: "MPI provides thread level \(provided), SpikeScale needs MPI_THREAD_FUNNELED")
        }
    }

    /// Whether MPI is initialised and not yet finalised (by anyone), i.e. whether MPI calls are legal now.
    static var isActive: Bool {
        var initialized: Int32 = 0, finalized: Int32 = 0
        guard MPI_Initialized(&initialized) == MPI_SUCCESS, MPI_Finalized(&finalized) == MPI_SUCCESS else {
            return false
        }
        return initialized != 0 && finalized == 0
    }

    /// Finalises MPI if this process initialised it; a no-op otherwise or when called again.
    ///
    /// Collective: every rank must call it, once all its communication is complete, at the end of a
    /// normal run. Do not call it on an error path (use `MPITransport.abort(_:)`). The peer watchdog is
    /// stopped first (its goodbye tells the peers this rank's silence is expected).
    ///
    /// `MPI_Finalize` of MPICH 4.0.2 over UCX 1.13's tcp transport alone (`UCX_TLS=tcp`, how ranks on
    /// different hosts talk without InfiniBand) often never returns with three or more ranks, even in a
    /// plain C program that sends one message (Benchmarks/cluster/finalize_hang.c). The hang is in UCX's
    /// teardown; the part of `MPI_Finalize` the launcher needs is the PMI `finalize` handshake. With that
    /// transport setting and hydra's PMI (`PMI_FD`), every rank therefore meets the others in a barrier
    /// (all communication is done), tells hydra it finalises, and exits with `exitCode`.
    /// Otherwise, should `MPI_Finalize` not return within `deadline` seconds, the process says so and
    /// exits with `exitCode` (everything is computed and written by then).
    public static func finalize(exitCode: Int32 = 0, deadline: Double = 10) throws {
        PeerWatchdog.stop()
        state.lock.lock(); defer { state.lock.unlock() }
        guard state.initializedHere, !state.finalized else { return }
        state.finalized = true
        let env = ProcessInfo.processInfo.environment
        if ucxIsTCPOnly(env["UCX_TLS"]), let fd = env["PMI_FD"].flatMap(Int32.init) {
            try check(MPI_Barrier(cmpi_comm_world()), "MPI_Barrier")
            fflush(nil)
            if pmiFinalize(fd: fd) { _exit(exitCode) }
        }
        let watch = FinalizeDeadline(seconds: deadline, exitCode: exitCode)
        defer { watch.disarm() }
        try check(MPI_Finalize(), "MPI_Finalize")
    }

    /// Ends every rank of the job: prints `spikescale: rank R: message` to stderr (only the first time
    /// this process aborts), calls `MPI_Abort(MPI_COMM_WORLD, 1)` and, should that return, `exit(1)`.
    ///
    /// May be called by any single rank, at any point, MPI active or not (without MPI it just exits).
    /// `rank` is the rank to print, or nil to ask MPI (or print `?` when MPI is not active).
    public static func abort(_ message: String, rank: Int? = nil) -> Never {
        state.lock.lock()
        let first = !state.aborting
        state.aborting = true
        state.lock.unlock()
        let active = isActive
        if first {
            var who = rank.map(String.init) ?? "?"
            if rank == nil, active {
                var r: Int32 = 0
                if MPI_Comm_rank(cmpi_comm_world(), &r) == MPI_SUCCESS { who = String(r) }
            }
            var line = "spikescale: rank \(who): \(message)"
            if !line.hasSuffix("\n") { line += "\n" }
            writeToStderr(line)
        }
        if active { _ = MPI_Abort(cmpi_comm_world(), 1) }
        exit(1)
    }

    /// Writes `text` to file descriptor 2 unbuffered, retrying short writes.
    private static func writeToStderr(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = write(2, raw.baseAddress! + offset, raw.count - offset)
                if n > 0 { offset += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
    }
}

/// PMI-1's finalize handshake with hydra's proxy on `fd` (`cmd=finalize`, answered by
/// `cmd=finalize_ack`); whether it was acknowledged.
func pmiFinalize(fd: Int32) -> Bool {
    var request = Array("cmd=finalize\n".utf8)
    guard request.withUnsafeMutableBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else { return false }
    var reply = [UInt8]()
    var byte: UInt8 = 0
    while reply.count < 256, read(fd, &byte, 1) == 1 {
        if byte == UInt8(ascii: "\n") { break }
        reply.append(byte)
    }
    return String(decoding: reply, as: UTF8.self).contains("cmd=finalize_ack")
}

/// Whether a `UCX_TLS` setting leaves UCX only its tcp transport (and `self`).
func ucxIsTCPOnly(_ tls: String?) -> Bool {
    guard let tls, !tls.hasPrefix("^") else { return false }
    let names = tls.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
    return names.contains("tcp") && names.allSatisfy { $0 == "tcp" || $0 == "self" }
}

/// Ends the process with `exitCode` unless disarmed within `seconds` (see `MPIRuntime.finalize`).
private final class FinalizeDeadline: @unchecked Sendable {
    private let lock = NSLock()
    private var armed = true

    init(seconds: Double, exitCode: Int32) {
        let thread = Thread { [self] in
            let end = Date().addingTimeInterval(seconds)
            while Date() < end {
                usleep(50_000)
                lock.lock(); let still = armed; lock.unlock()
                if !still { return }
            }
            fflush(nil)
            let note = "spikescale: MPI_Finalize did not return within \(Int(seconds)) s (an MPICH/UCX tcp teardown hang); "
                + "the run had finished, exiting with \(exitCode)\n"
            var bytes = Array(note.utf8)
            _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
            _exit(exitCode)
        }
        thread.name = "spikescale-finalize-deadline"
        thread.start()
    }

    func disarm() { lock.lock(); armed = false; lock.unlock() }
}
