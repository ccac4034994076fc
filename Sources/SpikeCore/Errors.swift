/// An error a user can act on: it names the file, field, layer or node that is wrong and what is wrong.
public struct SpikeError: Error, CustomStringConvertible, Sendable, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
