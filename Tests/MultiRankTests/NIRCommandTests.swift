import Foundation
import SpikeAggregate
import Testing
import TestSupport

/// The NIR commands through the real binary: `simulate --model FILE.nir` on 1 and 2 MPI ranks (identical
/// counters and outputs), `import-nir` and `export-nir`, and the refusals.
@Suite("NIR commands under mpiexec", .serialized, .tags(.mpi))
struct NIRCommandTests {
    static let nir = TestPaths.fixtures + "/nir"

    @Test("simulate --model FILE.nir: bit-identical on 1 and 2 ranks; import-nir and export-nir write models")
    func simulateNIR() throws {
        let dir = TestPaths.tempDir("spikescale-nir")
        var base: RunInvariant?
        for k in [1, 2] {
            let out = "\(dir)/nir-\(k).json"
            let r = try MPIHarness.run(ranks: k, ["simulate", "--model", "\(Self.nir)/sinabs-conv-sumpool.nir", "--dt", "1", "--convention", "sinabs",
                                                  "--input", "synthetic", "--samples", "2", "-T", "8", "--encoder", "bernoulli",
                                                  "--json", out, "--quiet"], timeout: 120)
            #expect(r.status == 0, "\(k) ranks: \(r.stderr)")
            guard r.status == 0 else { return }
            let part = try RunInvariant(json: out)
            if let b = base {
                #expect(part.layers == b.layers && part.samples == b.samples, "1 and 2 ranks differ")
            } else {
                base = part
                #expect(try ResultReader.run(out).layers.reduce(Int64(0)) { $0 + $1.spikes } > 0)
            }
        }
        let imp = try MPIHarness.run(ranks: 1, ["import-nir", "\(Self.nir)/snntorch-conv-avgpool.nir", "--dt", "1e-4", "--output", "\(dir)/m.json"], timeout: 60)
        #expect(imp.status == 0 && FileManager.default.fileExists(atPath: "\(dir)/m.bin"), "\(imp.stderr)")
        let exp = try MPIHarness.run(ranks: 1, ["export-nir", "\(dir)/m.json", "--output", "\(dir)/m.nir"], timeout: 60)
        #expect(exp.status == 0 && FileManager.default.fileExists(atPath: "\(dir)/m.nir"), "\(exp.stderr)")
        let noDt = try MPIHarness.run(ranks: 1, ["simulate", "--model", "\(Self.nir)/snntorch-lif-mlp.nir", "--input", "synthetic", "--quiet"], timeout: 60)
        #expect(noDt.status != 0 && noDt.stderr.contains("--dt"), "\(noDt.stderr)")
        let notNIR = try MPIHarness.run(ranks: 1, ["import-nir", TestPaths.fixtures + "/mnist-cnn.onnx", "--dt", "1", "--output", "\(dir)/x.json"], timeout: 60)
        #expect(notNIR.status != 0 && notNIR.stderr.contains("mnist-cnn.onnx") && notNIR.stderr.contains("HDF5"), "\(notNIR.stderr)")
        #expect(notNIR.stderr.split(separator: "\n").count <= 2, "HDF5 printed its own error stack: \(notNIR.stderr)")
    }
}
