import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeCore
import SpikeReport

struct Costs: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Deng et al.-style table (their Tables 4-6): accuracy beside memory and compute cost.",
        discussion: """
        Each argument is LABEL=FILE: an ANN result (`spikescale evaluate --json`) or a simulation result \
        (`spikescale simulate --json`); FILE '-' leaves the row visibly empty (a model not yet available). \
        Memory follows eq. 8 (32-bit weights and activations or membrane potentials, 1-bit spikes of the busiest \
        timestep), compute eq. 9 (ANN: one multiply and one addition per MAC; SNN: additions per synaptic \
        operation, multiply-accumulates only where it takes analog input), per sample.
        """)
    @Argument(help: "Rows as LABEL=FILE.") var rows: [String]
    @Option(help: "Write the Markdown table here as well.") var markdown: String?
    @Option(help: "Energy preset column.") var energyPreset = "spiking-yolo-fp32"

    func run() throws {
        for row in rows where !row.contains("=") { throw ValidationError("'\(row)': expected LABEL=FILE") }
        let text: String
        do {
            text = try CostsTable.render(rows: rows.map(CostsTable.Row.init(parsing:)), energyPreset: energyPreset)
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
        print(text, terminator: "")
        if let m = markdown { try ResultFiles.atomicWrite(Data(text.utf8), to: m) }
    }
}
