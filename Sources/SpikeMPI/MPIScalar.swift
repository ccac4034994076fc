internal import CMPI

/// The fixed-width element types SpikeMPI's typed collectives can carry.
public enum MPIScalarKind: Sendable {
    case uint8, int8, uint16, int16, uint32, int32, uint64, int64, float, double

    /// The matching MPI datatype (`MPI_UINT8_T`, ..., `MPI_DOUBLE`).
    var datatype: MPI_Datatype {
        switch self {
        case .uint8: return cmpi_uint8()
        case .int8: return cmpi_int8()
        case .uint16: return cmpi_uint16()
        case .int16: return cmpi_int16()
        case .uint32: return cmpi_uint32()
        case .int32: return cmpi_int32()
        case .uint64: return cmpi_uint64()
        case .int64: return cmpi_int64()
        case .float: return cmpi_float()
        case .double: return cmpi_double()
        }
    }
}

/// A fixed-width numeric type whose arrays SpikeMPI sends as MPI elements of the matching datatype.
///
/// Only the conformances below exist; their memory layout is exactly the MPI datatype's, which is what
/// makes passing an array's storage to MPI correct. Do not add conformances for other types.
public protocol MPIScalar: Sendable {
    static var mpiScalarKind: MPIScalarKind { get }
}

extension UInt8: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint8 } }
extension Int8: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int8 } }
extension UInt16: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint16 } }
extension Int16: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int16 } }
extension UInt32: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint32 } }
extension Int32: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int32 } }
extension UInt64: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .uint64 } }
extension Int64: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .int64 } }
extension Float: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .float } }
extension Double: MPIScalar { public static var mpiScalarKind: MPIScalarKind { .double } }

/// An element-wise reduction for `Communicator.allreduce`.
public enum ReduceOp: Sendable {
    case sum, max, min

    var op: MPI_Op {
        switch self {
        case .sum: return cmpi_sum()
        case .max: return cmpi_max()
        case .min: return cmpi_min()
        }
    }
}
