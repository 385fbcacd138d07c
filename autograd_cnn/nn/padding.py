"""Padding layers (PyTorch's nn.ZeroPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d,
CircularPad2d): F.pad of the last two dims as a module.

``padding``: an int (the same on all four sides) or (left, right, top, bottom), PyTorch's order.
Shape: (N, C, H, W) or (C, H, W) -> (..., H + top + bottom, W + left + right).
"""

from __future__ import annotations

import numbers

from .. import functional as F
from .module import Module


def _four(padding, owner: str) -> tuple:
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        return (int(padding),) * 4
    if isinstance(padding, (tuple, list)) and len(padding) == 4 and all(
            isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding):
        return tuple(int(p) for p in padding)
    raise TypeError(f"{owner}: padding must be an int or 4 ints (left, right, top, bottom), "
                    f"got {padding!r}")


class _Pad2d(Module):
    mode = "constant"

    def __init__(self, padding, value: float = 0.0):
        super().__init__()
        self.padding = _four(padding, type(self).__name__)
        self.value = float(value)

    def forward(self, input):
        if input.ndim not in (3, 4):
            raise ValueError(f"{type(self).__name__}: expected a 3-D (C, H, W) or 4-D "
                             f"(N, C, H, W) input, got shape {tuple(input.shape)}")
        if self.mode == "constant":
            return F.pad(input, self.padding, mode="constant", value=self.value)
        return F.pad(input, self.padding, mode=self.mode)

    def extra_repr(self) -> str:
        return f"{self.padding}" + (f", value={self.value}" if self.mode == "constant" else "")


class ZeroPad2d(_Pad2d):
    """Pad with zeros."""

    def __init__(self, padding):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ConstantPad2d(_Pad2d):
    """Pad with ``value``."""

    def __init__(self, padding, value: float):
        super().__init__(padding, value)


class ReflectionPad2d(_Pad2d):
    """Mirror at the edge without repeating it: [1 2 3] padded by 2 -> [3 2 1 2 3 2 1]."""
    mode = "reflect"


class ReplicationPad2d(_Pad2d):
    """Repeat the edge value: [1 2 3] -> [1 1 1 2 3 3 3]."""
    mode = "replicate"


class CircularPad2d(_Pad2d):
    """Wrap around: [1 2 3] -> [2 3 1 2 3 1 2]."""
    mode = "circular"
