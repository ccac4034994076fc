import ArgumentParser
import Foundation
import SpikeCore
import SpikeOptions
import SpikeTrain
import Testing

/// The option groups as `train` declares them.
struct TrainLike: ParsableCommand {
    @OptionGroup var config: ConfigOption
    @OptionGroup var train: TrainOptions
    @OptionGroup var control: RunControl
}

private func parseTrain(_ args: [String]) throws -> TrainLike {
    let e = try ConfigExpansion(["train"] + args, commands: ["train": TrainLike.self, "simulate": SimulateLike.self])
    return try TrainLike.parse(Array(e.arguments.dropFirst()))
}

@Suite("Train options")
struct TrainOptionsTests {
    @Test("Every training config in Configs/train parses, builds its network, and names shared data that exists")
    func shippedTrainConfigs() throws {
        let dir = ShippedConfigTests.repo.appendingPathComponent("Configs/train")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 4)
        for f in files {
            let c = try parseTrain(["--config", dir.appendingPathComponent(f).path])
            let data = try #require(c.train.data, "\(f): no data")
            #expect(FileManager.default.fileExists(atPath: ShippedConfigTests.repo.appendingPathComponent(data).standardizedFileURL.path), "\(f): \(data) does not exist")
            let shape = c.train.isEvents ? Shape(34, 34, 2) : Shape(28, 28, 1)
            let model = try SpikingModel(architecture: c.train.architecture, input: shape, classes: c.train.classes, norm: c.train.normalization,
                                         neuron: c.train.config.neuron, seed: 1)
            _ = try model.nativeNetwork(name: f)   // every shipped network can go to the simulator
        }
    }

    @Test("Config keys are the property names; the command line wins; bad values name the option")
    func keysAndChecks() throws {
        let p = try writeConfig("data: ../shared/data/mnist\nnormalization: bn\nepochs: 3\nsurrogate: sigmoid\nlearningRate: 0.01\n")
        let c = try parseTrain(["--config", p, "--epochs", "5"])
        #expect(c.train.normalization == .bn && c.train.epochs == 5 && c.train.surrogate == .sigmoid && c.train.learningRate == 0.01)
        #expect(c.train.config.neuron.surrogate == .sigmoid(width: 1))
        #expect(throws: (any Error).self) { try parseTrain(["--data", "x", "--chunk-size", "100", "--batch-size", "10"]) }
        do { _ = try parseTrain(["--data", "x", "--architecture", "16q3"]); Issue.record("a bad architecture was accepted") }
        catch { #expect(TrainLike.message(for: error).contains("--architecture")) }
        let bad = try writeConfig("data: x\nepochz: 3\n")
        #expect(throws: (any Error).self) { try parseTrain(["--config", bad]) }
    }
}
