import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// The spiking max-pool gate on Darknet-style tiling pools over odd maps (the last window clipped; 20 and 12
/// channels, not multiples of the gate's eight lanes): today's engine against the records of the engine
/// before the gate was rewritten (`Tests/Fixtures/pool-odd`), bit for bit, in both gate modes.
@Suite("Max-pool gate against recorded outputs", .serialized, .tags(.mpi))
struct PoolGateReferenceTests {
    /// T = 24 keeps the running sums in 8-bit integers, T = 300 in 16-bit ones; the records were made with Float sums.
    @Test("Leader and count gates on odd tiling pools: 1 rank, and 3 ranks in batches of 2, equal the recorded records",
          arguments: [("leader", 24), ("count", 24), ("count", 300)])
    func recorded(mode: String, timesteps: Int) throws {
        let dir = TestPaths.tempDir("spikescale-pool-odd")
        let fixture = "\(TestPaths.fixtures)/pool-odd"
        let name = timesteps == 24 ? "reference-\(mode)" : "reference-\(mode)-T\(timesteps)"
        let reference = try ResultReader.samplesFile("\(fixture)/\(name).samples.jsonl").map(SampleInvariant.init)
        #expect(reference.count == 4)
        for (ranks, batch) in [(1, 1), (3, 2)] {
            let out = "\(dir)/\(mode)-\(timesteps)-\(ranks).json"
            let r = try MPIHarness.run(ranks: ranks, ["simulate", "--model", "\(fixture)/pool-odd.json", "--data", "\(TestPaths.sharedData)/coco8",
                                                      "--samples", "4", "-T", "\(timesteps)", "--maxpool-gate", mode, "--batch", "\(batch)",
                                                      "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let samples = try ResultReader.samples(out).map(SampleInvariant.init)
            #expect(samples == reference, "\(mode) gate, T = \(timesteps), on \(ranks) rank(s), batch \(batch): records differ from the recorded ones")
            // The pools emit (the comparison would be empty otherwise).
            #expect(samples.allSatisfy { $0.layers[2][0] > 0 && $0.layers[4][0] > 0 })
        }
    }
}
