import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeCore
import SpikeReport

struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect result JSON files (e.g. of a scaling study) into one CSV.",
        discussion: "Speedup and efficiency are relative to the file with the fewest ranks.")
    @Option(help: "CSV output path.") var csv: String
    @Argument(help: "Result JSON files.") var results: [String]

    func run() throws {
        let runs: [RunResult]
        do { runs = try results.map { try ResultFile.load($0).runResult(path: $0) } } catch let e as SpikeError {
            printError("spikescale: error: \(e.message)"); throw ExitCode(1)
        }
        guard let text = ScalingSummary.csv(paths: results, results: runs) else { return }
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
        print(text, terminator: "")
    }
}
