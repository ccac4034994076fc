import ArgumentParser
import Foundation
import SpikeConvert
import SpikeCore
import SpikeEngine
import SpikeMetrics
import SpikeOptions
import Testing

/// The option groups as `simulate` and `sweep` declare them (the commands live in the executable).
struct SimulateLike: ParsableCommand {
    @OptionGroup var config: ConfigOption
    @OptionGroup var experiment: ExperimentOptions
    @OptionGroup var output: OutputOptions
    var model: ModelOptions { experiment.model }
    var data: DataOptions { experiment.data }
    var conversion: ConvertOptions { experiment.conversion }
    var simulation: SimulationOptions { experiment.simulation }
}

struct SweepLike: ParsableCommand {
    @OptionGroup var config: ConfigOption
    @OptionGroup var sweep: SweepOptions
    @OptionGroup var experiment: ExperimentOptions
    var model: ModelOptions { experiment.model }
    var data: DataOptions { experiment.data }
    var conversion: ConvertOptions { experiment.conversion }
    var simulation: SimulationOptions { experiment.simulation }
}

let commands: [String: ParsableArguments.Type] = ["simulate": SimulateLike.self, "sweep": SweepLike.self]

func writeConfig(_ text: String) throws -> String {
    let p = NSTemporaryDirectory() + "spikescale-options-\(UInt32.random(in: 0...UInt32.max)).yaml"
    try text.write(toFile: p, atomically: true, encoding: .utf8)
    return p
}

/// Parses `args` for `sub` the way the CLI does: config expanded, command line last.
func parse<C: ParsableCommand>(_ type: C.Type, _ sub: String, _ args: [String]) throws -> C {
    let e = try ConfigExpansion([sub] + args, commands: commands)
    return try C.parse(Array(e.arguments.dropFirst()))
}

@Suite("Options: command line over config over default")
struct OptionMergingTests {
    @Test("Defaults are the documented ones when nothing is given")
    func defaults() throws {
        let c = try parse(SimulateLike.self, "simulate", [])
        #expect(c.simulation.timesteps == 32 && c.simulation.seed == 1 && c.simulation.encoder == .direct && c.simulation.decoding == .membrane)
        #expect(c.conversion.calibrationCount == 100 && c.conversion.statistic == nil && c.conversion.rules.statistic == .percentile(99.9) && c.conversion.calibrationSplit == "train")
        #expect(c.conversion.norm == .channel && c.conversion.burst == 1 && c.data.binMs == 10 && c.data.samples == nil)
        #expect(try c.simulation.energy().name == "spiking-yolo-fp32")
        // ReLU layers get IF neurons with memory unless told otherwise; bursts keep plain IF neurons.
        #expect(c.conversion.reluNeurons == nil && c.conversion.rules.reluMemory == nil)
        #expect(try parse(SimulateLike.self, "simulate", ["--relu-neurons", "if"]).conversion.rules.reluMemory == false)
    }

    @Test("A config key sets its option; the command line overrides it; other keys keep their defaults")
    func commandLineWins() throws {
        let p = try writeConfig("timesteps: 64\nburst: 2\nburnIn: 8\ncompareAnn: true\ncheckpoints: [16, 32]\nstatistic: max\n")
        let fromConfig = try parse(SimulateLike.self, "simulate", ["--config", p])
        #expect(fromConfig.simulation.timesteps == 64 && fromConfig.conversion.burst == 2 && fromConfig.simulation.burnIn == 8)
        #expect(fromConfig.simulation.compareAnn && fromConfig.simulation.checkpoints?.values == [16, 32])
        #expect(fromConfig.conversion.statistic == .max && fromConfig.simulation.seed == 1)
        let cli = try parse(SimulateLike.self, "simulate", ["--config", p, "-T", "128", "--burst", "3", "--statistic", "p99.9"])
        #expect(cli.simulation.timesteps == 128 && cli.conversion.burst == 3 && cli.conversion.statistic == .percentile(99.9))
        #expect(cli.simulation.burnIn == 8)
    }

    @Test("Nested config keys: energy table and sweep grid")
    func nestedKeys() throws {
        let p = try writeConfig("energyPreset: custom\nenergy:\n  name: chip\n  macPicojoules: 2\n  acPicojoules: 0.5\nsweep:\n  timesteps: [8, 16]\n  norm: [layer, channel]\n")
        let s = try parse(SweepLike.self, "sweep", ["--config", p])
        #expect(try s.simulation.energy() == EnergyPreset(name: "chip", macPicojoules: 2, acPicojoules: 0.5, source: "config"))
        let grid = SweepGrid(s.sweep, simulation: s.simulation, conversion: s.conversion)
        #expect(grid.timesteps == [8, 16] && grid.norm == [.layer, .channel] && grid.encoder == [.direct] && grid.thresholdScale == [1])
        #expect(grid.points == 2)
        let over = try parse(SweepLike.self, "sweep", ["--config", p, "--sweep-timesteps", "32,4,32", "--encoder", "bernoulli"])
        let g2 = SweepGrid(over.sweep, simulation: over.simulation, conversion: over.conversion)
        #expect(g2.timesteps == [4, 32] && g2.encoder == [.bernoulli])
    }

    @Test("Unknown keys name the file and the key; keys of another command are left to it")
    func unknownKeys() throws {
        let bad = try writeConfig("timestep: 4\n")
        #expect(throws: SpikeError.self) { _ = try parse(SimulateLike.self, "simulate", ["--config", bad]) }
        do { _ = try ConfigExpansion(["simulate", "--config", bad], commands: commands) } catch let e as SpikeError {
            #expect(e.message.contains(bad) && e.message.contains("unknown key 'timestep'"))
        }
        let other = try writeConfig("output: results/x\nsweep:\n  timesteps: [8]\n")
        let c = try parse(SimulateLike.self, "simulate", ["--config", other])
        #expect(c.simulation.timesteps == 32)
    }

    @Test("Memory neurons with bursts are asked for explicitly; without, bursts keep the ReLU layers' plain IF neurons")
    func memoryWithBursts() throws {
        let burst = try parse(SimulateLike.self, "simulate", ["--burst", "2"]).conversion
        #expect(burst.rules.reluMemory == nil && !burst.rules.signedMemory)
        let both = try parse(SimulateLike.self, "simulate", ["--burst", "2", "--relu-neurons", "memory", "--neurons", "memory", "--memory-margin", "0.5"]).conversion
        #expect(both.rules.reluMemory == true && both.rules.signedMemory && both.rules.memoryMargin == 0.5 && both.rules.burst == 2)
    }

    @Test("Each range is checked once, and the error names the flag, the key and the config")
    func rangeErrors() throws {
        for (yaml, key) in [("burst: 100", "burst"), ("timesteps: -2", "timesteps"), ("calibrationCount: 0", "calibrationCount"),
                            ("thresholdScale: 0", "thresholdScale"), ("initialMembrane: 2", "initialMembrane"), ("binMs: 0", "binMs"),
                            ("samples: 0", "samples"), ("targetRate: 1.5", "targetRate"), ("inputSize: 40", "inputSize"),
                            ("energyPreset: nope", "energyPreset"), ("representation: movie", "representation"), ("norm: rows", "norm"),
                            ("burst: 2\nreset: zero", "burst"), ("reluNeurons: memory\nreset: zero", "reluNeurons"), ("reluNeurons: if\ncoding: fs", "reluNeurons"), ("neurons: memory\nreset: zero", "neurons"), ("memoryMargin: 1", "memoryMargin"), ("memoryMargin: 0.5\nreluNeurons: if", "memoryMargin"),
                            ("memoryMargin: 0.5\nburst: 2", "memoryMargin")] {
            let p = try writeConfig(yaml + "\n")
            let e = try ConfigExpansion(["simulate", "--config", p], commands: commands)
            do {
                _ = try SimulateLike.parse(Array(e.arguments.dropFirst()))
                Issue.record("\(yaml) was accepted")
            } catch {
                let text = e.explain(SimulateLike.message(for: error))
                #expect(text.contains("key '\(key)'") && text.contains(p), "\(yaml): \(text)")
            }
        }
    }

    @Test("Every option of every group is a config key whose flag the command accepts")
    func everyOptionHasAKey() throws {
        for (sub, type) in commands {
            let keys = OptionKeys.of(type)
            #expect(keys.count >= 40)
            for (key, kind) in keys {
                let value: String
                switch key {
                case "model", "data", "split", "json", "calibration", "calibrationSplit", "snnModel", "output", "weights", "energyName": value = "x"
                case "input": value = "synthetic"
                case "representation": value = "intensity"
                case "encoder", "sweepEncoder": value = "bernoulli"
                case "decoding", "sweepDecoding": value = "spikes"
                case "norm", "sweepNorm": value = "layer"
                case "statistic": value = "max"
                case "reset": value = "zero"
                case "maxpool": value = "average"
                case "maxpoolGate": value = "count"
                case "partition": value = "rows"
                case "overlap": value = "none"
                case "residual": value = "max"
                case "neurons": value = "relu"
                case "reluNeurons": value = "if"
                case "outputNeurons": value = "spiking"
                case "coding": value = "fs"
                case "fsSigned": value = "fit"
                case "convention": value = "norse"
                case "energyPreset": value = "horowitz-45nm-fp32"
                case "inputSize": value = "64"
                case "targetRate", "initialMembrane", "signedInitialMembrane", "memoryMargin": value = "0.5"
                default: value = "2"
                }
                let p = try writeConfig(kind == .flag ? "\(key): true\n" : "\(key): \(value)\n")
                #expect(throws: Never.self, "\(sub): key \(key)") { _ = try parseAny(type as! any ParsableCommand.Type, sub, ["--config", p]) }
            }
        }
    }
}

private func parseAny(_ type: any ParsableCommand.Type, _ sub: String, _ args: [String]) throws -> any ParsableCommand {
    let e = try ConfigExpansion([sub] + args, commands: commands)
    return try type.parse(Array(e.arguments.dropFirst()))
}

@Suite("Shipped configs")
struct ShippedConfigTests {
    static let repo: URL = { var u = URL(fileURLWithPath: #filePath); for _ in 0..<3 { u.deleteLastPathComponent() }; return u }()

    @Test("Every config in Configs/ parses as simulate or sweep options, and the shared models and data it names exist")
    func shippedConfigsLoad() throws {
        let dir = Self.repo.appendingPathComponent("Configs")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
        #expect(files.count >= 6)
        for f in files {
            let path = dir.appendingPathComponent(f).path
            let isSweep = try String(contentsOfFile: path, encoding: .utf8).contains("sweep:")
            let c: (model: ModelOptions, data: DataOptions, conversion: ConvertOptions)
            if isSweep { let s = try parse(SweepLike.self, "sweep", ["--config", path]); c = (s.model, s.data, s.conversion) }
            else { let s = try parse(SimulateLike.self, "simulate", ["--config", path]); c = (s.model, s.data, s.conversion) }
            #expect(c.model.model != nil, "\(f): no model")
            for p in [c.model.model, c.data.data, c.conversion.calibration].compactMap({ $0 }) where p.hasPrefix("../shared/") {
                let abs = Self.repo.appendingPathComponent(p).standardizedFileURL.path
                #expect(FileManager.default.fileExists(atPath: abs), "\(f): \(p) does not exist")
            }
        }
    }
}
