import ArgumentParser
import Foundation
import SpikeConvert
import SpikeReport
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

/// `spikescale report`: SVG plots and one self-contained HTML page from result files.
struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Make SVG plots and an HTML report from result files.",
        discussion: """
        Each FILE is JSON and is recognised by its content: a run result (`simulate --json`), a sweep
        (`sweep`, "kind": "sweep") or a conversion report (`convert`, OUT.report.json). Writes one SVG per
        plot and DIR/report.html, which embeds them all with the tables (no scripts, no external files).
        With two or more run results it also compares them (per-layer firing-rate distributions side by
        side, as in Spiking-YOLO Fig. 3; runs whose model names say layer or channel are labelled so).
        """)

    @Argument(help: "Result files (JSON): run results, sweeps and conversion reports.") var files: [String] = []
    @Option(name: .shortAndLong, help: "Output directory (created if missing).") var output: String
    @Option(help: "Title of the report.") var title: String = "SpikeScale report"
    @Option(help: "Per-channel maximum-activation plots for this many layers of each conversion report.")
    var channelLayers: Int = 4

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one result file") }
        if channelLayers < 0 { throw ValidationError("--channel-layers must be >= 0") }
    }

    func run() throws {
        var inputs = [ReportInput]()
        var names = Set<String>()
        for path in files {
            do {
                let content = try ReportInput.load(path)
                var name = ReportInput.baseName(path)
                var k = 2
                while names.contains(name) { name = ReportInput.baseName(path) + "-\(k)"; k += 1 }
                names.insert(name)
                inputs.append(ReportInput(path: path, name: name, content: content))
            } catch let e as ReportInputError {
                printError("spikescale: error: \(path): \(e.message)")
                throw ExitCode(1)
            }
        }
        let report = ReportBuilder(title: title, channelLayers: channelLayers).build(inputs)
        do {
            try ReportWriter.write(report, to: output)
        } catch {
            printError("spikescale: error: \(output): cannot write the report: \(error)")
            throw ExitCode(1)
        }
        let figs = report.figures
        print("wrote \(figs.count) SVG plot\(figs.count == 1 ? "" : "s") and \((output as NSString).appendingPathComponent("report.html"))")
    }
}

// MARK: - Inputs

struct ReportInputError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// One input file, recognised by content.
struct ReportInput {
    enum Content {
        case run(RunResult)
        case sweep(SweepResult)
        case conversion(ConversionReport)
    }
    var path: String
    /// Unique short name (file name without .json / .report.json), used for SVG names.
    var name: String
    var content: Content

    static func baseName(_ path: String) -> String {
        var b = (path as NSString).lastPathComponent
        for ext in [".json", ".report"] where b.lowercased().hasSuffix(ext) { b = String(b.dropLast(ext.count)) }
        return HTMLReport.slug(b)
    }

    static func load(_ path: String) throws -> Content {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else { throw ReportInputError(message: "no such file") }
        if isDir.boolValue { throw ReportInputError(message: "is a directory, not a result file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw ReportInputError(message: "cannot read the file") }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw ReportInputError(message: "not JSON (\(data.isEmpty ? "empty file" : "parse error"))")
        }
        guard let dict = object as? [String: Any] else { throw ReportInputError(message: "not a JSON object, so not a known kind of result file") }
        let dec = JSONDecoder()
        do {
            if let kind = dict["kind"] as? String {
                guard kind == "sweep" else { throw ReportInputError(message: "unknown kind \"\(kind)\" (known: sweep, or a run result / conversion report without a kind)") }
                return .sweep(try dec.decode(SweepResult.self, from: data))
            }
            if dict["calibrationSamples"] != nil || (dict["statistic"] != nil && dict["replacements"] != nil) {
                return .conversion(try dec.decode(ConversionReport.self, from: data))
            }
            if dict["resultVersion"] != nil || (dict["layers"] != nil && (dict["synapticOps"] != nil || dict["timesteps"] != nil)) {
                return .run(try dec.decode(RunResult.self, from: data))
            }
        } catch let e as DecodingError {
            let what = dict["kind"] != nil ? "sweep" : dict["calibrationSamples"] != nil || dict["statistic"] != nil ? "conversion report" : "run result"
            throw ReportInputError(message: "looks like a \(what) but \(describe(e))")
        }
        throw ReportInputError(message: "not a known kind of result file (expected a run result from `simulate --json`, a sweep with \"kind\": \"sweep\", or a conversion report with \"calibrationSamples\")")
    }

    static func describe(_ e: DecodingError) -> String {
        func path(_ c: [CodingKey]) -> String {
            var s = ""
            for k in c { if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue } }
            return s.isEmpty ? "(top level)" : s
        }
        switch e {
        case let .keyNotFound(k, ctx): return "field '\(path(ctx.codingPath + [k]))' is missing"
        case let .valueNotFound(t, ctx): return "field '\(path(ctx.codingPath))' is null (expected \(t))"
        case let .typeMismatch(t, ctx): return "field '\(path(ctx.codingPath))' has the wrong type (expected \(t))"
        case let .dataCorrupted(ctx): return "field '\(path(ctx.codingPath))' is invalid: \(ctx.debugDescription)"
        @unknown default: return "cannot be decoded: \(e)"
        }
    }
}

// MARK: - Formatting helpers

func pct(_ v: Double?) -> String { Fmt.percent(v, decimals: 2) }
func num(_ v: Double) -> String { Fmt.compact(v) }
func num(_ v: Int64) -> String { Fmt.compact(Double(v)) }

/// Energy with a unit (J, mJ, µJ, nJ, pJ).
func joules(_ j: Double) -> String {
    guard j.isFinite else { return "–" }
    if j == 0 { return "0 J" }
    let units: [(Double, String)] = [(1, "J"), (1e-3, "mJ"), (1e-6, "µJ"), (1e-9, "nJ"), (1e-12, "pJ")]
    let (u, s) = units.first { abs(j) >= $0.0 } ?? (1e-12, "pJ")
    return Fmt.compact(j / u) + " " + s
}

/// The unit that suits picojoule values up to `maxPJ`: (divisor, name).
func energyUnit(maxPJ: Double) -> (Double, String) {
    if maxPJ >= 1e9 { return (1e9, "mJ") }
    if maxPJ >= 1e6 { return (1e6, "µJ") }
    if maxPJ >= 1e3 { return (1e3, "nJ") }
    return (1, "pJ")
}

func bits(_ b: Double) -> String {
    let mb = b / 8 / 1_048_576
    return "\(Fmt.compact(b)) bit (\(Fmt.compact(mb)) MiB)"
}

func metricName(_ detection: Bool) -> String { detection ? "mAP@0.5 (%)" : "top-1 accuracy (%)" }

/// A percentage axis that does not run past 100 % when the data stay within.
func percentAxis(_ label: String, _ values: [Double]) -> Axis {
    let v = values.filter(\.isFinite)
    let free = ResolvedAxis(values: v, axis: Axis(label))
    return Axis(label, max: (v.max() ?? 100) <= 100 && free.hi > 100 ? 100 : nil)
}

// MARK: - Builder

/// Turns inputs into an `HTMLReport` whose figures each become an SVG file.
struct ReportBuilder {
    var title: String
    var channelLayers: Int

    func build(_ inputs: [ReportInput]) -> HTMLReport {
        let runs = inputs.compactMap { i -> (ReportInput, RunResult)? in if case .run(let r) = i.content { return (i, r) } else { return nil } }
        let sweeps = inputs.compactMap { i -> (ReportInput, SweepResult)? in if case .sweep(let s) = i.content { return (i, s) } else { return nil } }
        let convs = inputs.compactMap { i -> (ReportInput, ConversionReport)? in if case .conversion(let c) = i.content { return (i, c) } else { return nil } }
        var meta = [KeyValue("inputs", inputs.map { ($0.path as NSString).lastPathComponent }.joined(separator: ", "))]
        if !runs.isEmpty { meta.append(KeyValue("run results", "\(runs.count)")) }
        if !sweeps.isEmpty { meta.append(KeyValue("sweeps", "\(sweeps.count)")) }
        if !convs.isEmpty { meta.append(KeyValue("conversion reports", "\(convs.count)")) }
        let models = Array(Set(runs.map(\.1.network) + sweeps.map(\.1.model) + convs.map(\.1.source))).sorted()
        if !models.isEmpty { meta.append(KeyValue("models", models.joined(separator: ", "))) }
        meta.append(KeyValue("generated by", "spikescale report"))
        var report = HTMLReport(title: title, metadata: meta)
        if runs.count >= 2 { report.add(comparison(runs)) }
        for (i, r) in runs { report.add(runSection(i, r)) }
        for (i, s) in sweeps { report.add(sweepSection(i, s)) }
        for (i, c) in convs { report.add(conversionSection(i, c)) }
        // Figure names become file names: make them unique.
        var used = Set<String>()
        for si in report.sections.indices {
            for bi in report.sections[si].blocks.indices {
                guard case .figure(var f) = report.sections[si].blocks[bi] else { continue }
                let base = f.name
                var k = 2
                while used.contains(f.name) { f.name = "\(base)-\(k)"; k += 1 }
                used.insert(f.name)
                if f.name != base { f.caption = f.caption.replacingOccurrences(of: "[\(base).svg]", with: "[\(f.name).svg]") }
                report.sections[si].blocks[bi] = .figure(f)
            }
        }
        return report
    }

    func figure(_ name: String, _ svg: String, _ caption: String) -> ReportBlock {
        .figure(ReportFigure(name: name, svg: svg, caption: caption + " [\(name).svg]"))
    }

    // MARK: Run

    func metricPoints(_ r: RunResult) -> (detection: Bool, points: [DataPoint]) {
        let cps = (r.checkpoints ?? []).sorted { $0.timesteps < $1.timesteps }
        let detection = cps.contains { $0.map50 != nil } && !cps.contains { $0.top1 != nil }
        let pts = cps.compactMap { c -> DataPoint? in
            guard let v = detection ? c.map50 : c.top1 else { return nil }
            return DataPoint(Double(c.timesteps), v * 100)
        }
        return (detection, pts)
    }

    private func runSection(_ input: ReportInput, _ r: RunResult) -> ReportSection {
        let n = input.name
        var blocks = [ReportBlock]()
        let samples = Double(max(1, r.samples))
        blocks.append(.table(headlineTable(r)))

        // Accuracy (or mAP) vs T.
        let (detection, pts) = metricPoints(r)
        if !pts.isEmpty {
            var series = [Series("SNN", points: pts)]
            let ts = pts.map(\.x)
            let annRef = detection ? r.detection?.annMap50 : r.ann?.top1
            if let a = annRef, let lo = ts.min(), let hi = ts.max() {
                series.append(Series("ANN", xy: [(lo, a * 100), (hi, a * 100)], dashed: true, markers: false))
            }
            let svg = Chart.line(series, options: ChartOptions(
                title: "\(detection ? "mAP@0.5" : "Top-1 accuracy") vs timesteps: \(n)",
                x: Axis("timesteps T", scale: .log2, ticks: ts.count <= 12 ? ts : nil),
                y: percentAxis(metricName(detection), series.flatMap { $0.points.map(\.y) })))
            blocks.append(figure("\(n)-\(detection ? "map" : "accuracy")-vs-T", svg,
                                 "\(detection ? "mAP@0.5" : "Top-1 accuracy") decoded at each checkpoint of one run of \(r.timesteps) timesteps on \(r.samples) samples\(annRef != nil ? "; dashed: the ANN on the same samples" : "")."))
        }
        // Cumulative spikes and synaptic ops vs T.
        let cps = (r.checkpoints ?? []).sorted { $0.timesteps < $1.timesteps }
        let spk = cps.compactMap { c in c.spikesPerSample.map { DataPoint(Double(c.timesteps), $0) } }
        let ops = cps.compactMap { c in c.synapticOpsPerSample.map { DataPoint(Double(c.timesteps), $0) } }
        if !spk.isEmpty || !ops.isEmpty {
            let ts = Array(Set((spk + ops).map(\.x))).sorted()
            let svg = Chart.line([Series("spikes", points: spk), Series("synaptic ops", points: ops)], options: ChartOptions(
                title: "Spikes and synaptic operations vs timesteps: \(n)",
                x: Axis("timesteps T", scale: .log2, ticks: ts.count <= 12 ? ts : nil), y: Axis("per sample (cumulative)", scale: .log10)))
            blocks.append(figure("\(n)-ops-vs-T", svg, "Cumulative spikes and synaptic operations per sample up to each checkpoint."))
        }

        if let f = energyByPresetFigure(r, checkpoints: cps, name: n) { blocks.append(f) }
        if let f = layerErrorFigure(r, name: n) { blocks.append(f) }

        // Per-layer firing rates.
        let neuronLayers = r.layers.filter { $0.neurons > 0 }
        if !neuronLayers.isEmpty {
            let svg = Chart.bars(categories: neuronLayers.map(\.name), values: neuronLayers.map(\.firingRate), seriesName: "mean firing rate",
                                 options: ChartOptions(title: "Firing rate per layer: \(n)", x: Axis("layer"),
                                                       y: Axis("spikes per neuron per timestep"), legend: false))
            blocks.append(figure("\(n)-firing-rate", svg, "Mean firing rate of each spiking layer over \(r.samples) samples and \(r.timesteps) timesteps."))
        }
        let chLayers = neuronLayers.filter { !($0.channelFiringRates ?? []).isEmpty }
        if !chLayers.isEmpty {
            let svg = Chart.distribution(categories: chLayers.map(\.name),
                                         groups: [DistributionGroup(r.network, values: chLayers.map { $0.channelFiringRates ?? [] })],
                                         options: ChartOptions(title: "Per-channel firing rates: \(n)", x: Axis("layer"),
                                                               y: Axis("channel firing rate"), legend: false))
            blocks.append(figure("\(n)-channel-firing-rates", svg,
                                 "Distribution of the per-channel firing rates of each layer (box: quartiles and median; whiskers: 1.5 IQR; dots: channels)."))
        }

        // Energy per layer.
        let annPJ = r.layers.map { Double($0.macs) * r.energy.macPicojoules }
        let snnPJ = r.layers.map { (Double($0.synapticOps) * r.energy.acPicojoules + Double($0.analogMacs) * r.energy.macPicojoules) / samples }
        let energyLayers = r.layers.indices.filter { annPJ[$0] > 0 || snnPJ[$0] > 0 }
        if !energyLayers.isEmpty {
            let (u, unit) = energyUnit(maxPJ: (annPJ + snnPJ).max() ?? 0)
            let svg = Chart.groupedBars(categories: energyLayers.map { r.layers[$0].name },
                                        series: [BarSeries("ANN (MAC × \(Fmt.compact(r.energy.macPicojoules)) pJ)", values: energyLayers.map { annPJ[$0] / u }),
                                                 BarSeries("SNN (AC × \(Fmt.compact(r.energy.acPicojoules)) pJ + analog MAC)", values: energyLayers.map { snnPJ[$0] / u })],
                                        options: ChartOptions(title: "Energy per layer and sample: \(n)", x: Axis("layer"),
                                                              y: Axis("energy per sample (\(unit))", scale: .log10)))
            blocks.append(figure("\(n)-energy-per-layer", svg,
                                 "Energy per sample of each layer with the \(r.energy.preset) preset: the ANN's multiply-accumulates against the SNN's accumulates (plus multiply-accumulates on analog input), log scale."))
        }

        // Raster.
        if let ras = r.raster, !ras.neurons.isEmpty {
            let rows = ras.neurons.map { RasterRow(group: $0.layer, label: "\($0.neuron)", spikeTimes: $0.spikeTimes) }
            let h = Double(min(1000, max(320, 150 + rows.count * 9)))
            let svg = Chart.raster(rows: rows, timesteps: ras.timesteps, options: ChartOptions(
                title: "Spike raster, sample \(ras.sample): \(n)", x: Axis("timestep"), y: Axis("neurons by layer"), width: 900, height: h))
            blocks.append(figure("\(n)-raster", svg, "Spikes of \(rows.count) sampled neurons in sample \(ras.sample) over \(ras.timesteps) timesteps, grouped by layer."))
        }
        blocks.append(.table(layerTable(r)))
        let para = "\(r.network) (\(r.model)) on \(r.data): T = \(r.timesteps), \(r.samples) sample\(r.samples == 1 ? "" : "s"), \(r.encoder) encoding, \(r.decoding) decoding, \(r.ranks) rank\(r.ranks == 1 ? "" : "s")\(r.complete ? "" : "; INCOMPLETE run (stopped early)")."
        return ReportSection("Run: \(input.name)", paragraph: para, blocks: blocks)
    }

    private func headlineTable(_ r: RunResult) -> ReportTable {
        let s = Double(max(1, r.samples))
        var rows: [[String]] = []
        if r.top1 != nil || r.ann?.top1 != nil {
            rows.append(["top-1 accuracy", pct(r.top1), pct(r.ann?.top1)])
        }
        if let a = r.ann { rows.append(["top-1 agreement SNN/ANN", pct(a.top1Agreement), ""]) }
        if let d = r.detection {
            rows.append(["mAP@0.5", pct(d.map50), pct(d.annMap50)])
            rows.append(["mAP@[.5:.95]", pct(d.map50to95), pct(d.annMap50to95)])
            rows.append(["detections", "\(d.detections)", d.annDetections.map { "\($0)" } ?? "–"])
            if let f = d.fidelityMap50 { rows.append(["fidelity mAP@0.5 (vs ANN)", pct(f), ""]) }
        }
        rows += [
            ["spikes per sample", num(Double(r.spikes) / s), ""],
            ["firing rate (per neuron per step)", Fmt.fixed(r.firingRate, 5), ""],
            ["synaptic ops per sample", num(Double(r.synapticOps) / s), ""],
            ["analog MACs per sample", num(Double(r.analogMacs) / s), ""],
            ["MACs per sample", "", num(Double(r.annMacsPerSample))],
            ["energy per sample (\(r.energy.preset))", joules(r.energy.snnJoules), joules(r.energy.annJoules)],
            ["energy ratio ANN / SNN", r.energy.snnJoules > 0 ? Fmt.fixed(r.energy.annJoules / r.energy.snnJoules, 2) + "×" : "–", ""],
            ["memory", bits(Double(r.memory.snnBits)), bits(Double(r.memory.annBits))],
            ["multiplies per sample", num(r.compute.snn.multiplies), num(r.compute.ann.multiplies)],
            ["additions per sample", num(r.compute.snn.additions), num(r.compute.ann.additions)],
            ["wall time", Fmt.fixed(r.wallSeconds, 3) + " s", ""],
            ["seconds per sample", Fmt.fixed(r.secondsPerSample, 4) + " s", ""],
            ["synaptic ops per second", num(r.synapticOpsPerSecond), ""],
        ]
        if let tmax = r.timing.map(\.total).max() {
            rows.append(["slowest rank: update / exchange / wait", r.timing.max { $0.total < $1.total }.map {
                "\(Fmt.fixed($0.update, 3)) / \(Fmt.fixed($0.exchange, 3)) / \(Fmt.fixed($0.wait, 3)) s of \(Fmt.fixed(tmax, 3)) s"
            } ?? "–", ""])
        }
        return ReportTable(caption: "Headline figures (per sample unless noted)", header: ["figure", "SNN", "ANN"], rows: rows,
                           numericColumns: [false, true, true])
    }

    private func layerTable(_ r: RunResult) -> ReportTable {
        let s = Double(max(1, r.samples))
        let rows = r.layers.map { l -> [String] in
            let e = (Double(l.synapticOps) * r.energy.acPicojoules + Double(l.analogMacs) * r.energy.macPicojoules) / s * 1e-12
            return [l.name, l.op, l.neuronModel ?? "", "\(l.neurons)", num(Double(l.spikes) / s),
                    l.neurons > 0 ? Fmt.fixed(l.firingRate, 5) : "–", num(Double(l.synapticOps) / s), num(Double(l.analogMacs) / s),
                    num(Double(l.macs)), joules(e), joules(Double(l.macs) * r.energy.macPicojoules * 1e-12), l.partition]
        }
        return ReportTable(caption: "Per layer (per sample)", header: ["layer", "op", "neuron", "neurons", "spikes", "firing rate",
                                                                       "synaptic ops", "analog MACs", "ANN MACs", "E SNN", "E ANN", "partition"],
                           rows: rows, numericColumns: [false, false, false, true, true, true, true, true, true, true, true, false])
    }

    // MARK: Comparison of runs (Spiking-YOLO Fig. 3)

    func normLabel(_ r: RunResult) -> String? {
        let m = ((r.model as NSString).lastPathComponent + " " + r.network).lowercased()
        let ch = m.contains("channel"), ly = m.contains("layer")
        if ch && !ly { return "channel-norm" }
        if ly && !ch { return "layer-norm" }
        return nil
    }

    private func comparison(_ all: [(ReportInput, RunResult)]) -> ReportSection {
        // Every run given is compared; a model name that says layer or channel normalization labels it.
        let runs = all
        let names = runs.map { i, r in normLabel(r).map { "\($0) (\(i.name))" } ?? i.name }
        var blocks = [ReportBlock]()
        var cats = [String]()
        for (_, r) in runs { for l in r.layers where l.neurons > 0 && !cats.contains(l.name) { cats.append(l.name) } }
        let groups = zip(runs, names).map { run, name in
            DistributionGroup(name, values: cats.map { c in
                guard let l = run.1.layers.first(where: { $0.name == c && $0.neurons > 0 }) else { return [] }
                if let ch = l.channelFiringRates, !ch.isEmpty { return ch }
                return [l.firingRate]
            })
        }
        let perChannel = runs.contains { $0.1.layers.contains { !($0.channelFiringRates ?? []).isEmpty } }
        if !cats.isEmpty {
            let svg = Chart.distribution(categories: cats, groups: groups, options: ChartOptions(
                title: "Firing rates per layer, \(perChannel ? "per channel" : "layer means"), by run", x: Axis("layer"),
                y: Axis("\(perChannel ? "channel " : "")firing rate (spikes / neuron / step)"), width: 900, height: 460))
            blocks.append(figure("compare-firing-rates", svg,
                                 "Per-layer distribution of \(perChannel ? "per-channel" : "mean") firing rates, one box per run side by side (cf. Spiking-YOLO Fig. 3: channel-norm raises the rates of the many channels that layer-norm leaves nearly silent)."))
        }
        let curves = zip(runs, names).compactMap { run, name -> Series? in
            let (_, p) = metricPoints(run.1)
            return p.isEmpty ? nil : Series(name, points: p)
        }
        if curves.count >= 2 {
            let det = runs.allSatisfy { metricPoints($0.1).detection }
            let ts = Array(Set(curves.flatMap { $0.points.map(\.x) })).sorted()
            let svg = Chart.line(curves, options: ChartOptions(title: "\(det ? "mAP@0.5" : "Top-1 accuracy") vs timesteps by run",
                                                               x: Axis("timesteps T", scale: .log2, ticks: ts.count <= 12 ? ts : nil),
                                                               y: percentAxis(metricName(det), curves.flatMap { $0.points.map(\.y) })))
            blocks.append(figure("compare-accuracy-vs-T", svg, "Accuracy decoded at each checkpoint, one line per run."))
        }
        let rows = zip(runs, names).map { run, name -> [String] in
            let r = run.1, s = Double(max(1, r.samples))
            return [name, r.network, "\(r.timesteps)", "\(r.samples)", pct(r.top1), pct(r.detection?.map50), Fmt.fixed(r.firingRate, 5),
                    num(Double(r.spikes) / s), num(Double(r.synapticOps) / s), joules(r.energy.snnJoules), joules(r.energy.annJoules)]
        }
        blocks.append(.table(ReportTable(caption: "Runs side by side", header: ["run", "network", "T", "samples", "top-1", "mAP@0.5", "firing rate",
                                                                                 "spikes / sample", "synaptic ops / sample", "E SNN", "E ANN"],
                                         rows: rows, numericColumns: [false, false] + Array(repeating: true, count: 9))))
        return ReportSection("Comparison of runs", paragraph: "\(runs.count) runs compared (labelled by normalization where the model name says layer or channel).", blocks: blocks)
    }
}

// MARK: - Writing

enum ReportWriter {
    /// Writes every figure to DIR/NAME.svg and DIR/report.html. Everything is staged in a hidden
    /// directory first and moved into place at the end, report.html last, so a failure leaves no
    /// new report.html behind.
    static func write(_ report: HTMLReport, to dir: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
            throw ReportInputError(message: "exists and is not a directory")
        }
        try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let staging = (dir as NSString).appendingPathComponent(".report-staging-\(ProcessInfo.processInfo.processIdentifier)")
        try? fm.removeItem(atPath: staging)
        try fm.createDirectory(atPath: staging, withIntermediateDirectories: false)
        defer { try? fm.removeItem(atPath: staging) }
        var names = [String]()
        for f in report.figures {
            let name = f.name + ".svg"
            try Data(f.svg.utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent(name)))
            names.append(name)
        }
        try Data(report.render().utf8).write(to: URL(fileURLWithPath: (staging as NSString).appendingPathComponent("report.html")))
        // An old report.html would describe other figures: take it away before replacing them.
        let html = (dir as NSString).appendingPathComponent("report.html")
        if fm.fileExists(atPath: html) { try fm.removeItem(atPath: html) }
        for name in names + ["report.html"] {
            let dst = (dir as NSString).appendingPathComponent(name)
            let src = (staging as NSString).appendingPathComponent(name)
            if rename(src, dst) != 0 { throw ReportInputError(message: "cannot move \(name) into place: \(String(cString: strerror(errno)))") }
        }
    }
}
