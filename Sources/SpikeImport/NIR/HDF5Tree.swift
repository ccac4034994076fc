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

    /// The file's own bytes, for checks HDF5 does not make (variable-length string lengths).
    struct FileRaw {
        var path: String
        var size: Int
        /// True if the global heap collection at `address` (HDF5 file format, "Global Heap": "GCOL", version 1,
        /// its size, then objects of index (2 bytes), reference count (2), reserved (4), size (8) and data padded
        /// to 8 bytes, up to the free-space object of index 0) lies in the file and holds object `index` of at
        /// least `length` bytes inside it. Assumes 8-byte addresses and sizes and a base address of 0, as h5py writes.
        func heapObjectFits(collection address: Int, index: Int, length: Int) -> Bool { heapObject(collection: address, index: index, length: length) != nil }

        /// The first `length` bytes of object `index` of the global heap collection at `address`, if it holds one
        /// that long (see `heapObjectFits`).
        func heapObject(collection address: Int, index: Int, length: Int) -> [UInt8]? {
            guard address > 0, address <= size - 16, let head = bytes(at: address, count: 16),
                  head[0] == 0x47, head[1] == 0x43, head[2] == 0x4F, head[3] == 0x4C, head[4] == 1 else { return nil }
            var collection = 0
            for j in (8..<16).reversed() { collection = collection << 8 | Int(head[j]) }
            guard collection >= 16, collection <= size - address, let heap = bytes(at: address, count: collection) else { return nil }
            var pos = 16
            while pos + 16 <= collection {
                let idx = Int(heap[pos]) | Int(heap[pos + 1]) << 8
                var objectSize = 0
                for j in (pos + 8 ..< pos + 16).reversed() { objectSize = objectSize << 8 | Int(heap[j]) }
                if idx == 0 { return nil }   // the free space: the rest of the collection holds no object
                guard objectSize >= 0, objectSize <= collection - pos - 16 else { return nil }
                if idx == index { return objectSize >= length ? Array(heap[(pos + 16)..<(pos + 16 + length)]) : nil }
                pos += 16 + (objectSize + 7) / 8 * 8
            }
            return nil
        }

        /// The little-endian unsigned integer of `count` bytes at `offset` (clamped to Int.max), or nil outside the file.
        func uint(at offset: Int, _ count: Int) -> Int? {
            guard let b = bytes(at: offset, count: count) else { return nil }
            var v: UInt64 = 0
            for j in (0..<count).reversed() { v = v << 8 | UInt64(b[j]) }
            return Int(clamping: v)
        }

        /// HDF5 1.10.8 loses the memory of an object header it cannot load (its prefix is read, then a chunk
        /// past the end of the file fails; H5O cache), and an object header is loaded for the root group when
        /// the file is opened and for every member when it is opened. These checks make sure, before HDF5 reads
        /// a header, that its chunks lie in the file: the superblock's root group header (and superblock
        /// extension) here, each member's in `readGroup`. Superblocks other than HDF5's own layouts at byte 0
        /// with 8-byte addresses (h5py's and HDF5's defaults) are left to HDF5. Returns what is wrong, or nil.
        func superblockProblem() -> String? {
            guard let head = bytes(at: 0, count: 9), head.prefix(8).elementsEqual([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
            switch head[8] {
            case 0, 1:
                guard uint(at: 13, 1) == 8, uint(at: 14, 1) == 8 else { return nil }
                let base = head[8] == 0 ? 24 : 28
                guard uint(at: base, 8) == 0 else { return nil }
                guard let root = uint(at: base + 40, 8) else { return "the superblock is cut short" }
                return objectHeaderProblem(at: root).map { "root group: \($0)" }
            case 2, 3:
                guard uint(at: 9, 1) == 8, uint(at: 10, 1) == 8, uint(at: 12, 8) == 0 else { return nil }
                guard let ext = uint(at: 20, 8), let root = uint(at: 36, 8) else { return "the superblock is cut short" }
                if ext != Int.max, let p = objectHeaderProblem(at: ext) { return "superblock extension: \(p)" }
                return objectHeaderProblem(at: root).map { "root group: \($0)" }
            default:
                return nil
            }
        }

        /// Checks the object header at `address` (HDF5 file format, "Object Header", versions 1 and 2): its first
        /// chunk and every continuation chunk its messages name lie in the file, and every message lies in its
        /// chunk. Returns what is wrong, or nil.
        func objectHeaderProblem(at address: Int) -> String? {
            var messages: [(type: Int, data: Int, length: Int)] = []
            return objectHeaderProblem(at: address, messages: &messages)
        }

        /// `objectHeaderProblem`, and the header's messages (type, data offset, length) in `messages`.
        func objectHeaderProblem(at address: Int, messages: inout [(type: Int, data: Int, length: Int)]) -> String? {
            guard address > 0, address < size else { return "object header address \(address) outside the file's \(size) bytes" }
            var chunks: [(start: Int, end: Int)] = []
            let v2: Bool
            var creationOrder = false
            if let sig = bytes(at: address, count: 4), sig.elementsEqual("OHDR".utf8) {
                v2 = true
                guard uint(at: address + 4, 1) == 2, let flags = uint(at: address + 5, 1) else { return "object header at \(address): unknown version" }
                creationOrder = flags & 0x04 != 0
                var p = address + 6
                if flags & 0x20 != 0 { p += 16 }
                if flags & 0x10 != 0 { p += 4 }
                let width = 1 << (flags & 3)
                guard let length = uint(at: p, width) else { return "object header at \(address) is cut short" }
                p += width
                guard length <= size - p, size - p - length >= 4 else { return "object header at \(address): its \(length) bytes run past the end of the file" }
                chunks.append((p, p + length))
            } else {
                v2 = false
                guard uint(at: address, 1) == 1, let length = uint(at: address + 8, 4) else { return "object header at \(address): unknown version" }
                guard address + 16 <= size, length <= size - address - 16 else {
                    return "object header at \(address): its \(length) bytes run past the end of the file"
                }
                chunks.append((address + 16, address + 16 + length))
            }
            var k = 0
            while k < chunks.count {
                guard k < 1024 else { return "object header at \(address): more than 1024 continuation chunks" }
                let (start, end) = chunks[k]
                var p = start
                if v2 && k > 0 {   // a continuation chunk: "OCHK", messages, checksum
                    guard let sig = bytes(at: start, count: 4), sig.elementsEqual("OCHK".utf8), end - start >= 8 else {
                        return "object header at \(address): continuation chunk at \(start) has no OCHK signature"
                    }
                    p += 4
                }
                let messagesEnd = v2 ? end - (k > 0 ? 4 : 0) : end
                let headerBytes = v2 ? (creationOrder ? 6 : 4) : 8
                while p + headerBytes <= messagesEnd {
                    guard let type = uint(at: p, v2 ? 1 : 2), let length = uint(at: p + (v2 ? 1 : 2), 2) else { return "object header at \(address) is cut short" }
                    let data = p + headerBytes
                    guard length <= messagesEnd - data else { return "object header at \(address): message at \(p) runs past its chunk" }
                    messages.append((type, data, length))
                    if type == 0x10 {   // continuation: the next chunk's offset and length
                        guard length >= 16, let offset = uint(at: data, 8), let count = uint(at: data + 8, 8) else {
                            return "object header at \(address): corrupt continuation message"
                        }
                        guard offset > 0, offset < size, count > 0, count <= size - offset else {
                            return "object header at \(address): continuation chunk at \(offset) of \(count) bytes outside the file"
                        }
                        chunks.append((offset, offset + count))
                    }
                    p = data + length
                }
                k += 1
            }
            return nil
        }

        /// Checks a dataset's object header for what HDF5 1.10.8 needs to open it without losing memory and
        /// property lists (H5D__open_oid does not release its copies when the layout cannot be read): a
        /// dataspace, a datatype and a layout message, and a contiguous or compact layout whose storage holds
        /// exactly the dataspace's elements of the datatype's size and lies in the file. Returns what is wrong, or nil.
        func datasetProblem(at address: Int) -> String? {
            var messages: [(type: Int, data: Int, length: Int)] = []
            if let p = objectHeaderProblem(at: address, messages: &messages) { return p }
            func message(_ type: Int, _ name: String) throws -> (data: Int, length: Int) {
                let m = messages.filter { $0.type == type }
                guard m.count == 1 else { throw SpikeError(m.isEmpty ? "no \(name) message" : "\(m.count) \(name) messages") }
                return (m[0].data, m[0].length)
            }
            do {
                let space = try message(0x0001, "dataspace"), type = try message(0x0003, "datatype"), layout = try message(0x0008, "layout")
                // Dataspace (versions 1 and 2): its element count.
                guard space.length >= 8, let sv = uint(at: space.data, 1), let rank = uint(at: space.data + 1, 1), rank <= 32 else { return "corrupt dataspace message" }
                let dims = space.data + (sv == 1 ? 8 : 4)
                guard sv == 1 || sv == 2, dims + 8 * rank <= space.data + space.length else { return "corrupt dataspace message" }
                var elements = sv == 2 && uint(at: space.data + 3, 1) == 2 ? 0 : 1   // version 2, type 2: the null dataspace
                for k in 0..<rank {
                    guard let d = uint(at: dims + 8 * k, 8) else { return "corrupt dataspace message" }
                    let (m, o) = elements.multipliedReportingOverflow(by: d)
                    guard !o else { return "dataspace of more elements than a file can hold" }
                    elements = m
                }
                guard type.length >= 8, let typeSize = uint(at: type.data + 4, 4), typeSize > 0 else { return "corrupt datatype message" }
                let (bytes, o) = elements.multipliedReportingOverflow(by: typeSize)
                guard !o else { return "dataspace of more bytes than a file can hold" }
                // Layout, versions 3 and 4: compact (0) or contiguous (1); chunked and virtual are left to HDF5.
                guard layout.length >= 2, let lv = uint(at: layout.data, 1), let cls = uint(at: layout.data + 1, 1) else { return "corrupt layout message" }
                guard lv == 3 || lv == 4 else { return nil }
                if cls == 0 {
                    guard let n = uint(at: layout.data + 2, 2), layout.length >= 4 + n, n == bytes else {
                        return "compact layout does not hold the dataspace's \(bytes) bytes"
                    }
                } else if cls == 1 {
                    guard layout.length >= 18, let at = uint(at: layout.data + 2, 8), let n = uint(at: layout.data + 10, 8) else { return "corrupt layout message" }
                    guard n == bytes else { return "contiguous storage of \(n) bytes for the dataspace's \(bytes)" }
                    guard at == Int.max || (at < size && n <= size - at) else { return "contiguous storage at \(at) of \(n) bytes outside the file" }
                }
                return nil
            } catch let e as SpikeError { return e.message } catch { return "\(error)" }
        }

        /// `count` bytes at `offset`, or nil if they are not all in the file.
        func bytes(at offset: Int, count: Int) -> [UInt8]? {
            guard offset >= 0, count >= 0, offset <= size, count <= size - offset, let h = FileHandle(forReadingAtPath: path) else { return nil }
            defer { try? h.close() }
            do {
                try h.seek(toOffset: UInt64(offset))
                let d = try h.read(upToCount: count) ?? Data()
                return d.count == count ? [UInt8](d) : nil
            } catch { return nil }
        }
    }

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

    // MARK: writing

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
