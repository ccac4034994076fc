#!/usr/bin/env python3
"""Train and export the small ONNX fixtures used by SpikeScale's tests.

Tooling only: SpikeScale itself is Swift. This script trains three small ANNs
(mnist-cnn, fashion-cnn, mnist-mlp) on MNIST / Fashion-MNIST read straight from
the gzipped IDX files, exports them to ONNX (opset 13, logits out, no Softmax,
no Dropout), evaluates the exported files with onnxruntime on the full 10,000
image test split and writes, beside this script (or --out):

  <name>.onnx            the model, input "input" [1,1,28,28] float32 in [0,1],
                         output "logits" [1,10]
  <name>.reference.bin   onnxruntime logits for t10k images 0..99,
                         little-endian float32, shape [100,10], row-major
  fixtures.json          metadata (accuracies, settings, versions, op types)

Pixels are scaled to [0,1] only (x / 255), no mean/std normalisation, because
the spiking simulator injects the raw [0,1] pixels.

Run from the repository root:

    python3 Tests/Fixtures/train_fixtures.py

Relative default data paths are resolved against the repository root (two
levels above this file); paths given explicitly are used as given.
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import random
import struct
import sys
import time
import warnings

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

SEED = 20240601
N_REFERENCE = 100

# Per-model settings. Targets are the minimum test accuracy (onnxruntime, full
# 10k test split); the script exits non-zero if one is missed.
MODELS = {
    "mnist-cnn": dict(dataset="mnist", arch="cnn", channels=(16, 32),
                      epochs=5, lr=1e-3, batch_size=128, target=0.990),
    # Same widths as mnist-cnn: widening conv2 to 64 would make
    # Linear(64*7*7 -> 128) 1.6 MB, and the fixtures must stay under 1 MB.
    "fashion-cnn": dict(dataset="fashion-mnist", arch="cnn", channels=(16, 32),
                        epochs=8, lr=1e-3, batch_size=128, target=0.900),
    "mnist-mlp": dict(dataset="mnist", arch="mlp", hidden=(256, 128),
                      epochs=10, lr=1e-3, batch_size=128, target=0.975),
    # Residual CNN with average pooling (issue 12, rate conversion at low T): two residual
    # blocks (Add of a conv branch and the identity, then ReLU), AvgPool 2 and a global average pool.
    "mnist-resnet": dict(dataset="mnist", arch="resnet", channels=(8, 16),
                         epochs=2, lr=3e-3, batch_size=128, target=0.980),
}


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def read_idx(path):
    """Parse a (gzipped) IDX file into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: size mismatch")
    return arr.reshape(dims)


def load_split(root, split):
    images = read_idx(os.path.join(root, f"{split}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(root, f"{split}-labels-idx1-ubyte.gz"))
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]  # [N,1,28,28] in [0,1]
    y = labels.astype(np.int64)
    return x, y


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def make_cnn(c1, c2):
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1, bias=False),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.AvgPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1, bias=False),
        nn.BatchNorm2d(c2),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(c2 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


class ResidualBlock(nn.Module):
    """relu(bn_b(conv_b(relu(bn_a(conv_a(x))))) + x), 3x3 convolutions without bias."""

    def __init__(self, c):
        super().__init__()
        self.conv_a = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn_a = nn.BatchNorm2d(c)
        self.relu_a = nn.ReLU()
        self.conv_b = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn_b = nn.BatchNorm2d(c)
        self.relu_out = nn.ReLU()

    def forward(self, x):
        return self.relu_out(self.bn_b(self.conv_b(self.relu_a(self.bn_a(self.conv_a(x))))) + x)


class ResNet(nn.Module):
    """Conv(1->c1)+BN+ReLU, AvgPool 2, residual block(c1), Conv(c1->c2, stride 2)+BN+ReLU,
    residual block(c2), global average pool, Linear(c2->10). Every ReLU is its own module
    (SpikingJelly's ann2snn converts nn.ReLU modules), so Benchmarks/peer rebuilds it from here."""

    def __init__(self, c1, c2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.AvgPool2d(2)
        self.block1 = ResidualBlock(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.relu2 = nn.ReLU()
        self.block2 = ResidualBlock(c2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(c2, 10)

    def forward(self, x):
        x = self.block1(self.pool1(self.relu1(self.bn1(self.conv1(x)))))
        x = self.block2(self.relu2(self.bn2(self.conv2(x))))
        return self.fc(self.flatten(self.gap(x)))


def make_mlp(h1, h2):
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, h1),
        nn.ReLU(),
        nn.Linear(h1, h2),
        nn.ReLU(),
        nn.Linear(h2, 10),
    )


def build(cfg):
    if cfg["arch"] == "cnn":
        return make_cnn(*cfg["channels"])
    if cfg["arch"] == "resnet":
        return ResNet(*cfg["channels"])
    return make_mlp(*cfg["hidden"])


# --------------------------------------------------------------------------
# Training / evaluation
# --------------------------------------------------------------------------

def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(model, x, y, cfg, seed, log):
    seed_everything(seed)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.from_numpy(x)
    yt = torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    steps_per_epoch = (len(xt) + cfg["batch_size"] - 1) // cfg["batch_size"]
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(
        opt, T_max=cfg["epochs"] * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(cfg["epochs"]):
        model.train()
        t0 = time.time()
        perm = torch.randperm(len(xt), generator=gen)
        total, correct, loss_sum = 0, 0, 0.0
        for i in range(0, len(xt), cfg["batch_size"]):
            idx = perm[i:i + cfg["batch_size"]]
            xb, yb = xt[idx], yt[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
            total += len(idx)
        log(f"  epoch {epoch + 1}/{cfg['epochs']}: loss {loss_sum / total:.4f} "
            f"train acc {correct / total:.4f} ({time.time() - t0:.1f}s)")


@torch.no_grad()
def torch_logits(model, x, batch=1000):
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy()
                           for i in range(0, len(x), batch)])


def export_onnx(model, path):
    """Export with the TorchScript exporter (the dynamo exporter needs
    onnxscript and emits opset >= 18). TrainingMode.PRESERVE on a model in
    eval() mode exports inference-mode BatchNormalization nodes unfused;
    TrainingMode.EVAL would fold them into the preceding Conv."""
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (dummy,), path, opset_version=13,
                          input_names=["input"], output_names=["logits"],
                          do_constant_folding=True, dynamo=False,
                          training=torch.onnx.TrainingMode.PRESERVE)


def ort_logits(path, x):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    out = np.empty((len(x), 10), dtype=np.float32)
    for i in range(len(x)):  # the graph has a fixed batch of 1
        out[i] = sess.run(["logits"], {"input": x[i:i + 1]})[0][0]
    return out


def write_json(path, name, entry, generator):
    """Merge one model's entry into fixtures.json (re-read just before writing,
    so runs of different --models subsets keep each other's entries)."""
    meta = {"models": {}}
    if os.path.exists(path):
        with open(path) as f:
            meta = json.load(f)
    meta["generator"] = generator
    meta.setdefault("models", {})[name] = entry
    meta["models"] = {k: meta["models"][k] for k in MODELS if k in meta["models"]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-mnist", default="../shared/data/mnist",
                    help="folder with MNIST *-idx?-ubyte.gz (default relative to repo root)")
    ap.add_argument("--data-fashion", default="../shared/data/fashion-mnist",
                    help="folder with Fashion-MNIST *-idx?-ubyte.gz (default relative to repo root)")
    ap.add_argument("--out", default=HERE, help="output folder (default: this script's folder)")
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    def resolve(p, default):
        return os.path.join(REPO_ROOT, p) if p == default and not os.path.isabs(p) else p

    data_dirs = {
        "mnist": resolve(args.data_mnist, ap.get_default("data_mnist")),
        "fashion-mnist": resolve(args.data_fashion, ap.get_default("data_fashion")),
    }
    os.makedirs(args.out, exist_ok=True)

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    import onnx
    import onnxruntime

    def log(msg):
        print(msg, flush=True)

    json_path = os.path.join(args.out, "fixtures.json")
    meta = {"models": {}}
    meta["generator"] = {
        "script": "Tests/Fixtures/train_fixtures.py",
        "command": "python3 Tests/Fixtures/train_fixtures.py",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
    }

    datasets = {}
    failed = []
    t_all = time.time()
    for name in args.models:
        cfg = MODELS[name]
        ds = cfg["dataset"]
        if ds not in datasets:
            datasets[ds] = (load_split(data_dirs[ds], "train"), load_split(data_dirs[ds], "t10k"))
        (xtr, ytr), (xte, yte) = datasets[ds]

        log(f"== {name} ({ds}: {len(xtr)} train, {len(xte)} test)")
        t0 = time.time()
        seed_everything(args.seed)
        model = build(cfg)
        train(model, xtr, ytr, cfg, args.seed, log)
        train_s = time.time() - t0

        tl = torch_logits(model, xte)
        torch_acc = float((tl.argmax(1) == yte).mean())

        onnx_path = os.path.join(args.out, f"{name}.onnx")
        export_onnx(model, onnx_path)
        m = onnx.load(onnx_path)
        onnx.checker.check_model(m, full_check=True)
        ops = [n.op_type for n in m.graph.node]

        ol = ort_logits(onnx_path, xte)
        ort_acc = float((ol.argmax(1) == yte).mean())
        max_diff = float(np.abs(ol - tl).max())

        ref_name = f"{name}.reference.bin"
        ref = np.ascontiguousarray(ol[:N_REFERENCE], dtype="<f4")
        ref.tofile(os.path.join(args.out, ref_name))

        ok = ort_acc >= cfg["target"]
        if not ok:
            failed.append(name)
        n_params = sum(p.numel() for p in model.parameters())
        log(f"  torch acc {torch_acc:.4f}, onnxruntime acc {ort_acc:.4f} "
            f"(target {cfg['target']:.3f}{'' if ok else ' MISSED'}), "
            f"max |ort - torch| {max_diff:.2e}, {os.path.getsize(onnx_path)} bytes, "
            f"{time.time() - t0:.0f}s")
        log(f"  ops: {ops}")

        arch = ({"conv_channels": list(cfg["channels"]), "hidden": 128} if cfg["arch"] == "cnn"
                else {"conv_channels": list(cfg["channels"]), "residual_blocks": 2} if cfg["arch"] == "resnet"
                else {"hidden": list(cfg["hidden"])})
        meta["models"][name] = {
            "file": f"{name}.onnx",
            "sha256": sha256(onnx_path),
            "bytes": os.path.getsize(onnx_path),
            "dataset": ds,
            "preprocessing": "uint8 pixel / 255 -> float32 in [0,1]; no mean/std normalisation",
            "input": {"name": "input", "shape": [1, 1, 28, 28], "dtype": "float32"},
            "output": {"name": "logits", "shape": [1, 10], "dtype": "float32"},
            "architecture": {"kind": cfg["arch"], **arch, "parameters": n_params},
            "test_accuracy": ort_acc,
            "test_accuracy_source": "onnxruntime CPUExecutionProvider, all 10000 t10k images",
            "test_accuracy_torch": torch_acc,
            "max_abs_logit_diff_ort_vs_torch": max_diff,
            "target_accuracy": cfg["target"],
            "meets_target": ok,
            "training": {
                "epochs": cfg["epochs"], "seed": args.seed, "optimizer": "Adam",
                "lr": cfg["lr"], "lr_schedule": "cosine annealing to 0 (per step)",
                "batch_size": cfg["batch_size"], "loss": "cross-entropy",
                "train_images": len(xtr), "seconds": round(train_s, 1),
            },
            "export": {
                "exporter": "torch.onnx.export (TorchScript, dynamo=False)",
                "opset": 13,
                "training_mode": "PRESERVE on eval() model",
                "batchnorm": ("unfused BatchNormalization nodes (inference mode)"
                              if "BatchNormalization" in ops else "none in model"),
                "do_constant_folding": True,
            },
            "versions": {"torch": torch.__version__, "onnx": onnx.__version__,
                         "onnxruntime": onnxruntime.__version__},
            "torch_threads": args.threads,
            "command": " ".join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), REPO_ROOT)] + sys.argv[1:]),
            "node_op_types": ops,
            "reference": {
                "file": ref_name,
                "content": "onnxruntime logits",
                "dtype": "float32 little-endian",
                "shape": [N_REFERENCE, 10],
                "layout": "row-major",
                "images": f"t10k split indices 0..{N_REFERENCE - 1} of {ds}",
                "labels": [int(v) for v in yte[:N_REFERENCE]],
                "predicted": [int(v) for v in ol[:N_REFERENCE].argmax(1)],
            },
        }
        write_json(json_path, name, meta["models"][name], meta["generator"])

    log(f"total {time.time() - t_all:.0f}s")
    if failed:
        log(f"TARGET MISSED: {failed}")
        sys.exit(1)


if __name__ == "__main__":
    main()
