import SpikeCore

/// The wire format of the events one rank sends another for one layer and one timestep.
///
/// Byte 0 is the encoding: 0 empty, 1 delta list, 2 bitmap, 3 analog list, 4 count list. A delta list is a LEB128 varint count,
/// then one varint per event: the gap to the previous index (first: to the range start), shifted left
/// one bit with the sign in bit 0 for signed layers. A bitmap has one bit per neuron of the range
/// (two for signed layers: spike, then sign). The encoder picks whichever is smaller, so a packet is
/// never larger than `maxSize(rangeCount:signed:)`. An analog list carries each event's float32 value after its gap; a
/// count list (burst events, whose values are whole spike counts) one signed byte instead.
public enum SpikePacket {
    /// Upper bound of an encoded packet for a range of `n` neurons.
    public static func maxSize(rangeCount n: Int, signed: Bool) -> Int { 1 + bitmapBytes(n, signed) }

    /// Upper bound of an analog packet (encoding 3: count, then gap varint + float32 per event).
    public static func maxAnalogSize(rangeCount n: Int) -> Int { 1 + 10 + n * 14 }

    /// Encodes analog events (direct-encoded input routed through pooling or routing layers) exactly.
    public static func encodeAnalog(_ events: EventList, from: Int, to: Int, range: FlatRange, into out: inout [UInt8]) {
        out.append(3)
        putVarint(UInt64(to - from), &out)
        var prev = range.lower - 1
        for k in from..<to {
            let i = Int(events.index[k])
            putVarint(UInt64(i - prev - 1), &out)
            let bits = events.value[k].bitPattern
            for s in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: bits >> UInt32(s))) }
            prev = i
        }
    }

    /// Encodes burst events (values ±1 ... ±127, whole spike counts) exactly as a count list (encoding 4: count,
    /// then gap varint + one signed byte per event): a quarter of the analog list's value bytes. Events with any
    /// other value go as an analog list.
    public static func encodeCounts(_ events: EventList, from: Int, to: Int, range: FlatRange, into out: inout [UInt8]) {
        let whole = events.value.withUnsafeBufferPointer { V in
            (from..<to).allSatisfy { let v = V[$0]; return v != 0 && v.magnitude <= 127 && v == v.rounded(.towardZero) }
        }
        guard whole else { return encodeAnalog(events, from: from, to: to, range: range, into: &out) }
        out.append(4)
        putVarint(UInt64(to - from), &out)
        var prev = range.lower - 1
        for k in from..<to {
            let i = Int(events.index[k])
            putVarint(UInt64(i - prev - 1), &out)
            out.append(UInt8(bitPattern: Int8(events.value[k])))
            prev = i
        }
    }

    static func bitmapBytes(_ n: Int, _ signed: Bool) -> Int { (n * (signed ? 2 : 1) + 7) / 8 }

    /// Encodes events `[from, to)` of `events`, all inside `range`, appending to `out`.
    public static func encode(_ events: EventList, from: Int, to: Int, range: FlatRange, signed: Bool, into out: inout [UInt8]) {
        let n = to - from
        if n == 0 { out.append(0); return }
        // Size of the delta list without writing it.
        var listBytes = varintSize(UInt64(n))
        var prev = range.lower - 1
        for k in from..<to {
            let i = Int(events.index[k])
            var d = UInt64(i - prev - 1)
            if signed { d = d << 1 }
            listBytes += varintSize(d)
            prev = i
        }
        let bitmap = bitmapBytes(range.count, signed)
        if listBytes <= bitmap {
            out.append(1)
            putVarint(UInt64(n), &out)
            prev = range.lower - 1
            for k in from..<to {
                let i = Int(events.index[k])
                var d = UInt64(i - prev - 1)
                if signed { d = d << 1 | (events.value[k] < 0 ? 1 : 0) }
                putVarint(d, &out)
                prev = i
            }
        } else {
            out.append(2)
            let base = out.count
            out.append(contentsOf: repeatElement(0, count: bitmap))
            for k in from..<to {
                let p = Int(events.index[k]) - range.lower
                if signed {
                    let bit = 2 * p
                    out[base + bit >> 3] |= 1 << UInt8(bit & 7)
                    if events.value[k] < 0 { out[base + (bit + 1) >> 3] |= 1 << UInt8((bit + 1) & 7) }
                } else {
                    out[base + p >> 3] |= 1 << UInt8(p & 7)
                }
            }
        }
    }

    /// Decodes a packet for `range`, appending its events (±1 spikes, or analog values) (in index order) to `events`.
    /// Throws on malformed bytes (wrong tag, overrun, index outside the range).
    public static func decode(_ bytes: [UInt8], range: FlatRange, signed: Bool, into events: inout EventList) throws {
        guard let tag = bytes.first else { throw SpikeError("spike packet: empty message") }
        var pos = 1
        switch tag {
        case 0:
            guard bytes.count == 1 else { throw SpikeError("spike packet: trailing bytes after an empty packet") }
        case 1:
            try decodeList(bytes, &pos, range: range, into: &events) { d, _ in
                guard signed else { return 1 }
                defer { d >>= 1 }
                return d & 1 == 1 ? -1 : 1
            }
        case 2:
            let nb = bitmapBytes(range.count, signed)
            guard bytes.count == 1 + nb else { throw SpikeError("spike packet: bitmap of \(bytes.count - 1) bytes, expected \(nb)") }
            bytes.withUnsafeBufferPointer { b in
                // At most one event per set bit.
                var most = 0
                for byte in 0..<nb { most += b[1 + byte].nonzeroBitCount }
                events.append(upTo: most) { I, V in
                    var k = 0
                    for byte in 0..<nb where b[1 + byte] != 0 {
                        let bits = b[1 + byte]
                        for j in 0..<8 where bits & (1 << UInt8(j)) != 0 {
                            let bit = byte * 8 + j
                            if signed {
                                if bit & 1 == 0 {
                                    let neg = (bit + 1) < nb * 8 && (b[1 + (bit + 1) >> 3] & (1 << UInt8((bit + 1) & 7))) != 0
                                    I[k] = Int32(truncatingIfNeeded: range.lower + bit / 2); V[k] = neg ? -1 : 1; k += 1
                                }
                            } else {
                                I[k] = Int32(truncatingIfNeeded: range.lower + bit); V[k] = 1; k += 1
                            }
                        }
                    }
                    return k
                }
            }
        case 3:
            try decodeList(bytes, &pos, range: range, into: &events) { _, p in
                guard p + 4 <= bytes.count else { throw SpikeError("spike packet: truncated analog event") }
                var bits: UInt32 = 0
                for s in 0..<4 { bits |= UInt32(bytes[p + s]) << UInt32(8 * s) }
                p += 4
                return Float(bitPattern: bits)
            }
        case 4:
            try decodeList(bytes, &pos, range: range, into: &events) { _, p in
                guard p < bytes.count else { throw SpikeError("spike packet: truncated count event") }
                let c = Int8(bitPattern: bytes[p]); p += 1
                guard c != 0 else { throw SpikeError("spike packet: an event of 0 spikes") }
                return Float(c)
            }
        default:
            throw SpikeError("spike packet: unknown encoding \(tag)")
        }
    }

    /// Encodings 1, 3 and 4 after the tag: a count, then per event a gap varint (to the previous index, the first to
    /// the range start) and what `value` reads: it gets the gap (and may take a sign bit off it) and the read position
    /// (and reads a value after the gap). The events are appended at once, and nothing is appended if a byte is wrong.
    static func decodeList(_ bytes: [UInt8], _ pos: inout Int, range: FlatRange, into events: inout EventList,
                           _ value: (inout UInt64, inout Int) throws -> Float) throws {
        let n = try getVarint(bytes, &pos)
        guard n <= UInt64(range.count) else { throw SpikeError("spike packet: \(n) events for a range of \(range.count)") }
        var prev = range.lower - 1
        try events.append(upTo: Int(n)) { I, V in
            for k in 0..<Int(n) {
                var d = try getVarint(bytes, &pos)
                let v = try value(&d, &pos)
                guard d < UInt64(range.count) else { throw SpikeError("spike packet: index gap \(d) outside the range") }
                let i = prev + 1 + Int(d)
                guard i < range.upper else { throw SpikeError("spike packet: index \(i) outside \(range)") }
                I[k] = Int32(truncatingIfNeeded: i); V[k] = v
                prev = i
            }
            return Int(n)
        }
        guard pos == bytes.count else { throw SpikeError("spike packet: \(bytes.count - pos) trailing bytes") }
    }

    @inline(__always) static func varintSize(_ v: UInt64) -> Int {
        var v = v, n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
    @inline(__always) static func putVarint(_ v: UInt64, _ out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }
    static func getVarint(_ b: [UInt8], _ pos: inout Int) throws -> UInt64 {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard pos < b.count else { throw SpikeError("spike packet: truncated varint") }
            let byte = b[pos]; pos += 1
            guard shift < 63 else { throw SpikeError("spike packet: varint too long") }
            v |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return v }
            shift += 7
        }
    }
}
