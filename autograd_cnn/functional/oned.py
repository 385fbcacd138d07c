"""1-D convolution and pooling over (N, C, L) or (C, L) inputs: the 2-D ops on a height of 1.

    conv1d      weight (K, C/groups, k);  L_out = floor((L + 2p - d (k - 1) - 1) / s) + 1
    max_pool1d  / avg_pool1d: the same L_out formula (ceil_mode: ceil), PyTorch's arguments

An (N, C, L) input becomes (N, C, 1, L), the 2-D op runs with a 1 x k window, and the height
is dropped again; the gradients flow through the same reshapes. ``max_pool1d``'s indices are
positions along L (the 2-D op's flat h * W + w with h = 0).
"""

from __future__ import annotations

from ..errors import ShapeError
from .base import Tensor, ensure_tensor
from .conv import conv2d
from .pool import avg_pool2d, max_pool2d

__all__ = ["conv1d", "max_pool1d", "avg_pool1d"]


def _one(v, where: str, name: str):
    """An int or a 1-sequence as an int ('same'/'valid' pass through)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple)):
        if len(v) != 1:
            raise ValueError(f"{where}: {name} must be an int or a 1-tuple, got {v!r}")
        v = v[0]
    return v


def _as2d(x: Tensor, where: str) -> Tensor:
    if x.ndim not in (2, 3):
        raise ShapeError(f"{where}: expected a 3-D (N, C, L) or 2-D (C, L) input, got shape "
                         f"{x.shape}")
    return x.unsqueeze(-2)                     # (N, C, L) -> (N, C, 1, L)


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D cross-correlation: (N, C, L) * (K, C/groups, k) -> (N, K, L_out)."""
    x, w = ensure_tensor(x, "conv1d"), ensure_tensor(weight, "conv1d")
    if w.ndim != 3:
        raise ShapeError(f"conv1d: weight must be 3-D (out_channels, in_channels/groups, k), "
                         f"got shape {w.shape}")
    p = _one(padding, "conv1d", "padding")
    y = conv2d(_as2d(x, "conv1d"), w.unsqueeze(-2), bias, (1, _one(stride, "conv1d", "stride")),
               p if isinstance(p, str) else (0, p), (1, _one(dilation, "conv1d", "dilation")),
               groups)
    return y.squeeze(-2)


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of k along L; with return_indices also the positions (int64)."""
    x = ensure_tensor(x, "max_pool1d")
    k = _one(kernel_size, "max_pool1d", "kernel_size")
    s = None if stride is None or stride == () or stride == [] else \
        (1, _one(stride, "max_pool1d", "stride"))
    out = max_pool2d(_as2d(x, "max_pool1d"), (1, k), s, (0, _one(padding, "max_pool1d",
                                                                  "padding")),
                     (1, _one(dilation, "max_pool1d", "dilation")), ceil_mode, return_indices)
    if return_indices:
        return out[0].squeeze(-2), out[1].squeeze(-2)
    return out.squeeze(-2)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of k along L (count_include_pad: the zero padding counts)."""
    x = ensure_tensor(x, "avg_pool1d")
    k = _one(kernel_size, "avg_pool1d", "kernel_size")
    s = None if stride is None or stride == () or stride == [] else \
        (1, _one(stride, "avg_pool1d", "stride"))
    y = avg_pool2d(_as2d(x, "avg_pool1d"), (1, k), s, (0, _one(padding, "avg_pool1d",
                                                                "padding")),
                   ceil_mode, count_include_pad)
    return y.squeeze(-2)
