import Foundation
import SpikeAggregate
import SpikeCore
import SpikeEngine
import SpikeRun
import Testing

@Suite("Coordinator records and the run accumulator")
struct RunRecordTests {
    @Test("A sample message round-trips its label and input bit for bit, and a failure its text")
    func sampleMessage() {
        let input: [Float] = [0, 1.5, -2.25, .leastNonzeroMagnitude, 3e38]
        #expect(SampleMessage(bytes: SampleMessage.sample(label: 7, input: input).bytes) == .sample(label: 7, input: input))
        #expect(SampleMessage(bytes: SampleMessage.sample(label: nil, input: []).bytes) == .sample(label: nil, input: []))
        #expect(SampleMessage(bytes: SampleMessage.failure("img.jpg: not a JPEG").bytes) == .failure("img.jpg: not a JPEG"))
    }

    @Test("Sample counters flatten in one layout and come back whole")
    func sampleCounters() {
        var a = LayerCounters(); a.positiveSpikes = 3; a.negativeSpikes = 1; a.synapticOps = 40; a.macs = 5; a.neuronUpdates = 9
        var b = LayerCounters(); b.positiveSpikes = 2; b.synapticOps = 7
        let c = SampleCounters(layers: [a, b], spikesPerStep: [1, 4, 0], checkpoints: [CheckpointCounters(flat: [2, 30, 5])])
        #expect(c.flat.count == 2 * 5 + 3 + 3)
        #expect(SampleCounters(flat: c.flat, layers: 2, timesteps: 3, checkpoints: 1) == c)
    }

    func record(_ sample: Int, label: Int?, prediction: Int?, ann: Int?, checkpoint: [Int]?, busiest: Int64) -> SampleRecord {
        SampleRecord(sample: sample, label: label, prediction: prediction, outputs: [], spikes: 10, synapticOps: 100, analogMacs: 0,
                     busiestStepSpikes: busiest, layers: [[4, 1, 100, 0, 20]], seconds: 0, annPrediction: ann,
                     checkpointPredictions: checkpoint, checkpointCounters: checkpoint.map { _ in [[5, 50, 0]] })
    }

    @Test("The accumulator counts accuracy, ANN agreement, checkpoints and the busiest step from records")
    func accumulator() throws {
        var acc = RunAccumulator(layers: 1, checkpoints: 1)
        acc.add(record(0, label: 1, prediction: 1, ann: 1, checkpoint: [0], busiest: 3))
        acc.add(record(1, label: 2, prediction: 0, ann: 2, checkpoint: [2], busiest: 7))
        acc.add(record(2, label: nil, prediction: 4, ann: nil, checkpoint: [4], busiest: 1))
        #expect(acc.samples == 3 && acc.labelled == 2 && acc.correct == 1 && acc.top1 == 0.5)
        #expect(acc.busiestStep == 7 && acc.layers[0].spikes == 15 && acc.layers[0].synapticOps == 300)
        #expect(acc.checkpointCorrect == [1] && acc.checkpoints[0].synapticOps == 150)
        let ann = try #require(acc.annComparison)
        #expect(ann.samples == 2 && ann.top1 == 1 && ann.top1Agreement == 0.5)
    }

    @Test("The model kind is decided once, by prefix and extension")
    func modelSpec() {
        #expect(ModelSpec("zoo:tiny-yolov3") == .zoo("tiny-yolov3"))
        #expect(ModelSpec("a/b.ONNX") == .onnx("a/b.ONNX") && ModelSpec("x.cfg") == .darknet("x.cfg"))
        #expect(ModelSpec("m.json") == .native("m.json") && !ModelSpec("m.json").isANN && ModelSpec("x.cfg").isANN)
    }
}
