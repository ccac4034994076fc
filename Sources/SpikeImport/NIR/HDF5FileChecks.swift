import CHDF5
import Foundation
import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// Checks of a file's own bytes that HDF5 1.10 does not make, done before HDF5 reads the structure: the
/// superblock, object headers and their chunks, dataset layouts and global-heap string references. HDF5 crashes,
/// loops or leaks on corrupt versions of these (see `Tests/Fuzz/Crashes/nir`).
extension HDF5Tree {
    /// The file's own bytes, for checks HDF5 does not make.
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

        /// The root group's object header address and the group B-tree's K values (leaf, internal) of a version 0
        /// or 1 superblock with 8-byte addresses and lengths (h5py's and HDF5's default), else nil.
        func rootGroup() -> (address: Int, leafK: Int, internalK: Int)? {
            guard let head = bytes(at: 0, count: 9), head.prefix(8).elementsEqual([0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]),
                  head[8] <= 1, uint(at: 13, 1) == 8, uint(at: 14, 1) == 8,
                  let leafK = uint(at: 16, 2), let internalK = uint(at: 18, 2) else { return nil }
            let base = head[8] == 0 ? 24 : 28
            guard uint(at: base, 8) == 0, let root = uint(at: base + 40, 8) else { return nil }
            return (root, leafK, internalK)
        }

        /// Checks an old-style group (one with a symbol table message, as HDF5 and h5py write by default) before
        /// HDF5 lists it: HDF5 1.10.8 walks the group's B-tree and symbol table nodes without checking them
        /// (H5G__node_sumup crashes on a corrupt one). The local heap ("HEAP", version 0) and its data segment lie
        /// in the file; every B-tree node ("TREE", type 0) and symbol table node ("SNOD", version 1) lies in the
        /// file at the size HDF5 reads (2K entries), with at most 2K entries used, levels falling by one toward the
        /// leaves, keys and link names inside the heap, object headers inside the file, no node visited twice.
        /// Groups with new-style link storage are left to HDF5. Returns what is wrong, or nil.
        func groupProblem(at address: Int) -> String? {
            guard let k = rootGroup() else { return nil }
            var messages: [(type: Int, data: Int, length: Int)] = []
            if let p = objectHeaderProblem(at: address, messages: &messages) { return p }
            guard let table = messages.first(where: { $0.type == 0x11 }) else { return nil }
            guard table.length >= 16, let tree = uint(at: table.data, 8), let heap = uint(at: table.data + 8, 8) else {
                return "group at \(address): corrupt symbol table message"
            }
            guard let sig = bytes(at: heap, count: 8), sig.prefix(4).elementsEqual("HEAP".utf8), sig[4] == 0,
                  let heapSize = uint(at: heap + 8, 8), let heapData = uint(at: heap + 24, 8),
                  heapData > 0, heapData < size, heapSize <= size - heapData else {
                return "group at \(address): corrupt local heap at \(heap)"
            }
            guard k.leafK > 0, k.internalK > 0, k.leafK <= 1024, k.internalK <= 1024 else { return "group B-tree K of \(k.leafK) / \(k.internalK)" }
            var visited = Set<Int>()
            func node(_ at: Int, level expected: Int?) -> String? {
                guard visited.insert(at).inserted, visited.count <= 100_000 else { return "group B-tree node at \(at) reached twice" }
                guard at > 0, at < size, let sig = bytes(at: at, count: 8), sig.prefix(4).elementsEqual("TREE".utf8), sig[4] == 0 else {
                    return "group B-tree node at \(at): no TREE signature of a group node"
                }
                let level = Int(sig[5]), used = Int(sig[6]) | Int(sig[7]) << 8
                if let e = expected, level != e { return "group B-tree node at \(at): level \(level), its parent wants \(e)" }
                guard level <= 64, used <= 2 * k.internalK else { return "group B-tree node at \(at): level \(level), \(used) entries" }
                let nodeSize = 24 + (2 * 2 * k.internalK + 1) * 8
                guard nodeSize <= size - at else { return "group B-tree node at \(at) runs past the end of the file" }
                for e in 0...used {
                    guard let key = uint(at: at + 24 + e * 16, 8), key <= heapSize else { return "group B-tree node at \(at): key \(e) outside the heap" }
                    guard e < used, let child = uint(at: at + 32 + e * 16, 8) else { continue }
                    if level > 0 {
                        if let p = node(child, level: level - 1) { return p }
                    } else if let p = symbols(child) { return p }
                }
                return nil
            }
            func symbols(_ at: Int) -> String? {
                guard visited.insert(at).inserted else { return "symbol table node at \(at) reached twice" }
                let nodeSize = 8 + 2 * k.leafK * 40
                guard at > 0, at < size, nodeSize <= size - at, let sig = bytes(at: at, count: 8),
                      sig.prefix(4).elementsEqual("SNOD".utf8), sig[4] == 1 else { return "symbol table node at \(at): no SNOD signature" }
                let count = Int(sig[6]) | Int(sig[7]) << 8
                guard count <= 2 * k.leafK else { return "symbol table node at \(at): \(count) entries, more than \(2 * k.leafK)" }
                for e in 0..<count {
                    let entry = at + 8 + e * 40
                    guard let name = uint(at: entry, 8), name < heapSize, let header = uint(at: entry + 8, 8), header > 0, header < size else {
                        return "symbol table node at \(at): entry \(e) points outside the heap or the file"
                    }
                }
                return nil
            }
            return node(tree, level: nil)
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
                var extent: [Int] = []
                for k in 0..<rank {
                    guard let d = uint(at: dims + 8 * k, 8) else { return "corrupt dataspace message" }
                    extent.append(d)
                    let (m, o) = elements.multipliedReportingOverflow(by: d)
                    guard !o else { return "dataspace of more elements than a file can hold" }
                    elements = m
                }
                guard type.length >= 8, let typeSize = uint(at: type.data + 4, 4), typeSize > 0, let tc = uint(at: type.data, 1) else { return "corrupt datatype message" }
                // Integers and floats of 1-8 bytes whose bits lie in them: HDF5 converts an element of the declared
                // size from the chunk it decompressed and reads past it when the size is corrupt (seen: a flipped
                // high byte of an int64's size made HDF5 1.10.8 copy gigabytes from an 8-byte chunk and crash).
                // Only the classes NIR files use: integers, floats, fixed-length and variable-length strings. HDF5
                // decodes the others' member names with strdup, and reads past a corrupt message's end (libFuzzer: a
                // string dataset's class byte flipped from variable-length to enumeration).
                guard [0, 1, 3, 9].contains(tc & 0x0f) else { return "datatype of class \(tc & 0x0f) (NIR parameters are numbers or strings)" }
                if tc & 0x0f == 9 {
                    guard let bits = uint(at: type.data + 1, 1), bits & 0x0f == 1 else { return "variable-length datatype that is not a string" }
                }
                if tc & 0x0f == 0 || tc & 0x0f == 1 {
                    guard [1, 2, 4, 8].contains(typeSize) else { return "\(tc & 0x0f == 0 ? "integer" : "float") datatype of \(typeSize) bytes" }
                    guard type.length >= 12, let bitOffset = uint(at: type.data + 8, 2), let precision = uint(at: type.data + 10, 2),
                          precision > 0, bitOffset + precision <= 8 * typeSize else { return "corrupt number datatype (bit offset or precision)" }
                } else if typeSize > 1 << 20 {
                    return "datatype of \(typeSize) bytes"
                }
                let (bytes, o) = elements.multipliedReportingOverflow(by: typeSize)
                guard !o else { return "dataspace of more bytes than a file can hold" }
                // Layout, versions 3 and 4: compact (0) or contiguous (1); chunked and virtual are left to HDF5.
                guard layout.length >= 2, let lv = uint(at: layout.data, 1), let cls = uint(at: layout.data + 1, 1) else { return "corrupt layout message" }
                // Versions 1 and 2 (HDF5 before 1.6.3) lay chunk dimensions out otherwise, and HDF5 divides by them
                // unchecked (libFuzzer: a version byte flipped from 3 to 2 gave a zero chunk dimension): refused.
                guard lv == 3 || lv == 4 else { return "layout message version \(lv) (only versions 3 and 4, HDF5 1.6.3 and later, are read)" }
                if cls == 0 {
                    guard let n = uint(at: layout.data + 2, 2), layout.length >= 4 + n, n == bytes else {
                        return "compact layout does not hold the dataspace's \(bytes) bytes"
                    }
                } else if cls == 1 {
                    guard layout.length >= 18, let at = uint(at: layout.data + 2, 8), let n = uint(at: layout.data + 10, 8) else { return "corrupt layout message" }
                    guard n == bytes else { return "contiguous storage of \(n) bytes for the dataspace's \(bytes)" }
                    guard at == Int.max || (at < size && n <= size - at) else { return "contiguous storage at \(at) of \(n) bytes outside the file" }
                } else if cls == 2 {
                    // Chunked: every chunk dimension positive (HDF5 divides by them; libFuzzer found a zero) and, in
                    // version 3, one per dataspace dimension plus the element size, which must be the datatype's.
                    if lv == 3 {
                        guard let nd = uint(at: layout.data + 2, 1), nd == rank + 1, layout.length >= 11 + 4 * nd else {
                            return "chunked layout of the wrong dimensionality for a rank-\(rank) dataspace"
                        }
                        for k in 0..<nd {
                            guard let d = uint(at: layout.data + 11 + 4 * k, 4), d > 0 else { return "chunked layout with a zero chunk dimension" }
                            if k == nd - 1, d != typeSize { return "chunked layout's element size \(d) is not the datatype's \(typeSize)" }
                            // A chunk larger than its fixed-size dataset is refused by HDF5 when it writes one; a corrupt
                            // one made HDF5 1.10.8 copy a whole chunk's size out of a smaller decompressed chunk (libFuzzer).
                            if k < rank, d > max(extent[k], 1) { return "chunk dimension \(k) of \(d) larger than the dataspace's \(extent[k])" }
                        }
                    } else {
                        guard let nd = uint(at: layout.data + 3, 1), let enc = uint(at: layout.data + 4, 1), (1...8).contains(enc), nd >= 1, nd <= 33,
                              layout.length >= 5 + nd * enc else { return "corrupt chunked layout message" }
                        for k in 0..<nd {
                            guard let d = uint(at: layout.data + 5 + k * enc, enc), d > 0 else { return "chunked layout with a zero chunk dimension" }
                            if k < rank, d > max(extent[k], 1) { return "chunk dimension \(k) of \(d) larger than the dataspace's \(extent[k])" }
                        }
                    }
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
}
