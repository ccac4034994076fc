import ArgumentParser
import Foundation
import SpikeCore
import SpikeOptions
import SpikeRun

struct Convert: ParsableCommand, CommandLineOnly {
    /// `--output` is the command line's name for `snnModel`; the config key `output` is a sweep's folder.
    static let commandLineOnly: Set<String> = ["output"]

    static let configuration = CommandConfiguration(
        abstract: "Convert a trained ANN (ONNX, Darknet .cfg + .weights, or a native graph) into a spiking network.",
        discussion: """
        Batch norm is folded at import. Calibration runs the ANN reference on --calibration-count samples of \
        --calibration (the train split by default, kept apart from the evaluation split) and sets each layer's \
        (or channel's) normalization factor from the chosen statistic of |activation|. ReLU becomes an IF neuron \
        with memory (plain IF with --relu-neurons if), leaky-ReLU an IBT neuron with the layer's alpha, linear a \
        signed alpha = 1 neuron, the output layer an accumulator. Writes OUT.json + OUT.bin and the report \
        OUT.report.json.
        """)

    @OptionGroup var config: ConfigOption
    @Argument(help: "Trained model: .onnx, .cfg (Darknet) or .json (default: --model, or the config's 'model').") var modelArgument: String?
    @OptionGroup(title: "Model") var model: ModelOptions
    @OptionGroup(title: "Conversion") var conversion: ConvertOptions
    @Option(help: "Output model path (.json; weights go to .bin beside it); the same as --snn-model (config key 'snnModel').") var output: String?

    func run() throws {
        model.installLimits()
        do {
            guard let spec = modelArgument ?? model.model else { throw SpikeError("no model: pass MODEL or set key 'model' in the config") }
            guard let out = output ?? conversion.snnModel else { throw SpikeError("no output: pass --output OUT.json or set key 'snnModel' in the config") }
            guard let cal = conversion.calibration else {
                throw SpikeError("converting an ANN needs calibration data: pass --calibration DATA or set key 'calibration'")
            }
            let imported = try ANNSource.load(spec, weights: model.weights)
            let calibration = try CalibrationSet(conversion, data: cal, inputShape: imported.network.inputShape)
            let (snn, report) = try calibration.convert(imported, source: spec, rules: conversion.rules)
            let written = try ConvertedModel.write(snn, report: report, to: out)
            print(report.table)
            print("wrote \(written.model) (+ .bin) and \(written.report)")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
