import Foundation
import SpikeFuzz
import Testing
import TestSupport

/// The fuzz targets' committed inputs through the same entry libFuzzer calls (`Launch/fuzz.sh`): the seed
/// corpora (Tests/Fuzz/Corpus/TARGET, made by Tests/Fuzz/make_corpus.sh) and every input that once crashed a
/// parser (Tests/Fuzz/Crashes/TARGET). Each must be accepted or refused with one clear error naming the file;
/// a crash ends this test process.
@Suite struct FuzzCorpusTests {
    static let root = TestPaths.root + "/Tests/Fuzz"

    static func files(_ folder: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { "\(folder)/\($0)" }
    }

    @Test("Every target has seeds, some accepted; every seed is accepted or refused naming the file", arguments: FuzzTarget.allCases)
    func corpus(_ target: FuzzTarget) throws {
        let seeds = Self.files("\(Self.root)/Corpus/\(target.rawValue)")
        try #require(!seeds.isEmpty, "no seed corpus for \(target.rawValue)")
        var accepted = 0
        for f in seeds {
            let v = target.run(try Data(contentsOf: URL(fileURLWithPath: f)))
            if v == .accepted { accepted += 1; continue }
            guard case .refused(let m) = v else { Issue.record("\(f): \(v)"); continue }
            #expect(m.contains(target.fileInErrors), "\(f): the error does not name the file: \(m)")
        }
        #expect(accepted > 0, "no seed of \(target.rawValue) is accepted")
    }

    @Test("Inputs that crashed a parser are refused with one clear error")
    func crashes() throws {
        var count = 0
        for target in FuzzTarget.allCases {
            for f in Self.files("\(Self.root)/Crashes/\(target.rawValue)") {
                count += 1
                let v = target.run(try Data(contentsOf: URL(fileURLWithPath: f)))
                guard case .refused(let m) = v else { Issue.record("\(f): \(v)"); continue }
                #expect(m.contains(target.fileInErrors), "\(f): \(m)")
            }
        }
        #expect(count == Self.files("\(Self.root)/Crashes").reduce(0) { $0 + Self.files($1).count })
    }
}
