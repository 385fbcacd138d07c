"""Dropout layers: active in training mode, the identity in eval mode (``model.eval()``)."""

from __future__ import annotations

from .. import functional as F
from ..functional.dropout import _check_p
from .module import Module

__all__ = ["Dropout", "Dropout2d"]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        self.p = _check_p(p, type(self).__name__)
        self.inplace = inplace       # accepted for PyTorch compatibility

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Training: zero each element with probability p and scale the others by 1/(1-p);
    eval: the identity. Shape: any -> the same."""

    def forward(self, input):
        return F.dropout(input, self.p, self.training)


class Dropout2d(_DropoutNd):
    """Training: zero whole channels with probability p and scale the others by 1/(1-p)
    (neighbouring pixels are correlated, so dropping single pixels regularises little);
    eval: the identity. Shape: (N, C, H, W) or (C, H, W) -> the same."""

    def forward(self, input):
        return F.dropout2d(input, self.p, self.training)
