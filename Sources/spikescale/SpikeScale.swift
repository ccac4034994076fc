import ArgumentParser
import Foundation

@main
struct SpikeScale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescale",
        abstract: "Convert trained ANNs to spiking networks and simulate them over MPI ranks.",
        discussion: """
        Run under MPI with `mpirun -n K spikescale simulate ...`; without mpirun it is a world of one rank.
        Results do not depend on the number of ranks: spike counts and outputs are bit-identical.
        """,
        subcommands: [Simulate.self, Convert.self, Sweep.self, Evaluate.self, Costs.self, Report.self, Zoo.self, Inspect.self, Plan.self, Summarize.self])
}

/// Prints to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write((s.hasSuffix("\n") ? s : s + "\n").data(using: .utf8)!)
}
