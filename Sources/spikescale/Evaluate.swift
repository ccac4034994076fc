import ArgumentParser
import Foundation
import SpikeCore
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a trained ANN in ANN mode: accuracy or mAP beside memory and compute cost.",
        discussion: """
        The ANN side of Deng et al.'s comparison (their models 1, 4 and 5): the network runs as an ANN
        (im2col + sgemm) on --data; memory is weights + activations (32 bit), compute one multiply and one
        addition per MAC (eq. 8 and 9), energy per sample with every preset. Event data (N-MNIST) is fed
        as an image: --representation binary (unrolled binary image) or intensity (normalised counts).
        """)

    @Option(help: "YAML experiment config (keys model, data, split, samples, firstSample, representation, binMs, json); options here win.") var config: String?
    @Argument(help: "Trained model: .onnx, .cfg (Darknet, weights beside it) or .json.") var model: String?
    @Option(help: "Dataset folder (IDX, N-MNIST, YOLO layout or JPEG images).") var data: String?
    @Option(help: "Split (default: the evaluation split of the dataset).") var split: String?
    @Option(help: "Number of samples (default: all).") var samples: Int?
    @Option(help: "Index of the first sample.") var firstSample: Int?
    @Option(help: "Event data: intensity, binary (bins cover 300 ms) or binary:BINS (default: from the model's input shape).") var representation: String?
    @Option(help: "Event data: bin width in milliseconds (binary representation; default 10).") var binMs: Double?
    @Option(help: "Result JSON path.") var json: String?
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        do {
            var c = RunConfig()
            if let p = config { c = try RunConfig.load(p) }
            guard let model = model ?? c.model else { throw SpikeError("no model: pass MODEL or set key 'model' in the config") }
            guard let data = data ?? c.data else { throw SpikeError("no data: pass --data or set key 'data' in the config") }
            let firstSample = firstSample ?? c.firstSample ?? 0
            let json = json ?? c.json
            let imported = try ANNSource.load(model)
            let network = imported.network
            var ev = DataSource.EventOptions()
            ev.representation = representation ?? c.representation; ev.binMilliseconds = binMs ?? c.binMs ?? 10
            let source = try DataSource.open(data, split: split ?? c.split, expecting: network.inputShape,
                                             classes: network.heads.first?.classes, events: ev)
            let n = samples ?? c.samples ?? (source.count - firstSample)
            let r = try ANNEvaluation.run(network: network, modelPath: model, source: source, first: firstSample, count: n,
                                          progress: !quiet)
            var lines = ["\(r.network) on \(r.data): \(r.samples) samples, \(r.parameters) parameters"]
            if let t = r.top1 { lines.append(String(format: "top-1: %.2f%% (%d labelled)", t * 100, r.labelledSamples)) }
            if let d = r.detection {
                lines.append(String(format: "mAP@0.5 %.4f, COCO mAP@[.5:.95] %.4f (%d images, %d boxes, %d detections)",
                                    d.map50 ?? .nan, d.map50to95 ?? .nan, d.images, d.groundTruthBoxes, d.detections))
            }
            lines.append(String(format: "memory: %.3f MB (weights %.3f + activations %.3f); compute: %.4g multiplies + %.4g additions per sample; %.2f ms/sample",
                                Double(r.memory.annBits) / 8e6, Double(r.memory.weightBits) / 8e6, Double(r.memory.activationBits) / 8e6,
                                r.compute.multiplies, r.compute.additions, r.secondsPerSample * 1e3))
            print(lines.joined(separator: "\n"))
            if let p = json {
                let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try ResultFiles.atomicWrite(try enc.encode(r), to: p)
                print("result: \(p)")
            }
        } catch let e as SpikeError { printError("spikescale: error: \(e.message)"); throw ExitCode(1) }
    }
}
