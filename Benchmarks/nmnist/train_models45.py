#!/usr/bin/env python3
"""Train Deng et al. 2020's N-MNIST ANN baselines (models 4 and 5) on nmnist-small and export
them as ONNX test fixtures for SpikeScale.

Tooling only: SpikeScale itself is Swift. "Rethinking the performance comparison between SNNs
and ANNs" (Deng et al. 2020) feeds event data to ANNs as one static image (their Fig. 4):

  model 4  CNN on the *binary image*: the spike pattern unrolled along time, 1 where a time bin of
           a pixel/polarity holds an event; HWC 34 x 34 x (2*bins), channel t*2 + polarity
           (Swift: EventBinning.unrolledBinaryImage).
  model 5  CNN (and an MLP) on the *intensity image*: events per pixel/polarity divided by the
           largest such count, HWC 34 x 34 x 2, channel = polarity (Swift:
           EventBinning.intensityImage).

This script reads the .bs2 event files itself (5 bytes/event: x, y, then 24 bits big-endian whose
top bit is the polarity and whose low 23 bits are the timestamp in microseconds), builds both
images exactly as the Swift code does (float32, same rounding), trains on train1K.txt (1,000
samples), evaluates on test100.txt (100 samples) and writes into Tests/Fixtures (or --out):

  nmnist-model4-cnn.onnx   input "input" [1, 2*bins, 34, 34] (NCHW), output "logits" [1, 10]
  nmnist-model5-cnn.onnx   input "input" [1, 2, 34, 34]
  nmnist-model5-mlp.onnx   input "input" [1, 2, 34, 34] (Flatten first)
  nmnist-fixtures.json     representation settings, input checksums and onnxruntime logits of the
                           first 3 test samples, per model the onnxruntime test100 accuracy and
                           predictions, train accuracy, parameter counts, training settings.

Run from the repository root (about 5 minutes on one CPU thread):

    python3 Benchmarks/nmnist/train_models45.py

Seeded, one torch thread, deterministic algorithms: the same command with the same versions and CPU
reproduces the files.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import random
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# Helpers shared with the MNIST fixtures' trainer (seeding, onnxruntime logits, file hashes).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures"))
from train_fixtures import ort_logits, seed_everything, sha256  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

SEED = 20261123
SIZE = 34                 # N-MNIST sensor, 34 x 34
RECORDING_US = 300_000    # nominal recording length (three 100 ms saccades)
N_CHECK = 3               # test samples whose checksums and logits are recorded

# Model settings. Bin width for model 4: 10 ms -> 30 bins (see README.md for the reason).
MODELS = {
    "nmnist-model4-cnn": dict(representation="binary", arch="cnn4", epochs=100, lr=2e-3,
                              weight_decay=1e-4, batch_size=32, shift=2),
    "nmnist-model5-cnn": dict(representation="intensity", arch="cnn5", epochs=100, lr=2e-3,
                              weight_decay=1e-4, batch_size=32, shift=2),
    "nmnist-model5-mlp": dict(representation="intensity", arch="mlp", hidden=48, epochs=150,
                              lr=3e-3, weight_decay=1e-4, batch_size=32, shift=2),
}


# --------------------------------------------------------------------------
# Events and representations (mirrors Sources/SpikeData)
# --------------------------------------------------------------------------

def read_events(path):
    """x, y, polarity, timestamp (µs) arrays of one .bs2 file."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size % 5:
        raise ValueError(f"{path}: {raw.size} bytes is not a whole number of 5-byte events")
    b = raw.reshape(-1, 5).astype(np.int64)
    x, y = b[:, 0], b[:, 1]
    if (x >= SIZE).any() or (y >= SIZE).any():
        raise ValueError(f"{path}: event outside the {SIZE}x{SIZE} sensor")
    pol = b[:, 2] >> 7
    ts = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return x, y, pol, ts


def read_list(path):
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            sid, label = line.split()
            out.append((int(sid), int(label)))
    return out


def intensity_image(ev):
    """HWC [34, 34, 2]: counts per pixel/polarity times (1 / peak), the peak exactly 1
    (EventBinning.intensityImage multiplies by the float32 reciprocal)."""
    x, y, p, _ = ev
    counts = np.zeros(SIZE * SIZE * 2, dtype=np.int64)
    np.add.at(counts, (y * SIZE + x) * 2 + p, 1)
    peak = counts.max()
    if peak == 0:
        return np.zeros((SIZE, SIZE, 2), dtype=np.float32)
    scale = np.float32(1) / np.float32(peak)
    img = counts.astype(np.float32) * scale
    img[counts == peak] = 1
    return img.reshape(SIZE, SIZE, 2)


def unrolled_binary_image(ev, bin_us, bins):
    """HWC [34, 34, 2*bins]: channel t*2 + polarity is 1 where bin t holds an event
    (EventBinning.unrolledBinaryImage); events at or after bins*bin_us are dropped."""
    x, y, p, ts = ev
    t = ts // bin_us
    keep = t < bins
    img = np.zeros(SIZE * SIZE * 2 * bins, dtype=np.float32)
    img[((y[keep] * SIZE + x[keep]) * bins + t[keep]) * 2 + p[keep]] = 1
    return img.reshape(SIZE, SIZE, 2 * bins)


def frames_input(ev, bin_us, timesteps):
    """The SNN input of NMNISTSource .frames: `timesteps` binary HWC [34, 34, 2] frames
    concatenated frame after frame (flat)."""
    x, y, p, ts = ev
    t = ts // bin_us
    keep = t < timesteps
    out = np.zeros(timesteps * SIZE * SIZE * 2, dtype=np.float32)
    out[t[keep] * (SIZE * SIZE * 2) + (y[keep] * SIZE + x[keep]) * 2 + p[keep]] = 1
    return out


def checksum(a):
    """count, sum, sum of squares, and a position-weighted sum sum_i ((i mod 1000) + 1) * a_i over
    the flat HWC order (the plain sums do not see the layout), in float64."""
    a = np.asarray(a, dtype=np.float32).astype(np.float64).ravel()
    w = (np.arange(a.size) % 1000 + 1).astype(np.float64)
    return {"count": int(a.size), "sum": float(a.sum()), "sum_squares": float((a * a).sum()),
            "weighted_sum": float((w * a).sum())}


# --------------------------------------------------------------------------
# Models (ReLU only, no batch norm, logits out)
# --------------------------------------------------------------------------

def make_cnn4(in_ch):
    """Model 4: the binary image is large (2*bins channels), so the first conv has stride 2."""
    return nn.Sequential(
        nn.Conv2d(in_ch, 32, 3, stride=2, padding=1), nn.ReLU(),   # 17x17x32
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),                                           # 8x8x32
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),                                           # 4x4x64
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def make_cnn5(in_ch):
    """Model 5: intensity image, stride-1 convs with average pooling."""
    return nn.Sequential(
        nn.Conv2d(in_ch, 16, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),                                           # 17x17x16
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),                                           # 8x8x32
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.AvgPool2d(2),                                           # 4x4x64
        nn.Flatten(),
        nn.Linear(64 * 4 * 4, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def make_mlp(in_ch, hidden):
    return nn.Sequential(nn.Flatten(), nn.Linear(in_ch * SIZE * SIZE, hidden), nn.ReLU(),
                         nn.Linear(hidden, 10))


def build(cfg, in_ch):
    if cfg["arch"] == "cnn4":
        return make_cnn4(in_ch)
    if cfg["arch"] == "cnn5":
        return make_cnn5(in_ch)
    return make_mlp(in_ch, cfg["hidden"])


def describe(model):
    parts = []
    for m in model:
        if isinstance(m, nn.Conv2d):
            parts.append(f"Conv{m.kernel_size[0]}x{m.kernel_size[1]}({m.in_channels}->{m.out_channels}, "
                         f"stride {m.stride[0]}, pad {m.padding[0]})")
        elif isinstance(m, nn.Linear):
            parts.append(f"Dense({m.in_features}->{m.out_features})")
        elif isinstance(m, nn.ReLU):
            parts.append("ReLU")
        elif isinstance(m, nn.AvgPool2d):
            parts.append(f"AvgPool{m.kernel_size}")
        elif isinstance(m, nn.Flatten):
            parts.append("Flatten")
    return " - ".join(parts)


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

def random_shift(xb, shift, gen):
    """Saccade-like augmentation: shift each image by -shift..shift pixels in x and y (zero fill)."""
    if shift == 0:
        return xb
    n, _, h, w = xb.shape
    padded = F.pad(xb, (shift, shift, shift, shift))
    d = torch.randint(0, 2 * shift + 1, (n, 2), generator=gen)
    out = torch.empty_like(xb)
    for i in range(n):
        dy, dx = int(d[i, 0]), int(d[i, 1])
        out[i] = padded[i, :, dy:dy + h, dx:dx + w]
    return out


def train(model, x, y, cfg, seed, log):
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    steps = cfg["epochs"] * math.ceil(len(xt) / cfg["batch_size"])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=steps,
                                                pct_start=0.15)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(cfg["epochs"]):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xt), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xt), cfg["batch_size"]):
            idx = perm[i:i + cfg["batch_size"]]
            xb, yb = random_shift(xt[idx], cfg["shift"], gen), yt[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            total += len(idx)
        if epoch % 5 == 4 or epoch == cfg["epochs"] - 1:
            log(f"  epoch {epoch + 1}/{cfg['epochs']}: loss {loss_sum / total:.4f} "
                f"train acc (augmented) {correct / total:.4f} ({time.time() - t0:.1f}s)")


@torch.no_grad()
def torch_logits(model, x, batch=250):
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy()
                           for i in range(0, len(x), batch)])


def export_onnx(model, path, in_shape):
    """TorchScript exporter, opset 13, as Tests/Fixtures/train_fixtures.py (fixed batch of 1)."""
    model.eval()
    dummy = torch.zeros(1, *in_shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (dummy,), path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          do_constant_folding=True, dynamo=False,
                          training=torch.onnx.TrainingMode.EVAL)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/nmnist-small",
                    help="N-MNIST folder with N.bs2, train1K.txt, test100.txt (default relative to repo root)")
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "Tests", "Fixtures"))
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--bin-ms", type=float, default=10.0, help="bin width of model 4's binary image")
    ap.add_argument("--bins", type=int, default=None, help="bins (default ceil(300 ms / bin))")
    ap.add_argument("--epochs", type=int, default=None, help="override every model's epochs")
    ap.add_argument("--mlp-hidden", type=int, default=None, help="override the MLP's hidden width")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--dry-run", action="store_true", help="train and evaluate, write nothing")
    ap.add_argument("--validate", type=int, default=0, metavar="N",
                    help="model selection: hold out the last N train1K samples and report accuracy "
                         "on them instead of test100 (implies --dry-run)")
    args = ap.parse_args()

    data = args.data
    if data == ap.get_default("data") and not os.path.isabs(data):
        data = os.path.join(REPO_ROOT, data)
    bin_us = round(args.bin_ms * 1000)
    if bin_us <= 0 or abs(bin_us - args.bin_ms * 1000) > 1e-6:
        sys.exit(f"--bin-ms {args.bin_ms}: must be a positive whole number of microseconds")
    bins = args.bins if args.bins is not None else -(-RECORDING_US // bin_us)

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    import onnx
    import onnxruntime

    def log(msg):
        print(msg, flush=True)

    train_list = read_list(os.path.join(data, "train1K.txt"))
    test_list = read_list(os.path.join(data, "test100.txt"))
    t0 = time.time()
    train_ev = [read_events(os.path.join(data, f"{sid}.bs2")) for sid, _ in train_list]
    test_ev = [read_events(os.path.join(data, f"{sid}.bs2")) for sid, _ in test_list]
    if args.validate:
        args.dry_run = True
        test_list, train_list = train_list[-args.validate:], train_list[:-args.validate]
        test_ev, train_ev = train_ev[-args.validate:], train_ev[:-args.validate]
        log(f"validation run: training on {len(train_list)}, evaluating on the held-out {len(test_list)} train samples")
    ytr = np.array([c for _, c in train_list], dtype=np.int64)
    yte = np.array([c for _, c in test_list], dtype=np.int64)

    def nchw(images):
        return np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2), dtype=np.float32)

    reps = {
        "intensity": (nchw([intensity_image(e) for e in train_ev]),
                      nchw([intensity_image(e) for e in test_ev])),
        "binary": (nchw([unrolled_binary_image(e, bin_us, bins) for e in train_ev]),
                   nchw([unrolled_binary_image(e, bin_us, bins) for e in test_ev])),
    }
    log(f"read {len(train_ev)} train + {len(test_ev)} test samples, bin {bin_us} µs x {bins} bins "
        f"({time.time() - t0:.1f}s)")

    checks = []
    for i in range(N_CHECK):
        e = test_ev[i]
        checks.append({
            "index": i, "sample": test_list[i][0], "label": test_list[i][1], "events": int(len(e[0])),
            "intensity": checksum(intensity_image(e)),
            "binary": checksum(unrolled_binary_image(e, bin_us, bins)),
            "frames": checksum(frames_input(e, bin_us, bins)),
        })

    meta = {
        "generator": {
            "script": "Benchmarks/nmnist/train_models45.py",
            "command": " ".join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)] + sys.argv[1:]),
            "python": platform.python_version(), "torch": torch.__version__, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "numpy": np.__version__, "torch_threads": 1,
            "seed": args.seed,
        },
        "data": {"folder": "nmnist-small", "train": "train1K.txt (1000 samples)",
                 "test": "test100.txt (100 samples)"},
        "representation": {
            "bin_ms": bin_us / 1000, "bin_us": bin_us, "bins": bins,
            "binary": f"EventBinning.unrolledBinaryImage, HWC 34x34x{2 * bins}, channel t*2 + polarity",
            "intensity": "EventBinning.intensityImage, HWC 34x34x2, counts / peak count",
            "frames": f"NMNISTSource .frames(binMicroseconds: {bin_us}, timesteps: {bins}): "
                      f"{bins} binary 34x34x2 frames concatenated",
        },
        "checks": checks,
        "models": {},
    }

    for name in args.models:
        cfg = dict(MODELS[name])
        if args.epochs is not None:
            cfg["epochs"] = args.epochs
        if args.mlp_hidden is not None and cfg["arch"] == "mlp":
            cfg["hidden"] = args.mlp_hidden
        xtr, xte = reps[cfg["representation"]]
        in_shape = xtr.shape[1:]
        log(f"== {name} ({cfg['representation']} {list(in_shape)} NCHW)")
        t0 = time.time()
        seed_everything(args.seed)
        model = build(cfg, in_shape[0])
        n_params = sum(p.numel() for p in model.parameters())
        log(f"  {describe(model)}: {n_params} parameters")
        train(model, xtr, ytr, cfg, args.seed, log)
        train_s = time.time() - t0
        train_acc = float((torch_logits(model, xtr).argmax(1) == ytr).mean())
        tl = torch_logits(model, xte)
        torch_acc = float((tl.argmax(1) == yte).mean())
        log(f"  train acc {train_acc:.4f}, {'validation' if args.validate else 'test100'} acc (torch) "
            f"{torch_acc:.4f}, {train_s:.0f}s")
        if args.dry_run:
            continue

        path = os.path.join(args.out, f"{name}.onnx")
        export_onnx(model, path, in_shape)
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ops = [n.op_type for n in m.graph.node]
        ol = ort_logits(path, xte)
        ort_acc = float((ol.argmax(1) == yte).mean())
        diff = float(np.abs(ol - tl).max())
        log(f"  onnxruntime test100 acc {ort_acc:.4f}, max |ort - torch| {diff:.2e}, "
            f"{os.path.getsize(path)} bytes, ops {ops}")
        meta["models"][name] = {
            "file": f"{name}.onnx", "sha256": sha256(path), "bytes": os.path.getsize(path),
            "paper_model": 4 if cfg["representation"] == "binary" else 5,
            "representation": cfg["representation"],
            "input": {"name": "input", "shape": [1, *map(int, in_shape)], "layout": "NCHW",
                      "swift_shape_hwc": [SIZE, SIZE, int(in_shape[0])]},
            "output": {"name": "logits", "shape": [1, 10]},
            "architecture": describe(model), "parameters": n_params, "node_op_types": ops,
            "train_accuracy": train_acc,
            "train_accuracy_source": "torch, eval mode, the 1000 unshifted train1K samples",
            "test_accuracy": ort_acc,
            "test_accuracy_source": "onnxruntime CPUExecutionProvider, 100 test100 samples, Python-built inputs",
            "test_accuracy_torch": torch_acc,
            "max_abs_logit_diff_ort_vs_torch": diff,
            "test_labels": [int(v) for v in yte],
            "test_predicted": [int(v) for v in ol.argmax(1)],
            "logits": [[float(v) for v in ol[i]] for i in range(N_CHECK)],
            "training": {
                "epochs": cfg["epochs"], "optimizer": "AdamW", "lr": cfg["lr"],
                "weight_decay": cfg["weight_decay"], "lr_schedule": "one-cycle (15% warm-up, cosine)",
                "batch_size": cfg["batch_size"], "loss": "cross-entropy",
                "augmentation": f"random shift of -{cfg['shift']}..{cfg['shift']} px in x and y, zero fill",
                "train_samples": len(xtr), "seconds": round(train_s, 1),
            },
            "export": {"exporter": "torch.onnx.export (TorchScript, dynamo=False)", "opset": 13,
                       "training_mode": "EVAL", "do_constant_folding": True},
        }

    if not args.dry_run:
        path = os.path.join(args.out, "nmnist-fixtures.json")
        old = {}
        if os.path.exists(path):
            with open(path) as f:
                old = json.load(f)
        if old.get("representation", {}).get("bin_us") == bin_us and old.get("representation", {}).get("bins") == bins:
            for k, v in old.get("models", {}).items():
                meta["models"].setdefault(k, v)   # keep models not retrained in this run
        meta["models"] = {k: meta["models"][k] for k in MODELS if k in meta["models"]}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
