"""Dropout: zero each element (``dropout``) or each whole channel (``dropout2d``) with
probability p during training and scale the survivors by 1 / (1 - p), so the expected output
equals the input and evaluation needs no rescaling ("inverted dropout", as in PyTorch).

    y = x * m / (1 - p),  m ~ Bernoulli(1 - p);   dy/dx = m / (1 - p)

With ``training=False`` (or p = 0) both are the identity and return their input. The mask is
drawn from ``generator`` (a numpy Generator or an int seed) or the package's generator
(``ac.manual_seed``); an int seed draws the same mask every call.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..random import resolve
from .base import Tensor, ensure_tensor, make, constant, graph_rule

__all__ = ["dropout", "dropout2d"]


def _check_p(p, where: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating, np.integer)):
        raise TypeError(f"{where}: p must be a number, got {type(p).__name__}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{where}: dropout probability p must be in [0, 1], got {p}")
    return float(p)


class DropoutSaved(NamedTuple):
    """What a dropout node keeps: the scaled mask m / (1 - p), in x's dtype (x's shape, or
    (N, C, 1, 1) for dropout2d)."""
    mask: np.ndarray


def _apply_mask(x: Tensor, p: float, mask_shape: tuple, generator, where: str) -> Tensor:
    if p == 1.0:
        mask = np.zeros(mask_shape, x.dtype)
    else:
        keep = resolve(generator).random(mask_shape) >= p
        mask = keep.astype(x.dtype) * np.asarray(1.0 / (1.0 - p), x.dtype)
    return make(x._data * mask, (x,), where, _dropout_backward, DropoutSaved(mask))


def _dropout_backward(node, g):
    return (g * node._saved.mask,)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False,
            generator=None) -> Tensor:
    """Zero each element with probability p (training only), scale the rest by 1/(1-p).
    Shapes: any -> the same. (``inplace`` is accepted for PyTorch compatibility; the result is
    always a new tensor.)"""
    p = _check_p(p, "dropout")
    x = ensure_tensor(input, "dropout")
    if not training or p == 0.0:
        return x
    return _apply_mask(x, p, x.shape, generator, "dropout")


def dropout2d(input, p: float = 0.5, training: bool = True, inplace: bool = False,
              generator=None) -> Tensor:
    """Zero whole channels (feature maps) with probability p, scale the rest by 1/(1-p): one
    draw per (sample, channel). Shapes: (N, C, H, W) or unbatched (C, H, W) -> the same."""
    p = _check_p(p, "dropout2d")
    x = ensure_tensor(input, "dropout2d")
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected an input of shape (N, C, H, W) or (C, H, W), "
                         f"got shape {x.shape}")
    if not training or p == 0.0:
        return x
    mask_shape = x.shape[:-2] + (1, 1)                  # (N, C, 1, 1): one draw per channel
    return _apply_mask(x, p, mask_shape, generator, "dropout2d")


@graph_rule(_dropout_backward)
def _dropout_graph(node, g):
    return (g * constant(node._saved.mask),)
