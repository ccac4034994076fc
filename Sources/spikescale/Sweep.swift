import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeMPI
import SpikeOptions
import SpikeReport
import SpikeRun

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a grid over T, threshold scale, normalization, encoder and decoding; write one table.",
        discussion: """
        The grid comes from the --sweep-* options (config: the 'sweep' mapping); an axis not given takes the \
        single value of -T, --threshold-scale, --norm, --encoder or --decoding. An ANN model (.onnx, .cfg) is \
        converted once per (norm, threshold scale) with the calibration data (default: --data); a native SNN \
        (.json) sweeps only T, encoder and decoding. Each remaining combination is one simulation of the largest \
        T, decoded at every smaller T of the grid (checkpoints, exact), so a T axis costs one run. Every other \
        option (burst, burn-in, max-pool gate, ...) applies to every point, as in simulate. Writes \
        OUTPUT/sweep.csv and OUTPUT/sweep.json (rewritten after every point, 'complete' false until the last), \
        and each point's result and per-sample files under OUTPUT/points. Run under mpirun like simulate; \
        results do not depend on the number of ranks.
        """)

    @OptionGroup var config: ConfigOption
    @OptionGroup(title: "Grid") var sweep: SweepOptions
    @OptionGroup var experiment: ExperimentOptions

    func run() throws {
        experiment.installLimits()
        try runOnWorld(peerTimeout: experiment.control.peerTimeout) { t in
            let exp = Experiment(experiment)
            var runner: SweepRunner?
            try agreeAll(t) { runner = try SweepRunner(exp, sweep: sweep, rank: t.rank, size: t.size) }
            if let rows = try runner!.run(transport: t) {
                print(SweepTable.render(rows))
                print("sweep: \(runner!.csvPath)\n       \(runner!.jsonPath)")
            }
        }
    }
}
