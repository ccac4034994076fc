#!/usr/bin/env python3
"""Train and export the few-spike (issue 12) ONNX fixtures: Fashion-MNIST CNNs whose
activations rate coding cannot convert.

  fashion-silu-cnn.onnx        Conv+BN+SiLU x3 (strides 1, 2, 2), Flatten, Gemm
  fashion-mobilenet-hs.onnx    MobileNet-style: Conv+BN+HardSwish, then depthwise 3x3 +
                               pointwise 1x1 blocks (BN + HardSwish), GlobalAveragePool, Gemm

Input "input" [1,1,28,28] float32 pixels / 255 (no normalisation), output "logits" [1,10].
Tooling only (SpikeScale is Swift). Seeded, deterministic torch algorithms, 2 threads.
Run from the repository root with torch (CPU), onnx and onnxruntime installed:

    python3 Tests/Fixtures/train_fs_fixtures.py

Writes the two .onnx files and fs-fixtures.json (ANN accuracies by onnxruntime on the full
10,000-image t10k split) beside this script.
"""

import argparse
import json
import os
import random
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from train_fixtures import load_split, ort_logits  # noqa: E402

SEED = 20261130


def silu_cnn():
    def block(cin, cout, stride):
        return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.SiLU()]
    return nn.Sequential(*block(1, 16, 1), *block(16, 32, 2), *block(32, 32, 2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def mobilenet_hs():
    def conv_bn(cin, cout, k, stride, groups=1):
        return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.Hardswish()]

    def dw_pw(cin, cout, stride):
        return conv_bn(cin, cin, 3, stride, groups=cin) + conv_bn(cin, cout, 1, 1)
    return nn.Sequential(*conv_bn(1, 16, 3, 1), *dw_pw(16, 32, 2), *dw_pw(32, 64, 2), *dw_pw(64, 64, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


MODELS = {
    "fashion-silu-cnn": dict(build=silu_cnn, epochs=2, opset=13),
    "fashion-mobilenet-hs": dict(build=mobilenet_hs, epochs=2, opset=14),
}


def train(model, x, y, epochs, seed):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = epochs * ((len(x) + 127) // 128)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        total = 0.0
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step(); sched.step()
            total += loss.item() * len(idx)
        print(f"  epoch {ep + 1}/{epochs}: loss {total / len(x):.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "..", "shared", "data", "fashion-mnist"))
    ap.add_argument("--out", default=HERE)
    ap.add_argument("--models", nargs="*", default=list(MODELS))
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)
    xtr, ytr = load_split(args.data, "train")
    xte, yte = load_split(args.data, "t10k")
    meta = {}
    for name in args.models:
        cfg = MODELS[name]
        random.seed(SEED); np.random.seed(SEED); torch.manual_seed(SEED)
        model = cfg["build"]()
        print(f"{name}: training {cfg['epochs']} epochs", flush=True)
        train(model, xtr, ytr, cfg["epochs"], SEED)
        model.eval()
        path = os.path.join(args.out, name + ".onnx")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, opset_version=cfg["opset"],
                              input_names=["input"], output_names=["logits"], do_constant_folding=True, dynamo=False)
        acc = float((ort_logits(path, xte).argmax(1) == yte).mean())
        print(f"{name}: onnxruntime top-1 {acc * 100:.2f}% on 10,000 t10k images, {os.path.getsize(path)} bytes", flush=True)
        meta[name] = dict(file=name + ".onnx", dataset="fashion-mnist", epochs=cfg["epochs"], seed=SEED, opset=cfg["opset"],
                          onnxruntime_top1=acc, bytes=os.path.getsize(path), torch=torch.__version__)
    with open(os.path.join(args.out, "fs-fixtures.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)


if __name__ == "__main__":
    main()
