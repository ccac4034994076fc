import SpikeCore
#if canImport(Glibc)
import Glibc
#endif

/// How the input sample becomes events (Deng et al. section 3.1, image to spikes).
public enum InputEncoder: String, Sendable, Codable, CaseIterable {
    /// Analog encoding layer: the pixel values reach the first weight layer as analog events every
    /// timestep, so that layer computes in ANN mode (multiply-accumulates) and emits spikes.
    case direct
    /// Direct analog current: each input neuron integrates its pixel value as a constant current
    /// (IF, θ = 1, reset by subtraction, V₀ = 0) and emits binary spikes; a deterministic rate code,
    /// so the first weight layer only adds.
    case current
    /// Each input neuron spikes with probability equal to its value, every timestep, drawn from the
    /// counter-based generator keyed by (seed, sample, layer, neuron, timestep).
    case bernoulli
    /// Poisson spike train sampled once per step: P(spike) = 1 − exp(−x) (Deng et al. section 3.1),
    /// from the same keyed generator as Bernoulli.
    case poisson
    /// Event frames: the sample holds `timesteps` binary frames (e.g. N-MNIST events binned per
    /// timestep); frame t's nonzero entries spike at timestep t.
    case events
}

/// How output layers are read out after T timesteps.
public enum Decoding: String, Sendable, Codable, CaseIterable {
    /// Mean integrated input current `Σ_t I(t) / T` (for an accumulator: `(V_T − V_0) / T`).
    case membrane
    /// Spike count times threshold over T: `Σ_t s(t)·θ / T` (signed for IBT neurons).
    case spikes
}

/// Which convolution kernel the engine uses. Both give bit-identical results (same per-neuron order).
public enum ConvKernel: String, Sendable, Codable, CaseIterable {
    /// Output-stationary gather where a group has at least 16 output channels, the table-driven event
    /// scatter (`ConvScatterTables`) otherwise.
    case auto
    /// The plain event-order scatter (`Kernels.conv`) everywhere: the reference the others are tested
    /// against (slower).
    case scatter
}

/// How a spiking max-pool decides what to pass on.
public enum MaxPoolGateMode: String, Sendable, Codable, CaseIterable {
    /// Pass this step's event of the window input with the largest running count (Rueckauer et al.):
    /// events are lost when the leader changes, so the output count can fall below the max.
    case leader
    /// Emit whenever the running maximum of the window's counts changes: the output count is
    /// exactly max over the window of the input counts at every step.
    case count
}

/// Whether a rank computes while its spike exchange is in flight. Results do not depend on it.
public enum ExchangeOverlap: String, Sendable, Codable, CaseIterable {
    /// A convolution right after a layer whose events cross ranks computes its interior rows (those whose
    /// input window lies in this rank's own rows of that layer) between posting the exchange and waiting for
    /// it, and the rows next to the halo after (`RankSimulator.run(batch:)`, rule 5).
    case interior
    /// Post, wait, then compute: no overlap (the reference the overlap is measured against).
    case none
}

/// Parameters of a simulation run that every rank must agree on.
public struct SimulationConfig: Sendable, Codable {
    public var timesteps: Int
    public var seed: UInt64
    public var encoder: InputEncoder
    public var decoding: Decoding
    public var convKernel: ConvKernel = .auto
    public var maxPoolGate: MaxPoolGateMode = .leader
    public var overlap: ExchangeOverlap = .interior
    /// The table-driven scatter (`ConvScatterTables`) switches to a dense pass over its input rows when the events
    /// fill at least this fraction of them (`ConvScatterTables.runDense`): same sums in the same order, so the same
    /// bits either way; only the time differs. 0: always dense; above 1: never.
    public var denseAbove: Double = 0.03
    /// Timesteps t < T at which the outputs are also decoded (as a run with T = t would decode them):
    /// one simulation gives the accuracy-vs-T curve.
    public var checkpoints: [Int] = []
    /// Record the spike times of this many evenly spaced neurons per spiking layer (and the input)
    /// in sample `rasterSample` (for raster plots); 0 records nothing.
    public var rasterNeurons = 0
    public var rasterSample = 0
    /// Timesteps at the start that the decoding leaves out (burn-in): outputs are averaged over
    /// t = burnIn+1 ... T (and up to each checkpoint), so the transient while spikes first travel
    /// through a deep network does not bias them. 0 decodes every timestep.
    public var burnIn = 0
    /// Record every spiking layer's (and max-pool's) decoded value per neuron, `Σ s·θ / (T − burnIn)`,
    /// for comparison with the ANN layer by layer (where a conversion loses accuracy). Costs one
    /// pass over each layer's events per step and one float per neuron.
    public var layerValues = false
    /// Record every output layer's emitted values per timestep (`RankSampleResult.outputTraces`): the
    /// step-by-step comparison with the library a NIR network came from.
    public var outputTrace = false

    public init(timesteps: Int, seed: UInt64 = 0, encoder: InputEncoder = .direct, decoding: Decoding = .membrane) {
        self.timesteps = timesteps; self.seed = seed; self.encoder = encoder; self.decoding = decoding
    }

    public func validate() throws {
        guard timesteps >= 1 else { throw SpikeError("timesteps must be at least 1, got \(timesteps)") }
        guard timesteps <= 1 << 20 else { throw SpikeError("timesteps must be at most \(1 << 20), got \(timesteps)") }
        guard rasterNeurons >= 0, rasterNeurons <= 4096 else { throw SpikeError("raster neurons per layer must be between 0 and 4096, got \(rasterNeurons)") }
        guard denseAbove >= 0, denseAbove.isFinite else { throw SpikeError("the dense-pass threshold must be a finite fraction of at least 0, got \(denseAbove)") }
        guard burnIn >= 0, burnIn < timesteps else { throw SpikeError("burn-in must be between 0 and timesteps - 1 (\(timesteps - 1)), got \(burnIn)") }
        if let bad = checkpoints.first(where: { $0 <= burnIn }) {
            throw SpikeError("checkpoint \(bad) must be after the burn-in of \(burnIn) timesteps")
        }
        if let bad = checkpoints.first(where: { $0 < 1 || $0 >= timesteps }) {
            throw SpikeError("checkpoint \(bad) must be between 1 and timesteps - 1 (\(timesteps - 1))")
        }
    }
}

/// Spike and operation counts of one layer (this rank's neurons only, until reduced).
public struct LayerCounters: Sendable, Codable, Equatable {
    public var positiveSpikes: Int64 = 0
    public var negativeSpikes: Int64 = 0
    /// Accumulate operations caused by binary spikes (synaptic operations).
    public var synapticOps: Int64 = 0
    /// Multiply-accumulates caused by analog inputs (direct encoding).
    public var macs: Int64 = 0
    public var neuronUpdates: Int64 = 0
    public init() {}

    public var spikes: Int64 { positiveSpikes + negativeSpikes }
    public static func + (a: LayerCounters, b: LayerCounters) -> LayerCounters {
        var r = a
        r.positiveSpikes += b.positiveSpikes; r.negativeSpikes += b.negativeSpikes
        r.synapticOps += b.synapticOps; r.macs += b.macs; r.neuronUpdates += b.neuronUpdates
        return r
    }
}

/// Where this rank's time went, in seconds (summed over timesteps and samples).
public struct RankTiming: Sendable, Codable, Equatable {
    /// Synaptic scatter, neuron updates, routing and encoding.
    public var update: Double = 0
    /// Encoding outgoing spike packets.
    public var pack: Double = 0
    /// Posting sends/receives and decoding incoming packets.
    public var exchange: Double = 0
    /// Waiting for messages to complete.
    public var wait: Double = 0
    public init() {}
    public var total: Double { update + pack + exchange + wait }
}

/// Monotonic seconds.
@inline(__always)
public func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

extension SimulationConfig {
    /// The configuration for `network`: a few-spike network runs exactly depth × K sub-steps (its
    /// latency), whatever timesteps were asked for; others run as configured.
    public func adapted(to network: Network) -> SimulationConfig {
        let latency = network.fewSpikeLatency
        guard latency > 0 else { return self }
        var c = self
        c.timesteps = latency
        return c
    }
}
