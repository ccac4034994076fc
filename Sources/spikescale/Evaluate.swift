import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeANN
import SpikeCore
import SpikeData
import SpikeOptions
import SpikeRun

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained ANN in ANN mode: accuracy or mAP beside memory and compute cost.",
        discussion: """
        The ANN side of Deng et al.'s comparison (their models 1, 4 and 5): the network runs as an ANN (im2col + \
        sgemm) on --data; memory is weights + activations (32 bit), compute one multiply and one addition per \
        MAC (eq. 8 and 9), energy per sample with every preset. Event data (N-MNIST) is fed as an image: \
        --representation binary (unrolled binary image) or intensity (normalised counts).
        """)

    @OptionGroup var config: ConfigOption
    @Argument(help: "Trained model: .onnx, .cfg (Darknet, weights beside it) or .json (default: --model, or the config's 'model').") var modelArgument: String?
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Data") var data: DataOptions
    @OptionGroup(title: "Output") var output: OutputOptions
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        model.installLimits(); data.installLimits()
        do {
            guard let spec = modelArgument ?? model.model else { throw SpikeError("no model: pass MODEL or set key 'model' in the config") }
            guard let folder = data.data else { throw SpikeError("no data: pass --data or set key 'data' in the config") }
            let network = try ANNSource.load(spec, weights: model.weights).network
            var ev = DataSource.EventOptions()
            ev.representation = data.representation; ev.binMilliseconds = data.binMs
            let source = try DataSource.open(folder, split: data.split, expecting: network.inputShape,
                                             classes: network.heads.first?.classes, events: ev)
            let n = data.samples ?? (source.count - data.firstSample)
            if let w = BLASInfo.fallbackWarning { printError("spikescale: warning: \(w)") }
            let r = try ANNEvaluation.run(network: network, modelPath: spec, source: source, first: data.firstSample, count: n,
                                          progress: !quiet)
            print(ANNEvaluation.summary(r))
            if let p = output.json {
                try ResultFiles.writeJSON(r, to: p)
                print("result: \(p)")
            }
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
