import SpikeCore

/// A Darknet `[yolo]` detection head: which layer feeds it and how to decode it.
public struct YOLOHead: Sendable, Codable, Equatable {
    /// Index (in `Network.layers`) of the layer whose output is the head's raw tensor
    /// (HWC, `mask.count * (5 + classes)` channels).
    public var layer: Int
    /// All anchors of the network as (width, height) pairs in input pixels.
    public var anchors: [[Float]]
    /// Indices into `anchors` used by this head.
    public var mask: [Int]
    public var classes: Int
    public var scaleXY: Float
    public init(layer: Int, anchors: [[Float]], mask: [Int], classes: Int, scaleXY: Float = 1) {
        self.layer = layer; self.anchors = anchors; self.mask = mask; self.classes = classes; self.scaleXY = scaleXY
    }
}

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
