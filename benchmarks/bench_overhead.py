"""Per-op overhead of the Tensor engine: a chain of small elementwise ops, forward + backward,
time per op, against PyTorch (when installed) in the same run.

    python benchmarks/bench_overhead.py
"""

from __future__ import annotations

import statistics
import time

import numpy as np
from timing import PAUSE

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


def _load() -> str:
    try:
        return "load average (1 min) " + open("/proc/loadavg").read().split()[0]
    except OSError:
        return "load average unknown"


def main(repeats: int = 15) -> str:
    lines = ["## Per-op overhead (`benchmarks/bench_overhead.py`)", "",
             f"Machine load before: {_load()}.", "",
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
    lines += ["", "Goal: no more than 2x PyTorch's per-op overhead.", ""]
    lines += layer_table(repeats)
    lines += ["", f"Machine load after: {_load()}."]
    return "\n".join(lines) + "\n"


LAYERS = (
    ("Conv2d(2, 3, 3, padding=1)", (1, 2, 6, 6), lambda nn: nn.Conv2d(2, 3, 3, padding=1)),
    ("MaxPool2d(2)", (1, 3, 6, 6), lambda nn: nn.MaxPool2d(2)),
    ("Linear(16, 8)", (4, 16), lambda nn: nn.Linear(16, 8)),
)


def time_layers(steps, repeats: int, inner: int = 200) -> list:
    """Median seconds of one call of each step(), the steps interleaved round by round (each
    round after a pause, so that one library's spinning threads do not slow the other's)."""
    for step in steps:
        for _ in range(50):
            step()
    times = [[] for _ in steps]
    for _ in range(repeats):
        for step, out in zip(steps, times):
            time.sleep(PAUSE)
            step()
            t0 = time.perf_counter()
            for _ in range(inner):
                step()
            out.append((time.perf_counter() - t0) / inner)
    return [statistics.median(t) for t in times]


def _layer_step(layer, x):
    return lambda: layer(x).sum().backward()


def layer_table(repeats: int) -> list:
    """The fixed cost of a layer call (arguments checked, the kernel dispatched, the node
    recorded, its backward run) on an input so small that the arithmetic is negligible."""
    import autograd_cnn.nn as ann
    lines = ["### One small layer, forward + backward", "",
             "Each layer on a tiny input (the arithmetic is negligible: this is the per-call "
             "cost of checking the arguments, dispatching the kernels, recording the node and "
             f"running its backward), `layer(x).sum().backward()`, median of {repeats} rounds "
             "of 200 calls, the two libraries interleaved round by round with a pause before "
             "each, both on their default 2 threads (inputs this small never split).", "",
             "| layer | input | autograd_cnn µs | PyTorch µs | ratio (ours / PyTorch) |",
             "|---|---|---|---|---|"]
    for name, shape, make in LAYERS:
        ac.manual_seed(0)
        steps = [_layer_step(make(ann), ac.randn(*shape, requires_grad=True))]
        if torch is not None:
            steps.append(_layer_step(make(torch.nn), torch.randn(*shape, requires_grad=True)))
        ours, *rest = time_layers(steps, repeats)
        if rest:
            theirs = rest[0]
            lines.append(f"| {name} | {shape} | {ours * 1e6:.1f} | {theirs * 1e6:.1f} | "
                         f"{ours / theirs:.2f}x |")
        else:
            lines.append(f"| {name} | {shape} | {ours * 1e6:.1f} | (PyTorch not installed) "
                         "| |")
    lines += ["", "Each argument is checked once, when the functional op builds its geometry "
              "record (tests/test_validate_once.py counts the calls: the package's own Python "
              "made 187 calls for this conv's forward + backward before that redesign, 141 "
              "after)."]
    return lines


if __name__ == "__main__":
    print(main())
