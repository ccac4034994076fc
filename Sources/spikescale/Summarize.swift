import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Collect result JSON files (e.g. of a scaling study) into one CSV.",
        discussion: "Speedup and efficiency are relative to the file with the fewest ranks.")
    @Option(help: "CSV output path.") var csv: String
    @Argument(help: "Result JSON files.") var results: [String]

    func run() throws {
        var rows = [RunResult]()
        for p in results {
            guard let d = FileManager.default.contents(atPath: p) else { printError("spikescale: error: \(p): cannot read"); throw ExitCode(1) }
            do { rows.append(try JSONDecoder().decode(RunResult.self, from: d)) } catch {
                printError("spikescale: error: \(p): not a spikescale result: \(error)"); throw ExitCode(1)
            }
        }
        guard let base = rows.min(by: { $0.ranks < $1.ranks }) else { return }
        var lines = ["file,network,ranks,timesteps,samples,complete,wallSeconds,secondsPerSample,speedup,efficiency,synapticOpsPerSecond,spikes,firingRate,updateMax,packMax,exchangeMax,waitMax,bytesSent,messages,peakResidentBytesMax"]
        for (p, r) in zip(results, rows) {
            let speedup = base.secondsPerSample / max(r.secondsPerSample, 1e-12)
            let eff = speedup * Double(base.ranks) / Double(r.ranks)
            let f = [p, r.network, "\(r.ranks)", "\(r.timesteps)", "\(r.samples)", "\(r.complete)",
                     String(format: "%.6f", r.wallSeconds), String(format: "%.6f", r.secondsPerSample),
                     String(format: "%.4f", speedup), String(format: "%.4f", eff), String(format: "%.4g", r.synapticOpsPerSecond),
                     "\(r.spikes)", String(format: "%.6f", r.firingRate),
                     String(format: "%.6f", r.timing.map(\.update).max() ?? 0), String(format: "%.6f", r.timing.map(\.pack).max() ?? 0),
                     String(format: "%.6f", r.timing.map(\.exchange).max() ?? 0), String(format: "%.6f", r.timing.map(\.wait).max() ?? 0),
                     "\(r.communication.reduce(0) { $0 + $1.bytesSent })", "\(r.communication.reduce(0) { $0 + $1.messages })",
                     "\(r.communication.map(\.peakResidentBytes).max() ?? 0)"]
            lines.append(f.joined(separator: ","))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        print(lines.joined(separator: "\n"))
    }
}
