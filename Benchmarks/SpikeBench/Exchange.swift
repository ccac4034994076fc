import ArgumentParser
import Foundation
import SpikeEngine
import SpikeMPI

/// One spike exchange between two ranks, timed: both ranks send each other a packet of N bytes with the
/// engine's own `MPITransport.exchange` (the call every timestep makes) and wait for the other's.
/// Run it on two ranks of one host (shared memory) and on two hosts (TCP) to compare.
struct Exchange: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time one neighbour exchange of N bytes between 2 ranks.")
    @Option(help: "Comma-separated packet sizes in bytes.") var sizes = "64,1024,16384,131072,1048576"
    @Option(help: "Exchanges per size (after 10% warm-up).") var repeats = 2000

    func run() throws {
        try MPIRuntime.initialize()
        let t = try MPITransport.world()
        guard t.size == 2 else { throw ValidationError("run it on exactly 2 ranks (got \(t.size))") }
        let peer = 1 - t.rank
        if t.rank == 0 { print("bytes      us/exchange   MB/s (one way)") }
        for size in sizes.split(separator: ",").compactMap({ Int($0) }) {
            let msg = [OutgoingMessage(destination: peer, bytes: [UInt8](repeating: 7, count: size))]
            let n = max(10, size >= 1 << 20 ? repeats / 10 : repeats)
            for _ in 0..<(n / 10) { _ = try t.exchange(msg, from: [(peer, size)], tag: 1) }
            _ = try t.allreduceMax([0])
            let start = ContinuousClock.now
            for _ in 0..<n { _ = try t.exchange(msg, from: [(peer, size)], tag: 1) }
            let d = (ContinuousClock.now - start).components
            let seconds = (Double(d.seconds) + Double(d.attoseconds) * 1e-18) / Double(n)
            if t.rank == 0 {
                print(String(format: "%-10d %12.2f %12.1f", size, seconds * 1e6, Double(size) / seconds / 1e6))
            }
        }
        try MPIRuntime.finalize()
    }
}
