"""nn pieces against PyTorch in the same run: batch norm (forward+backward), cross-entropy,
optimiser steps on a ResNet-18-sized parameter set, and checkpoint save/load.

    python benchmarks/bench_nn.py          # prints a markdown section

Ratios are PyTorch's median time / ours (> 1: we are faster).
"""

from __future__ import annotations

import os
import tempfile
import time

import numpy as np

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import optim
from autograd_cnn.engine import run_backward

try:
    import torch
    import torch.nn.functional as TF
except ImportError:                      # PyTorch is a comparison target only
    torch = None


def median_times(fns, repeats=11):
    """(median, min) seconds per call of each function, calls interleaved round-robin after one
    warm-up call each (which also compiles)."""
    for fn in fns:
        fn()
    samples = [[] for _ in fns]
    for _ in range(repeats):
        for fn, out in zip(fns, samples):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return [(float(np.median(t)), float(np.min(t))) for t in samples]


def _row(name, shape, fns):
    (ours_med, ours_min), *theirs = median_times(fns)
    cell = ratio = "n/a"
    if theirs:
        (their_med, their_min), = theirs
        cell = f"{their_med * 1e3:.2f} ({their_min * 1e3:.2f}) ms"
        ratio = f"{their_med / ours_med:.2f}x ({their_min / ours_min:.2f}x)"
    return f"| {name} | {shape} | {ours_med * 1e3:.2f} ({ours_min * 1e3:.2f}) ms | {cell} | {ratio} |"


BN_SHAPES = [
    ("BatchNorm2d, ResNet layer1 (batch 8)", (8, 64, 56, 56)),
    ("BatchNorm2d, ResNet layer3 (batch 8)", (8, 256, 14, 14)),
    ("BatchNorm2d, LeNet-sized (batch 64)", (64, 6, 28, 28)),
    ("BatchNorm1d, fc (batch 64)", (64, 512)),
]


def batch_norm_rows():
    rng = np.random.default_rng(0)
    rows = []
    for name, shape in BN_SHAPES:
        x_np = rng.standard_normal(shape).astype(np.float32)
        g_np = rng.standard_normal(shape).astype(np.float32)
        for training in (True, False):
            ours = (nn.BatchNorm2d if len(shape) == 4 else nn.BatchNorm1d)(shape[1])
            ours.train(training)
            x = ac.tensor(x_np, requires_grad=True)
            fns = [lambda: run_backward([ours(x)], [g_np], inputs=[x, ours.weight, ours.bias])]
            if torch is not None:
                theirs = (torch.nn.BatchNorm2d if len(shape) == 4 else torch.nn.BatchNorm1d)(
                    shape[1])
                theirs.train(training)
                tx = torch.from_numpy(x_np).clone().requires_grad_(True)
                tg = torch.from_numpy(g_np)
                params = [tx, theirs.weight, theirs.bias]
                fns.append(lambda: torch.autograd.grad(theirs(tx), params, tg))
            mode = "train" if training else "eval"
            rows.append(_row(f"{name}, {mode}, forward+backward", shape, fns))
    return rows


def cross_entropy_rows():
    rng = np.random.default_rng(1)
    rows = []
    for n, c in ((64, 10), (256, 1000)):
        x_np = rng.standard_normal((n, c)).astype(np.float32)
        t_np = rng.integers(0, c, n)
        x = ac.tensor(x_np, requires_grad=True)
        fns = [lambda: run_backward([F.cross_entropy(x, t_np)], [np.float32(1)], inputs=[x])]
        if torch is not None:
            tx = torch.from_numpy(x_np).clone().requires_grad_(True)
            tt = torch.from_numpy(t_np)
            fns.append(lambda: torch.autograd.grad(TF.cross_entropy(tx, tt), tx))
        rows.append(_row("cross_entropy, forward+backward", (n, c), fns))
    return rows


def _resnet18_like_shapes():
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


def optimizer_rows():
    rng = np.random.default_rng(2)
    shapes = _resnet18_like_shapes()
    values = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) * 0.01 for s in shapes]
    count = sum(v.size for v in values)
    rows = []
    for name, ours_cls, theirs_cls, kw in (
            ("SGD momentum 0.9, weight decay", optim.SGD, "SGD",
             dict(lr=0.01, momentum=0.9, weight_decay=1e-4)),
            ("Adam", optim.Adam, "Adam", dict(lr=1e-3)),
            ("AdamW", optim.AdamW, "AdamW", dict(lr=1e-3))):
        ours = [nn.Parameter(ac.tensor(v.copy())) for v in values]
        for p, g in zip(ours, grads):
            p.grad = ac.tensor(g)
        fns = [ours_cls(ours, **kw).step]
        if torch is not None:
            theirs = [torch.nn.Parameter(torch.from_numpy(v.copy())) for v in values]
            for p, g in zip(theirs, grads):
                p.grad = torch.from_numpy(g)
            fns.append(getattr(torch.optim, theirs_cls)(theirs, **kw).step)
        rows.append(_row(f"{name}: one step", f"{len(shapes)} tensors, {count / 1e6:.1f} M",
                         fns))
    return rows


def checkpoint_rows():
    rng = np.random.default_rng(3)
    state = {f"p{i}": rng.standard_normal(s).astype(np.float32)
             for i, s in enumerate(_resnet18_like_shapes())}
    size = sum(v.nbytes for v in state.values())
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        ours_path = os.path.join(folder, "ours.act")
        theirs_path = os.path.join(folder, "theirs.pt")
        ours_state = {k: ac.tensor(v) for k, v in state.items()}
        fns = [lambda: ac.save(ours_state, ours_path)]
        if torch is not None:
            theirs_state = {k: torch.from_numpy(v) for k, v in state.items()}

            def torch_save():               # the same durability: flushed to disk
                with open(theirs_path, "wb") as f:
                    torch.save(theirs_state, f)
                    f.flush()
                    os.fsync(f.fileno())
            fns.append(torch_save)
        rows.append(_row("save (atomic, fsync'd) a ResNet-18-sized state dict",
                         f"{size / 1e6:.0f} MB", fns))
        fns = [lambda: ac.load(ours_path)]
        if torch is not None:
            fns.append(lambda: torch.load(theirs_path, weights_only=True))
        rows.append(_row("load it back", f"{size / 1e6:.0f} MB", fns))
    return rows


def main() -> str:
    """Print this file's markdown section and return it (benchmarks/run.py collects it)."""
    head = ["| what | shape | autograd_cnn | PyTorch | PyTorch time / ours |",
            "|---|---|---|---|---|"]
    out = ["## nn: batch norm, cross-entropy, optimisers, checkpoints (`bench_nn.py`)\n",
           "float32, median (and minimum) of 11 runs after a warm-up, ours and PyTorch's "
           "interleaved; the ratio is PyTorch's time / ours (> 1: autograd_cnn is faster), "
           "from medians (and minima). forward+backward: the gradients of the input and the "
           "parameters by `engine.run_backward` and `torch.autograd.grad`. Optimiser steps update "
           "a ResNet-18-sized parameter set in place (PyTorch's default foreach implementation). "
           "Checkpoints: `ac.save` writes a temporary file, fsyncs and renames it; the PyTorch "
           "column is `torch.save` to an open file followed by fsync; loads read the files back "
           "(`torch.load(weights_only=True)`).\n",
           "\n".join(head + batch_norm_rows() + cross_entropy_rows() + optimizer_rows()
                     + checkpoint_rows()) + "\n"]
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
