#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Image-to-spike rate coding (Deng et al. 2020, section 3.1): every timestep, input neuron `i` of
/// value `x > 0` spikes with probability `p(x)`, drawn from Philox keyed by
/// `(seed, sample, layer 0, neuron i, timestep t)` only, so the spikes do not depend on who computes
/// them, in what order, or on how many ranks. Values `x <= 0` never spike. Timesteps are numbered
/// 1...T, as in the engine.
///
/// The one encoder of the project: the engine's Bernoulli and Poisson inputs and SpikeData's
/// `PoissonEncoding` both draw through it.
public struct RateEncoder: Sendable {
    /// How a value becomes a spike probability per timestep.
    public enum Law: Sendable {
        /// `p = x`: the value is the probability itself (values >= 1 spike every step).
        case bernoulli
        /// `p = 1 − exp(−x)`: a Poisson process of rate `x` per step, sampled once per step (it fires
        /// iff at least one arrival falls into the step). Computed in Float.
        case poisson
    }

    public let law: Law
    public let rng: Philox

    public init(_ law: Law, seed: UInt64) {
        self.law = law
        rng = Philox(seed: seed)
    }

    /// The spike probability per timestep of a value `x > 0`.
    @inlinable @inline(__always)
    public func probability(_ x: Float) -> Float {
        law == .poisson ? 1 - expf(-x) : x
    }

    /// Whether input neuron `neuron` of value `x` spikes at `timestep` (1...T) of `sample`.
    @inlinable @inline(__always)
    public func fires(_ x: Float, sample: Int, neuron: Int, timestep: Int) -> Bool {
        x > 0 && rng.uniform(sample: sample, layer: 0, neuron: neuron, timestep: timestep) < probability(x)
    }

    /// The spike frames of `input` for timesteps 1...`timesteps` (element `k` is timestep `k + 1`):
    /// 1 where the neuron spikes, else 0, in the layout of `input`.
    public func frames(_ input: [Float], sample: Int, timesteps: Int) -> [[Float]] {
        (0..<max(0, timesteps)).map { k in
            input.indices.map { i in fires(input[i], sample: sample, neuron: i, timestep: k + 1) ? 1 : 0 }
        }
    }
}
