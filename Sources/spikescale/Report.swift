import ArgumentParser
import Foundation
import SpikeCore
import SpikeReport

/// `spikescale report`: SVG plots and one self-contained HTML page from result files.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make SVG plots and an HTML report from result files.",
        discussion: """
        Each FILE is JSON and is recognised by its content: a run result (`simulate --json`), a sweep (`sweep`, \
        "kind": "sweep"), a conversion report (`convert`, OUT.report.json) or a training result (`train --json`: \
        loss and accuracy per epoch; several runs compared, accuracy vs depth). Writes one SVG per plot and \
        DIR/report.html, which embeds them all with the tables (no scripts, no external files). With two or more \
        run results it also compares them (per-layer firing-rate distributions side by side, as in Spiking-YOLO \
        Fig. 3; runs whose model names say layer or channel are labelled so).
        """)

    @Argument(help: "Result files (JSON): run results, sweeps, conversion reports and training results.") var files: [String] = []
    @Option(name: .shortAndLong, help: "Output directory (created if missing).") var output: String
    @Option(help: "Title of the report.") var title: String = "SpikeScale report"
    @Option(help: "Per-channel maximum-activation plots for this many layers of each conversion report.")
    var channelLayers: Int = 4

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one result file") }
        if channelLayers < 0 { throw ValidationError("--channel-layers must be >= 0") }
    }

    func run() throws {
        let inputs: [ReportInput]
        do { inputs = try ReportInput.load(files) } catch let e as SpikeError {
            printError("spikescale: error: \(e.message)")
            throw ExitCode(1)
        }
        let report = ReportBuilder(title: title, channelLayers: channelLayers).build(inputs)
        do {
            try ReportWriter.write(report, to: output)
        } catch {
            printError("spikescale: error: \(output): cannot write the report: \(error)")
            throw ExitCode(1)
        }
        let figs = report.figures
        print("wrote \(figs.count) SVG plot\(figs.count == 1 ? "" : "s") and \((output as NSString).appendingPathComponent("report.html"))")
    }
}
