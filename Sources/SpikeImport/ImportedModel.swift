import SpikeCore

/// The result of importing a trained ANN: a `Network` in SpikeScale's layout (HWC, conv weights
/// `[kh][kw][in/groups][out]`, batch norm folded), its detection heads if any, and what the
/// importer changed or dropped, with the reason.
public struct ImportedModel: Sendable {
    public var network: Network
    public var heads: [YOLOHead]
    /// One line per replacement ("conv3: batch norm folded", "dropout7: removed (identity at inference)").
    public var notes: [String]
    /// The files it came from.
    public var source: String
    public init(network: Network, heads: [YOLOHead] = [], notes: [String] = [], source: String) {
        self.network = network; self.heads = heads; self.notes = notes; self.source = source
    }
}
