import ArgumentParser
import Foundation
import SpikeConvert
import SpikeCore
import SpikeEngine
import SpikeMPI
import SpikeAggregate
import SpikeData
import SpikeMetrics
import SpikeRun

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a grid over T, threshold scale, normalization, encoder and decoding; write one table.",
        discussion: """
        The grid comes from the config's 'sweep' key (timesteps, thresholdScale, norm, encoder, decoding) or
        the options below. An ANN model (.onnx, .cfg) is converted once per (norm, threshold scale) with the
        calibration data; a native SNN (.json) sweeps only T, encoder and decoding. Each remaining combination
        is one simulation of the largest T, decoded at every smaller T of the grid (checkpoints, exact), so
        a T axis costs one run. Writes OUTPUT/sweep.csv and OUTPUT/sweep.json (rewritten after every point,
        'complete' false until the last), and each point's result and per-sample files under OUTPUT/points.
        Run under mpirun like simulate; results do not depend on the number of ranks.
        """)

    @Option(help: "YAML experiment config; command-line options override its keys.") var config: String?
    @Option(help: "Model: trained ANN (.onnx, .cfg) or native SNN (.json).") var model: String?
    @Option(help: "Dataset folder.") var data: String?
    @Option(help: "Dataset split (default: the evaluation split).") var split: String?
    @Option(help: "Samples per point.") var samples: Int?
    @Option(help: "Index of the first sample.") var firstSample: Int?
    @Option(help: "Seed of the stochastic encoders.") var seed: UInt64?
    @Option(help: "Output folder.") var output: String?
    @Option(help: "Comma-separated timesteps.") var timesteps: String?
    @Option(help: "Comma-separated threshold scales.") var thresholdScale: String?
    @Option(help: "Comma-separated normalizations (layer, channel).") var norm: String?
    @Option(help: "Comma-separated encoders.") var encoder: String?
    @Option(help: "Comma-separated decodings (membrane, spikes).") var decoding: String?
    @Option(help: "Calibration data for conversion (default: --data).") var calibration: String?
    @Option(help: "Calibration split (default: train).") var calibrationSplit: String?
    @Option(help: "Calibration samples.") var calibrationCount: Int?
    @Option(help: "Calibration statistic: max, p99.9, p99.99.") var statistic: String?
    @Option(help: "Energy preset (or custom, from the config).") var energyPreset: String?
    @Flag(help: "Also run the ANN on rank 0 and report its top-1 per point.") var compareAnn = false
    @Flag(help: "Continue a sweep: keep finished points, continue unfinished ones.") var resume = false
    @Flag(help: "Replace an existing sweep in the output folder.") var overwrite = false
    @Flag(help: "No progress line.") var quiet = false

    func run() throws {
        try runOnWorld(sweep)
    }

    struct Plan {
        var modelSpec: String
        var isANN: Bool
        var grid: SweepResult.Grid
        var out: String
        var samples: Int
        var first: Int
        var seed: UInt64
        var energy: EnergyPreset
        var calibration: [[Float]]
        var calibrationText: String
        var statistic: Statistic
        var compareANN: Bool
        var dataDescription: String
        /// From the config: burn-in and max-pool gate of every point.
        var burnIn: Int
        var maxPoolGate: MaxPoolGateMode
        /// ANN models: the config's conversion options (burst, residual, initial membrane, ...); the
        /// grid sets norm and threshold scale per point. Spiking output layers when the grid decodes spikes.
        var conversion: ConversionOptions
    }

    func list<T>(_ s: String?, _ name: String, _ parse: (String) -> T?) throws -> [T]? {
        guard let s else { return nil }
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        var out = [T]()
        for p in parts {
            guard let v = parse(p) else { throw SpikeError("--\(name) '\(s)': '\(p)' is not a valid value") }
            out.append(v)
        }
        guard !out.isEmpty else { throw SpikeError("--\(name) is empty") }
        return out
    }

    func sweep(_ t: MPITransport) throws {
        var plan: Plan?
        var base: Network?
        var source: InputSource?
        try agreeAll(t) {
            var c = RunConfig()
            if let p = config { c = try RunConfig.load(p) }
            let g = c.sweep
            guard let modelSpec = model ?? c.model else { throw SpikeError("no model: pass --model or set key 'model'") }
            guard let dataPath = data ?? c.data else { throw SpikeError("no data: pass --data or set key 'data'") }
            guard let out = output ?? c.output else { throw SpikeError("no output folder: pass --output or set key 'output'") }
            let ext = (modelSpec as NSString).pathExtension.lowercased()
            let isANN = ext == "onnx" || ext == "cfg"
            let ts = try list(timesteps, "timesteps") { Int($0) } ?? g?.timesteps ?? [c.timesteps ?? 32]
            guard ts.allSatisfy({ $0 >= 1 }) else { throw SpikeError("timesteps must be at least 1, got \(ts)") }
            if let b = c.burnIn, let bad = ts.first(where: { $0 <= b }) {
                throw SpikeError("sweep timesteps \(bad) is not after the config's burnIn \(b): outputs are decoded from t = \(b + 1) on")
            }
            let thr = try list(thresholdScale, "threshold-scale") { Double($0) } ?? g?.thresholdScale ?? [1]
            guard thr.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw SpikeError("threshold scales must be positive, got \(thr)") }
            let norms = try list(norm, "norm") { NormMode(rawValue: $0)?.rawValue } ?? g?.norm ?? ["channel"]
            let encs = try list(encoder, "encoder") { InputEncoder(rawValue: $0)?.rawValue } ?? g?.encoder ?? [c.encoder?.rawValue ?? "direct"]
            let decs = try list(decoding, "decoding") { Decoding(rawValue: $0)?.rawValue } ?? g?.decoding ?? [c.decoding?.rawValue ?? "membrane"]
            if !isANN && (thr != [1] || norms != ["channel"]) {
                throw SpikeError("\(modelSpec): sweeping threshold scale or normalization needs the trained ANN (.onnx or .cfg) to convert; a native model only sweeps timesteps, encoder and decoding")
            }
            let grid = SweepResult.Grid(timesteps: Array(Set(ts)).sorted(), thresholdScale: thr, norm: norms, encoder: encs, decoding: decs)
            let imported = try ANNSource.load(modelSpec)
            base = imported.network
            let seedValue = seed ?? c.seed ?? 1
            var calib = [[Float]](), calibText = ""
            let stat = try Statistic(parsing: statistic ?? c.statistic ?? "p99.99")
            var conversion = ConversionOptions()
            if decs.contains("spikes"), !isANN, let i = imported.network.outputs.first(where: { imported.network.layers[$0].neuron?.kind == .accumulator }) {
                throw SpikeError("\(modelSpec): decoding 'spikes' in the grid, but output layer '\(imported.network.layers[i].name)' has accumulator neurons; convert with --output-neurons spiking")
            }
            if isANN {
                let cpath = calibration ?? c.calibration ?? dataPath
                let csplit = calibrationSplit ?? c.calibrationSplit ?? "train"
                let ccount = calibrationCount ?? c.calibrationCount ?? 100
                guard ccount >= 1 else { throw SpikeError("--calibration-count must be at least 1") }
                let cs = try DataSource.open(cpath, split: csplit, expecting: imported.network.inputShape)
                guard ccount <= cs.count else { throw SpikeError("--calibration-count \(ccount) but \(cs.description) has \(cs.count)") }
                calib = try (0..<ccount).map { try cs.sample($0).input }
                calibText = "\(cs.description): first \(ccount)"
                conversion = try ConversionSetup(config: c, calibration: cpath, calibrationSplit: csplit, calibrationCount: ccount,
                                                 statistic: statistic ?? c.statistic).options
                if decs.contains("spikes") { conversion.spikingOutputs = true }
            }
            var desc = ""
            if t.rank == 0 {
                var ev = DataSource.EventOptions()
                ev.representation = c.representation ?? (encs.contains("events") ? "frames" : nil); ev.binMilliseconds = c.binMs ?? 10; ev.timesteps = grid.timesteps.last!
                source = try DataSource.open(dataPath, split: split ?? c.split, expecting: imported.network.inputShape,
                                             classes: imported.network.heads.first?.classes, events: ev)
                desc = source!.description
                let fm = FileManager.default
                let json = (out as NSString).appendingPathComponent("sweep.json")
                if fm.fileExists(atPath: json) && !resume && !overwrite {
                    throw SpikeError("\(json) already exists: pass --resume to continue that sweep or --overwrite to replace it")
                }
            }
            plan = Plan(modelSpec: modelSpec, isANN: isANN, grid: grid, out: out, samples: samples ?? c.samples ?? 100,
                        first: firstSample ?? c.firstSample ?? 0, seed: seedValue, energy: try c.energyPreset(named: energyPreset),
                        calibration: calib, calibrationText: calibText, statistic: stat,
                        compareANN: compareAnn || (c.compareAnn ?? false), dataDescription: desc,
                        burnIn: c.burnIn ?? 0, maxPoolGate: c.maxpoolGate.flatMap(MaxPoolGateMode.init(rawValue:)) ?? .leader,
                        conversion: conversion)
        }
        let p = plan!
        var rows = [SweepRow]()
        let maxT = p.grid.timesteps.last!
        let csvPath = (p.out as NSString).appendingPathComponent("sweep.csv")
        let jsonPath = (p.out as NSString).appendingPathComponent("sweep.json")
        func write(complete: Bool) throws {
            guard t.rank == 0 else { return }
            let r = SweepResult(complete: complete, model: p.modelSpec, data: p.dataDescription, samples: p.samples, ranks: t.size,
                                energyPreset: p.energy.name, grid: p.grid, rows: rows)
            let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
            try ResultFiles.atomicWrite(try enc.encode(r), to: jsonPath)
            let csv = ([SweepRow.csvHeader] + rows.map(\.csvLine)).joined(separator: "\n") + "\n"
            try ResultFiles.atomicWrite(Data(csv.utf8), to: csvPath)
        }
        let points = p.grid.norm.count * p.grid.thresholdScale.count * p.grid.encoder.count * p.grid.decoding.count
        var done = 0
        for nm in p.grid.norm {
            for thr in p.grid.thresholdScale {
                var net = base!
                var convertNote = ""
                if p.isANN {
                    var o = p.conversion
                    o.norm = NormMode(rawValue: nm)!; o.thresholdScale = Float(thr); o.statistic = p.statistic
                    do {
                        net = try Converter.convert(base!, calibration: p.calibration, calibrationData: p.calibrationText,
                                                    source: p.modelSpec, options: o).0
                    } catch let e as SpikeError { throw CollectiveError(message: "\(p.modelSpec): conversion (\(nm), threshold x\(thr)): \(e.message)") }
                    convertNote = "\(nm)-thr\(thr)-"
                }
                for enc in p.grid.encoder {
                    for dec in p.grid.decoding {
                        done += 1
                        let name = "\(convertNote)\(enc)-\(dec)-T\(maxT)"
                        if t.rank == 0 && !quiet { printError("sweep point \(done)/\(points): \(name)") }
                        var cfg = SimulationConfig(timesteps: maxT, seed: p.seed, encoder: InputEncoder(rawValue: enc)!,
                                                   decoding: Decoding(rawValue: dec)!)
                        cfg.burnIn = p.burnIn
                        cfg.maxPoolGate = p.maxPoolGate
                        cfg.checkpoints = p.grid.timesteps.filter { $0 < maxT }
                        cfg.rasterSample = p.first
                        var opts = RunOptions(modelPath: p.modelSpec, samples: p.samples)
                        opts.firstSample = p.first
                        opts.jsonPath = ((p.out as NSString).appendingPathComponent("points") as NSString).appendingPathComponent(name + ".json")
                        opts.energyPreset = p.energy
                        opts.resume = resume; opts.overwrite = overwrite || !resume; opts.progress = !quiet
                        opts.compareANN = p.compareANN
                        let coord = try Coordinator(network: net, transport: t, config: cfg, options: opts)
                        let result = try coord.run(source: source)
                        guard let r = result else { continue }
                        let n = Double(max(r.samples, 1))
                        for cp in r.checkpoints ?? [RunResult.Checkpoint(timesteps: maxT, top1: r.top1, spikesPerSample: Double(r.spikes) / n,
                                                                         synapticOpsPerSample: Double(r.synapticOps) / n,
                                                                         analogMacsPerSample: Double(r.analogMacs) / n, map50: r.detection?.map50)] {
                            let syn = cp.synapticOpsPerSample ?? 0, macs = cp.analogMacsPerSample ?? 0
                            let spikes = cp.spikesPerSample ?? 0
                            rows.append(SweepRow(norm: p.isANN ? nm : "-", thresholdScale: thr, encoder: enc, decoding: dec,
                                                 timesteps: cp.timesteps, top1: cp.top1, map50: cp.map50, spikesPerSample: spikes,
                                                 synapticOpsPerSample: syn, analogMacsPerSample: macs,
                                                 firingRate: spikes / (Double(max(r.neurons, 1)) * Double(cp.timesteps)),
                                                 snnJoulesPerSample: (syn * p.energy.acPicojoules + macs * p.energy.macPicojoules) * 1e-12,
                                                 annJoulesPerSample: Double(r.annMacsPerSample) * p.energy.macPicojoules * 1e-12,
                                                 annTop1: r.ann?.top1))
                        }
                        try write(complete: done == points)
                    }
                }
            }
        }
        if t.rank == 0 {
            print(SweepTable.render(rows))
            print("sweep: \(csvPath)\n       \(jsonPath)")
        }
    }
}

enum SweepTable {
    static func render(_ rows: [SweepRow]) -> String {
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
