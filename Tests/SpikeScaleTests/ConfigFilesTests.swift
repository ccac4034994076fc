import Foundation
import Testing
import SpikeRun

/// The shipped experiment configs are user-facing: each must load (every key known and valid), and
/// the models and data they name under ../shared/data must exist.
@Suite("Configs/ files")
struct ConfigFilesTests {
    @Test("Every config in Configs/ loads, and the shared models and data it names exist")
    func shippedConfigsLoad() throws {
        var repo = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { repo.deleteLastPathComponent() }
        let dir = repo.appendingPathComponent("Configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 6)
        for f in files {
            let c = try RunConfig.load(dir.appendingPathComponent(f).path)
            for p in [c.model, c.data, c.calibration].compactMap({ $0 }) where p.hasPrefix("../shared/") {
                let abs = repo.appendingPathComponent(p).standardizedFileURL.path
                #expect(FileManager.default.fileExists(atPath: abs), "\(f): \(p) does not exist")
            }
        }
    }
}
