"""``GradientFlow``: per-layer gradient norms and activation statistics, recorded with hooks
while a model trains, to see gradients vanish or explode (notebook 06).

One *step* is one forward of the whole model with gradients enabled (forwards under
``no_grad()``, such as validation, are not recorded) and the backward that follows it. Per step:

    grad_norm[layer]        ||dL/dW||_2 of the layer's weight          (a tensor hook on W)
    output_grad_norm[layer] ||dL/dy||_2 of the layer's output y         (a tensor hook on y)
    activation[act]         mean, std and fraction of exact zeros of an activation module's
                            output, over the batch                      (a forward hook)

``layer`` ranges over the modules of ``layer_types`` (Conv2d and Linear by default), ``act``
over the activation modules (ReLU, Sigmoid, Tanh, ...), both by their ``named_modules`` name
and in forward order. A module called several times in one forward (a ResNet block's shared
ReLU) adds up: norms as the root of the summed squares, statistics over all its outputs.
"""

from __future__ import annotations

import numpy as np

from ..engine import is_grad_enabled

__all__ = ["GradientFlow", "ACTIVATION_TYPES", "LAYER_TYPES"]

LAYER_TYPES = ("Conv2d", "Linear", "ConvTranspose2d")
ACTIVATION_TYPES = ("ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "GELU", "Softplus",
                    "Hardtanh", "ReLU6", "PReLU", "SiLU", "ScaledTanh")


class _Step:
    """What one step recorded: squared norms summed, and the moments of the activations."""

    def __init__(self):
        self.grad_sq: dict[str, float] = {}
        self.out_grad_sq: dict[str, float] = {}
        self.act: dict[str, list] = {}       # name -> [count, sum, sum of squares, zeros]

    def add_sq(self, table: dict, name: str, grad) -> None:
        g = np.asarray(grad._data if hasattr(grad, "_data") else grad, dtype=np.float64)
        table[name] = table.get(name, 0.0) + float(np.sum(g * g))

    def add_act(self, name: str, out: np.ndarray) -> None:
        a = np.asarray(out, dtype=np.float64)
        acc = self.act.setdefault(name, [0, 0.0, 0.0, 0])
        acc[0] += a.size
        acc[1] += float(a.sum())
        acc[2] += float(np.sum(a * a))
        acc[3] += int(np.count_nonzero(a == 0))


class GradientFlow:
    """Hooks on ``model`` recording per-layer gradient norms and activation statistics at every
    training step (see the module docstring). ``remove()`` takes every hook off again; also a
    context manager. ``plot()`` draws them (``autograd_cnn.viz.plot_gradient_flow``).

        flow = GradientFlow(model)
        loss_fn(model(x), y).backward()
        flow.grad_norms()          # {'stem.0': 3.1e-09, ..., 'fc': 0.21}, the last step
        flow.remove()
    """

    def __init__(self, model, layer_types=LAYER_TYPES, activation_types=ACTIVATION_TYPES):
        if not hasattr(model, "named_modules"):
            raise TypeError(f"GradientFlow: expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self.layers: list[str] = []
        self.activations: list[str] = []
        self.steps: list[_Step] = []
        self._handles = []
        self._handles.append(model.register_forward_pre_hook(self._begin_step))
        for name, module in model.named_modules():
            kind = type(module).__name__
            if kind in layer_types and getattr(module, "weight", None) is not None:
                self.layers.append(name)
                self._handles.append(module.register_forward_hook(self._output_hook(name)))
                if module.weight.requires_grad:
                    self._handles.append(module.weight.register_hook(self._weight_hook(name)))
            elif kind in activation_types:
                self.activations.append(name)
                self._handles.append(module.register_forward_hook(self._activation_hook(name)))
        if not self.layers:
            raise ValueError(f"GradientFlow: the model has no layer of the types {layer_types}")

    # ---- hooks -----------------------------------------------------------------------------

    def _begin_step(self, module, inputs):
        if is_grad_enabled():
            self.steps.append(_Step())

    def _current(self):
        # None while the model runs under no_grad (nothing to record) or before the first step
        return self.steps[-1] if self.steps and is_grad_enabled() else None

    def _output_hook(self, name):
        def hook(module, inputs, out):
            step = self._current()
            if step is not None and getattr(out, "requires_grad", False):
                out.register_hook(lambda g: step.add_sq(step.out_grad_sq, name, g))
        return hook

    def _weight_hook(self, name):
        def hook(grad):
            if self.steps:
                self.steps[-1].add_sq(self.steps[-1].grad_sq, name, grad)
        return hook

    def _activation_hook(self, name):
        def hook(module, inputs, out):
            step = self._current()
            if step is not None:
                step.add_act(name, getattr(out, "_data", out))    # now: a later in-place op may overwrite it
        return hook

    def remove(self) -> None:
        """Take every hook off the model (the recorded steps stay)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "GradientFlow":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    # ---- reading ---------------------------------------------------------------------------

    def _step(self, step: int) -> _Step:
        if not self.steps:
            raise ValueError("GradientFlow: nothing recorded yet; run a forward and backward of "
                             "the model with gradients enabled first")
        try:
            return self.steps[step]
        except IndexError:
            raise IndexError(f"GradientFlow: step {step} out of range for "
                             f"{len(self.steps)} recorded steps") from None

    def grad_norms(self, step: int = -1) -> dict[str, float]:
        """{layer name: ||dL/dW||} of one step (default the last), in forward order; a layer
        that got no gradient in that step is left out."""
        s = self._step(step)
        return {n: float(np.sqrt(s.grad_sq[n])) for n in self.layers if n in s.grad_sq}

    def output_grad_norms(self, step: int = -1) -> dict[str, float]:
        """{layer name: ||dL/d output||} of one step."""
        s = self._step(step)
        return {n: float(np.sqrt(s.out_grad_sq[n])) for n in self.layers if n in s.out_grad_sq}

    def activation_stats(self, step: int = -1) -> dict[str, dict[str, float]]:
        """{activation name: {'mean', 'std', 'zeros'}} of one step: the mean, the (population)
        standard deviation and the fraction of exact zeros of its outputs."""
        s = self._step(step)
        out = {}
        for n in self.activations:
            if n in s.act:
                count, total, sq, zeros = s.act[n]
                mean = total / count
                out[n] = {"mean": mean, "std": float(np.sqrt(max(sq / count - mean * mean, 0.0))),
                          "zeros": zeros / count}
        return out

    def history(self, key: str = "grad_norm") -> dict[str, np.ndarray]:
        """Per layer (or activation) an array over the recorded steps (nan where a step has no
        value). key: 'grad_norm', 'output_grad_norm', or 'mean' / 'std' / 'zeros' of the
        activations."""
        readers = {"grad_norm": (self.layers, self.grad_norms),
                   "output_grad_norm": (self.layers, self.output_grad_norms)}
        if key in readers:
            names, read = readers[key]
            rows = [read(i) for i in range(len(self.steps))]
            return {n: np.array([r.get(n, np.nan) for r in rows]) for n in names}
        if key in ("mean", "std", "zeros"):
            rows = [self.activation_stats(i) for i in range(len(self.steps))]
            return {n: np.array([r[n][key] if n in r else np.nan for r in rows])
                    for n in self.activations}
        raise ValueError(f"GradientFlow.history: key must be 'grad_norm', 'output_grad_norm', "
                         f"'mean', 'std' or 'zeros', got {key!r}")

    def plot(self, step: int = -1, path=None, title=None):
        """Per-layer gradient norms and activation statistics of ``step``, and the gradient norms
        over all steps (see ``autograd_cnn.viz.plot_gradient_flow``)."""
        from ..viz.interpret_plots import plot_gradient_flow
        return plot_gradient_flow(self, step=step, path=path, title=title)

    def __repr__(self) -> str:
        return (f"GradientFlow({len(self.layers)} layers, {len(self.activations)} activations, "
                f"{len(self.steps)} steps recorded)")
