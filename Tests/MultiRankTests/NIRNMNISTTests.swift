import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// snnTorch's own test100 results for the N-MNIST network it trained (Benchmarks/nir/nmnist-snntorch.json,
/// written by Benchmarks/nir/train_nmnist_snntorch.py beside the exported .nir).
struct NMNISTLibraryReference: Decodable {
    var library: String
    var dt: Double
    var timesteps: Int
    var accuracy: Double
    var predictions: [Int]
    var counts: [[Float]]
    enum CodingKeys: String, CodingKey { case library, dt, timesteps, predictions, counts, accuracy = "test100_accuracy" }
}

/// An N-MNIST SNN trained in snnTorch (learnable per-neuron β and θ), exported to NIR, simulated by the real
/// binary on N-MNIST test100 under mpiexec: the library's accuracy, per-sample predictions and output spike
/// counts, and identical counters on 1 and 2 ranks.
@Suite("N-MNIST through NIR under mpiexec", .serialized, .tags(.mpi))
struct NIRNMNISTTests {
    @Test("simulate --model nmnist-snntorch.nir on test100: snnTorch's predictions and spike counts on 1 and 2 ranks, and in batches of 8")
    func matchesLibrary() throws {
        let bench = TestPaths.packageRoot.appendingPathComponent("Benchmarks/nir").path
        let ref = try JSONDecoder().decode(NMNISTLibraryReference.self, from: Data(contentsOf: URL(fileURLWithPath: "\(bench)/nmnist-snntorch.json")))
        try #require(ref.predictions.count == 100 && ref.counts.count == 100)
        let dir = TestPaths.tempDir("spikescale-nir-nmnist")
        var base: RunInvariant?
        for (k, batch) in [(1, 1), (2, 1), (2, 8)] {
            let out = "\(dir)/nm-\(k)-\(batch).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(bench)/nmnist-snntorch.nir", "--dt", "\(ref.dt)", "--convention", "snntorch",
                                                  "--data", TestPaths.sharedData + "/nmnist-small", "--split", "test100", "--samples", "100",
                                                  "-T", "\(ref.timesteps)", "--encoder", "events", "--decoding", "spikes", "--batch", "\(batch)",
                                                  "--json", out, "--quiet"], timeout: 300)
            #expect(r.status == 0, "\(k) ranks: \(r.stderr)")
            guard r.status == 0 else { return }
            let run = try ResultReader.run(out)
            let samples = try ResultReader.samples(out).sorted { $0.sample < $1.sample }
            try #require(samples.count == 100, "\(k) ranks: \(samples.count) samples")
            #expect(run.top1 == ref.accuracy.rounded(toPlaces: 2), "\(k) ranks: top-1 \(run.top1 ?? -1), \(ref.library) \(ref.accuracy)")
            for (s, rec) in samples.enumerated() {
                #expect(rec.prediction == ref.predictions[s], "\(k) ranks, sample \(s): SpikeScale predicts \(rec.prediction ?? -1), \(ref.library) \(ref.predictions[s])")
                // Spike decoding gives count·θ/T with the layer's θ, 1 for per-neuron thresholds: count/T.
                let counts = rec.outputs[0].map { ($0 * Float(ref.timesteps)).rounded() }
                #expect(counts == ref.counts[s], "\(k) ranks, sample \(s): output spike counts \(counts), \(ref.library) \(ref.counts[s])")
            }
            let inv = try RunInvariant(json: out)
            if let b = base {
                #expect(inv == b, "\(k) ranks, batch \(batch): counters or outputs differ from 1 rank")
            } else {
                base = inv
            }
        }
    }
}

private extension Double {
    func rounded(toPlaces p: Int) -> Double { (self * pow(10, Double(p))).rounded() / pow(10, Double(p)) }
}
