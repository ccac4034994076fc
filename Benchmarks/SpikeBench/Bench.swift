import ArgumentParser
import Foundation
import SpikeANN
import SpikeCore
import SpikeEngine
import SpikeMPI
import SpikeData
import SpikeOptions
import SpikeRun

/// Engine benchmark: synaptic operations per second, SNN timestep vs dense ANN forward (OpenBLAS),
/// per layer, on the ranks of this MPI job. `compare` puts several runs side by side.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spikescale-bench", subcommands: [Measure.self, Compare.self, Exchange.self],
                                                    defaultSubcommand: Measure.self)
}

struct LayerFigure: Codable {
    var name: String
    var op: String
    var snnSecondsPerStep: Double
    var annSeconds: Double
    var synapticOpsPerStep: Double
    var annMacs: Int
    var firingRate: Double
}

struct Figure: Codable {
    var network: String
    var ranks: Int
    var timesteps: Int
    var targetRate: Double
    var firingRate: Double
    var spikes: Int64
    /// Synaptic operations (accumulates) per timestep, all ranks.
    var synapticOpsPerStep: Double
    var annMacs: Int
    /// Spikes × fan-out as a fraction of the dense MACs.
    var opsOverMacs: Double
    /// Wall seconds of one SNN timestep (max over ranks), and of the dense ANN forward on one core.
    var snnSecondsPerStep: Double
    var annSecondsPerForward: Double
    var stepOverForward: Double
    var synapticOpsPerSecond: Double
    var synapticOpsPerSecondPerRank: Double
    var updateSeconds: [Double]
    var waitSeconds: [Double]
    var bytesSentPerStep: Double
    var peakResidentBytes: [Int]
    var layers: [LayerFigure]
    var machine: String
    var date: String
    /// `--overlap` of the run (absent in figures from before it existed).
    var overlap: String?
    /// The kernels OpenBLAS ran the dense forward with (`openblas_get_corename`; absent in older figures).
    var blasCore: String?
}

struct Measure: ParsableCommand {
    @Option(help: "Comma-separated networks: zoo names, or native model files (e.g. a converted yolo-fastest).") var networks = "tiny-yolov3,mnist-cnn"
    @Option(help: "Input: the first sample of this data folder (default: one synthetic image).") var data: String?
    @Option(name: [.customShort("T"), .long]) var timesteps = 16
    @Option(help: "Target firing rate for the weight scaling.") var targetRate: Float = 0.1
    @Option(help: "Repetitions of the dense forward and of the timed SNN run (the fastest of each is kept, per layer too).") var repeats = 3
    @Option(help: "Write figures here (rank 0).") var json: String?
    @Option(help: "Exchange overlap: interior or none (as simulate's --overlap).") var overlap: ExchangeOverlap = .interior

    func run() throws {
        try MPIRuntime.initialize()
        let t = try MPITransport.world()
        if t.rank == 0, let w = BLASInfo.fallbackWarning { FileHandle.standardError.write(Data("spikescale-bench: warning: \(w)\n".utf8)) }
        var figures = [Figure]()
        for name in networks.split(separator: ",").map(String.init) {
            figures.append(try measure(name, t))
        }
        if t.rank == 0 {
            for f in figures { print(Report.describe(f)) }
            if let p = json {
                let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
                try enc.encode(figures).write(to: URL(fileURLWithPath: p))
            }
        }
        try MPIRuntime.finalize()
    }

    func measure(_ name: String, _ t: MPITransport) throws -> Figure {
        let net = name.hasSuffix(".json") ? try ModelSource.load(name) : try ModelSource.zoo(name, seed: 1, targetRate: targetRate)
        let input = try data.map { try DataSource.open($0, split: nil, expecting: net.inputShape).sample(0).input }
            ?? SyntheticSource(shape: net.inputShape, seed: 7, count: 1).sample(0).input
        // Dense ANN forward on one core (rank 0), fastest of `repeats`.
        var ann = [Double](repeating: .infinity, count: net.layers.count)
        if t.rank == 0 {
            let f = try DenseForward(net, threads: 1)
            _ = f.run(input)
            for _ in 0..<repeats {
                let (_, secs) = f.runTimed(input)
                for i in secs.indices { ann[i] = min(ann[i], secs[i]) }
            }
        }
        let partition = try Partition(network: net, ranks: t.size)
        var config = SimulationConfig(timesteps: timesteps, seed: 1)
        config.overlap = overlap
        let sim = try RankSimulator(network: net, partition: partition, transport: t, config: config)
        _ = try sim.run(sample: 0, input: input)              // warm-up: page in weights and buffers
        // The timed run, `repeats` times like the forward: the fastest wall time, and per layer the fastest, are kept
        // (the same estimator on both sides, so that the machine's noise does not favour either).
        var wall = Int64.max, layerMax = [Int64](repeating: .max, count: net.layers.count)
        var mine = [Double](repeating: 0, count: 4)
        var res: RankSampleResult?
        for _ in 0..<max(1, repeats) {
            let before = sim.layerSeconds, upd0 = sim.timing.update, wait0 = sim.timing.wait, bytes0 = sim.bytesSent
            _ = try t.allreduceMax([0])
            let t0 = monotonicSeconds()
            res = try sim.run(sample: 0, input: input)
            let w = try t.allreduceMax([Int64((monotonicSeconds() - t0) * 1e9)])[0]
            let lm = try t.allreduceMax(zip(sim.layerSeconds, before).map { Int64(($0 - $1) * 1e9) })
            for i in lm.indices { layerMax[i] = min(layerMax[i], lm[i]) }
            if w < wall {
                wall = w
                mine = [sim.timing.update - upd0, sim.timing.wait - wait0, Double(sim.bytesSent - bytes0), 0]
            }
        }
        mine[3] = Double(peakResidentBytes())
        let secondsPerStep = Double(wall) * 1e-9 / Double(timesteps)
        let flat = res!.layers.flatMap { [$0.spikes, $0.synapticOps, $0.macs] }
        let summed = try t.allreduceSum(flat)
        let g = try t.gather(mine.withUnsafeBytes { Array($0) }, root: 0).map { b in b.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) } }
        let T = Double(timesteps)
        var layers = [LayerFigure]()
        var spikes: Int64 = 0, ops: Double = 0
        for (i, l) in net.layers.enumerated() {
            let sp = summed[3 * i], so = Double(summed[3 * i + 1]) / T
            if l.op.hasNeurons { spikes += sp }
            ops += so
            layers.append(LayerFigure(name: l.name, op: l.op.name, snnSecondsPerStep: Double(layerMax[i]) * 1e-9 / T,
                                      annSeconds: ann[i].isFinite ? ann[i] : 0, synapticOpsPerStep: so, annMacs: net.macs(layer: i),
                                      firingRate: l.op.hasNeurons ? Double(sp) / Double(l.shape.count) / T : 0))
        }
        let annTotal = ann.filter(\.isFinite).reduce(0, +)
        let neurons = Double(net.neuronCount)
        return Figure(network: net.name, ranks: t.size, timesteps: timesteps, targetRate: Double(targetRate),
                      firingRate: Double(spikes) / neurons / T, spikes: spikes, synapticOpsPerStep: ops, annMacs: net.totalMACs,
                      opsOverMacs: ops / Double(net.totalMACs), snnSecondsPerStep: secondsPerStep, annSecondsPerForward: annTotal,
                      stepOverForward: secondsPerStep / annTotal, synapticOpsPerSecond: ops / secondsPerStep,
                      synapticOpsPerSecondPerRank: ops / secondsPerStep / Double(t.size), updateSeconds: g.map { $0[0] },
                      waitSeconds: g.map { $0[1] }, bytesSentPerStep: g.reduce(0) { $0 + $1[2] } / T,
                      peakResidentBytes: g.map { Int($0[3]) }, layers: layers, machine: Report.machine(), date: Report.date(),
                      overlap: overlap.rawValue, blasCore: BLASInfo.core)
    }
}

struct Compare: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Put several measure runs side by side (markdown).")
    @Argument var files: [String]
    func run() throws {
        var all = [Figure]()
        for f in files { all += try JSONDecoder().decode([Figure].self, from: Data(contentsOf: URL(fileURLWithPath: f))) }
        print(Report.markdown(all))
    }
}
