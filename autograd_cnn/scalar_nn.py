"""A multilayer perceptron made of scalar ``Value``s: every weight, every product and every sum is
a node of the graph, so a whole training step can be drawn and followed by hand.

    neuron:  a = act(sum_i w_i x_i + b)
    layer:   n_out neurons reading the same inputs
    MLP:     layers in sequence; the last one is linear (no activation)

This is the teaching model (micrograd-style). Networks that are trained for real use the
``Tensor`` engine and ``autograd_cnn.nn``.
"""

from __future__ import annotations

import random

from .value import Value

__all__ = ["Neuron", "Layer", "MLP"]

_ACTIVATIONS = ("relu", "tanh", "linear")


class Neuron:
    """act(w . x + b) with ``n_in`` weights drawn uniformly from [-1, 1] and bias 0."""

    def __init__(self, n_in: int, activation: str = "relu", rng: random.Random | None = None):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"Neuron: activation must be one of {_ACTIVATIONS}, "
                             f"got {activation!r}")
        rng = rng or random.Random()
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(n_in)]
        self.b = Value(0.0)
        self.activation = activation

    def __call__(self, x) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"Neuron: expected {len(self.w)} inputs, got {len(x)}")
        s = self.b
        for wi, xi in zip(self.w, x):
            s = s + wi * xi
        if self.activation == "relu":
            return s.relu()
        if self.activation == "tanh":
            return s.tanh()
        return s

    def parameters(self) -> list[Value]:
        return self.w + [self.b]


class Layer:
    """``n_out`` neurons over the same ``n_in`` inputs."""

    def __init__(self, n_in: int, n_out: int, activation: str = "relu",
                 rng: random.Random | None = None):
        self.neurons = [Neuron(n_in, activation, rng) for _ in range(n_out)]

    def __call__(self, x) -> list[Value]:
        return [n(x) for n in self.neurons]

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]


class MLP:
    """MLP(2, [16, 16, 1]): hidden layers use ``activation``, the last layer is linear.
    Calling it on a list of numbers returns a list of Values (one per output; a single Value
    when there is one output)."""

    def __init__(self, n_in: int, sizes: list[int], activation: str = "relu", seed: int = 0):
        rng = random.Random(seed)
        dims = [n_in] + list(sizes)
        self.layers = [Layer(dims[i], dims[i + 1],
                             activation if i < len(sizes) - 1 else "linear", rng)
                       for i in range(len(sizes))]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0

    def __repr__(self) -> str:
        sizes = [len(self.layers[0].neurons[0].w)] + [len(l.neurons) for l in self.layers]
        return f"MLP({' -> '.join(map(str, sizes))}, {len(self.parameters())} parameters)"
