"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25x fewer multiplications.

A 2x2 block of outputs of a 3x3 correlation reads a 4x4 input tile d. Winograd's minimal
filtering algorithm (Lavin & Gray 2015) computes it with 16 multiplications instead of 36:

    Y = A^T [ (G w G^T) (.) (B^T d B) ] A          (.) elementwise, 4x4

    B^T = [[1, 0,-1, 0],     G = [[1,    0,   0  ],     A^T = [[1, 1, 1, 0],
           [0, 1, 1, 0],          [1/2,  1/2, 1/2],            [0, 1,-1,-1]]
           [0,-1, 1, 0],          [1/2, -1/2, 1/2],
           [0, 1, 0,-1]]          [0,    0,   1  ]]

Summed over input channels, the elementwise product becomes, for each of the 16 positions e of
the 4x4 transformed tile, a matrix product over channels: with U[e] = (G w G^T)[e] (K, C) and
V[e] = (B^T d B)[e] (C, tiles), M[e] = U[e] @ V[e] (K, tiles), and Y = A^T M A tile by tile.
So the work is 16 GEMMs (by BLAS) plus three cheap transforms (Numba).

Backward runs the same algebra in reverse. Because the forward is a composition of linear maps
(transform, GEMM, transform), its adjoint is exact:

    dM = A dY A^T                      (transform of the output gradient, 2x2 -> 4x4)
    dU[e] = dM[e] @ V[e]^T,            dw = G^T dU G                   (weight gradient)
    dV[e] = U[e]^T @ dM[e],            dx += B dV B^T, tiles overlapping (input gradient)

Layout: V and M are (16, channels, P) with the tile index p = (n*TH + ty)*TW + tx, so each GEMM
operand is a row-major matrix. The batch is processed in chunks, in reused buffers.
Padding is handled once, when a tile row is loaded (rows/columns outside the image read as 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

# Bytes of one transformed-input chunk V (16, C, P).
CHUNK_BYTES = 8 << 20

_G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])


@njit(cache=True, parallel=True)
def input_transform(x, n0, pt, pl, th, tw, v):
    """V[4r + j, c, p] = (B^T d B)[r, j] for every 4x4 input tile d of images n0 .. of x.
    x (N, C, H, W) -> v (16, C, B*TH*TW)."""
    _, c_in, h, wd = x.shape
    ntile = th * tw
    nb = v.shape[2] // ntile
    wp = 2 * tw + 2                         # padded width that the tiles of a row span
    q0 = max(0, pl)                         # columns [q0, q1) of a padded row hold image pixels
    q1 = min(wp, pl + wd)
    for nc in prange(nb * c_in):            # each iteration owns v[:, c, tiles of image n]
        n = nc // c_in
        c = nc % c_in
        xc = x[n0 + n, c]
        d = np.zeros((4, wp), dtype=x.dtype)
        t = np.empty((4, wp), dtype=x.dtype)
        for ty in range(th):
            for r in range(4):
                yy = 2 * ty - pt + r
                dr = d[r]
                if 0 <= yy < h and q1 > q0:
                    src = xc[yy, q0 - pl:q1 - pl]
                    seg = dr[q0:q1]
                    for q in range(seg.shape[0]):
                        seg[q] = src[q]
                    dr[:q0] = 0
                    dr[q1:] = 0
                else:
                    dr[:] = 0
            # B^T d: combine the four rows, whole rows at a time
            for q in range(wp):
                t[0, q] = d[0, q] - d[2, q]
                t[1, q] = d[1, q] + d[2, q]
                t[2, q] = d[2, q] - d[1, q]
                t[3, q] = d[1, q] - d[3, q]
            base = (n * th + ty) * tw
            # (B^T d) B: combine columns 2tx .. 2tx+3 of each row
            for r in range(4):
                tr = t[r]
                v0 = v[4 * r, c, base:base + tw]
                v1 = v[4 * r + 1, c, base:base + tw]
                v2 = v[4 * r + 2, c, base:base + tw]
                v3 = v[4 * r + 3, c, base:base + tw]
                for tx in range(tw):
                    a = tr[2 * tx]
                    b = tr[2 * tx + 1]
                    e = tr[2 * tx + 2]
                    f = tr[2 * tx + 3]
                    v0[tx] = a - e
                    v1[tx] = b + e
                    v2[tx] = e - b
                    v3[tx] = b - f


@njit(cache=True, parallel=True)
def output_transform(m, bias, n0, th, tw, y):
    """y[n0 + n, k] = A^T M A + bias[k], tile by tile.  m (16, K, B*TH*TW) -> y (N, K, Ho, Wo)."""
    _, k_out, ho, wo = y.shape
    ntile = th * tw
    nb = m.shape[2] // ntile
    for nk in prange(nb * k_out):           # each iteration owns the plane y[n0 + n, k]
        n = nk // k_out
        k = nk % k_out
        yk = y[n0 + n, k]
        bk = bias[k]
        o = np.empty((2, 2 * tw), dtype=y.dtype)
        for ty in range(th):
            base = (n * th + ty) * tw
            for tx in range(tw):
                p = base + tx
                # A^T M: rows 0+1+2 and 1-2-3, for each of the four columns
                s0 = m[0, k, p] + m[4, k, p] + m[8, k, p]
                s1 = m[1, k, p] + m[5, k, p] + m[9, k, p]
                s2 = m[2, k, p] + m[6, k, p] + m[10, k, p]
                s3 = m[3, k, p] + m[7, k, p] + m[11, k, p]
                u0 = m[4, k, p] - m[8, k, p] - m[12, k, p]
                u1 = m[5, k, p] - m[9, k, p] - m[13, k, p]
                u2 = m[6, k, p] - m[10, k, p] - m[14, k, p]
                u3 = m[7, k, p] - m[11, k, p] - m[15, k, p]
                # (A^T M) A: the same combination of columns
                o[0, 2 * tx] = s0 + s1 + s2
                o[0, 2 * tx + 1] = s1 - s2 - s3
                o[1, 2 * tx] = u0 + u1 + u2
                o[1, 2 * tx + 1] = u1 - u2 - u3
            for a in range(2):
                yy = 2 * ty + a
                if yy < ho:
                    dst = yk[yy]
                    src = o[a]
                    for q in range(wo):
                        dst[q] = src[q] + bk


@njit(cache=True, parallel=True)
def output_adjoint(g, n0, th, tw, dm):
    """dM = A dY A^T for every 2x2 tile of the output gradient (0 beyond its edge).
    g (N, K, Ho, Wo) -> dm (16, K, B*TH*TW)."""
    _, k_out, ho, wo = g.shape
    ntile = th * tw
    nb = dm.shape[2] // ntile
    for nk in prange(nb * k_out):           # each iteration owns dm[:, k, tiles of image n]
        n = nk // k_out
        k = nk % k_out
        gk = g[n0 + n, k]
        r = np.zeros((2, 2 * tw), dtype=g.dtype)
        hrow = np.empty((4, 2 * tw), dtype=g.dtype)
        for ty in range(th):
            for a in range(2):
                yy = 2 * ty + a
                if yy < ho:
                    src = gk[yy]
                    dst = r[a]
                    for q in range(wo):
                        dst[q] = src[q]
                else:
                    r[a, :] = 0
            # A dY: rows (dY0, dY0 + dY1, dY0 - dY1, -dY1)
            for q in range(2 * tw):
                hrow[0, q] = r[0, q]
                hrow[1, q] = r[0, q] + r[1, q]
                hrow[2, q] = r[0, q] - r[1, q]
                hrow[3, q] = -r[1, q]
            base = (n * th + ty) * tw
            # (A dY) A^T: the same combination of columns 2tx, 2tx+1
            for i in range(4):
                hi = hrow[i]
                d0 = dm[4 * i, k, base:base + tw]
                d1 = dm[4 * i + 1, k, base:base + tw]
                d2 = dm[4 * i + 2, k, base:base + tw]
                d3 = dm[4 * i + 3, k, base:base + tw]
                for tx in range(tw):
                    a0 = hi[2 * tx]
                    a1 = hi[2 * tx + 1]
                    d0[tx] = a0
                    d1[tx] = a0 + a1
                    d2[tx] = a0 - a1
                    d3[tx] = -a1


@njit(cache=True, parallel=True)
def input_adjoint(dv, n0, pt, pl, th, tw, dx):
    """dx[n0 + n, c] = sum over tiles of B dV B^T placed on the tile's 4x4 input window (tiles
    overlap by two rows/columns; window parts in the padding are dropped).
    dv (16, C, B*TH*TW) -> dx (N, C, H, W)."""
    _, c_in, h, wd = dx.shape
    ntile = th * tw
    nb = dv.shape[2] // ntile
    hp = 2 * th + 2
    wp = 2 * tw + 2
    for nc in prange(nb * c_in):            # each iteration owns the plane dx[n0 + n, c]
        n = nc // c_in
        c = nc % c_in
        acc = np.zeros((hp, wp), dtype=dx.dtype)    # the padded plane
        u = np.empty((4, wp), dtype=dx.dtype)
        for ty in range(th):
            u[:, :] = 0
            base = (n * th + ty) * tw
            # dV B^T per row i: columns (v0, v1 - v2 + v3, -v0 + v1 + v2, -v3), tiles overlapping
            for i in range(4):
                ui = u[i]
                e0 = dv[4 * i, c, base:base + tw]
                e1 = dv[4 * i + 1, c, base:base + tw]
                e2 = dv[4 * i + 2, c, base:base + tw]
                e3 = dv[4 * i + 3, c, base:base + tw]
                for tx in range(tw):
                    a = e0[tx]
                    b = e1[tx]
                    e = e2[tx]
                    f = e3[tx]
                    q = 2 * tx
                    ui[q] += a
                    ui[q + 1] += b - e + f
                    ui[q + 2] += e + b - a
                    ui[q + 3] -= f
            # B (dV B^T): the same combination of rows, added onto rows 2ty .. 2ty+3
            r0 = acc[2 * ty]
            r1 = acc[2 * ty + 1]
            r2 = acc[2 * ty + 2]
            r3 = acc[2 * ty + 3]
            for q in range(wp):
                r0[q] += u[0, q]
                r1[q] += u[1, q] - u[2, q] + u[3, q]
                r2[q] += u[2, q] + u[1, q] - u[0, q]
                r3[q] -= u[3, q]
        # crop the padding: padded row/column q is image row/column q - pt / q - pl
        dxc = dx[n0 + n, c]
        y0 = max(0, -pt)
        y1 = min(h, hp - pt)
        x0 = max(0, -pl)
        x1 = min(wd, wp - pl)
        for yy in range(y0, y1):
            src = acc[yy + pt, x0 + pl:x1 + pl]
            dst = dxc[yy, x0:x1]
            for q in range(dst.shape[0]):
                dst[q] = src[q]


# ---- drivers ------------------------------------------------------------------------------------


def weight_transform(w, groups):
    """U = G w G^T per (k, c).  w (K, Cg, 3, 3) -> U (16, G, K/G, Cg)."""
    k_out, cg = w.shape[:2]
    gm = _G.astype(w.dtype)
    u = np.matmul(np.matmul(gm, w), gm.T)                          # (K, Cg, 4, 4)
    u = np.ascontiguousarray(u.reshape(k_out, cg, 16).transpose(2, 0, 1))
    return u.reshape(16, groups, k_out // groups, cg)


def weight_adjoint(du):
    """dw = G^T dU G per (k, c).  du (16, G, K/G, Cg) -> dw (K, Cg, 3, 3)."""
    _, groups, kg, cg = du.shape
    gm = _G.astype(du.dtype)
    d4 = du.reshape(4, 4, groups * kg, cg).transpose(2, 3, 0, 1)   # (K, Cg, 4, 4)
    return np.ascontiguousarray(np.matmul(np.matmul(gm.T, d4), gm))


def applies(kernel_size, stride, dilation):
    return tuple(kernel_size) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)


def _plan(n_img, channels, ntile, itemsize):
    per_image = 16 * channels * ntile * itemsize
    return int(max(1, min(n_img, CHUNK_BYTES // max(per_image, 1))))


def forward(x, w, bias, padding, groups, out_size):
    """y = x * w (+ bias) for a 3x3 stride-1 kernel.  x (N, C, H, W) -> y (N, K, Ho, Wo)."""
    n_img, c_in = x.shape[:2]
    k_out, cg = w.shape[:2]
    kg = k_out // groups
    ho, wo = out_size
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    ntile = th * tw
    u = weight_transform(w, groups)
    if bias is None:
        bias = np.zeros(k_out, dtype=x.dtype)
    nb = _plan(n_img, max(c_in, k_out), ntile, x.itemsize)
    vbuf = np.empty(16 * c_in * nb * ntile, dtype=x.dtype)
    mbuf = np.empty(16 * k_out * nb * ntile, dtype=x.dtype)
    y = np.empty((n_img, k_out, ho, wo), dtype=x.dtype)
    for n0 in range(0, n_img, nb):
        p = min(nb, n_img - n0) * ntile
        v = vbuf[:16 * c_in * p].reshape(16, c_in, p)
        m = mbuf[:16 * k_out * p].reshape(16, k_out, p)
        input_transform(x, n0, padding[0], padding[1], th, tw, v)
        # 16 GEMMs per group: (16, G, Kg, Cg) @ (16, G, Cg, P) -> (16, G, Kg, P)
        np.matmul(u, v.reshape(16, groups, cg, p), out=m.reshape(16, groups, kg, p))
        output_transform(m, bias, n0, th, tw, y)
    return y


def backward(x, w, g, in_size, padding, groups, need_input=True, need_weight=True):
    """(dx, dw) of a 3x3 stride-1 convolution, either None when not asked for.
    x (N, C, H, W) (read only for dw; may be None otherwise), w (K, Cg, 3, 3) (read only for
    dx; may be None otherwise), g (N, K, Ho, Wo)."""
    n_img, k_out, ho, wo = g.shape
    c_in = x.shape[1] if need_weight else w.shape[1] * groups
    cg = c_in // groups
    kg = k_out // groups
    h, wd = in_size
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    ntile = th * tw
    pt, pl = padding
    ut = weight_transform(w, groups).transpose(0, 1, 3, 2) if need_input else None
    nb = _plan(n_img, max(c_in, k_out), ntile, g.itemsize)
    vbuf = np.empty(16 * c_in * nb * ntile, dtype=g.dtype)
    mbuf = np.empty(16 * k_out * nb * ntile, dtype=g.dtype)
    dx = np.zeros((n_img, c_in, h, wd), dtype=g.dtype) if need_input else None
    du = np.zeros((16, groups, kg, cg), dtype=g.dtype) if need_weight else None
    part = np.empty_like(du) if need_weight else None
    for n0 in range(0, n_img, nb):
        p = min(nb, n_img - n0) * ntile
        v = vbuf[:16 * c_in * p].reshape(16, c_in, p)
        dm = mbuf[:16 * k_out * p].reshape(16, k_out, p)
        output_adjoint(g, n0, th, tw, dm)
        dmg = dm.reshape(16, groups, kg, p)
        if need_weight:
            input_transform(x, n0, pt, pl, th, tw, v)
            # (16, G, Kg, P) @ (16, G, P, Cg) -> (16, G, Kg, Cg), summed over chunks
            np.matmul(dmg, v.reshape(16, groups, cg, p).transpose(0, 1, 3, 2), out=part)
            du += part
        if need_input:
            # (16, G, Cg, Kg) @ (16, G, Kg, P) -> (16, G, Cg, P); v is free again, reuse it
            np.matmul(ut, dmg, out=v.reshape(16, groups, cg, p))
            input_adjoint(v, n0, pt, pl, th, tw, dx)
    dw = weight_adjoint(du) if need_weight else None
    return dx, dw
