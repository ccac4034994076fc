#!/usr/bin/env python3
"""Builds the NIR round-trip fixtures (Tests/Fixtures/nir): small networks made in snnTorch, Norse and
Sinabs, exported to NIR by each library's own exporter, and each library's own simulation of them on a
fixed seeded binary input, recorded step by step.

    python3 Tests/Fixtures/nir/make_nir_fixtures.py [OUT_DIR [snntorch|norse|sinabs|perneuron ...]]

Needs CPU torch, nir, snntorch, norse, sinabs (README, NIR interchange); the `spikingjelly` group (not run by
default) needs spikingjelly 2.0.0 with nir 1.0.8 and nirtorch 2.6 in a venv of its own (the others use nirtorch 2.0.2). For each network NAME it writes
NAME.nir (the library's export) and NAME.json: library, convention (SpikeScale's --convention), dt,
timesteps, input shape (NIR's, without batch), the inputs (per sample, T frames, CHW order), the output
layer's values per step (per sample, T rows, each in NIR's CHW order), and the tolerance the comparison allows with its reason
(0 where SpikeScale does the same float32 operations in the same order).
"""
import json
import os
import sys

import numpy as np
import torch

import nir

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
T = 12          # timesteps
SAMPLES = 2
torch.manual_seed(14)
np.random.seed(14)


def binary_input(shape):
    """SAMPLES x T x shape binary spikes, p = 0.3, fixed by the seed."""
    return (torch.rand((SAMPLES, T) + tuple(shape)) < 0.3).float()


def save(name, library, convention, dt, graph, x, outputs, kind, tol=0.0, reason="same float32 operations in the same order"):
    nir.write(os.path.join(OUT, name + ".nir"), graph)
    rec = {
        "library": library, "network": name, "convention": convention, "dt": dt, "timesteps": T,
        "input_shape": list(x.shape[2:]), "output_shape": list(np.asarray(outputs[0]).shape[1:]), "output_kind": kind,
        "inputs": [x[s].reshape(-1).tolist() for s in range(SAMPLES)],
        "outputs": [np.asarray(outputs[s], dtype=np.float32).reshape(-1).tolist() for s in range(SAMPLES)],
        "tolerance": tol, "tolerance_reason": reason,
    }
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(rec, f, separators=(",", ":"))
    spikes = float(np.sum(outputs)) if kind == "spikes" else float("nan")
    print(f"{name}: {library}, output {kind}, {spikes:.0f} output spikes over {SAMPLES} samples" if kind == "spikes" else f"{name}: {library}, output {kind}")


def scaled_linear(i, o, gain):
    lin = torch.nn.Linear(i, o)
    with torch.no_grad():
        lin.weight.mul_(gain)
        lin.bias.mul_(gain * 0.2)
    return lin


def full(n, v):
    return torch.full((n,), float(v))


def run_snntorch(net, x):
    """An snnTorch network (output layer with output=True) run on each sample from reset: its output spikes per step
    (the first of the states the output layer returns: spikes, then membrane, and the synaptic current for Synaptic)."""
    from snntorch import utils
    outs = []
    for s in range(SAMPLES):
        utils.reset(net)
        steps = []
        with torch.no_grad():
            for t in range(T):
                out = net(x[s, t:t + 1])
                steps.append(out[0][0].numpy().copy())
        outs.append(np.stack(steps))
    return outs


def snntorch_fixtures():
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir

    run = run_snntorch

    # LIF MLP
    x = binary_input((16,))
    net = torch.nn.Sequential(scaled_linear(16, 24, 3.0), snn.Leaky(beta=full(24, 0.9), threshold=full(24, 1), init_hidden=True),
                              scaled_linear(24, 6, 3.0), snn.Leaky(beta=full(6, 0.8), threshold=full(6, 1), init_hidden=True, output=True))
    outs = run(net, x)
    utils.reset(net)
    save("snntorch-lif-mlp", "snntorch", "snntorch", 1e-4, export_to_nir(net, x[0, :1], ignore_dims=[0]), x, outs, "spikes",
         tol=0.0)
    # CubaLIF MLP
    net = torch.nn.Sequential(scaled_linear(16, 24, 2.0), snn.Synaptic(alpha=full(24, 0.7), beta=full(24, 0.9), threshold=full(24, 1), init_hidden=True),
                              scaled_linear(24, 6, 2.0), snn.Synaptic(alpha=full(6, 0.6), beta=full(6, 0.8), threshold=full(6, 1), init_hidden=True, output=True))
    outs = run(net, x)
    utils.reset(net)
    save("snntorch-cubalif-mlp", "snntorch", "snntorch", 1e-4, export_to_nir(net, x[0, :1], ignore_dims=[0]), x, outs, "spikes")
    # Conv net with average pooling
    xc = binary_input((2, 8, 8))
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    net = torch.nn.Sequential(conv, snn.Leaky(beta=torch.full((4, 8, 8), 0.9), threshold=torch.full((4, 8, 8), 1.0), init_hidden=True),
                              torch.nn.AvgPool2d(2),
                              snn.Leaky(beta=torch.full((4, 4, 4), 0.9), threshold=torch.full((4, 4, 4), 0.5), init_hidden=True),
                              torch.nn.Flatten(),
                              scaled_linear(4 * 4 * 4, 5, 3.0), snn.Leaky(beta=full(5, 0.8), threshold=full(5, 1), init_hidden=True, output=True))
    outs = run(net, xc)
    utils.reset(net)
    save("snntorch-conv-avgpool", "snntorch", "snntorch", 1e-4, export_to_nir(net, xc[0, :1], ignore_dims=[0]), xc, outs, "spikes")


def norse_fixtures():
    import norse.torch as norse

    dt = 1e-3

    def run(net, x):
        outs = []
        for s in range(SAMPLES):
            state = None
            steps = []
            with torch.no_grad():
                for t in range(T):
                    out, state = net(x[s, t], state)      # unbatched, as the exporter traces it
                    steps.append(out.numpy().copy())
            outs.append(np.stack(steps))
        return outs

    x = binary_input((16,))
    # LIF MLP (LIFBoxCell: no synaptic current; exported as LIF)
    p1 = norse.LIFBoxParameters(tau_mem_inv=torch.full((24,), 100.0), v_th=torch.full((24,), 0.5), v_leak=torch.zeros(24), v_reset=torch.zeros(24))
    p2 = norse.LIFBoxParameters(tau_mem_inv=torch.full((6,), 200.0), v_th=torch.full((6,), 0.5), v_leak=torch.zeros(6), v_reset=torch.zeros(6))
    net = norse.SequentialState(scaled_linear(16, 24, 12.0), norse.LIFBoxCell(p1), scaled_linear(24, 6, 12.0), norse.LIFBoxCell(p2))
    outs = run(net, x)
    save("norse-lif-mlp", "norse", "norse", dt, norse.to_nir(net, x[0, 0], dt=dt), x, outs, "spikes")
    # CubaLIF MLP (LIFCell: synaptic current; exported as CubaLIF)
    q1 = norse.LIFParameters(tau_syn_inv=torch.full((24,), 200.0), tau_mem_inv=torch.full((24,), 100.0), v_th=torch.full((24,), 0.3),
                             v_leak=torch.zeros(24), v_reset=torch.zeros(24))
    q2 = norse.LIFParameters(tau_syn_inv=torch.full((6,), 200.0), tau_mem_inv=torch.full((6,), 100.0), v_th=torch.full((6,), 0.3),
                             v_leak=torch.zeros(6), v_reset=torch.zeros(6))
    net = norse.SequentialState(scaled_linear(16, 24, 4.0), norse.LIFCell(q1), scaled_linear(24, 6, 4.0), norse.LIFCell(q2))
    outs = run(net, x)
    save("norse-cubalif-mlp", "norse", "norse", dt, norse.to_nir(net, x[0, 0], dt=dt), x, outs, "spikes")
    # Conv net (Norse's exporter has neither pooling nor Flatten nodes): Conv2d, LIF, Conv2d (stride 2), LIF
    xc = binary_input((2, 8, 8))
    c1 = torch.nn.Conv2d(2, 4, 3, padding=1)
    c2 = torch.nn.Conv2d(4, 3, 3, stride=2, padding=1)
    with torch.no_grad():
        c1.weight.mul_(12.0); c2.weight.mul_(12.0)
    def box(shape):
        return norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.full(shape, 100.0), v_th=torch.full(shape, 0.5),
                                                       v_leak=torch.zeros(shape), v_reset=torch.zeros(shape)))
    net = norse.SequentialState(c1, box((4, 8, 8)), c2, box((3, 4, 4)))
    outs = run(net, xc)
    save("norse-conv", "norse", "norse", dt, norse.to_nir(net, xc[0, 0], dt=dt), xc, outs, "spikes")


def sinabs_fixtures():
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    # Squeeze layers take (batch x time, ...) with batch 1: the exporter traces one sample's T steps.
    def run(net, x):
        outs = []
        for s in range(SAMPLES):
            sinabs.reset_states(net)
            with torch.no_grad():
                out = net(x[s])               # (T, ...)
            outs.append(out.numpy().copy())
        return outs

    x = binary_input((16,))
    # LIF MLP: tau in steps, the input added as is (norm_input=False), one spike per step, reset by subtraction.
    net = torch.nn.Sequential(
        scaled_linear(16, 24, 3.0),
        sl.LIFSqueeze(tau_mem=torch.full((24,), 5.0), spike_threshold=torch.full((24,), 1.0), norm_input=False, spike_fn=SingleSpike, batch_size=1),
        scaled_linear(24, 6, 3.0),
        sl.LIFSqueeze(tau_mem=torch.full((6,), 4.0), spike_threshold=torch.full((6,), 1.0), norm_input=False, spike_fn=SingleSpike, batch_size=1))
    outs = run(net, x)
    sinabs.reset_states(net)
    save("sinabs-lif-mlp", "sinabs", "sinabs", 1.0, sinabs.to_nir(net, x[0]), x, outs, "spikes")
    # Conv net with sum pooling: Conv2d, IAF, SumPool2d, Conv2d, IAF, Flatten, Affine, IAF
    xc = binary_input((2, 8, 8))
    c1 = torch.nn.Conv2d(2, 4, 3, padding=1, bias=False)
    c2 = torch.nn.Conv2d(4, 4, 3, padding=1, bias=False)
    with torch.no_grad():
        c1.weight.mul_(3.0); c2.weight.mul_(2.0)
    net = torch.nn.Sequential(c1, sl.IAFSqueeze(spike_fn=SingleSpike, batch_size=1), sl.SumPool2d(2), c2,
                              sl.IAFSqueeze(spike_fn=SingleSpike, batch_size=1), torch.nn.Flatten(),
                              scaled_linear(4 * 4 * 4, 5, 3.0), sl.IAFSqueeze(spike_fn=SingleSpike, batch_size=1))
    outs = run(net, xc)
    sinabs.reset_states(net)
    save("sinabs-conv-sumpool", "sinabs", "sinabs", 1.0, sinabs.to_nir(net, xc[0]), xc, outs, "spikes")


def per_neuron_fixtures():
    """Networks whose neurons differ in their parameters (trained exports have learnable per-neuron β, θ, τ).
    Seeded on their own, so the fixtures above stay as they were."""
    import snntorch as snn
    from snntorch import utils
    from snntorch.export_nir import export_to_nir
    import norse.torch as norse
    import sinabs
    import sinabs.layers as sl
    from sinabs.activation import SingleSpike

    torch.manual_seed(1414)
    x = binary_input((16,))

    def uniform(shape, lo, hi):
        return torch.rand(shape) * (hi - lo) + lo

    # snnTorch LIF MLP with learnable per-neuron beta and threshold.
    def leaky(n, **kw):
        return snn.Leaky(beta=uniform(n, 0.6, 0.95), threshold=uniform(n, 0.5, 1.5), learn_beta=True, learn_threshold=True,
                         init_hidden=True, **kw)
    net = torch.nn.Sequential(scaled_linear(16, 24, 3.0), leaky(24), scaled_linear(24, 6, 3.0), leaky(6, output=True))
    outs = run_snntorch(net, x)
    utils.reset(net)
    save("snntorch-lif-mlp-perneuron", "snntorch", "snntorch", 1e-4, export_to_nir(net, x[0, :1], ignore_dims=[0]), x, outs, "spikes")

    # snnTorch conv net with per-neuron beta and threshold of shape (C, H, W) (nir 1.0.8's type check refuses
    # snnTorch's per-channel (C, 1, 1) parameters, so per-channel values are tested on a hand-made graph).
    xc = binary_input((2, 8, 8))
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    net = torch.nn.Sequential(conv, snn.Leaky(beta=uniform((4, 8, 8), 0.6, 0.95), threshold=uniform((4, 8, 8), 0.5, 1.5), init_hidden=True),
                              torch.nn.Flatten(), scaled_linear(4 * 8 * 8, 5, 2.0),
                              snn.Leaky(beta=uniform(5, 0.6, 0.95), threshold=uniform(5, 0.5, 1.5), init_hidden=True, output=True))
    outs = run_snntorch(net, xc)
    utils.reset(net)
    save("snntorch-conv-perneuron", "snntorch", "snntorch", 1e-4, export_to_nir(net, xc[0, :1], ignore_dims=[0]), xc, outs, "spikes")

    # Sinabs LIF MLP with per-neuron tau_mem (in steps) and threshold.
    net = torch.nn.Sequential(
        scaled_linear(16, 24, 3.0),
        sl.LIFSqueeze(tau_mem=uniform(24, 2.0, 8.0), spike_threshold=uniform(24, 0.5, 1.5), norm_input=False, spike_fn=SingleSpike, batch_size=1),
        scaled_linear(24, 6, 3.0),
        sl.LIFSqueeze(tau_mem=uniform(6, 2.0, 8.0), spike_threshold=uniform(6, 0.5, 1.5), norm_input=False, spike_fn=SingleSpike, batch_size=1))
    outs = []
    for s in range(SAMPLES):
        sinabs.reset_states(net)
        with torch.no_grad():
            outs.append(net(x[s]).numpy().copy())
    sinabs.reset_states(net)
    save("sinabs-lif-mlp-pertau", "sinabs", "sinabs", 1.0, sinabs.to_nir(net, x[0]), x, outs, "spikes")

    # Norse LIF MLP with per-neuron thresholds. Per-neuron tau_mem_inv is left out: Norse writes tau = dt / tau_mem_inv
    # in float32, which does not determine its float32 tau_mem_inv (about 9 in 10 random values come back
    # exactly), so no reader can step Norse's exact arithmetic from the file (RESULTS, NIR round trips).
    # v_leak stays 0: Norse starts v at v_leak, a state NIR does not carry.
    dt = 1e-3
    def box(n):
        return norse.LIFBoxCell(norse.LIFBoxParameters(tau_mem_inv=torch.full((n,), 100.0), v_th=uniform(n, 0.3, 0.7),
                                                       v_leak=torch.zeros(n), v_reset=torch.zeros(n)))
    net = norse.SequentialState(scaled_linear(16, 24, 12.0), box(24), scaled_linear(24, 6, 12.0), box(6))
    outs = []
    for s in range(SAMPLES):
        state, steps = None, []
        with torch.no_grad():
            for t in range(T):
                out, state = net(x[s, t], state)
                steps.append(out.numpy().copy())
        outs.append(np.stack(steps))
    save("norse-lif-mlp-perneuron", "norse", "norse", dt, norse.to_nir(net, x[0, 0], dt=dt), x, outs, "spikes")


def spikingjelly_fixtures():
    """SpikingJelly 2.0.0's own NIR export (`spikingjelly.activation_based.nir_exchange`, which needs nirtorch 2.6:
    a separate venv from the other libraries' nirtorch 2.0.2). Single-step mode, batch 1, hard reset to 0."""
    from spikingjelly.activation_based import functional, neuron
    from spikingjelly.activation_based.nir_exchange import export_to_nir

    torch.manual_seed(1515)

    def run(net, x):
        outs = []
        for s in range(SAMPLES):
            functional.reset_net(net)
            with torch.no_grad():
                outs.append(np.stack([net(x[s, t:t + 1])[0].numpy().copy() for t in range(T)]))
        functional.reset_net(net)
        return outs

    # LIF MLP: tau = 2 (SpikingJelly's default), decay_input, v_threshold 1, v_reset 0.
    x = binary_input((16,))
    net = torch.nn.Sequential(scaled_linear(16, 24, 6.0), neuron.LIFNode(tau=2.0, v_reset=0.0),
                              scaled_linear(24, 6, 12.0), neuron.LIFNode(tau=2.0, v_reset=0.0))
    functional.set_step_mode(net, "s")
    outs = run(net, x)
    save("spikingjelly-lif-mlp", "spikingjelly", "spikingjelly", 1e-4, export_to_nir(net, x[0, :1], dt=1e-4), x, outs, "spikes")
    # Conv net with average pooling: Conv2d, IF, AvgPool2d, Flatten, Affine, IF.
    xc = binary_input((2, 8, 8))
    conv = torch.nn.Conv2d(2, 4, 3, padding=1)
    with torch.no_grad():
        conv.weight.mul_(3.0)
    net = torch.nn.Sequential(conv, neuron.IFNode(v_reset=0.0), torch.nn.AvgPool2d(2), torch.nn.Flatten(),
                              scaled_linear(4 * 4 * 4, 5, 3.0), neuron.IFNode(v_reset=0.0))
    functional.set_step_mode(net, "s")
    outs = run(net, xc)
    save("spikingjelly-if-conv-avgpool", "spikingjelly", "spikingjelly", 1e-4, export_to_nir(net, xc[0, :1], dt=1e-4), xc, outs, "spikes")


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    which = sys.argv[2:] or ["snntorch", "norse", "sinabs", "perneuron"]
    if "snntorch" in which:
        snntorch_fixtures()
    if "norse" in which:
        norse_fixtures()
    if "sinabs" in which:
        sinabs_fixtures()
    if "perneuron" in which:
        per_neuron_fixtures()
    if "spikingjelly" in which:     # not in the default list: it needs its own venv (nirtorch 2.6)
        spikingjelly_fixtures()
