import ArgumentParser
import Foundation
import SpikeCore
import SpikeImport
import SpikeOptions

struct ImportNIR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-nir",
        abstract: "Import a NIR graph (.nir, HDF5) as a native spiking network.",
        discussion: """
        NIR is continuous-time: --dt gives the seconds per timestep and --convention whose discretisation of the \
        neuron equations to use (snntorch, norse, sinabs, spikingjelly; README, NIR interchange). LIF, CubaLIF, \
        IF and Threshold become leaky neurons, LI, CubaLI and I leaky integrators; Affine, Linear, Scale, \
        Conv2d, SumPool2d and AvgPool2d their synapses; Flatten a routing layer. A node that cannot be mapped is \
        refused by name. Writes OUT.json + OUT.bin.
        """)

    @Argument(help: "NIR file (.nir).") var file: String
    @OptionGroup(title: "Model") var model: ModelOptions
    @Option(help: "Output model path (.json; weights go to .bin beside it).") var output: String

    func run() throws {
        model.installLimits()
        do {
            guard let dt = model.dt else { throw SpikeError("\(file): importing NIR needs --dt SECONDS (NIR is continuous-time and stores no timestep)") }
            let imported = try NIRImporter.load(path: file, dt: dt, convention: model.convention)
            try ModelFile.write(imported.network, to: output)
            for n in imported.notes { print(n) }
            for l in imported.network.layers {
                let theta = l.perNeuron.threshold.isEmpty ? { (n: NeuronModel) in " θ=\(n.threshold)" } : { _ in " θ per neuron" }
                let arrays = l.perNeuron.present.map(\.name)
                print("  \(l.name): \(l.op.name) \(l.shape)" + (l.neuron.map { " \($0.kind.rawValue)" + ($0.kind == .leaky ? theta($0) : "") } ?? "")
                      + (arrays.isEmpty ? "" : " (per-neuron \(arrays.joined(separator: ", ")))"))
            }
            print("wrote \(output)")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}

struct ExportNIR: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-nir",
        abstract: "Write a native spiking network (converted or trained) as a NIR graph (.nir, HDF5).",
        discussion: """
        Standard NIR nodes where NIR has them (Input, Conv2d, Affine/Linear, AvgPool2d, Flatten, IF, LIF, \
        CubaLIF, LI, I, Output); SpikeScale's extra semantics (IBT α, reset by subtraction, burst, the spiking \
        max-pool gate, upsample, concat, slice) as documented metadata and SpikeScale* node types, so \
        `import-nir` reads the file back bit for bit and other readers get a standard equivalent or refuse the \
        node by its type (README, NIR interchange).
        """)

    @Argument(help: "Native model (.json with its .bin).") var model: String
    @Option(help: "Output NIR file (.nir).") var output: String

    func run() throws {
        do {
            let network = try ModelFile.read(model)
            try NIRExporter.write(network, to: output)
            print("wrote \(output) (\(network.layers.count) layers)")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
