"""Frozen records of checked geometry: what a convolution or a pooling op was asked to do, after
its arguments passed the checks of ``functional`` (once, at the functional boundary).

A record travels with the op: into the kernel call (``ConvGeometry.args`` are the kernels'
keyword arguments), into the node's saved context, and into the backward, which trusts it and
checks nothing again. Every field is a Python int or a pair of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ConvGeometry", "PoolGeometry"]

Pair = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ConvGeometry:
    """conv2d / conv_transpose2d: y[n, k, oy, ox] reads x[n, c, oy*s + i*d - p, ox*s + j*d - p].

    ``padding`` is (top, left); the bottom/right padding follows from ``out_size``. For a
    transposed convolution ``in_size``/``out_size`` are its own input and output sizes (so the
    convolution it inverts maps ``out_size`` to ``in_size``)."""
    stride: Pair
    padding: Pair
    dilation: Pair
    groups: int
    kernel_size: Pair
    in_size: Pair
    out_size: Pair
    args: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        # the kernels' keyword arguments, built once
        object.__setattr__(self, "args", {"stride": self.stride, "padding": self.padding,
                                          "dilation": self.dilation, "groups": self.groups})


@dataclass(frozen=True, slots=True)
class PoolGeometry:
    """max/avg pooling: output (oy, ox) covers rows oy*s - p + d*i, i < k (likewise columns)."""
    kernel_size: Pair
    stride: Pair
    padding: Pair
    dilation: Pair
    in_size: Pair
    out_size: Pair

    @property
    def kernel_ints(self) -> tuple:
        """(kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo): the pooling kernels' positional sizes."""
        return (*self.kernel_size, *self.stride, *self.padding, *self.dilation, *self.out_size)
