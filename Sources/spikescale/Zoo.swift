import ArgumentParser
import SpikeCore
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeReport
import SpikeRun

struct Zoo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a built-in network (seeded weights scaled to a target firing rate) as a native model.")
    @Argument(help: "tiny-yolov3, mnist-cnn or branchy.") var name: String
    @Option(help: "Output model path (NAME.json; weights go to NAME.bin beside it).") var output: String
    @Option(help: "Weight seed.") var seed: UInt64 = 1
    @Option(help: "Target firing rate for weight scaling.") var targetRate: Float = 0.1
    @Option(help: "tiny-yolov3 input side (multiple of 32).") var inputSize: Int?

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
    static let configuration = CommandConfiguration(abstract: "Show how a model is partitioned over K ranks.")
    @Argument(help: "Model file (.json) or zoo:NAME.") var model: String
    @Option(help: "Number of ranks.") var ranks: Int
    func run() throws {
        do {
            let n = try ModelSource.load(model)
            print(try SpikeEngine.Partition(network: n, ranks: ranks).describe(n))
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
import SpikeEngine
