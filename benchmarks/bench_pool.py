"""Pooling and upsampling: autograd_cnn against PyTorch in the same run, forward (no graph) and
forward+backward, through the public ops (``F.max_pool2d`` etc.), float32, plus the Numba
compile time of the pooling kernels (first call, empty cache) and the cached start.

    python benchmarks/bench_pool.py          # prints a markdown section

Ratios are PyTorch's median time / ours: the throughput of autograd_cnn relative to PyTorch
(> 1: we are faster).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn.engine import run_backward
from timing import interleaved

try:
    import torch
    import torch.nn.functional as TF
except ImportError:                      # PyTorch is a comparison target only
    torch = None


# name, input shape, our op, PyTorch's op
CASES = [
    ("max_pool2d 2x2/2 (LeNet-5, batch 64)", (64, 6, 28, 28),
     lambda x: F.max_pool2d(x, 2, 2), lambda x: TF.max_pool2d(x, 2, 2)),
    ("avg_pool2d 2x2/2 (LeNet-5, batch 64)", (64, 6, 28, 28),
     lambda x: F.avg_pool2d(x, 2, 2), lambda x: TF.avg_pool2d(x, 2, 2)),
    ("max_pool2d 2x2/2", (32, 64, 112, 112),
     lambda x: F.max_pool2d(x, 2, 2), lambda x: TF.max_pool2d(x, 2, 2)),
    ("max_pool2d 3x3/2", (32, 64, 112, 112),
     lambda x: F.max_pool2d(x, 3, 2), lambda x: TF.max_pool2d(x, 3, 2)),
    ("max_pool2d 3x3/2 pad 1 (ResNet stem)", (32, 64, 112, 112),
     lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: TF.max_pool2d(x, 3, 2, 1)),
    ("avg_pool2d 2x2/2", (32, 64, 112, 112),
     lambda x: F.avg_pool2d(x, 2, 2), lambda x: TF.avg_pool2d(x, 2, 2)),
    ("avg_pool2d 3x3/2", (32, 64, 112, 112),
     lambda x: F.avg_pool2d(x, 3, 2), lambda x: TF.avg_pool2d(x, 3, 2)),
    ("adaptive_avg_pool2d -> 1 (ResNet-50 head)", (32, 2048, 7, 7),
     lambda x: F.adaptive_avg_pool2d(x, 1), lambda x: TF.adaptive_avg_pool2d(x, 1)),
    ("interpolate nearest x2", (32, 64, 56, 56),
     lambda x: F.interpolate(x, scale_factor=2),
     lambda x: TF.interpolate(x, scale_factor=2)),
    ("interpolate bilinear x2", (32, 64, 56, 56),
     lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
     lambda x: TF.interpolate(x, scale_factor=2, mode="bilinear")),
]


def _ours(op, x_np, backward):
    x = ac.tensor(x_np, requires_grad=backward)
    if not backward:
        return lambda: op(x)
    g = np.ones(op(x).shape, dtype=np.float32)
    # dL/dx from the engine itself, as a layer inside a network receives it: ac.grad and
    # .backward() add a defensive copy of the input's gradient (for a 103 MB input, 10-25 ms)
    # that a pooling layer whose input is an intermediate never pays
    return lambda: run_backward([op(x)], [g], inputs=[x])


def _theirs(op, x_np, backward):
    x = torch.from_numpy(x_np).clone().requires_grad_(backward)
    if not backward:
        def fwd():
            with torch.no_grad():
                return op(x)
        return fwd
    g = torch.ones(op(x).shape)
    return lambda: torch.autograd.grad(op(x), x, g)


def speed_table():
    lines = ["| op | input | pass | autograd_cnn | PyTorch | PyTorch time / ours |",
             "|---|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for name, shape, ours, theirs in CASES:
        x_np = rng.standard_normal(shape).astype(np.float32)
        if torch is not None:       # the same values in both libraries
            with torch.no_grad():
                np.testing.assert_allclose(ours(ac.tensor(x_np)).numpy(),
                                           theirs(torch.from_numpy(x_np)).numpy(),
                                           rtol=1e-5, atol=1e-6)
        for backward in (False, True):
            fns = [_ours(ours, x_np, backward)]
            if torch is not None:
                fns.append(_theirs(theirs, x_np, backward))
            (ours_med, ours_min), *their_times = interleaved(fns)
            cell = ratio = "n/a"
            if their_times:
                (their_med, their_min), = their_times
                cell = f"{their_med * 1e3:.1f} ({their_min * 1e3:.1f}) ms"
                ratio = f"{their_med / ours_med:.2f}x ({their_min / ours_min:.2f}x)"
            lines.append(f"| {name} | {shape} | {'forward+backward' if backward else 'forward'}"
                         f" | {ours_med * 1e3:.1f} ({ours_min * 1e3:.1f}) ms | {cell} | {ratio} |")
    return lines


_FIRST_CALLS = textwrap.dedent("""
    import time
    t0 = time.perf_counter()
    import numpy as np
    import autograd_cnn as ac, autograd_cnn.functional as F
    t1 = time.perf_counter()
    for dtype in (np.float32, np.float64):
        x = ac.tensor(np.random.rand(2, 3, 8, 8).astype(dtype), requires_grad=True)
        ys = [F.max_pool2d(x, 2), F.avg_pool2d(x, 2), F.adaptive_avg_pool2d(x, 3),
              F.adaptive_max_pool2d(x, 3), F.interpolate(x, scale_factor=2),
              F.interpolate(x, scale_factor=2, mode="bilinear"),
              F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2)]
        for y in ys:
            y.sum().backward()
    t2 = time.perf_counter()
    print(f"{t1 - t0:.3f} {t2 - t1:.3f}")
""")


def compile_table():
    """Import time and the first calls of every pooling/upsampling kernel (both dtypes,
    forward and backward) in a new process: with an empty Numba cache, then with it warm."""
    lines = ["| start | import autograd_cnn | first calls of every pooling/upsampling kernel, "
             "forward and backward, float32 and float64 |", "|---|---|---|"]
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        for label in ("cold (empty Numba cache)", "cached (new process)"):
            out = subprocess.run([sys.executable, "-c", _FIRST_CALLS], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
            lines.append(f"| {label} | {float(out[0]):.2f} s | {float(out[1]):.2f} s |")
    return lines


def main() -> str:
    """Print this file's markdown section and return it (benchmarks/run.py collects it)."""
    out = []
    out.append("## Pooling and upsampling (`bench_pool.py`)\n")
    out.append("float32, median (and minimum) of 11 samples after a warm-up, ours and "
               "PyTorch's interleaved with a pause before each sample (benchmarks/timing.py); "
               "the ratio is PyTorch's time / ours (> 1: autograd_cnn is faster), "
               "from medians (and minima). "
               "forward: no graph recorded (PyTorch under `no_grad`, so neither computes "
               "max-pool switches); forward+backward: input requires grad, dL/dx by "
               "`autograd_cnn.engine.run_backward([y], [ones], inputs=[x])` (what `ac.grad` "
               "runs, without its final copy of the gradient) and "
               "`torch.autograd.grad(y, x, ones)`.\n")
    out.append("\n".join(speed_table()) + "\n")
    out.append("### Numba compile time\n")
    out.append("\n".join(compile_table()) + "\n")
    text = "\n".join(out)
    print(text)
    return text


if __name__ == "__main__":
    main()
