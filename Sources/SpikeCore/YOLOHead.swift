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
