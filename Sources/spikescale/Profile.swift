import ArgumentParser
import Foundation
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeMPI
import SpikeOptions
import SpikeRun

struct Profile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure a model's per-layer costs on this machine for the scaling model (plan --project).",
        discussion: """
        Simulates one untimed warm-up sample, then --samples timed ones (default 1), and writes per layer the \
        update-and-scatter seconds per timestep (the busiest rank's), the firing rate and the synaptic \
        operations; then runs the same samples as `simulate --json` does (coordinator, fresh simulator, result \
        files written to a scratch folder and removed) and records the per-image overhead (that run's seconds \
        per sample minus its own engine time) and each rank's peak RSS. Run it on one rank (no mpirun) for the \
        scaling model; under mpirun it records the partition's costs.
        """)
    @OptionGroup var config: ConfigOption
    @OptionGroup var experiment: ExperimentOptions
    @OptionGroup(title: "Output") var output: ProfileOptions

    func run() throws {
        experiment.installLimits()
        try runOnWorld(peerTimeout: experiment.control.peerTimeout, profile)
    }

    func profile(_ t: MPITransport) throws {
        let exp = Experiment(experiment, output: OutputOptions())
        var setup: (Network, SimulationConfig, [[Float]], InputSource)?
        try agreeAll(t) {
            guard experiment.simulation.groups == 1 else {
                throw SpikeError("profile measures one model partition over all ranks; --groups \(experiment.simulation.groups) is not used (the scaling model projects groups)")
            }
            let network = try exp.network(save: false)
            let cfg = try experiment.simulation.engineConfig(rasterSample: -1).adapted(to: network)
            let source = try exp.source(for: network, timesteps: cfg.timesteps, encoders: [cfg.encoder])
            let n = experiment.data.samples ?? 1, first = experiment.data.firstSample
            guard first + n <= source.count else { throw SpikeError("--first-sample \(first) + --samples \(n) but \(source.description) has \(source.count)") }
            setup = (network, cfg, try (first..<first + n).map { try source.sample($0).input }, source)
        }
        let (network, cfg, inputs, source) = setup!
        setup = nil
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd HH:mm"; f.timeZone = TimeZone(identifier: "UTC")
        // First the same samples as a whole run (what `simulate --json` measures): the coordinator's reading,
        // gathering, decoding, and writing the result and samples files (to a scratch folder, removed after). It gets
        // the only copy of the network, so its peak RSS is a simulation's (the weights freed as they are packed).
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spikescale-profile-\(getpid())")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        var opts = try exp.runOptions(defaultSamples: 1, json: scratch.appendingPathComponent("run.json").path)
        opts.progress = false
        opts.overwrite = true
        let run = try Coordinator(network: consume network, transport: t, config: cfg, options: opts).run(source: t.rank == 0 ? source : nil)
        // Then the per-layer costs, on a fresh copy of the network (one untimed warm-up sample first).
        var again: Network?
        try agreeAll(t) { again = try exp.network(save: false) }
        let engine = try ScalingProfiler.measure(model: try exp.modelSpec(), network: again!, transport: t, config: cfg,
                                                  policy: experiment.simulation.partitioning.partition, inputs: inputs,
                                                  machine: "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores",
                                                  date: f.string(from: Date()) + " UTC")
        guard let engine, let run else { return }
        let runEngine = (run.timing.map { $0.update + $0.pack + $0.exchange + $0.wait }.max() ?? 0) / Double(max(1, run.samples))
        let p = ScalingProfiler.withRun(engine, secondsPerSample: run.secondsPerSample, engineSecondsPerSample: runEngine,
                                        peakResidentBytes: run.communication.map(\.peakResidentBytes))
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try enc.encode(p).write(to: URL(fileURLWithPath: output.output))
        print("profile of \(p.network): \(p.ranks) rank(s), T = \(p.timesteps), \(p.samples) timed sample(s): "
              + String(format: "%.3f s per sample in the engine, %.2f ms per step in the layers, %.3f s per sample outside the timesteps (from a whole run: %.3f s per sample), %.0f MB peak RSS (rank 0)",
                       p.engineSecondsPerSample, p.layerSecondsPerStep * 1e3, p.overheadSecondsPerSample, run.secondsPerSample, Double(p.peakResidentBytes[0]) / 1e6))
        print("wrote \(output.output)")
    }
}
