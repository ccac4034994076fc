import Foundation
import SpikeCore
import SpikeData
import SpikeEngine

/// Per-layer costs measured on this machine: what the scaling model (`ScalingModel`) projects from.
/// Written by `spikescale profile` (a short run, usually on one rank) and read by `plan --project --profile`.
public struct ScalingProfile: Codable, Sendable, Equatable {
    public struct Layer: Codable, Sendable, Equatable {
        public var name: String
        public var op: String
        /// Neurons of the layer's output (all ranks).
        public var neurons: Int
        /// Wall seconds of this layer's update and scatter per timestep: the largest over the ranks.
        public var secondsPerStep: Double
        /// Spikes (events) the layer emits per neuron per timestep, all ranks.
        public var firingRate: Double
        /// Synaptic operations per timestep, all ranks.
        public var synapticOpsPerStep: Double
        public init(name: String, op: String, neurons: Int, secondsPerStep: Double, firingRate: Double, synapticOpsPerStep: Double) {
            self.name = name; self.op = op; self.neurons = neurons; self.secondsPerStep = secondsPerStep
            self.firingRate = firingRate; self.synapticOpsPerStep = synapticOpsPerStep
        }
    }

    public var tool = "spikescale"
    public var kind = "profile"
    public var model: String
    public var network: String
    /// Ranks of the profiled run (the model wants 1: costs of the whole layer).
    public var ranks: Int
    /// The partition policy the costs were measured under (`--partition`); absent: `auto`.
    public var partitionPolicy: PartitionPolicy?
    public var timesteps: Int
    /// Timed samples (after one untimed warm-up sample).
    public var samples: Int
    public var layers: [Layer]
    /// Wall seconds per sample of the engine alone (warm, after the warm-up sample), the largest over the ranks.
    public var engineSecondsPerSample: Double
    /// Wall seconds per sample of a whole run: the layers' time per step x T plus the per-sample overhead.
    public var secondsPerSample: Double
    /// Seconds per sample outside the timesteps: reading, broadcasting, gathering, decoding and writing each
    /// sample, from a whole run as `simulate --json` makes it (its seconds per sample minus its own engine time).
    public var overheadSecondsPerSample: Double
    /// Peak resident set size of each rank (VmHWM), bytes.
    public var peakResidentBytes: [Int]
    /// Spike-packet bytes each rank sent per timestep.
    public var bytesSentPerStep: [Double]
    public var machine: String
    public var date: String

    public init(model: String, network: String, ranks: Int, timesteps: Int, samples: Int, layers: [Layer], secondsPerSample: Double,
                overheadSecondsPerSample: Double, peakResidentBytes: [Int], bytesSentPerStep: [Double], machine: String, date: String,
                partitionPolicy: PartitionPolicy? = nil) {
        self.partitionPolicy = partitionPolicy
        self.model = model; self.network = network; self.ranks = ranks; self.timesteps = timesteps; self.samples = samples
        self.layers = layers; self.secondsPerSample = secondsPerSample; self.overheadSecondsPerSample = overheadSecondsPerSample
        engineSecondsPerSample = secondsPerSample
        self.peakResidentBytes = peakResidentBytes; self.bytesSentPerStep = bytesSentPerStep; self.machine = machine; self.date = date
    }

    /// Seconds per timestep of all layers on the profiled ranks.
    public var layerSecondsPerStep: Double { layers.reduce(0) { $0 + $1.secondsPerStep } }

    /// Reads a profile, checking it is one and that its numbers can be used.
    public static func read(_ path: String) throws -> ScalingProfile {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw SpikeError("\(path): cannot read the profile (\(error.localizedDescription)); make one with `spikescale profile`")
        }
        let p: ScalingProfile
        do { p = try JSONDecoder().decode(ScalingProfile.self, from: data) } catch {
            throw SpikeError("\(path): not a spikescale profile (\(error)); make one with `spikescale profile`")
        }
        guard p.kind == "profile" else { throw SpikeError("\(path): field 'kind' is '\(p.kind)', expected 'profile'") }
        guard p.ranks >= 1, p.timesteps >= 1, p.samples >= 1 else {
            throw SpikeError("\(path): fields 'ranks', 'timesteps' and 'samples' must be at least 1")
        }
        for (k, v) in [("secondsPerSample", p.secondsPerSample), ("engineSecondsPerSample", p.engineSecondsPerSample),
                       ("overheadSecondsPerSample", p.overheadSecondsPerSample)]
        where !(v.isFinite && v >= 0) {
            throw SpikeError("\(path): field '\(k)' is \(v), expected a non-negative number")
        }
        for l in p.layers where !(l.secondsPerStep.isFinite && l.secondsPerStep >= 0 && l.firingRate.isFinite && l.firingRate >= 0) {
            throw SpikeError("\(path): layer '\(l.name)': secondsPerStep and firingRate must be non-negative numbers")
        }
        return p
    }

    /// Throws unless this profile was measured on `network` (same layers, names and sizes).
    public func check(matches network: Network, path: String) throws {
        guard layers.count == network.layers.count else {
            throw SpikeError("\(path): the profile has \(layers.count) layers but \(network.name) has \(network.layers.count); profile this model")
        }
        for (p, l) in zip(layers, network.layers) where p.name != l.name || p.neurons != l.shape.count {
            throw SpikeError("\(path): profile layer '\(p.name)' (\(p.neurons) neurons) does not match the model's '\(l.name)' (\(l.shape.count)); profile this model")
        }
    }
}

/// Measures a `ScalingProfile`: runs samples on this rank's `RankSimulator` and collects the per-layer
/// update-and-scatter seconds the engine records (`layerSeconds`), the per-layer spikes and the peak RSS.
public enum ScalingProfiler {
    /// One untimed warm-up run of sample 0 (pages in weights and buffers), then `inputs` timed. Every rank
    /// calls it; rank 0 gets the profile, the others nil.
    public static func measure(model: String, network: Network, transport t: Transport, config: SimulationConfig,
                               policy: PartitionPolicy = .auto, inputs: [[Float]], machine: String, date: String) throws -> ScalingProfile? {
        precondition(!inputs.isEmpty)
        let partition = try Partition(network: network, ranks: t.size, policy: policy)
        let sim = try RankSimulator(network: network, partition: partition, transport: t, config: config)
        guard !sim.isFewSpike else {
            throw SpikeError("profile: \(network.name) is a few-spike network, whose pipelined schedule the scaling model does not cover yet")
        }
        _ = try sim.run(sample: 0, input: inputs[0])
        let before = sim.layerSeconds, bytes0 = sim.bytesSent
        _ = try t.allreduceMax([0])
        var spikes = [Int64](repeating: 0, count: network.layers.count), ops = spikes
        var wall = 0.0
        for (k, input) in inputs.enumerated() {
            let t0 = monotonicSeconds()
            let r = try sim.run(sample: k, input: input)
            wall += monotonicSeconds() - t0
            for (i, c) in r.layers.enumerated() { spikes[i] += c.spikes; ops[i] += c.synapticOps }
        }
        let T = Double(config.timesteps), n = Double(inputs.count)
        let wallMax = Double(try t.allreduceMax([Int64(wall * 1e9)])[0]) * 1e-9
        let layerMax = try t.allreduceMax(zip(sim.layerSeconds, before).map { Int64(($0 - $1) * 1e9) })
        let spikeSum = try t.allreduceSum(spikes), opsSum = try t.allreduceSum(ops)
        let mine = [Double(peakResidentBytes()), Double(sim.bytesSent - bytes0) / (T * n)]
        let all = try t.gather(mine.withUnsafeBytes { Array($0) }, root: 0).map { b in b.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
        guard t.rank == 0 else { return nil }
        let layers = network.layers.enumerated().map { i, l in
            ScalingProfile.Layer(name: l.name, op: l.op.name, neurons: l.shape.count, secondsPerStep: Double(layerMax[i]) * 1e-9 / (T * n),
                                 firingRate: Double(spikeSum[i]) / (Double(l.shape.count) * T * n), synapticOpsPerStep: Double(opsSum[i]) / (T * n))
        }
        let perSample = wallMax / n
        let layerTotal = layers.reduce(0) { $0 + $1.secondsPerStep } * T
        return ScalingProfile(model: model, network: network.name, ranks: t.size, timesteps: config.timesteps, samples: inputs.count,
                              layers: layers, secondsPerSample: perSample, overheadSecondsPerSample: max(0, perSample - layerTotal),
                              peakResidentBytes: all.map { Int($0[0]) }, bytesSentPerStep: all.map { $0[1] }, machine: machine, date: date,
                              partitionPolicy: policy == .auto ? nil : policy)
    }

    /// Takes the per-image overhead from a whole run of the same samples as `simulate --json` makes it: the
    /// run's seconds per sample (`RunResult.secondsPerSample`) minus its own engine seconds per sample (the
    /// busiest rank's update + pack + exchange + wait), both from that one run, so that run-to-run noise in the
    /// engine does not leak into the overhead; also takes the run's peak RSS per rank (the memory of the run the
    /// model projects: the profiler's own process also holds its caller's copy of the weights, which a simulation
    /// frees as it packs them), keeping the profiler's only where the run has none.
    public static func withRun(_ p: ScalingProfile, secondsPerSample: Double, engineSecondsPerSample runEngine: Double,
                               peakResidentBytes: [Int]) -> ScalingProfile {
        var q = p
        q.overheadSecondsPerSample = max(0, secondsPerSample - runEngine)
        q.secondsPerSample = p.layerSecondsPerStep * Double(p.timesteps) + q.overheadSecondsPerSample
        q.peakResidentBytes = p.peakResidentBytes.indices.map { r in r < peakResidentBytes.count && peakResidentBytes[r] > 0 ? peakResidentBytes[r] : p.peakResidentBytes[r] }
        return q
    }
}
