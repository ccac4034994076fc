import ArgumentParser
import Foundation
import SpikeOptions

@main
struct SpikeScale: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spikescale",
        abstract: "Convert trained ANNs to spiking networks and simulate them over MPI ranks.",
        discussion: """
        Run under MPI with `mpirun -n K spikescale simulate ...`; without mpirun it is a world of one rank. \
        Results do not depend on the number of ranks: spike counts and outputs are bit-identical.
        """,
        subcommands: [Simulate.self, Train.self, Convert.self, FitFS.self, Sweep.self, Evaluate.self, Costs.self, Report.self, Zoo.self, Inspect.self, Plan.self, Profile.self, Summarize.self, ImportNIR.self, ExportNIR.self])

    /// The commands that take `--config`: a config's keys are their options.
    static let configurable: [String: ParsableArguments.Type] = [
        "simulate": Simulate.self, "convert": Convert.self, "sweep": Sweep.self, "evaluate": Evaluate.self,
        "train": Train.self, "profile": Profile.self,
    ]

    /// Expands `--config` into options, then parses and runs. Errors found before MPI starts are printed by
    /// rank 0 only (every rank sees the same arguments), so a job prints them once.
    static func main() {
        // Blocks of 128 kB and more are mapped on their own and unmapped when freed. glibc otherwise raises this
        // threshold after the first large free, and later large buffers (a sample's input, a layer's event
        // growth) stay in the heap after use, adding to every rank's peak memory.
        setMmapThreshold(128 * 1024)
        let args = Array(CommandLine.arguments.dropFirst())
        let env = ProcessInfo.processInfo.environment
        let isRoot = (env["PMI_RANK"] ?? env["OMPI_COMM_WORLD_RANK"] ?? "0") == "0"
        var expansion: ConfigExpansion?
        do {
            expansion = try ConfigExpansion(args, commands: configurable)
            var command = try parseAsRoot(expansion!.arguments)
            try command.run()
        } catch {
            let code = exitCode(for: error)
            guard isRoot || code == .success else { Foundation.exit(code.rawValue) }
            if code == .success {
                print(fullMessage(for: error))
            } else if let expansion {
                let text = message(for: error)
                if !text.isEmpty { printError("spikescale: error: " + expansion.explain(text)) }
                if error is ValidationError || code == .validationFailure {
                    printError("See 'spikescale \(args.first ?? "") --help' for the options.")
                }
            } else {
                printError("spikescale: error: \(error)")
            }
            Foundation.exit(code.rawValue)
        }
    }
}

/// Prints to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write((s.hasSuffix("\n") ? s : s + "\n").data(using: .utf8)!)
}

/// glibc's `mallopt(M_MMAP_THRESHOLD, bytes)` (looked up at run time: `<malloc.h>` is not in Swift's Glibc module);
/// a no-op where the C library has no such call.
func setMmapThreshold(_ bytes: Int32) {
    guard let f = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }   // RTLD_DEFAULT
    let mallopt = unsafeBitCast(f, to: (@convention(c) (Int32, Int32) -> Int32).self)
    _ = mallopt(-3, bytes)   // M_MMAP_THRESHOLD
}
