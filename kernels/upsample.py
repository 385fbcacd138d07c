"""Upsampling kernels: nearest and bilinear interpolation of (N, C, H, W) planes, forward and
backward.

The source rows/columns and weights depend only on the sizes, so they are computed once in
Python (``autograd_cnn/backend.py``, PyTorch's formulas) and passed in as small arrays:

    nearest:   out[oh, ow] = x[hi[oh], wi[ow]]
    bilinear:  out[oh, ow] = lh0[oh] * (lw0[ow] x[h0, w0] + lw1[ow] x[h0, w1])
                           + lh1[oh] * (lw0[ow] x[h1, w0] + lw1[ow] x[h1, w1])
               with h0 = h0[oh], h1 = h1[oh], w0 = w0[ow], w1 = w1[ow]

As in ``pool.py``, each public kernel allocates its result with numpy (huge pages: a fresh
large array is first touched about 3x faster) and a Numba loop ``_name`` fills it.

Both are linear in x, so each backward is the transposed map: every output gradient is added
back to the input elements it was read from, with the same weights. Each loop covers a range of
the N*C planes (``threads.over_planes`` splits big jobs over threads); a plane's gradient is
scattered only by the share that owns it.
"""

import numpy as np
from numba import njit

from . import reference
from .threads import over_planes


def nearest_forward(x, hi, wi):
    """(N, C, H, W) -> (N, C, len(hi), len(wi)), out[.., oh, ow] = x[.., hi[oh], wi[ow]]."""
    out = np.empty(x.shape[:2] + (len(hi), len(wi)), dtype=x.dtype)
    over_planes(_nearest_forward, x.shape[0] * x.shape[1], x.size + out.size, x, hi, wi, out)
    return out


@njit(cache=True, nogil=True)
def _nearest_forward(x, hi, wi, out, p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = hi.shape[0], wi.shape[0]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    for p in range(p0, p1):
        for oh in range(Ho):
            src = xp[p, hi[oh]]
            dst = op[p, oh]
            for ow in range(Wo):
                dst[ow] = src[wi[ow]]


def nearest_backward(g, hi, wi, H, W):
    """(N, C, Ho, Wo) -> (N, C, H, W): gx[.., hi[oh], wi[ow]] += g[.., oh, ow]."""
    gx = np.empty(g.shape[:2] + (H, W), dtype=g.dtype)
    over_planes(_nearest_backward, g.shape[0] * g.shape[1], g.size + gx.size, g, hi, wi, gx)
    return gx


@njit(cache=True, nogil=True)
def _nearest_backward(g, hi, wi, gx, p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    P = N * C
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    for p in range(p0, p1):
        gxp[p, :, :] = 0
        for oh in range(Ho):
            src = gp[p, oh]
            dst = gxp[p, hi[oh]]
            for ow in range(Wo):
                dst[wi[ow]] += src[ow]


def bilinear_forward(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1):
    """(N, C, H, W) -> (N, C, len(h0), len(w0)); the formula is in the module docstring."""
    out = np.empty(x.shape[:2] + (len(h0), len(w0)), dtype=x.dtype)
    over_planes(_bilinear_forward, x.shape[0] * x.shape[1], x.size + out.size,
                x, h0, h1, lh0, lh1, w0, w1, lw0, lw1, out)
    return out


@njit(cache=True, nogil=True)
def _bilinear_forward(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1, out, p0, p1):
    N, C, H, W = x.shape
    Ho, Wo = h0.shape[0], w0.shape[0]
    P = N * C
    xp = x.reshape(P, H, W)
    op = out.reshape(P, Ho, Wo)
    for p in range(p0, p1):
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


def bilinear_backward(g, h0, h1, lh0, lh1, w0, w1, lw0, lw1, H, W):
    """(N, C, Ho, Wo) -> (N, C, H, W): the transpose of ``bilinear_forward``."""
    gx = np.empty(g.shape[:2] + (H, W), dtype=g.dtype)
    over_planes(_bilinear_backward, g.shape[0] * g.shape[1], g.size + gx.size,
                g, h0, h1, lh0, lh1, w0, w1, lw0, lw1, gx)
    return gx


@njit(cache=True, nogil=True)
def _bilinear_backward(g, h0, h1, lh0, lh1, w0, w1, lw0, lw1, gx, p0, p1):
    N, C, Ho, Wo = g.shape
    H, W = gx.shape[2], gx.shape[3]
    P = N * C
    gp = g.reshape(P, Ho, Wo)
    gxp = gx.reshape(P, H, W)
    for p in range(p0, p1):
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


# the numpy twin of each kernel (backend.get_kernel runs it when AUTOGRAD_CNN_REFERENCE=1)
TWINS = {name: getattr(reference, name) for name in (
    "nearest_forward",
    "nearest_backward",
    "bilinear_forward",
    "bilinear_backward",
)}
