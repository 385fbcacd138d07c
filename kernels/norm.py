"""Batch-normalisation kernels over (N, C, L) arrays (L = the spatial positions, 1 for
BatchNorm1d on (N, C)).

numpy's version of batch norm makes about fifteen passes over the activations (temporaries for
x - mean, its square, x-hat, the products of the backward); these make two passes forward
(statistics, then the affine map) and two backward (sums, then the input gradient), which is
what the memory bandwidth allows. Sums are accumulated in float64 whatever the data's dtype.

Each kernel comes twice: ``*_parallel`` splits the channels with ``prange`` (each iteration owns
one channel's statistics and output slice), the plain one loops. Starting a parallel region
costs from 2 us (OpenMP, spinning threads) to 150 us (Numba's workqueue pool, measured here),
so the backend uses the parallel form only for arrays of a million elements or more. Both call
the same per-channel helper.

Twins in ``kernels/reference.py``; the formulas are in ``autograd_cnn/functional/norm.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True)
def _stats_channel(x, ch, mean, var):
    # two passes: the variance is the mean of squared deviations, never E[x^2] - E[x]^2
    n, _, l = x.shape
    s = np.float64(0.0)          # (a bare 0.0 + float32 stays float32 without the JIT)
    for i in range(n):
        row = x[i, ch]
        for j in range(l):
            s += row[j]
    m = s / (n * l)
    s2 = np.float64(0.0)
    for i in range(n):
        row = x[i, ch]
        for j in range(l):
            d = row[j] - m
            s2 += d * d
    mean[ch] = m
    var[ch] = s2 / (n * l)


@njit(cache=True)
def bn_stats(x):
    """Per-channel mean and biased variance of x (N, C, L), as float64."""
    c = x.shape[1]
    mean, var = np.empty(c, np.float64), np.empty(c, np.float64)
    for ch in range(c):
        _stats_channel(x, ch, mean, var)
    return mean, var


@njit(parallel=True, cache=True)
def bn_stats_parallel(x):
    c = x.shape[1]
    mean, var = np.empty(c, np.float64), np.empty(c, np.float64)
    for ch in prange(c):
        _stats_channel(x, ch, mean, var)
    return mean, var


@njit(cache=True)
def _apply_channel(x, ch, mean, scale, shift, y):
    t = x.dtype.type                  # constants in the data's dtype: float32 stays float32
    m, a, b = t(mean[ch]), t(scale[ch]), t(shift[ch])
    for i in range(x.shape[0]):
        src = x[i, ch]
        dst = y[i, ch]
        for j in range(x.shape[2]):
            dst[j] = (src[j] - m) * a + b


@njit(cache=True)
def bn_apply(x, mean, scale, shift):
    """y[:, c] = (x[:, c] - mean[c]) * scale[c] + shift[c] for x (N, C, L); y has x's dtype."""
    y = np.empty_like(x)
    for ch in range(x.shape[1]):
        _apply_channel(x, ch, mean, scale, shift, y)
    return y


@njit(parallel=True, cache=True)
def bn_apply_parallel(x, mean, scale, shift):
    y = np.empty_like(x)
    for ch in prange(x.shape[1]):
        _apply_channel(x, ch, mean, scale, shift, y)
    return y


@njit(cache=True)
def _sums_channel(g, x, ch, mean, sum_g, sum_gx):
    m = mean[ch]
    a = np.float64(0.0)
    b = np.float64(0.0)
    for i in range(x.shape[0]):
        grow = g[i, ch]
        xrow = x[i, ch]
        for j in range(x.shape[2]):
            a += grow[j]
            b += grow[j] * (xrow[j] - m)
    sum_g[ch] = a
    sum_gx[ch] = b


@njit(cache=True)
def bn_backward_sums(g, x, mean):
    """Per channel: sum of g and sum of g * (x - mean), as float64."""
    c = x.shape[1]
    sum_g, sum_gx = np.empty(c, np.float64), np.empty(c, np.float64)
    for ch in range(c):
        _sums_channel(g, x, ch, mean, sum_g, sum_gx)
    return sum_g, sum_gx


@njit(parallel=True, cache=True)
def bn_backward_sums_parallel(g, x, mean):
    c = x.shape[1]
    sum_g, sum_gx = np.empty(c, np.float64), np.empty(c, np.float64)
    for ch in prange(c):
        _sums_channel(g, x, ch, mean, sum_g, sum_gx)
    return sum_g, sum_gx


@njit(cache=True)
def _input_channel(g, x, ch, mean, k_g, k_0, k_x, dx):
    t = x.dtype.type
    m, a, b, d = t(mean[ch]), t(k_g[ch]), t(k_0[ch]), t(k_x[ch])
    for i in range(x.shape[0]):
        grow = g[i, ch]
        xrow = x[i, ch]
        out = dx[i, ch]
        for j in range(x.shape[2]):
            out[j] = a * grow[j] - b - d * (xrow[j] - m)


@njit(cache=True)
def bn_backward_input(g, x, mean, k_g, k_0, k_x):
    """dx[:, c] = k_g[c] g - k_0[c] - k_x[c] (x - mean[c]): the training-mode input gradient
    with the per-channel constants computed by the caller."""
    dx = np.empty_like(x)
    for ch in range(x.shape[1]):
        _input_channel(g, x, ch, mean, k_g, k_0, k_x, dx)
    return dx


@njit(parallel=True, cache=True)
def bn_backward_input_parallel(g, x, mean, k_g, k_0, k_x):
    dx = np.empty_like(x)
    for ch in prange(x.shape[1]):
        _input_channel(g, x, ch, mean, k_g, k_0, k_x, dx)
    return dx
