internal import CMPI

/// A group of MPI ranks (today always `MPI_COMM_WORLD`) with the typed, checked collectives
/// `MPITransport` needs.
///
/// Collectives must be called by every rank of the communicator, in the same order, with the same
/// `root`/`op`; counts may differ per rank wherever the method says so. All calls must come from the
/// thread that initialised MPI (`MPI_THREAD_FUNNELED`). Every MPI return code is checked: a failure
/// throws an `MPIError` on the rank that saw it, so code that cannot recover should abort the job
/// (`MPIRuntime.abort`) rather than leave the other ranks waiting. Counts are element counts and must
/// fit MPI's 32-bit `int`, as must the total a rank receives from one collective.
final class Communicator: @unchecked Sendable {
    let comm: MPI_Comm
    /// This process's rank in the communicator, `0..<size`.
    let rank: Int
    /// The number of ranks in the communicator.
    let size: Int

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
    static func world() throws -> Communicator {
        try MPIRuntime.initialize()
        return try Communicator(comm: cmpi_comm_world())
    }

    /// The communicator of the ranks that pass the same `color`, ordered by `key`. Collective.
    func subgroup(color: Int, key: Int) throws -> Communicator {
        var sub = cmpi_comm_world()
        try MPIActivity.shared.during(.split) {
            try check(MPI_Comm_split(comm, Int32(color), Int32(key), &sub), "MPI_Comm_split")
        }
        return try Communicator(comm: sub)
    }

    // MARK: Reductions and gathers

    /// Element-wise reduction of `values` over all ranks, delivered to every rank.
    ///
    /// Every rank must pass the same number of elements. Integer results are exact (sums wrap on
    /// overflow as in C); floating-point sums use MPI's reduction order, which is deterministic for a
    /// given number of ranks but is not necessarily rank order.
    func allreduce<T: MPIScalar>(_ values: [T], _ op: ReduceOp) throws -> [T] {
        try MPIActivity.shared.during(.reduce) { try allreduceNow(values, op) }
    }

    private func allreduceNow<T: MPIScalar>(_ values: [T], _ op: ReduceOp) throws -> [T] {
        let call = "MPI_Allreduce"
        let n = try mpiCount(values.count, call)
        return try values.withUnsafeBytes { send in
            try makeArray(count: values.count) { recv in
                try check(MPI_Allreduce(send.baseAddress, recv, n, T.mpiScalarKind.datatype, op.op, comm), call)
            }
        }
    }

    /// Every rank's `values`, indexed by rank, delivered to `root`; other ranks get an empty array.
    ///
    /// Every rank must call it with the same `root`; ranks may pass different counts.
    func gatherv<T: MPIScalar>(_ values: [T], root: Int) throws -> [[T]] {
        try MPIActivity.shared.during(.gather) { try gathervNow(values, root: root) }
    }

    private func gathervNow<T: MPIScalar>(_ values: [T], root: Int) throws -> [[T]] {
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
    func broadcast<T: MPIScalar>(_ values: inout [T], root: Int) throws {
        MPIActivity.shared.set(.broadcast)
        defer { MPIActivity.shared.set(.compute) }
        let call = "MPI_Bcast"
        let dt = T.mpiScalarKind.datatype
        let r = try mpiRank(root, size: size, "root", call)
        var count = Int64(values.count)
        try check(MPI_Bcast(&count, 1, cmpi_int64(), r, comm), call)
        let total = Int(count)
        let chunk = Int(Int32.max)   // the most elements one MPI_Bcast moves
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
