import SpikeEngine
internal import CMPI

/// The engine's `Transport` over MPI: neighbour exchanges with non-blocking point-to-point messages,
/// the rest with MPI collectives on `MPI_COMM_WORLD`.
///
/// Like every SpikeMPI type it must be used from the thread that initialised MPI only. It keeps send
/// and receive staging buffers between exchanges, so exchanges after the first allocate nothing large.
public final class MPITransport: Transport, @unchecked Sendable {
    /// The communicator the transport runs on.
    let communicator: Communicator
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    private var sendPool = StagingBuffer()
    private var recvPool = StagingBuffer()

    /// A transport over `communicator`.
    init(communicator: Communicator) {
        self.communicator = communicator
    }

    deinit { sendPool.free(); recvPool.free() }

    /// The transport over all ranks of the job, initialising MPI first if need be; every rank must call it.
    public static func world() throws -> MPITransport {
        MPITransport(communicator: try Communicator.world())
    }

    /// This rank's group of `size / count` consecutive ranks, on its own communicator (`MPI_Comm_split`).
    public func split(into count: Int) throws -> Transport {
        let layout = try RankLayout(size: size, groups: count)
        return MPITransport(communicator: try communicator.subgroup(color: layout.group(of: rank), key: rank))
    }

    /// The exchange in flight between `post` and `complete`: its requests and where its receives land.
    private struct InFlight {
        var requests: [MPI_Request]
        var recvBase: UnsafeMutableRawPointer
        var recvOffsets: [Int]
        var tag: Int
        var posted: ContinuousClock.Instant
    }
    private var inFlight: InFlight?

    /// Sends each message and receives one message from each source (at most `maxBytes` bytes each):
    /// `post` then `complete`.
    public func exchange(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)],
                         tag: Int) throws -> ExchangeResult {
        try complete(post(sends, from: sources, tag: tag))
    }

    /// Posts one `MPI_Irecv` per source, then one `MPI_Isend` per message (payloads are copied into a
    /// staging buffer first), and returns without waiting. `postSeconds` covers the staging and posting.
    /// Only the ranks named here take part; each send must be matched by a source entry with the same tag
    /// on its destination, and several messages between the same pair are matched in posting order. One
    /// exchange at a time: posting while one is pending throws (the staging buffers belong to it).
    public func post(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)],
                     tag: Int) throws -> PendingExchange {
        guard inFlight == nil else {
            throw MPIError(call: "MPI_Isend", code: nil, message: "an exchange (tag \(inFlight!.tag)) is still pending; complete it before posting tag \(tag)")
        }
        let comm = communicator.comm
        let start = ContinuousClock.now
        let t = try mpiTag(tag, "MPI_Irecv")

        // Validate everything before posting anything, so a bad argument leaves nothing in flight.
        var recvOffsets = [Int](); recvOffsets.reserveCapacity(sources.count + 1)
        var recvTotal = 0
        for s in sources {
            _ = try mpiRank(s.rank, size: size, "source", "MPI_Irecv")
            _ = try mpiCount(s.maxBytes, "MPI_Irecv")
            recvOffsets.append(recvTotal); recvTotal += s.maxBytes
        }
        var sendOffsets = [Int](); sendOffsets.reserveCapacity(sends.count)
        var sendTotal = 0
        for m in sends {
            _ = try mpiRank(m.destination, size: size, "destination", "MPI_Isend")
            _ = try mpiCount(m.bytes.count, "MPI_Isend")
            sendOffsets.append(sendTotal); sendTotal += m.bytes.count
        }
        let recvBase = recvPool.reserve(recvTotal)
        let sendBase = sendPool.reserve(sendTotal)
        for (i, m) in sends.enumerated() {
            m.bytes.withUnsafeBytes { src in
                if let p = src.baseAddress { (sendBase + sendOffsets[i]).copyMemory(from: p, byteCount: src.count) }
            }
        }

        let count = sources.count + sends.count
        var requests = [MPI_Request](repeating: cmpi_request_null(), count: count)
        var posted = 0
        // If posting fails midway, the posted operations still own the staging buffers: give the
        // buffers up to them (leak) instead of reusing or freeing memory MPI may still touch.
        defer { if posted > 0 && posted < count { sendPool.abandon(); recvPool.abandon() } }
        for (i, s) in sources.enumerated() {
            try check(MPI_Irecv(recvBase + recvOffsets[i], Int32(s.maxBytes), cmpi_byte(), Int32(s.rank), t,
                                comm, &requests[posted]), "MPI_Irecv")
            posted += 1
        }
        for (i, m) in sends.enumerated() {
            try check(MPI_Isend(sendBase + sendOffsets[i], Int32(m.bytes.count), cmpi_byte(), Int32(m.destination),
                                t, comm, &requests[posted]), "MPI_Isend")
            posted += 1
        }
        let posting = ContinuousClock.now
        inFlight = InFlight(requests: requests, recvBase: recvBase, recvOffsets: recvOffsets, tag: tag, posted: posting)
        // Only the sizes are kept (for errors): the payloads are in the staging buffer.
        return PendingExchange(sendSizes: sends.map { ($0.destination, $0.bytes.count) }, sources: sources, tag: tag,
                               postSeconds: seconds(posting - start))
    }

    /// Waits for the pending exchange with `MPI_Waitall` (under the peer watchdog) and returns what it
    /// received, in the order of its sources. `waitSeconds` is the time from the start of the wait (not from
    /// the post: the caller's work in between is not waiting). A message longer than its `maxBytes` throws
    /// an `MPIError` (message truncated) on the receiving rank.
    public func complete(_ pending: PendingExchange) throws -> ExchangeResult {
        guard var f = inFlight, f.tag == pending.tag else {
            throw MPIError(call: "MPI_Waitall", code: nil, message: "no exchange with tag \(pending.tag) is pending")
        }
        inFlight = nil
        let sources = pending.sources
        let count = f.requests.count
        let waitStart = ContinuousClock.now
        var statuses = [MPI_Status](repeating: MPI_Status(), count: count)
        let outcome = MPIActivity.shared.during(.exchange) { waitAll(&f.requests, &statuses) }
        let waited = ContinuousClock.now
        switch outcome {
        case .success: break
        case .broken(let rc):
            sendPool.abandon(); recvPool.abandon()   // operations may still be active
            throw MPIError(call: "MPI_Waitall", code: rc)
        case .failed(let errors):
            throw exchangeError(errors, sources, pending.sendSizes)
        }

        var received = [[UInt8]](); received.reserveCapacity(sources.count)
        for i in sources.indices {
            var n: Int32 = 0
            try check(MPI_Get_count(&statuses[i], cmpi_byte(), &n), "MPI_Get_count")
            guard n >= 0, Int(n) <= sources[i].maxBytes else {
                throw MPIError(call: "MPI_Get_count", code: nil,
                               message: "receive from rank \(sources[i].rank) has no valid byte count")
            }
            received.append(Array(UnsafeRawBufferPointer(start: f.recvBase + f.recvOffsets[i], count: Int(n))))
        }
        return ExchangeResult(received: received, postSeconds: pending.postSeconds,
                              waitSeconds: seconds(waited - waitStart))
    }

    /// The error for an exchange in which some operations failed (all others completed), naming the
    /// first failed one.
    private func exchangeError(_ errors: [Int32], _ sources: [(rank: Int, maxBytes: Int)],
                               _ sends: [(destination: Int, bytes: Int)]) -> MPIError {
        guard let i = errors.firstIndex(where: { $0 != MPI_SUCCESS }) else {
            return MPIError(call: "MPI_Waitall", code: nil, message: "failed without a failed request")
        }
        let what = i < sources.count
            ? "receive from rank \(sources[i].rank), at most \(sources[i].maxBytes) bytes"
            : "send of \(sends[i - sources.count].bytes) bytes to rank \(sends[i - sources.count].destination)"
        return MPIError(call: "MPI_Waitall", code: errors[i], message: "\(mpiErrorString(errors[i])) (\(what))")
    }

    /// Replaces `bytes` on every rank with root's (any length); every rank must call it.
    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        try communicator.broadcast(&bytes, root: root)
    }

    /// Root receives every rank's bytes in rank order; the other ranks receive an empty array.
    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        try communicator.gatherv(bytes, root: root)
    }

    /// Element-wise sum over ranks, delivered to every rank; every rank must pass the same count.
    public func allreduceSum(_ values: [Int64]) throws -> [Int64] {
        try communicator.allreduce(values, .sum)
    }

    /// Element-wise maximum over ranks, delivered to every rank; every rank must pass the same count.
    public func allreduceMax(_ values: [Int64]) throws -> [Int64] {
        try communicator.allreduce(values, .max)
    }

    /// Ends every rank of the job: prints `spikescale: rank R: message` to stderr once, then
    /// `MPI_Abort(MPI_COMM_WORLD, 1)`, then `exit(1)` should that return. Any one rank may call it.
    public func abort(_ message: String) -> Never {
        MPIRuntime.abort(message, rank: rank)
    }
}

/// Seconds in `d`, as a Double.
private func seconds(_ d: Duration) -> Double {
    let c = d.components
    return Double(c.seconds) + Double(c.attoseconds) * 1e-18
}

/// A growable raw byte buffer reused across exchanges (16-byte aligned, never empty).
private struct StagingBuffer {
    private var base: UnsafeMutableRawPointer?
    private var capacity = 0

    /// A pointer to at least `bytes` bytes; previous contents are not kept.
    mutating func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if let b = base, capacity >= bytes { return b }
        base?.deallocate()
        capacity = max(bytes, 4096, capacity * 2)
        let b = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        base = b
        return b
    }

    /// Forgets the buffer without freeing it, because MPI may still read or write it.
    mutating func abandon() { base = nil; capacity = 0 }

    /// Frees the buffer; only when no MPI operation uses it.
    mutating func free() { base?.deallocate(); base = nil; capacity = 0 }
}
