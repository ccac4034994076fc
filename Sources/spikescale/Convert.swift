import ArgumentParser
import Foundation
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a trained ANN (ONNX, Darknet .cfg + .weights, or a native graph) into a spiking network.",
        discussion: """
        Batch norm is folded at import. Calibration runs the ANN reference on --calibration-count samples of
        --calibration (an IDX folder; the train split by default, kept apart from the t10k evaluation split)
        and sets each layer's (or channel's) normalization factor from the chosen statistic of |activation|.
        ReLU becomes IF, leaky-ReLU an IBT neuron with the layer's alpha, linear a signed alpha = 1 neuron,
        the output layer an accumulator. Writes OUT.json + OUT.bin and the report OUT.report.json.
        """)

    @Option(help: "YAML experiment config: its conversion keys (calibration, calibrationSplit, calibrationCount, norm, statistic, reset, initialMembrane, thresholdScale, maxpool, snnModel) fill options not given here.") var config: String?
    @Argument(help: "Trained model: .onnx, .cfg (Darknet) or .json (default: the config's 'model').") var model: String?
    @Option(help: "Darknet weights (default: the .cfg path with .weights).") var weights: String?
    @Option(help: "Calibration data: an IDX folder (MNIST-style), a YOLO-layout or JPEG image folder (letterboxed as Darknet does), or N-MNIST.") var calibration: String?
    @Option(help: "Split for calibration (default train).") var calibrationSplit: String?
    @Option(help: "Number of calibration samples (default 100).") var calibrationCount: Int?
    @Option(help: "Normalization: layer or channel (default channel).") var norm: NormMode?
    @Option(help: "Statistic: max, p99.9, p99.99 (default p99.99).") var statistic: String?
    @Option(help: "Reset: subtract or zero (default subtract).") var reset: ResetMode?
    @Option(help: "Initial membrane potential as a fraction of the threshold (default 0).") var initialMembrane: Float?
    @Option(help: "Multiply every spiking threshold by this factor (default 1).") var thresholdScale: Float?
    @Option(help: "Max-pool: gate (spiking max-pool) or average (replaced by average pooling).") var maxpool: MaxPoolMode?
    @Option(help: "Residual adds: per-source (each branch keeps its scale, default) or max (one scale per stream, no branch amplified).") var residual: ResidualScaling?
    @Option(help: "Neurons for leaky-ReLU and linear layers: ibt (signed IBT, default) or relu (IF, negative activations dropped: the ablation).") var neurons: String?
    @Option(help: "Output layers: accumulator (non-spiking, membrane decoding; default) or spiking (signed linear neurons normalized like hidden layers, so --decoding spikes reads spike counts).") var outputNeurons: String?
    @Option(help: "Burst spikes: IF/IBT neurons may fire up to this many spikes per step (one event of value k), so activations above λ are not clipped (default 1).") var burst: Int?
    @Option(help: "Output model path (.json; weights go to .bin beside it; default: the config's 'snnModel').") var output: String?

    func run() throws {
        do {
            var c = RunConfig()
            if let p = config { c = try RunConfig.load(p) }
            guard let model = model ?? c.model else { throw SpikeError("no model: pass MODEL or set key 'model' in the config") }
            guard let output = output ?? c.snnModel else { throw SpikeError("no output: pass --output OUT.json or set key 'snnModel' in the config") }
            let imported = try ANNSource.load(model, weights: weights)
            let setup = try ConversionSetup(config: c, calibration: calibration, calibrationSplit: calibrationSplit,
                                            calibrationCount: calibrationCount, norm: norm, statistic: statistic, reset: reset,
                                            initialMembrane: initialMembrane, thresholdScale: thresholdScale, maxpool: maxpool,
                                            residual: residual, neurons: neurons, outputNeurons: outputNeurons, burst: burst)
            let (snn, report) = try setup.convert(imported, source: model)
            try ModelFile.write(snn, to: output)
            let reportPath = (output as NSString).deletingPathExtension + ".report.json"
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try ResultFiles.atomicWrite(try enc.encode(report), to: reportPath)
            print(report.table)
            print("wrote \(output) and \(reportPath)")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}

extension NormMode: ExpressibleByArgument {}
extension ResetMode: ExpressibleByArgument {}
extension MaxPoolMode: ExpressibleByArgument {}
extension ResidualScaling: ExpressibleByArgument {}
