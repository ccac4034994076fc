import ArgumentParser
import SpikeCore
import SpikeAggregate
import SpikeData
import SpikeEngine
import SpikeMetrics
import SpikeReport
import SpikeOptions
import SpikeRun

struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a built-in network (seeded weights scaled to a target firing rate) as a native model.")
    @Argument(help: "tiny-yolov3, yolov3 (Darknet's yolov3.cfg), mnist-cnn or branchy.") var name: String
    @Option(help: "Output model path (NAME.json; weights go to NAME.bin beside it).") var output: String
    @Option(help: "Weight seed.") var seed: UInt64 = 1
    @Option(help: "Target firing rate for weight scaling.") var targetRate: Float = 0.1
    @Option(help: "tiny-yolov3 and yolov3 input side (multiple of 32).") var inputSize: Int?

    func run() throws {
        do {
            let n = try ModelSource.zoo(name, seed: seed, targetRate: targetRate, inputSize: inputSize)
            try ModelFile.write(n, to: output)
            print("wrote \(output): \(n.name), \(n.layers.count) layers, \(n.neuronCount) neurons, \(n.parameterCount) parameters")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a model's layers, shapes, parameters and MACs.")
    @Argument(help: "Model file (.json) or zoo:NAME.") var model: String

    func run() throws {
        do {
            let n = try ModelSource.load(model)
            print(SummaryTable.inspect(n))
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a model is partitioned over K ranks, or project its scaling (--project).",
        discussion: """
        With --project, projects time per image, throughput and per-rank memory for strong scaling (more ranks \
        per model partition) and weak scaling (more rank groups, each on its own images) from per-layer costs \
        measured on this machine (spikescale profile) and an assumed latency/bandwidth network. Only the \
        measured 1- and 2-rank runs are measurements; everything past this machine is on paper.
        """)
    @Argument(help: "Model file (.json) or zoo:NAME.") var model: String
    @OptionGroup var options: PlanOptions
    func run() throws {
        do {
            let n = try ModelSource.load(model)
            guard options.project, let path = options.profile else {
                for r in options.ranks.values { print(try SpikeEngine.Partition(network: n, ranks: r, policy: options.partitioning.partition).describe(n)) }
                return
            }
            let profile = try ScalingProfile.read(path)
            try profile.check(matches: n, path: path)
            let net = NetworkParameters(latencySeconds: options.latencyMicroseconds * 1e-6,
                                        bandwidthBytesPerSecond: options.bandwidthGigabytesPerSecond * 1e9)
            let sm = try ScalingModel(network: n, profile: profile, net: net, memory: MemoryParameters(weightCopies: options.weightCopies),
                                      timesteps: options.timesteps, policy: options.partitioning.partition)
            let checks = try (options.measured?.values ?? []).map { try ProjectionCheck.check(sm, result: $0) }
            print(ScalingReport.render(sm, profilePath: path, ranks: options.ranks.values, groups: options.groups?.values,
                                       images: options.images, checks: checks))
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
