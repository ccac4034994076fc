#!/usr/bin/env python3
"""MNIST-detection set in the YOLO layout, for training Tiny-YOLOv3 on CPU.

Each canvas (128x128, dark with mild noise) holds 1-4 real MNIST digits, each cropped to its
nonzero pixels and resized so that its longer side is a random 20-56 px, placed so that the IoU
between any two boxes stays below 0.2. A digit is composited with max(), so it stays intact where
boxes touch. Boxes are the tight bounding box of the resized digit's nonzero pixels; class = digit.
Train canvases use MNIST's train digits, val canvases the t10k digits. Grey images are written as
3-channel JPEG (quality 95). Deterministic for a given --seed.

    python3 Benchmarks/tinyyolo/make_dataset.py [--mnist /work/shared/data/mnist] \
        [--out results/tinyyolo/data] [--train 6000] [--val 500] [--seed 0] \
        [--cfg Benchmarks/tinyyolo/yolov3-tiny-mnist.cfg]

Writes OUT/images/{train,val}/NNNNNN.jpg, OUT/labels/{train,val}/NNNNNN.txt (`class cx cy w h`,
normalised) and OUT/lists/{train,val}.txt (image lists, absolute paths, for Darknet's .data file;
kept out of OUT itself because SpikeScale takes a folder with a SPLIT.txt for an N-MNIST set).

With --cfg PATH it also writes the network: Darknet's own yolov3-tiny.cfg (--template) with
classes=10, the head convs' filters=3*(5+10)=45, width=height=SIDE and 6 anchors re-estimated by
k-means (1 - IoU distance, seeded) on the train boxes at SIDE px, sorted by area (mask 3,4,5 on the
coarse head, 0,1,2 on the fine one, as in the original). Every other line is kept verbatim.
"""
import argparse
import gzip
import os
import struct

import numpy as np
from PIL import Image


def read_idx(path):
    """IDX file, gzipped or not (the `.gz` variant is tried when `path` is missing)."""
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path += ".gz"
    with (gzip.open if path.endswith(".gz") else open)(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def iou(a, b):
    """IoU of corner boxes (x0, y0, x1, y1), pixel-continuous."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def digit_patch(img, size):
    """The digit cropped to its nonzero pixels, resized (bicubic) so its longer side is `size`,
    then cropped again to its nonzero pixels (resampling can move the edge by a pixel)."""
    ys, xs = np.nonzero(img)
    crop = img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = crop.shape
    s = size / max(h, w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    r = np.asarray(Image.fromarray(crop).resize((nw, nh), Image.BICUBIC))
    ys, xs = np.nonzero(r)
    return r[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def make_split(images, labels, n, out, split, rng, side, min_size, max_size, max_digits, max_iou):
    img_dir = os.path.join(out, "images", split)
    lab_dir = os.path.join(out, "labels", split)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(lab_dir, exist_ok=True)
    listing = []
    objects = 0
    for i in range(n):
        # Dark background: a per-canvas level plus mild Gaussian noise.
        base = rng.uniform(0, 25)
        canvas = np.clip(base + rng.normal(0, 6, (side, side)), 0, 255)
        k = int(rng.integers(1, max_digits + 1))
        boxes, lines = [], []
        for _ in range(k):
            j = int(rng.integers(len(images)))
            patch = digit_patch(images[j], int(rng.integers(min_size, max_size + 1)))
            # Digit brightness varies a little (MNIST strokes are ~255 at their core).
            patch = patch.astype(np.float64) * rng.uniform(0.7, 1.0)
            ph, pw = patch.shape
            for _try in range(50):
                x0 = int(rng.integers(0, side - pw + 1))
                y0 = int(rng.integers(0, side - ph + 1))
                box = (x0, y0, x0 + pw, y0 + ph)
                if all(iou(box, b) < max_iou for b in boxes):
                    break
            else:
                continue  # no room for this digit: the canvas gets fewer
            region = canvas[y0:y0 + ph, x0:x0 + pw]
            np.maximum(region, patch, out=region)
            boxes.append(box)
            lines.append("%d %.6f %.6f %.6f %.6f" % (labels[j], (x0 + pw / 2) / side, (y0 + ph / 2) / side,
                                                      pw / side, ph / side))
        name = "%06d" % i
        grey = np.clip(np.rint(canvas), 0, 255).astype(np.uint8)
        path = os.path.join(img_dir, name + ".jpg")
        Image.fromarray(grey).convert("RGB").save(path, quality=95)
        with open(os.path.join(lab_dir, name + ".txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        listing.append(os.path.abspath(path))
        objects += len(lines)
    os.makedirs(os.path.join(out, "lists"), exist_ok=True)
    with open(os.path.join(out, "lists", split + ".txt"), "w") as f:
        f.write("\n".join(listing) + "\n")
    print("%s: %d images, %d digits -> %s" % (split, n, objects, img_dir))


def kmeans_anchors(wh, k, seed, iters=300):
    """k-means on box sizes with distance 1 - IoU (boxes aligned at a corner), as YOLOv2/v3's
    anchor estimation; k-means++ style seeding from `seed`. Returns k (w, h) sorted by area."""
    rng = np.random.default_rng(seed)

    def wh_iou(a, c):
        inter = np.minimum(a[:, None, 0], c[None, :, 0]) * np.minimum(a[:, None, 1], c[None, :, 1])
        return inter / (a[:, 0:1] * a[:, 1:2] + (c[:, 0] * c[:, 1])[None, :] - inter)

    centres = wh[rng.integers(len(wh))][None, :]
    while len(centres) < k:
        d = 1 - wh_iou(wh, centres).max(1)
        centres = np.vstack([centres, wh[rng.choice(len(wh), p=d ** 2 / (d ** 2).sum())]])
    for _ in range(iters):
        assign = wh_iou(wh, centres).argmax(1)
        new = np.array([np.median(wh[assign == j], 0) if (assign == j).any() else centres[j] for j in range(k)])
        if np.allclose(new, centres):
            break
        centres = new
    centres = centres[np.argsort(centres[:, 0] * centres[:, 1])]
    mean_iou = wh_iou(wh, centres).max(1).mean()
    return centres, mean_iou


def write_cfg(template, path, label_dir, side, classes, seed):
    wh = []
    for name in sorted(os.listdir(label_dir)):
        for line in open(os.path.join(label_dir, name)):
            f = line.split()
            if len(f) == 5:
                wh.append((float(f[3]) * side, float(f[4]) * side))
    anchors, mean_iou = kmeans_anchors(np.array(wh), 6, seed)
    anchor_text = ",  ".join("%d,%d" % (round(w), round(h)) for w, h in anchors)
    lines = open(template).read().split("\n")
    out, section = [], None
    # The conv right before each [yolo] is a head conv: its filters become 3 * (5 + classes).
    yolo_at = [i for i, l in enumerate(lines) if l.strip() == "[yolo]"]
    head_conv_filters = set()
    for y in yolo_at:
        for i in range(y - 1, -1, -1):
            if lines[i].strip().startswith("filters"):
                head_conv_filters.add(i)
                break
    for i, l in enumerate(lines):
        key = l.split("=")[0].strip() if "=" in l and not l.lstrip().startswith("#") else None
        if key in ("width", "height"):
            l = "%s=%d" % (key, side)
        elif key == "classes":
            l = "classes=%d" % classes
        elif key == "anchors":
            l = "anchors = " + anchor_text
        elif i in head_conv_filters:
            l = "filters=%d" % (3 * (5 + classes))
        out.append(l)
    with open(path, "w") as f:
        f.write("# Tiny-YOLOv3 (Darknet's yolov3-tiny.cfg, topology unchanged) for the MNIST-detection set of\n"
                "# Benchmarks/tinyyolo/make_dataset.py: classes=%d, head filters=%d, input %dx%d, anchors by\n"
                "# k-means on the train boxes (mean best IoU %.3f). Generated by make_dataset.py --cfg.\n"
                % (classes, 3 * (5 + classes), side, side, mean_iou))
        f.write("\n".join(out))
    print("cfg: %s (anchors %s, mean best-anchor IoU %.3f over %d boxes)" % (path, anchor_text, mean_iou, len(wh)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mnist", default="/work/shared/data/mnist")
    ap.add_argument("--out", default="results/tinyyolo/data")
    ap.add_argument("--train", type=int, default=6000)
    ap.add_argument("--val", type=int, default=500)
    ap.add_argument("--side", type=int, default=128)
    ap.add_argument("--min-size", type=int, default=20)
    ap.add_argument("--max-size", type=int, default=56)
    ap.add_argument("--max-digits", type=int, default=4)
    ap.add_argument("--max-iou", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cfg", help="also write the Tiny-YOLOv3 cfg with anchors for this data here")
    ap.add_argument("--template", default="/usr/share/darknet/cfg/yolov3-tiny.cfg",
                    help="Darknet's yolov3-tiny.cfg (Debian package darknet)")
    a = ap.parse_args()
    assert a.side % 32 == 0, "Tiny-YOLOv3 needs an input side that is a multiple of 32"
    rng = np.random.default_rng(a.seed)
    for split, prefix, n in (("train", "train", a.train), ("val", "t10k", a.val)):
        imgs = read_idx(os.path.join(a.mnist, prefix + "-images-idx3-ubyte"))
        labs = read_idx(os.path.join(a.mnist, prefix + "-labels-idx1-ubyte"))
        make_split(imgs, labs, n, a.out, split, rng, a.side, a.min_size, a.max_size, a.max_digits, a.max_iou)
    if a.cfg:
        write_cfg(a.template, a.cfg, os.path.join(a.out, "labels", "train"), a.side, 10, a.seed)


if __name__ == "__main__":
    main()
