import Foundation
import SpikeCore

/// An in-process group of ranks (threads) with the same semantics as the MPI transport, so the
/// engine and the coordinator can be tested for rank-count invariance without `mpirun`.
public final class LocalGroup: @unchecked Sendable {
    public let size: Int
    let lock = NSCondition()
    var mailboxes: [Key: [[UInt8]]] = [:]
    var aborted: String?

    struct Key: Hashable { var source: Int, destination: Int, tag: Int }

    public init(size: Int) { self.size = size }

    /// Queues a copy of `bytes` (storage of its own, as a message over MPI has: the sender reuses its buffer, and a
    /// buffer shared between threads is ordered only by Swift's reference count, which ThreadSanitizer cannot see).
    func post(_ bytes: [UInt8], from s: Int, to d: Int, tag: Int) {
        let copy = bytes.withUnsafeBufferPointer { [UInt8]($0) }
        lock.lock(); mailboxes[Key(source: s, destination: d, tag: tag), default: []].append(copy); lock.broadcast(); lock.unlock()
    }

    func take(from s: Int, to d: Int, tag: Int) throws -> [UInt8] {
        lock.lock(); defer { lock.unlock() }
        let k = Key(source: s, destination: d, tag: tag)
        while true {
            if let m = aborted { throw SpikeError("aborted by another rank: \(m)") }
            if var q = mailboxes[k], !q.isEmpty {
                let b = q.removeFirst()
                mailboxes[k] = q
                return b
            }
            lock.wait()
        }
    }

    func fail(_ message: String) {
        lock.lock(); if aborted == nil { aborted = message }; lock.broadcast(); lock.unlock()
    }

    /// Runs `body` on `size` threads, one per rank, and returns their results in rank order.
    /// If a rank throws, the others are woken and the first error is rethrown.
    public func run<R: Sendable>(_ body: @escaping @Sendable (LocalTransport) throws -> R) throws -> [R] {
        let box = ResultBox<R>(size)
        let lock = NSLock()
        let group = DispatchGroup()
        for r in 0..<size {
            group.enter()
            let th = Thread { [self] in
                let t = LocalTransport(group: self, rank: r)
                let res: Result<R, Error>
                do { res = .success(try body(t)) } catch {
                    self.fail("\(error)")
                    res = .failure(error)
                }
                lock.lock(); box.results[r] = res; lock.unlock()
                group.leave()
            }
            th.stackSize = 8 << 20
            th.start()
        }
        group.wait()
        var out = [R]()
        for r in box.results {
            switch r! {
            case .success(let v): out.append(v)
            case .failure(let e): throw e
            }
        }
        return out
    }
}

/// One rank's end of a `LocalGroup`, or of a subgroup of its ranks (`split(into:)`).
public final class LocalTransport: Transport, @unchecked Sendable {
    let group: LocalGroup
    public let rank: Int
    /// The group's ranks as ranks of the `LocalGroup` (all of them unless split).
    let members: [Int]
    public var size: Int { members.count }
    /// Tags of this transport's collectives: negative, so they never meet spike packets, and apart for a subgroup.
    let broadcastTag: Int, gatherTag: Int, reduceTag: Int

    init(group: LocalGroup, rank: Int, members: [Int]? = nil, tagBase: Int = -1) {
        self.group = group; self.rank = rank; self.members = members ?? Array(0..<group.size)
        broadcastTag = tagBase; gatherTag = tagBase - 1; reduceTag = tagBase - 2
    }

    func post(_ bytes: [UInt8], to d: Int, tag: Int) { group.post(bytes, from: members[rank], to: members[d], tag: tag) }
    func take(from s: Int, tag: Int) throws -> [UInt8] { try group.take(from: members[s], to: members[rank], tag: tag) }

    public func split(into count: Int) throws -> Transport {
        let mine = try RankLayout(size: size, groups: count).members(of: rank)
        return LocalTransport(group: group, rank: rank - mine.lowerBound, members: Array(members[mine]), tagBase: broadcastTag - 10)
    }

    public func exchange(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)], tag: Int) throws -> ExchangeResult {
        try complete(post(sends, from: sources, tag: tag))
    }

    public func post(_ sends: [OutgoingMessage], from sources: [(rank: Int, maxBytes: Int)], tag: Int) throws -> PendingExchange {
        let t0 = monotonicSeconds()
        for m in sends { post(m.bytes, to: m.destination, tag: tag) }
        return PendingExchange(sendSizes: sends.map { ($0.destination, $0.bytes.count) }, sources: sources, tag: tag, postSeconds: monotonicSeconds() - t0)
    }

    public func complete(_ pending: PendingExchange) throws -> ExchangeResult {
        let t1 = monotonicSeconds()
        var got = [[UInt8]]()
        for s in pending.sources {
            let b = try take(from: s.rank, tag: pending.tag)
            guard b.count <= s.maxBytes else { throw SpikeError("message of \(b.count) bytes exceeds the \(s.maxBytes)-byte bound") }
            got.append(b)
        }
        return ExchangeResult(received: got, postSeconds: pending.postSeconds, waitSeconds: monotonicSeconds() - t1)
    }

    public func broadcast(_ bytes: inout [UInt8], root: Int) throws {
        if rank == root {
            for d in 0..<size where d != root { post(bytes, to: d, tag: broadcastTag) }
        } else {
            bytes = try take(from: root, tag: broadcastTag)
        }
    }

    public func gather(_ bytes: [UInt8], root: Int) throws -> [[UInt8]] {
        if rank != root { post(bytes, to: root, tag: gatherTag); return [] }
        return try (0..<size).map { $0 == root ? bytes : try take(from: $0, tag: gatherTag) }
    }

    func allreduce(_ v: [Int64], _ op: (Int64, Int64) -> Int64) throws -> [Int64] {
        let bytes = v.withUnsafeBytes { Array($0) }
        for d in 0..<size where d != rank { post(bytes, to: d, tag: reduceTag) }
        var acc = [Int64]()
        for s in 0..<size {
            let b = s == rank ? bytes : try take(from: s, tag: reduceTag)
            let vals = b.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
            guard vals.count == v.count else { throw SpikeError("allreduce: rank \(s) sent \(vals.count) values, expected \(v.count)") }
            acc = acc.isEmpty ? vals : zip(acc, vals).map(op)
        }
        return acc
    }

    public func allreduceSum(_ values: [Int64]) throws -> [Int64] { try allreduce(values, &+) }
    public func allreduceMax(_ values: [Int64]) throws -> [Int64] { try allreduce(values, Swift.max) }

    public func abort(_ message: String) -> Never {
        group.fail(message)
        fatalError("LocalTransport.abort: \(message)")
    }
}

final class ResultBox<R>: @unchecked Sendable {
    var results: [Result<R, Error>?]
    init(_ n: Int) { results = .init(repeating: nil, count: n) }
}
