"""Scalar engine speed: forward + backward of a small MLP built from Values, per graph node,
against micrograd (when installed) on the same MLP in the same run.

    python benchmarks/bench_value.py
"""

from __future__ import annotations

import random
import statistics
import time

import autograd_cnn as ac

try:
    from micrograd.engine import Value as MicroValue
except ImportError:          # micrograd is optional: `pip install micrograd`
    MicroValue = None


def mlp_params(value_cls, sizes, rng):
    """Weights and biases of an MLP (sizes like [2, 16, 16, 1]) as scalar nodes."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        neurons = [([value_cls(rng.uniform(-1, 1)) for _ in range(n_in)], value_cls(0.0))
                   for _ in range(n_out)]
        layers.append(neurons)
    return layers


def mlp_loss(layers, xs, ys):
    """micrograd's demo: ReLU hidden layers, linear output, SVM max-margin loss, summed."""
    total = None
    for x, y in zip(xs, ys):
        act = x
        for li, layer in enumerate(layers):
            out = []
            for w, b in layer:
                s = b
                for wi, xi in zip(w, act):
                    s = s + wi * xi
                out.append(s.relu() if li < len(layers) - 1 else s)
            act = out
        margin = (1 + -y * act[0]).relu()
        total = margin if total is None else total + margin
    return total


def count_nodes(root) -> int:
    seen, stack = set(), [root]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        stack.extend(getattr(n, "_parents", None) or getattr(n, "_prev", ()))
    return len(seen)


def time_engine(value_cls, sizes, batch, repeats):
    rng = random.Random(0)
    layers = mlp_params(value_cls, sizes, rng)
    xs = [[rng.uniform(-2, 2) for _ in range(sizes[0])] for _ in range(batch)]
    ys = [rng.choice([-1.0, 1.0]) for _ in range(batch)]
    times, nodes = [], 0
    for _ in range(repeats):
        for layer in layers:
            for w, b in layer:
                for p in w + [b]:
                    p.grad = 0.0
        t0 = time.perf_counter()
        loss = mlp_loss(layers, xs, ys)
        loss.backward()
        times.append(time.perf_counter() - t0)
        nodes = count_nodes(loss)
        del loss
    return statistics.median(times), nodes


def main(repeats: int = 7) -> str:
    sizes, batch = [2, 16, 16, 1], 100
    lines = ["## Scalar `Value` engine vs micrograd (`benchmarks/bench_value.py`)", "",
             f"MLP {sizes} (ReLU), SVM loss over a batch of {batch}, forward + backward, "
             f"median of {repeats}.", "",
             "| engine | graph nodes | ms per pass | ns per node |", "|---|---|---|---|"]
    ours, n = time_engine(ac.Value, sizes, batch, repeats)
    lines.append(f"| autograd_cnn | {n:,} | {ours * 1e3:.1f} | {ours / n * 1e9:.0f} |")
    if MicroValue is not None:
        theirs, m = time_engine(MicroValue, sizes, batch, repeats)
        lines.append(f"| micrograd | {m:,} | {theirs * 1e3:.1f} | {theirs / m * 1e9:.0f} |")
        lines += ["", f"Per node, autograd_cnn is **{(theirs / m) / (ours / n):.2f}x** "
                      "faster than micrograd in this run (goal: at least 2x)."]
    else:
        lines += ["", "micrograd is not installed (`pip install micrograd`): no comparison."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
