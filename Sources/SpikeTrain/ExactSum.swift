import Foundation
import SpikeEngine

/// Sums per-chunk vectors over every chunk of every rank exactly, so the result does not depend on
/// how the chunks are spread over ranks (DESIGN.md section 5: the weights after a step are
/// bit-identical for any rank count).
///
/// Each element is turned into a 64-bit fixed-point number with a per-element scale: the largest
/// binary exponent of that element over all chunks of all ranks (one `allreduceMax`) fixes the scale
/// so the sum of `chunks` terms cannot overflow; the fixed-point terms are summed as integers (exact,
/// so order-free) locally and over ranks (one `allreduceSum`), then converted back once. The result
/// is the exact sum rounded to 2^-58 of the largest term, then to Double. Collective: every rank
/// calls it with vectors of the same length, in the same sequence.
public struct ExactSum {
    public let transport: Transport?
    /// Chunks of the global batch (over every rank).
    public let totalChunks: Int

    public init(transport: Transport?, totalChunks: Int) {
        self.transport = transport; self.totalChunks = max(1, totalChunks)
    }

    /// Element-wise sum of `parts` (this rank's chunks, each of length `count`) over all chunks of all ranks.
    public func sum(_ parts: [[Double]], count: Int) throws -> [Double] {
        let floor: Int64 = -1100
        var exps = [Int64](repeating: floor, count: count)
        for p in parts {
            precondition(p.count == count, "ExactSum: chunk of length \(p.count), expected \(count)")
            for i in 0..<count where p[i] != 0 {
                guard p[i].isFinite else { throw TrainError.nonFinite }
                let e = Int64(p[i].exponent) + 1      // |x| < 2^e
                if e > exps[i] { exps[i] = e }
            }
        }
        if let t = transport, t.size > 1 { exps = try t.allreduceMax(exps) }
        var headroom = 0
        while (1 << headroom) < totalChunks { headroom += 1 }
        let top = 62 - headroom
        var acc = [Int64](repeating: 0, count: count)
        for p in parts {
            for i in 0..<count where p[i] != 0 {
                let shift = top - Int(exps[i])
                acc[i] &+= Int64((scalbn(p[i], shift)).rounded(.toNearestOrEven))
            }
        }
        if let t = transport, t.size > 1 { acc = try t.allreduceSum(acc) }
        var out = [Double](repeating: 0, count: count)
        for i in 0..<count where acc[i] != 0 {
            out[i] = scalbn(Double(acc[i]), Int(exps[i]) - top)
        }
        return out
    }
}

/// Training errors that are not about user input.
public enum TrainError: Error, CustomStringConvertible {
    case nonFinite
    public var description: String {
        switch self {
        case .nonFinite: "training diverged: a gradient or batch-norm statistic is not finite (lower the learning rate)"
        }
    }
}
