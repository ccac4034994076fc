"""PyTorch rebuilds of the networks SpikeScale converts, and their input pipelines.

Used by spikingjelly_compare.py (tooling only; SpikeScale does not need Python).

- MNIST CNN: rebuilt by hand from the ONNX graph of Tests/Fixtures/mnist-cnn.onnx (its initializers
  loaded by name), checked against onnxruntime by the caller.
- Darknet (.cfg + .weights): a small cfg parser and weights reader for the layer types of
  yolov3-tiny (convolutional with/without batch norm, leaky/linear/relu, maxpool incl. stride 1,
  route, upsample, yolo), following what Sources/SpikeImport/Darknet/DarknetImporter.swift does:
  batch norm folded as w*gamma/(sqrt(var) + 1e-6) (libdarknet's normalize_cpu), maxpool padding
  size-1 split padding//2 top/left and the rest bottom/right (padded with -inf), nearest upsampling.
- Darknet letterbox (pjreddie's letterbox_image + resize_image), as Sources/SpikeData/Letterbox.swift.
- IDX (MNIST) reading.
"""
from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

# ----------------------------------------------------------------------------------------------
# Data


def _open_maybe_gz(path: str):
    if os.path.exists(path):
        return open(path, "rb")
    if os.path.exists(path + ".gz"):
        return gzip.open(path + ".gz", "rb")
    raise FileNotFoundError(f"{path}(.gz) not found")


def read_idx_images(folder: str, split: str, first: int, count: int) -> np.ndarray:
    """float32 [count, 1, 28, 28] in [0, 1] (uint8 / 255, no mean/std normalisation)."""
    with _open_maybe_gz(os.path.join(folder, f"{split}-images-idx3-ubyte")) as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        if magic != 2051:
            raise ValueError(f"bad IDX image magic {magic}")
        count = min(count, n - first)
        f.read(first * rows * cols) if first else None
        buf = f.read(count * rows * cols)
    x = np.frombuffer(buf, dtype=np.uint8).reshape(count, 1, rows, cols)
    return (x.astype(np.float32) / np.float32(255.0))


def read_idx_labels(folder: str, split: str, first: int, count: int) -> np.ndarray:
    with _open_maybe_gz(os.path.join(folder, f"{split}-labels-idx1-ubyte")) as f:
        magic, n = struct.unpack(">II", f.read(8))
        if magic != 2049:
            raise ValueError(f"bad IDX label magic {magic}")
        count = min(count, n - first)
        f.read(first) if first else None
        return np.frombuffer(f.read(count), dtype=np.uint8).astype(np.int64)


def jpeg_files(folder: str) -> list[str]:
    """The folder's .jpg/.jpeg files in sorted name order (as SpikeScale's ImageFolder)."""
    names = sorted(n for n in os.listdir(folder)
                   if not n.startswith(".") and n.lower().rsplit(".", 1)[-1] in ("jpg", "jpeg"))
    return [os.path.join(folder, n) for n in names]


def darknet_resize(im: np.ndarray, w: int, h: int) -> np.ndarray:
    """libdarknet resize_image on an HWC float32 image: two-pass bilinear with Darknet's index
    arithmetic (w_scale = (im.w-1)/(w-1), the last column copied, the last row weighted by 1-dy only)."""
    ih, iw, c = im.shape
    f32 = np.float32
    # horizontal pass -> [ih, w, c]
    part = np.empty((ih, w, c), dtype=f32)
    if iw == 1:
        part[:] = im[:, -1:, :]
    else:
        w_scale = f32(iw - 1) / f32(w - 1) if w > 1 else f32(np.inf)
        cols = np.arange(w - 1, dtype=f32)
        sx = cols * w_scale
        ix = np.minimum(sx.astype(np.int64), iw - 2)
        dx = (sx - ix.astype(f32)).astype(f32)[None, :, None]
        part[:, :w - 1, :] = (f32(1) - dx) * im[:, ix, :] + dx * im[:, ix + 1, :]
        part[:, w - 1, :] = im[:, iw - 1, :]
    # vertical pass -> [h, w, c]
    out = np.empty((h, w, c), dtype=f32)
    h_scale = f32(ih - 1) / f32(h - 1) if h > 1 else f32(0)
    for r in range(h):
        sy = f32(0) if h == 1 else f32(r) * h_scale
        iy = min(int(sy), ih - 1)
        dy = f32(sy - f32(iy))
        out[r] = (f32(1) - dy) * part[iy]
        if r == h - 1 or ih == 1 or iy + 1 >= ih:
            continue
        out[r] += dy * part[iy + 1]
    return out


def darknet_letterbox(path: str, width: int, height: int) -> np.ndarray:
    """JPEG -> letterboxed float32 CHW [3, height, width], RGB in [0, 1], canvas 0.5 (libdarknet)."""
    from PIL import Image
    with Image.open(path) as img:
        rgb = np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)
    ih, iw = rgb.shape[:2]
    if float(np.float32(width) / np.float32(iw)) < float(np.float32(height) / np.float32(ih)):
        nw, nh = width, (ih * width) // iw
    else:
        nh, nw = height, (iw * height) // ih
    nw, nh = max(nw, 1), max(nh, 1)
    resized = darknet_resize(rgb, nw, nh)
    out = np.full((height, width, 3), 0.5, dtype=np.float32)
    dx, dy = (width - nw) // 2, (height - nh) // 2
    out[dy:dy + nh, dx:dx + nw] = resized[:max(0, height - dy), :max(0, width - dx)]
    return np.ascontiguousarray(out.transpose(2, 0, 1))


# ----------------------------------------------------------------------------------------------
# MNIST CNN from ONNX


class MnistCNN(nn.Module):
    """Conv(1->16,3,p1,no bias)+BN+ReLU+AvgPool2 + Conv(16->32,3,p1,no bias)+BN+ReLU+MaxPool2
    + Flatten + Linear(1568->128)+ReLU + Linear(128->10): the graph of mnist-cnn.onnx."""

    def __init__(self, bn_eps: float = 1e-5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16, eps=bn_eps)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.AvgPool2d(2, 2)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32, eps=bn_eps)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2, 2)
        self.flatten = nn.Flatten(1)
        self.fc1 = nn.Linear(1568, 128)
        self.relu3 = nn.ReLU()
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        return self.fc2(self.relu3(self.fc1(self.flatten(x))))


def mnist_cnn_from_onnx(path: str) -> MnistCNN:
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    ops = [n.op_type for n in m.graph.node]
    expected = ["Conv", "BatchNormalization", "Relu", "AveragePool", "Conv", "BatchNormalization",
                "Relu", "MaxPool", "Flatten", "Gemm", "Relu", "Gemm"]
    if ops != expected:
        raise ValueError(f"{path}: unexpected graph {ops}")
    eps = [a.f for n in m.graph.node if n.op_type == "BatchNormalization"
           for a in n.attribute if a.name == "epsilon"]
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in m.graph.initializer}
    net = MnistCNN(bn_eps=float(eps[0]) if eps else 1e-5)
    names = {"conv1.weight": "0.weight", "bn1.weight": "1.weight", "bn1.bias": "1.bias",
             "bn1.running_mean": "1.running_mean", "bn1.running_var": "1.running_var",
             "conv2.weight": "4.weight", "bn2.weight": "5.weight", "bn2.bias": "5.bias",
             "bn2.running_mean": "5.running_mean", "bn2.running_var": "5.running_var",
             "fc1.weight": "9.weight", "fc1.bias": "9.bias", "fc2.weight": "11.weight",
             "fc2.bias": "11.bias"}
    sd = net.state_dict()
    for k, src in names.items():
        if tuple(sd[k].shape) != tuple(init[src].shape):
            raise ValueError(f"{k}: shape {tuple(sd[k].shape)} vs ONNX {src} {tuple(init[src].shape)}")
        sd[k] = init[src].float()
    net.load_state_dict(sd)
    return net.eval()


# ----------------------------------------------------------------------------------------------
# Darknet


@dataclass
class Section:
    type: str
    opts: dict = field(default_factory=dict)

    def int(self, key, default=None):
        v = self.opts.get(key)
        return default if v is None else int(v.split(",")[0])


def parse_cfg(path: str) -> list[Section]:
    sections: list[Section] = []
    with open(path) as f:
        for raw in f:
            line = raw.split("#", 1)[0].strip()
            if not line or line.startswith(";"):
                continue
            if line.startswith("["):
                sections.append(Section(line.strip("[]").strip().lower()))
            elif "=" in line:
                k, v = line.split("=", 1)
                sections[-1].opts[k.strip()] = v.strip()
    if not sections or sections[0].type not in ("net", "network"):
        raise ValueError(f"{path}: first section must be [net]")
    return sections


def write_cfg_with_size(src: str, dst: str, width: int, height: int) -> None:
    """Copy of a cfg with [net] width/height replaced (the network is fully convolutional)."""
    out, in_net, done = [], False, set()
    with open(src) as f:
        for raw in f:
            s = raw.strip()
            if s.startswith("["):
                if in_net:
                    for k, v in (("width", width), ("height", height)):
                        if k not in done:
                            out.append(f"{k}={v}\n")
                in_net = s.lower() in ("[net]", "[network]")
            elif in_net and "=" in s and not s.startswith("#"):
                k = s.split("=", 1)[0].strip()
                if k in ("width", "height"):
                    out.append(f"{k}={width if k == 'width' else height}\n")
                    done.add(k)
                    continue
            out.append(raw)
    with open(dst, "w") as f:
        f.writelines(out)


def conv_param_shapes(sections: list[Section]):
    """Per convolutional layer: (layer index, filters, in_channels, size, groups, batch_normalize)."""
    channels = [int(sections[0].opts.get("channels", 3))]
    out_ch: list[int] = []
    convs = []
    cur = channels[0]
    for i, s in enumerate(sections[1:]):
        if s.type in ("convolutional", "conv"):
            n, size, g = s.int("filters", 1), s.int("size", 1), s.int("groups", 1)
            convs.append((i, n, cur, size, g, s.int("batch_normalize", 0)))
            cur = n
        elif s.type == "route":
            idx = [int(v) for v in s.opts["layers"].split(",")]
            idx = [j if j >= 0 else i + j for j in idx]
            cur = sum(out_ch[j] for j in idx)
        out_ch.append(cur)
    return convs


def write_random_weights(cfg: str, path: str, seed: int = 1) -> None:
    """Seeded random Darknet weights for `cfg` (He-normal kernels, BN gamma ~ U(0.5, 1.5),
    beta ~ N(0, 0.1), mean ~ N(0, 0.1), var ~ U(0.5, 1.5); biases ~ N(0, 0.1))."""
    rng = np.random.default_rng(seed)
    with open(path, "wb") as f:
        f.write(struct.pack("<iiiQ", 0, 2, 5, 0))
        for _, n, c, size, g, bn in conv_param_shapes(parse_cfg(cfg)):
            fan_in = c // g * size * size
            if bn:
                f.write(rng.normal(0, 0.1, n).astype("<f4").tobytes())       # beta
                f.write(rng.uniform(0.5, 1.5, n).astype("<f4").tobytes())    # gamma
                f.write(rng.normal(0, 0.1, n).astype("<f4").tobytes())       # mean
                f.write(rng.uniform(0.5, 1.5, n).astype("<f4").tobytes())    # var
            else:
                f.write(rng.normal(0, 0.1, n).astype("<f4").tobytes())
            w = rng.normal(0, np.sqrt(2.0 / fan_in), n * (c // g) * size * size)
            f.write(w.astype("<f4").tobytes())


class _NegInfPad(nn.Module):
    """libdarknet max-pool padding: `before` rows/cols of -inf on the top/left, `after` on the bottom/right."""

    def __init__(self, before: int, after: int):
        super().__init__()
        self.p = (before, after, before, after)

    def forward(self, x):
        return nn.functional.pad(x, self.p, mode="constant", value=float("-inf"))


class LeakySplit(nn.Module):
    """leaky(x) = relu(x) - slope * relu(-x), written with two nn.ReLU modules so that
    SpikingJelly's ann2snn (which only converts nn.ReLU) turns each half into its own IF population
    (an ON and an OFF population, each with its own channel-wise threshold)."""

    def __init__(self, slope: float = 0.1):
        super().__init__()
        self.slope = slope
        self.pos = nn.ReLU()
        self.neg = nn.ReLU()

    def forward(self, x):
        return self.pos(x) - self.slope * self.neg(-x)


class DarknetNet(nn.Module):
    """yolov3-tiny-style Darknet network as a PyTorch module; forward returns the tensors that feed
    the [yolo] heads (raw, pre-logistic), in cfg order.

    leaky: 'split' (LeakySplit, exact), 'relu' (plain ReLU instead of leaky-ReLU) or 'leaky'
    (nn.LeakyReLU, ANN reference). maxpool_first: put each max-pool that directly follows a
    conv's activation before that activation (max commutes with a monotonic activation, so the ANN
    is unchanged; the SNN then max-pools the input current, not the spikes). pool_impl: 'pad'
    (explicit -inf padding module, the reference) or 'torch' (nn.MaxPool2d's own padding/ceil_mode
    and a slice: only stock modules, which SpikingJelly's step-mode adapter accepts)."""

    def __init__(self, cfg: str, weights: str | None, leaky: str = "leaky", maxpool_first: bool = False,
                 pool_impl: str = "pad"):
        super().__init__()
        secs = parse_cfg(cfg)
        net = secs[0]
        self.width, self.height = net.int("width"), net.int("height")
        self.in_channels = net.int("channels", 3)
        self.plan: list[tuple] = []   # (kind, module name or args, ...)
        self.head_inputs: list[int] = []
        mods = nn.ModuleDict()
        out_ch: list[int] = []
        cur = self.in_channels
        layers = secs[1:]
        act_of: dict[int, str] = {}
        for i, s in enumerate(layers):
            t = s.type
            if t in ("convolutional", "conv"):
                n, size, stride = s.int("filters", 1), s.int("size", 1), s.int("stride", 1)
                pad = size // 2 if s.int("pad", 0) else s.int("padding", 0)
                g = s.int("groups", 1)
                bn = s.int("batch_normalize", 0)
                conv = nn.Conv2d(cur, n, size, stride, pad, groups=g, bias=True)
                mods[f"conv{i}"] = conv
                a = s.opts.get("activation", "logistic")
                if a == "leaky":
                    if leaky == "split":
                        mods[f"act{i}"] = LeakySplit(0.1)
                    elif leaky == "relu":
                        mods[f"act{i}"] = nn.ReLU()
                    else:
                        mods[f"act{i}"] = nn.LeakyReLU(0.1)
                elif a == "relu":
                    mods[f"act{i}"] = nn.ReLU()
                elif a != "linear":
                    raise ValueError(f"layer {i}: activation {a} not supported")
                act_of[i] = a
                self.plan.append(("conv", i, bn))
                cur = n
            elif t in ("maxpool", "max"):
                size = s.int("size", 1)
                stride = s.int("stride", 1)
                padding = s.int("padding", size - 1)
                before, after = padding // 2, padding - padding // 2
                crop = 0
                if pool_impl == "pad" or padding == 0:
                    # reference: explicit -inf padding as libdarknet (out-of-range inputs are skipped)
                    if padding:
                        mods[f"pad{i}"] = _NegInfPad(before, after)
                    mods[f"maxpool{i}"] = nn.MaxPool2d(size, stride)
                elif before == 0 and stride == size and after < size:
                    # windows start at 0, stride apart; a last partial window when the size is odd
                    mods[f"maxpool{i}"] = nn.MaxPool2d(size, stride, ceil_mode=True)
                elif stride == 1 and after <= size // 2:
                    # symmetric implicit -inf padding by `after`, then drop the extra leading rows/cols
                    mods[f"maxpool{i}"] = nn.MaxPool2d(size, 1, padding=after)
                    crop = after - before
                else:
                    raise ValueError(f"layer {i}: maxpool size {size} stride {stride} padding {padding} "
                                     "not expressible without an explicit pad (use pool_impl='pad')")
                self.plan.append(("maxpool", i, crop))
            elif t == "upsample":
                mods[f"upsample{i}"] = nn.Upsample(scale_factor=s.int("stride", 2), mode="nearest")
                self.plan.append(("upsample", i))
            elif t == "route":
                idx = [int(v) for v in s.opts["layers"].split(",")]
                idx = [j if j >= 0 else i + j for j in idx]
                if "groups" in s.opts:
                    raise ValueError("route groups not supported")
                self.plan.append(("route", i, tuple(idx)))
                cur = sum(out_ch[j] for j in idx)
            elif t == "yolo":
                self.head_inputs.append(i - 1)
                self.plan.append(("yolo", i))
            else:
                raise ValueError(f"layer {i}: [{t}] not supported")
            out_ch.append(cur)
        self.mods = mods
        self.maxpool_first = maxpool_first
        # max-pools that directly follow a conv whose activation we may move after them
        self.pool_after_conv = {}
        if maxpool_first:
            referenced = {j for p in self.plan if p[0] == "route" for j in p[2]}
            for k, p in enumerate(self.plan):
                if k > 0 and self.plan[k - 1][1] in referenced:
                    continue   # the conv's own (pre-pool) output is routed elsewhere: keep the order
                if p[0] == "maxpool" and k > 0 and self.plan[k - 1][0] == "conv" and p[1] - 1 == self.plan[k - 1][1] \
                        and act_of.get(self.plan[k - 1][1]) in ("leaky", "relu"):
                    self.pool_after_conv[self.plan[k - 1][1]] = p[1]
        if weights:
            self._load_weights(weights, secs)

    def _load_weights(self, path: str, secs: list[Section]):
        with open(path, "rb") as f:
            major, minor, _rev = struct.unpack("<iii", f.read(12))
            f.read(8 if (major * 10 + minor) >= 2 and major < 1000 and minor < 1000 else 4)
            data = np.frombuffer(f.read(), dtype="<f4")
        off = 0

        def take(n):
            nonlocal off
            if off + n > data.size:
                raise ValueError(f"{path}: short weights file")
            v = data[off:off + n]
            off += n
            return v.astype(np.float64)

        for p in self.plan:
            if p[0] != "conv":
                continue
            i, bn = p[1], p[2]
            conv: nn.Conv2d = self.mods[f"conv{i}"]
            n = conv.out_channels
            if bn:
                beta, gamma, mean, var = take(n), take(n), take(n), take(n)
            else:
                bias = take(n)
            w = take(conv.weight.numel()).reshape(conv.weight.shape)
            if bn:
                # libdarknet normalize_cpu: (x - mean) / (sqrt(var) + .000001f); then scale and bias.
                s = gamma / (np.sqrt(var) + 1e-6)
                w = w * s[:, None, None, None]
                bias = beta - mean * s
            conv.weight.data = torch.from_numpy(w.astype(np.float32))
            conv.bias.data = torch.from_numpy(bias.astype(np.float32))
        if off != data.size:
            raise ValueError(f"{path}: {data.size - off} floats left after the last layer")

    def _pool(self, i: int, y):
        if f"pad{i}" in self.mods:
            y = self.mods[f"pad{i}"](y)
        y = self.mods[f"maxpool{i}"](y)
        crop = next(p[2] for p in self.plan if p[0] == "maxpool" and p[1] == i)
        if crop:
            y = y[:, :, crop:, crop:]
        return y

    def forward(self, x):
        outs: dict[int, torch.Tensor] = {}
        heads = []
        skip_pool = set(self.pool_after_conv.values())
        prev = x
        for p in self.plan:
            kind, i = p[0], p[1]
            if kind == "conv":
                y = self.mods[f"conv{i}"](prev)
                if i in self.pool_after_conv:
                    y = self._pool(self.pool_after_conv[i], y)
                if f"act{i}" in self.mods:
                    y = self.mods[f"act{i}"](y)
                if i in self.pool_after_conv:
                    outs[i] = None   # the pre-pool activation is not referenced by yolov3-tiny routes
                    outs[self.pool_after_conv[i]] = y
                    prev = y
                    continue
            elif kind == "maxpool":
                if i in skip_pool:
                    continue
                y = self._pool(i, prev)
            elif kind == "upsample":
                y = self.mods[f"upsample{i}"](prev)
            elif kind == "route":
                ins = [outs[j] for j in p[2]]
                y = ins[0] if len(ins) == 1 else torch.cat(ins, dim=1)
            elif kind == "yolo":
                heads.append(prev)
                y = prev
            outs[i] = y
            prev = y
        return tuple(heads)

    def macs(self) -> int:
        """Multiply-accumulates of one forward pass (convolutions only) at the cfg input size."""
        total = 0
        hooks = []

        def hook(m, inp, out):
            nonlocal total
            total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                hooks.append(m.register_forward_hook(hook))
        with torch.no_grad():
            self(torch.zeros(1, self.in_channels, self.height, self.width))
        for h in hooks:
            h.remove()
        return total


# ----------------------------------------------------------------------------------------------
# Any fixture of Tests/Fixtures/train_fixtures.py, from its ONNX file


def fixture_from_onnx(path: str, name: str) -> nn.Module:
    """The PyTorch model of fixture `name` (train_fixtures.MODELS), built by train_fixtures.build and
    loaded from the ONNX initializers by name (the fixtures are exported with BatchNormalization
    unfused, so every state_dict tensor except BN's num_batches_tracked is an initializer)."""
    import sys
    import onnx
    from onnx import numpy_helper
    fixtures = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures")
    if fixtures not in sys.path:
        sys.path.insert(0, fixtures)
    import train_fixtures as tf
    if name not in tf.MODELS:
        raise ValueError(f"{name}: not a fixture of train_fixtures.py ({', '.join(tf.MODELS)})")
    net = tf.build(tf.MODELS[name])
    init = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in onnx.load(path).graph.initializer}
    sd = net.state_dict()
    for k in sd:
        if k.endswith("num_batches_tracked"):
            continue
        if k not in init:
            raise ValueError(f"{path}: no initializer named {k}")
        if tuple(sd[k].shape) != tuple(init[k].shape):
            raise ValueError(f"{k}: shape {tuple(sd[k].shape)} vs ONNX {tuple(init[k].shape)}")
        sd[k] = init[k].float()
    net.load_state_dict(sd)
    return net.eval()
