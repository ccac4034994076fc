import ArgumentParser
import Foundation
import SpikeAggregate
import SpikeConvert
import SpikeCore
import SpikeOptions
import SpikeReport

/// The parameter file `fit-fs` writes.
struct FewSpikeFitFile: Codable {
    var tool = "spikescale"
    var kind = "fs-fit"
    var version = 1
    var activation: String
    var range: [Float]
    var K: Int
    var seed: UInt64
    var restarts: Int
    var code: FewSpikeCode
    var quality: FewSpikeFitQuality
}

struct FitFS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-fs",
        abstract: "Fit a few-spike (FS / AMOS) neuron's per-sub-step threshold, reset and output to an activation.",
        discussion: """
        ReLU uses the closed form T = h = d = α·2^−t (α = hi); leaky-ReLU and linear on a range below zero the \
        sign-magnitude binary code (one signed neuron: the closed form on |x|, negative inputs passing on \
        −slope·d(t)) unless --signed fit. The others are fitted by gradient descent with a surrogate gradient \
        from seeded restarts; the same command gives the same file; their signed parts are coded by one neuron \
        with signed parameters. Writes the parameter file (JSON), prints the mean squared error and spikes per \
        input over the range, and plots the fitted function against the activation as an SVG.
        """)
    @Option(help: "relu, leaky:A, silu, sigmoid, hardswish or linear.") var activation: String
    @Option(name: .customShort("K"), help: "Sub-steps K.") var steps = 10
    @Option(help: "Input range lo,hi.") var range = "-8,8"
    @Option(help: "leaky:A and linear on a range below zero: binary (sign-magnitude binary, closed form) or fit.") var signed: FewSpikeSigned = .binary
    @Option(help: "Seed of the restarts.") var seed: UInt64 = 1
    @Option(help: "Random restarts.") var restarts = 8
    @Option(help: "Parameter file (JSON).") var out = "fs-fit.json"
    @Option(help: "SVG of the fitted function against the activation.") var svg: String?

    func validate() throws {
        guard FewSpikeCode.stepRange.contains(steps) else { throw ValidationError("-K must be between 1 and \(FewSpikeCode.stepRange.upperBound), got \(steps)") }
        guard restarts >= 1 else { throw ValidationError("--restarts must be at least 1, got \(restarts)") }
        _ = try bounds()
    }

    func bounds() throws -> (Float, Float) {
        let p = range.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard p.count == 2, let lo = p[0], let hi = p[1], lo.isFinite, hi.isFinite, lo < hi else {
            throw ValidationError("--range must be lo,hi with lo < hi, got '\(range)'")
        }
        return (lo, hi)
    }

    func run() throws {
        let f: FewSpikeActivation
        do { f = try FewSpikeActivation(parsing: activation) } catch let e as SpikeError { throw ValidationError(e.message) }
        let (lo, hi) = try bounds()
        if f == .relu, lo < 0 { print("note: ReLU's closed form codes [0, hi]; inputs below 0 give 0 as ReLU does") }
        var fitter = FewSpikeFitter(steps: steps)
        fitter.seed = seed; fitter.restarts = restarts; fitter.signed = signed
        let code = fitter.fit(f, lo: lo, hi: hi)
        let q = FewSpikeFitQuality(code: code, activation: f, lo: lo, hi: hi)
        let file = FewSpikeFitFile(activation: f.description, range: [lo, hi], K: steps, seed: seed, restarts: restarts, code: code, quality: q)
        try ResultFiles.writeJSON(file, to: out)
        print(String(format: "%@ on [%g, %g], K = %d: MSE %.3g, %.3f spikes per input; parameters written to %@",
                     f.description, lo, hi, steps, q.mse, q.spikesPerInput, out))
        if let svg {
            try ResultFiles.atomicWrite(Data(Self.chart(code, f, lo: lo, hi: hi, mse: q.mse).utf8), to: svg)
            print("plot written to \(svg)")
        }
    }

    /// The activation and the fitted FS function over the range.
    static func chart(_ code: FewSpikeCode, _ f: FewSpikeActivation, lo: Float, hi: Float, mse: Double) -> String {
        let xs = (0...400).map { Double(lo) + Double(hi - lo) * Double($0) / 400 }
        let truth = Series(f.description, xy: xs.map { ($0, f.apply($0)) }, dashed: true, markers: false)
        let fitted = Series("FS, K = \(code.steps)", xy: xs.map { ($0, Double(code.apply(Float($0)).value)) }, markers: false)
        let title = "FS fit of \(f.description), K = \(code.steps) (MSE \(String(format: "%.2g", mse)))"
        return Chart.line([truth, fitted], options: ChartOptions(title: title, x: Axis("input x"), y: Axis("output")))
    }
}
