/// Philox4x32-10 (Salmon et al., SC'11): a counter-based generator. The same key and counter give
/// the same numbers on every rank and in any call order, which is what keeps stochastic encoders
/// independent of the number of ranks (DESIGN.md section 5, rule 1).
public struct Philox: Sendable {
    public let key0: UInt32, key1: UInt32

    /// A generator for a run seed.
    public init(seed: UInt64) {
        key0 = UInt32(truncatingIfNeeded: seed); key1 = UInt32(truncatingIfNeeded: seed >> 32)
    }

    @inline(__always)
    static func mulhilo(_ a: UInt32, _ b: UInt32) -> (hi: UInt32, lo: UInt32) {
        let p = UInt64(a) &* UInt64(b)
        return (UInt32(truncatingIfNeeded: p >> 32), UInt32(truncatingIfNeeded: p))
    }

    /// The 128-bit block for counter `(c0, c1, c2, c3)`.
    @inline(__always)
    public func block(_ c0: UInt32, _ c1: UInt32, _ c2: UInt32, _ c3: UInt32) -> (UInt32, UInt32, UInt32, UInt32) {
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var k0 = key0, k1 = key1
        for _ in 0..<10 {
            let (h0, l0) = Philox.mulhilo(0xD251_1F53, x0)
            let (h1, l1) = Philox.mulhilo(0xCD9E_8D57, x2)
            x0 = h1 ^ x1 ^ k0; x1 = l1; x2 = h0 ^ x3 ^ k1; x3 = l0
            k0 &+= 0x9E37_79B9; k1 &+= 0xBB67_AE85
        }
        return (x0, x1, x2, x3)
    }

    /// A uniform number in [0, 1) for `(sample, layer, neuron, timestep)`, 24 bits of resolution.
    @inline(__always)
    public func uniform(sample: Int, layer: Int, neuron: Int, timestep: Int) -> Float {
        let b = block(UInt32(truncatingIfNeeded: neuron), UInt32(truncatingIfNeeded: timestep),
                      UInt32(truncatingIfNeeded: layer), UInt32(truncatingIfNeeded: sample))
        return Float(b.0 >> 8) * (1.0 / 16_777_216.0)
    }

    /// A uniform number in [0, 1) for an arbitrary 4-word counter (weight initialisation and the like).
    @inline(__always)
    public func uniform(_ c0: Int, _ c1: Int, _ c2: Int = 0, _ c3: Int = 0) -> Float {
        let b = block(UInt32(truncatingIfNeeded: c0), UInt32(truncatingIfNeeded: c1),
                      UInt32(truncatingIfNeeded: c2), UInt32(truncatingIfNeeded: c3))
        return Float(b.0 >> 8) * (1.0 / 16_777_216.0)
    }
}
