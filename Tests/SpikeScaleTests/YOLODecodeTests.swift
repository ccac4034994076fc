import Foundation
import Testing
import TestSupport
import SpikeANN
import SpikeCore
import SpikeData
import SpikeImport
import SpikeMetrics

// YOLODecode: a hand-made head with known logits, NMS, and the full pipeline (JPEG → letterbox →
// DenseForward → decode → NMS) against Debian's libdarknet (Benchmarks/reference/darknet_boxes.c).

@Suite struct YOLODecodeTests {

    /// One head, 2x2 grid, one anchor (16x32), 2 classes; only cell (row 1, col 0) is live with
    /// x = y = 0 logits (σ = 0.5), w = h = 0 logits (exp = 1), objectness ≈ 1, classes σ(0), σ(20).
    static func handHead() -> (YOLOHead, [Float], Shape) {
        let head = YOLOHead(layer: 1, anchors: [[16, 32]], mask: [0], classes: 2)
        let s = Shape(2, 2, 7)
        var t = [Float](repeating: -20, count: s.count)
        let e = (1 * 2 + 0) * 7
        t[e + 0] = 0; t[e + 1] = 0; t[e + 2] = 0; t[e + 3] = 0
        t[e + 4] = 20; t[e + 5] = 0; t[e + 6] = 20
        return (head, t, s)
    }

    @Test func decodeHandMadeCell() {
        let (head, t, s) = Self.handHead()
        // Image = network size: no letterbox. x = (0 + .5)/2, y = (1 + .5)/2, w = 16/64, h = 32/64.
        let d = YOLODecode.detections(heads: [head], outputs: [t], shapes: [s], inputWidth: 64, inputHeight: 64,
                                      imageWidth: 64, imageHeight: 64, threshold: 0.25, image: 3)
        #expect(d.count == 2)
        #expect(d.map(\.classID) == [0, 1])
        #expect(d.allSatisfy { $0.image == 3 })
        for x in d { #expect(x.box == Box(x: 16, y: 48, w: 16, h: 32)) }
        #expect(abs(d[0].score - 0.5) < 1e-6)
        #expect(abs(d[1].score - 1) < 1e-6)

        // A 128x64 image letterboxed into 64x64 fills rows 16..<48: y = (.75 - .25) / .5 = 1, h = .5 * 2.
        let l = YOLODecode.detections(heads: [head], outputs: [t], shapes: [s], inputWidth: 64, inputHeight: 64,
                                      imageWidth: 128, imageHeight: 64, threshold: 0.25, image: 0)
        #expect(l.count == 2)
        for x in l { #expect(x.box == Box(x: 32, y: 64, w: 32, h: 64)) }

        // Threshold above the class-0 probability: only class 1; above objectness: nothing.
        let hi = YOLODecode.detections(heads: [head], outputs: [t], shapes: [s], inputWidth: 64, inputHeight: 64,
                                       imageWidth: 64, imageHeight: 64, threshold: 0.6, image: 0)
        #expect(hi.map(\.classID) == [1])
        let none = YOLODecode.detections(heads: [head], outputs: [t], shapes: [s], inputWidth: 64, inputHeight: 64,
                                         imageWidth: 64, imageHeight: 64, threshold: 1, image: 0)
        #expect(none.isEmpty)
    }

    @Test func nmsPerClassAndImage() {
        let a = Box(x: 10, y: 10, w: 10, h: 10)
        let b = Box(x: 11, y: 10, w: 10, h: 10)      // IoU 9/11 with a
        let c = Box(x: 30, y: 30, w: 10, h: 10)      // no overlap
        let dets = [
            Detection(image: 0, classID: 0, box: b, score: 0.5),
            Detection(image: 0, classID: 0, box: a, score: 0.9),
            Detection(image: 0, classID: 0, box: c, score: 0.3),
            Detection(image: 0, classID: 1, box: b, score: 0.4),   // other class: kept
            Detection(image: 1, classID: 0, box: b, score: 0.2),   // other image: kept
        ]
        let kept = YOLODecode.nms(dets, iouThreshold: 0.45)
        #expect(kept.map(\.score) == [0.9, 0.3, 0.4, 0.2])
        // IoU 9/11 is not above 0.9: nothing suppressed.
        #expect(YOLODecode.nms(dets, iouThreshold: 0.9).count == 5)
    }

    /// Our pipeline against libdarknet on dog.jpg and the COCO8 val images: same detections per
    /// class, boxes within 1 pixel, probabilities within 0.01.
    @Test(.tags(.slow)) func matchesDarknet() throws {
        let dir = TestPaths.sharedData + "/yolo-fastest-1.1-coco"
        let cfg = dir + "/yolo-fastest-1.1.cfg", weights = dir + "/yolo-fastest-1.1.weights"
        let valDir = TestPaths.sharedData + "/coco8/images/val"
        let val = try FileManager.default.contentsOfDirectory(atPath: valDir).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(val.count == 4)
        let images = ["/usr/share/darknet/data/dog.jpg"] + val.map { valDir + "/" + $0 }
        let exe = try buildDarknetTool("darknet_boxes")

        let m = try DarknetImporter.load(cfg: cfg, weights: weights)
        let net = m.network
        let forward = try DenseForward(net)
        let threshold: Float = 0.25
        for (k, path) in images.enumerated() {
            let img = try JPEG.decode(path: path)
            let x = Letterbox.darknet(img, width: net.inputShape.width, height: net.inputShape.height)
            let outs = forward.predict(x)
            let headOuts = m.heads.map { h in outs[net.outputs.firstIndex(of: h.layer)!] }
            let raw = YOLODecode.detections(heads: m.heads, outputs: headOuts, shapes: m.heads.map { net.layers[$0.layer].shape },
                                            inputWidth: net.inputShape.width, inputHeight: net.inputShape.height,
                                            imageWidth: img.width, imageHeight: img.height, threshold: threshold, image: k)
            let ours = YOLODecode.nms(raw, iouThreshold: 0.45)

            let text = try Command.output([exe, cfg, weights, path, "\(threshold)"])
            let W = Float(img.width), H = Float(img.height)
            let ref: [Detection] = text.split(separator: "\n").map { line in
                let f = line.split(separator: " ").map { Float(String($0))! }
                return Detection(image: k, classID: Int(f[0]),
                                 box: Box(x: f[2] * W, y: f[3] * H, w: f[4] * W, h: f[5] * H), score: f[1])
            }
            func show(_ d: [Detection]) -> String {
                d.sorted { ($0.classID, -$0.score) < ($1.classID, -$1.score) }.map {
                    String(format: "  class %2d p %.4f  x %7.2f y %7.2f w %7.2f h %7.2f",
                           $0.classID, $0.score, $0.box.x, $0.box.y, $0.box.w, $0.box.h)
                }.joined(separator: "\n")
            }
            print("\((path as NSString).lastPathComponent) (\(img.width)x\(img.height))\n Darknet (\(ref.count)):\n\(show(ref))\n YOLODecode (\(ours.count)):\n\(show(ours))")

            #expect(ours.count == ref.count, "\(path): \(ours.count) detections, Darknet \(ref.count)")
            // Match each Darknet detection to the closest unused one of ours of the same class.
            var used = [Bool](repeating: false, count: ours.count)
            var maxBox: Float = 0, maxProb: Float = 0
            for r in ref {
                var best = -1, bestErr = Float.infinity
                for (i, o) in ours.enumerated() where !used[i] && o.classID == r.classID {
                    let err = max(abs(o.box.x - r.box.x), abs(o.box.y - r.box.y), abs(o.box.w - r.box.w), abs(o.box.h - r.box.h))
                    if err < bestErr { best = i; bestErr = err }
                }
                guard best >= 0 else {
                    Issue.record("\(path): Darknet detection class \(r.classID) p \(r.score) \(r.box) has no match")
                    continue
                }
                used[best] = true
                maxBox = max(maxBox, bestErr); maxProb = max(maxProb, abs(ours[best].score - r.score))
                #expect(bestErr <= 1, "\(path): class \(r.classID) box off by \(bestErr) px")
                #expect(abs(ours[best].score - r.score) <= 0.01, "\(path): class \(r.classID) p \(ours[best].score) vs \(r.score)")
            }
            print(" max box difference \(maxBox) px, max probability difference \(maxProb)")
        }
    }
}
