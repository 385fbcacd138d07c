"""Upsampling kernels: nearest and bilinear interpolation of (N, C, H, W) planes, forward and
backward.

The source rows/columns and weights depend only on the sizes, so they are computed once in
Python (``autograd_cnn/backend.py``, PyTorch's formulas) and passed in as small arrays:

    nearest:   out[oh, ow] = x[hi[oh], wi[ow]]
    bilinear:  out[oh, ow] = lh0[oh] * (lw0[ow] x[h0, w0] + lw1[ow] x[h0, w1])
                           + lh1[oh] * (lw0[ow] x[h1, w0] + lw1[ow] x[h1, w1])
               with h0 = h0[oh], h1 = h1[oh], w0 = w0[ow], w1 = w1[ow]

Both are linear in x, so each backward is the transposed map: every output gradient is added
back to the input elements it was read from, with the same weights. Parallel over the N*C
planes; a plane's gradient is scattered only by the iteration that owns it.
"""

import numpy as np
from numba import njit, prange


@njit(parallel=True, cache=True)
def nearest_forward(x, hi, wi):
    """(N, C, H, W) -> (N, C, len(hi), len(wi)), out[.., oh, ow] = x[.., hi[oh], wi[ow]]."""
    N, C, H, W = x.shape
    Ho, Wo = hi.shape[0], wi.shape[0]
    P = N * C
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    for p in prange(P):
        for oh in range(Ho):
            src = xp[p, hi[oh]]
            dst = op[p, oh]
            for ow in range(Wo):
                dst[ow] = src[wi[ow]]
    return out


@njit(parallel=True, cache=True)
def nearest_backward(g, hi, wi, H, W):
    """(N, C, Ho, Wo) -> (N, C, H, W): gx[.., hi[oh], wi[ow]] += g[.., oh, ow]."""
    N, C, Ho, Wo = g.shape
    P = N * C
    gx = np.empty((N, C, H, W), dtype=g.dtype)
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    for p in prange(P):
        gxp[p, :, :] = 0
        for oh in range(Ho):
            src = gp[p, oh]
            dst = gxp[p, hi[oh]]
            for ow in range(Wo):
                dst[wi[ow]] += src[ow]
    return gx


@njit(parallel=True, cache=True)
def bilinear_forward(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1):
    """(N, C, H, W) -> (N, C, len(h0), len(w0)); the formula is in the module docstring."""
    N, C, H, W = x.shape
    Ho, Wo = h0.shape[0], w0.shape[0]
    P = N * C
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    for p in prange(P):
        for oh in range(Ho):
            top = xp[p, h0[oh]]
            bottom = xp[p, h1[oh]]
            a0 = lh0[oh]
            a1 = lh1[oh]
            dst = op[p, oh]
            for ow in range(Wo):
                c0 = w0[ow]
                c1 = w1[ow]
                dst[ow] = (a0 * (lw0[ow] * top[c0] + lw1[ow] * top[c1])
                           + a1 * (lw0[ow] * bottom[c0] + lw1[ow] * bottom[c1]))
    return out


@njit(parallel=True, cache=True)
def bilinear_backward(g, h0, h1, lh0, lh1, w0, w1, lw0, lw1, H, W):
    """(N, C, Ho, Wo) -> (N, C, H, W): the transpose of ``bilinear_forward``."""
    N, C, Ho, Wo = g.shape
    P = N * C
    gx = np.empty((N, C, H, W), dtype=g.dtype)
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    for p in prange(P):
        gxp[p, :, :] = 0
        for oh in range(Ho):
            top = gxp[p, h0[oh]]
            bottom = gxp[p, h1[oh]]
            a0 = lh0[oh]
            a1 = lh1[oh]
            src = gp[p, oh]
            for ow in range(Wo):
                c0 = w0[ow]
                c1 = w1[ow]
                v = src[ow]
                top[c0] += a0 * lw0[ow] * v
                top[c1] += a0 * lw1[ow] * v
                bottom[c0] += a1 * lw0[ow] * v
                bottom[c1] += a1 * lw1[ow] * v
    return gx
