#!/usr/bin/env python3
"""Train Tiny-YOLOv3 (built from a Darknet .cfg) on the MNIST-detection set, export Darknet .weights.

    python3 Benchmarks/tinyyolo/train.py train  [--cfg C] [--data D] [--out O] [--epochs 12] [--seed 0]
    python3 Benchmarks/tinyyolo/train.py eval   [--weights O/yolov3-tiny-mnist.weights]
    python3 Benchmarks/tinyyolo/train.py export [--checkpoint O/checkpoint.pt]

`train` resumes from O/checkpoint.pt when present (written after every epoch), scores val mAP@0.5
after every epoch, and at the end writes O/yolov3-tiny-mnist.weights (Darknet format), a copy of
the cfg beside it, O/mnist.data, O/mnist.names and O/train_log.json. `eval` loads a .weights file
back into the network (checking the format round trip) and scores val as Darknet's `detector map`.

Darknet semantics reproduced: conv `pad=1` pads size//2; batch-normalized convs have no bias and
infer as (x - mean) / (sqrt(var) + 1e-6) * scale + bias (the exported rolling variance is adjusted
so this equals PyTorch's (x - mean) / sqrt(var + 1e-5)); leaky slope 0.1; maxpool pads right/bottom
by size-1 with -inf (size 2 stride 1 keeps the size); route concatenates; upsample is nearest.
Decoding as Darknet: sigmoid x, y, objectness, classes; exp(w,h) * anchor / input size; score
objectness * class > 0.005; per-class NMS at IoU 0.45; VOC all-point AP at IoU 0.5.
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


# ----------------------------------------------------------------------------------------- cfg

def parse_cfg(path):
    """Sections of a Darknet cfg as [(type, {key: value})]; comments (# ;) and blanks skipped."""
    sections = []
    for raw in open(path):
        line = raw.split("#")[0].strip()
        if not line or line.startswith(";"):
            continue
        if line.startswith("["):
            sections.append((line[1:-1].strip(), {}))
        else:
            k, v = line.split("=", 1)
            sections[-1][1][k.strip()] = v.strip()
    return sections


class MaxPoolDarknet(nn.Module):
    """Darknet maxpool: padding size-1 on the right/bottom (offset -pad/2 = 0 for size 2) with -inf."""

    def __init__(self, size, stride):
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x):
        p = self.size - 1
        if p:
            x = F.pad(x, (p // 2, p - p // 2, p // 2, p - p // 2), value=float("-inf"))
        return F.max_pool2d(x, self.size, self.stride)


class YOLOHead:
    def __init__(self, opts, input_side):
        self.mask = [int(v) for v in opts["mask"].split(",")]
        a = [float(v) for v in opts["anchors"].split(",")]
        self.anchors_all = torch.tensor(a, dtype=torch.float32).view(-1, 2)
        self.anchors = self.anchors_all[self.mask]
        self.classes = int(opts["classes"])
        self.input_side = input_side


class Darknet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        sections = parse_cfg(cfg)
        net = sections[0][1]
        assert sections[0][0] == "net"
        self.width, self.height = int(net["width"]), int(net["height"])
        self.channels = int(net.get("channels", 3))
        self.layers = nn.ModuleList()
        self.kinds, self.routes, self.heads = [], {}, {}
        out_ch = []
        c = self.channels
        for i, (kind, o) in enumerate(sections[1:]):
            if kind == "convolutional":
                bn = int(o.get("batch_normalize", 0))
                f, k, s = int(o["filters"]), int(o["size"]), int(o.get("stride", 1))
                pad = k // 2 if int(o.get("pad", 0)) else int(o.get("padding", 0))
                m = nn.Sequential()
                m.add_module("conv", nn.Conv2d(c, f, k, s, pad, bias=not bn))
                if bn:
                    m.add_module("bn", nn.BatchNorm2d(f, eps=1e-5, momentum=0.03))
                act = o.get("activation", "logistic")
                if act == "leaky":
                    m.add_module("act", nn.LeakyReLU(0.1))
                else:
                    assert act == "linear", act
                c = f
            elif kind == "maxpool":
                s = int(o.get("stride", 1))
                m = MaxPoolDarknet(int(o.get("size", s)), s)
            elif kind == "upsample":
                m = nn.Upsample(scale_factor=int(o.get("stride", 2)), mode="nearest")
            elif kind == "route":
                idx = [int(v) for v in o["layers"].split(",")]
                idx = [j if j >= 0 else i + j for j in idx]
                self.routes[i] = idx
                c = sum(out_ch[j] for j in idx)
                m = nn.Identity()
            elif kind == "yolo":
                self.heads[i] = YOLOHead(o, self.width)
                m = nn.Identity()
            else:
                raise ValueError("unsupported layer type [%s]" % kind)
            self.kinds.append(kind)
            self.layers.append(m)
            out_ch.append(c)

    def forward(self, x):
        outs, heads = [], []
        for i, (kind, m) in enumerate(zip(self.kinds, self.layers)):
            if kind == "route":
                x = torch.cat([outs[j] for j in self.routes[i]], 1)
            elif kind == "yolo":
                heads.append((self.heads[i], x))
            else:
                x = m(x)
            outs.append(x)
        return heads

    def convs(self):
        return [m for k, m in zip(self.kinds, self.layers) if k == "convolutional"]


# ------------------------------------------------------------------------------ darknet weights

def save_weights(model, path, seen):
    with open(path, "wb") as f:
        f.write(struct.pack("<iiiQ", 0, 2, 0, seen))
        for m in model.convs():
            conv = m.conv
            if hasattr(m, "bn"):
                bn = m.bn
                # Darknet infers (x - mean) / (sqrt(var) + 1e-6); choose var' with
                # sqrt(var') + 1e-6 = sqrt(var + eps) so that it equals PyTorch's BN exactly.
                var = (torch.sqrt(bn.running_var + bn.eps) - 1e-6) ** 2
                for t in (bn.bias, bn.weight, bn.running_mean, var):
                    f.write(t.detach().float().numpy().astype("<f4").tobytes())
            else:
                f.write(conv.bias.detach().float().numpy().astype("<f4").tobytes())
            f.write(conv.weight.detach().float().numpy().astype("<f4").tobytes())


def load_weights(model, path):
    data = open(path, "rb").read()
    major, minor, rev = struct.unpack("<iii", data[:12])
    off = 12
    if major * 10 + minor >= 2:
        seen, = struct.unpack("<Q", data[off:off + 8]); off += 8
    else:
        seen, = struct.unpack("<I", data[off:off + 4]); off += 4
    w = np.frombuffer(data, dtype="<f4", offset=off)
    p = 0

    def take(t):
        nonlocal p
        n = t.numel()
        t.data.copy_(torch.from_numpy(w[p:p + n].copy()).view_as(t)); p += n

    for m in model.convs():
        if hasattr(m, "bn"):
            bn = m.bn
            for t in (bn.bias, bn.weight, bn.running_mean, bn.running_var):
                take(t)
            bn.running_var.copy_((torch.sqrt(bn.running_var) + 1e-6) ** 2 - bn.eps)
        else:
            take(m.conv.bias)
        take(m.conv.weight)
    assert p == len(w), "weights file has %d floats, the cfg uses %d" % (len(w), p)
    return seen


# ----------------------------------------------------------------------------------------- data

def load_split(data, split):
    """All images of a split as uint8 (N, 3, H, W) and their boxes as a (M, 6) float tensor
    [image, class, cx, cy, w, h] in normalised units."""
    d = os.path.join(data, "images", split)
    names = sorted(n for n in os.listdir(d) if n.lower().endswith((".jpg", ".jpeg")))
    imgs, boxes = [], []
    for i, n in enumerate(names):
        imgs.append(np.asarray(Image.open(os.path.join(d, n)).convert("RGB")))
        lp = os.path.join(data, "labels", split, os.path.splitext(n)[0] + ".txt")
        if os.path.exists(lp):
            for line in open(lp):
                f = line.split()
                if len(f) == 5:
                    boxes.append([i, int(f[0])] + [float(v) for v in f[1:]])
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    return names, x, torch.tensor(boxes, dtype=torch.float32).view(-1, 6)


# ----------------------------------------------------------------------------------------- loss

def box_iou_cxcywh(a, b):
    """IoU between (..., 4) centre boxes a and b (broadcast)."""
    ax0, ay0, ax1, ay1 = a[..., 0] - a[..., 2] / 2, a[..., 1] - a[..., 3] / 2, a[..., 0] + a[..., 2] / 2, a[..., 1] + a[..., 3] / 2
    bx0, by0, bx1, by1 = b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2
    iw = (torch.min(ax1, bx1) - torch.max(ax0, bx0)).clamp(min=0)
    ih = (torch.min(ay1, by1) - torch.max(ay0, by0)).clamp(min=0)
    inter = iw * ih
    return inter / (a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter + 1e-12)


def yolo_loss(heads, targets, batch, ignore_thresh=0.5):
    """YOLOv3 loss. targets: (M, 6) [image in batch, class, cx, cy, w, h], normalised.
    Each truth is assigned to its best anchor of all 6 (by shape IoU), in the cell of its centre,
    if that anchor belongs to the head. Objectness BCE (predictions with IoU > ignore_thresh with any
    truth are not pushed to 0), class BCE, x/y BCE on sigmoid offsets, w/h squared error in log
    space relative to the anchor; box terms weighted by 2 - w*h. Sum over the batch / batch size."""
    dev = targets.device
    n_t = targets.shape[0]
    # Padded truths per image for the ignore mask.
    counts = torch.bincount(targets[:, 0].long(), minlength=batch) if n_t else torch.zeros(batch, dtype=torch.long)
    kmax = max(int(counts.max()) if n_t else 0, 1)
    gt = torch.zeros(batch, kmax, 4)
    slot = torch.zeros(n_t, dtype=torch.long)
    seen = [0] * batch
    for t in range(n_t):
        b = int(targets[t, 0]); slot[t] = seen[b]; seen[b] += 1
    if n_t:
        gt[targets[:, 0].long(), slot] = targets[:, 2:6]
    total = {"xy": 0.0, "wh": 0.0, "obj": 0.0, "noobj": 0.0, "cls": 0.0}
    for head, p in heads:
        B, _, G, _ = p.shape
        A, C = len(head.mask), head.classes
        p = p.view(B, A, 5 + C, G, G).permute(0, 1, 3, 4, 2)  # B A gy gx 5+C
        anchors = head.anchors / head.input_side                # normalised
        gy, gx = torch.meshgrid(torch.arange(G), torch.arange(G), indexing="ij")
        with torch.no_grad():
            px = (torch.sigmoid(p[..., 0]) + gx) / G
            py = (torch.sigmoid(p[..., 1]) + gy) / G
            pw = torch.exp(p[..., 2].clamp(max=8)) * anchors[:, 0].view(1, A, 1, 1)
            ph = torch.exp(p[..., 3].clamp(max=8)) * anchors[:, 1].view(1, A, 1, 1)
            pbox = torch.stack([px, py, pw, ph], -1).view(B, -1, 1, 4)
            best_iou = box_iou_cxcywh(pbox, gt.view(B, 1, kmax, 4)).max(-1).values.view(B, A, G, G)
        obj_target = torch.zeros(B, A, G, G)
        noobj_mask = best_iou <= ignore_thresh
        if n_t:
            all_anchors = head.anchors_all / head.input_side
            wh = targets[:, 4:6]
            inter = torch.min(wh[:, None, 0], all_anchors[None, :, 0]) * torch.min(wh[:, None, 1], all_anchors[None, :, 1])
            shape_iou = inter / (wh[:, 0:1] * wh[:, 1:2] + (all_anchors[:, 0] * all_anchors[:, 1])[None] - inter)
            best = shape_iou.argmax(1)
            mask_t = torch.tensor(head.mask)
            sel = (best[:, None] == mask_t[None]).any(1)
            if sel.any():
                t = targets[sel]
                a = (best[sel][:, None] == mask_t[None]).long().argmax(1)
                b = t[:, 0].long()
                cx, cy = t[:, 2] * G, t[:, 3] * G
                i = cx.long().clamp(0, G - 1)
                j = cy.long().clamp(0, G - 1)
                pp = p[b, a, j, i]                         # K, 5+C
                scale = 2 - t[:, 4] * t[:, 5]
                total["xy"] = total["xy"] + (scale * (F.binary_cross_entropy_with_logits(pp[:, 0], cx - i, reduction="none")
                                                      + F.binary_cross_entropy_with_logits(pp[:, 1], cy - j, reduction="none"))).sum()
                tw = torch.log(t[:, 4] / anchors[a, 0])
                th = torch.log(t[:, 5] / anchors[a, 1])
                total["wh"] = total["wh"] + (0.5 * scale * ((pp[:, 2] - tw) ** 2 + (pp[:, 3] - th) ** 2)).sum()
                onehot = F.one_hot(t[:, 1].long(), C).float()
                total["cls"] = total["cls"] + F.binary_cross_entropy_with_logits(pp[:, 5:], onehot, reduction="sum")
                obj_target[b, a, j, i] = 1
                noobj_mask[b, a, j, i] = False
        pos = obj_target > 0
        bce = F.binary_cross_entropy_with_logits(p[..., 4], obj_target, reduction="none")
        total["obj"] = total["obj"] + bce[pos].sum()
        total["noobj"] = total["noobj"] + bce[noobj_mask].sum()
    loss = sum(total.values()) / batch
    return loss, {k: float(v.detach() if torch.is_tensor(v) else v) / batch for k, v in total.items()}


# ------------------------------------------------------------------------------- decode + mAP

def decode(heads, threshold=0.005):
    """Darknet's get_yolo_detections on raw heads: per image a list of (cls, score, cx, cy, w, h) in
    normalised units (square input: letterbox correction is the identity)."""
    per_image = None
    for head, p in heads:
        B, _, G, _ = p.shape
        A, C = len(head.mask), head.classes
        p = p.view(B, A, 5 + C, G, G).permute(0, 1, 3, 4, 2).double()
        gy, gx = torch.meshgrid(torch.arange(G), torch.arange(G), indexing="ij")
        x = (torch.sigmoid(p[..., 0]) + gx) / G
        y = (torch.sigmoid(p[..., 1]) + gy) / G
        w = torch.exp(p[..., 2]) * head.anchors[:, 0].double().view(1, A, 1, 1) / head.input_side
        h = torch.exp(p[..., 3]) * head.anchors[:, 1].double().view(1, A, 1, 1) / head.input_side
        obj = torch.sigmoid(p[..., 4])
        prob = obj[..., None] * torch.sigmoid(p[..., 5:])
        prob = prob * (obj[..., None] > threshold)
        boxes = torch.stack([x, y, w, h], -1).view(B, -1, 4)
        prob = prob.reshape(B, -1, C)
        if per_image is None:
            per_image = [[] for _ in range(B)]
        for b in range(B):
            k, c = torch.nonzero(prob[b] > threshold, as_tuple=True)
            for kk, cc in zip(k.tolist(), c.tolist()):
                per_image[b].append((cc, float(prob[b, kk, cc])) + tuple(boxes[b, kk].tolist()))
    return per_image


def np_iou(a, b):
    """IoU matrix between centre boxes a (n, 4) and b (m, 4), numpy float64."""
    a0, a1 = a[:, None, :2] - a[:, None, 2:] / 2, a[:, None, :2] + a[:, None, 2:] / 2
    b0, b1 = b[None, :, :2] - b[None, :, 2:] / 2, b[None, :, :2] + b[None, :, 2:] / 2
    wh = np.clip(np.minimum(a1, b1) - np.maximum(a0, b0), 0, None)
    inter = wh[..., 0] * wh[..., 1]
    return inter / (a[:, None, 2] * a[:, None, 3] + b[None, :, 2] * b[None, :, 3] - inter + 1e-300)


def nms(dets, thresh=0.45):
    """Darknet's do_nms_sort per class: keep in descending score, drop later boxes with IoU > thresh."""
    out = []
    for c in sorted(set(d[0] for d in dets)):
        ds = sorted([d for d in dets if d[0] == c], key=lambda d: -d[1])
        iou = np_iou(np.array([d[2:] for d in ds]), np.array([d[2:] for d in ds]))
        alive = np.ones(len(ds), bool)
        for i in range(len(ds)):
            if alive[i]:
                alive[i + 1:] &= ~(iou[i, i + 1:] > thresh)
        out += [d for d, k in zip(ds, alive) if k]
    return out


def voc_map(dets, gts, classes, iou_thresh=0.5):
    """VOC all-point mAP. dets: [(image, cls, score, cx, cy, w, h)], gts: [(image, cls, cx, cy, w, h)].
    Each detection (highest score first) takes the unmatched truth of its class with the highest
    IoU >= iou_thresh (SpikeScale's MeanAveragePrecision.voc); classes without truths are skipped."""
    aps = {}
    for c in range(classes):
        g = [t for t in gts if t[1] == c]
        if not g:
            continue
        by_img = {}
        for t in g:
            by_img.setdefault(t[0], []).append(t[2:])
        gt_np = {k: np.array(v) for k, v in by_img.items()}
        used = {k: np.zeros(len(v), bool) for k, v in by_img.items()}
        ds = sorted([d for d in dets if d[1] == c], key=lambda d: -d[2])
        tp = np.zeros(len(ds))
        for n, d in enumerate(ds):
            if d[0] in gt_np:
                ious = np_iou(np.array([d[3:]]), gt_np[d[0]])[0]
                ious[used[d[0]]] = -1
                k = int(np.argmax(ious))
                if ious[k] >= iou_thresh:
                    used[d[0]][k] = True
                    tp[n] = 1
        ctp, cfp = np.cumsum(tp), np.cumsum(1 - tp)
        rec = np.concatenate([[0], ctp / len(g), [1]])
        prec = np.concatenate([[0], ctp / np.maximum(ctp + cfp, 1e-12), [0]])
        for i in range(len(prec) - 2, -1, -1):
            prec[i] = max(prec[i], prec[i + 1])
        idx = np.nonzero(rec[1:] != rec[:-1])[0]
        aps[c] = float(np.sum((rec[idx + 1] - rec[idx]) * prec[idx + 1]))
    return (sum(aps.values()) / len(aps) if aps else 0.0), aps


@torch.no_grad()
def evaluate(model, x, boxes, batch=100):
    model.eval()
    dets = []
    for s in range(0, len(x), batch):
        heads = model(x[s:s + batch].float() / 255)
        for k, d in enumerate(decode(heads)):
            dets += [(s + k,) + t for t in nms(d)]
    gts = [(int(b[0]), int(b[1])) + tuple(b[2:].tolist()) for b in boxes]
    classes = next(iter(model.heads.values())).classes
    m, aps = voc_map(dets, gts, classes)
    return m, aps, len(dets)


# ---------------------------------------------------------------------------------------- main

def write_darknet_files(out, data, cfg):
    names = os.path.join(out, "mnist.names")
    with open(names, "w") as f:
        f.write("\n".join(str(d) for d in range(10)) + "\n")
    with open(os.path.join(out, "mnist.data"), "w") as f:
        f.write("classes = 10\ntrain = %s\nvalid = %s\nnames = %s\nbackup = %s\n" % (
            os.path.abspath(os.path.join(data, "lists", "train.txt")), os.path.abspath(os.path.join(data, "lists", "val.txt")),
            os.path.abspath(names), os.path.abspath(out)))
    shutil.copyfile(cfg, os.path.join(out, os.path.basename(cfg)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["train", "eval", "export"])
    ap.add_argument("--cfg", default=os.path.join(HERE, "yolov3-tiny-mnist.cfg"))
    ap.add_argument("--data", default="results/tinyyolo/data")
    ap.add_argument("--out", default="results/tinyyolo")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--weights", help="eval: a .weights file (default OUT/<cfg base>.weights)")
    ap.add_argument("--checkpoint", help="export: checkpoint (default OUT/checkpoint.pt)")
    ap.add_argument("--limit", type=int, default=0, help="train on the first N images only (smoke test)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    base = os.path.splitext(os.path.basename(a.cfg))[0]
    weights_path = os.path.join(a.out, base + ".weights")
    ckpt_path = a.checkpoint or os.path.join(a.out, "checkpoint.pt")
    model = Darknet(a.cfg)
    n_params = sum(p.numel() for p in model.parameters())

    if a.mode in ("eval", "export"):
        if a.mode == "export":
            ck = torch.load(ckpt_path, weights_only=False)
            model.load_state_dict(ck["model"])
            save_weights(model, weights_path, ck["seen"])
            write_darknet_files(a.out, a.data, a.cfg)
            print("wrote", weights_path)
            return
        seen = load_weights(model, a.weights or weights_path)
        _, vx, vb = load_split(a.data, "val")
        t0 = time.time()
        m, aps, nd = evaluate(model, vx, vb)
        print("%s: seen %d, %d parameters; val mAP@0.5 %.4f (%d detections, %.1f s)" % (
            a.weights or weights_path, seen, n_params, m, nd, time.time() - t0))
        print("per class AP:", " ".join("%d:%.3f" % (c, v) for c, v in sorted(aps.items())))
        return

    t_load = time.time()
    _, tx, tb = load_split(a.data, "train")
    _, vx, vb = load_split(a.data, "val")
    if a.limit:
        tx = tx[:a.limit]; tb = tb[tb[:, 0] < a.limit]
    print("train %d images / %d boxes, val %d / %d (loaded in %.1f s); %d parameters, %d threads" % (
        len(tx), len(tb), len(vx), len(vb), time.time() - t_load, n_params, a.threads), flush=True)
    # Boxes of each image for fast batch assembly.
    order_img = tb[:, 0].long()
    starts = torch.searchsorted(order_img, torch.arange(len(tx) + 1))

    steps_per_epoch = math.ceil(len(tx) / a.batch)
    total_steps = steps_per_epoch * a.epochs
    warmup = min(300, steps_per_epoch)
    decay, no_decay = [], []
    for n_, p in model.named_parameters():
        (decay if n_.endswith("conv.weight") else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=a.lr)

    def lr_at(step):
        if step < warmup:
            return a.lr * (step + 1) / warmup
        return a.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total_steps - warmup))))

    model = model.to(memory_format=torch.channels_last)
    log = {"parameters": n_params, "epochs": [], "args": vars(a)}
    start_epoch, seen = 0, 0
    if os.path.exists(ckpt_path):
        ck = torch.load(ckpt_path, weights_only=False)
        model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
        start_epoch, seen, log = ck["epoch"], ck["seen"], ck["log"]
        torch.set_rng_state(ck["rng"])
        print("resumed from %s after epoch %d" % (ckpt_path, start_epoch), flush=True)

    for epoch in range(start_epoch, a.epochs):
        model.train()
        t0 = time.time()
        g = torch.Generator().manual_seed(a.seed * 1000 + epoch)
        perm = torch.randperm(len(tx), generator=g)
        sums, nb = {}, 0
        for s in range(steps_per_epoch):
            step = epoch * steps_per_epoch + s
            for grp in opt.param_groups:
                grp["lr"] = lr_at(step)
            idx = perm[s * a.batch:(s + 1) * a.batch]
            xb = (tx[idx].float() / 255).contiguous(memory_format=torch.channels_last)
            tl = []
            for k, i in enumerate(idx.tolist()):
                bb = tb[starts[i]:starts[i + 1]].clone()
                bb[:, 0] = k
                tl.append(bb)
            targets = torch.cat(tl)
            loss, parts = yolo_loss(model(xb), targets, len(idx))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
            opt.step()
            seen += len(idx)
            nb += 1
            for k, v in parts.items():
                sums[k] = sums.get(k, 0) + v
            if s % 25 == 0 or s == steps_per_epoch - 1:
                print("  epoch %d step %d/%d loss %.3f (%s) lr %.2e %.1f s" % (
                    epoch + 1, s + 1, steps_per_epoch, float(loss.detach()),
                    " ".join("%s %.2f" % kv for kv in parts.items()), lr_at(step), time.time() - t0), flush=True)
        t_train = time.time() - t0
        m, aps, nd = evaluate(model, vx, vb)
        t_eval = time.time() - t0 - t_train
        rec = {"epoch": epoch + 1, "train_s": round(t_train, 1), "eval_s": round(t_eval, 1), "val_map50": m,
               "loss": {k: v / nb for k, v in sums.items()}, "detections": nd}
        log["epochs"].append(rec)
        print("epoch %d/%d: loss %.3f, val mAP@0.5 %.4f (%d dets), train %.0f s + eval %.0f s" % (
            epoch + 1, a.epochs, sum(rec["loss"].values()), m, nd, t_train, t_eval), flush=True)
        tmp = ckpt_path + ".tmp"
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch + 1, "seen": seen,
                    "log": log, "rng": torch.get_rng_state()}, tmp)
        os.replace(tmp, ckpt_path)

    save_weights(model, weights_path, seen)
    write_darknet_files(a.out, a.data, a.cfg)
    log["train_s_total"] = round(sum(e["train_s"] + e["eval_s"] for e in log["epochs"]), 1)
    log["final_val_map50"] = log["epochs"][-1]["val_map50"]
    with open(os.path.join(a.out, "train_log.json"), "w") as f:
        json.dump(log, f, indent=1)
    print("wrote %s (%d parameters), final val mAP@0.5 %.4f, %.0f s total" % (
        weights_path, n_params, log["final_val_map50"], log["train_s_total"]), flush=True)


if __name__ == "__main__":
    main()
