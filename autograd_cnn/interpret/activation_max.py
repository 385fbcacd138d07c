"""Activation maximisation (Erhan et al. 2009; Simonyan et al. 2014; Yosinski et al. 2015):
the input a unit likes best, found by gradient ascent on the input,

    x <- x + lr * d/dx [ a(x) - l2 ||x||^2 ],   every ``blur_every`` steps x <- blur(x)

where a(x) is a class score (layer None) or the mean of one channel of a layer's output. The
L2 penalty and the Gaussian blur keep x from growing without bound and from filling with
high-frequency patterns that excite the unit but look like nothing.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ._common import capture, evaluating, get_layer

__all__ = ["activation_maximization", "gaussian_blur"]


def gaussian_blur(x: np.ndarray, sigma: float) -> np.ndarray:
    """Blur each (H, W) plane of x (..., H, W) with a Gaussian of std ``sigma`` pixels
    (separable, reflected borders); sigma 0 returns x."""
    if sigma <= 0:
        return x
    r = max(1, int(np.ceil(3 * sigma)))
    k = np.exp(-0.5 * (np.arange(-r, r + 1) / sigma) ** 2)
    k /= k.sum()
    pad = [(0, 0)] * (x.ndim - 2)
    for axis in (-2, -1):
        width = pad + ([(r, r), (0, 0)] if axis == -2 else [(0, 0), (r, r)])
        xp = np.pad(x, width, mode="reflect" if x.shape[axis] > r else "edge")
        x = sum(k[i] * np.take(xp, range(i, i + x.shape[axis]), axis=axis)
                for i in range(2 * r + 1))
    return x


def activation_maximization(model, input_shape, unit: int, layer=None, steps: int = 100,
                            lr: float = 0.1, l2: float = 1e-2, blur_sigma: float = 0.5,
                            blur_every: int = 4, clip=None, seed: int = 0):
    """Gradient ascent from small noise on one input of ``input_shape`` (C, H, W).

    unit: the class (layer None: the model's output, before any softmax) or the channel of
    ``layer`` (a module or its name) whose mean activation is maximised. clip: (low, high) to
    keep the pixels in range, or None. Returns (image (C, H, W), objective per step: the
    activation minus the L2 penalty)."""
    if len(input_shape) != 3:
        raise ValueError(f"activation_maximization: input_shape must be (C, H, W), "
                         f"got {tuple(input_shape)}")
    if steps < 1 or lr <= 0 or l2 < 0:
        raise ValueError(f"activation_maximization: need steps >= 1, lr > 0, l2 >= 0; got "
                         f"steps={steps}, lr={lr}, l2={l2}")
    x = np.random.default_rng(seed).normal(0.0, 0.01, (1, *input_shape))
    target = None if layer is None else get_layer(model, layer, "activation_maximization")
    dtype = next(iter(model.parameters()))._data.dtype if list(model.parameters()) \
        else np.float32
    history, store = [], {}
    with evaluating(model):
        for step in range(steps):
            inp = Tensor(x.astype(dtype), requires_grad=True)
            if target is None:
                out = model(inp)
            else:
                with capture(target, store):
                    model(inp)
                out = store["out"]
            if not 0 <= unit < out.shape[1]:
                raise ValueError(f"activation_maximization: unit must be in [0, {out.shape[1]})"
                                 f" for an output of shape {out.shape}, got {unit}")
            a = out[0, unit]
            a = a.mean() if a.ndim else a                     # a channel: its mean activation
            a.backward()
            history.append(float(a._data) - l2 * float(np.sum(x * x)))
            x = x + lr * (inp.grad._data.astype(np.float64) - 2 * l2 * x)
            if blur_every and (step + 1) % blur_every == 0:
                x = gaussian_blur(x, blur_sigma)
            if clip is not None:
                x = np.clip(x, clip[0], clip[1])
    return x[0], np.array(history)
