import ArgumentParser
import Foundation
import SpikeANN
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeMPI
import SpikeOptions
import SpikeReport
import SpikeRun

struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulate a spiking network on the MPI ranks of this job.",
        discussion: """
        The model is a native SpikeScale model (NAME.json + NAME.bin), zoo:NAME, or a trained ANN (.onnx, \
        Darknet .cfg) that every rank converts first with the conversion options (given --calibration). Inputs \
        come from --data or, with --input synthetic, from seeded synthetic images. Writes the result JSON to \
        --json and one line per finished sample to JSON.samples.jsonl.
        """)

    /// Samples simulated when --samples is not given.
    static let defaultSamples = 1

    @OptionGroup var config: ConfigOption
    @OptionGroup var experiment: ExperimentOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @Flag(help: "Print the partition plan.") var showPlan = false

    func run() throws {
        experiment.installLimits()
        try runOnWorld(peerTimeout: experiment.control.peerTimeout, simulate)
    }

    func simulate(_ t: MPITransport) throws {
        let exp = Experiment(experiment, output: output)
        let simulation = experiment.simulation
        // Setup: every rank loads and validates; all agree before any rank goes on.
        var setup: (Network, SimulationConfig, RunOptions, InputSource?)?
        try agreeAll(t) {
            let network = try exp.network(save: t.rank == 0)
            let cfg = try simulation.engineConfig(rasterSample: exp.data.firstSample).adapted(to: network)
            let opts = try exp.runOptions(defaultSamples: Self.defaultSamples, json: output.json)
            let source = try RankLayout(size: t.size, groups: simulation.groups).leads(t.rank) ? try exp.source(for: network, timesteps: cfg.timesteps, encoders: [cfg.encoder]) : nil
            setup = (network, cfg, opts, source)
        }
        let (network, cfg, opts, source) = setup!
        setup = nil   // the coordinator's copy is then the only one: its simulator can free the weights it packs
        let coordinator = try Coordinator(network: consume network, transport: t, config: cfg, options: opts)
        if showPlan && t.rank == 0 { print(coordinator.partition.describe(coordinator.network)) }
        if t.rank == 0 && (opts.compareANN || cfg.layerValues), let w = BLASInfo.fallbackWarning { printError("spikescale: warning: \(w)") }
        if let result = try coordinator.run(source: source) {
            print(SummaryTable.render(result))
            for s in result.skippedSamples ?? [] { print("skipped sample \(s.sample): \(s.reason)") }
            if let p = opts.jsonPath { print("result: \(p)\nsamples: \(p).samples.jsonl") }
        }
    }
}
