import CHDF5
import Foundation
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// One HDF5 object as the NIR reader and writer see it: a group of named children, a numeric
/// array (any integer or float type, read as Double, with its shape; a scalar has shape []), or
/// strings (variable or fixed length, with their shape).
public indirect enum H5Node: Sendable, Equatable {
    case group([String: H5Node])
    case numbers(shape: [Int], values: [Double])
    case strings(shape: [Int], values: [String])

    public var children: [String: H5Node]? { if case .group(let c) = self { c } else { nil } }
}

/// Reads a whole HDF5 file into an `H5Node` tree, and writes one. Every HDF5 call is checked;
/// HDF5's own error stack printing is turned off and a failure becomes one `SpikeError` naming
/// the file and the object path. Sizes are bounded (`limits`) so a corrupt header cannot ask for
/// an absurd allocation.
public enum HDF5Tree {
    public struct Limits: Sendable {
        public var maxElements = 1 << 24        // per dataset (16 M numbers)
        public var maxTotalElements = 1 << 25   // in the whole file
        public var maxDepth = 32
        public var maxChildren = 1 << 16
        public var maxRank = 8
        public init() {}
    }

    /// HDF5's library state is global and not thread-safe in Debian's serial build: every call goes through this lock.
    static let lock = NSLock()

    static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        ch5_silence_errors()   // also for threads that have not made an HDF5 call yet
        return try body()
    }

    /// The HDF5 identifiers open in this process, by kind: files, groups, datasets, datatypes, dataspaces,
    /// attributes and property lists (HDF5's own predefined types and default lists included). The reader
    /// and writer close every identifier they open, on every path, so reading or refusing a file leaves
    /// these counts as they were (NIRTests checks it over malformed files).
    public static func openIdentifiers() -> [String: Int] {
        locked {
            ["files": Int(ch5_open_objects(ch5_obj_file())), "groups": Int(ch5_open_objects(ch5_obj_group())),
             "datasets": Int(ch5_open_objects(ch5_obj_dataset())), "committed datatypes": Int(ch5_open_objects(ch5_obj_datatype())),
             "attributes": Int(ch5_open_objects(ch5_obj_attr())), "datatypes": Int(ch5_open_ids(H5I_DATATYPE)),
             "dataspaces": Int(ch5_open_ids(H5I_DATASPACE)), "property lists": Int(ch5_open_ids(H5I_GENPROP_LST))]
        }
    }

    /// Reads `path`. `label` (default: the path) names the file in errors.
    public static func read(path: String, label: String? = nil, limits: Limits = Limits()) throws -> H5Node {
        let file = label ?? path
        return try locked {
            var st = stat()
            guard stat(path, &st) == 0 else { throw SpikeError("\(file): cannot open (\(String(cString: strerror(errno))))") }
            guard H5Fis_hdf5(path) > 0 else { throw SpikeError("\(file): not an HDF5 file (no HDF5 signature; a NIR file is HDF5)") }
            let raw = FileRaw(path: path, size: Int(st.st_size))
            if let problem = raw.superblockProblem() { throw SpikeError("\(file): corrupt HDF5 file (\(problem))") }
            let f = H5Fopen(path, ch5_acc_rdonly(), ch5_p_default())
            guard f >= 0 else { throw SpikeError("\(file): corrupt HDF5 file (the library cannot open it)") }
            defer { H5Fclose(f) }
            var budget = limits.maxTotalElements
            if let root = raw.rootGroup(), let problem = raw.groupProblem(at: root.address) {
                throw SpikeError("\(file): /: corrupt group (\(problem))")
            }
            return try readGroup(f, at: "/", file: file, raw: raw, depth: 0, limits: limits, budget: &budget)
        }
    }

    /// Reads an HDF5 file given as bytes (the fuzz target and tests); goes through a temporary file.
    public static func read(bytes: [UInt8], label: String, limits: Limits = Limits()) throws -> H5Node {
        var template = Array("/tmp/spikescale-nir-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw SpikeError("cannot create a temporary file for the HDF5 bytes") }
        let path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        let ok = bytes.withUnsafeBytes { b -> Bool in
            var off = 0
            while off < b.count {
                let n = Glibc.write(fd, b.baseAddress! + off, b.count - off)
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        close(fd)
        guard ok else { throw SpikeError("cannot write a temporary file for the HDF5 bytes") }
        return try read(path: path, label: label, limits: limits)
    }

    static func childPath(_ parent: String, _ name: String) -> String { parent == "/" ? "/" + name : parent + "/" + name }


    static func readGroup(_ g: hid_t, at path: String, file: String, raw: FileRaw, depth: Int, limits: Limits, budget: inout Int) throws -> H5Node {
        guard depth <= limits.maxDepth else { throw SpikeError("\(file): \(path): groups nested deeper than \(limits.maxDepth)") }
        let n = ch5_group_count(g)
        guard n >= 0 else { throw SpikeError("\(file): \(path): corrupt group (cannot list its members)") }
        guard n <= limits.maxChildren else { throw SpikeError("\(file): \(path): \(n) members, more than \(limits.maxChildren)") }
        var out = [String: H5Node]()
        for i in 0..<Int(n) {
            let len = ch5_link_name(g, hsize_t(i), nil, 0)
            guard len >= 0, len < 4096 else { throw SpikeError("\(file): \(path): corrupt member name #\(i)") }
            var buf = [CChar](repeating: 0, count: Int(len) + 1)
            guard ch5_link_name(g, hsize_t(i), &buf, buf.count) >= 0 else { throw SpikeError("\(file): \(path): corrupt member name #\(i)") }
            let name = String(decoding: buf.prefix(Int(len)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let cp = childPath(path, name)
            var address: UInt64 = 0
            switch ch5_link_address(g, buf, &address) {
            case 0: break
            case -2: throw SpikeError("\(file): \(cp): a soft or external link (a NIR file holds groups and datasets only)")
            default: throw SpikeError("\(file): \(cp): corrupt link (HDF5 cannot read it)")
            }
            if let problem = raw.objectHeaderProblem(at: Int(clamping: address)) { throw SpikeError("\(file): \(cp): corrupt object header (\(problem))") }
            switch ch5_object_type(g, buf) {
            case Int32(H5O_TYPE_GROUP.rawValue):
                if let problem = raw.groupProblem(at: Int(clamping: address)) { throw SpikeError("\(file): \(cp): corrupt group (\(problem))") }
                let c = H5Gopen2(g, buf, ch5_p_default())
                guard c >= 0 else { throw SpikeError("\(file): \(cp): corrupt group (cannot open it)") }
                defer { H5Gclose(c) }
                out[name] = try readGroup(c, at: cp, file: file, raw: raw, depth: depth + 1, limits: limits, budget: &budget)
            case Int32(H5O_TYPE_DATASET.rawValue):
                if let problem = raw.datasetProblem(at: Int(clamping: address)) { throw SpikeError("\(file): \(cp): corrupt dataset (\(problem))") }
                let d = ch5_dataset_open(g, buf)
                guard d >= 0 else { throw SpikeError("\(file): \(cp): corrupt dataset (cannot open it)") }
                defer { H5Dclose(d) }
                out[name] = try readDataset(d, at: cp, file: file, raw: raw, limits: limits, budget: &budget)
            default:
                throw SpikeError("\(file): \(cp): not a group or dataset (corrupt or unsupported HDF5 object)")
            }
        }
        return .group(out)
    }

    static func readDataset(_ d: hid_t, at path: String, file: String, raw: FileRaw, limits: Limits, budget: inout Int) throws -> H5Node {
        let space = H5Dget_space(d)
        guard space >= 0 else { throw SpikeError("\(file): \(path): corrupt dataset (no dataspace)") }
        defer { H5Sclose(space) }
        let rank = H5Sget_simple_extent_ndims(space)
        guard rank >= 0, Int(rank) <= limits.maxRank else { throw SpikeError("\(file): \(path): corrupt dataspace (rank \(rank))") }
        var dims = [hsize_t](repeating: 0, count: max(1, Int(rank)))
        if rank > 0 { guard H5Sget_simple_extent_dims(space, &dims, nil) == rank else { throw SpikeError("\(file): \(path): corrupt dataspace") } }
        let shape = rank == 0 ? [] : dims.prefix(Int(rank)).map { Int(clamping: $0) }
        var count = 1
        for s in shape {
            let (m, o) = count.multipliedReportingOverflow(by: s)
            guard !o, m <= limits.maxElements else { throw SpikeError("\(file): \(path): \(shape) elements, more than \(limits.maxElements)") }
            count = m
        }
        guard count <= budget else { throw SpikeError("\(file): \(path): the file holds more than \(limits.maxTotalElements) elements in all") }
        budget -= count
        let type = H5Dget_type(d)
        guard type >= 0 else { throw SpikeError("\(file): \(path): corrupt dataset (no datatype)") }
        defer { H5Tclose(type) }
        let cls = H5Tget_class(type)
        switch cls {
        case H5T_INTEGER, H5T_FLOAT:
            var values = [Double](repeating: 0, count: count)
            if count > 0 {
                guard H5Dread(d, ch5_native_double(), ch5_s_all(), ch5_s_all(), ch5_p_default(), &values) >= 0 else {
                    throw SpikeError("\(file): \(path): corrupt dataset (cannot read its \(count) numbers)")
                }
            }
            return .numbers(shape: shape, values: values)
        case H5T_STRING:
            return .strings(shape: shape, values: try readStrings(d, type: type, count: count, at: path, file: file, raw: raw))
        default:
            throw SpikeError("\(file): \(path): unsupported datatype (class \(cls.rawValue)); NIR parameters are numbers or strings")
        }
    }

    static func readStrings(_ d: hid_t, type: hid_t, count: Int, at path: String, file: String, raw: FileRaw) throws -> [String] {
        if count == 0 { return [] }
        let vlen = H5Tis_variable_str(type)
        guard vlen >= 0 else { throw SpikeError("\(file): \(path): corrupt string type") }
        let mem = H5Tcopy(ch5_c_s1())
        defer { H5Tclose(mem) }
        H5Tset_cset(mem, H5Tget_cset(type))
        if vlen > 0 {
            // HDF5 sizes its conversion buffer from each string's stored length before reading it, so a
            // corrupt length costs gigabytes: check the lengths (the first 4 bytes of each heap ID in the
            // dataset's raw data) against the file size first.
            var offset: UInt64 = 0
            guard ch5_contiguous_offset(d, &offset) == 0, offset < UInt64(Int.max) else {
                throw SpikeError("\(file): \(path): variable-length strings must be stored contiguously (corrupt or unsupported layout)")
            }
            let storage = Int(clamping: H5Dget_storage_size(d))
            guard storage % count == 0, storage / count >= 12, storage / count <= 32,
                  let ids = raw.bytes(at: Int(offset), count: storage) else {
                throw SpikeError("\(file): \(path): corrupt variable-length string storage")
            }
            let idSize = storage / count
            var total = 0
            var out: [String] = []
            for k in 0..<count {
                let b = ids[(k * idSize)..<(k * idSize + 4)].map(Int.init)
                let len = b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24
                total += len
                guard len <= raw.size, total <= raw.size else {
                    throw SpikeError("\(file): \(path): corrupt string (declares \(len) bytes, more than the file's \(raw.size))")
                }
                // The heap ID that follows names the collection and object holding the string. HDF5 trusts it and
                // reads the object out of bounds, or loops, when the global heap is corrupt, and loses the strings
                // it has converted when a later one fails: the strings are read here from the file's bytes instead,
                // each checked to lie in its collection (HDF5 file format, "Global Heap"; as h5py writes them).
                guard idSize >= 16 else { throw SpikeError("\(file): \(path): corrupt variable-length string storage") }
                if len == 0 { out.append(""); continue }
                let id = Array(ids[(k * idSize + 4)..<(k * idSize + 16)])
                var address = 0
                for j in (0..<8).reversed() { address = address << 8 | Int(id[j]) }
                let index = Int(id[8]) | Int(id[9]) << 8 | Int(id[10]) << 16 | Int(id[11]) << 24
                guard let bytes = raw.heapObject(collection: address, index: index, length: len) else {
                    throw SpikeError("\(file): \(path): corrupt string (its global-heap reference, collection \(address) object \(index), is not in the file)")
                }
                out.append(String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self))
            }
            return out
        }
        let size = H5Tget_size(type)
        guard size > 0, size <= 1 << 20, count <= (64 << 20) / size else { throw SpikeError("\(file): \(path): corrupt string size \(size)") }
        H5Tset_size(mem, size)
        var buf = [UInt8](repeating: 0, count: count * size)
        guard H5Dread(d, mem, ch5_s_all(), ch5_s_all(), ch5_p_default(), &buf) >= 0 else {
            throw SpikeError("\(file): \(path): corrupt dataset (cannot read its strings)")
        }
        return (0..<count).map { i in
            let s = buf[i * size..<(i + 1) * size]
            return String(decoding: s.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
