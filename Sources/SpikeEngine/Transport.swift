import SpikeCore

/// One message of a neighbour exchange.
public struct OutgoingMessage: Sendable {
    public var destination: Int
    public var bytes: [UInt8]
    public init(destination: Int, bytes: [UInt8]) { self.destination = destination; self.bytes = bytes }
}

/// What a neighbour exchange delivered, in the order of the requested sources, and where the time went.
public struct ExchangeResult: Sendable {
    public var received: [[UInt8]]
    /// Seconds spent posting sends and receives.
    public var postSeconds: Double
    /// Seconds spent waiting for them to complete.
    public var waitSeconds: Double
    public init(received: [[UInt8]], postSeconds: Double, waitSeconds: Double) {
        self.received = received; self.postSeconds = postSeconds; self.waitSeconds = waitSeconds
    }
}

/// A neighbour exchange that has been posted (`Transport.post`) and not yet completed (`Transport.complete`).
public struct PendingExchange: Sendable {
    /// The destination and length of each message sent.
    public let sendSizes: [(destination: Int, bytes: Int)]
    public let sources: [(rank: Int, maxBytes: Int)]
    public let tag: Int
    /// Seconds spent posting.
    public var postSeconds: Double
    public init(sendSizes: [(destination: Int, bytes: Int)], sources: [(rank: Int, maxBytes: Int)], tag: Int, postSeconds: Double) {
        self.sendSizes = sendSizes; self.sources = sources; self.tag = tag; self.postSeconds = postSeconds
    }
}

/// The small communication protocol the engine and the coordinator need. One implementation runs
/// over MPI (target SpikeMPI); `LocalGroup` runs ranks as threads of one process for unit tests.
///
/// Every call is collective over the ranks named in it: `exchange` over the sources and destinations
/// (each pair must agree), the others over all ranks. All ranks must make the same sequence of calls.
public protocol Transport: AnyObject {
    var rank: Int { get }
    var size: Int { get }
    /// Sends each message and receives one message from each source (at most `maxBytes` each).
    func exchange(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)], tag: Int) throws -> ExchangeResult
    /// The first half of `exchange`: starts the sends and receives and returns without waiting, so the caller can
    /// compute while the messages travel. At most one exchange is pending at a time; `complete` ends it.
    func post(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)], tag: Int) throws -> PendingExchange
    /// The second half: waits for the pending exchange and returns what it delivered (as `exchange` would).
    func complete(_ pending: PendingExchange) throws -> ExchangeResult
    /// Replaces `bytes` on every rank with root's.
    func broadcast(_ bytes: inout [UInt8], root: Int) throws
    /// Root receives every rank's bytes in rank order; the other ranks receive an empty array.
    func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]]
    /// Element-wise sum over ranks, delivered to every rank (summed in rank order).
    func allreduceSum(_ values: [Int64]) throws -> [Int64]
    /// Element-wise maximum over ranks, delivered to every rank.
    func allreduceMax(_ values: [Int64]) throws -> [Int64]
    /// Ends every rank of the job with `message` (printed once, by this rank) and a non-zero exit code.
    func abort(_ message: String) -> Never
    /// Splits the ranks into `count` groups of `size / count` consecutive ranks (`count` must divide `size`)
    /// and returns this rank's group, ranked in the same order. Collective over all ranks.
    func split(into count: Int) throws -> Transport
}

/// How a job's ranks form rank groups: `groups` blocks of `size / groups` consecutive ranks, each a model
/// partition; a group's first rank leads it. Every place that needs the layout (the transports' `split`,
/// the coordinator, whoever opens the data) asks this one type.
public struct RankLayout: Sendable, Equatable {
    public let size: Int
    public let groups: Int
    public var groupSize: Int { size / groups }

    /// Refuses a group count that is not positive or does not divide the ranks.
    public init(size: Int, groups: Int) throws {
        guard groups >= 1, size % groups == 0 else {
            throw SpikeError("--groups \(groups) must divide the number of ranks (\(size))")
        }
        self.size = size; self.groups = groups
    }

    public func group(of rank: Int) -> Int { rank / groupSize }
    /// Whether `rank` leads its group (reads the group's samples).
    public func leads(_ rank: Int) -> Bool { rank % groupSize == 0 }
    /// The ranks of `rank`'s group, in order.
    public func members(of rank: Int) -> Range<Int> { group(of: rank) * groupSize ..< (group(of: rank) + 1) * groupSize }
}
