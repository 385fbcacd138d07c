"""Geometry helpers every convolution algorithm shares: which outputs a kernel tap can reach
inside the image, and how many images a chunk of scratch holds."""

from __future__ import annotations

from numba import njit

from .. import tuning


@njit(cache=True, inline="always")
def valid_range(offset, stride, size, n_out):
    """[lo, hi): the outputs o with 0 <= o*stride + offset < size (o < n_out), so a loop over
    them reads inside the image with no bounds test (the padding is never materialised)."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    if hi > n_out:
        hi = n_out
    if hi < lo:
        hi = lo
    return lo, hi


def images_per_chunk(n_img: int, bytes_per_image: int, budget: str) -> int:
    """How many of ``n_img`` images fit a chunk of scratch of tuning ``budget`` bytes (at least
    one: an image too big for the budget is processed alone)."""
    return int(max(1, min(n_img, tuning.get(budget) // max(bytes_per_image, 1))))
