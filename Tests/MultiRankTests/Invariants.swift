import SpikeAggregate
import SpikeMetrics
import TestSupport

/// A layer's figures that must not depend on the number of ranks (DESIGN.md section 5).
struct LayerInvariant: Equatable {
    var name: String
    /// spikes, positive spikes, negative spikes, synaptic ops, analog MACs, neuron updates.
    var counters: [Int64]
    var channelFiringRates: [UInt64]?

    init(_ l: RunResult.Layer) {
        name = l.name
        counters = [l.spikes, l.positiveSpikes, l.negativeSpikes, l.synapticOps, l.analogMacs, l.neuronUpdates]
        channelFiringRates = l.channelFiringRates.map(bits)
    }
}

/// A sample's record without its timing: decoded outputs bit for bit, counters exactly.
struct SampleInvariant: Equatable {
    var sample: Int
    var outputs: [[UInt32]]
    var layers: [[Int64]]
    var busiestStepSpikes: Int64
    /// Per detection: image, class, then the bit patterns of x, y, w, h and score.
    var detections: [[UInt64]]?
    var checkpointCounters: [[Int64]]?

    init(_ s: SampleRecord) {
        sample = s.sample
        outputs = bits(s.outputs)
        layers = s.layers
        busiestStepSpikes = s.busiestStepSpikes
        detections = s.detections?.map { d in
            [UInt64(d.image), UInt64(d.classID)] + [d.box.x, d.box.y, d.box.w, d.box.h, d.score].map { UInt64($0.bitPattern) }
        }
        checkpointCounters = s.checkpointCounters
    }
}

/// A `--layer-errors` row, its figures as bit patterns.
struct LayerErrorInvariant: Equatable {
    var layer: String
    var figures: [UInt64?]

    init(_ e: RunResult.LayerError) {
        layer = e.layer
        figures = [e.meanAbsError, e.meanError, e.meanAbsANN, e.relativeError, e.correlation, e.saturated].map { $0?.bitPattern }
    }
}

/// What a run must give identically on any number of ranks.
struct RunInvariant: Equatable {
    var layers: [LayerInvariant]
    var samples: [SampleInvariant]

    /// Reads `simulate --json PATH`'s result and samples files.
    init(json path: String) throws {
        layers = try ResultReader.run(path).layers.map(LayerInvariant.init)
        samples = try ResultReader.samples(path).map(SampleInvariant.init)
    }
}
