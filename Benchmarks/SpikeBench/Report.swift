import Foundation

enum Report {
    static func machine() -> String {
        let cpu = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?
            .split(separator: "\n").first { $0.hasPrefix("model name") }?.split(separator: ":").last?
            .trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        return "\(cpu), \(ProcessInfo.processInfo.activeProcessorCount) cores"
    }
    static func date() -> String {
        let f = DateFormatter(); f.dateFormat = "yyyy-MM-dd HH:mm"; f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date()) + " UTC"
    }
    static func g(_ x: Double) -> String {
        x >= 1e9 ? String(format: "%.2f G", x / 1e9) : x >= 1e6 ? String(format: "%.2f M", x / 1e6) : String(format: "%.1f k", x / 1e3)
    }
    static func ms(_ s: Double) -> String { String(format: "%.2f", s * 1e3) }

    static func describe(_ f: Figure) -> String {
        var out = ["\(f.network) on \(f.ranks) rank(s), T = \(f.timesteps): firing \(String(format: "%.1f%%", f.firingRate * 100)), " +
                   "synops/step \(g(f.synapticOpsPerStep)) = \(String(format: "%.1f%%", f.opsOverMacs * 100)) of \(g(Double(f.annMacs))) MACs; " +
                   "SNN step \(ms(f.snnSecondsPerStep)) ms vs ANN forward \(ms(f.annSecondsPerForward)) ms (ratio \(String(format: "%.2f", f.stepOverForward))); " +
                   "\(g(f.synapticOpsPerSecond))op/s (\(g(f.synapticOpsPerSecondPerRank))op/s per rank)"]
        out.append("  layer          op          rate  synops/step  SNN ms/step    ANN ms  SNN Gop/s")
        for l in f.layers where l.synapticOpsPerStep > 0 || l.annSeconds > 1e-5 {
            out.append(String(format: "  %-14@ %-9@ %5.1f%% %12@ %12.3f %9.3f %10.2f", l.name as NSString, l.op as NSString,
                              l.firingRate * 100, g(l.synapticOpsPerStep) as NSString, l.snnSecondsPerStep * 1e3, l.annSeconds * 1e3,
                              l.snnSecondsPerStep > 0 ? l.synapticOpsPerStep / l.snnSecondsPerStep / 1e9 : 0))
        }
        return out.joined(separator: "\n")
    }

    static func markdown(_ all: [Figure]) -> String {
        var out = ["| network | ranks | T | firing | synops/step | synops / dense MACs | SNN step (ms) | ANN forward (ms) | step / forward | synops/s | per rank | speedup vs 1 rank | bytes sent/step | peak RSS/rank (MB) |",
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for f in all {
            let one = all.first { $0.network == f.network && $0.ranks == 1 }
            let speed = one.map { String(format: "%.2fx", $0.snnSecondsPerStep / f.snnSecondsPerStep) } ?? "-"
            out.append("| \(f.network) | \(f.ranks) | \(f.timesteps) | \(String(format: "%.1f%%", f.firingRate * 100)) | \(g(f.synapticOpsPerStep)) | " +
                       "\(String(format: "%.1f%%", f.opsOverMacs * 100)) | \(ms(f.snnSecondsPerStep)) | \(ms(f.annSecondsPerForward)) | " +
                       "\(String(format: "%.2f", f.stepOverForward)) | \(g(f.synapticOpsPerSecond)) | \(g(f.synapticOpsPerSecondPerRank)) | \(speed) | " +
                       "\(String(format: "%.0f", f.bytesSentPerStep)) | \(f.peakResidentBytes.map { String($0 >> 20) }.joined(separator: ", ")) |")
        }
        if let f = all.first { out.append("\nMachine: \(f.machine); \(f.date).") }
        return out.joined(separator: "\n")
    }
}
