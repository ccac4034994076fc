import Foundation

/// Optimiser kind.
public enum OptimizerKind: String, Sendable, CaseIterable, Codable {
    /// SGD with momentum (PyTorch form: `b = μ·b + g`, `w −= lr·b`).
    case sgd
    /// Adam (β = 0.9, 0.999; ε = 1e-8; PyTorch form with bias correction).
    case adam
}

/// The optimiser with its state. Weight decay is L2 (`g += wd·w`) on convolution and dense weights
/// only. The learning rate of epoch `e` (0-based) of `E` is `lr·(1 + cos(π·e/E))/2` (cosine schedule,
/// stepped per epoch) or constant.
public final class Optimizer {
    public let kind: OptimizerKind
    public let momentum: Float
    public let weightDecay: Float
    public var state1: [[Float]]
    public var state2: [[Float]]
    public var steps: Int = 0

    public init(kind: OptimizerKind, params: [Param], momentum: Float, weightDecay: Float) {
        self.kind = kind; self.momentum = momentum; self.weightDecay = weightDecay
        state1 = params.map { [Float](repeating: 0, count: $0.value.count) }
        state2 = kind == .adam ? params.map { [Float](repeating: 0, count: $0.value.count) } : []
    }

    public static func learningRate(base: Float, epoch: Int, epochs: Int, cosine: Bool) -> Float {
        cosine ? base * Float(0.5 * (1 + cos(Double.pi * Double(epoch) / Double(max(1, epochs))))) : base
    }

    /// One step with the summed gradients `grads` (one per parameter, same order as at init).
    public func step(_ params: [Param], grads: [[Float]], lr: Float) {
        steps += 1
        let b1: Float = 0.9, b2: Float = 0.999, eps: Float = 1e-8
        let c1 = 1 - powf(b1, Float(steps)), c2 = 1 - powf(b2, Float(steps))
        for (k, p) in params.enumerated() {
            let wd = p.decays ? weightDecay : 0
            for i in 0..<p.value.count {
                var g = grads[k][i]
                if wd != 0 { g += wd * p.value[i] }
                switch kind {
                case .sgd:
                    state1[k][i] = momentum * state1[k][i] + g
                    p.value[i] -= lr * state1[k][i]
                case .adam:
                    state1[k][i] = b1 * state1[k][i] + (1 - b1) * g
                    state2[k][i] = b2 * state2[k][i] + (1 - b2) * g * g
                    let mh = state1[k][i] / c1, vh = state2[k][i] / c2
                    p.value[i] -= lr * mh / (vh.squareRoot() + eps)
                }
            }
        }
    }
}
