import Foundation
import SpikeAggregate

/// The table `spikescale sweep` prints at the end: one line per grid point.
public enum SweepTable {
    public static func render(_ rows: [SweepRow]) -> String {
        var out = [String(format: "%-8@ %6@ %-9@ %-9@ %5@ %8@ %8@ %12@ %12@ %10@", "norm" as NSString, "thr" as NSString, "encoder" as NSString,
                          "decoding" as NSString, "T" as NSString, "top-1" as NSString, "mAP50" as NSString, "spikes" as NSString,
                          "synops" as NSString, "SNN µJ" as NSString)] + ["(spikes, synaptic ops and energy per sample)"]
        for r in rows {
            out.append(String(format: "%-8@ %6.2f %-9@ %-9@ %5d %8@ %8@ %12.4g %12.4g %10.4g", r.norm as NSString, r.thresholdScale,
                              r.encoder as NSString, r.decoding as NSString, r.timesteps,
                              (r.top1.map { String(format: "%.2f%%", $0 * 100) } ?? "-") as NSString,
                              (r.map50.map { String(format: "%.4f", $0) } ?? "-") as NSString,
                              r.spikesPerSample, r.synapticOpsPerSample, r.snnJoulesPerSample * 1e6))
        }
        return out.joined(separator: "\n")
    }
}
