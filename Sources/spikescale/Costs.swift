import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Costs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deng et al.-style table (their Tables 4-6): accuracy beside memory and compute cost.",
        discussion: """
        Each argument is LABEL=FILE: an ANN result (`spikescale evaluate --json`) or a simulation result
        (`spikescale simulate --json`); FILE '-' leaves the row visibly empty (a model not yet available).
        Memory follows eq. 8 (32-bit weights and activations or membrane potentials, 1-bit spikes of the
        busiest timestep), compute eq. 9 (ANN: one multiply and one addition per MAC; SNN: additions per
        synaptic operation, multiply-accumulates only where it takes analog input), per sample.
        """)
    @Argument(help: "Rows as LABEL=FILE.") var rows: [String]
    @Option(help: "Write the Markdown table here as well.") var markdown: String?
    @Option(help: "Energy preset column.") var energyPreset = "spiking-yolo-fp32"

    func run() throws {
        var lines = ["| Model | Input | T | Accuracy | Memory (MB) | Multiplies / sample | Additions / sample | Energy / sample (µJ, \(energyPreset)) |",
                     "|---|---|---:|---:|---:|---:|---:|---:|"]
        for row in rows {
            guard let eq = row.firstIndex(of: "=") else { throw ValidationError("'\(row)': expected LABEL=FILE") }
            let label = String(row[..<eq]), path = String(row[row.index(after: eq)...])
            if path == "-" { lines.append("| \(label) | – | – | – | – | – | – | – |"); continue }
            guard let d = FileManager.default.contents(atPath: path) else { printError("spikescale: error: \(path): cannot read"); throw ExitCode(1) }
            func pct(_ v: Double?) -> String { v.map { String(format: "%.2f%%", $0 * 100) } ?? "–" }
            func g(_ v: Double) -> String { v == 0 ? "0" : String(format: "%.4g", v) }
            if let a = try? JSONDecoder().decode(ANNResult.self, from: d), a.kind == "ann" {
                let e = a.energy.first { $0.preset == energyPreset }?.annJoules ?? .nan
                let acc = a.top1.map { pct($0) } ?? a.detection?.map50.map { String(format: "mAP %.4f", $0) } ?? "–"
                lines.append("| \(label) | image (ANN) | – | \(acc) (\(a.samples)) | \(String(format: "%.3f", Double(a.memory.annBits) / 8e6)) | \(g(a.compute.multiplies)) | \(g(a.compute.additions)) | \(String(format: "%.3f", e * 1e6)) |")
            } else {
                let r: RunResult
                do { r = try JSONDecoder().decode(RunResult.self, from: d) } catch {
                    printError("spikescale: error: \(path): neither an ANN result nor a simulation result: \(error)"); throw ExitCode(1)
                }
                guard r.complete else { printError("spikescale: error: \(path): the run is incomplete (\(r.samples) samples)"); throw ExitCode(1) }
                let e = r.energyPresets.first { $0.preset == energyPreset }?.snnJoules ?? .nan
                let acc = r.top1.map { pct($0) } ?? r.detection?.map50.map { String(format: "mAP %.4f", $0) } ?? "–"
                lines.append("| \(label) | \(r.encoder) | \(r.timesteps) | \(acc) (\(r.samples)) | \(String(format: "%.3f", Double(r.memory.snnBits) / 8e6)) | \(g(r.compute.snn.multiplies)) | \(g(r.compute.snn.additions)) | \(String(format: "%.3f", e * 1e6)) |")
            }
        }
        let text = lines.joined(separator: "\n") + "\n"
        print(text, terminator: "")
        if let m = markdown { try ResultFiles.atomicWrite(Data(text.utf8), to: m) }
    }
}
