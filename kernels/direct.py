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

from .frames import valid_range as _valid
from .threads import parallel_region, split_batch


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


# ---- stride 1: every kernel tap is one long shifted axpy over the flat padded plane ------------
#
# As in kernels/shifted.py: lay the output on the padded width Wp = Wo + (KW - 1) dw (the last
# KW - 1 columns of each output row are junk) and flatten; output position p then reads padded
# pixel p + i*dh*Wp + j*dw for tap (i, j). So each tap of each (image, output channel) plane is
# a single vectorised loop of Ho*Wp multiply-adds instead of Ho short rows, which is what made
# the loops above slow on LeNet-sized planes (rows of 10-28 pixels). These kernels are serial
# and release the GIL; the batch is split over threads (kernels/threads.py). (As parallel loops
# they ran slower than serially: Numba's parallel lowering lost the vectorisation here.)


@njit(cache=True, nogil=True)
def shift_forward(xp, w, groups, dh, dw, ho, yw):
    """yw[n, k, p] = sum_{c, i, j} w[k, c, i, j] xp[n, c].flat[p + i*dh*Wp + j*dw].
    xp (N, C, Hp + 1, Wp) zero-padded, w (K, Cg, KH, KW) -> yw (N, K, Ho*Wp), zeroed."""
    n_img, _, hp1, wp = xp.shape
    k_out, cg, kh, kw = w.shape
    kg = k_out // groups
    npos = ho * wp
    for nk in range(n_img * k_out):           # each iteration owns the plane yw[n, k]
        n = nk // k_out
        k = nk % k_out
        c0 = (k // kg) * cg
        acc = yw[n, k]
        for c in range(cg):
            src = xp[n, c0 + c].reshape(hp1 * wp)
            for i in range(kh):
                for j in range(kw):
                    s = i * dh * wp + j * dw
                    wv = w[k, c, i, j]
                    seg = src[s:s + npos]
                    for t in range(npos):
                        acc[t] += wv * seg[t]


@njit(cache=True, nogil=True)
def shift_backward_input(gw, w, groups, dh, dw, dxp):
    """dxp[n, c].flat[p + i*dh*Wp + j*dw] += w[k, c, i, j] gw[n, k, p] (the adjoint of
    shift_forward).  gw (N, K, Ho*Wp) with zero junk columns -> dxp (N, C, Hp + 1, Wp), zeroed."""
    n_img, c_in, hp1, wp = dxp.shape
    k_out, cg, kh, kw = w.shape
    kg = k_out // groups
    npos = gw.shape[2]
    for nc in range(n_img * c_in):            # each iteration owns the plane dxp[n, c]
        n = nc // c_in
        c = nc % c_in
        grp = c // cg
        cc = c - grp * cg
        dst = dxp[n, c].reshape(hp1 * wp)
        for kk in range(kg):
            k = grp * kg + kk
            src = gw[n, k]
            for i in range(kh):
                for j in range(kw):
                    s = i * dh * wp + j * dw
                    wv = w[k, cc, i, j]
                    seg = dst[s:s + npos]
                    for t in range(npos):
                        seg[t] += wv * src[t]


@njit(cache=True, nogil=True)
def shift_backward_weight(xp, gw, kh, kw, groups, dh, dw, dwt):
    """dwt[k, c, i, j] = sum_{n, p} gw[n, k, p] xp[n, c].flat[p + i*dh*Wp + j*dw].
    xp (N, C, Hp + 1, Wp), gw (N, K, Ho*Wp) with zero junk columns -> dwt (K, Cg, KH, KW)."""
    n_img, c_in, hp1, wp = xp.shape
    k_out, cg = dwt.shape[:2]
    kg = k_out // groups
    npos = gw.shape[2]
    for kc in range(k_out * cg):              # each iteration owns dwt[k, c]
        k = kc // cg
        c = kc % cg
        c_abs = (k // kg) * cg + c
        # a row of partial sums: elementwise += vectorises, a scalar += cannot
        acc = np.empty(npos, dtype=dwt.dtype)
        for i in range(kh):
            for j in range(kw):
                s = i * dh * wp + j * dw
                acc[:] = 0
                for n in range(n_img):
                    seg = xp[n, c_abs].reshape(hp1 * wp)[s:s + npos]
                    gk = gw[n, k]
                    for t in range(npos):
                        acc[t] += gk[t] * seg[t]
                dwt[k, c, i, j] = acc.sum()


def _frame(in_size, kernel, padding, dilation, out_size):
    """(Hp + 1, Wp, rows, cols): the padded frame of a stride-1 layer and how much of the image
    (rows, cols) lies in it; one spare row keeps the last tap's shifted read inside."""
    (h, w), (kh, kw), (pt, pl), (dh, dw), (ho, wo) = in_size, kernel, padding, dilation, out_size
    hp, wp = ho + (kh - 1) * dh, wo + (kw - 1) * dw
    return hp + 1, wp, max(0, min(h, hp - pt)), max(0, min(w, wp - pl))


def _pad(x, frame, padding):
    hp1, wp, rows, cols = frame
    xp = np.zeros(x.shape[:2] + (hp1, wp), dtype=x.dtype)
    xp[:, :, padding[0]:padding[0] + rows, padding[1]:padding[1] + cols] = x[:, :, :rows, :cols]
    return xp


def _spread(g, wp):
    """g (N, K, Ho, Wo) on the Wp-wide grid, flat: (N, K, Ho*Wp), junk columns zero."""
    n_img, k_out, ho, wo = g.shape
    gw = np.zeros((n_img, k_out, ho, wp), dtype=g.dtype)
    gw[..., :wo] = g
    return gw.reshape(n_img, k_out, ho * wp)


def forward(x, w, stride, padding, dilation, groups, out_size):
    """y = x * w by direct loops.  x (N, C, H, W), w (K, Cg, KH, KW) -> y (N, K, Ho, Wo)."""
    ho, wo = out_size
    if tuple(stride) != (1, 1):
        with parallel_region():               # a parallel=True kernel: one at a time
            return direct_forward(x, w, stride[0], stride[1], padding[0], padding[1],
                                  dilation[0], dilation[1], groups, ho, wo)
    frame = _frame(x.shape[2:], w.shape[2:], padding, dilation, out_size)
    xp = _pad(x, frame, padding)
    yw = np.zeros((x.shape[0], w.shape[0], ho * frame[1]), dtype=x.dtype)
    split_batch(x.shape[0], lambda a, b: shift_forward(xp[a:b], w, groups, dilation[0],
                                                       dilation[1], ho, yw[a:b]))
    return np.ascontiguousarray(yw.reshape(x.shape[0], w.shape[0], ho, frame[1])[..., :wo])


def backward_input(g, w, in_size, stride, padding, dilation, groups):
    """dL/dx by direct loops.  g (N, K, Ho, Wo) -> dx (N, C, H, W)."""
    if tuple(stride) != (1, 1):
        with parallel_region():
            return direct_backward_input(g, w, in_size[0], in_size[1], stride[0], stride[1],
                                         padding[0], padding[1], dilation[0], dilation[1],
                                         groups)
    n_img, c_in = g.shape[0], w.shape[1] * groups
    hp1, wp, rows, cols = _frame(in_size, w.shape[2:], padding, dilation, g.shape[2:])
    dxp = np.zeros((n_img, c_in, hp1, wp), dtype=g.dtype)
    gw = _spread(g, wp)
    split_batch(n_img, lambda a, b: shift_backward_input(gw[a:b], w, groups, dilation[0],
                                                         dilation[1], dxp[a:b]))
    dx = np.zeros((n_img, c_in) + tuple(in_size), dtype=g.dtype)
    dx[:, :, :rows, :cols] = dxp[:, :, padding[0]:padding[0] + rows,
                                 padding[1]:padding[1] + cols]
    return dx


def backward_weight(x, g, kernel_size, stride, padding, dilation, groups):
    """dL/dw by direct loops.  x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, Cg, KH, KW)."""
    if tuple(stride) != (1, 1):
        with parallel_region():
            return direct_backward_weight(x, g, kernel_size[0], kernel_size[1], stride[0],
                                          stride[1], padding[0], padding[1], dilation[0],
                                          dilation[1], groups)
    frame = _frame(x.shape[2:], kernel_size, padding, dilation, g.shape[2:])
    k_out, cg = g.shape[1], x.shape[1] // groups
    xp, gw = _pad(x, frame, padding), _spread(g, frame[1])

    def share(a, b):
        dwt = np.empty((k_out, cg) + tuple(kernel_size), dtype=x.dtype)
        shift_backward_weight(xp[a:b], gw[a:b], kernel_size[0], kernel_size[1], groups,
                              dilation[0], dilation[1], dwt)
        return dwt

    parts = split_batch(x.shape[0], share)
    return sum(parts[1:], parts[0])
