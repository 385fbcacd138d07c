"""Batch-normalisation kernels over (N, C, L) arrays (L = the spatial positions, 1 for
BatchNorm1d on (N, C)).

numpy's version of batch norm makes about fifteen passes over the activations (temporaries for
x - mean, its square, x-hat, the products of the backward); these make two passes forward
(statistics, then the affine map) and two backward (sums, then the input gradient), which is
what the memory bandwidth allows. Sums are accumulated in float64 whatever the data's dtype.

Each kernel comes twice. The plain one walks the array in memory order (sample, channel,
position) with flat indices, so that BatchNorm1d's (N, C, 1) is read row by row and vectorised
across channels, not as one strided column per channel (5 us instead of 95 us for the affine map
of a (64, 512) batch); ``*_parallel`` splits the channels over ``threads.split_batch``'s threads
(each share owns its channels' statistics and output slices) through a per-channel helper: the
pool the convolutions use, which wakes in 50-100 us, where a Numba ``prange`` region took ~150 us
to start and its idle threads spun against the convolutions' pool. The passes are memory-bound,
so the backend switches to the parallel forms only from tuning 'norm_parallel_min' elements.

Twins in ``kernels/reference.py``; the formulas are in ``autograd_cnn/functional/norm.py``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import tuning
from . import reference
from .threads import split_batch, workers

# Only reassociation (and fused multiply-adds): it lets LLVM vectorise the sums (5x faster
# here, measured), and keeps NaN and Inf semantics, which the full fastmath set would not.
_FAST = {"reassoc", "contract"}


@njit(cache=True, fastmath=_FAST)
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


@njit(cache=True, fastmath=_FAST)
def bn_stats(x):
    """Per-channel mean and biased variance of x (N, C, L), as float64."""
    n, c, l = x.shape
    xf = x.reshape(-1)
    total = np.zeros(c, np.float64)
    for i in range(n):
        if l == 1:                        # (N, C): one row per sample, channels side by side
            for ch in range(c):
                total[ch] += xf[i * c + ch]
        else:
            for ch in range(c):
                base = (i * c + ch) * l
                s = np.float64(0.0)
                for j in range(l):
                    s += xf[base + j]
                total[ch] += s
    mean = total / (n * l)
    squares = np.zeros(c, np.float64)
    for i in range(n):
        if l == 1:
            for ch in range(c):
                d = xf[i * c + ch] - mean[ch]
                squares[ch] += d * d
        else:
            for ch in range(c):
                base = (i * c + ch) * l
                m = mean[ch]
                s = np.float64(0.0)
                for j in range(l):
                    d = xf[base + j] - m
                    s += d * d
                squares[ch] += s
    return mean, squares / (n * l)


def bn_stats_parallel(x):
    c = x.shape[1]
    mean, var = np.empty(c, np.float64), np.empty(c, np.float64)
    split_batch(c, lambda c0, c1: _stats_channels(x, mean, var, c0, c1))
    return mean, var


@njit(cache=True, nogil=True)
def _stats_channels(x, mean, var, c0, c1):
    for ch in range(c0, c1):
        _stats_channel(x, ch, mean, var)


@njit(cache=True, fastmath=_FAST)
def _apply_channel(x, ch, mean, scale, shift, y):
    t = x.dtype.type                  # constants in the data's dtype: float32 stays float32
    m, a, b = t(mean[ch]), t(scale[ch]), t(shift[ch])
    for i in range(x.shape[0]):
        src = x[i, ch]
        dst = y[i, ch]
        for j in range(x.shape[2]):
            dst[j] = (src[j] - m) * a + b


@njit(cache=True, fastmath=_FAST)
def bn_apply(x, mean, scale, shift):
    """y[:, c] = (x[:, c] - mean[c]) * scale[c] + shift[c] for x (N, C, L); y has x's dtype."""
    n, c, l = x.shape
    # constants in the data's dtype: float32 stays float32
    m, a, b = mean.astype(x.dtype), scale.astype(x.dtype), shift.astype(x.dtype)
    y = np.empty_like(x)
    xf, yf = x.reshape(-1), y.reshape(-1)
    for i in range(n):
        if l == 1:                        # (N, C): vectorised across the channels
            for ch in range(c):
                k = i * c + ch
                yf[k] = (xf[k] - m[ch]) * a[ch] + b[ch]
        else:
            for ch in range(c):
                base = (i * c + ch) * l
                mm, aa, bb = m[ch], a[ch], b[ch]
                for j in range(l):
                    yf[base + j] = (xf[base + j] - mm) * aa + bb
    return y


def bn_apply_parallel(x, mean, scale, shift):
    y = np.empty_like(x)
    split_batch(x.shape[1], lambda c0, c1: _apply_channels(x, mean, scale, shift, y, c0, c1))
    return y


@njit(cache=True, nogil=True)
def _apply_channels(x, mean, scale, shift, y, c0, c1):
    for ch in range(c0, c1):
        _apply_channel(x, ch, mean, scale, shift, y)


@njit(cache=True, fastmath=_FAST)
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


@njit(cache=True, fastmath=_FAST)
def bn_backward_sums(g, x, mean):
    """Per channel: sum of g and sum of g * (x - mean), as float64."""
    n, c, l = x.shape
    xf, gf = x.reshape(-1), g.reshape(-1)
    sum_g, sum_gx = np.zeros(c, np.float64), np.zeros(c, np.float64)
    for i in range(n):
        if l == 1:
            for ch in range(c):
                k = i * c + ch
                sum_g[ch] += gf[k]
                sum_gx[ch] += gf[k] * (xf[k] - mean[ch])
        else:
            for ch in range(c):
                base = (i * c + ch) * l
                m = mean[ch]
                a = np.float64(0.0)
                b = np.float64(0.0)
                for j in range(l):
                    a += gf[base + j]
                    b += gf[base + j] * (xf[base + j] - m)
                sum_g[ch] += a
                sum_gx[ch] += b
    return sum_g, sum_gx


def bn_backward_sums_parallel(g, x, mean):
    c = x.shape[1]
    sum_g, sum_gx = np.empty(c, np.float64), np.empty(c, np.float64)
    split_batch(c, lambda c0, c1: _sums_channels(g, x, mean, sum_g, sum_gx, c0, c1))
    return sum_g, sum_gx


@njit(cache=True, nogil=True)
def _sums_channels(g, x, mean, sum_g, sum_gx, c0, c1):
    for ch in range(c0, c1):
        _sums_channel(g, x, ch, mean, sum_g, sum_gx)


@njit(cache=True, fastmath=_FAST)
def _input_channel(g, x, ch, mean, k_g, k_0, k_x, dx):
    t = x.dtype.type
    m, a, b, d = t(mean[ch]), t(k_g[ch]), t(k_0[ch]), t(k_x[ch])
    for i in range(x.shape[0]):
        grow = g[i, ch]
        xrow = x[i, ch]
        out = dx[i, ch]
        for j in range(x.shape[2]):
            out[j] = a * grow[j] - b - d * (xrow[j] - m)


@njit(cache=True, fastmath=_FAST)
def bn_backward_input(g, x, mean, k_g, k_0, k_x):
    """dx[:, c] = k_g[c] g - k_0[c] - k_x[c] (x - mean[c]): the training-mode input gradient
    with the per-channel constants computed by the caller."""
    n, c, l = x.shape
    m, a, b, d = (mean.astype(x.dtype), k_g.astype(x.dtype), k_0.astype(x.dtype),
                  k_x.astype(x.dtype))
    dx = np.empty_like(x)
    xf, gf, out = x.reshape(-1), g.reshape(-1), dx.reshape(-1)
    for i in range(n):
        if l == 1:
            for ch in range(c):
                k = i * c + ch
                out[k] = a[ch] * gf[k] - b[ch] - d[ch] * (xf[k] - m[ch])
        else:
            for ch in range(c):
                base = (i * c + ch) * l
                mm, aa, bb, dd = m[ch], a[ch], b[ch], d[ch]
                for j in range(l):
                    out[base + j] = aa * gf[base + j] - bb - dd * (xf[base + j] - mm)
    return dx


def bn_backward_input_parallel(g, x, mean, k_g, k_0, k_x):
    dx = np.empty_like(x)
    split_batch(x.shape[1], lambda c0, c1: _input_channels(g, x, mean, k_g, k_0, k_x, dx, c0, c1))
    return dx


@njit(cache=True, nogil=True)
def _input_channels(g, x, mean, k_g, k_0, k_x, dx, c0, c1):
    for ch in range(c0, c1):
        _input_channel(g, x, ch, mean, k_g, k_0, k_x, dx)


# ---- batch norm + ReLU, fused: y = max(bn(x), 0) -------------------------------------------------
#
# One pass forward (the affine map and the clip), two backward that read ReLU's mask (y <= 0
# -> the gradient is 0) from the output on the fly: no masked gradient and no pre-ReLU output
# is ever stored. They run as elementwise.py's loops do: nogil, over a range (planes n*C + c
# forward and for the input gradient, channels for the sums), split over threads.split_batch's
# threads from tuning 'elementwise_parallel_min' elements touched. Twins beside them.


def _split(kernel, n: int, touched: int, *args) -> None:
    """kernel(*args, i0, i1) over [0, n): in this thread for small jobs, else split."""
    if touched < tuning.get("elementwise_parallel_min") or workers(n) == 1:
        kernel(*args, 0, n)
    else:
        split_batch(n, lambda i0, i1: kernel(*args, i0, i1))


def bn_relu_apply(x, mean, scale, shift):
    """y[:, c] = max((x[:, c] - mean[c]) * scale[c] + shift[c], 0) for x (N, C, L), NaN kept."""
    y = np.empty_like(x)
    _split(_bn_relu_apply, x.shape[0] * x.shape[1], 2 * x.size, x, mean, scale, shift, y)
    return y


@njit(cache=True, nogil=True, fastmath=_FAST)
def _bn_relu_apply(x, mean, scale, shift, y, p0, p1):
    c = x.shape[1]
    t = x.dtype.type
    z = t(0)
    for p in range(p0, p1):
        i, ch = p // c, p % c
        m, a, b = t(mean[ch]), t(scale[ch]), t(shift[ch])
        src, dst = x[i, ch], y[i, ch]
        for j in range(src.size):
            v = (src[j] - m) * a + b
            dst[j] = z if v <= z else v


def bn_relu_apply_twin(x, mean, scale, shift):
    return np.maximum(reference.bn_apply(x, mean, scale, shift), 0).astype(x.dtype, copy=False)


def bn_add_relu_apply(x, mean, scale, shift, r):
    """y[:, c] = max((x[:, c] - mean[c]) * scale[c] + shift[c] + r[:, c], 0) for x, r (N, C, L):
    batch norm, the residual add and ReLU in one pass (the backward is bn_relu's, and r's
    gradient ReLU's)."""
    y = np.empty_like(x)
    _split(_bn_add_relu_apply, x.shape[0] * x.shape[1], 3 * x.size, x, mean, scale, shift, r, y)
    return y


@njit(cache=True, nogil=True, fastmath=_FAST)
def _bn_add_relu_apply(x, mean, scale, shift, r, y, p0, p1):
    c = x.shape[1]
    t = x.dtype.type
    z = t(0)
    for p in range(p0, p1):
        i, ch = p // c, p % c
        m, a, b = t(mean[ch]), t(scale[ch]), t(shift[ch])
        src, res, dst = x[i, ch], r[i, ch], y[i, ch]
        for j in range(src.size):
            v = (src[j] - m) * a + b + res[j]
            dst[j] = z if v <= z else v


def bn_add_relu_apply_twin(x, mean, scale, shift, r):
    return np.maximum(reference.bn_apply(x, mean, scale, shift) + r, 0).astype(x.dtype,
                                                                             copy=False)


def bn_relu_backward_sums(g, y, x, mean):
    """Per channel, with gm = g where y > 0 else 0 (ReLU's backward): sum of gm and sum of
    gm * (x - mean), as float64."""
    c = x.shape[1]
    sum_g, sum_gx = np.empty(c, np.float64), np.empty(c, np.float64)
    _split(_bn_relu_sums, c, 3 * x.size, g, y, x, mean, sum_g, sum_gx)
    return sum_g, sum_gx


@njit(cache=True, nogil=True, fastmath=_FAST)
def _bn_relu_sums(g, y, x, mean, sum_g, sum_gx, c0, c1):
    zg = g.dtype.type(0)
    zy = y.dtype.type(0)
    for ch in range(c0, c1):
        m = mean[ch]
        a = np.float64(0.0)
        b = np.float64(0.0)
        for i in range(x.shape[0]):
            grow, yrow, xrow = g[i, ch], y[i, ch], x[i, ch]
            for j in range(xrow.size):
                gm = zg if yrow[j] <= zy else grow[j]
                a += gm
                b += gm * (xrow[j] - m)
        sum_g[ch] = a
        sum_gx[ch] = b


def bn_relu_backward_sums_twin(g, y, x, mean):
    return reference.bn_backward_sums(np.where(y <= 0, np.zeros((), g.dtype), g), x, mean)


def bn_relu_backward_input(g, y, x, mean, k_g, k_0, k_x):
    """dx[:, c] = k_g[c] gm - k_0[c] - k_x[c] (x - mean[c]), gm = g where y > 0 else 0: the
    training-mode input gradient of batch norm + ReLU, constants from the caller."""
    dx = np.empty_like(x)
    _split(_bn_relu_input, x.shape[0] * x.shape[1], 4 * x.size, g, y, x, mean, k_g, k_0, k_x,
           dx)
    return dx


@njit(cache=True, nogil=True, fastmath=_FAST)
def _bn_relu_input(g, y, x, mean, k_g, k_0, k_x, dx, p0, p1):
    c = x.shape[1]
    t = x.dtype.type
    zg = g.dtype.type(0)
    zy = y.dtype.type(0)
    for p in range(p0, p1):
        i, ch = p // c, p % c
        m, a, b, d = t(mean[ch]), t(k_g[ch]), t(k_0[ch]), t(k_x[ch])
        grow, yrow, xrow, out = g[i, ch], y[i, ch], x[i, ch], dx[i, ch]
        for j in range(xrow.size):
            gm = zg if yrow[j] <= zy else grow[j]
            out[j] = a * gm - b - d * (xrow[j] - m)


def bn_relu_backward_input_twin(g, y, x, mean, k_g, k_0, k_x):
    return reference.bn_backward_input(np.where(y <= 0, np.zeros((), g.dtype), g), x, mean,
                                       k_g, k_0, k_x)


# the numpy twin of each kernel, serial and parallel (backend.get_kernel runs it when
# AUTOGRAD_CNN_REFERENCE=1)
TWINS = {name + suffix: getattr(reference, name) for suffix in ("", "_parallel")
         for name in ("bn_stats", "bn_apply", "bn_backward_sums", "bn_backward_input")}
TWINS.update(bn_relu_apply=bn_relu_apply_twin, bn_add_relu_apply=bn_add_relu_apply_twin,
             bn_relu_backward_sums=bn_relu_backward_sums_twin,
             bn_relu_backward_input=bn_relu_backward_input_twin)
