import SpikeAggregate
import SpikeCore
import SpikeData
import SpikeMetrics

/// Detection bookkeeping of a run on rank 0: decodes YOLO heads from decoded outputs (SNN) and raw
/// outputs (ANN), keeps each image's labels and detections, and scores them at the end.
public struct DetectionScoring {
    /// Darknet's `detector map` thresholds: boxes down to 0.005 are scored, NMS at IoU 0.45.
    static let scoreThreshold: Float = 0.005
    static let nmsThreshold: Float = 0.45
    /// The ANN's detections at this confidence or above are the fidelity reference.
    static let fidelityThreshold: Float = 0.25

    let network: Network
    /// For each head, its index in `network.outputs`.
    let outputSlot: [Int]
    var groundTruth: [GroundTruth] = []
    var snn: [Detection] = []
    var ann: [Detection] = []
    var checkpoints: [[Detection]]
    var images = 0
    var annImages = 0
    var absError: Double = 0
    var absCount = 0
    /// Head error at each checkpoint (samples simulated by this invocation).
    var checkpointAbsError: [Double]
    var checkpointAbsCount = 0

    public init?(network: Network, checkpoints: Int) {
        guard !network.heads.isEmpty else { return nil }
        var slots = [Int]()
        for h in network.heads {
            guard let k = network.outputs.firstIndex(of: h.layer) else { return nil }
            slots.append(k)
        }
        self.network = network; outputSlot = slots
        self.checkpoints = [[Detection]](repeating: [], count: checkpoints)
        checkpointAbsError = [Double](repeating: 0, count: checkpoints)
    }

    /// Detections (after NMS) of one image from the network's outputs (one array per output layer).
    func detect(_ outputs: [[Float]], image: Int, width: Int, height: Int) -> [Detection] {
        let s = network.inputShape
        let dets = YOLODecode.detections(heads: network.heads, outputs: outputSlot.map { outputs[$0] },
                                         shapes: network.heads.map { network.layers[$0.layer].shape },
                                         inputWidth: s.width, inputHeight: s.height, imageWidth: width, imageHeight: height,
                                         threshold: Self.scoreThreshold, image: image)
        return YOLODecode.nms(dets, iouThreshold: Self.nmsThreshold)
    }

    /// Adds one image; returns its SNN detections at T (and the ANN's, if given).
    public mutating func add(image: Int, sample: Sample, snnOutputs: [[Float]], checkpointOutputs: [[[Float]]],
                      annOutputs: [[Float]]?) -> (snn: [Detection], checkpoints: [[Detection]], ann: [Detection]?) {
        let w = sample.imageWidth ?? network.inputShape.width, h = sample.imageHeight ?? network.inputShape.height
        images += 1
        groundTruth += sample.boxes ?? []
        let d = detect(snnOutputs, image: image, width: w, height: h)
        snn += d
        var cps = [[Detection]]()
        for (c, o) in checkpointOutputs.enumerated() {
            let cd = detect(o, image: image, width: w, height: h)
            checkpoints[c] += cd
            cps.append(cd)
        }
        var a: [Detection]?
        if let annOutputs {
            let ad = detect(annOutputs, image: image, width: w, height: h)
            ann += ad; annImages += 1; a = ad
            for k in outputSlot {
                for (x, y) in zip(snnOutputs[k], annOutputs[k]) { absError += Double(abs(x - y)); absCount += 1 }
                for (c, o) in checkpointOutputs.enumerated() {
                    for (x, y) in zip(o[k], annOutputs[k]) { checkpointAbsError[c] += Double(abs(x - y)) }
                }
                if !checkpointOutputs.isEmpty { checkpointAbsCount += annOutputs[k].count }
            }
        }
        return (d, cps, a)
    }

    /// Adds an image finished by an earlier invocation (resume): its stored detections.
    mutating func addPrevious(sample: Sample, snn d: [Detection], checkpoints cps: [[Detection]]?, ann a: [Detection]?) {
        images += 1
        groundTruth += sample.boxes ?? []
        snn += d
        for (c, cd) in (cps ?? []).enumerated() where c < checkpoints.count { checkpoints[c] += cd }
        if let a { ann += a; annImages += 1 }
    }

    func map(_ dets: [Detection]) -> (Double, Double)? {
        guard !groundTruth.isEmpty else { return nil }
        let voc = MeanAveragePrecision.voc(detections: dets, groundTruth: groundTruth).map
        let coco = MeanAveragePrecision.coco(detections: dets, groundTruth: groundTruth).map50to95
        return (voc, coco)
    }

    public var checkpointMaps: [Double?] { checkpoints.map { map($0)?.0 } }
    /// Fidelity mAP@0.5 at each checkpoint (nil without the ANN reference).
    public var checkpointFidelity: [Double?] { checkpoints.map { annImages > 0 ? Self.fidelity(snn: $0, ann: ann) : nil } }
    /// Mean |SNN − ANN| of the head values at each checkpoint (nil without the ANN reference).
    public var checkpointHeadMAE: [Double?] { checkpointAbsError.map { checkpointAbsCount > 0 ? $0 / Double(checkpointAbsCount) : nil } }

    public func summary() -> RunResult.DetectionSummary {
        let m = map(snn)
        var s = RunResult.DetectionSummary(images: images, groundTruthBoxes: groundTruth.count, detections: snn.count,
                                           confidenceThreshold: Double(Self.scoreThreshold), nmsThreshold: Double(Self.nmsThreshold),
                                           map50: m?.0, map50to95: m?.1)
        if annImages > 0 {
            let am = map(ann)
            s.annDetections = ann.count; s.annMap50 = am?.0; s.annMap50to95 = am?.1
            s.fidelityMap50 = Self.fidelity(snn: snn, ann: ann)
            s.headMAE = absCount > 0 ? absError / Double(absCount) : nil
        }
        return s
    }

    /// mAP@0.5 of `snn` scored against the ANN's confident detections taken as ground truth.
    static func fidelity(snn: [Detection], ann: [Detection]) -> Double? {
        let reference = ann.filter { $0.score >= fidelityThreshold }.map { GroundTruth(image: $0.image, classID: $0.classID, box: $0.box) }
        guard !reference.isEmpty else { return nil }
        return MeanAveragePrecision.voc(detections: snn, groundTruth: reference).map
    }
}
