internal import CMPI

/// A failed MPI operation: the MPI call that failed and MPI's own description of why.
///
/// `code` is the MPI error code the call returned, or nil when SpikeMPI rejected the arguments
/// before calling MPI (for example a count that does not fit MPI's 32-bit `int`). MPI errors come
/// back as codes because `MPIRuntime` sets `MPI_ERRORS_RETURN` on `MPI_COMM_WORLD`; an error is
/// local to the rank that threw it, so a caller that cannot recover should call
/// `MPITransport.abort(_:)` to end every rank rather than let one rank exit alone.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    /// The MPI function (or SpikeMPI operation) that failed, e.g. `"MPI_Allreduce"`.
    public let call: String
    /// The MPI error code, or nil for an argument SpikeMPI rejected itself.
    public let code: Int32?
    /// MPI's error string for `code`, or SpikeMPI's explanation when `code` is nil.
    public let message: String

    init(call: String, code: Int32?, message: String) {
        self.call = call; self.code = code; self.message = message
    }

    /// Builds the error for MPI return code `code` from `call`, reading MPI's error string.
    init(call: String, code: Int32) {
        self.init(call: call, code: code, message: mpiErrorString(code))
    }

    public var description: String { "\(call) failed: \(message)" }
}

/// MPI's description of error code `code` (MPICH includes the error stack, e.g. the truncated sizes).
///
/// Safe on any rank at any time, including before `MPI_Init` and after `MPI_Finalize`.
func mpiErrorString(_ code: Int32) -> String {
    let capacity = Int(cmpi_max_error_string())
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    defer { buffer.deallocate() }
    _ = cmpi_error_string(code, buffer, Int32(capacity))
    return String(cString: buffer)
}

/// Throws an `MPIError` naming `call` unless `rc` is `MPI_SUCCESS`; every MPI call goes through it.
@inline(__always)
func check(_ rc: Int32, _ call: String) throws {
    if rc != MPI_SUCCESS { throw MPIError(call: call, code: rc) }
}

/// `n` as MPI's `int` count, or an `MPIError` naming `call` if it does not fit in Int32.
///
/// MPI's classic interface counts elements (not bytes) in a C `int`; SpikeMPI does not use the
/// large-count (`_c`) variants, so anything above `Int32.max` elements is rejected here.
@inline(__always)
func mpiCount(_ n: Int, _ call: String) throws -> Int32 {
    guard let c = Int32(exactly: n), c >= 0 else {
        throw MPIError(call: call, code: nil,
                       message: "count \(n) does not fit in MPI's 32-bit int (0...\(Int32.max))")
    }
    return c
}

/// `rank` as an MPI rank in `0..<size`, or an `MPIError` naming `call` and `what` the rank is.
@inline(__always)
func mpiRank(_ rank: Int, size: Int, _ what: String, _ call: String) throws -> Int32 {
    guard rank >= 0, rank < size else {
        throw MPIError(call: call, code: nil, message: "\(what) rank \(rank) is not in 0..<\(size)")
    }
    return Int32(truncatingIfNeeded: rank)
}

/// `tag` as an MPI tag, or an `MPIError` naming `call` if it does not fit in Int32.
///
/// Values that fit but lie outside `0...MPI_TAG_UB` are left for MPI to reject (`MPI_ERR_TAG`).
@inline(__always)
func mpiTag(_ tag: Int, _ call: String) throws -> Int32 {
    guard let t = Int32(exactly: tag) else {
        throw MPIError(call: call, code: nil, message: "tag \(tag) does not fit in MPI's 32-bit int")
    }
    return t
}
