// Object-detection metrics: PASCAL VOC (all-point) and COCO (101-point, IoU 0.50:0.95) mean average precision.

/// An axis-aligned box given by its centre, width and height, in any unit used consistently by the
/// detections and the ground truth compared (pixels, or coordinates normalised to the image size).
public struct Box: Sendable, Codable, Equatable {
    public var x: Float
    public var y: Float
    public var w: Float
    public var h: Float

    public init(x: Float, y: Float, w: Float, h: Float) {
        self.x = x; self.y = y; self.w = w; self.h = h
    }

    /// Intersection over union with `other`, computed in `Double`.
    ///
    /// The arithmetic is that of pycocotools' `bbIou` (maskApi.c) applied to the top-left form
    /// `[x - w/2, y - h/2, w, h]`: right edge `left + w`, areas `w * h`, union `a + b - inter`;
    /// a box that does not overlap (or touches only along an edge) gives 0. Degenerate boxes
    /// (zero area on both sides) give 0 rather than NaN.
    public func iou(_ other: Box) -> Double {
        let (ax, ay, aw, ah) = topLeft
        let (bx, by, bw, bh) = other.topLeft
        let iw = min(ax + aw, bx + bw) - max(ax, bx)
        if !(iw > 0) { return 0 }
        let ih = min(ay + ah, by + bh) - max(ay, by)
        if !(ih > 0) { return 0 }
        let inter = iw * ih
        let union = aw * ah + bw * bh - inter
        return union > 0 ? inter / union : 0
    }

    /// `[left, top, width, height]` in `Double`, as pycocotools stores a box.
    var topLeft: (Double, Double, Double, Double) {
        let w = Double(self.w), h = Double(self.h)
        return (Double(x) - w / 2, Double(y) - h / 2, w, h)
    }
}

/// One detector output: a scored box of class `classID` on image `image`.
public struct Detection: Sendable, Codable {
    public var image: Int
    public var classID: Int
    public var box: Box
    public var score: Float

    public init(image: Int, classID: Int, box: Box, score: Float) {
        self.image = image; self.classID = classID; self.box = box; self.score = score
    }
}

/// One annotated object of class `classID` on image `image`.
public struct GroundTruth: Sendable, Codable {
    public var image: Int
    public var classID: Int
    public var box: Box

    public init(image: Int, classID: Int, box: Box) {
        self.image = image; self.classID = classID; self.box = box
    }
}

/// Mean average precision over classes.
///
/// Both variants average only over classes that have at least one ground-truth box: a class that
/// appears only among the detections (no ground truth anywhere) is ignored, as in the VOC devkit
/// (which evaluates a fixed class list) and in pycocotools (whose precision stays -1 and is
/// excluded from the mean). If no class has ground truth the mAP is 0.
public enum MeanAveragePrecision {

    // MARK: VOC

    /// PASCAL VOC mean average precision at one IoU threshold, all-point interpolated (VOC 2010+).
    ///
    /// Per class: the detections are sorted by score, highest first (equal scores keep their input
    /// order); each in turn is matched to the still-unmatched ground-truth box of the same image
    /// and class with the highest IoU, if that IoU is `>= iouThreshold` (a true positive), else it
    /// is a false positive. This means a detection whose best-overlapping box is already taken may
    /// still match another box above the threshold (the VOC devkit would count it as a false
    /// positive); duplicates of one box count once. AP is the area under the precision envelope
    /// (`p(r) = max_{r' >= r} p(r')`) as a step function of recall.
    ///
    /// - Returns: `map`, the mean of `perClass`, which holds the AP of every class with ground truth.
    public static func voc(detections: [Detection], groundTruth: [GroundTruth],
                           iouThreshold: Float = 0.5) -> (map: Double, perClass: [Int: Double]) {
        let threshold = Double(iouThreshold)
        let gtByClass = Dictionary(grouping: groundTruth, by: \.classID)
        let detByClass = Dictionary(grouping: detections.indices, by: { detections[$0].classID })
        var perClass: [Int: Double] = [:]
        for (cls, gts) in gtByClass {
            // Ground truth of this class, per image: boxes and their matched flags.
            var gtBoxes: [Int: [Box]] = [:]
            for g in gts { gtBoxes[g.image, default: []].append(g.box) }
            var matched = gtBoxes.mapValues { [Bool](repeating: false, count: $0.count) }
            let order = stableSortedByScore(detByClass[cls] ?? [], detections)
            var isTP = [Bool]()
            isTP.reserveCapacity(order.count)
            for di in order {
                let d = detections[di]
                var best = -1, bestIoU = threshold
                if let boxes = gtBoxes[d.image] {
                    for (gi, gb) in boxes.enumerated() where !matched[d.image]![gi] {
                        let o = d.box.iou(gb)
                        if o >= bestIoU && (best < 0 || o > bestIoU) { best = gi; bestIoU = o }
                    }
                }
                if best >= 0 { matched[d.image]![best] = true }
                isTP.append(best >= 0)
            }
            perClass[cls] = allPointAP(isTP: isTP, positives: gts.count)
        }
        let map = perClass.isEmpty ? 0 : perClass.keys.sorted().reduce(0.0) { $0 + perClass[$1]! } / Double(perClass.count)
        return (map, perClass)
    }

    /// All-point interpolated AP of a ranked list of hits against `positives` ground-truth boxes.
    static func allPointAP(isTP: [Bool], positives: Int) -> Double {
        guard positives > 0 else { return 0 }
        var mrec: [Double] = [0], mpre: [Double] = [0]
        var tp = 0.0, fp = 0.0
        for hit in isTP {
            if hit { tp += 1 } else { fp += 1 }
            mrec.append(tp / Double(positives))
            mpre.append(tp / (tp + fp))
        }
        mrec.append(1); mpre.append(0)
        for i in stride(from: mpre.count - 2, through: 0, by: -1) { mpre[i] = max(mpre[i], mpre[i + 1]) }
        var ap = 0.0
        for i in 0..<(mrec.count - 1) where mrec[i + 1] != mrec[i] {
            ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1]
        }
        return ap
    }

    // MARK: COCO

    /// COCO-style detection AP, following pycocotools' `COCOeval` (iouType "bbox") with area range
    /// "all" and `maxDets = 100`, no crowd boxes.
    ///
    /// What follows pycocotools exactly:
    /// - IoU thresholds `linspace(0.5, 0.95, 10)` and recall thresholds `linspace(0, 1, 101)`,
    ///   built with numpy's arithmetic (`i * step + start`, last = stop).
    /// - `evaluateImg`: per image and class, detections sorted by score (stable) and cut to the best
    ///   100 (pycocotools applies `maxDets` per image *and class*, not per image); at each threshold
    ///   every detection in turn takes the unmatched ground-truth box with the highest IoU `>= t`
    ///   (the later box on an exact tie, as pycocotools' `<` test does).
    /// - `accumulate`: per class, images in ascending id, their kept detections concatenated and
    ///   stably sorted by score; precision `tp / (tp + fp + eps)` with `eps = 2.22e-16`, recall
    ///   `tp / nGT`, the precision envelope, then for each recall threshold `r` the envelope at
    ///   `searchsorted(recall, r, side: left)` (0 beyond the last recall reached).
    /// - `summarize`: the mean over thresholds, recall points and classes with ground truth.
    ///
    /// - Returns: `map50to95` (COCO "AP"), and `map50` (COCO "AP50", the same computation at IoU 0.5
    ///   only, i.e. 101-point rather than VOC's all-point interpolation).
    public static func coco(detections: [Detection], groundTruth: [GroundTruth]) -> (map50to95: Double, map50: Double) {
        let thresholds = linspace(0.5, 0.95, 10)
        let recallThresholds = linspace(0, 1, 101)
        let maxDets = 100
        let gtByClass = Dictionary(grouping: groundTruth, by: \.classID)
        let detByClass = Dictionary(grouping: detections.indices, by: { detections[$0].classID })
        var apPerThreshold = [[Double]](repeating: [], count: thresholds.count) // [t][class]
        for cls in gtByClass.keys.sorted() {
            let gts = gtByClass[cls]!
            var gtBoxes: [Int: [Box]] = [:]
            for g in gts { gtBoxes[g.image, default: []].append(g.box) }
            var detsByImage: [Int: [Int]] = [:]
            for di in detByClass[cls] ?? [] { detsByImage[detections[di].image, default: []].append(di) }
            // evaluateImg, per image in ascending id: matched flags per threshold.
            var scores: [Float] = []
            var matches = [[Bool]](repeating: [], count: thresholds.count)
            for image in Set(gtBoxes.keys).union(detsByImage.keys).sorted() {
                let dets = stableSortedByScore(detsByImage[image] ?? [], detections).prefix(maxDets)
                let boxes = gtBoxes[image] ?? []
                let ious = dets.map { di in boxes.map { detections[di].box.iou($0) } }
                for (t, thr) in thresholds.enumerated() {
                    var taken = [Bool](repeating: false, count: boxes.count)
                    for row in ious {
                        var iou = min(thr, 1 - 1e-10), m = -1
                        for g in boxes.indices where !taken[g] {
                            if row[g] < iou { continue }
                            iou = row[g]; m = g
                        }
                        if m >= 0 { taken[m] = true }
                        matches[t].append(m >= 0)
                    }
                }
                scores.append(contentsOf: dets.map { detections[$0].score })
            }
            // accumulate.
            let order = stableSortedByScore(scores)
            let positives = Double(gts.count)
            for t in thresholds.indices {
                var tp = 0.0, fp = 0.0
                var rc = [Double](), pr = [Double]()
                rc.reserveCapacity(order.count); pr.reserveCapacity(order.count)
                for i in order {
                    if matches[t][i] { tp += 1 } else { fp += 1 }
                    rc.append(tp / positives)
                    pr.append(tp / (fp + tp + Double.ulpOfOne))
                }
                if pr.count > 1 {
                    for i in stride(from: pr.count - 1, to: 0, by: -1) where pr[i] > pr[i - 1] { pr[i - 1] = pr[i] }
                }
                var sum = 0.0
                for r in recallThresholds {
                    let k = searchSortedLeft(rc, r)
                    if k < pr.count { sum += pr[k] }
                }
                apPerThreshold[t].append(sum / Double(recallThresholds.count))
            }
        }
        let classes = apPerThreshold[0].count
        guard classes > 0 else { return (0, 0) }
        let map50 = apPerThreshold[0].reduce(0, +) / Double(classes)
        let map = apPerThreshold.map { $0.reduce(0, +) / Double(classes) }.reduce(0, +) / Double(thresholds.count)
        return (map, map50)
    }

    // MARK: Helpers

    /// numpy's `linspace(start, stop, num)`: `i * ((stop - start) / (num - 1)) + start`, last = stop.
    static func linspace(_ start: Double, _ stop: Double, _ num: Int) -> [Double] {
        let step = (stop - start) / Double(num - 1)
        var y = (0..<num).map { Double($0) * step + start }
        y[num - 1] = stop
        return y
    }

    /// First index `i` with `a[i] >= v` in the ascending array `a` (numpy `searchsorted`, side left).
    static func searchSortedLeft(_ a: [Double], _ v: Double) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if a[mid] < v { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// `indices` ordered by descending detection score, equal scores keeping their order in `indices`.
    static func stableSortedByScore(_ indices: [Int], _ detections: [Detection]) -> [Int] {
        stableSortedByScore(indices.map { detections[$0].score }).map { indices[$0] }
    }

    /// Positions of `scores`, by descending score, ties in position order (numpy mergesort of -score).
    static func stableSortedByScore(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { a, b in
            scores[a] != scores[b] ? scores[a] > scores[b] : a < b
        }
    }
}
