#!/usr/bin/env python3
"""Reference weight gradients of one STBP step, computed with SpikingJelly (CPU torch).

The network is SpikeScale's architecture '4c3-ap2-dw3-8fc' on a 8x8x2 input, T = 4, batch 4:
conv 3x3 (2->4) - tdBN - LIF - avgpool 2 - depthwise conv 3x3 - tdBN - LIF - flatten - dense 8 -
tdBN1d - LIF - dense 10 (bias) - mean over T - loss. Two cases:
  A: tdBN (SpikingJelly's ThresholdDependentBatchNorm2d/1d, alpha 1, V_th 0.5), LIF tau 0.5 with hard
     reset, rectangular surrogate of width 1, cross-entropy;
  B: plain BN, LIF reset by subtraction, sigmoid surrogate (alpha 4 = width 1), MSE to one-hot.
Weights, inputs, labels and gradients are written in SpikeScale's layouts (HWC tensors, conv
weights [kh][kw][in/groups][out], dense [in][out] over the HWC-flattened input) to
stbp_gradients.json beside this script. Run: /work/venv-train/bin/python stbp_gradcheck.py
"""
import json, os
import torch
import torch.nn as nn
import torch.nn.functional as F
from spikingjelly.activation_based import neuron, layer, functional, surrogate

torch.manual_seed(13)
torch.set_default_dtype(torch.float32)
T, N, C, H, W = 4, 4, 2, 8, 8
VTH = 0.5


class Rect(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return (x >= 0).to(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() < 0.5).to(x)  # width a = 1: 1/a inside |x| < a/2


class RectSurrogate(nn.Module):
    def forward(self, x):
        return Rect.apply(x)


def lif(case):
    sg = RectSurrogate() if case == "A" else surrogate.Sigmoid(alpha=4.0)
    return neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=VTH, v_reset=0.0 if case == "A" else None,
                          detach_reset=False, surrogate_function=sg, step_mode="m")


def norm2d(case, c):
    if case == "A":
        return layer.ThresholdDependentBatchNorm2d(alpha=1.0, v_th=VTH, num_features=c)
    return layer.BatchNorm2d(c, step_mode="m")


def norm1d(case, c):
    if case == "A":
        return layer.ThresholdDependentBatchNorm1d(alpha=1.0, v_th=VTH, num_features=c)
    return layer.BatchNorm1d(c, step_mode="m")


def build(case):
    return nn.ModuleDict(dict(
        conv1=layer.Conv2d(2, 4, 3, padding=1, bias=False, step_mode="m"), bn1=norm2d(case, 4), lif1=lif(case),
        pool=layer.AvgPool2d(2, step_mode="m"),
        conv2=layer.Conv2d(4, 4, 3, padding=1, groups=4, bias=False, step_mode="m"), bn2=norm2d(case, 4), lif2=lif(case),
        fc=layer.Linear(64, 8, bias=False, step_mode="m"), bn3=norm1d(case, 8), lif3=lif(case),
        out=layer.Linear(8, 10, bias=True, step_mode="m")))


def bn_params(m):
    bn = m.bn if hasattr(m, "bn") else m
    return bn.weight, bn.bias


def run(case):
    net = build(case)
    with torch.no_grad():  # perturb gamma and beta so the test exercises them
        for k in ("bn1", "bn2", "bn3"):
            g, b = bn_params(net[k])
            g.mul_(1 + 0.2 * torch.rand_like(g)); b.copy_(0.1 * torch.randn_like(b))
    x = torch.rand(T, N, C, H, W)
    x = torch.where(torch.rand_like(x) < 0.3, torch.zeros_like(x), x)
    labels = torch.tensor([3, 7, 0, 9])
    h = net.lif1(net.bn1(net.conv1(x)))
    h = net.pool(h)
    h = net.lif2(net.bn2(net.conv2(h)))
    h = h.flatten(2)  # [T, N, C*H*W], CHW order
    h = net.lif3(net.bn3(net.fc(h)))
    y = net.out(h).mean(0)
    if case == "A":
        loss = F.cross_entropy(y, labels)
    else:
        loss = F.mse_loss(y, F.one_hot(labels, 10).float())
    loss.backward()
    functional.reset_net(net)

    def conv_w(w):  # [O, I/g, kh, kw] -> [kh][kw][I/g][O]
        return w.permute(2, 3, 1, 0).reshape(-1)

    def fc_w(w, c, hh, ww):  # [out, C*H*W] (CHW) -> [H*W*C][out] (HWC)
        o = w.shape[0]
        return w.reshape(o, c, hh, ww).permute(2, 3, 1, 0).reshape(-1)

    def L(t):
        return [float(v) for v in t.detach().reshape(-1)]

    params = {}
    for name, t, g in [("l1.weight", conv_w(net.conv1.weight), conv_w(net.conv1.weight.grad)),
                       ("l3.weight", conv_w(net.conv2.weight), conv_w(net.conv2.weight.grad)),
                       ("l4.weight", fc_w(net.fc.weight, 4, 4, 4), fc_w(net.fc.weight.grad, 4, 4, 4)),
                       ("output.weight", net.out.weight.t().reshape(-1), net.out.weight.grad.t().reshape(-1)),
                       ("output.bias", net.out.bias, net.out.bias.grad)]:
        params[name] = {"value": L(t), "grad": L(g)}
    for k, n in (("bn1", "l1.bn"), ("bn2", "l3.bn"), ("bn3", "l4.bn")):
        g, b = bn_params(net[k])
        params[n + ".gamma"] = {"value": L(g), "grad": L(g.grad)}
        params[n + ".beta"] = {"value": L(b), "grad": L(b.grad)}
    return {"case": case, "loss": float(loss), "labels": labels.tolist(),
            "input": L(x.permute(0, 1, 3, 4, 2)),  # [T][N][H][W][C]
            "params": params}


def run_residual():
    """Case C: '4c3-8r' on 8x8x2 - a residual basic block with a 1x1 shortcut; tdBN alpha 1/sqrt(2) on the
    branch's last BN and on the shortcut's BN, LIF after the sum (hard reset, rectangular surrogate, CE)."""
    a = 2 ** -0.5
    td = lambda c, al: layer.ThresholdDependentBatchNorm2d(alpha=al, v_th=VTH, num_features=c)
    net = nn.ModuleDict(dict(
        conv1=layer.Conv2d(2, 4, 3, padding=1, bias=False, step_mode="m"), bn1=td(4, 1.0), lif1=lif("A"),
        c1=layer.Conv2d(4, 8, 3, padding=1, bias=False, step_mode="m"), b1=td(8, 1.0), l1=lif("A"),
        c2=layer.Conv2d(8, 8, 3, padding=1, bias=False, step_mode="m"), b2=td(8, a),
        down=layer.Conv2d(4, 8, 1, bias=False, step_mode="m"), dbn=td(8, a), lif2=lif("A"),
        out=layer.Linear(8 * 8 * 8, 10, bias=True, step_mode="m")))
    with torch.no_grad():
        for k in ("bn1", "b1", "b2", "dbn"):
            g, b = bn_params(net[k])
            g.mul_(1 + 0.2 * torch.rand_like(g)); b.copy_(0.1 * torch.randn_like(b))
    x = torch.rand(T, N, C, H, W)
    labels = torch.tensor([1, 4, 4, 8])
    h = net.lif1(net.bn1(net.conv1(x)))
    r = net.b2(net.c2(net.l1(net.b1(net.c1(h))))) + net.dbn(net.down(h))
    h = net.lif2(r).flatten(2)
    y = net.out(h).mean(0)
    loss = F.cross_entropy(y, labels)
    loss.backward()
    functional.reset_net(net)
    L = lambda t: [float(v) for v in t.detach().reshape(-1)]
    cw = lambda w: w.permute(2, 3, 1, 0).reshape(-1)
    params = {}
    for name, m in (("l1.weight", net.conv1), ("l2.conv1.weight", net.c1), ("l2.conv2.weight", net.c2), ("l2.down.weight", net.down)):
        params[name] = {"value": L(cw(m.weight)), "grad": L(cw(m.weight.grad))}
    o = net.out.weight
    params["output.weight"] = {"value": L(o.reshape(10, 8, 8, 8).permute(2, 3, 1, 0).reshape(-1)),
                               "grad": L(o.grad.reshape(10, 8, 8, 8).permute(2, 3, 1, 0).reshape(-1))}
    params["output.bias"] = {"value": L(net.out.bias), "grad": L(net.out.bias.grad)}
    for k, n in (("bn1", "l1.bn"), ("b1", "l2.bn1"), ("b2", "l2.bn2"), ("dbn", "l2.down.bn")):
        g, b = bn_params(net[k])
        params[n + ".gamma"] = {"value": L(g), "grad": L(g.grad)}
        params[n + ".beta"] = {"value": L(b), "grad": L(b.grad)}
    return {"case": "C", "architecture": "4c3-8r", "loss": float(loss), "labels": labels.tolist(),
            "input": L(x.permute(0, 1, 3, 4, 2)), "params": params}


out = {"architecture": "4c3-ap2-dw3-8fc", "input": [H, W, C], "timesteps": T, "batch": N, "threshold": VTH, "tau": 0.5,
       "torch": torch.__version__, "cases": [run("A"), run("B"), run_residual()]}
import spikingjelly
out["spikingjelly"] = getattr(spikingjelly, "__version__", "unknown")
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stbp_gradients.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", path, "losses", [c["loss"] for c in out["cases"]])
