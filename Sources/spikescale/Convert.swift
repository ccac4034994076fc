import ArgumentParser
import Foundation
import SpikeConvert
import SpikeCore
import SpikeData
import SpikeEngine
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

    @Argument(help: "Trained model: .onnx, .cfg (Darknet) or .json.") var model: String
    @Option(help: "Darknet weights (default: the .cfg path with .weights).") var weights: String?
    @Option(help: "Calibration data: an IDX folder (MNIST-style) or a folder of JPEG images (letterboxed as Darknet does).") var calibration: String
    @Option(help: "IDX split for calibration.") var calibrationSplit = "train"
    @Option(help: "Number of calibration samples.") var calibrationCount = 100
    @Option(help: "Normalization: layer or channel.") var norm: NormMode = .channel
    @Option(help: "Statistic: max, p99.9, p99.99.") var statistic = "p99.99"
    @Option(help: "Reset: subtract or zero.") var reset: ResetMode = .subtract
    @Option(help: "Initial membrane potential as a fraction of the threshold.") var initialMembrane: Float = 0
    @Option(help: "Multiply every spiking threshold by this factor.") var thresholdScale: Float = 1
    @Option(help: "Max-pool: gate (spiking max-pool) or average (replaced by average pooling).") var maxpool: MaxPoolMode = .gate
    @Option(help: "Output model path (.json; weights go to .bin beside it).") var output: String

    func run() throws {
        do {
            let imported = try ANNSource.load(model, weights: weights)
            guard calibrationCount >= 1 else { throw SpikeError("--calibration-count must be at least 1") }
            let data = try DataSource.open(calibration, split: calibrationSplit, expecting: imported.network.inputShape)
            guard calibrationCount <= data.count else { throw SpikeError("--calibration-count \(calibrationCount) but \(data.description) has \(data.count)") }
            let samples = try (0..<calibrationCount).map { try data.sample($0).input }
            var o = ConversionOptions()
            o.norm = norm; o.statistic = try Statistic(parsing: statistic); o.reset = reset
            o.initialMembrane = initialMembrane; o.thresholdScale = thresholdScale; o.maxPool = maxpool
            let (snn, report) = try Converter.convert(imported.network, calibration: samples,
                                                      calibrationData: data is IDXSource ? "\(calibration) \(calibrationSplit) images 0..<\(calibrationCount)"
                                                          : "\(data.description), first \(calibrationCount) in name order",
                                                      source: model, options: o, importNotes: imported.notes)
            try ModelFile.write(snn, to: output)
            let reportPath = (output as NSString).deletingPathExtension + ".report.json"
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try enc.encode(report).write(to: URL(fileURLWithPath: reportPath))
            print(report.table)
            print("wrote \(output) and \(reportPath)")
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}

extension NormMode: ExpressibleByArgument {}
extension ResetMode: ExpressibleByArgument {}
extension MaxPoolMode: ExpressibleByArgument {}
