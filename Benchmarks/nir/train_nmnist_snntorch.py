#!/usr/bin/env python3
"""Trains a small SNN on N-MNIST train1K in snnTorch, exports it to NIR and records its accuracy on test100.

    python3 Benchmarks/nir/train_nmnist_snntorch.py [DATA_DIR] [OUT_DIR]

DATA_DIR is ../shared/data/nmnist-small (N-MNIST .bs2 recordings + train1K.txt / test100.txt). The input is
SpikeScale's `--encoder events` frames exactly (SignalConversion.swift, EventBinning.frames): T = 30 binary
frames of 10 ms, frame t holds the events with timestamp // 10000 == t, one channel per polarity; here in
NIR's CHW order (2, 34, 34). Network: Conv2d(2->8, 5x5, stride 2) -> Leaky -> Flatten -> Affine(1800->10)
-> Leaky, with learnable per-neuron β and θ in both Leaky layers (exported as per-neuron NIR parameters);
readout = output spike count, argmax with ties to the lowest class (as SpikeScale's argmax).
EPOCHS epochs of Adam (batch 50, seeded), about 4 s per epoch on one idle core.
Writes OUT_DIR/nmnist-snntorch.nir and OUT_DIR/nmnist-snntorch.json (library accuracy, per-sample counts).
"""
import json
import os
import sys

import numpy as np
import torch

import nir
import snntorch as snn
from snntorch import surrogate, utils
from snntorch.export_nir import export_to_nir

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nmnist-small"
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.abspath(__file__))
T, BIN_US = 30, 10_000
EPOCHS = int(os.environ.get("EPOCHS", "30"))
torch.manual_seed(13)
np.random.seed(13)
torch.set_num_threads(1)


def events(path):
    b = np.fromfile(path, dtype=np.uint8)
    b = b[: len(b) // 5 * 5].reshape(-1, 5).astype(np.int64)
    x, y, pol = b[:, 0], b[:, 1], b[:, 2] >> 7
    ts = ((b[:, 2] & 0x7F) << 16) | (b[:, 3] << 8) | b[:, 4]
    return x, y, pol, ts


def frames(path):
    x, y, pol, ts = events(path)
    f = np.zeros((T, 2, 34, 34), dtype=np.float32)
    t = ts // BIN_US
    keep = (t < T) & (x < 34) & (y < 34)
    f[t[keep], pol[keep], y[keep], x[keep]] = 1
    return f


def split(name):
    rows = [l.split() for l in open(os.path.join(DATA, name)) if l.strip() and not l.startswith("#")]
    xs = np.stack([frames(os.path.join(DATA, f"{r[0]}.bs2")) for r in rows])
    return torch.from_numpy(xs), torch.tensor([int(r[1]) for r in rows])


def main():
    xtr, ytr = split("train1K.txt")
    xte, yte = split("test100.txt")
    grad = surrogate.fast_sigmoid(slope=25)
    beta = 0.9
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 8, 5, stride=2),
        snn.Leaky(beta=torch.full((8, 15, 15), beta), threshold=torch.full((8, 15, 15), 1.0), spike_grad=grad, init_hidden=True,
                  learn_beta=True, learn_threshold=True),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 15 * 15, 10),
        snn.Leaky(beta=torch.full((10,), beta), threshold=torch.full((10,), 1.0), spike_grad=grad, init_hidden=True, output=True,
                  learn_beta=True, learn_threshold=True),
    )

    def forward(x):                   # x: (B, T, 2, 34, 34) -> spike counts (B, 10)
        utils.reset(net)
        count = 0
        for t in range(T):
            spk, _ = net(x[:, t])
            count = count + spk
        return count

    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    for epoch in range(EPOCHS):
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 50):
            idx = perm[i:i + 50]
            counts = forward(xtr[idx])
            loss = torch.nn.functional.cross_entropy(counts, ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():      # keep β below 1 (β = 1 exports as τ = ∞) and θ positive
                for m in net:
                    if isinstance(m, snn.Leaky):
                        m.beta.clamp_(0.0, 0.995)
                        m.threshold.clamp_(min=0.05)
        print(f"epoch {epoch}: loss {loss.item():.3f}", flush=True)

    with torch.no_grad():
        counts = forward(xte)
    pred = counts.argmax(1)             # the first maximum, as SpikeScale's argmax
    acc = (pred == yte).float().mean().item()
    utils.reset(net)
    graph = export_to_nir(net, xte[0, :1], ignore_dims=[0])
    nir.write(os.path.join(OUT, "nmnist-snntorch.nir"), graph)
    json.dump({"library": "snntorch", "dt": 1e-4, "timesteps": T, "bin_ms": BIN_US / 1000, "test100_accuracy": acc,
               "predictions": pred.tolist(), "counts": counts.tolist()},
              open(os.path.join(OUT, "nmnist-snntorch.json"), "w"))
    print(f"snnTorch test100 accuracy {acc:.2f}; wrote {OUT}/nmnist-snntorch.nir")


if __name__ == "__main__":
    main()
