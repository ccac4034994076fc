/// A value for a field that files written before the field existed lack.
public protocol FieldDefault {
    associatedtype Value: Codable & Sendable & Equatable
    static var value: Value { get }
}

/// A Codable field that decodes as `Default.value` when its key is missing (a file from before
/// the field was added) and is always written. Use: `@Defaulted<FileVersion1> public var version = 1`.
@propertyWrapper
public struct Defaulted<Default: FieldDefault>: Codable, Sendable, Equatable {
    public var wrappedValue: Default.Value
    public init(wrappedValue: Default.Value) { self.wrappedValue = wrappedValue }
    public init(from decoder: any Decoder) throws {
        wrappedValue = try decoder.singleValueContainer().decode(Default.Value.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue)
    }
}

extension KeyedDecodingContainer {
    /// Synthesized decoding picks this overload for `@Defaulted` fields: a missing key is the default.
    public func decode<D>(_ type: Defaulted<D>.Type, forKey key: Key) throws -> Defaulted<D> {
        try decodeIfPresent(type, forKey: key) ?? Defaulted(wrappedValue: D.value)
    }
}

/// Defaults of the fields every result file carries (`tool`, `kind`, `version`).
public enum ResultFileDefaults {
    /// Result files written before they had a version are version 1.
    public enum Version1: FieldDefault { public static var value: Int { 1 } }
    public enum Tool: FieldDefault { public static var value: String { "spikescale" } }
    public enum RunKind: FieldDefault { public static var value: String { "run" } }
    public enum ConversionKind: FieldDefault { public static var value: String { "conversion" } }
}
