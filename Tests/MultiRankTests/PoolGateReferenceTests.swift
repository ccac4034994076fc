import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// The spiking max-pool gate on Darknet-style tiling pools over odd maps (the last window clipped; 20 and 12
/// channels, not multiples of the gate's eight lanes): today's engine against the records of the engine
/// before the gate was rewritten (`Tests/Fixtures/pool-odd`), bit for bit, in both gate modes.
@Suite("Max-pool gate against recorded outputs", .serialized, .tags(.mpi))
struct PoolGateReferenceTests {
    @Test("Leader and count gates on odd tiling pools: 1 rank, and 3 ranks in batches of 2, equal the recorded records",
          arguments: ["leader", "count"])
    func recorded(mode: String) throws {
        let dir = TestPaths.tempDir("spikescale-pool-odd")
        let fixture = "\(TestPaths.fixtures)/pool-odd"
        let reference = try ResultReader.samplesFile("\(fixture)/reference-\(mode).samples.jsonl").map(SampleInvariant.init)
        #expect(reference.count == 4)
        for (ranks, batch) in [(1, 1), (3, 2)] {
            let out = "\(dir)/\(mode)-\(ranks).json"
            let r = try MPIHarness.run(ranks: ranks, ["simulate", "--model", "\(fixture)/pool-odd.json", "--data", "\(TestPaths.sharedData)/coco8",
                                                      "--samples", "4", "-T", "24", "--maxpool-gate", mode, "--batch", "\(batch)",
                                                      "--json", out, "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
            guard r.status == 0 else { return }
            let samples = try ResultReader.samples(out).map(SampleInvariant.init)
            #expect(samples == reference, "\(mode) gate on \(ranks) rank(s), batch \(batch): records differ from the recorded ones")
            // The pools emit (the comparison would be empty otherwise).
            #expect(samples.allSatisfy { $0.layers[2][0] > 0 && $0.layers[4][0] > 0 })
        }
    }
}
