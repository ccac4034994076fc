import Foundation
import Testing
import TestSupport
import SpikeMetrics

/// Mean average precision (VOC all-point and COCO 101-point) on hand-made cases, and against pycocotools.
@Suite struct MAPTests {
    static func gt(_ image: Int, _ cls: Int, _ x: Float, _ y: Float, _ w: Float = 10, _ h: Float = 10) -> GroundTruth {
        GroundTruth(image: image, classID: cls, box: Box(x: x, y: y, w: w, h: h))
    }
    static func det(_ image: Int, _ cls: Int, _ x: Float, _ y: Float, _ score: Float,
                    _ w: Float = 10, _ h: Float = 10) -> Detection {
        Detection(image: image, classID: cls, box: Box(x: x, y: y, w: w, h: h), score: score)
    }

    @Test func boxIoU() {
        let a = Box(x: 0, y: 0, w: 2, h: 2)
        #expect(a.iou(a) == 1)
        #expect(a.iou(Box(x: 1, y: 0, w: 2, h: 2)) == 1.0 / 3.0)   // overlap 1x2 = 2, union 6
        #expect(a.iou(Box(x: 2, y: 0, w: 2, h: 2)) == 0)           // touching edges
        #expect(a.iou(Box(x: 0, y: 0, w: 1, h: 1)) == 0.25)
    }

    @Test func perfectDetectionsGiveOne() {
        let g = [Self.gt(0, 0, 10, 10), Self.gt(0, 1, 40, 40), Self.gt(1, 0, 20, 30), Self.gt(1, 0, 60, 30)]
        let d = g.enumerated().map { Detection(image: $1.image, classID: $1.classID, box: $1.box, score: Float(1 + $0) / 10) }
        let voc = MeanAveragePrecision.voc(detections: d, groundTruth: g)
        #expect(voc.map == 1)
        #expect(voc.perClass == [0: 1, 1: 1])
        let coco = MeanAveragePrecision.coco(detections: d, groundTruth: g)
        #expect(abs(coco.map50to95 - 1) < 1e-12)
        #expect(abs(coco.map50 - 1) < 1e-12)
    }

    @Test func noDetectionsGiveZero() {
        let g = [Self.gt(0, 0, 10, 10), Self.gt(1, 2, 40, 40)]
        let voc = MeanAveragePrecision.voc(detections: [], groundTruth: g)
        #expect(voc.map == 0)
        #expect(voc.perClass == [0: 0, 2: 0])
        let coco = MeanAveragePrecision.coco(detections: [], groundTruth: g)
        #expect(coco.map50to95 == 0 && coco.map50 == 0)
        // And no ground truth at all: nothing to average, 0.
        #expect(MeanAveragePrecision.voc(detections: [], groundTruth: []).map == 0)
    }

    @Test func falsePositiveRankedInTheMiddle() {
        // 2 GT, 3 detections ranked TP (0.9), FP (0.8), TP (0.7):
        //   precision 1, 1/2, 2/3; recall 1/2, 1/2, 1.
        //   Envelope over recall [0, 1/2, 1/2, 1, 1] of precision [0, 1, 1/2, 2/3, 0] -> [1, 1, 2/3, 2/3, 0].
        //   AP = (1/2 - 0) * 1 + (1 - 1/2) * 2/3 = 1/2 + 1/3 = 5/6.
        let g = [Self.gt(0, 0, 10, 10), Self.gt(0, 0, 50, 50)]
        let d = [Self.det(0, 0, 10, 10, 0.9), Self.det(0, 0, 90, 90, 0.8), Self.det(0, 0, 50, 50, 0.7)]
        let voc = MeanAveragePrecision.voc(detections: d, groundTruth: g)
        #expect(abs(voc.map - 5.0 / 6.0) < 1e-9)
        #expect(abs(voc.perClass[0]! - 5.0 / 6.0) < 1e-9)
        // COCO 101-point: recall thresholds 0..0.50 (51 points) take precision 1, 0.51..1.00 (50) take 2/3.
        let coco = MeanAveragePrecision.coco(detections: d, groundTruth: g)
        let expected = (51.0 + 50.0 * (2.0 / 3.0)) / 101.0
        #expect(abs(coco.map50 - expected) < 1e-9)
        #expect(abs(coco.map50to95 - expected) < 1e-9)   // every match is exact (IoU 1)
    }

    @Test func duplicatesOfOneBoxCountOnce() {
        // One GT, three detections of it: TP then two FPs. Precision 1, 1/2, 1/3 at recall 1, 1, 1 -> AP 1.
        let g = [Self.gt(0, 0, 10, 10)]
        let d = [Self.det(0, 0, 10, 10, 0.9), Self.det(0, 0, 10.5, 10, 0.8), Self.det(0, 0, 10, 10.5, 0.7)]
        #expect(MeanAveragePrecision.voc(detections: d, groundTruth: g).map == 1)
        // With a second GT never found, the duplicates do not reach it: recall 1/2, AP = 1/2.
        let g2 = g + [Self.gt(0, 0, 100, 100)]
        #expect(MeanAveragePrecision.voc(detections: d, groundTruth: g2).map == 0.5)
        // Duplicate ranked first and the better box second: still one TP (the first), one FP.
        let d2 = [Self.det(0, 0, 11, 10, 0.9), Self.det(0, 0, 10, 10, 0.8)]
        let r = MeanAveragePrecision.voc(detections: d2, groundTruth: g)
        #expect(r.map == 1)   // TP at rank 1 already gives recall 1 with precision 1
    }

    @Test func iouJustBelowAndAboveThreshold() {
        // 10x10 GT; a detection of width 10, height h, same centre: IoU = h / 10.
        let g = [Self.gt(0, 0, 0, 0)]
        let above = [Self.det(0, 0, 0, 0, 0.9, 10, 5.01)]   // IoU 0.501
        let below = [Self.det(0, 0, 0, 0, 0.9, 10, 4.99)]   // IoU 0.499
        #expect(MeanAveragePrecision.voc(detections: above, groundTruth: g).map == 1)
        #expect(MeanAveragePrecision.voc(detections: below, groundTruth: g).map == 0)
        #expect(MeanAveragePrecision.voc(detections: above, groundTruth: g, iouThreshold: 0.6).map == 0)
        // COCO's precision is tp / (tp + fp + 2.2e-16), so a perfect AP is 1 - 2.2e-16, as in pycocotools.
        #expect(abs(MeanAveragePrecision.coco(detections: above, groundTruth: g).map50 - 1) < 1e-12)
        #expect(MeanAveragePrecision.coco(detections: below, groundTruth: g).map50 == 0)
        // Exactly at the threshold counts (IoU >= t): height 5 -> IoU 0.5 exactly.
        let at = [Self.det(0, 0, 0, 0, 0.9, 10, 5)]
        #expect(MeanAveragePrecision.voc(detections: at, groundTruth: g).map == 1)
        // The wrong image or class never matches.
        #expect(MeanAveragePrecision.voc(detections: [Self.det(1, 0, 0, 0, 0.9)], groundTruth: g).map == 0)
        #expect(MeanAveragePrecision.voc(detections: [Self.det(0, 1, 0, 0, 0.9)], groundTruth: g).map == 0)
    }

    @Test func twoClassesAveraged() {
        // Class 0: perfect (AP 1). Class 1: 2 GT, one found at rank 2 after an FP:
        //   precision 0, 1/2; recall 0, 1/2; envelope 1/2 up to recall 1/2 -> AP = 1/4.
        // Class 7 has detections but no ground truth: ignored.
        let g = [Self.gt(0, 0, 10, 10), Self.gt(0, 1, 50, 50), Self.gt(1, 1, 50, 50)]
        let d = [Self.det(0, 0, 10, 10, 0.5),
                 Self.det(0, 1, 90, 90, 0.9), Self.det(1, 1, 50, 50, 0.8),
                 Self.det(0, 7, 10, 10, 0.99)]
        let voc = MeanAveragePrecision.voc(detections: d, groundTruth: g)
        #expect(voc.perClass.count == 2)
        #expect(voc.perClass[0] == 1)
        #expect(abs(voc.perClass[1]! - 0.25) < 1e-12)
        #expect(abs(voc.map - 0.625) < 1e-12)
    }

    @Test func tiesKeepInputOrder() {
        // Equal scores: the FP listed first ranks first -> precision 0, 1/2 -> AP 1/2; listed second -> AP 1.
        let g = [Self.gt(0, 0, 10, 10)]
        let tp = Self.det(0, 0, 10, 10, 0.5), fp = Self.det(0, 0, 90, 90, 0.5)
        #expect(MeanAveragePrecision.voc(detections: [fp, tp], groundTruth: g).map == 0.5)
        #expect(MeanAveragePrecision.voc(detections: [tp, fp], groundTruth: g).map == 1)
    }

    @Test func cocoIoU072PassesFiveThresholds() {
        // Every detection has the GT's centre and height, width 0.72 of it: IoU = 0.72 for all matches.
        // Thresholds 0.50, 0.55, 0.60, 0.65, 0.70 pass (AP 1 each, perfect ranking); 0.75..0.95 fail (0).
        let g = [Self.gt(0, 0, 10, 10, 100, 100), Self.gt(0, 1, 300, 300, 50, 80), Self.gt(1, 1, 30, 30, 20, 20)]
        let d = g.map { Detection(image: $0.image, classID: $0.classID,
                                  box: Box(x: $0.box.x, y: $0.box.y, w: $0.box.w * 0.72, h: $0.box.h), score: 0.9) }
        for (a, b) in zip(d, g) { #expect(abs(a.box.iou(b.box) - 0.72) < 1e-6) }
        let coco = MeanAveragePrecision.coco(detections: d, groundTruth: g)
        #expect(abs(coco.map50to95 - 5.0 / 10.0) < 1e-12)
        #expect(abs(coco.map50 - 1) < 1e-12)
    }

    @Test func cocoKeepsBest100PerImageAndClass() {
        // 150 detections on one image: 100 FPs outrank the only TP -> the TP is cut, AP 0.
        let g = [Self.gt(0, 0, 10, 10)]
        var d = (0..<100).map { Self.det(0, 0, 500 + Float($0) * 20, 500, 0.9) }
        d.append(Self.det(0, 0, 10, 10, 0.5))
        #expect(MeanAveragePrecision.coco(detections: d, groundTruth: g).map50 == 0)
        // 99 FPs: the TP is the 100th, kept. Precision 1/100 at recall 1 -> all 101 points 0.01.
        d.remove(at: 0)
        #expect(abs(MeanAveragePrecision.coco(detections: d, groundTruth: g).map50 - 0.01) < 1e-12)
    }

    /// pycocotools' COCOeval on COCO8's labels and perturbed detections (see Reference/coco_map_reference.py).
    @Test func cocoMatchesPycocotoolsOnCOCO8() throws {
        struct Reference: Decodable {
            struct Numbers: Decodable { var map50to95: Double; var map50: Double }
            var pycocotools: Numbers
            var groundTruth: [GroundTruth]
            var detections: [Detection]
        }
        let url = TestPaths.packageRoot.appendingPathComponent("Tests/SpikeScaleTests/Reference/coco8_map_reference.json")
        let ref = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
        #expect(ref.groundTruth.count > 20 && ref.detections.count > 20)
        let ours = MeanAveragePrecision.coco(detections: ref.detections, groundTruth: ref.groundTruth)
        print("COCO8 reference: ours mAP@[.5:.95] \(ours.map50to95) mAP@.5 \(ours.map50); pycocotools",
              ref.pycocotools.map50to95, ref.pycocotools.map50)
        #expect(abs(ours.map50to95 - ref.pycocotools.map50to95) < 1e-4,
                "ours \(ours.map50to95) vs pycocotools \(ref.pycocotools.map50to95)")
        #expect(abs(ours.map50 - ref.pycocotools.map50) < 1e-4,
                "ours \(ours.map50) vs pycocotools \(ref.pycocotools.map50)")
    }
}
