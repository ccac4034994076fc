import CHDF5
import Foundation
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// Writing an `H5Node` tree as an HDF5 file (the NIR exporter).
extension HDF5Tree {
    /// Writes `root` (a group) to `path`, replacing it. Numbers are written as float32 unless `integers`
    /// says the dataset holds integers (int64); strings as variable-length UTF-8, as h5py does.
    public static func write(_ root: H5Node, to path: String) throws {
        guard case .group(let children) = root else { throw SpikeError("\(path): the root of an HDF5 file must be a group") }
        try locked {
            let f = H5Fcreate(path, ch5_acc_trunc(), ch5_p_default(), ch5_p_default())
            guard f >= 0 else { throw SpikeError("\(path): cannot create the HDF5 file") }
            defer { H5Fclose(f) }
            try writeChildren(children, into: f, at: "/", file: path)
            guard H5Fflush(f, H5F_SCOPE_GLOBAL) >= 0 else { throw SpikeError("\(path): cannot flush the HDF5 file") }
        }
    }

    static func writeChildren(_ children: [String: H5Node], into g: hid_t, at path: String, file: String) throws {
        for name in children.keys.sorted() {
            let cp = childPath(path, name)
            switch children[name]! {
            case .group(let c):
                let sub = H5Gcreate2(g, name, ch5_p_default(), ch5_p_default(), ch5_p_default())
                guard sub >= 0 else { throw SpikeError("\(file): \(cp): cannot create group") }
                defer { H5Gclose(sub) }
                try writeChildren(c, into: sub, at: cp, file: file)
            case .numbers(let shape, let values):
                let isInt = values.allSatisfy { $0 == $0.rounded() && abs($0) < 9e15 } && integerNames.contains(name)
                let space = try makeSpace(shape, cp, file)
                defer { H5Sclose(space) }
                let ftype = isInt ? ch5_std_i64le() : ch5_ieee_f32le()
                let d = H5Dcreate2(g, name, ftype, space, ch5_p_default(), ch5_p_default(), ch5_p_default())
                guard d >= 0 else { throw SpikeError("\(file): \(cp): cannot create dataset") }
                defer { H5Dclose(d) }
                let rc: herr_t
                if isInt {
                    let v = values.map { Int64($0) }
                    rc = v.withUnsafeBufferPointer { H5Dwrite(d, ch5_native_int64(), ch5_s_all(), ch5_s_all(), ch5_p_default(), $0.baseAddress) }
                } else {
                    let v = values.map { Float($0) }
                    rc = v.withUnsafeBufferPointer { H5Dwrite(d, ch5_native_float(), ch5_s_all(), ch5_s_all(), ch5_p_default(), $0.baseAddress) }
                }
                guard rc >= 0 else { throw SpikeError("\(file): \(cp): cannot write dataset") }
            case .strings(let shape, let values):
                let space = try makeSpace(shape, cp, file)
                defer { H5Sclose(space) }
                let t = H5Tcopy(ch5_c_s1())
                defer { H5Tclose(t) }
                H5Tset_size(t, ch5_variable())
                H5Tset_cset(t, H5T_CSET_UTF8)
                let d = H5Dcreate2(g, name, t, space, ch5_p_default(), ch5_p_default(), ch5_p_default())
                guard d >= 0 else { throw SpikeError("\(file): \(cp): cannot create dataset") }
                defer { H5Dclose(d) }
                let cstrings = values.map { strdup($0) }
                defer { cstrings.forEach { free($0) } }
                var ptrs: [UnsafePointer<CChar>?] = cstrings.map { UnsafePointer($0) }
                guard H5Dwrite(d, t, ch5_s_all(), ch5_s_all(), ch5_p_default(), &ptrs) >= 0 else {
                    throw SpikeError("\(file): \(cp): cannot write dataset")
                }
            }
        }
    }

    /// Dataset names the writer stores as int64 (NIR's integer parameters); everything else numeric is float32.
    public static let integerNames: Set<String> = ["stride", "padding", "dilation", "groups", "kernel_size", "input_shape",
                                                   "shape", "start_dim", "end_dim", "input", "output", "delay_steps"]

    static func makeSpace(_ shape: [Int], _ path: String, _ file: String) throws -> hid_t {
        let s: hid_t
        if shape.isEmpty {
            s = H5Screate(H5S_SCALAR)
        } else {
            var dims = shape.map { hsize_t($0) }
            s = H5Screate_simple(Int32(dims.count), &dims, nil)
        }
        guard s >= 0 else { throw SpikeError("\(file): \(path): cannot create dataspace \(shape)") }
        return s
    }
}
