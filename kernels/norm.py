"""Batch-normalisation kernels over (N, C, L) arrays (L = the spatial positions, 1 for
BatchNorm1d on (N, C)), parallel over channels: each iteration of the ``prange`` owns one
channel's statistics and output slice.

numpy's version of batch norm makes about fifteen passes over the activations (temporaries for
x - mean, its square, x-hat, the products of the backward); these make two passes forward
(statistics, then the affine map) and two backward (sums, then the input gradient), which is
what the memory bandwidth allows. Sums are accumulated in float64 whatever the data's dtype.

Twins in ``kernels/reference.py``; the formulas are in ``autograd_cnn/functional/norm.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def bn_stats(x):
    """Per-channel mean and biased variance of x (N, C, L), as float64 (two passes: the
    variance is the mean of squared deviations, never E[x^2] - E[x]^2, which cancels)."""
    n, c, l = x.shape
    mean = np.empty(c, np.float64)
    var = np.empty(c, np.float64)
    count = n * l
    for ch in prange(c):
        s = np.float64(0.0)          # (a bare 0.0 + float32 stays float32 without the JIT)
        for i in range(n):
            row = x[i, ch]
            for j in range(l):
                s += row[j]
        m = s / count
        s2 = np.float64(0.0)
        for i in range(n):
            row = x[i, ch]
            for j in range(l):
                d = row[j] - m
                s2 += d * d
        mean[ch] = m
        var[ch] = s2 / count
    return mean, var


@njit(parallel=True, cache=True)
def bn_apply(x, mean, scale, shift):
    """y[:, c] = (x[:, c] - mean[c]) * scale[c] + shift[c] for x (N, C, L); y has x's dtype."""
    n, c, l = x.shape
    y = np.empty_like(x)
    for ch in prange(c):
        m = x.dtype.type(mean[ch])        # constants in the data's dtype: float32 stays float32
        a = x.dtype.type(scale[ch])
        b = x.dtype.type(shift[ch])
        for i in range(n):
            src = x[i, ch]
            dst = y[i, ch]
            for j in range(l):
                dst[j] = (src[j] - m) * a + b
    return y


@njit(parallel=True, cache=True)
def bn_backward_sums(g, x, mean):
    """Per channel: sum of g and sum of g * (x - mean), as float64."""
    n, c, l = x.shape
    sum_g = np.empty(c, np.float64)
    sum_gx = np.empty(c, np.float64)
    for ch in prange(c):
        m = mean[ch]
        a = np.float64(0.0)
        b = np.float64(0.0)
        for i in range(n):
            grow = g[i, ch]
            xrow = x[i, ch]
            for j in range(l):
                a += grow[j]
                b += grow[j] * (xrow[j] - m)
        sum_g[ch] = a
        sum_gx[ch] = b
    return sum_g, sum_gx


@njit(parallel=True, cache=True)
def bn_backward_input(g, x, mean, k_g, k_0, k_x):
    """dx[:, c] = k_g[c] g - k_0[c] - k_x[c] (x - mean[c]): the training-mode input gradient
    with the per-channel constants computed by the caller."""
    n, c, l = x.shape
    dx = np.empty_like(x)
    for ch in prange(c):
        m = x.dtype.type(mean[ch])
        a = x.dtype.type(k_g[ch])
        b = x.dtype.type(k_0[ch])
        d = x.dtype.type(k_x[ch])
        for i in range(n):
            grow = g[i, ch]
            xrow = x[i, ch]
            out = dx[i, ch]
            for j in range(l):
                out[j] = a * grow[j] - b - d * (xrow[j] - m)
    return dx
