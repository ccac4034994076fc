#!/usr/bin/env python3
"""Reference numbers for MeanAveragePrecision.coco, computed with pycocotools.

Reads the COCO8 labels (../shared/data/coco8/labels/{train,val}/*.txt beside the repository, YOLO
format `class cx cy w h`, normalised), scales them by 640 (so every box lies in pycocotools' "all"
area range and areas are pixel-like), makes a seeded perturbation of them into detections (jittered
boxes, random scores, some boxes dropped, some duplicated, some false positives) and writes the
inputs with pycocotools' AP (IoU .50:.95) and AP50 to coco8_map_reference.json beside this script.

All box coordinates and scores are rounded to float32 so that the Swift side (Float) reads exactly
the values pycocotools saw. Boxes are stored as centre x/y, width, height (SpikeMetrics.Box); they
are given to pycocotools as [cx - w/2, cy - h/2, w, h], in float64, as the Swift IoU does.

Usage: python3 Tests/SpikeScaleTests/Reference/coco_map_reference.py   (needs numpy, pycocotools)
"""
import contextlib, glob, io, json, os
import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

SEED = 20240531
SCALE = 640.0
here = os.path.dirname(os.path.abspath(__file__))
repo = os.path.abspath(os.path.join(here, "..", "..", ".."))
labels = os.path.join(repo, "..", "shared", "data", "coco8", "labels")

f32 = lambda v: float(np.float32(v))


def box(cx, cy, w, h):
    return {"x": f32(cx), "y": f32(cy), "w": f32(w), "h": f32(h)}


images, gts = [], []
for split in ("train", "val"):
    for path in sorted(glob.glob(os.path.join(labels, split, "*.txt"))):
        image = int(os.path.splitext(os.path.basename(path))[0])
        images.append(image)
        for line in open(path):
            p = line.split()
            if len(p) != 5:
                continue
            c, cx, cy, w, h = int(p[0]), *(float(v) * SCALE for v in p[1:])
            gts.append({"image": image, "classID": c, "box": box(cx, cy, w, h)})
images.sort()

rng = np.random.default_rng(SEED)
classes = sorted({g["classID"] for g in gts})
dets = []


def jitter(b, s):
    w, h = b["w"] * np.exp(rng.normal(0, s)), b["h"] * np.exp(rng.normal(0, s))
    return box(b["x"] + rng.normal(0, s) * b["w"], b["y"] + rng.normal(0, s) * b["h"], w, h)


for g in gts:
    if rng.random() < 0.15:                       # missed object
        continue
    dets.append({"image": g["image"], "classID": g["classID"], "box": jitter(g["box"], 0.08),
                 "score": f32(rng.uniform(0.2, 1.0))})
    if rng.random() < 0.2:                        # duplicate, worse box
        dets.append({"image": g["image"], "classID": g["classID"], "box": jitter(g["box"], 0.15),
                     "score": f32(rng.uniform(0.0, 0.8))})
    if rng.random() < 0.1:                        # right place, wrong class
        dets.append({"image": g["image"], "classID": int(rng.choice(classes)), "box": jitter(g["box"], 0.05),
                     "score": f32(rng.uniform(0.0, 1.0))})
for image in images:                              # background false positives
    for _ in range(int(rng.integers(0, 4))):
        w, h = rng.uniform(20, 300), rng.uniform(20, 300)
        dets.append({"image": image, "classID": int(rng.choice(classes + [99])),
                     "box": box(rng.uniform(w / 2, SCALE - w / 2), rng.uniform(h / 2, SCALE - h / 2), w, h),
                     "score": f32(rng.uniform(0.0, 0.9))})


def xywh(b):
    return [b["x"] - b["w"] / 2, b["y"] - b["h"] / 2, b["w"], b["h"]]


all_classes = sorted(set(classes) | {d["classID"] for d in dets})
dataset = {
    "images": [{"id": i, "width": int(SCALE), "height": int(SCALE)} for i in images],
    "categories": [{"id": c} for c in all_classes],
    "annotations": [{"id": k + 1, "image_id": g["image"], "category_id": g["classID"], "bbox": xywh(g["box"]),
                     "area": g["box"]["w"] * g["box"]["h"], "iscrowd": 0} for k, g in enumerate(gts)],
}
with contextlib.redirect_stdout(io.StringIO()):
    coco_gt = COCO()
    coco_gt.dataset = dataset
    coco_gt.createIndex()
    coco_dt = coco_gt.loadRes([{"image_id": d["image"], "category_id": d["classID"], "bbox": xywh(d["box"]),
                                "score": d["score"]} for d in dets])
    ev = COCOeval(coco_gt, coco_dt, "bbox")
    ev.evaluate(); ev.accumulate(); ev.summarize()
result = {"map50to95": float(ev.stats[0]), "map50": float(ev.stats[1])}

out = {
    "description": "COCO8 labels (x640) and seeded perturbed detections; pycocotools bbox AP, area all, maxDets 100",
    "seed": SEED,
    "pycocotools": result,
    "groundTruth": gts,
    "detections": dets,
}
with open(os.path.join(here, "coco8_map_reference.json"), "w") as f:
    json.dump(out, f, indent=None, separators=(",", ":"))
    f.write("\n")
print(f"{len(images)} images, {len(gts)} ground-truth boxes, {len(dets)} detections")
print(f"pycocotools: mAP@[.5:.95] = {result['map50to95']:.10f}  mAP@0.5 = {result['map50']:.10f}")
