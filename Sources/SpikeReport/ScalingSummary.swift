import Foundation
import SpikeAggregate

/// The CSV of `spikescale summarize`: one line per run result of a scaling study, with speedup and
/// efficiency relative to the run with the fewest ranks.
public enum ScalingSummary {
    public static let header = "file,network,ranks,timesteps,samples,complete,wallSeconds,secondsPerSample,speedup,efficiency,synapticOpsPerSecond,spikes,firingRate,updateMax,packMax,exchangeMax,waitMax,bytesSent,messages,peakResidentBytesMax"

    /// Header and one line per result (`paths[i]` names `results[i]`), each ending in a newline; nil
    /// when there are no results.
    public static func csv(paths: [String], results: [RunResult]) -> String? {
        guard let base = results.min(by: { $0.ranks < $1.ranks }) else { return nil }
        var lines = [header]
        for (p, r) in zip(paths, results) {
            let speedup = base.secondsPerSample / max(r.secondsPerSample, 1e-12)
            let eff = speedup * Double(base.ranks) / Double(r.ranks)
            let f = [p, r.network, "\(r.ranks)", "\(r.timesteps)", "\(r.samples)", "\(r.complete)",
                     String(format: "%.6f", r.wallSeconds), String(format: "%.6f", r.secondsPerSample),
                     String(format: "%.4f", speedup), String(format: "%.4f", eff), String(format: "%.4g", r.synapticOpsPerSecond),
                     "\(r.spikes)", String(format: "%.6f", r.firingRate),
                     String(format: "%.6f", r.timing.map(\.update).max() ?? 0), String(format: "%.6f", r.timing.map(\.pack).max() ?? 0),
                     String(format: "%.6f", r.timing.map(\.exchange).max() ?? 0), String(format: "%.6f", r.timing.map(\.wait).max() ?? 0),
                     "\(r.communication.reduce(0) { $0 + $1.bytesSent })", "\(r.communication.reduce(0) { $0 + $1.messages })",
                     "\(r.communication.map(\.peakResidentBytes).max() ?? 0)"]
            lines.append(f.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
