import Foundation
import SpikeAggregate
import SpikeCore
import SpikeEngine
import SpikeMetrics

extension SweepRunner {
    public var csvPath: String { (folder as NSString).appendingPathComponent("sweep.csv") }
    public var jsonPath: String { (folder as NSString).appendingPathComponent("sweep.json") }

    /// Runs every point on the ranks of `transport`; returns the rows on rank 0 and nil elsewhere.
    public func run(transport t: Transport) throws -> [SweepRow]? {
        var rows = [SweepRow]()
        let energy = try experiment.simulation.energy()
        var done = 0
        for norm in grid.norm {
            for thr in grid.thresholdScale {
                let net = try network(norm: norm, thresholdScale: thr)
                let prefix = isANN ? "\(norm.rawValue)-thr\(thr)-" : ""
                for enc in grid.encoder {
                    for dec in grid.decoding {
                        done += 1
                        let name = "\(prefix)\(enc.rawValue)-\(dec.rawValue)-T\(grid.timesteps.last!)"
                        if t.rank == 0 && !experiment.control.quiet { FileHandle.standardError.write(Data("sweep point \(done)/\(grid.points): \(name)\n".utf8)) }
                        let (cfg, opts) = try point(encoder: enc, decoding: dec, name: name)
                        let coordinator = try Coordinator(network: net, transport: t, config: cfg, options: opts)
                        guard let r = try coordinator.run(source: source) else { continue }
                        rows += Self.rows(r, norm: isANN ? norm.rawValue : "-", thresholdScale: thr, energy: energy)
                        try write(rows, energy: energy, ranks: t.size, complete: done == grid.points, rank: t.rank)
                    }
                }
            }
        }
        return t.rank == 0 ? rows : nil
    }

    /// One row per checkpoint T of a point's result (the result's own T last).
    static func rows(_ r: RunResult, norm: String, thresholdScale: Double, energy: EnergyPreset) -> [SweepRow] {
        let n = Double(max(r.samples, 1))
        let checkpoints = r.checkpoints ?? [RunResult.Checkpoint(timesteps: r.timesteps, top1: r.top1, spikesPerSample: Double(r.spikes) / n,
                                                                 synapticOpsPerSample: Double(r.synapticOps) / n,
                                                                 analogMacsPerSample: Double(r.analogMacs) / n, map50: r.detection?.map50)]
        return checkpoints.map { cp in
            let syn = cp.synapticOpsPerSample ?? 0, macs = cp.analogMacsPerSample ?? 0, spikes = cp.spikesPerSample ?? 0
            return SweepRow(norm: norm, thresholdScale: thresholdScale, encoder: r.encoder, decoding: r.decoding,
                            timesteps: cp.timesteps, top1: cp.top1, map50: cp.map50, spikesPerSample: spikes,
                            synapticOpsPerSample: syn, analogMacsPerSample: macs,
                            firingRate: spikes / (Double(max(r.neurons, 1)) * Double(cp.timesteps)),
                            snnJoulesPerSample: energy.snnJoules(synapticOps: syn, analogMacs: macs),
                            annJoulesPerSample: energy.annJoules(macs: Double(r.annMacsPerSample)), annTop1: r.ann?.top1)
        }
    }

    /// Rank 0 rewrites sweep.json and sweep.csv whole.
    func write(_ rows: [SweepRow], energy: EnergyPreset, ranks: Int, complete: Bool, rank: Int) throws {
        guard rank == 0 else { return }
        let g = SweepResult.Grid(timesteps: grid.timesteps, thresholdScale: grid.thresholdScale, norm: grid.norm.map(\.rawValue),
                                 encoder: grid.encoder.map(\.rawValue), decoding: grid.decoding.map(\.rawValue))
        let r = SweepResult(complete: complete, model: experiment.model.model ?? "", data: source?.description ?? "",
                            samples: experiment.data.samples ?? Self.defaultSamples, ranks: ranks, energyPreset: energy.name, grid: g, rows: rows)
        try ResultFiles.writeJSON(r, to: jsonPath)
        let csv = ([SweepRow.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
        try ResultFiles.atomicWrite(Data(csv.utf8), to: csvPath)
    }
}
