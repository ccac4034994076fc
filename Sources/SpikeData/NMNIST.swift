import Foundation
import SpikeCore

/// One address event of a dynamic vision sensor: a brightness change at pixel `(x, y)`.
public struct Event: Sendable, Equatable {
    /// Column, 0..<34 for N-MNIST.
    public var x: UInt8
    /// Row, 0..<34 for N-MNIST.
    public var y: UInt8
    /// 0 (OFF, darker) or 1 (ON, brighter).
    public var polarity: UInt8
    /// Microseconds since the start of the recording (23 bits in the N-MNIST files).
    public var timestamp: UInt32

    public init(x: UInt8, y: UInt8, polarity: UInt8, timestamp: UInt32) {
        self.x = x; self.y = y; self.polarity = polarity; self.timestamp = timestamp
    }
}

/// The N-MNIST event-camera dataset (Orchard et al. 2015) in its original binary format.
///
/// Each `N.bs2` file is a sequence of 5-byte events: byte 0 = x, byte 1 = y, then 24 bits read
/// big-endian from bytes 2...4 whose top bit is the polarity and whose remaining 23 bits are the
/// timestamp in microseconds. The sensor is 34x34.
public enum NMNIST {
    /// Sensor width and height in pixels.
    public static let sensorSize = 34
    /// Bytes per event in a `.bs2` file.
    public static let bytesPerEvent = 5

    /// Reads and decodes the events of a `.bs2` file.
    public static func readEvents(path: String) throws -> [Event] {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw SpikeError("\(path): no such N-MNIST event file")
        }
        guard !isDir.boolValue else { throw SpikeError("\(path): is a folder, expected an N-MNIST .bs2 event file") }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SpikeError("\(path): cannot read the N-MNIST event file (\(error.localizedDescription))")
        }
        return try readEvents(data: data, name: path)
    }

    /// Decodes the events in `data`; `name` names the source in errors. Never traps on bad input:
    /// a length that is not a multiple of 5 or a coordinate outside the 34x34 sensor is an error.
    public static func readEvents(data: Data, name: String) throws -> [Event] {
        let n = data.count
        guard n % bytesPerEvent == 0 else {
            throw SpikeError("\(name): truncated: \(n) bytes is not a whole number of \(bytesPerEvent)-byte events")
        }
        let count = n / bytesPerEvent
        var events = [Event]()
        events.reserveCapacity(count)
        var failure: SpikeError?
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let b = raw.bindMemory(to: UInt8.self)
            for i in 0..<count {
                let o = i * bytesPerEvent
                let x = b[o], y = b[o + 1], b2 = b[o + 2]
                guard Int(x) < sensorSize, Int(y) < sensorSize else {
                    failure = SpikeError("\(name): event #\(i) (byte offset \(o)) is at x=\(x), y=\(y), outside the \(sensorSize)x\(sensorSize) sensor")
                    return
                }
                let ts = (UInt32(b2 & 0x7F) << 16) | (UInt32(b[o + 3]) << 8) | UInt32(b[o + 4])
                events.append(Event(x: x, y: y, polarity: b2 >> 7, timestamp: ts))
            }
        }
        if let failure { throw failure }
        return events
    }
}

/// One split of an N-MNIST folder: a list file (`train1K.txt`, `test100.txt`) whose lines are
/// `sample class` (whitespace-separated; blank lines and lines starting with `#` are skipped), and
/// one `sample.bs2` event file per listed sample. LF and CRLF line ends are both accepted.
public struct NMNISTSplit: Sendable {
    public let folder: String
    /// Path of the list file.
    public let listPath: String
    /// The listed samples in file order: the sample number (file `id.bs2`) and its class 0...9.
    public let samples: [(id: Int, label: Int)]

    public init(folder: String, list: String) throws {
        let path = (folder as NSString).appendingPathComponent(list)
        guard FileManager.default.fileExists(atPath: path) else {
            throw SpikeError("\(path): no such N-MNIST sample list (expected lines `sample class`)")
        }
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw SpikeError("\(path): cannot read the sample list as UTF-8 text (\(error.localizedDescription))")
        }
        var samples = [(id: Int, label: Int)]()
        for (n, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count == 2, let id = Int(fields[0]), let label = Int(fields[1]) else {
                throw SpikeError("\(path): line \(n + 1): expected `sample class` (two integers), found \"\(line)\"")
            }
            guard id >= 0 else { throw SpikeError("\(path): line \(n + 1): sample number \(id) is negative") }
            guard (0...9).contains(label) else {
                throw SpikeError("\(path): line \(n + 1): class \(label) is not a digit 0...9")
            }
            samples.append((id: id, label: label))
        }
        guard !samples.isEmpty else { throw SpikeError("\(path): the sample list names no samples") }
        self.folder = folder
        self.listPath = path
        self.samples = samples
    }

    public var count: Int { samples.count }

    /// Path of the event file of listed sample `i`.
    public func path(_ i: Int) -> String {
        (folder as NSString).appendingPathComponent("\(samples[i].id).bs2")
    }

    /// The events of listed sample `i` (0-based position in the list).
    public func events(_ i: Int) throws -> [Event] {
        guard samples.indices.contains(i) else {
            throw SpikeError("\(listPath): sample index \(i) is out of range (the list has \(samples.count) samples)")
        }
        let p = path(i)
        guard FileManager.default.fileExists(atPath: p) else {
            throw SpikeError("\(p): event file of sample \(samples[i].id) (listed in \(listPath)) does not exist")
        }
        return try NMNIST.readEvents(path: p)
    }
}
