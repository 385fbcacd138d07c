"""Per-op overhead of the Tensor engine: a chain of small elementwise ops, forward + backward,
time per op, against PyTorch (when installed) in the same run.

    python benchmarks/bench_overhead.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import autograd_cnn as ac

try:
    import torch
except ImportError:          # PyTorch is a comparison target only
    torch = None

N_LINKS = 300                # each link is 3 ops: mul, add, tanh


def chain(x):
    y = x
    for _ in range(N_LINKS):
        y = (y * 0.999 + 0.001).tanh()
    return y.sum()


def time_chain(make_leaf, size, repeats):
    times = []
    for _ in range(repeats):
        x = make_leaf(size)
        t0 = time.perf_counter()
        chain(x).backward()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) / (3 * N_LINKS + 1)


def main(repeats: int = 15) -> str:
    lines = ["## Per-op overhead (`benchmarks/bench_overhead.py`)", "",
             f"A chain of {3 * N_LINKS + 1} small elementwise ops (mul, add, tanh, ..., sum), "
             f"forward + backward, float32, median of {repeats}; time per op.", "",
             "| elements | autograd_cnn µs/op | PyTorch µs/op | ratio (ours / PyTorch) |",
             "|---|---|---|---|"]
    if torch is not None:
        torch.set_num_threads(2)
    for size in (1, 16, 1024):
        ours = time_chain(lambda n: ac.tensor(np.ones(n, np.float32), requires_grad=True),
                          size, repeats)
        if torch is not None:
            theirs = time_chain(lambda n: torch.ones(n, requires_grad=True), size, repeats)
            lines.append(f"| {size} | {ours * 1e6:.2f} | {theirs * 1e6:.2f} | "
                         f"{ours / theirs:.2f}x |")
        else:
            lines.append(f"| {size} | {ours * 1e6:.2f} | (PyTorch not installed) | |")
    lines += ["", "Goal: no more than 2x PyTorch's per-op overhead."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
