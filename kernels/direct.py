"""Direct convolution: the textbook loop nest, for layers too small for a matrix product to pay.

Used for few channels per group (LeNet's first layers, depthwise convolutions), where an im2col
matrix is tiny and the per-call cost of BLAS dominates. Geometry as in ``kernels/conv.py``:

    y[n, k, oy, ox] = sum_{c, i, j} w[k, c, i, j] * x[n, g*Cg + c, oy*sh + i*dh - pt, ox*sw + j*dw - pl]

with x zero outside the image. Padding is never materialised: for each kernel offset the range
of output rows/columns whose input lies inside the image is computed once (``_valid``), and the
inner loop runs over that range of a pre-sliced row, so it has no bounds test and no signed index.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _valid(offset, stride, size, n_out):
    """[lo, hi): the outputs o with 0 <= o*stride + offset < size."""
    lo = 0
    if offset < 0:
        lo = (-offset + stride - 1) // stride
    hi = (size - 1 - offset) // stride + 1 if size - 1 - offset >= 0 else 0
    if hi > n_out:
        hi = n_out
    if hi < lo:
        hi = lo
    return lo, hi


@njit(cache=True, parallel=True)
def direct_forward(x, w, sh, sw, pt, pl, dh, dw, groups, ho, wo):
    """y = x * w.  x (N, C, H, W), w (K, Cg, KH, KW) -> y (N, K, Ho, Wo)."""
    n_img, _, h, wd = x.shape
    k_out, cg, kh, kw = w.shape
    kg = k_out // groups
    y = np.zeros((n_img, k_out, ho, wo), dtype=x.dtype)
    for nk in prange(n_img * k_out):           # each iteration owns the plane y[n, k]
        n = nk // k_out
        k = nk % k_out
        c0 = (k // kg) * cg
        yk = y[n, k]
        for c in range(cg):
            xc = x[n, c0 + c]
            for i in range(kh):
                oy0, oy1 = _valid(i * dh - pt, sh, h, ho)
                for j in range(kw):
                    ox0, ox1 = _valid(j * dw - pl, sw, wd, wo)
                    if ox1 <= ox0:
                        continue
                    wv = w[k, c, i, j]
                    x0 = ox0 * sw + j * dw - pl
                    x1 = x0 + (ox1 - ox0 - 1) * sw + 1
                    for oy in range(oy0, oy1):
                        dst = yk[oy, ox0:ox1]
                        if sw == 1:                 # own branch: a runtime stride blocks SIMD
                            src = xc[oy * sh + i * dh - pt, x0:x1]
                            for t in range(dst.shape[0]):
                                dst[t] += wv * src[t]
                        else:
                            src = xc[oy * sh + i * dh - pt, x0:x1:sw]
                            for t in range(dst.shape[0]):
                                dst[t] += wv * src[t]
    return y


@njit(cache=True, parallel=True)
def direct_backward_input(g, w, h, wd, sh, sw, pt, pl, dh, dw, groups):
    """dx[n, c] = sum over k in c's group and offsets (i, j) of w[k, c, i, j] times g[n, k]
    placed where that offset read the input.  g (N, K, Ho, Wo) -> dx (N, C, H, W)."""
    n_img, k_out, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    kg = k_out // groups
    c_in = cg * groups
    dx = np.zeros((n_img, c_in, h, wd), dtype=g.dtype)
    for nc in prange(n_img * c_in):            # each iteration owns the plane dx[n, c]
        n = nc // c_in
        c = nc % c_in
        grp = c // cg
        cc = c - grp * cg
        dxc = dx[n, c]
        for kk in range(kg):
            k = grp * kg + kk
            gk = g[n, k]
            for i in range(kh):
                oy0, oy1 = _valid(i * dh - pt, sh, h, ho)
                for j in range(kw):
                    ox0, ox1 = _valid(j * dw - pl, sw, wd, wo)
                    if ox1 <= ox0:
                        continue
                    wv = w[k, cc, i, j]
                    x0 = ox0 * sw + j * dw - pl
                    x1 = x0 + (ox1 - ox0 - 1) * sw + 1
                    for oy in range(oy0, oy1):
                        src = gk[oy, ox0:ox1]
                        if sw == 1:
                            dst = dxc[oy * sh + i * dh - pt, x0:x1]
                            for t in range(src.shape[0]):
                                dst[t] += wv * src[t]
                        else:
                            dst = dxc[oy * sh + i * dh - pt, x0:x1:sw]
                            for t in range(src.shape[0]):
                                dst[t] += wv * src[t]
    return dx


@njit(cache=True, parallel=True)
def direct_backward_weight(x, g, kh, kw, sh, sw, pt, pl, dh, dw, groups):
    """dw[k, c, i, j] = sum_{n, oy, ox} g[n, k, oy, ox] * x[n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl].
    x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, Cg, KH, KW)."""
    n_img, c_in, h, wd = x.shape
    _, k_out, ho, wo = g.shape
    cg = c_in // groups
    kg = k_out // groups
    dwt = np.zeros((k_out, cg, kh, kw), dtype=x.dtype)
    for kc in prange(k_out * cg):              # each iteration owns dw[k, c]
        k = kc // cg
        c = kc % cg
        c_abs = (k // kg) * cg + c
        for i in range(kh):
            oy0, oy1 = _valid(i * dh - pt, sh, h, ho)
            for j in range(kw):
                ox0, ox1 = _valid(j * dw - pl, sw, wd, wo)
                if ox1 <= ox0:
                    continue
                x0 = ox0 * sw + j * dw - pl
                x1 = x0 + (ox1 - ox0 - 1) * sw + 1
                # a row of partial sums: elementwise += vectorises, a scalar += cannot
                # (without fastmath LLVM keeps the order of a scalar float reduction)
                acc = np.zeros(ox1 - ox0, dtype=x.dtype)
                for n in range(n_img):
                    for oy in range(oy0, oy1):
                        gr = g[n, k, oy, ox0:ox1]
                        if sw == 1:
                            xr = x[n, c_abs, oy * sh + i * dh - pt, x0:x1]
                        else:
                            xr = x[n, c_abs, oy * sh + i * dh - pt, x0:x1:sw]
                        for t in range(gr.shape[0]):
                            acc[t] += gr[t] * xr[t]
                dwt[k, c, i, j] = acc.sum()
    return dwt
