internal import CMPI

/// A group of MPI ranks (today always `MPI_COMM_WORLD`) with typed, checked collectives and
/// point-to-point messages.
///
/// Collectives must be called by every rank of the communicator, in the same order, with the same
/// `root`/`op`; counts may differ per rank wherever the method says so. All calls must come from the
/// thread that initialised MPI (`MPI_THREAD_FUNNELED`). Every MPI return code is checked: a failure
/// throws an `MPIError` on the rank that saw it, so code that cannot recover should abort the job
/// (`MPIRuntime.abort`) rather than leave the other ranks waiting. Counts are element counts and must
/// fit MPI's 32-bit `int`, as must the total a rank receives from one collective.
public final class Communicator: @unchecked Sendable {
    let comm: MPI_Comm
    /// This process's rank in the communicator, `0..<size`.
    public let rank: Int
    /// The number of ranks in the communicator.
    public let size: Int
    /// The most elements `broadcast` moves in one `MPI_Bcast`; larger arrays go in chunks.
    /// Must be the same on every rank (only tests lower it).
    var maxChunkElements = Int(Int32.max)

    init(comm: MPI_Comm) throws {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &s), "MPI_Comm_size")
        rank = Int(r); size = Int(s)
    }

    /// The communicator of all ranks of the job, initialising MPI first if need be.
    ///
    /// Every rank must call it. Without `mpiexec` the world is this process alone (size 1).
    public static func world() throws -> Communicator {
        try MPIRuntime.initialize()
        return try Communicator(comm: cmpi_comm_world())
    }

    /// The largest tag MPI accepts on this communicator (`MPI_TAG_UB`, at least 32767); tags are `0...maxTag`.
    public var maxTag: Int { Int(cmpi_tag_ub(comm)) }

    /// Blocks until every rank has called it.
    public func barrier() throws {
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    // MARK: Reductions and gathers

    /// Element-wise reduction of `values` over all ranks, delivered to every rank.
    ///
    /// Every rank must pass the same number of elements. Integer results are exact (sums wrap on
    /// overflow as in C); floating-point sums use MPI's reduction order, which is deterministic for a
    /// given number of ranks but is not necessarily rank order.
    public func allreduce<T: MPIScalar>(_ values: [T], _ op: ReduceOp) throws -> [T] {
        let call = "MPI_Allreduce"
        let n = try mpiCount(values.count, call)
        return try values.withUnsafeBytes { send in
            try makeArray(count: values.count) { recv in
                try check(MPI_Allreduce(send.baseAddress, recv, n, T.mpiScalarKind.datatype, op.op, comm), call)
            }
        }
    }

    /// Every rank's `value`, in rank order, delivered to every rank.
    public func allgather<T: MPIScalar>(_ value: T) throws -> [T] {
        let call = "MPI_Allgather"
        let dt = T.mpiScalarKind.datatype
        return try withUnsafeBytes(of: value) { send in
            try makeArray(count: size) { recv in
                try check(MPI_Allgather(send.baseAddress, 1, dt, recv, 1, dt, comm), call)
            }
        }
    }

    /// Every rank's `values`, indexed by rank, delivered to every rank; ranks may pass different counts.
    public func allgatherv<T: MPIScalar>(_ values: [T]) throws -> [[T]] {
        let call = "MPI_Allgatherv"
        let dt = T.mpiScalarKind.datatype
        let n = try mpiCount(values.count, call)
        let counts = try allgather(n)
        let (displs, total) = try displacements(counts, call)
        let flat: [T] = try values.withUnsafeBytes { send in
            try makeArray(count: total) { recv in
                try check(MPI_Allgatherv(send.baseAddress, n, dt, recv, counts, displs, dt, comm), call)
            }
        }
        return split(flat, counts)
    }

    /// Personalised all-to-all: `sends[d]` goes to rank `d`; returns what each rank sent here, by rank.
    ///
    /// Every rank must pass exactly `size` arrays (any of them empty). Counts are exchanged first, so
    /// receivers need not know them in advance.
    public func alltoallv<T: MPIScalar>(_ sends: [[T]]) throws -> [[T]] {
        let call = "MPI_Alltoallv"
        guard sends.count == size else {
            throw MPIError(call: call, code: nil, message: "expected \(size) send arrays (one per rank), got \(sends.count)")
        }
        let dt = T.mpiScalarKind.datatype
        var sendCounts = [Int32](); sendCounts.reserveCapacity(size)
        for s in sends { sendCounts.append(try mpiCount(s.count, call)) }
        let (sendDispls, sendTotal) = try displacements(sendCounts, call)
        var recvCounts = [Int32](repeating: 0, count: size)
        try check(MPI_Alltoall(sendCounts, 1, cmpi_int32(), &recvCounts, 1, cmpi_int32(), comm), "MPI_Alltoall")
        let (recvDispls, recvTotal) = try displacements(recvCounts, call)
        var flatSend = [T](); flatSend.reserveCapacity(sendTotal)
        for s in sends { flatSend.append(contentsOf: s) }
        let flat: [T] = try flatSend.withUnsafeBytes { send in
            try makeArray(count: recvTotal) { recv in
                try check(MPI_Alltoallv(send.baseAddress, sendCounts, sendDispls, dt,
                                        recv, recvCounts, recvDispls, dt, comm), call)
            }
        }
        return split(flat, recvCounts)
    }

    /// Every rank's `values`, indexed by rank, delivered to `root`; other ranks get an empty array.
    ///
    /// Every rank must call it with the same `root`; ranks may pass different counts.
    public func gatherv<T: MPIScalar>(_ values: [T], root: Int) throws -> [[T]] {
        let call = "MPI_Gatherv"
        let dt = T.mpiScalarKind.datatype
        let r = try mpiRank(root, size: size, "root", call)
        var n = try mpiCount(values.count, call)
        let isRoot = rank == root
        var counts = [Int32](repeating: 0, count: isRoot ? size : 0)
        try counts.withUnsafeMutableBytes { recv in
            try check(MPI_Gather(&n, 1, cmpi_int32(), recv.baseAddress, 1, cmpi_int32(), r, comm), "MPI_Gather")
        }
        guard isRoot else {
            try values.withUnsafeBytes { send in
                try check(MPI_Gatherv(send.baseAddress, n, dt, nil, nil, nil, dt, r, comm), call)
            }
            return []
        }
        let (displs, total) = try displacements(counts, call)
        let flat: [T] = try values.withUnsafeBytes { send in
            try makeArray(count: total) { recv in
                try check(MPI_Gatherv(send.baseAddress, n, dt, recv, counts, displs, dt, r, comm), call)
            }
        }
        return split(flat, counts)
    }

    /// Replaces `values` on every rank with `root`'s array, whatever its length.
    ///
    /// Every rank must call it with the same `root`. The length goes first (as Int64), then the data,
    /// in chunks of at most `Int32.max` elements, so arrays above MPI's `int` count are fine here.
    public func broadcast<T: MPIScalar>(_ values: inout [T], root: Int) throws {
        let call = "MPI_Bcast"
        let dt = T.mpiScalarKind.datatype
        let r = try mpiRank(root, size: size, "root", call)
        var count = Int64(values.count)
        try check(MPI_Bcast(&count, 1, cmpi_int64(), r, comm), call)
        let total = Int(count)
        let chunk = max(1, min(maxChunkElements, Int(Int32.max)))
        let stride = MemoryLayout<T>.stride
        func pump(_ base: UnsafeMutableRawPointer?) throws {
            var offset = 0
            while offset < total {
                let n = min(chunk, total - offset)
                try check(MPI_Bcast(base.map { $0 + offset * stride }, Int32(n), dt, r, comm), call)
                offset += n
            }
        }
        if rank == root {
            try values.withUnsafeBytes { try pump(UnsafeMutableRawPointer(mutating: $0.baseAddress)) }
        } else {
            values = try makeArray(count: total) { try pump($0) }
        }
    }

    // MARK: Point to point

    /// Sends `bytes` to rank `destination` with `tag` and returns once the buffer may be reused.
    ///
    /// Blocking (`MPI_Send`): for messages beyond MPI's eager limit it waits for the matching receive,
    /// so pair it with a `recv` posted on the destination. Zero-length messages are allowed.
    public func send(_ bytes: [UInt8], to destination: Int, tag: Int) throws {
        let call = "MPI_Send"
        let d = try mpiRank(destination, size: size, "destination", call)
        let t = try mpiTag(tag, call)
        let n = try mpiCount(bytes.count, call)
        try bytes.withUnsafeBytes { buf in
            try check(MPI_Send(buf.baseAddress, n, cmpi_byte(), d, t, comm), call)
        }
    }

    /// Receives the next message from rank `source` with `tag`, of whatever length it has.
    ///
    /// Blocking; the length is learnt with a matched probe (`MPI_Mprobe`), so no size bound is needed.
    public func recv(from source: Int, tag: Int) throws -> [UInt8] {
        let s = try mpiRank(source, size: size, "source", "MPI_Mprobe")
        return try receiveProbed(source: s, tag: try mpiTag(tag, "MPI_Mprobe")).bytes
    }

    /// Receives the next message with `tag` from whichever rank sends one first.
    public func recvAny(tag: Int) throws -> (source: Int, bytes: [UInt8]) {
        let r = try receiveProbed(source: cmpi_any_source(), tag: try mpiTag(tag, "MPI_Mprobe"))
        return (Int(r.source), r.bytes)
    }

    private func receiveProbed(source: Int32, tag: Int32) throws -> (source: Int32, bytes: [UInt8]) {
        var message = MPI_Message()
        var status = MPI_Status()
        try check(MPI_Mprobe(source, tag, comm, &message, &status), "MPI_Mprobe")
        var n: Int32 = 0
        try check(MPI_Get_count(&status, cmpi_byte(), &n), "MPI_Get_count")
        let bytes: [UInt8] = try makeArray(count: Int(n)) { buf in
            try check(MPI_Mrecv(buf, n, cmpi_byte(), &message, cmpi_status_ignore()), "MPI_Mrecv")
        }
        return (cmpi_status_source(&status), bytes)
    }
}

// MARK: Helpers

/// An array of `count` trivially-copyable elements whose storage `fill` writes through a raw pointer.
///
/// The pointer may be nil when `count` is 0. The array is only kept if `fill` returns normally.
@inline(__always)
func makeArray<T>(count: Int, _ fill: (UnsafeMutableRawPointer?) throws -> Void) throws -> [T] {
    try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
        try fill(UnsafeMutableRawPointer(buffer.baseAddress))
        initialized = count
    }
}

/// Exclusive prefix sums of `counts` as MPI displacements, and their total, which must fit an `int`.
func displacements(_ counts: [Int32], _ call: String) throws -> (displs: [Int32], total: Int) {
    var displs = [Int32](); displs.reserveCapacity(counts.count)
    var total = 0
    for c in counts {
        displs.append(Int32(truncatingIfNeeded: total))
        total += Int(c)
    }
    _ = try mpiCount(total, call)
    return (displs, total)
}

/// `flat` cut into consecutive pieces of `counts[i]` elements.
func split<T>(_ flat: [T], _ counts: [Int32]) -> [[T]] {
    var out = [[T]](); out.reserveCapacity(counts.count)
    var offset = 0
    for c in counts {
        out.append(Array(flat[offset..<(offset + Int(c))]))
        offset += Int(c)
    }
    return out
}
