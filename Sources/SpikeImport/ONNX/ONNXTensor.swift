import Foundation
import SpikeCore

/// A constant tensor decoded from an initializer, a `Constant` node or a tensor attribute.
/// Float-typed tensors fill `floats`; integer-typed ones fill `ints` (exact) and `floats`.
struct ONNXConstant: Sendable {
    var dims: [Int]
    var floats: [Float]
    var ints: [Int64]?

    var count: Int { floats.count }
    var rank: Int { dims.count }
}

extension ONNXConstant {
    /// Decodes `t`; `what` names the tensor in errors (e.g. "initializer 'conv1.weight'").
    static func decode(_ t: Onnx_TensorProto, what: String, file: String) throws -> ONNXConstant {
        func fail(_ m: String) -> SpikeError { SpikeError("\(file): \(what): \(m)") }
        if t.dataLocation == .external || !t.externalData.isEmpty {
            let loc = t.externalData.first { $0.key == "location" }?.value ?? "?"
            throw fail("the tensor is stored as external data ('\(loc)'); external data is not supported, "
                       + "save the model with all tensors inside the .onnx file (onnx.save_model(m, path, save_as_external_data=False))")
        }
        guard t.dims.allSatisfy({ $0 >= 0 }) else { throw fail("negative dimension in \(t.dims)") }
        let dims = t.dims.map { Int($0) }
        let n = InputLimits.product(dims)
        try InputLimits.check(n, .tensorElements, "\(file): \(what): the elements of dims \(t.dims)")
        let raw = t.rawData
        func rawCheck(_ size: Int) throws {
            guard raw.count == n * size else {
                throw fail("raw_data holds \(raw.count) bytes, dims \(dims) need \(n * size)")
            }
        }
        func typed<T>(_ a: [T], _ field: String) throws -> [T] {
            if a.count == n { return a }
            throw fail("\(field) holds \(a.count) values, dims \(dims) need \(n)")
        }
        func le<T: FixedWidthInteger>(_ type: T.Type) -> [T] {
            let size = MemoryLayout<T>.size
            var out = [T](repeating: 0, count: n)
            raw.withUnsafeBytes { (b: UnsafeRawBufferPointer) in
                for i in 0..<n { out[i] = T(littleEndian: b.loadUnaligned(fromByteOffset: i * size, as: T.self)) }
            }
            return out
        }
        let hasRaw = t.hasRawData
        switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
        case .float?:
            if hasRaw {
                try rawCheck(4)
                return ONNXConstant(dims: dims, floats: le(UInt32.self).map { Float(bitPattern: $0) }, ints: nil)
            }
            return ONNXConstant(dims: dims, floats: try typed(t.floatData, "float_data"), ints: nil)
        case .double?:
            if hasRaw {
                try rawCheck(8)
                return ONNXConstant(dims: dims, floats: le(UInt64.self).map { Float(Double(bitPattern: $0)) }, ints: nil)
            }
            return ONNXConstant(dims: dims, floats: try typed(t.doubleData, "double_data").map { Float($0) }, ints: nil)
        case .int64?:
            let v: [Int64]
            if hasRaw { try rawCheck(8); v = le(Int64.self) } else { v = try typed(t.int64Data, "int64_data") }
            return ONNXConstant(dims: dims, floats: v.map { Float($0) }, ints: v)
        case .int32?, .int16?, .int8?, .uint8?, .uint16?, .bool?:
            let v: [Int64]
            if hasRaw {
                switch Onnx_TensorProto.DataType(rawValue: Int(t.dataType)) {
                case .int32?: try rawCheck(4); v = le(Int32.self).map { Int64($0) }
                case .int16?: try rawCheck(2); v = le(Int16.self).map { Int64($0) }
                case .uint16?: try rawCheck(2); v = le(UInt16.self).map { Int64($0) }
                case .int8?: try rawCheck(1); v = le(Int8.self).map { Int64($0) }
                default: try rawCheck(1); v = le(UInt8.self).map { Int64($0) }
                }
            } else {
                v = try typed(t.int32Data, "int32_data").map { Int64($0) }
            }
            return ONNXConstant(dims: dims, floats: v.map { Float($0) }, ints: v)
        default:
            let name = Onnx_TensorProto.DataType(rawValue: Int(t.dataType)).map { "\($0)" } ?? "#\(t.dataType)"
            throw fail("data type \(name) is not supported (float, double and integer tensors are)")
        }
    }

    /// The integer values (integer tensors exactly; float tensors only if every value is integral).
    func integers(what: String, file: String) throws -> [Int] {
        if let ints { return ints.map { Int(clamping: $0) } }
        return try floats.map { f in
            guard f.isFinite, f == f.rounded(), abs(f) < 1e15 else {
                throw SpikeError("\(file): \(what): expected integers, got \(f)")
            }
            return Int(f)
        }
    }
}
