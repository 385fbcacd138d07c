"""nn pieces against PyTorch: batch norm (forward+backward), conv + bias + ReLU (two ops and
F.conv2d_relu), cross-entropy, optimiser steps on a ResNet-18-sized parameter set, and checkpoint
save/load, float32.

    python benchmarks/bench_nn.py          # prints a Markdown section (run.py collects it)

Each library runs in processes of its own (in one process, the threads one library leaves
spinning after a parallel region slow the other down on 2 cores: a 0.1 ms PyTorch batch norm
was measured at 10-50 ms interleaved with ours), three processes each, alternating ours /
PyTorch so that both see the same machine load. In each process every case gets two warm-up
calls (which also load our kernels from Numba's cache) and nine timed calls; a figure is the
median of all timed calls of the three processes. PyTorch uses 2 threads.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PROCESSES, WARMUP, CALLS = 3, 2, 9

BN_SHAPES = [
    ("BatchNorm2d, ResNet layer1 (batch 8)", (8, 64, 56, 56)),
    ("BatchNorm2d, ResNet layer3 (batch 8)", (8, 256, 14, 14)),
    ("BatchNorm2d, LeNet-sized (batch 64)", (64, 6, 28, 28)),
    ("BatchNorm1d, fc (batch 64)", (64, 512)),
]
CE_SHAPES = [(64, 10), (256, 1000)]
# conv + bias + ReLU, forward+backward: ours as two ops and as F.conv2d_relu, PyTorch's chain
CONV_RELU = [("VGG/ResNet-style 3x3, 64 -> 64 (batch 8)", (8, 64, 56, 56), (64, 64, 3, 3), 1, 1),
             ("AlexNet conv1, 11x11 stride 4 (batch 8)", (8, 3, 227, 227), (64, 3, 11, 11), 4, 2)]
OPTIMISERS = [("SGD momentum 0.9, weight decay", "SGD",
               dict(lr=0.01, momentum=0.9, weight_decay=1e-4)),
              ("Adam", "Adam", dict(lr=1e-3)), ("AdamW", "AdamW", dict(lr=1e-3))]


def resnet18_shapes():
    """The parameter shapes of ResNet-18 (11.7 M parameters): convs, BN vectors, the fc."""
    shapes = [(64, 3, 7, 7), (64,), (64,)]
    c_in = 64
    for c in (64, 128, 256, 512):
        for block in range(2):
            first = c_in if block == 0 else c
            shapes += [(c, first, 3, 3), (c,), (c,), (c, c, 3, 3), (c,), (c,)]
            if block == 0 and first != c:
                shapes += [(c, first, 1, 1), (c,), (c,)]
        c_in = c
    return shapes + [(1000, 512), (1000,)]


def cases_ours(folder):
    """(name, shape text, function) for autograd_cnn."""
    import autograd_cnn as ac
    import autograd_cnn.nn as nn
    import autograd_cnn.nn.functional as F
    from autograd_cnn import optim
    from autograd_cnn.engine import run_backward

    out = []
    rng = np.random.default_rng(0)
    for name, shape in BN_SHAPES:
        x_np = rng.standard_normal(shape).astype(np.float32)
        g_np = rng.standard_normal(shape).astype(np.float32)
        for training in (True, False):
            bn = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1]).train(training)
            x = ac.tensor(x_np, requires_grad=True)
            out.append((f"{name}, {'train' if training else 'eval'}, forward+backward", shape,
                        lambda bn=bn, x=x, g=g_np: run_backward([bn(x)], [g],
                                                                inputs=[x, bn.weight, bn.bias])))
    for name, xs, ws, stride, pad in CONV_RELU:
        x = ac.tensor(rng.standard_normal(xs).astype(np.float32), requires_grad=True)
        w = ac.tensor((rng.standard_normal(ws) * 0.05).astype(np.float32), requires_grad=True)
        b = ac.tensor(rng.standard_normal(ws[0]).astype(np.float32), requires_grad=True)
        g = rng.standard_normal((xs[0], ws[0], (xs[2] + 2 * pad - ws[2]) // stride + 1,
                                 (xs[3] + 2 * pad - ws[3]) // stride + 1)).astype(np.float32)
        for label, fn in (("relu(conv2d(...)), two ops", lambda x, w, b, s, p:
                           F.relu(F.conv2d(x, w, b, s, p))),
                          ("F.conv2d_relu, fused", F.conv2d_relu)):
            out.append((f"{name}: {label}, forward+backward", xs,
                        lambda fn=fn, x=x, w=w, b=b, g=g, s=stride, p=pad: run_backward(
                            [fn(x, w, b, s, p)], [g], inputs=[x, w, b])))
    for n, c in CE_SHAPES:
        x = ac.tensor(rng.standard_normal((n, c)).astype(np.float32), requires_grad=True)
        t = rng.integers(0, c, n)
        out.append(("cross_entropy, forward+backward", (n, c),
                    lambda x=x, t=t: run_backward([F.cross_entropy(x, t)], [np.float32(1)],
                                                  inputs=[x])))
    shapes = resnet18_shapes()
    count = f"{len(shapes)} tensors, {sum(int(np.prod(s)) for s in shapes) / 1e6:.1f} M"
    for label, cls, kw in OPTIMISERS:
        params = [nn.Parameter(ac.tensor(rng.standard_normal(s).astype(np.float32) * 0.01))
                  for s in shapes]
        for p in params:
            p.grad = ac.tensor(rng.standard_normal(p.shape).astype(np.float32) * 0.01)
        out.append((f"{label}: one step", count, getattr(optim, cls)(params, **kw).step))
    state = {f"p{i}": ac.tensor(rng.standard_normal(s).astype(np.float32))
             for i, s in enumerate(shapes)}
    path = os.path.join(folder, "ours.act")
    size = f"{sum(v.numpy().nbytes for v in state.values()) / 1e6:.0f} MB"
    out.append(("save a ResNet-18-sized state dict (fsync'd)", size,
                lambda: ac.save(state, path)))
    out.append(("load it back", size, lambda: ac.load(path)))
    return out


def cases_torch(folder):
    """The same cases in PyTorch, in the same order."""
    import torch
    import torch.nn.functional as TF
    torch.set_num_threads(2)

    out = []
    rng = np.random.default_rng(0)
    for name, shape in BN_SHAPES:
        x_np = rng.standard_normal(shape).astype(np.float32)
        g = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
        for training in (True, False):
            bn = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(shape[1])
            bn.train(training)
            x = torch.from_numpy(x_np).clone().requires_grad_(True)
            out.append((name, shape, lambda bn=bn, x=x, g=g: torch.autograd.grad(
                bn(x), [x, bn.weight, bn.bias], g)))
    for name, xs, ws, stride, pad in CONV_RELU:
        x = torch.from_numpy(rng.standard_normal(xs).astype(np.float32)).requires_grad_(True)
        w = torch.from_numpy((rng.standard_normal(ws) * 0.05).astype(np.float32))
        w.requires_grad_(True)
        b = torch.from_numpy(rng.standard_normal(ws[0]).astype(np.float32)).requires_grad_(True)
        g = torch.from_numpy(rng.standard_normal((xs[0], ws[0], (xs[2] + 2 * pad - ws[2]) //
                                                  stride + 1, (xs[3] + 2 * pad - ws[3]) //
                                                  stride + 1)).astype(np.float32))
        for _ in range(2):                # the chain, against each of our two rows
            out.append((name, xs, lambda x=x, w=w, b=b, g=g, s=stride, p=pad:
                        torch.autograd.grad(TF.relu(TF.conv2d(x, w, b, s, p)), [x, w, b], g)))
    for n, c in CE_SHAPES:
        x = torch.from_numpy(rng.standard_normal((n, c)).astype(np.float32)).requires_grad_(True)
        t = torch.from_numpy(rng.integers(0, c, n))
        out.append(("ce", (n, c), lambda x=x, t=t: torch.autograd.grad(TF.cross_entropy(x, t),
                                                                       x)))
    shapes = resnet18_shapes()
    for label, cls, kw in OPTIMISERS:
        params = [torch.nn.Parameter(torch.from_numpy(
            rng.standard_normal(s).astype(np.float32) * 0.01)) for s in shapes]
        for p in params:
            p.grad = torch.from_numpy(rng.standard_normal(p.shape).astype(np.float32) * 0.01)
        out.append((label, "", getattr(torch.optim, cls)(params, **kw).step))
    state = {f"p{i}": torch.from_numpy(rng.standard_normal(s).astype(np.float32))
             for i, s in enumerate(shapes)}
    path = os.path.join(folder, "theirs.pt")

    def save():                           # the same durability as ac.save: flushed to disk
        with open(path, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
    out.append(("save", "", save))
    out.append(("load", "", lambda: torch.load(path, weights_only=True)))
    return out


def worker(library: str) -> None:
    """Time every case in this process and print {index: [seconds, ...]} as JSON."""
    with tempfile.TemporaryDirectory() as folder:
        cases = cases_ours(folder) if library == "ours" else cases_torch(folder)
        times = {}
        for i, (_, _, fn) in enumerate(cases):
            for _ in range(WARMUP):
                fn()
            samples = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                fn()
                samples.append(time.perf_counter() - t0)
            times[i] = samples
    print(json.dumps(times))


def _run(library: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--worker", library], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    return {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def main() -> str:
    """Print this file's markdown section and return it (benchmarks/run.py collects it)."""
    try:
        import torch  # noqa: F401  (only to know whether the PyTorch column can be filled)
        have_torch = True
    except ImportError:
        have_torch = False
    with tempfile.TemporaryDirectory() as folder:
        labels = [(name, shape) for name, shape, _ in cases_ours(folder)]
    ours = {i: [] for i in range(len(labels))}
    theirs = {i: [] for i in range(len(labels))}
    load_before = os.getloadavg()[0]
    for _ in range(PROCESSES):
        for i, v in _run("ours").items():
            ours[i] += v
        if have_torch:
            for i, v in _run("torch").items():
                theirs[i] += v
    load_after = os.getloadavg()[0]
    lines = ["| what | shape | autograd_cnn | PyTorch (2 threads) | PyTorch time / ours |",
             "|---|---|---|---|---|"]
    for i, (name, shape) in enumerate(labels):
        a = statistics.median(ours[i])
        if have_torch:
            b = statistics.median(theirs[i])
            lines.append(f"| {name} | {shape} | {a * 1e3:.2f} ms | {b * 1e3:.2f} ms | "
                         f"{b / a:.2f}x |")
        else:
            lines.append(f"| {name} | {shape} | {a * 1e3:.2f} ms | n/a | n/a |")
    text = "\n".join([
        "## nn: batch norm, conv + ReLU, cross-entropy, optimisers, checkpoints (`bench_nn.py`)\n",
        "float32. Each library in processes of its own (three each, alternating ours / PyTorch); "
        f"per case {WARMUP} warm-up and {CALLS} timed calls per process; figures are medians of "
        "all timed calls; ratio = PyTorch's time / ours (> 1: autograd_cnn is faster). "
        "forward+backward: the gradients of the input and the parameters (`engine.run_backward` "
        "/ `torch.autograd.grad`). Optimiser steps update a ResNet-18-sized parameter set in "
        "place (PyTorch: its default foreach implementation). Checkpoints: `ac.save` writes a "
        "temporary file, fsyncs and renames it (and checksums the data: CRC32 on save and on "
        "load, about 20 ms for 47 MB here); PyTorch: `torch.save` to an open file, then fsync; "
        "`torch.load(weights_only=True)`.\n",
        "\n".join(lines) + "\n",
        f"Load average (1 min) {load_before:.2f} before and {load_after:.2f} after the table.\n",
    ])
    print(text)
    return text


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        sys.path.insert(0, str(ROOT))
        worker(sys.argv[2])
    else:
        main()
