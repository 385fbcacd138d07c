"""Resizing as separable linear maps: interpolation modes without a kernel of their own.

Every mode here resizes each spatial dim independently with a matrix M (out x in):

    1-D (N, C, L):     y = x M^T                       dL/dx = g M
    2-D (N, C, H, W):  y = M_h x M_w^T                 dL/dx = M_h^T g M_w

Rows of M, for output position i (PyTorch's source-index rules; scale = in / out, or
1 / scale_factor when a scale factor is given and not recomputed):

    nearest        1 at floor(i * scale)
    nearest-exact  1 at floor((i + 0.5) * scale)                      (both clamped to in - 1)
    linear         src = (i + 0.5) scale - 0.5 clamped at 0, or i (in-1)/(out-1) with
                   align_corners; weights 1 - t, t at floor(src), floor(src) + 1
    bicubic        src as linear but not clamped; Keys' cubic convolution (A = -0.75) on the
                   4 neighbours floor(src) - 1 .. floor(src) + 2, indices clamped to the edge

``interpolate`` (pool.py) sends here every 1-D input, and 2-D 'nearest-exact' and 'bicubic'.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .base import Tensor, graph_rule, linear_map, make

__all__ = ["resize_matrix", "separable_resize"]

_A = -0.75


def _cubic_weights(t: np.ndarray) -> np.ndarray:
    """(len(t), 4) weights of the neighbours at offsets -1, 0, 1, 2 for fractions t."""
    def near(x):                              # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):                               # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
    return np.stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=1)


def resize_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale) -> np.ndarray:
    """The (n_out, n_in) float64 matrix of one dim's resize (rules in the module docstring)."""
    m = np.zeros((n_out, n_in))
    i = np.arange(n_out, dtype=np.float64)
    rows = np.arange(n_out)
    step = n_in / n_out if scale is None else 1.0 / scale
    if mode in ("nearest", "nearest-exact"):
        src = np.floor((i + (0.5 if mode == "nearest-exact" else 0.0)) * step)
        m[rows, np.minimum(src.astype(np.int64), n_in - 1)] = 1
        return m
    if align_corners:
        src = i * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(n_out)
    else:
        src = (i + 0.5) * step - 0.5
    if mode == "linear":
        src = np.maximum(src, 0) if not align_corners else src
        lo = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
        hi = np.minimum(lo + 1, n_in - 1)
        t = src - lo
        np.add.at(m, (rows, lo), 1 - t)
        np.add.at(m, (rows, hi), t)
        return m
    lo = np.floor(src).astype(np.int64)        # bicubic
    w = _cubic_weights(src - lo)
    for k in range(4):
        np.add.at(m, (rows, np.clip(lo - 1 + k, 0, n_in - 1)), w[:, k])
    return m


class ResizeSaved(NamedTuple):
    """What a separable resize node keeps: one (out x in) matrix per resized dim, and the
    (N, C, ...) shape of the batched input."""
    matrices: list
    in_shape: tuple


def separable_resize(x: Tensor, data: np.ndarray, out_sizes, mode: str, align_corners: bool,
                     scales) -> Tensor:
    """Resize the last len(out_sizes) dims of ``data`` ((N, C, L) or (N, C, H, W))."""
    mats = [resize_matrix(n, o, mode, align_corners, s).astype(data.dtype)
            for n, o, s in zip(data.shape[2:], out_sizes, scales)]
    y = _apply(mats, data)
    return make(np.ascontiguousarray(y), (x,), f"interpolate_{mode}", _resize_backward,
                ResizeSaved(mats, data.shape))


def _apply(mats, data):
    if len(mats) == 1:
        return data @ mats[0].T                            # (N, C, L) -> (N, C, Lo)
    return np.einsum("oh,nchw,pw->ncop", mats[0], data, mats[1], optimize=True)


def _resize_backward(node, g):
    mats, shape = node._saved.matrices, node._saved.in_shape
    g = g.reshape((shape[0], shape[1]) + g.shape[-len(mats):])
    if len(mats) == 1:
        gx = g @ mats[0]
    else:
        gx = np.einsum("oh,ncop,pw->nchw", mats[0], g, mats[1], optimize=True)
    return (gx.reshape(node._parents[0].shape),)


@graph_rule(_resize_backward)
def _resize_graph(node, g):
    mats, shape = node._saved.matrices, node._saved.in_shape
    return (linear_map(g, lambda a: _resize_backward(node, a)[0],
                       lambda h: _apply(mats, h.reshape(shape)).reshape(node.shape),
                       "resize_adjoint"),)


def sizes_1d(where: str, n_in: int, size, scale_factor, recompute_scale_factor):
    """(L_out,) and (scale or None,) for a 1-D resize, as PyTorch computes them."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{where}: give exactly one of size and scale_factor, got size={size!r}"
                         f", scale_factor={scale_factor!r}")
    if size is not None:
        n = size[0] if isinstance(size, (list, tuple)) and len(size) == 1 else size
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{where}: size must be a positive int for a 1-D input, got "
                             f"{size!r}")
        return (int(n),), (None,)
    f = scale_factor[0] if isinstance(scale_factor, (list, tuple)) and len(scale_factor) == 1 \
        else scale_factor
    if isinstance(f, bool) or not isinstance(f, (int, float)) or not math.isfinite(f) or f <= 0:
        raise ValueError(f"{where}: scale_factor must be a finite positive number for a 1-D "
                         f"input, got {scale_factor!r}")
    n = int(math.floor(n_in * float(f)))
    if n < 1:
        raise ValueError(f"{where}: scale_factor {f} turns length {n_in} into {n}")
    return (n,), (None if recompute_scale_factor else float(f),)
