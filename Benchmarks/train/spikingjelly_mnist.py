#!/usr/bin/env python3
"""The same STBP-tdBN training in SpikingJelly, for the side-by-side comparison with `spikescale train`.

Network '16c3-ap2-32c3-ap2-128fc' as SpikeScale builds it: conv 3x3 (no bias) - tdBN (alpha 1, V_th 0.5)
- LIF (tau 0.5 = SpikingJelly tau 2, decay_input False, hard reset to 0, rectangular surrogate width 1)
- avgpool 2 - conv - tdBN - LIF - avgpool 2 - flatten - dense 128 - tdBN1d - LIF - dense 10 (bias);
mean output over T = 4 analog timesteps, cross-entropy, Adam, cosine over epochs, batch 64 (last
incomplete batch dropped), one thread (SpikeScale runs one OpenBLAS thread per rank).
Usage: spikingjelly_mnist.py DATA_DIR TRAIN_LIMIT TEST_LIMIT EPOCHS [LR]
Prints one JSON line per epoch: seconds (training only), loss, train and test accuracy.
"""
import gzip, json, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import neuron, layer, functional

torch.set_num_threads(1)
torch.manual_seed(1)
data_dir, n_train, n_test, epochs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 2e-3
T, B, VTH = 4, 64, 0.5


def idx(path):
    with gzip.open(path) as f:
        b = f.read()
    nd = b[3]
    dims = [int.from_bytes(b[4 + 4 * i:8 + 4 * i], "big") for i in range(nd)]
    return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


xtr = torch.tensor(idx(f"{data_dir}/train-images-idx3-ubyte.gz")[:n_train], dtype=torch.float32).div_(255).unsqueeze(1)
ytr = torch.tensor(idx(f"{data_dir}/train-labels-idx1-ubyte.gz")[:n_train], dtype=torch.long)
xte = torch.tensor(idx(f"{data_dir}/t10k-images-idx3-ubyte.gz")[:n_test], dtype=torch.float32).div_(255).unsqueeze(1)
yte = torch.tensor(idx(f"{data_dir}/t10k-labels-idx1-ubyte.gz")[:n_test], dtype=torch.long)


class Rect(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() < 0.5).to(x)


class RectSurrogate(nn.Module):
    def forward(self, x):
        return Rect.apply(x)


def lif():
    return neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=VTH, v_reset=0.0, detach_reset=False,
                          surrogate_function=RectSurrogate(), step_mode="m")


net = nn.Sequential(
    layer.Conv2d(1, 16, 3, padding=1, bias=False, step_mode="m"), layer.ThresholdDependentBatchNorm2d(alpha=1.0, v_th=VTH, num_features=16), lif(),
    layer.AvgPool2d(2, step_mode="m"),
    layer.Conv2d(16, 32, 3, padding=1, bias=False, step_mode="m"), layer.ThresholdDependentBatchNorm2d(alpha=1.0, v_th=VTH, num_features=32), lif(),
    layer.AvgPool2d(2, step_mode="m"),
    layer.Flatten(step_mode="m"),
    layer.Linear(32 * 7 * 7, 128, bias=False, step_mode="m"), layer.ThresholdDependentBatchNorm1d(alpha=1.0, v_th=VTH, num_features=128), lif(),
    layer.Linear(128, 10, step_mode="m"))
opt = torch.optim.Adam(net.parameters(), lr=lr)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)


def run(x):
    out = net(x.unsqueeze(0).repeat(T, 1, 1, 1, 1)).mean(0)
    functional.reset_net(net)
    return out


for epoch in range(epochs):
    net.train()
    perm = torch.randperm(n_train)
    t0 = time.time()
    tot, correct, batches = 0.0, 0, n_train // B
    for b in range(batches):
        idxs = perm[b * B:(b + 1) * B]
        out = run(xtr[idxs])
        loss = F.cross_entropy(out, ytr[idxs])
        opt.zero_grad()
        loss.backward()
        opt.step()
        tot += float(loss)
        correct += int((out.argmax(1) == ytr[idxs]).sum())
    seconds = time.time() - t0
    sched.step()
    net.eval()
    with torch.no_grad():
        pred = torch.cat([run(xte[i:i + 200]).argmax(1) for i in range(0, n_test, 200)])
    print(json.dumps({"epoch": epoch + 1, "seconds": seconds, "trainLoss": tot / batches, "trainAccuracy": correct / (batches * B),
                      "testAccuracy": float((pred == yte).float().mean())}), flush=True)
