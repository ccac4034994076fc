internal import CMPI

/// The fixed-width element types SpikeMPI's typed collectives carry.
enum MPIScalarKind: Sendable {
    case uint8, int64

    /// The matching MPI datatype (`MPI_UINT8_T`, `MPI_INT64_T`).
    var datatype: MPI_Datatype {
        switch self {
        case .uint8: return cmpi_uint8()
        case .int64: return cmpi_int64()
        }
    }
}

/// A fixed-width numeric type whose arrays SpikeMPI sends as MPI elements of the matching datatype.
///
/// Only the conformances below exist (the element types `MPITransport` moves); their memory layout
/// is exactly the MPI datatype's, which is what makes passing an array's storage to MPI correct.
protocol MPIScalar: Sendable {
    static var mpiScalarKind: MPIScalarKind { get }
}

extension UInt8: MPIScalar { static var mpiScalarKind: MPIScalarKind { .uint8 } }
extension Int64: MPIScalar { static var mpiScalarKind: MPIScalarKind { .int64 } }

/// An element-wise reduction for `Communicator.allreduce`.
enum ReduceOp: Sendable {
    case sum, max

    var op: MPI_Op {
        switch self {
        case .sum: return cmpi_sum()
        case .max: return cmpi_max()
        }
    }
}
