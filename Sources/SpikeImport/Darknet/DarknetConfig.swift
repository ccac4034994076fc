import Foundation
import SpikeCore

/// One `key=value` line of a Darknet `.cfg` section.
public struct DarknetOption: Sendable, Equatable {
    public var key: String
    public var value: String
    /// 1-based line number in the file.
    public var line: Int
    public init(key: String, value: String, line: Int) { self.key = key; self.value = value; self.line = line }
}

/// One `[section]` of a Darknet `.cfg` file with its options, and typed accessors whose errors
/// name the file, line, section and key (`net.cfg:57 [convolutional] #12: key 'size' is 'x', expected an integer`).
public struct DarknetSection: Sendable {
    /// Section name as written between the brackets, lower-cased (`convolutional`, `net`, ...).
    public var type: String
    /// Line of the `[section]` header.
    public var line: Int
    /// Darknet layer index (the `[net]` section is not a layer: nil for it).
    public var layerIndex: Int?
    /// File name used in error messages.
    public var file: String
    public var options: [DarknetOption]

    public init(type: String, line: Int, layerIndex: Int?, file: String, options: [DarknetOption] = []) {
        self.type = type; self.line = line; self.layerIndex = layerIndex; self.file = file; self.options = options
    }

    /// `file:line [type] #index` for the section header, or for the line of `key` when given and present.
    public func location(key: String? = nil) -> String {
        let l = key.flatMap { option($0)?.line } ?? line
        return "\(file):\(l) [\(type)]" + (layerIndex.map { " #\($0)" } ?? "")
    }

    /// An error located at this section (or at the line of `key`).
    public func error(_ message: String, key: String? = nil) -> SpikeError {
        SpikeError("\(location(key: key)): \(message)")
    }

    /// The first option called `key` (Darknet uses the first one too).
    public func option(_ key: String) -> DarknetOption? { options.first { $0.key == key } }
    public func has(_ key: String) -> Bool { option(key) != nil }

    public func string(_ key: String, default d: String) -> String { option(key)?.value ?? d }

    public func int(_ key: String) throws -> Int? {
        guard let o = option(key) else { return nil }
        guard let v = Int(o.value) else {
            throw error("key '\(key)' is '\(o.value)', expected an integer", key: key)
        }
        return v
    }
    public func int(_ key: String, default d: Int) throws -> Int { try int(key) ?? d }

    /// An integer that must lie in `range` (errors name the key and the allowed range).
    public func int(_ key: String, default d: Int, in range: ClosedRange<Int>) throws -> Int {
        let v = try int(key, default: d)
        guard range.contains(v) else {
            throw error("key '\(key)' is \(v), expected a value in \(range.lowerBound)...\(range.upperBound)", key: key)
        }
        return v
    }

    public func float(_ key: String) throws -> Float? {
        guard let o = option(key) else { return nil }
        guard let v = Float(o.value), v.isFinite else {
            throw error("key '\(key)' is '\(o.value)', expected a number", key: key)
        }
        return v
    }
    public func float(_ key: String, default d: Float) throws -> Float { try float(key) ?? d }

    /// A comma-separated list of integers (empty items, e.g. a trailing comma, are skipped).
    public func ints(_ key: String) throws -> [Int]? {
        guard let o = option(key) else { return nil }
        var out: [Int] = []
        for item in o.value.split(separator: ",", omittingEmptySubsequences: true) {
            guard let v = Int(item) else {
                throw error("key '\(key)' has item '\(item)', expected a comma-separated list of integers", key: key)
            }
            out.append(v)
        }
        return out
    }

    /// A comma-separated list of numbers.
    public func floats(_ key: String) throws -> [Float]? {
        guard let o = option(key) else { return nil }
        var out: [Float] = []
        for item in o.value.split(separator: ",", omittingEmptySubsequences: true) {
            guard let v = Float(item), v.isFinite else {
                throw error("key '\(key)' has item '\(item)', expected a comma-separated list of numbers", key: key)
            }
            out.append(v)
        }
        return out
    }
}

/// A parsed Darknet `.cfg` file: `[section]` headers each followed by `key=value` lines.
///
/// Parsing follows Darknet's `read_cfg`: all whitespace in a line is removed (`mask = 3, 4` is
/// `mask=3,4`), blank lines and lines starting with `#` or `;` are comments. As an extension, a `#`
/// after a value starts a comment. Bytes that are not valid UTF-8 are replaced, never trusted. The
/// first section must be `[net]` or `[network]`; the others are numbered as Darknet layers from 0.
/// Section names are not checked here (the importer knows which ones it supports).
public struct DarknetConfig: Sendable {
    /// File name used in error messages (the last path component).
    public var file: String
    /// All sections in file order; `sections[0]` is `[net]`.
    public var sections: [DarknetSection]

    /// The `[net]` / `[network]` section.
    public var net: DarknetSection { sections[0] }
    /// The layer sections (`layers[i]` is Darknet layer `i`).
    public var layers: ArraySlice<DarknetSection> { sections.dropFirst() }

    public init(contentsOf path: String) throws {
        let name = URL(fileURLWithPath: path).lastPathComponent
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpikeError("\(path): cannot read the Darknet .cfg file")
        }
        try self.init(bytes: [UInt8](data), file: name)
    }

    public init(bytes: [UInt8], file: String) throws {
        try self.init(text: String(decoding: bytes, as: UTF8.self), file: file)
    }

    public init(text: String, file: String) throws {
        self.file = file
        var sections: [DarknetSection] = []
        var lineNo = 0
        // Split on \n only (\r is whitespace and is stripped with the rest).
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNo += 1
            let line = String(String.UnicodeScalarView(rawLine.unicodeScalars.filter {
                !$0.properties.isWhitespace && $0 != "\0"
            }))
            guard let first = line.first, first != "#", first != ";" else { continue }
            if first == "[" {
                guard line.count >= 3, line.last == "]" else {
                    throw SpikeError("\(file):\(lineNo): malformed section header '\(line)', expected '[name]'")
                }
                let name = String(line.dropFirst().dropLast()).lowercased()
                guard !name.contains("["), !name.contains("]") else {
                    throw SpikeError("\(file):\(lineNo): malformed section header '\(line)', expected '[name]'")
                }
                if sections.isEmpty {
                    guard name == "net" || name == "network" else {
                        throw SpikeError("\(file):\(lineNo): the first section is [\(name)], expected [net] or [network]")
                    }
                } else if name == "net" || name == "network" {
                    throw SpikeError("\(file):\(lineNo): a second [\(name)] section (only the first section may be [net])")
                }
                try InputLimits.check(sections.count, .layers, "\(file):\(lineNo): the number of layer sections")
                sections.append(DarknetSection(type: name, line: lineNo, layerIndex: sections.isEmpty ? nil : sections.count - 1,
                                               file: file))
                continue
            }
            var body = Substring(line)
            if let hash = body.firstIndex(of: "#") { body = body[..<hash] }
            guard let eq = body.firstIndex(of: "="), eq != body.startIndex else {
                throw SpikeError("\(file):\(lineNo): expected 'key=value' or '[section]', got '\(line)'")
            }
            guard !sections.isEmpty else {
                throw SpikeError("\(file):\(lineNo): option '\(line)' appears before the first [net] section")
            }
            let key = String(body[..<eq]).lowercased()
            let value = String(body[body.index(after: eq)...])
            sections[sections.count - 1].options.append(DarknetOption(key: key, value: value, line: lineNo))
        }
        guard !sections.isEmpty else { throw SpikeError("\(file): no sections (a Darknet .cfg starts with [net])") }
        self.sections = sections
    }
}
