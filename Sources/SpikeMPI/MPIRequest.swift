internal import CMPI

/// One non-blocking send or receive of bytes, started by `Communicator.isend`/`irecv` and completed
/// by `Communicator.waitall`.
///
/// The request owns the message buffer (a send copies its bytes in, so the caller's array is free at
/// once). A request must be waited for before it is dropped: one dropped while still pending leaks its
/// buffer rather than free memory MPI may still write to.
public final class MPIRequest: @unchecked Sendable {
    /// Whether this request sends or receives.
    public enum Kind: Sendable { case send, receive }

    public let kind: Kind
    /// The destination (send) or source (receive) rank.
    public let peer: Int
    public let tag: Int
    var handle: MPI_Request
    let buffer: UnsafeMutableRawBufferPointer
    /// Whether `waitall` has completed the request (successfully or not).
    public private(set) var isComplete = false
    private var receivedCount = 0
    private var failed = false

    init(kind: Kind, peer: Int, tag: Int, capacity: Int) {
        self.kind = kind; self.peer = peer; self.tag = tag
        handle = cmpi_request_null()
        buffer = .allocate(byteCount: max(capacity, 1), alignment: 16)
    }

    /// The bytes received, once a receive request has completed; nil for sends and for pending or failed receives.
    public var received: [UInt8]? {
        guard kind == .receive, isComplete, !failed else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: buffer[0..<receivedCount]))
    }

    func complete(status: inout MPI_Status) throws {
        isComplete = true
        guard kind == .receive else { return }
        var n: Int32 = 0
        try check(MPI_Get_count(&status, cmpi_byte(), &n), "MPI_Get_count")
        guard n >= 0, Int(n) <= buffer.count else {
            throw MPIError(call: "MPI_Get_count", code: nil, message: "receive from rank \(peer) has no byte count")
        }
        receivedCount = Int(n)
    }

    /// Marks a request that failed to start, or that MPI completed with an error, as finished:
    /// MPI no longer holds its buffer.
    func markFailed() {
        isComplete = true
        failed = true
    }

    deinit {
        if isComplete { buffer.deallocate() }
    }
}

extension Communicator {
    /// Starts sending `bytes` (copied) to rank `destination` with `tag`; complete it with `waitall`.
    public func isend(_ bytes: [UInt8], to destination: Int, tag: Int) throws -> MPIRequest {
        let call = "MPI_Isend"
        let d = try mpiRank(destination, size: size, "destination", call)
        let t = try mpiTag(tag, call)
        let n = try mpiCount(bytes.count, call)
        let request = MPIRequest(kind: .send, peer: destination, tag: tag, capacity: bytes.count)
        bytes.withUnsafeBytes { request.buffer.copyMemory(from: $0) }
        do {
            try check(MPI_Isend(request.buffer.baseAddress, n, cmpi_byte(), d, t, comm, &request.handle), call)
        } catch {
            request.markFailed()
            throw error
        }
        return request
    }

    /// Starts receiving one message of at most `maxBytes` bytes from rank `source` with `tag`.
    ///
    /// After `waitall`, `received` holds the bytes actually sent (possibly fewer, possibly none); a
    /// longer message makes `waitall` throw (`MPI_ERR_TRUNCATE`).
    public func irecv(from source: Int, maxBytes: Int, tag: Int) throws -> MPIRequest {
        let call = "MPI_Irecv"
        let s = try mpiRank(source, size: size, "source", call)
        let t = try mpiTag(tag, call)
        let n = try mpiCount(maxBytes, call)
        let request = MPIRequest(kind: .receive, peer: source, tag: tag, capacity: maxBytes)
        do {
            try check(MPI_Irecv(request.buffer.baseAddress, n, cmpi_byte(), s, t, comm, &request.handle), call)
        } catch {
            request.markFailed()
            throw error
        }
        return request
    }

    /// Waits until every request in `requests` has completed (already complete ones are skipped).
    ///
    /// Only this rank waits; the peers must post the matching operations. If some requests fail (for
    /// example a receive whose message was longer than its `maxBytes`), it still waits for all the
    /// others, then throws the first failure, naming its peer and tag; failed receives have no
    /// `received` bytes. Only if `MPI_Waitall` itself fails are requests left pending.
    public func waitall(_ requests: [MPIRequest]) throws {
        let pending = requests.filter { !$0.isComplete }
        guard !pending.isEmpty else { return }
        var handles = pending.map(\.handle)
        var statuses = [MPI_Status](repeating: MPI_Status(), count: pending.count)
        let outcome = waitAll(&handles, &statuses)
        for i in pending.indices { pending[i].handle = handles[i] }
        let errors: [Int32]
        switch outcome {
        case .success: errors = [Int32](repeating: MPI_SUCCESS, count: pending.count)
        case .failed(let e): errors = e
        case .broken(let rc): throw MPIError(call: "MPI_Waitall", code: rc)
        }
        var firstError: MPIError?
        for i in pending.indices {
            let r = pending[i]
            if errors[i] == MPI_SUCCESS {
                do { try r.complete(status: &statuses[i]) } catch { firstError = firstError ?? (error as? MPIError) }
            } else {
                r.markFailed()
                if firstError == nil {
                    let what = r.kind == .send ? "send to" : "receive from"
                    firstError = MPIError(call: "MPI_Waitall", code: errors[i],
                                          message: "\(mpiErrorString(errors[i])) (\(what) rank \(r.peer), tag \(r.tag))")
                }
            }
        }
        if let e = firstError { throw e }
    }
}

/// How a `waitAll` ended.
enum WaitOutcome {
    /// Every request completed successfully.
    case success
    /// Every request completed or failed; the error code of each (`MPI_SUCCESS` where it completed).
    case failed([Int32])
    /// `MPI_Waitall` itself failed with this code: which requests are still active is unknown.
    case broken(Int32)
}

/// Waits for every request in `handles` with `MPI_Waitall`, filling `statuses`; when some fail, waits
/// again for those MPI reports still pending (`MPI_ERR_PENDING`), so nothing is left in flight.
///
/// Completed handles become `MPI_REQUEST_NULL`. Terminates: each repeated wait is only entered after
/// a failure removed at least one request from the pending set.
func waitAll(_ handles: inout [MPI_Request], _ statuses: inout [MPI_Status]) -> WaitOutcome {
    let rc = MPI_Waitall(Int32(handles.count), &handles, &statuses)
    if rc == MPI_SUCCESS { return .success }
    guard rc == cmpi_err_in_status() else { return .broken(rc) }
    var errors = statuses.indices.map { cmpi_status_error(&statuses[$0]) }
    while true {
        let pending = errors.indices.filter { cmpi_error_class(errors[$0]) == cmpi_err_pending() }
        if pending.isEmpty { return .failed(errors) }
        var h = pending.map { handles[$0] }
        var st = [MPI_Status](repeating: MPI_Status(), count: pending.count)
        let rc2 = MPI_Waitall(Int32(h.count), &h, &st)
        if rc2 != MPI_SUCCESS && rc2 != cmpi_err_in_status() { return .broken(rc2) }
        for (j, i) in pending.enumerated() {
            handles[i] = h[j]; statuses[i] = st[j]
            errors[i] = rc2 == MPI_SUCCESS ? MPI_SUCCESS : cmpi_status_error(&st[j])
        }
    }
}
