#!/usr/bin/env python3
"""Peer comparison: SpikeScale vs SpikingJelly ann2snn on the same trained network, T and images.

One invocation, per target (mnist-cnn, tinyyolo):
  1. prepares the inputs once (MNIST IDX images / Darknet-letterboxed JPEGs) as .npy files;
  2. converts with SpikeScale (`spikescale convert`, channel norm, p99.99) and with SpikingJelly
     (`ann2snn.RateCodingRecipe(channel_wise=True, mode="99.99%")`) on the same calibration images;
  3. simulates both, alternating, for --rounds rounds, each in its own subprocess so that each
     process's peak RSS is its own (os.wait4 rusage of that child; ru_maxrss);
     SpikeScale also on --mpi-ranks ranks (mpiexec), SpikingJelly also batched (--sj-batched);
  4. compares decoded outputs (mean over T of the output layer's input current, in ANN units) with
     each other and with the ANN, and the measured speed ratio with the one expected from the firing
     rates (SpikeScale: spikes x fan-out; SpikingJelly: T x dense MACs);
  5. writes OUT/peer.json and OUT/peer.md and prints the table.

Both sides run single-threaded for the like-for-like figure (torch.set_num_threads(1),
OMP/OpenBLAS 1 thread; SpikeScale 1 rank). See README.md beside this file.
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # no __pycache__ beside the sources

CHILD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"}


# ==============================================================================================
# subprocess with its own rusage


# A tiny launcher process runs each measured command. Linux carries a process's RSS high-water
# mark across fork + exec (exec records the old address space's peak), so a command forked
# directly from this (numpy-importing) orchestrator would start with the orchestrator's peak; the
# launcher is a bare `python3 -S` of a few MiB, and it reports the command's own rusage (os.wait4).
LAUNCHER = r"""
import json, os, sys, time
cmd, out = json.loads(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(cmd[0], cmd)
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(out, "w") as f:
    json.dump({"wall": wall, "status": os.waitstatus_to_exitcode(status), "maxrss": ru.ru_maxrss * 1024,
               "user": ru.ru_utime, "sys": ru.ru_stime}, f)
"""


def run_child(cmd: list[str], log_path: str, cwd: str = ROOT) -> dict:
    """Runs cmd through the launcher; returns wall seconds, peak RSS (bytes) and CPU times of cmd
    (and its waited-for descendants, e.g. mpiexec's ranks: the largest of them)."""
    env = dict(os.environ, **CHILD_ENV)
    fd, ru_path = tempfile.mkstemp(prefix="peer-rusage-", suffix=".json")
    os.close(fd)
    os.unlink(ru_path)
    with open(log_path, "ab") as log:
        log.write(("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n").encode())
        log.flush()
        rc = subprocess.call([sys.executable, "-S", "-c", LAUNCHER, json.dumps(cmd), ru_path],
                             stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
    ru = json.load(open(ru_path)) if rc == 0 and os.path.exists(ru_path) else {"status": rc}
    if os.path.exists(ru_path):
        os.unlink(ru_path)
    if ru["status"] != 0:
        with open(log_path, "rb") as f:
            tail = f.read()[-4000:].decode(errors="replace")
        raise RuntimeError(f"command failed ({ru['status']}): {' '.join(cmd)}\n{tail}")
    return ru


def worker_cmd(name: str, spec_path: str) -> list[str]:
    return [sys.executable, os.path.abspath(__file__), "--worker", name, "--spec", spec_path]


# ==============================================================================================
# SpikingJelly workers (run in their own processes)


def _torch_single_thread():
    import torch
    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    return torch


def build_ann(spec: dict, for_snn: bool):
    """The ANN in PyTorch. for_snn: the variant handed to SpikingJelly (leaky split / pool order)."""
    import peer_models as pm
    if spec["kind"] == "mnist":
        return pm.mnist_cnn_from_onnx(spec["onnx"])
    leaky = spec["sj_leaky"] if for_snn else "leaky"
    maxpool_first = for_snn and spec["sj_maxpool"] == "pre-spike"
    return pm.DarknetNet(spec["cfg"], spec["weights"], leaky=leaky, maxpool_first=maxpool_first,
                         pool_impl="torch" if for_snn else "pad").eval()


def flat_outputs(out) -> "np.ndarray":
    """[B, D] float64: the output tensor(s) flattened per sample (heads in order, CHW each)."""
    import numpy as np
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return np.concatenate([o.detach().reshape(o.shape[0], -1).double().numpy() for o in outs], axis=1)


def make_exact_recipe(dataloader, percentile: float, n_batches: int, pre_spike_maxpool: bool):
    """RateCodingRecipe(channel_wise=True) whose per-channel threshold is the exact `percentile` of
    max(a, 0) over ALL calibration activations (NumPy 'linear' definition, as torch.quantile), fed
    batch by batch. SpikingJelly's own ChannelVoltageHook computes torch.quantile per batch and
    merges batches by an exponential moving average, and torch.quantile refuses inputs over 2^24
    elements; this keeps, per channel and batch, only the top values the percentile can depend on."""
    import torch
    from spikingjelly.activation_based.ann2snn.recipes import rate_coding as rc

    q = percentile / 100.0

    class ExactChannelHook(rc.ChannelVoltageHook):
        def __init__(self, base: rc.ChannelVoltageHook, expected_batches: int):
            super().__init__(mode=base.mode, momentum=base.momentum, channel_dim=base.channel_dim, eps=base.eps)
            self.expected_batches = expected_batches
            self.tops: list[torch.Tensor] = []
            self.count = 0

        def forward(self, x):
            cd = self._normalize_channel_dim(x, self.channel_dim)
            v = torch.clamp(x.detach(), min=0).float().movedim(cd, 0).reshape(x.shape[cd], -1)
            n_total_est = v.shape[1] * self.expected_batches
            k = min(v.shape[1], int(math.ceil((1 - q) * (n_total_est - 1))) + 2)
            self.tops.append(torch.topk(v, k, dim=1).values)
            self.count += v.shape[1]
            self.num_batches_tracked += x.shape[0]
            return x

        def compute_threshold(self):
            if not self.tops:
                raise ValueError("no calibration activations recorded")
            top = torch.cat(self.tops, dim=1).sort(dim=1, descending=True).values.double()
            n = self.count
            pos = q * (n - 1)
            lo = int(math.floor(pos))
            frac = pos - lo
            d_lo, d_hi = n - 1 - lo, n - 1 - min(lo + 1, n - 1)   # descending indices
            if d_lo >= top.shape[1]:
                raise ValueError("percentile needs more retained values (more batches than expected?)")
            val = top[:, d_lo] + frac * (top[:, d_hi] - top[:, d_lo])
            self.scale = torch.clamp(val.float(), min=self.eps)
            return self.scale.detach()

    class ExactRecipe(rc.RateCodingRecipe):
        def insert_observers(self, converter, fx_model):
            fx_model = super().insert_observers(converter, fx_model)
            for name, m in list(fx_model.named_modules()):
                if type(m) is rc.ChannelVoltageHook:
                    parent, _, leaf = name.rpartition(".")
                    owner = fx_model.get_submodule(parent) if parent else fx_model
                    setattr(owner, leaf, ExactChannelHook(m, n_batches))
            return fx_model

    return ExactRecipe(dataloader=dataloader, mode=f"{percentile}%", channel_wise=True,
                       pre_spike_maxpool=pre_spike_maxpool)


def check_against_spikescale_calibration(ann, spec: dict, x_cal) -> dict:
    """Per layer with neurons, the per-channel max |activation| of this PyTorch ANN over the
    calibration inputs, against SpikeScale's conversion report (its own ANN forward pass over its
    own decoding/letterboxing of the same images): checks the rebuild (weights, BN folding, pooling,
    routes) and the input pipeline in one go. Returns the largest relative difference per layer."""
    import numpy as np
    import torch
    rep = json.load(open(spec["ss_report"]))
    ss = {l["name"]: np.asarray(l["channelMax"]) for l in rep["layers"] if l.get("channelMax")}
    if spec["kind"] == "mnist":
        taps = {"/0/Conv": ann.relu1, "/3/AveragePool": ann.pool1, "/4/Conv": ann.relu2,
                "/9/Gemm": ann.relu3, "/11/Gemm": ann.fc2}
    else:
        taps = {}
        for p in ann.plan:
            if p[0] == "conv":
                i = p[1]
                taps[f"conv{i}"] = ann.mods[f"act{i}"] if f"act{i}" in ann.mods else ann.mods[f"conv{i}"]
    mx: dict[str, np.ndarray] = {}
    hooks = []
    for name, m in taps.items():
        def h(mod, inp, out, name=name):
            a = out.detach().abs().double().movedim(1, 0).reshape(out.shape[1], -1).max(dim=1).values.numpy()
            mx[name] = a if name not in mx else np.maximum(mx[name], a)
        hooks.append(m.register_forward_hook(h))
    with torch.no_grad():
        for i in range(len(x_cal)):
            ann(x_cal[i:i + 1])
    for h in hooks:
        h.remove()
    out = {}
    for name, a in mx.items():
        if name in ss and ss[name].shape == a.shape:
            out[name] = float(np.max(np.abs(a - ss[name]) / np.maximum(np.abs(ss[name]), 1e-6)))
        else:
            out[name] = None
    return {"maxRelDiffPerLayer": out, "worst": max((v for v in out.values() if v is not None), default=None),
            "missing": [k for k, v in out.items() if v is None]}


def worker_sj_convert(spec: dict) -> None:
    import resource
    import numpy as np
    torch = _torch_single_thread()
    from spikingjelly.activation_based import ann2snn, functional, neuron
    info: dict = {}
    ann = build_ann(spec, for_snn=False)
    x_eval = torch.from_numpy(np.load(spec["eval_inputs"]))
    x_cal = torch.from_numpy(np.load(spec["calib_inputs"]))
    outs, ann_secs = [], []
    with torch.no_grad():
        for i in range(len(x_eval)):
            t0 = time.perf_counter()
            y = ann(x_eval[i:i + 1])
            ann_secs.append(time.perf_counter() - t0)
            outs.append(flat_outputs(y))
    ann_out = np.concatenate(outs)
    np.save(spec["ann_outputs"], ann_out)
    # one dense ANN pass in torch, 1 thread, batch 1 (median; the first call excluded when possible)
    info["annSecondsPerSample"] = float(np.median(ann_secs[1:] if len(ann_secs) > 1 else ann_secs))
    info["calibrationCheck"] = check_against_spikescale_calibration(ann, spec, x_cal)
    if spec["kind"] == "mnist":
        import onnxruntime as ort
        sess = ort.InferenceSession(spec["onnx"], providers=["CPUExecutionProvider"])
        ref = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x_eval[i:i + 1].numpy()})[0]
                              for i in range(len(x_eval))])
        info["annVsOnnxruntimeMaxAbs"] = float(np.abs(ref - ann_out).max())
    snn_ann = build_ann(spec, for_snn=True).eval()
    if spec["kind"] == "darknet":
        with torch.no_grad():
            alt = np.concatenate([flat_outputs(snn_ann(x_eval[i:i + 1])) for i in range(min(2, len(x_eval)))])
        info["sjAnnVariantVsAnnMaxAbs"] = float(np.abs(alt - ann_out[:len(alt)]).max())
        info["sjAnnVariant"] = f"leaky={spec['sj_leaky']}, maxpool={spec['sj_maxpool']}"
    pre_spike = spec["sj_maxpool"] == "pre-spike" and spec["kind"] == "mnist"
    if spec["sj_calibration"] == "native":
        # one batch holding every calibration image: SpikingJelly's hook then takes torch.quantile
        # over all of them (num_batches_tracked == 0 -> scale = this batch's statistic).
        recipe = ann2snn.RateCodingRecipe(dataloader=[x_cal], mode=f"{spec['percentile']}%", channel_wise=True,
                                          pre_spike_maxpool=pre_spike)
    else:
        bs = spec["calib_batch"]
        batches = [x_cal[i:i + bs] for i in range(0, len(x_cal), bs)]
        recipe = make_exact_recipe(batches, spec["percentile"], len(batches), pre_spike)
    t0 = time.perf_counter()
    snn = ann2snn.Converter(recipe=recipe, device="cpu").convert(snn_ann)
    info["convertSeconds"] = time.perf_counter() - t0
    snn.eval()
    # thresholds and neuron populations
    pops = []
    for name, m in snn.named_modules():
        if isinstance(m, neuron.IFNode):
            pops.append(name)
    info["ifPopulations"] = len(pops)
    # activity of the converted SNN on the first eval images (not timed): spikes per population
    counts: dict[str, list] = {n: [0, 0] for n in pops}
    hooks = []
    for name, m in snn.named_modules():
        if isinstance(m, neuron.IFNode):
            def h(mod, inp, out, name=name):
                counts[name][0] += int((out != 0).sum())
                counts[name][1] += out.numel()
            hooks.append(m.register_forward_hook(h))
    n_act = min(spec["activity_samples"], len(x_eval))
    with torch.no_grad():
        for i in range(n_act):
            functional.reset_net(snn)
            for _ in range(spec["T"]):
                snn(x_eval[i:i + 1])
    for h in hooks:
        h.remove()
    functional.reset_net(snn)
    info["activitySamples"] = n_act
    info["populations"] = [{"name": n, "neurons": c[1] // max(1, n_act * spec["T"]),
                            "firingRate": c[0] / c[1] if c[1] else 0.0} for n, c in counts.items()]
    tot_s = sum(c[0] for c in counts.values())
    tot_n = sum(c[1] for c in counts.values())
    info["firingRate"] = tot_s / tot_n if tot_n else 0.0
    info["neurons"] = tot_n // max(1, n_act * spec["T"])
    torch.save(snn, spec["snn_path"])
    info["maxrssSelf"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open(spec["info"], "w") as f:
        json.dump(info, f, indent=1)


def worker_sj_simulate(spec: dict) -> None:
    import resource
    import numpy as np
    torch = _torch_single_thread()
    from spikingjelly.activation_based import functional
    import peer_models  # noqa: F401  (classes referenced by the pickled SNN)
    snn = torch.load(spec["snn_path"], weights_only=False)
    snn.eval()
    x = torch.from_numpy(np.load(spec["eval_inputs"]))
    T, bs = spec["T"], spec["batch"]
    outs, secs = [], []
    t_all = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x), bs):
            xb = x[i:i + bs]
            t0 = time.perf_counter()
            functional.reset_net(snn)
            acc = None
            for _ in range(T):
                y = snn(xb)
                y = y if isinstance(y, (tuple, list)) else (y,)
                acc = [a.clone() for a in y] if acc is None else [a + b for a, b in zip(acc, y)]
            secs.append(time.perf_counter() - t0)
            outs.append(flat_outputs(tuple(a / T for a in acc)))
    total = time.perf_counter() - t_all
    np.save(spec["outputs"], np.concatenate(outs))
    info = {"secondsPerSample": total / len(x), "batchSeconds": secs, "batch": bs, "samples": len(x),
            "totalSeconds": total, "maxrssSelf": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "torchThreads": torch.get_num_threads()}
    with open(spec["info"], "w") as f:
        json.dump(info, f, indent=1)


# ==============================================================================================
# low-T accuracy (issue 12): SpikeScale's rate conversion vs SpikingJelly's channel-wise ann2snn


LOWT_FIXTURES = {"mnist-resnet": "mnist", "mnist-cnn": "mnist", "fashion-cnn": "fashion-mnist", "mnist-mlp": "mnist"}


def worker_sj_lowt(spec: dict) -> None:
    """One fixture: the PyTorch rebuild (checked against onnxruntime), SpikingJelly's
    RateCodingRecipe(channel_wise=True, mode="p%") on one batch of all calibration images, and top-1
    of the SNN at every checkpoint T of one run (mean over the first T steps of the output)."""
    import numpy as np
    torch = _torch_single_thread()
    if spec.get("threads", 1) > 1:
        torch.set_num_threads(spec["threads"])
    from spikingjelly.activation_based import ann2snn, functional, neuron
    import onnxruntime as ort
    import peer_models as pm
    ann = pm.fixture_from_onnx(spec["onnx"], spec["name"])
    x_eval = torch.from_numpy(np.load(spec["eval_inputs"]))
    x_cal = torch.from_numpy(np.load(spec["calib_inputs"]))
    labels = np.load(spec["labels"])
    bs = spec["batch"]
    with torch.no_grad():
        ann_out = np.concatenate([ann(x_eval[i:i + bs]).double().numpy() for i in range(0, len(x_eval), bs)])
    sess = ort.InferenceSession(spec["onnx"], providers=["CPUExecutionProvider"])
    k = min(100, len(x_eval))
    ref = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x_eval[i:i + 1].numpy()})[0] for i in range(k)])
    info = {"annTop1": float((ann_out.argmax(1) == labels).mean()),
            "annVsOnnxruntimeMaxAbs": float(np.abs(ref - ann_out[:k]).max()), "onnxruntimeImages": k}
    recipe = ann2snn.RateCodingRecipe(dataloader=[x_cal], mode=f"{spec['percentile']}%", channel_wise=True,
                                      half_threshold=spec.get("half_threshold", False))
    t0 = time.perf_counter()
    snn = ann2snn.Converter(recipe=recipe, device="cpu").convert(ann)
    info["convertSeconds"] = time.perf_counter() - t0
    snn.eval()
    ifs = [m for m in snn.modules() if isinstance(m, neuron.IFNode)]
    info["ifPopulations"] = len(ifs)
    # the thresholds in ANN units: each IF population sits between VoltageScaler(1/s) and VoltageScaler(s)
    scalers = [m for m in snn.modules() if type(m).__name__ in ("VoltageScaler", "ChannelVoltageScaler")]
    info["thresholdMedians"] = [float(torch.as_tensor(m.scale).float().median()) for m in scalers[1::2]]
    info["ifNodes"] = sorted({f"IFNode(v_threshold={m.v_threshold}, v_reset={m.v_reset})" for m in ifs})
    cps = sorted(spec["checkpoints"])
    hits = {t: np.zeros(len(x_eval), dtype=bool) for t in cps}
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, len(x_eval), bs):
            xb, yb = x_eval[i:i + bs], labels[i:i + bs]
            functional.reset_net(snn)
            acc = None
            for t in range(1, cps[-1] + 1):
                y = snn(xb)
                acc = y.clone() if acc is None else acc + y
                if t in hits:
                    hits[t][i:i + len(yb)] = acc.argmax(1).numpy() == yb
    info["simulateSeconds"] = time.perf_counter() - t0
    info["top1"] = {str(t): int(hits[t].sum()) / len(x_eval) for t in cps}
    # per image, right (1) or wrong (0), for the paired test against SpikeScale
    info["correct"] = {str(t): "".join("1" if h else "0" for h in hits[t]) for t in cps}
    info["samples"] = len(x_eval)
    with open(spec["info"], "w") as f:
        json.dump(info, f, indent=1)


def spikescale_correct(samples_path: str, T: int, cps: list[int]) -> dict:
    """Per checkpoint T, right (1) or wrong (0) for each image of a SpikeScale samples file, in sample order:
    `checkpointPredictions` hold the checkpoints before the run's T, `prediction` the run's T."""
    rows = {}
    for line in open(samples_path):
        d = json.loads(line)
        if "sample" in d and "label" in d:
            rows[d["sample"]] = d
    out = {}
    for t in cps:
        k = sorted(c for c in cps if c != T).index(t) if t != T else None
        out[t] = "".join("1" if (rows[i]["prediction"] if k is None else rows[i]["checkpointPredictions"][k]) == rows[i]["label"]
                         else "0" for i in sorted(rows))
    return out


def mcnemar_p(b: int, c: int) -> float:
    """Exact two-sided McNemar test of b against c discordant pairs (binomial, p = 1/2)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def parse_variants(items: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """NAME=CONVERT-ARGS [-- SIMULATE-ARGS]; 'default=' is SpikeScale with no option given."""
    out = []
    for it in items:
        name, _, rest = it.partition("=")
        words = shlex.split(rest)
        if "--" in words:
            j = words.index("--")
            out.append((name, words[:j], words[j + 1:]))
        else:
            out.append((name, words, []))
    return out


def run_lowt(a) -> None:
    """Every fixture of --lowt-targets, every SpikeScale variant and SpikingJelly, checkpoints of one
    T run, the same evaluation and calibration images; jobs run --jobs at a time. Times (SpikingJelly's
    simulation loop, SpikeScale's run wall time) are comparable only with --jobs 1 on a quiet machine."""
    import concurrent.futures as cf
    import numpy as np
    import peer_models as pm
    cps = sorted(int(t) for t in a.lowt_T.split(","))
    variants = parse_variants(a.ss_variant or ["default="])
    targets = [t.strip() for t in a.lowt_targets.split(",") if t.strip()]
    os.makedirs(a.out, exist_ok=True)
    logdir = os.path.join(a.work, "lowt-logs")
    os.makedirs(logdir, exist_ok=True)
    data_root = os.path.join(ROOT, "..", "shared", "data")
    jobs, prep = [], {}
    for name in targets:
        if name not in LOWT_FIXTURES:
            sys.exit(f"unknown low-T target {name} (one of {', '.join(LOWT_FIXTURES)})")
        work = os.path.join(a.work, "lowt", name)
        os.makedirs(work, exist_ok=True)
        data = os.path.abspath(os.path.join(data_root, LOWT_FIXTURES[name]))
        onnx_path = os.path.join(ROOT, "Tests", "Fixtures", f"{name}.onnx")
        x_eval = pm.read_idx_images(data, "t10k", 0, a.lowt_samples)
        labels = pm.read_idx_labels(data, "t10k", 0, a.lowt_samples)
        x_cal = pm.read_idx_images(data, "train", 0, a.lowt_calib)
        for k, v in (("eval", x_eval), ("calib", x_cal), ("labels", labels)):
            np.save(os.path.join(work, f"{k}.npy"), v)
        prep[name] = {"work": work, "data": data, "onnx": onnx_path, "samples": len(x_eval)}
        spec = {"name": name, "onnx": onnx_path, "eval_inputs": os.path.join(work, "eval.npy"),
                "calib_inputs": os.path.join(work, "calib.npy"), "labels": os.path.join(work, "labels.npy"),
                "percentile": a.percentile, "checkpoints": cps, "batch": a.lowt_batch, "threads": a.lowt_threads,
                "info": os.path.join(work, "sj-lowt.json")}
        json.dump(spec, open(os.path.join(work, "sj-lowt.spec.json"), "w"), indent=1)
        jobs.append((name, "spikingjelly", [worker_cmd("sj-lowt", os.path.join(work, "sj-lowt.spec.json"))],
                     spec["info"]))
        if a.sj_half_threshold:
            hspec = dict(spec, half_threshold=True, info=os.path.join(work, "sj-lowt-half.json"))
            json.dump(hspec, open(os.path.join(work, "sj-lowt-half.spec.json"), "w"), indent=1)
            jobs.append((name, "spikingjelly:half-threshold",
                         [worker_cmd("sj-lowt", os.path.join(work, "sj-lowt-half.spec.json"))], hspec["info"]))
        for vname, conv_args, sim_args in variants:
            vname, _, only = vname.partition("@")   # NAME@TARGET: that target only
            if only and only != name:
                continue
            model = os.path.join(work, f"ss-{vname}.json")
            result = os.path.join(work, f"ss-{vname}.result.json")
            conv = [a.spikescale, "convert", onnx_path, "--calibration", data, "--calibration-count",
                    str(len(x_cal)), "--output", model] + conv_args
            sim = [a.spikescale, "simulate", "--model", model, "--data", data, "--samples", str(len(x_eval)),
                   "-T", str(cps[-1]), "--overwrite", "--quiet", "--json", result] + sim_args
            if len(cps) > 1:
                sim += ["--checkpoints", ",".join(str(t) for t in cps[:-1])]
            if a.lowt_ranks > 1:
                sim = [a.mpiexec, "-n", str(a.lowt_ranks)] + sim
            jobs.append((name, f"spikescale:{vname}", [conv, sim], result))

    def run(job):
        name, who, cmds, out = job
        if a.reuse and os.path.exists(out):
            print(f"[lowt] {name} {who}: reusing {out}", flush=True)
            return job
        log = os.path.join(logdir, f"{name}-{who.replace(':', '-')}.log")
        open(log, "w").close()
        t0 = time.perf_counter()
        for c in cmds:
            run_child(c, log)
        print(f"[lowt] {name} {who}: done in {time.perf_counter() - t0:.0f} s", flush=True)
        return job

    results: dict = {n: {"samples": prep[n]["samples"], "calibrationImages": a.lowt_calib, "runs": {}} for n in targets}
    # SpikingJelly jobs first (the longest), then SpikeScale's
    jobs.sort(key=lambda j: 0 if j[1].startswith("spikingjelly") else 1)
    with cf.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        for name, who, _, out in ex.map(run, jobs):
            r = json.load(open(out))
            if who.startswith("spikingjelly"):
                results[name]["ann"] = r["annTop1"]
                results[name]["annVsOnnxruntimeMaxAbs"] = r["annVsOnnxruntimeMaxAbs"]
                results[name]["runs"][who] = {"top1": {int(t): v for t, v in r["top1"].items()},
                                              "correct": {int(t): v for t, v in r.get("correct", {}).items()},
                                              "simulateSeconds": r.get("simulateSeconds"),
                                              "ifNodes": r["ifNodes"], "ifPopulations": r["ifPopulations"],
                                              "thresholdMedians": r.get("thresholdMedians")}
            else:
                top1 = {c["timesteps"]: c["top1"] for c in r.get("checkpoints", [])}
                top1[r["timesteps"]] = r["top1"]
                rep = json.load(open(out.replace(".result.json", ".report.json")))
                results[name]["runs"][who] = {
                    "top1": top1, "correct": spikescale_correct(out + ".samples.jsonl", r["timesteps"], cps),
                    "firingRate": r.get("firingRate"), "simulateSeconds": r.get("wallSeconds"),
                    "lambdaMedians": [l["lambdaMedian"] for l in rep["layers"] if not l["annActivation"].startswith("linear (output")],
                    "conversion": {k: rep.get(k) for k in ("norm", "statistic", "reset", "initialMembrane",
                                                            "thresholdScale", "maxPool", "residual", "burst")}}
    meta = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "command": " ".join(shlex.quote(x) for x in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
            "variants": {v.partition("@")[0]: {"convert": c, "simulate": s, "targets": v.partition("@")[2] or "all"}
                         for v, c, s in variants}}
    try:
        import importlib.metadata as md
        meta["spikingjelly"], meta["torch"] = md.version("spikingjelly"), md.version("torch")
    except Exception:  # noqa: BLE001 (versions are informative only)
        pass
    # per-image right/wrong strings as hex (4 images a digit, the first image in the top bit; the last digit padded)
    stored = json.loads(json.dumps(results))
    for r in stored.values():
        for run_ in r["runs"].values():
            run_["correct"] = {t: format(int(b + "0" * (-len(b) % 4), 2), f"0{(len(b) + 3) // 4}x") if b else ""
                               for t, b in run_.get("correct", {}).items()}
    meta["correctEncoding"] = "per image in sample order, 1 = right; hex, 4 images a digit, first image in the top bit"
    json.dump({"meta": meta, "results": stored}, open(os.path.join(a.out, "lowt.json"), "w"), indent=1)
    L = [f"# Low-T rate conversion: SpikeScale vs SpikingJelly channel-wise ({meta['date']})", "",
         f"Command: `{meta['command']}`", "",
         "| network | ANN | run | " + " | ".join(f"T={t}" for t in cps) + " | simulate (s) | images/s |",
         "|---|---|---|" + "---|" * len(cps) + "---|---|"]
    for name in targets:
        r = results[name]
        for who, run_ in r["runs"].items():
            secs = run_.get("simulateSeconds")
            timing = f"{secs:.2f} | {r['samples'] / secs:.0f}" if secs else "– | –"
            L.append(f"| {name} ({r['samples']}) | {r['ann']:.2%} | {who} | "
                     + " | ".join(f"{run_['top1'][t]:.2%}" for t in cps) + f" | {timing} |")
    sj = "spikingjelly"
    if any(results[n]["runs"].get(sj, {}).get("correct") for n in targets):
        L += ["", "Paired test against SpikingJelly on the same images (exact two-sided McNemar): per cell, the images "
              "only SpikeScale gets right / only SpikingJelly gets right, and p.", "",
              "| network | run | " + " | ".join(f"T={t}" for t in cps) + " |", "|---|---|" + "---|" * len(cps)]
        for name in targets:
            ref = results[name]["runs"].get(sj, {}).get("correct") or {}
            for who, run_ in results[name]["runs"].items():
                if who == sj or not ref or not run_.get("correct"):
                    continue
                cells = []
                for t in cps:
                    b = sum(1 for x, y in zip(run_["correct"][t], ref[t]) if x == "1" and y == "0")
                    c = sum(1 for x, y in zip(run_["correct"][t], ref[t]) if x == "0" and y == "1")
                    cells.append(f"{b} / {c}, p = {mcnemar_p(b, c):.2g}")
                L.append(f"| {name} | {who} | " + " | ".join(cells) + " |")
    md_text = "\n".join(L) + "\n"
    open(os.path.join(a.out, "lowt.md"), "w").write(md_text)
    print(md_text)


# ==============================================================================================
# targets


def prepare_mnist(a, work: str) -> dict:
    import numpy as np
    import peer_models as pm
    x_eval = pm.read_idx_images(a.mnist_data, "t10k", 0, a.mnist_samples)
    labels = pm.read_idx_labels(a.mnist_data, "t10k", 0, a.mnist_samples)
    x_cal = pm.read_idx_images(a.mnist_data, "train", 0, a.mnist_calib)
    np.save(os.path.join(work, "eval.npy"), x_eval)
    np.save(os.path.join(work, "calib.npy"), x_cal)
    ss_model = os.path.join(work, "ss-model.json")
    return {
        "name": "mnist-cnn", "kind": "mnist", "onnx": os.path.abspath(a.mnist_model), "labels": labels.tolist(),
        "samples": len(x_eval), "calib_count": len(x_cal), "calib_batch": len(x_cal),
        "sj_calibration": a.sj_calibration or "native",
        "ss_convert": [a.spikescale, "convert", os.path.abspath(a.mnist_model), "--calibration", a.mnist_data,
                       "--calibration-count", str(len(x_cal)), "--norm", "channel", "--statistic",
                       f"p{a.percentile:g}", "--output", ss_model],
        "ss_sim": [a.spikescale, "simulate", "--model", ss_model, "--data", a.mnist_data,
                   "--samples", str(len(x_eval)), "-T", str(a.T), "--overwrite", "--quiet"],
        "ss_report": ss_model.replace(".json", ".report.json"),
        "input_desc": f"MNIST t10k images 0..{len(x_eval) - 1} (uint8/255); calibration: train images 0..{len(x_cal) - 1}",
        "output_shapes": [[10]],
    }


def prepare_darknet(a, work: str) -> dict:
    import numpy as np
    import peer_models as pm
    cfg = os.path.join(work, f"net{a.yolo_size}.cfg")
    pm.write_cfg_with_size(a.cfg, cfg, a.yolo_size, a.yolo_size)
    weights_note = "trained"
    weights = a.weights
    if not weights or not os.path.exists(weights):
        weights = os.path.join(work, f"random-seed{a.seed}.weights")
        pm.write_random_weights(cfg, weights, seed=a.seed)
        weights_note = f"RANDOM (seeded generator, seed {a.seed}; {a.weights} not found)"
    # SpikeScale reads CFG.weights beside the cfg by default; pass --weights explicitly
    images = a.yolo_images
    calib = a.yolo_calib_images
    ev = pm.jpeg_files(images)[:a.yolo_samples]
    ca = pm.jpeg_files(calib)[:a.yolo_calib]
    x_eval = np.stack([pm.darknet_letterbox(p, a.yolo_size, a.yolo_size) for p in ev])
    x_cal = np.stack([pm.darknet_letterbox(p, a.yolo_size, a.yolo_size) for p in ca])
    np.save(os.path.join(work, "eval.npy"), x_eval)
    np.save(os.path.join(work, "calib.npy"), x_cal)
    ss_model = os.path.join(work, "ss-model.json")
    secs = pm.parse_cfg(cfg)
    g = a.yolo_size
    return {
        "name": f"tinyyolo-{g}", "kind": "darknet", "cfg": cfg, "weights": weights, "weights_note": weights_note,
        "cfg_source": a.cfg, "samples": len(ev), "calib_count": len(ca), "calib_batch": 1,
        "sj_calibration": a.sj_calibration or "exact",
        "ss_convert": [a.spikescale, "convert", cfg, "--weights", weights, "--calibration", calib,
                       "--calibration-count", str(len(ca)), "--norm", "channel", "--statistic", f"p{a.percentile:g}",
                       "--output", ss_model],
        "ss_sim": [a.spikescale, "simulate", "--model", ss_model, "--data", images, "--samples", str(len(ev)),
                   "-T", str(a.T), "--overwrite", "--quiet"],
        "ss_report": ss_model.replace(".json", ".report.json"),
        "input_desc": f"{len(ev)} JPEGs of {images} (first in name order), Darknet letterbox to {g}x{g}; "
                      f"calibration: first {len(ca)} of {calib}",
        "classes": int(next(s for s in secs if s.type == "yolo").opts.get("classes", 80)),
    }


# ==============================================================================================
# reading SpikeScale results, comparing


def read_ss_outputs(run_json: str, report_path: str, kind: str) -> "np.ndarray":
    """Per sample, SpikeScale's decoded outputs flattened in PyTorch's order (CHW per head)."""
    import numpy as np
    run = json.load(open(run_json))
    rep = json.load(open(report_path))
    model = json.load(open(run["model"]))
    shapes = {l["name"]: l["shape"] for l in model["layers"]}
    lam = {l["name"]: (l.get("lambdaMin", 1), l.get("lambdaMax", 1)) for l in rep["layers"]}
    rows = {}
    with open(run["samplesFile"]) as f:
        for line in f:
            s = json.loads(line)
            if "sample" not in s:
                continue   # the header line ({"run": ...}) that names the run the records belong to
            parts = []
            for name, o in zip(model["outputs"], s["outputs"]):
                h, w, c = shapes[name]
                v = np.asarray(o, dtype=np.float64)
                lo, hi = lam.get(name, (1, 1))
                if lo != hi:
                    raise ValueError(f"{name}: output scaling varies per channel ({lo}..{hi}); not handled")
                v = v * lo   # undo an output scale if SpikeScale ever applied one (its accumulators: λ = 1)
                parts.append(v.reshape(h, w, c).transpose(2, 0, 1).ravel())
            rows[s["sample"]] = np.concatenate(parts)
    return np.stack([rows[i] for i in sorted(rows)])


def diff_stats(a, b) -> dict:
    import numpy as np
    d = np.abs(a - b)
    r = float(np.corrcoef(a.ravel(), b.ravel())[0, 1]) if a.size > 1 else float("nan")
    return {"maxAbs": float(d.max()), "meanAbs": float(d.mean()), "pearson": r}


def head_views(x, sizes, per):
    """[n, sum(3*per*g*g)] -> [n, anchors, per] (anchor-cells stacked over heads)."""
    import numpy as np
    n = x.shape[0]
    views, off = [], 0
    for g in sizes:
        k = 3 * per * g * g
        v = x[:, off:off + k].reshape(n, 3, per, g * g).transpose(0, 1, 3, 2).reshape(n, 3 * g * g, per)
        views.append(v)
        off += k
    return np.concatenate(views, axis=1)


def yolo_agreement(x, ref, sizes, classes) -> dict:
    import numpy as np
    per = 5 + classes
    a, r = head_views(x, sizes, per), head_views(ref, sizes, per)
    obj_a, obj_r = a[..., 4] > 0, r[..., 4] > 0
    pos = obj_r
    cls_agree = (a[..., 5:].argmax(-1) == r[..., 5:].argmax(-1))[pos]
    return {"objectnessAgreement": float((obj_a == obj_r).mean()),
            "refPositiveCells": int(pos.sum()),
            "classArgmaxAgreementOnRefPositives": float(cls_agree.mean()) if cls_agree.size else float("nan"),
            "objectnessRecallOfRefPositives": float(obj_a[pos].mean()) if pos.any() else float("nan")}


# ==============================================================================================
# main


def fmt_s(x):
    return f"{x * 1000:.2f} ms" if x < 1 else f"{x:.2f} s"


def fmt_b(x):
    return f"{x / 2**20:.0f} MiB"


def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


def run_target(a, tgt: dict, work: str, log: str) -> dict:
    import numpy as np
    res: dict = {"target": tgt["name"], "T": a.T, "samples": tgt["samples"], "inputs": tgt["input_desc"],
                 "calibrationImages": tgt["calib_count"], "percentile": a.percentile}
    if tgt["kind"] == "darknet":
        res["weights"] = tgt["weights_note"]
        res["cfg"] = tgt["cfg_source"]
    spec = {k: tgt.get(k) for k in ("kind", "onnx", "cfg", "weights", "calib_batch", "sj_calibration")}
    spec.update({"eval_inputs": os.path.join(work, "eval.npy"), "calib_inputs": os.path.join(work, "calib.npy"),
                 "ann_outputs": os.path.join(work, "ann-outputs.npy"), "snn_path": os.path.join(work, "sj-snn.pt"),
                 "info": os.path.join(work, "sj-convert.json"), "percentile": a.percentile, "T": a.T,
                 "sj_leaky": a.sj_leaky, "sj_maxpool": a.sj_maxpool, "activity_samples": a.activity_samples,
                 "ss_report": tgt["ss_report"]})
    spec_path = os.path.join(work, "sj-convert.spec.json")
    json.dump(spec, open(spec_path, "w"), indent=1)

    print(f"[{tgt['name']}] SpikeScale convert ...", flush=True)
    ssc = run_child(tgt["ss_convert"], log)
    print(f"[{tgt['name']}] SpikingJelly convert ...", flush=True)
    sjc = run_child(worker_cmd("sj-convert", spec_path), log)
    sj_conv = json.load(open(spec["info"]))
    res["convert"] = {"spikescale": {"wall": ssc["wall"], "maxrss": ssc["maxrss"]},
                      "spikingjelly": {"wall": sjc["wall"], "maxrss": sjc["maxrss"],
                                       "convertSeconds": sj_conv["convertSeconds"]}}
    res["sjConvertInfo"] = sj_conv

    sim_spec = {"snn_path": spec["snn_path"], "eval_inputs": spec["eval_inputs"], "T": a.T, "batch": 1,
                "outputs": os.path.join(work, "sj-outputs.npy"), "info": os.path.join(work, "sj-sim.json")}
    sim_spec_path = os.path.join(work, "sj-sim.spec.json")
    json.dump(sim_spec, open(sim_spec_path, "w"), indent=1)

    runs = {"spikescale-1": [], "spikingjelly-b1": [], f"spikescale-mpi{a.mpi_ranks}": []}
    ss_json = os.path.join(work, "ss-run.json")
    mpi_json = os.path.join(work, f"ss-run-mpi{a.mpi_ranks}.json")
    jobs = {
        "spikescale-1": lambda: (run_child(tgt["ss_sim"] + ["--json", ss_json], log), ss_json),
        "spikingjelly-b1": lambda: (run_child(worker_cmd("sj-simulate", sim_spec_path), log), sim_spec["info"]),
        f"spikescale-mpi{a.mpi_ranks}": lambda: (run_child([a.mpiexec, "-n", str(a.mpi_ranks)] + tgt["ss_sim"]
                                                           + ["--json", mpi_json], log), mpi_json),
    }
    order = list(jobs)
    if a.mpi_ranks <= 1:
        order.remove(f"spikescale-mpi{a.mpi_ranks}")
    for r in range(a.rounds):
        seq = order[r % len(order):] + order[:r % len(order)]   # rotate so that no side always goes first
        for name in seq:
            print(f"[{tgt['name']}] round {r + 1}/{a.rounds}: {name} ...", flush=True)
            ru, info_path = jobs[name]()
            info = json.load(open(info_path))
            entry = {"wall": ru["wall"], "maxrss": ru["maxrss"], "secondsPerSample": info["secondsPerSample"]}
            if name.startswith("spikescale"):
                entry["rankPeakRss"] = [c.get("peakResidentBytes") for c in info.get("communication", [])]
                entry["top1"] = info.get("top1")
                if info.get("detection"):
                    entry["map50"] = info["detection"].get("map50")
            runs[name].append(entry)
    if a.sj_batched:
        bspec = dict(sim_spec, batch=a.sj_batched, outputs=os.path.join(work, "sj-outputs-batched.npy"),
                     info=os.path.join(work, "sj-sim-batched.json"))
        bpath = os.path.join(work, "sj-sim-batched.spec.json")
        json.dump(bspec, open(bpath, "w"), indent=1)
        print(f"[{tgt['name']}] SpikingJelly batched ({a.sj_batched}) ...", flush=True)
        ru = run_child(worker_cmd("sj-simulate", bpath), log)
        info = json.load(open(bspec["info"]))
        runs[f"spikingjelly-b{a.sj_batched}"] = [{"wall": ru["wall"], "maxrss": ru["maxrss"],
                                                   "secondsPerSample": info["secondsPerSample"]}]
    res["runs"] = {k: v for k, v in runs.items() if v}
    res["summary"] = {k: {"secondsPerSample": median([e["secondsPerSample"] for e in v]),
                          "secondsPerSampleAll": [e["secondsPerSample"] for e in v],
                          "maxrss": max(e["maxrss"] for e in v)} for k, v in res["runs"].items()}

    # ---------------------------------------------------------------- outputs and agreement
    ann = np.load(spec["ann_outputs"])
    sj = np.load(sim_spec["outputs"])
    ss = read_ss_outputs(ss_json, tgt["ss_report"], tgt["kind"])
    if ss.shape != sj.shape or ss.shape != ann.shape:
        raise RuntimeError(f"output shapes differ: ANN {ann.shape}, SJ {sj.shape}, SpikeScale {ss.shape}")
    agree = {"sjVsAnn": diff_stats(sj, ann), "ssVsAnn": diff_stats(ss, ann), "sjVsSs": diff_stats(sj, ss)}
    if os.path.exists(mpi_json) and a.mpi_ranks > 1:
        ss2 = read_ss_outputs(mpi_json, tgt["ss_report"], tgt["kind"])
        agree["ssMpiVsSs1"] = diff_stats(ss2, ss)
    if a.sj_batched:
        sjb = np.load(os.path.join(work, "sj-outputs-batched.npy"))
        agree["sjBatchedVsSjB1"] = diff_stats(sjb, sj)
    if tgt["kind"] == "mnist":
        labels = np.asarray(tgt["labels"])
        pa, pj, ps = ann.argmax(1), sj.argmax(1), ss.argmax(1)
        agree["accuracy"] = {"ann": float((pa == labels).mean()), "spikingjelly": float((pj == labels).mean()),
                             "spikescale": float((ps == labels).mean())}
        agree["top1Agreement"] = {"sjVsAnn": float((pj == pa).mean()), "ssVsAnn": float((ps == pa).mean()),
                                  "sjVsSs": float((pj == ps).mean())}
    else:
        g = a.yolo_size
        sizes = [g // 32, g // 16]
        cl = tgt["classes"]
        agree["detector"] = {"sjVsAnn": yolo_agreement(sj, ann, sizes, cl),
                             "ssVsAnn": yolo_agreement(ss, ann, sizes, cl),
                             "sjVsSs": yolo_agreement(sj, ss, sizes, cl)}
    res["agreement"] = agree

    # ---------------------------------------------------------------- expected vs measured speed
    run = json.load(open(ss_json))
    n = run["samples"]
    T = a.T
    layers = []
    for l in run["layers"]:
        if l.get("macs", 0) == 0:
            continue
        dense = T * l["macs"]
        layers.append({"name": l["name"], "op": l["op"], "neurons": l["neurons"], "firingRate": l["firingRate"],
                       "annMacs": l["macs"], "denseMacsT": dense, "synapticOpsPerSample": l["synapticOps"] / n,
                       "analogMacsPerSample": l.get("analogMacs", 0) / n,
                       "eventFraction": ((l["synapticOps"] + l.get("analogMacs", 0)) / n) / dense if dense else 0.0})
    syn = run["synapticOps"] / n
    analog = run.get("analogMacs", 0) / n
    annm = run["annMacsPerSample"]
    t_ss = res["summary"]["spikescale-1"]["secondsPerSample"]
    t_sj = res["summary"]["spikingjelly-b1"]["secondsPerSample"]
    ops_ratio = T * annm / (syn + analog) if syn + analog else float("nan")
    res["speed"] = {
        "T": T, "annMacsPerSample": annm, "denseMacsPerSample": T * annm,
        "spikescaleSynapticOpsPerSample": syn, "spikescaleAnalogMacsPerSample": analog,
        "spikescaleFiringRate": run["firingRate"],
        "spikingjellyFiringRate": sj_conv.get("firingRate"),
        "expectedRatioOps": ops_ratio,
        "measuredRatio": t_sj / t_ss,
        "spikescaleSynopsPerSecond": (syn + analog) / t_ss,
        "spikingjellyDenseMacsPerSecond": T * annm / t_sj,
        "annTorchSecondsPerSample": sj_conv["annSecondsPerSample"],
        "sjOverTTimesAnn": t_sj / (T * sj_conv["annSecondsPerSample"]),
        "spikescaleSecondsPerEvent": t_ss / (syn + analog) if syn + analog else float("nan"),
        "torchSecondsPerDenseMac": sj_conv["annSecondsPerSample"] / annm,
        "layers": layers,
    }
    return res


def markdown(all_res: list[dict], meta: dict) -> str:
    L = [f"# SpikeScale vs SpikingJelly ann2snn ({meta['date']})", "",
         f"Machine: {meta['machine']}. spikingjelly {meta['spikingjelly']}, torch {meta['torch']} "
         f"(1 thread), SpikeScale `{meta['spikescale']}` (1 rank; MPI row: {meta['mpiRanks']} ranks). "
         f"Command: `{meta['command']}`", ""]
    for r in all_res:
        s, ag, sp = r["summary"], r["agreement"], r["speed"]
        L += [f"## {r['target']}, T = {r['T']}, {r['samples']} images", "",
              f"Inputs: {r['inputs']}. Normalization: channel-wise, p{r['percentile']:g} of activations."
              + (f" Weights: {r['weights']}." if "weights" in r else ""), "",
              "| run | wall per image (median of rounds) | all rounds | peak RSS |", "|---|---|---|---|"]
        for k, v in s.items():
            L.append(f"| {k} | {fmt_s(v['secondsPerSample'])} | "
                     f"{', '.join(fmt_s(x) for x in v['secondsPerSampleAll'])} | {fmt_b(v['maxrss'])} |")
        c = r["convert"]
        L += ["", f"Conversion: SpikeScale {c['spikescale']['wall']:.1f} s wall, {fmt_b(c['spikescale']['maxrss'])}; "
              f"SpikingJelly {c['spikingjelly']['convertSeconds']:.1f} s in `Converter.convert` "
              f"({c['spikingjelly']['wall']:.1f} s process incl. ANN reference and activity pass), "
              f"{fmt_b(c['spikingjelly']['maxrss'])}.", ""]
        L += ["| outputs (decoded, ANN units) | max abs diff | mean abs diff | Pearson r |", "|---|---|---|---|"]
        for k in ("sjVsAnn", "ssVsAnn", "sjVsSs", "ssMpiVsSs1", "sjBatchedVsSjB1"):
            if k in ag:
                d = ag[k]
                L.append(f"| {k} | {d['maxAbs']:.4g} | {d['meanAbs']:.4g} | {d['pearson']:.5f} |")
        if "accuracy" in ag:
            acc, t1 = ag["accuracy"], ag["top1Agreement"]
            L += ["", f"Accuracy: ANN {acc['ann']:.2%}, SpikingJelly {acc['spikingjelly']:.2%}, "
                  f"SpikeScale {acc['spikescale']:.2%}. Top-1 agreement: SJ-ANN {t1['sjVsAnn']:.2%}, "
                  f"SpikeScale-ANN {t1['ssVsAnn']:.2%}, SJ-SpikeScale {t1['sjVsSs']:.2%}."]
        if "detector" in ag:
            L += ["", "| heads | objectness decision agreement | ref-positive cells | class arg-max agreement on them |",
                  "|---|---|---|---|"]
            for k, d in ag["detector"].items():
                L.append(f"| {k} | {d['objectnessAgreement']:.2%} | {d['refPositiveCells']} | "
                         f"{d['classArgmaxAgreementOnRefPositives']:.2%} |")
        cc = r["sjConvertInfo"]["calibrationCheck"]
        L += ["", f"Rebuild check: per-channel max |activation| of the PyTorch ANN over the calibration images vs "
              f"SpikeScale's conversion report: worst relative difference {cc['worst']:.2g} "
              f"({len(cc['maxRelDiffPerLayer'])} layers)."
              + (f" ANN vs onnxruntime: max abs {r['sjConvertInfo']['annVsOnnxruntimeMaxAbs']:.2g}."
                 if "annVsOnnxruntimeMaxAbs" in r["sjConvertInfo"] else "")
              + (f" SJ's ANN variant ({r['sjConvertInfo']['sjAnnVariant']}) vs the ANN: max abs "
                 f"{r['sjConvertInfo']['sjAnnVariantVsAnnMaxAbs']:.2g}." if "sjAnnVariant" in r["sjConvertInfo"] else "")
              + f" SJ populations: {r['sjConvertInfo']['ifPopulations']} IF layers, "
                f"{r['sjConvertInfo']['neurons']} neurons."]
        L += ["", f"Speed: measured SJ/SpikeScale = {sp['measuredRatio']:.2f}x. Expected from op counts: "
              f"T x ANN MACs = {sp['denseMacsPerSample']:.4g} dense MACs (SJ) vs "
              f"{sp['spikescaleSynapticOpsPerSample']:.4g} synaptic ops + "
              f"{sp['spikescaleAnalogMacsPerSample']:.4g} analog MACs of the input layer (SpikeScale) -> "
              f"{sp['expectedRatioOps']:.2f}x. Throughputs: SpikeScale {sp['spikescaleSynopsPerSecond']:.3g} events/s (synops + analog MACs), "
              f"SJ {sp['spikingjellyDenseMacsPerSecond']:.3g} dense MAC/s. Firing rate: SpikeScale "
              f"{sp['spikescaleFiringRate']:.2%}, SJ {sp['spikingjellyFiringRate']:.2%}. "
              f"One dense ANN pass in torch (1 thread, batch 1): {fmt_s(sp['annTorchSecondsPerSample'])}; "
              f"SJ per image = {sp['sjOverTTimesAnn']:.2f} x (T x that). Per op: SpikeScale "
              f"{sp['spikescaleSecondsPerEvent'] * 1e9:.3g} ns per synaptic event, torch "
              f"{sp['torchSecondsPerDenseMac'] * 1e9:.3g} ns per dense MAC.", "",
              "| layer | neurons | SpikeScale firing rate | T x MACs | synaptic ops + analog MACs | ops / (T x MACs) |",
              "|---|---|---|---|---|---|"]
        for l in sp["layers"]:
            L.append(f"| {l['name']} | {l['neurons']} | {l['firingRate']:.2%} | {l['denseMacsT']:.4g} | "
                     f"{l['synapticOpsPerSample'] + l['analogMacsPerSample']:.4g} | {l['eventFraction']:.3f} |")
        L.append("")
    return "\n".join(L)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--spec", help=argparse.SUPPRESS)
    p.add_argument("--targets", default="mnist-cnn,tinyyolo", help="comma-separated: mnist-cnn, tinyyolo")
    p.add_argument("--out", default=os.path.join(HERE, "results"), help="folder for peer.json, peer.md, peer.log")
    p.add_argument("--work", default="/tmp/spikescale-peer", help="folder for intermediates (inputs, models, runs)")
    p.add_argument("-T", type=int, default=64)
    p.add_argument("--percentile", type=float, default=99.99)
    p.add_argument("--rounds", type=int, default=3, help="alternating repetitions of each simulation")
    p.add_argument("--spikescale", default=os.path.join(ROOT, ".build-peer", "release", "spikescale"))
    p.add_argument("--mpiexec", default="mpiexec")
    p.add_argument("--mpi-ranks", type=int, default=2, help="SpikeScale MPI run (0/1: skip)")
    p.add_argument("--sj-batched", type=int, default=0, help="also run SpikingJelly with this batch size")
    p.add_argument("--sj-leaky", choices=["split", "relu"], default="split",
                   help="leaky-ReLU for SpikingJelly: split = relu(x) - 0.1 relu(-x), two IF populations "
                        "(exact ANN); relu = plain ReLU instead (a different network)")
    p.add_argument("--sj-maxpool", choices=["spike", "pre-spike"], default="spike",
                   help="SpikingJelly max-pool: on spikes (ann2snn default) or on the input current before the "
                        "IF neuron (MNIST: pre_spike_maxpool=True; Darknet: max-pool moved before the activation)")
    p.add_argument("--sj-calibration", choices=["native", "exact"], default=None,
                   help="native: SpikingJelly's ChannelVoltageHook on one batch of all calibration images; exact: "
                        "streamed exact percentile (default: native for MNIST, exact for Tiny-YOLO)")
    p.add_argument("--activity-samples", type=int, default=1, help="images for SJ's firing-rate count (untimed)")
    p.add_argument("--mnist-model", default=os.path.join(ROOT, "Tests", "Fixtures", "mnist-cnn.onnx"))
    p.add_argument("--mnist-data", default=os.path.join(ROOT, "..", "shared", "data", "mnist"))
    p.add_argument("--mnist-samples", type=int, default=500)
    p.add_argument("--mnist-calib", type=int, default=100)
    p.add_argument("--cfg", default=os.path.join(ROOT, "Benchmarks", "tinyyolo", "yolov3-tiny-mnist.cfg"))
    p.add_argument("--weights", default=os.path.join(ROOT, "results", "tinyyolo", "yolov3-tiny-mnist.weights"),
                   help="Darknet weights; if missing, seeded random weights are generated (and reported as such)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--yolo-size", type=int, default=416)
    p.add_argument("--yolo-images", default=None, help="evaluation JPEG folder (default: "
                   "results/tinyyolo/data/images/val, else ../shared/data/coco8/images/val)")
    p.add_argument("--yolo-calib-images", default=None, help="calibration JPEG folder (default: the train "
                   "folder beside --yolo-images)")
    p.add_argument("--yolo-samples", type=int, default=4)
    p.add_argument("--yolo-calib", type=int, default=16)
    p.add_argument("--lowt", action="store_true",
                   help="low-T accuracy mode (issue 12): top-1 of SpikeScale's rate conversion (each --ss-variant) and "
                        "SpikingJelly's channel-wise ann2snn at the checkpoints --lowt-T of one run, on --lowt-targets")
    p.add_argument("--lowt-targets", default="mnist-resnet,mnist-cnn,fashion-cnn,mnist-mlp")
    p.add_argument("--lowt-T", default="8,16,32,64", help="checkpoints; the largest is the run's T")
    p.add_argument("--lowt-samples", type=int, default=10000, help="t10k images 0..N-1")
    p.add_argument("--lowt-calib", type=int, default=100, help="train images 0..N-1 for calibration (both sides)")
    p.add_argument("--lowt-batch", type=int, default=250, help="SpikingJelly batch size")
    p.add_argument("--lowt-threads", type=int, default=1, help="SpikingJelly torch threads")
    p.add_argument("--lowt-ranks", type=int, default=1, help="SpikeScale simulate under mpiexec -n N (N > 1)")
    p.add_argument("--ss-variant", action="append",
                   help="NAME[@TARGET]=CONVERT-OPTIONS [-- SIMULATE-OPTIONS], repeatable (default: 'default=', no option "
                        "given); @TARGET runs the variant on that target only")
    p.add_argument("--sj-half-threshold", action="store_true",
                   help="low-T mode: also SpikingJelly with half_threshold=True (HalfThresholdIFNode, v starts at 0.5)")
    p.add_argument("--reuse", action="store_true",
                   help="low-T mode: keep a job's result when its output file exists in --work (a resumed run)")
    p.add_argument("--jobs", type=int, default=2, help="low-T mode: simulations run at the same time")
    a = p.parse_args()

    if a.worker:
        spec = json.load(open(a.spec))
        {"sj-convert": worker_sj_convert, "sj-simulate": worker_sj_simulate, "sj-lowt": worker_sj_lowt}[a.worker](spec)
        return

    a.spikescale = os.path.abspath(a.spikescale)
    if not os.path.exists(a.spikescale):
        sys.exit(f"{a.spikescale} not found: build it with "
                 "`swift build -c release --scratch-path .build-peer --product spikescale`")
    if a.lowt:
        run_lowt(a)
        return
    if a.yolo_images is None:
        a.yolo_images = os.path.join(ROOT, "results", "tinyyolo", "data", "images", "val")
        if not os.path.isdir(a.yolo_images):
            a.yolo_images = os.path.join(ROOT, "..", "shared", "data", "coco8", "images", "val")
    if a.yolo_calib_images is None:
        cand = os.path.join(os.path.dirname(os.path.abspath(a.yolo_images)), "train")
        a.yolo_calib_images = cand if os.path.isdir(cand) else a.yolo_images
    os.makedirs(a.out, exist_ok=True)
    log = os.path.join(a.out, "peer.log")
    open(log, "w").close()

    import importlib.metadata as md
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    osname = platform.platform()
    try:
        osname = next(l.split("=", 1)[1].strip().strip('"') for l in open("/etc/os-release") if l.startswith("PRETTY_NAME"))
    except (OSError, StopIteration):
        pass
    meta = {"date": datetime.date.today().isoformat(), "machine": f"{os.cpu_count()}-core {cpu}, {osname}",
            "spikingjelly": md.version("spikingjelly"), "torch": md.version("torch"),
            "spikescale": os.path.relpath(a.spikescale, ROOT), "mpiRanks": a.mpi_ranks,
            "command": " ".join(shlex.quote(x) for x in [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]),
            "options": {k: v for k, v in vars(a).items() if k not in ("worker", "spec")}}
    all_res = []
    for name in [t.strip() for t in a.targets.split(",") if t.strip()]:
        work = os.path.join(a.work, name)
        os.makedirs(work, exist_ok=True)
        if name == "mnist-cnn":
            tgt = prepare_mnist(a, work)
        elif name == "tinyyolo":
            tgt = prepare_darknet(a, work)
        else:
            sys.exit(f"unknown target {name}")
        res = run_target(a, tgt, work, log)
        all_res.append(res)
        json.dump({"meta": meta, "results": all_res}, open(os.path.join(a.out, "peer.json"), "w"), indent=1)
        md_text = markdown(all_res, meta)
        open(os.path.join(a.out, "peer.md"), "w").write(md_text)
    print(markdown(all_res, meta))
    print(f"wrote {os.path.join(a.out, 'peer.json')} and {os.path.join(a.out, 'peer.md')}")


if __name__ == "__main__":
    main()
