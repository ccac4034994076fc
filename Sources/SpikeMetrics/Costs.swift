import SpikeCore

/// Energy cost per operation, in picojoules (DESIGN.md section 6).
public struct EnergyPreset: Sendable, Codable, Equatable {
    public var name: String
    public var macPicojoules: Double
    public var acPicojoules: Double
    public var source: String

    public init(name: String, macPicojoules: Double, acPicojoules: Double, source: String) {
        self.name = name; self.macPicojoules = macPicojoules; self.acPicojoules = acPicojoules; self.source = source
    }

    public static let all: [EnergyPreset] = [
        EnergyPreset(name: "spiking-yolo-fp32", macPicojoules: 3.6, acPicojoules: 0.9, source: "Spiking-YOLO, 32-bit float"),
        EnergyPreset(name: "spiking-yolo-int32", macPicojoules: 3.2, acPicojoules: 0.1, source: "Spiking-YOLO, 32-bit integer"),
        EnergyPreset(name: "horowitz-45nm-fp32", macPicojoules: 4.6, acPicojoules: 0.9, source: "Horowitz ISSCC 2014 (SpikingJelly's default)"),
    ]
    public static let defaultName = "spiking-yolo-fp32"

    public static func named(_ n: String) throws -> EnergyPreset {
        guard let p = all.first(where: { $0.name == n }) else {
            throw SpikeError("unknown energy preset '\(n)'; known: \(all.map(\.name).joined(separator: ", "))")
        }
        return p
    }

    /// SNN energy in joules: synaptic operations (accumulates) at the AC cost plus analog
    /// multiply-accumulates (analog encoding layer) at the MAC cost.
    public func snnJoules(synapticOps: Double, analogMacs: Double) -> Double {
        (synapticOps * acPicojoules + analogMacs * macPicojoules) * 1e-12
    }

    /// ANN energy in joules: every multiply-accumulate at the MAC cost.
    public func annJoules(macs: Double) -> Double { macs * macPicojoules * 1e-12 }
}

/// Deng et al. 2020's cost measures: memory (eq. 8) and compute (eq. 9), 32-bit data and 1-bit spikes.
public enum CostModel {
    /// Bits of the weights, 32 each.
    public static func weightBits(_ network: Network) -> Int { network.parameterCount * 32 }
    /// Bits of one 32-bit value per neuron: the ANN's activations or the SNN's membrane potentials.
    public static func neuronStateBits(_ network: Network) -> Int { network.neuronCount * 32 }
}

/// The index of the largest value (the first one on ties), or nil for an empty vector: the
/// predicted class of a classifier's output, for the SNN and the ANN alike.
public func argmax(_ v: [Float]) -> Int? {
    v.indices.max(by: { v[$0] < v[$1] })
}

/// Energy per sample under one preset (DESIGN.md section 6).
public struct EnergyCost: Codable, Sendable {
    public var preset: String
    public var macPicojoules: Double
    public var acPicojoules: Double
    /// SNN energy per sample: synaptic ops × AC + analog MACs × MAC.
    public var snnJoules: Double
    /// ANN energy per sample: MACs × MAC.
    public var annJoules: Double

    /// Per-sample energy of an SNN run (`synapticOps` and `analogMacs` summed over `samples`) beside its
    /// ANN (`annMacs` per sample). An ANN alone has no synaptic operations.
    public init(_ e: EnergyPreset, synapticOps: Double = 0, analogMacs: Double = 0, samples: Double = 1, annMacs: Double) {
        preset = e.name; macPicojoules = e.macPicojoules; acPicojoules = e.acPicojoules
        snnJoules = e.snnJoules(synapticOps: synapticOps, analogMacs: analogMacs) / samples
        annJoules = e.annJoules(macs: annMacs)
    }
}

/// Memory cost, Deng et al. eq. 8: 32-bit weights, activations and membrane potentials, 1-bit spikes.
public struct MemoryCost: Codable, Sendable {
    /// Deng et al. eq. 8, 32-bit data and 1-bit spikes. Weights are replicated on every rank.
    public var weightBits: Int
    /// ANN: one 32-bit activation per neuron.
    public var activationBits: Int
    /// SNN: one 32-bit membrane potential per neuron, and a 32-bit net spike count per IF neuron with memory.
    public var membraneBits: Int
    /// SNN: spikes of the busiest timestep of any sample, one bit each.
    public var spikeBits: Int64
    public var annBits: Int
    public var snnBits: Int64

    public init(weightBits: Int, activationBits: Int, membraneBits: Int, spikeBits: Int64, annBits: Int, snnBits: Int64) {
        self.weightBits = weightBits; self.activationBits = activationBits; self.membraneBits = membraneBits
        self.spikeBits = spikeBits; self.annBits = annBits; self.snnBits = snnBits
    }

    /// An SNN run's memory beside its ANN's: `busiestStepSpikes` is the largest number of spikes in one timestep.
    public static func snn(_ network: Network, busiestStepSpikes: Int64) -> MemoryCost {
        let w = CostModel.weightBits(network), n = CostModel.neuronStateBits(network)
        let counts = network.layers.reduce(0) { $0 + ($1.neuron?.memory == true ? $1.shape.count * 32 : 0) }
        return MemoryCost(weightBits: w, activationBits: n, membraneBits: n + counts, spikeBits: busiestStepSpikes,
                          annBits: w + n, snnBits: Int64(w + n + counts) + busiestStepSpikes)
    }

    /// An ANN alone (no membranes, no spikes).
    public static func ann(_ network: Network) -> MemoryCost {
        let w = CostModel.weightBits(network), n = CostModel.neuronStateBits(network)
        return MemoryCost(weightBits: w, activationBits: n, membraneBits: 0, spikeBits: 0, annBits: w + n, snnBits: 0)
    }
}

/// Multiplies and additions per sample.
public struct OpsCost: Codable, Sendable {
    public var multiplies: Double
    public var additions: Double
    public init(multiplies: Double, additions: Double) { self.multiplies = multiplies; self.additions = additions }
    /// The ANN: one multiply and one addition per MAC (eq. 9).
    public static func ann(macs: Double) -> OpsCost { OpsCost(multiplies: macs, additions: macs) }
    /// The SNN: an addition per synaptic operation; analog input costs a multiply and an addition (eq. 9).
    /// `synapticOps` and `analogMacs` are totals over `samples`.
    public static func snn(synapticOps: Int64, analogMacs: Int64, samples: Double) -> OpsCost {
        OpsCost(multiplies: Double(analogMacs) / samples, additions: Double(synapticOps + analogMacs) / samples)
    }
}

/// Compute cost, Deng et al. eq. 9, per sample: the ANN multiplies and adds once per MAC; the SNN adds per
/// synaptic operation and multiplies only where it takes analog input.
public struct ComputeCost: Codable, Sendable {
    public var ann: OpsCost
    public var snn: OpsCost
    public init(ann: OpsCost, snn: OpsCost) { self.ann = ann; self.snn = snn }
}
