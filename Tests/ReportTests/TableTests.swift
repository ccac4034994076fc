import Foundation
import Testing
import SpikeAggregate
import SpikeCore
import SpikeReport

@Suite struct SummaryTableTests {
    @Test func runSummaryShowsLayersTotalsAccuracyEnergyAndTiming() {
        let lines = SummaryTable.render(Samples.run()).components(separatedBy: "\n")
        #expect(lines[0] == "net: 2 sample(s), T = 8, 1 rank(s), encoder direct, decoding membrane")
        #expect(lines[1] == "layer          op            shape          neurons    spikes    rate    synops  ANN MACs split         ")
        #expect(lines[3] == "conv1          conv          4x4x2               32       400  12.50%      3.0k     10.0k spatial       ")
        #expect(lines[2].hasPrefix("input          input         4x4x1                -         0       -      1.0k         0 replicated"))
        #expect(lines.contains("total: 42 neurons, 600 spikes, firing rate 89.29%, 4.0k synaptic ops + 1.0k analog MACs, ANN 12.0k MACs/sample"))
        #expect(lines.contains("top-1: 75.00% (2 labelled samples)"))
        #expect(lines.contains("top-1 vs T: T=8 75.00%, T=4 50.00%"))
        #expect(lines.contains("energy/sample (spiking-yolo-fp32): SNN 3.6e-09 J, ANN 4.32e-08 J"))
        #expect(lines.contains("memory: ANN 6.00Mbit, SNN 8.00Mbit (weights 6.00Mbit, membranes 1.3kbit, busiest-step spikes 50bit)"))
        #expect(lines.contains("rank 0: update 0.250s pack 0.010s exchange 0.050s wait 0.000s | sent 1.0kB in 10 msgs | peak RSS 1.00MB"))
        #expect(lines.last == "wall 1.000s, 0.5000s/sample, 5.0k synaptic ops/s")
        #expect(!lines[0].contains("INCOMPLETE"))
        #expect(SummaryTable.render(Samples.run(complete: false)).hasPrefix("net: 2 sample(s), T = 8, 1 rank(s), encoder direct, decoding membrane  [INCOMPLETE]\n"))
    }

    @Test func inspectListsLayersParametersAndMACs() throws {
        var b = NetworkBuilder(name: "tiny", input: Shape(3, 4, 5))
        try b.add("fc1", .dense(outFeatures: 13), neuron: .integrateAndFire(), weights: Array(repeating: 0.1, count: 60 * 13),
                  bias: Array(repeating: 0, count: 13))
        try b.add("out", .dense(outFeatures: 4), neuron: .accumulator, weights: Array(repeating: 0.1, count: 13 * 4))
        let n = try b.build()
        let lines = SummaryTable.inspect(n).components(separatedBy: "\n")
        #expect(lines.count == 5)
        #expect(lines[0] == "tiny: 3 layers, input \(n.inputShape), \(n.neuronCount) neurons, 845 parameters, 832 MACs/sample")
        #expect(lines[1] == "   # layer          op            inputs             shape        neuron          params      MACs")
        #expect(lines[3].hasPrefix("   1 fc1            dense         input              "))
        #expect(lines[3].hasSuffix("      793       780"))
        #expect(lines[4].hasSuffix("       52        52"))
    }
}

@Suite struct SweepTableTests {
    @Test func oneLinePerGridPoint() {
        let rows = Samples.sweep().rows
        let lines = SweepTable.render(rows).components(separatedBy: "\n")
        #expect(lines.count == 2 + rows.count)
        // Linux Foundation ignores the widths of %@ fields: the text columns are not padded (as before the move).
        #expect(lines[0] == "norm thr encoder decoding T top-1 mAP50 spikes synops SNN µJ")
        #expect(lines[1] == "(spikes, synaptic ops and energy per sample)")
        #expect(lines[2] == "layer   1.00 direct membrane     4 50.00% -          400         4000     0.0036")
        #expect(lines[5] == "layer   1.50 direct membrane     8 70.00% -          800         8000     0.0036")
        var det = Samples.sweepRow(scale: 2, T: 16, top1: nil)
        det.map50 = 0.41234
        #expect(SweepTable.render([det]).components(separatedBy: "\n")[2]
                == "layer   2.00 direct membrane    16 - 0.4123         1600      1.6e+04     0.0036")
    }
}

@Suite struct CostsTableTests {
    let header = "| Model | Input | T | Accuracy | Memory (MB) | Multiplies / sample | Additions / sample | Energy / sample (µJ, spiking-yolo-fp32) |\n|---|---|---:|---:|---:|---:|---:|---:|\n"

    @Test func annRowSNNRowAndPlaceholder() throws {
        let text = try CostsTable.render(rows: [CostsTable.Row(label: "ANN", path: "ann.json", result: .ann(Samples.ann())),
                                               CostsTable.Row(label: "SNN", path: "run.json", result: .run(Samples.run())),
                                               CostsTable.Row(label: "later", result: nil)],
                                        energyPreset: "spiking-yolo-fp32")
        #expect(text == header
                + "| ANN | image (ANN) | – | 95.00% (20) | 0.750 | 1.2e+04 | 1.2e+04 | 0.043 |\n"
                + "| SNN | direct | 8 | 75.00% (2) | 1.000 | 500 | 2500 | 0.004 |\n"
                + "| later | – | – | – | – | – | – | – |\n")
        let int32 = try CostsTable.render(rows: [CostsTable.Row(label: "SNN", result: .run(Samples.run()))], energyPreset: "spiking-yolo-int32")
        // (4000 · 0.1 + 1000 · 3.2) pJ / 2 = 1.8 nJ
        #expect(int32.hasSuffix("| SNN | direct | 8 | 75.00% (2) | 1.000 | 500 | 2500 | 0.002 |\n"))
        #expect(int32.hasPrefix("| Model | Input | T | Accuracy | Memory (MB) | Multiplies / sample | Additions / sample | Energy / sample (µJ, spiking-yolo-int32) |"))
    }

    @Test func incompleteRunsAndOtherKindsAreRefused() {
        #expect(throws: SpikeError("run.json: the run is incomplete (2 samples)")) {
            try CostsTable.render(rows: [CostsTable.Row(label: "SNN", path: "run.json", result: .run(Samples.run(complete: false)))],
                                  energyPreset: "spiking-yolo-fp32")
        }
        #expect(throws: SpikeError("s.json: neither an ANN result nor a simulation result (it is a sweep)")) {
            try CostsTable.render(rows: [CostsTable.Row(label: "S", path: "s.json", result: .sweep(Samples.sweep()))],
                                  energyPreset: "spiking-yolo-fp32")
        }
    }

    @Test func rowsParseLabelEqualsFile() throws {
        let dir = try Samples.tempDir("costs")
        let path = try Samples.write(Samples.ann(), "ann.json", in: dir)
        let row = try CostsTable.Row(parsing: "Model 1=\(path)")
        #expect(row.label == "Model 1" && row.path == path && row.result?.kind == .ann)
        let placeholder = try CostsTable.Row(parsing: "Model 2=-")
        #expect(placeholder.label == "Model 2" && placeholder.result == nil)
        #expect(throws: SpikeError("'Model 3': expected LABEL=FILE")) { try CostsTable.Row(parsing: "Model 3") }
    }
}

@Suite struct ScalingSummaryTests {
    @Test func speedupAndEfficiencyAreRelativeToTheFewestRanks() throws {
        let runs = [Samples.run(ranks: 4, secondsPerSample: 0.4), Samples.run(ranks: 1, secondsPerSample: 1.0),
                    Samples.run(ranks: 2, secondsPerSample: 0.5)]
        let csv = try #require(ScalingSummary.csv(paths: ["r4.json", "r1.json", "r2.json"], results: runs))
        let lines = csv.components(separatedBy: "\n")
        #expect(lines.count == 5 && lines.last == "")
        #expect(lines[0] == ScalingSummary.header)
        #expect(lines[0].hasPrefix("file,network,ranks,timesteps,samples,complete,wallSeconds,secondsPerSample,speedup,efficiency,"))
        let cols = lines.dropFirst().dropLast().map { $0.components(separatedBy: ",") }
        #expect(cols.map { $0[8] } == ["2.5000", "1.0000", "2.0000"])
        #expect(cols.map { $0[9] } == ["0.6250", "1.0000", "1.0000"])
        #expect(lines[3] == "r2.json,net,2,8,2,true,1.000000,0.500000,2.0000,1.0000,5000,600,0.892857,0.250000,0.010000,0.050000,0.100000,2000,20,1000001")
        #expect(ScalingSummary.csv(paths: [], results: []) == nil)
    }
}
