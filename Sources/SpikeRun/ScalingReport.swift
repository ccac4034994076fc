import Foundation
import SpikeAggregate
import SpikeCore

/// A measured run set beside the model's projection of the same configuration.
public struct ProjectionCheck: Sendable {
    public var file: String
    public var ranks: Int, groups: Int, timesteps: Int
    public var measuredSecondsPerImage: Double, projectedSecondsPerImage: Double
    /// The engine's part: the busiest rank's update + pack + exchange + wait per sample, and T x (compute + exchange) per step.
    public var measuredEngineSecondsPerImage: Double, projectedEngineSecondsPerImage: Double
    /// The update alone (scatter and neuron updates, no exchange or waiting): the busiest rank's, and T x compute per step.
    public var measuredUpdateSecondsPerImage: Double, projectedUpdateSecondsPerImage: Double
    public var measuredPeakBytesPerRank: Double, projectedBytesPerRank: Double
    /// (projected − measured) / measured.
    public var timeError: Double { (projectedSecondsPerImage - measuredSecondsPerImage) / measuredSecondsPerImage }
    public var engineError: Double { (projectedEngineSecondsPerImage - measuredEngineSecondsPerImage) / measuredEngineSecondsPerImage }
    public var updateError: Double { (projectedUpdateSecondsPerImage - measuredUpdateSecondsPerImage) / measuredUpdateSecondsPerImage }
    public var memoryError: Double { (projectedBytesPerRank - measuredPeakBytesPerRank) / measuredPeakBytesPerRank }

    /// Projects the configuration of result file `path` (a `spikescale simulate --json` result) with `model`
    /// at the run's own T, and sets it beside the run's seconds per sample and largest per-rank peak RSS.
    public static func check(_ model: ScalingModel, result path: String) throws -> ProjectionCheck {
        let r: RunResult
        do { r = try JSONDecoder().decode(RunResult.self, from: Data(contentsOf: URL(fileURLWithPath: path))) } catch {
            throw SpikeError("\(path): not a run result of `spikescale simulate --json` (\(error))")
        }
        guard r.complete, r.samples > 0, r.secondsPerSample > 0 else { throw SpikeError("\(path): the run is incomplete or has no samples") }
        guard r.network == model.network.name else {
            throw SpikeError("\(path): the run simulated '\(r.network)', not '\(model.network.name)'")
        }
        let g = r.groups ?? 1
        var m = model
        m.timesteps = r.timesteps
        let p = m.project(ranksPerGroup: r.ranks / g, groups: g)
        if let why = p.infeasible { throw SpikeError("\(path): \(why)") }
        let peak = Double(r.communication.map(\.peakResidentBytes).max() ?? 0)
        let engine = (r.timing.map { $0.update + $0.pack + $0.exchange + $0.wait }.max() ?? 0) / Double(r.samples) * Double(g)
        return ProjectionCheck(file: path, ranks: r.ranks, groups: g, timesteps: r.timesteps,
                               measuredSecondsPerImage: r.secondsPerSample, projectedSecondsPerImage: g > 1 ? 1 / p.imagesPerSecond : p.secondsPerImage,
                               measuredEngineSecondsPerImage: engine,
                               projectedEngineSecondsPerImage: Double(r.timesteps) * (p.computeSecondsPerStep + p.communicationSecondsPerStep),
                               measuredUpdateSecondsPerImage: (r.timing.map(\.update).max() ?? 0) / Double(r.samples) * Double(g),
                               projectedUpdateSecondsPerImage: Double(r.timesteps) * p.computeSecondsPerStep,
                               measuredPeakBytesPerRank: peak, projectedBytesPerRank: p.memoryBytesPerRank)
    }
}

/// The text `spikescale plan --project` prints: strong scaling, weak scaling, an evaluation's time, the
/// check against measured runs, and the plain statement that everything past this machine is on paper.
public enum ScalingReport {
    public static let onPaper = """
        ON PAPER: only 1 and 2 ranks on this one 2-core machine were measured. Every figure for more ranks is a \
        projection from this machine's per-layer costs and an assumed network (the latency and bandwidth above), \
        not a measurement; it ignores contention, stragglers, I/O and the memory bandwidth of other hosts.
        """

    static func f(_ x: Double, _ digits: Int = 3) -> String {
        guard x.isFinite else { return "inf" }
        return String(format: "%.\(digits)f", x)
    }
    static func g(_ x: Double) -> String {
        guard x.isFinite else { return "inf" }
        return x >= 100 ? String(format: "%.0f", x) : x >= 1 ? String(format: "%.2f", x) : String(format: "%.3g", x)
    }
    static func mb(_ b: Double) -> String { String(format: "%.0f", b / 1e6) }
    static func duration(_ s: Double) -> String {
        s >= 86_400 ? String(format: "%.1f d", s / 86_400) : s >= 3600 ? String(format: "%.1f h", s / 3600)
            : s >= 60 ? String(format: "%.1f min", s / 60) : String(format: "%.1f s", s)
    }

    /// Strong-scaling ranks: powers of two up to the partition limit, plus the listed counts.
    public static func strongRanks(_ listed: [Int], limit: Int) -> [Int] {
        var out = [Int]()
        var p = 1
        while p <= min(limit, 1 << 20) { out.append(p); p *= 2 }
        if limit < 1 << 20, !out.contains(limit) { out.append(limit) }
        for r in listed where !out.contains(r) { out.append(r) }
        return out.sorted()
    }

    /// Weak-scaling pairs (groups, ranks per group) for `ranks`: the given group counts that divide it, or
    /// else every power-of-two group size up to the partition limit.
    public static func weakPairs(ranks: Int, groups: [Int]?, limit: Int) -> [(groups: Int, perGroup: Int)] {
        if let groups { return groups.filter { $0 >= 1 && ranks % $0 == 0 }.map { ($0, ranks / $0) } }
        var out = [(Int, Int)]()
        var p = 1
        while p <= min(limit, ranks) { if ranks % p == 0 { out.append((ranks / p, p)) }; p *= 2 }
        return out
    }

    public static func render(_ model: ScalingModel, profilePath: String, ranks: [Int], groups: [Int]?, images: Int,
                              checks: [ProjectionCheck]) -> String {
        let n = model.network, pr = model.profile
        let limit = ScalingModel.maxRanksPerGroup(n)
        let one = model.project(ranksPerGroup: 1)
        var s = ["scaling model of \(n.name): T = \(model.timesteps), \(n.layers.count) layers, \(n.neuronCount) neurons, \(n.parameterCount) parameters",
                 "per-layer costs: \(profilePath) (\(pr.ranks) rank(s), T = \(pr.timesteps), \(pr.samples) sample(s), \(pr.machine), \(pr.date)):"
                    + " \(f(pr.layerSecondsPerStep * 1e3)) ms per step in the layers, \(f(pr.overheadSecondsPerSample)) s per image outside them",
                 "network (assumed): latency \(g(model.net.latencySeconds * 1e6)) us, bandwidth \(g(model.net.bandwidthBytesPerSecond / 1e9)) GB/s;"
                    + " collectives ceil(log2 P) latencies",
                 "memory: \(g(model.memory.weightCopies)) copy x 4 B of each layer's weights a rank computes (all of a layer in row bands, its share of one split by output channels; \(n.parameterCount) parameters),"
                    + " \(g(model.memory.bytesPerNeuron)) B per owned neuron (+ 4 B for layers on the input and for IF neurons with memory; one shared current; max-pool sums), \(g(model.memory.bytesPerEvent)) B per buffered event,"
                    + " baseline \(mb(model.baselineBytes)) MB per rank fitted to the profile's peak RSS",
                 "one partition can have at most \(limit) ranks (the smallest spatial layer has \(limit) rows)"]
        let spiking = n.layers.indices.filter { n.layers[$0].op.hasNeurons && n.layers[$0].neuron?.kind != .accumulator }
        let silent = spiking.filter { pr.layers[$0].firingRate == 0 }.count
        if silent > 0 {
            s.append("warning: \(silent) of \(spiking.count) spiking layers did not fire in the profile (T = \(pr.timesteps)); a step costs more once they do,"
                     + " so projections at larger T are lower bounds: profile at the T you project")
        }
        if model.timesteps != pr.timesteps {
            s.append("per-step costs measured at T = \(pr.timesteps) are taken as the per-step costs at T = \(model.timesteps)")
        }
        s += [
                 onPaper, "",
                 "Strong scaling (one group; more ranks per image):",
                 "  ranks | compute ms/step | exchange ms/step | halo kB/step/rank | s/image | speed-up | efficiency | MB/rank"]
        for P in strongRanks(ranks, limit: limit) {
            let p = model.project(ranksPerGroup: P)
            if let why = p.infeasible { s.append("  \(P) | not one partition: \(why)"); continue }
            let speed = one.secondsPerImage / p.secondsPerImage
            s.append("  \(P) | \(f(p.computeSecondsPerStep * 1e3)) | \(f(p.communicationSecondsPerStep * 1e3)) | \(f(p.haloBytesPerStep / 1e3, 1))"
                     + " | \(g(p.secondsPerImage)) | \(f(speed, 2)) | \(f(speed / Double(P), 2)) | \(mb(p.memoryBytesPerRank))")
        }
        s += ["", "Weak scaling (G groups of P ranks, each group on its own images; \(images) images):",
              "  (rank-0 bound: if rank 0 did all of the measured per-image overhead, \(f(model.profile.overheadSecondsPerSample)) s, itself, one image after another)",
              "  ranks | groups | ranks/group | s/image | images/s | MB/rank | \(images) images | images/s, rank-0 bound | \(images) images, rank-0 bound"]
        for R in ranks {
            let pairs = weakPairs(ranks: R, groups: groups, limit: limit)
            if pairs.isEmpty { s.append("  \(R) | no listed group count divides \(R) ranks into partitions of at most \(limit) ranks") }
            for (G, P) in pairs {
                let p = model.project(ranksPerGroup: P, groups: G)
                if let why = p.infeasible { s.append("  \(R) | \(G) | \(P) | not one partition: \(why)"); continue }
                s.append("  \(R) | \(G) | \(P) | \(g(p.secondsPerImage)) | \(g(p.imagesPerSecond)) | \(mb(p.memoryBytesPerRank)) | \(duration(p.seconds(images: images)))"
                         + " | \(g(p.rootBoundImagesPerSecond)) | \(duration(p.rootBoundSeconds(images: images)))")
            }
        }
        s += ["", "One rank: \(images) images take \(duration(one.seconds(images: images))) (\(g(one.secondsPerImage)) s per image)."]
        if !checks.isEmpty {
            s += ["", "Check against measured runs on this machine (projected at each run's own T; error = (projected - measured) / measured;",
                  "engine = the busiest rank's update + pack + exchange + wait per image, i.e. the T timesteps without the per-image work;",
                  "update = the busiest rank's scatter and neuron updates alone, no exchange and no waiting for the other rank):",
                  "  run | ranks | groups | T | measured s/image | projected s/image | error | measured engine s/image | projected | error | measured update s/image | projected | error | measured peak MB/rank | projected MB/rank | error"]
            for c in checks {
                s.append("  \(c.file) | \(c.ranks) | \(c.groups) | \(c.timesteps) | \(g(c.measuredSecondsPerImage)) | \(g(c.projectedSecondsPerImage))"
                         + " | \(f(100 * c.timeError, 1))% | \(g(c.measuredEngineSecondsPerImage)) | \(g(c.projectedEngineSecondsPerImage)) | \(f(100 * c.engineError, 1))%"
                         + " | \(g(c.measuredUpdateSecondsPerImage)) | \(g(c.projectedUpdateSecondsPerImage)) | \(f(100 * c.updateError, 1))%"
                         + " | \(mb(c.measuredPeakBytesPerRank)) | \(mb(c.projectedBytesPerRank)) | \(f(100 * c.memoryError, 1))%")
            }
        }
        s += ["", onPaper]
        return s.joined(separator: "\n")
    }
}
