// Decoding of Darknet [yolo] heads into detections, reproducing pjreddie Darknet as packaged by
// Debian (libdarknet 0.0.0+git20180914.61c9d02e): forward_yolo_layer, get_yolo_detections,
// get_yolo_box, correct_yolo_boxes and do_nms_sort (src/yolo_layer.c, src/box.c).

import Foundation
import SpikeCore

public enum YOLODecode {

    /// Detections of one image from the raw tensors of its [yolo] heads.
    ///
    /// - `outputs[i]` is the raw (pre-activation) HWC tensor of `heads[i]`, of shape `shapes[i]`,
    ///   with `mask.count * (5 + classes)` channels; channel `a * (5 + classes) + k` is entry `k`
    ///   (x, y, w, h, objectness, class scores) of anchor `mask[a]`, Darknet's plane order.
    /// - `inputWidth`/`inputHeight` are the network input size (Darknet's `net->w`, `net->h`),
    ///   `imageWidth`/`imageHeight` the original image size before `Letterbox.darknet`.
    ///
    /// As Darknet: logistic on x, y, objectness and class scores (`1 / (1 + exp(-x))` in double,
    /// stored as float); a (cell, anchor) is kept if objectness `> threshold`; its box is
    /// `x = (col + σx) / lw`, `y = (row + σy) / lh`, `w = exp(tw) * anchorW / inputWidth`,
    /// `h = exp(th) * anchorH / inputHeight`; class probability `objectness * σclass`, kept where
    /// `> threshold`. `correct_yolo_boxes` then undoes the letterbox (same integer arithmetic as
    /// `letterbox_image`), giving coordinates relative to the image.
    ///
    /// `scale_x_y` (`YOLOHead.scaleXY`) is ignored: Debian's libdarknet (pjreddie, 2018) does not
    /// know the key (its parser reports it as an unused field) and decodes x, y as plain logistic.
    ///
    /// Returned boxes are centre boxes in image pixels: Darknet's relative box (float) multiplied by
    /// `imageWidth` (x, w) and `imageHeight` (y, h), as Darknet's own `relative = 0` path does.
    /// One `Detection` per (box, class) with probability `> threshold`, in Darknet's order (heads in
    /// order, cells row-major, anchors in mask order, then classes ascending). No NMS: see `nms`.
    public static func detections(heads: [YOLOHead], outputs: [[Float]], shapes: [Shape],
                                  inputWidth: Int, inputHeight: Int, imageWidth: Int, imageHeight: Int,
                                  threshold: Float, image: Int) -> [Detection] {
        precondition(heads.count == outputs.count && heads.count == shapes.count,
                     "YOLODecode.detections: \(heads.count) heads, \(outputs.count) outputs, \(shapes.count) shapes")
        precondition(inputWidth > 0 && inputHeight > 0 && imageWidth > 0 && imageHeight > 0,
                     "YOLODecode.detections: sizes must be positive")
        var dets: [Detection] = []
        for (hi, head) in heads.enumerated() {
            let s = shapes[hi], out = outputs[hi]
            let entries = 5 + head.classes
            precondition(s.channels == head.mask.count * entries,
                         "YOLODecode.detections: head \(hi) has \(s.channels) channels, expected \(head.mask.count * entries)")
            precondition(out.count == s.count, "YOLODecode.detections: head \(hi) tensor has \(out.count) values, shape \(s)")
            var boxes: [(box: Box, probs: [(Int, Float)])] = []
            for i in 0..<(s.width * s.height) {
                let row = i / s.width, col = i % s.width
                let base = i * s.channels
                for (n, anchorIndex) in head.mask.enumerated() {
                    let e = base + n * entries
                    let objectness = logistic(out[e + 4])
                    if objectness <= threshold { continue }
                    // get_yolo_box: (i + x) / lw in float; exp(.) * bias / w in double, stored as float.
                    let bx = (Float(col) + logistic(out[e])) / Float(s.width)
                    let by = (Float(row) + logistic(out[e + 1])) / Float(s.height)
                    let anchor = head.anchors[anchorIndex]
                    let bw = Float(Foundation.exp(Double(out[e + 2])) * Double(anchor[0]) / Double(inputWidth))
                    let bh = Float(Foundation.exp(Double(out[e + 3])) * Double(anchor[1]) / Double(inputHeight))
                    var probs: [(Int, Float)] = []
                    for j in 0..<head.classes {
                        let prob = objectness * logistic(out[e + 5 + j])
                        if prob > threshold { probs.append((j, prob)) }
                    }
                    boxes.append((Box(x: bx, y: by, w: bw, h: bh), probs))
                }
            }
            for b in boxes {
                let r = correct(b.box, imageWidth: imageWidth, imageHeight: imageHeight, netW: inputWidth, netH: inputHeight)
                let px = Box(x: r.x * Float(imageWidth), y: r.y * Float(imageHeight),
                             w: r.w * Float(imageWidth), h: r.h * Float(imageHeight))
                for (j, p) in b.probs {
                    dets.append(Detection(image: image, classID: j, box: px, score: p))
                }
            }
        }
        return dets
    }

    /// Darknet's `do_nms_sort`, per image and class: detections sorted by score (highest first;
    /// equal scores keep their input order, where Darknet's `qsort` leaves it unspecified), each
    /// still-alive one suppresses the later ones whose `box_iou` with it is `> iouThreshold`
    /// (Darknet: 0.45). `box_iou` is Darknet's float arithmetic on centre boxes. Survivors are
    /// returned in their input order.
    ///
    /// Darknet runs it on relative coordinates; on pixel coordinates the IoU is the same up to
    /// float rounding (scaling an axis scales every area alike).
    public static func nms(_ dets: [Detection], iouThreshold: Float) -> [Detection] {
        var groups: [Int: [Int: [Int]]] = [:]   // image -> class -> indices
        for (i, d) in dets.enumerated() { groups[d.image, default: [:]][d.classID, default: []].append(i) }
        var keep = [Bool](repeating: true, count: dets.count)
        for (_, byClass) in groups {
            for (_, indices) in byClass {
                // Stable sort by descending score.
                let order = indices.enumerated().sorted {
                    dets[$0.element].score != dets[$1.element].score
                        ? dets[$0.element].score > dets[$1.element].score : $0.offset < $1.offset
                }.map(\.element)
                for (a, i) in order.enumerated() where keep[i] {
                    for j in order[(a + 1)...] where keep[j] {
                        if darknetIoU(dets[i].box, dets[j].box) > iouThreshold { keep[j] = false }
                    }
                }
            }
        }
        return dets.indices.filter { keep[$0] }.map { dets[$0] }
    }

    // MARK: Darknet arithmetic

    /// `logistic_activate`: `1./(1. + exp(-x))`, double arithmetic, returned as float.
    static func logistic(_ x: Float) -> Float {
        Float(1.0 / (1.0 + Foundation.exp(-Double(x))))
    }

    /// `correct_yolo_boxes` with `relative = 1`.
    static func correct(_ b: Box, imageWidth w: Int, imageHeight h: Int, netW: Int, netH: Int) -> Box {
        var newW = 0, newH = 0
        if Float(netW) / Float(w) < Float(netH) / Float(h) {
            newW = netW
            newH = (h * netW) / w
        } else {
            newH = netH
            newW = (w * netH) / h
        }
        var r = b
        r.x = Float((Double(b.x) - Double(netW - newW) / 2.0 / Double(netW)) / Double(Float(newW) / Float(netW)))
        r.y = Float((Double(b.y) - Double(netH - newH) / 2.0 / Double(netH)) / Double(Float(newH) / Float(netH)))
        r.w = b.w * (Float(netW) / Float(newW))
        r.h = b.h * (Float(netH) / Float(newH))
        return r
    }

    /// Darknet's `overlap`, in float.
    static func overlap(_ x1: Float, _ w1: Float, _ x2: Float, _ w2: Float) -> Float {
        let l1 = x1 - w1 / 2, l2 = x2 - w2 / 2
        let left = l1 > l2 ? l1 : l2
        let r1 = x1 + w1 / 2, r2 = x2 + w2 / 2
        let right = r1 < r2 ? r1 : r2
        return right - left
    }

    /// Darknet's `box_iou` (`box_intersection / box_union`), in float, on centre boxes.
    static func darknetIoU(_ a: Box, _ b: Box) -> Float {
        let w = overlap(a.x, a.w, b.x, b.w)
        let h = overlap(a.y, a.h, b.y, b.h)
        let inter: Float = (w < 0 || h < 0) ? 0 : w * h
        let union = a.w * a.h + b.w * b.h - inter
        return inter / union
    }
}
