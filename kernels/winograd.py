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

Numerically F(2x2, 3x3) is as accurate as direct summation in practice (the transforms use only
0, +-1 and +-1/2; errors here stay near 1e-7 relative in float32). One visible difference: a
tile is mixed before the multiplications, so a NaN or Inf in the input reaches all four outputs
of the tiles that read it, not only those whose 3x3 window covers it.

Layout: V and M are (16, channels, P) with the tile index p = (n*TH + ty)*TW + tx, so each GEMM
operand is a row-major matrix. The batch is split over threads (kernels/threads.py) and each
share processed in chunks, in reused buffers.
Padding is handled once, when a tile row is loaded (rows/columns outside the image read as 0).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .frames import images_per_chunk
from .elementwise import bias_relu_images
from .scratch import buffer
from .threads import over_planes, split_batch

# Bytes of one transformed-input chunk V (16, C, P), per thread: tuning 'winograd_chunk_bytes'.


# The transforms combine columns 2tx .. 2tx+3 of a tile: stride-2 access, which does not
# vectorise. So every padded row is first split into its even and odd columns, e[s] = row[2s],
# o[s] = row[2s + 1]; tile tx then reads e[tx], o[tx], e[tx+1], o[tx+1], all unit-stride.


@njit(cache=True, inline="always")
def _load_split(src, q0, q1, pl, buf, even, odd):
    """Padded row (image row ``src`` at columns [q0, q1) of the padded frame, zeros elsewhere)
    split into even and odd columns."""
    buf[:q0] = 0
    buf[q1:] = 0
    seg = buf[q0:q1]
    part = src[q0 - pl:q1 - pl]
    for q in range(seg.shape[0]):
        seg[q] = part[q]
    for s in range(even.shape[0]):
        even[s] = buf[2 * s]
        odd[s] = buf[2 * s + 1]


@njit(cache=True, nogil=True)
def input_transform(x, n0, pt, pl, th, tw, v):
    """V[4r + j, c, p] = (B^T d B)[r, j] for every 4x4 input tile d of images n0 .. of x.
    x (N, C, H, W) -> v (16, C, B*TH*TW)."""
    _, c_in, h, wd = x.shape
    nb = v.shape[2] // (th * tw)
    wp = 2 * tw + 2                         # padded width that the tiles of a row span
    q0 = min(max(0, pl), wp)                # columns [q0, q1) of a padded row hold image pixels
    q1 = max(min(wp, pl + wd), q0)
    # scratch rows, allocated once per call (every plane overwrites them in full): allocated per
    # plane they cost 4 images x 512 channels of 7x7 1.6-2.4 ms instead of 1.1 ms here
    buf = np.empty(wp, dtype=x.dtype)
    de = np.empty((4, tw + 1), dtype=x.dtype)     # rows of the tile row, even columns
    do = np.empty((4, tw + 1), dtype=x.dtype)     # odd columns
    te = np.empty((4, tw + 1), dtype=x.dtype)
    to = np.empty((4, tw + 1), dtype=x.dtype)
    for nc in range(nb * c_in):            # each iteration owns v[:, c, tiles of image n]
        n = nc // c_in
        c = nc % c_in
        xc = x[n0 + n, c]
        for ty in range(th):
            # tile rows overlap by two rows: the last two of the previous become the first two
            first = 0
            if ty > 0:
                de[0, :] = de[2, :]
                de[1, :] = de[3, :]
                do[0, :] = do[2, :]
                do[1, :] = do[3, :]
                first = 2
            for r in range(first, 4):
                yy = 2 * ty - pt + r
                if 0 <= yy < h:
                    _load_split(xc[yy], q0, q1, pl, buf, de[r], do[r])
                else:
                    de[r, :] = 0
                    do[r, :] = 0
            # B^T d: combine the four rows
            for s in range(tw + 1):
                te[0, s] = de[0, s] - de[2, s]
                te[1, s] = de[1, s] + de[2, s]
                te[2, s] = de[2, s] - de[1, s]
                te[3, s] = de[1, s] - de[3, s]
                to[0, s] = do[0, s] - do[2, s]
                to[1, s] = do[1, s] + do[2, s]
                to[2, s] = do[2, s] - do[1, s]
                to[3, s] = do[1, s] - do[3, s]
            base = (n * th + ty) * tw
            # (B^T d) B: columns 2tx .. 2tx+3 are e[tx], o[tx], e[tx+1], o[tx+1]
            for r in range(4):
                e = te[r]
                o = to[r]
                v0 = v[4 * r, c, base:base + tw]
                v1 = v[4 * r + 1, c, base:base + tw]
                v2 = v[4 * r + 2, c, base:base + tw]
                v3 = v[4 * r + 3, c, base:base + tw]
                for tx in range(tw):
                    v0[tx] = e[tx] - e[tx + 1]
                    v1[tx] = o[tx] + e[tx + 1]
                    v2[tx] = e[tx + 1] - o[tx]
                    v3[tx] = o[tx] - o[tx + 1]


@njit(cache=True, nogil=True)
def output_transform(m, bias, n0, th, tw, y):
    """y[n0 + n, k] = A^T M A + bias[k], tile by tile.  m (16, K, B*TH*TW) -> y (N, K, Ho, Wo)."""
    _, k_out, ho, wo = y.shape
    nb = m.shape[2] // (th * tw)
    # rows of the tile row; the last, partial tile row writes into a scratch row instead
    spare = np.empty((2, 2 * tw), dtype=y.dtype)
    for nk in range(nb * k_out):           # each iteration owns the plane y[n0 + n, k]
        n = nk // k_out
        k = nk % k_out
        yk = y[n0 + n, k]
        bk = bias[k]
        for ty in range(th):
            base = (n * th + ty) * tw
            m0 = m[0, k, base:base + tw]
            m1 = m[1, k, base:base + tw]
            m2 = m[2, k, base:base + tw]
            m3 = m[3, k, base:base + tw]
            m4 = m[4, k, base:base + tw]
            m5 = m[5, k, base:base + tw]
            m6 = m[6, k, base:base + tw]
            m7 = m[7, k, base:base + tw]
            m8 = m[8, k, base:base + tw]
            m9 = m[9, k, base:base + tw]
            m10 = m[10, k, base:base + tw]
            m11 = m[11, k, base:base + tw]
            m12 = m[12, k, base:base + tw]
            m13 = m[13, k, base:base + tw]
            m14 = m[14, k, base:base + tw]
            m15 = m[15, k, base:base + tw]
            # an odd output width leaves half a tile: written to the spare rows, then copied
            direct = wo == 2 * tw and 2 * ty + 1 < ho
            r0 = yk[2 * ty] if direct else spare[0]
            r1 = yk[2 * ty + 1] if direct else spare[1]
            for tx in range(tw):
                # A^T M: rows 0+1+2 and 1-2-3, for each of the four columns
                s0 = m0[tx] + m4[tx] + m8[tx]
                s1 = m1[tx] + m5[tx] + m9[tx]
                s2 = m2[tx] + m6[tx] + m10[tx]
                s3 = m3[tx] + m7[tx] + m11[tx]
                u0 = m4[tx] - m8[tx] - m12[tx]
                u1 = m5[tx] - m9[tx] - m13[tx]
                u2 = m6[tx] - m10[tx] - m14[tx]
                u3 = m7[tx] - m11[tx] - m15[tx]
                # (A^T M) A: the same combination of columns
                r0[2 * tx] = s0 + s1 + s2 + bk
                r0[2 * tx + 1] = s1 - s2 - s3 + bk
                r1[2 * tx] = u0 + u1 + u2 + bk
                r1[2 * tx + 1] = u1 - u2 - u3 + bk
            if not direct:
                for a in range(2):
                    if 2 * ty + a < ho:
                        dst = yk[2 * ty + a]
                        src = spare[a]
                        for q in range(wo):
                            dst[q] = src[q]


@njit(cache=True, nogil=True)
def output_adjoint(g, n0, th, tw, dm):
    """dM = A dY A^T for every 2x2 tile of the output gradient (0 beyond its edge).
    g (N, K, Ho, Wo) -> dm (16, K, B*TH*TW)."""
    _, k_out, ho, wo = g.shape
    nb = dm.shape[2] // (th * tw)
    # scratch, once per call (_load_split rewrites buf in full, the rest is overwritten)
    buf = np.zeros(2 * tw + 2, dtype=g.dtype)
    e0 = np.empty(tw + 1, dtype=g.dtype)
    o0 = np.empty(tw + 1, dtype=g.dtype)
    e1 = np.empty(tw + 1, dtype=g.dtype)
    o1 = np.empty(tw + 1, dtype=g.dtype)
    he = np.empty((4, tw), dtype=g.dtype)      # rows of A dY, even / odd column
    ho_ = np.empty((4, tw), dtype=g.dtype)
    for nk in range(nb * k_out):           # each iteration owns dm[:, k, tiles of image n]
        n = nk // k_out
        k = nk % k_out
        gk = g[n0 + n, k]
        for ty in range(th):
            _load_split(gk[2 * ty], 0, wo, 0, buf, e0, o0)
            if 2 * ty + 1 < ho:
                _load_split(gk[2 * ty + 1], 0, wo, 0, buf, e1, o1)
            else:
                e1[:] = 0
                o1[:] = 0
            # A dY: rows (dY0, dY0 + dY1, dY0 - dY1, -dY1)
            for tx in range(tw):
                he[0, tx] = e0[tx]
                he[1, tx] = e0[tx] + e1[tx]
                he[2, tx] = e0[tx] - e1[tx]
                he[3, tx] = -e1[tx]
                ho_[0, tx] = o0[tx]
                ho_[1, tx] = o0[tx] + o1[tx]
                ho_[2, tx] = o0[tx] - o1[tx]
                ho_[3, tx] = -o1[tx]
            base = (n * th + ty) * tw
            # (A dY) A^T: columns (a, a + b, a - b, -b) of each row; four output streams at a
            # time (sixteen at once defeat LLVM's alias analysis and it stops vectorising)
            for i in range(4):
                a = he[i]
                b = ho_[i]
                d0 = dm[4 * i, k, base:base + tw]
                d1 = dm[4 * i + 1, k, base:base + tw]
                d2 = dm[4 * i + 2, k, base:base + tw]
                d3 = dm[4 * i + 3, k, base:base + tw]
                for tx in range(tw):
                    d0[tx] = a[tx]
                    d1[tx] = a[tx] + b[tx]
                    d2[tx] = a[tx] - b[tx]
                    d3[tx] = -b[tx]


@njit(cache=True, nogil=True)
def input_adjoint(dv, n0, pt, pl, th, tw, dx):
    """dx[n0 + n, c] = sum over tiles of B dV B^T placed on the tile's 4x4 input window (tiles
    overlap by two rows/columns; window parts in the padding are dropped).
    dv (16, C, B*TH*TW) -> dx (N, C, H, W). The pixels some tile covers are assigned (not
    added); pixels no tile reads (an image cropped by negative bottom/right padding) are left
    as they are, so dx must start at zero (the driver's np.zeros)."""
    _, c_in, h, wd = dx.shape
    nb = dv.shape[2] // (th * tw)
    hp = 2 * th + 2
    # the padded plane, even and odd columns apart: padded column 2s / 2s + 1 (allocated once,
    # zeroed per plane)
    acc_e = np.empty((hp, tw + 1), dtype=dx.dtype)
    acc_o = np.empty((hp, tw + 1), dtype=dx.dtype)
    ue = np.empty((4, tw + 1), dtype=dx.dtype)
    uo = np.empty((4, tw + 1), dtype=dx.dtype)
    for nc in range(nb * c_in):            # each iteration owns the plane dx[n0 + n, c]
        n = nc // c_in
        c = nc % c_in
        acc_e[:] = 0
        acc_o[:] = 0
        for ty in range(th):
            base = (n * th + ty) * tw
            # dV B^T per row i: tile tx adds (a0, a1, a2, a3) to columns 2tx .. 2tx+3, so
            # even column 2s gets a0[s] + a2[s-1] and odd column 2s+1 gets a1[s] + a3[s-1]
            for i in range(4):
                f0 = dv[4 * i, c, base:base + tw]
                f1 = dv[4 * i + 1, c, base:base + tw]
                f2 = dv[4 * i + 2, c, base:base + tw]
                f3 = dv[4 * i + 3, c, base:base + tw]
                e = ue[i]
                o = uo[i]
                e[0] = f0[0]
                o[0] = f1[0] - f2[0] + f3[0]
                for s in range(1, tw):
                    e[s] = f0[s] + f1[s - 1] + f2[s - 1] - f0[s - 1]
                    o[s] = f1[s] - f2[s] + f3[s] - f3[s - 1]
                e[tw] = f1[tw - 1] + f2[tw - 1] - f0[tw - 1]
                o[tw] = -f3[tw - 1]
            # B (dV B^T): rows (u0, u1 - u2 + u3, u1 + u2 - u0, -u3) onto rows 2ty .. 2ty+3
            for acc, u in ((acc_e, ue), (acc_o, uo)):
                r0 = acc[2 * ty]
                r1 = acc[2 * ty + 1]
                r2 = acc[2 * ty + 2]
                r3 = acc[2 * ty + 3]
                for s in range(tw + 1):
                    r0[s] += u[0, s]
                    r1[s] += u[1, s] - u[2, s] + u[3, s]
                    r2[s] += u[1, s] + u[2, s] - u[0, s]
                    r3[s] -= u[3, s]
        # crop the padding: image pixel (yy, xx) is padded (yy + pt, xx + pl)
        dxc = dx[n0 + n, c]
        y1 = min(h, hp - pt)
        x1 = min(wd, 2 * tw + 2 - pl)
        for yy in range(y1):
            ae = acc_e[yy + pt]
            ao = acc_o[yy + pt]
            dst = dxc[yy]
            for xx in range(x1):
                q = xx + pl
                dst[xx] = ae[q // 2] if q % 2 == 0 else ao[q // 2]


# ---- drivers ------------------------------------------------------------------------------------


# The weight transform U = G w G^T per (k, c), written out with G's 0, 1 and 1/2 (t = G w, then
# U = t G^T: 4 adds and 2 halvings per 3-vector), vectorised along c: each k's (Cg, 3, 3) block is
# first turned into 9 rows of Cg (a block of 18 KB at Cg = 512, in L1), so every load and store
# of the arithmetic is unit-stride. Measured here (AMD EPYC, float32, K = Cg = 512): one thread
# 2.2 ms against 4.3 ms for the one-BLAS-product form (the (16 x 9) Kronecker matrix G (x) G
# applied to all (k, c) at once, whose 9-long inner dimension BLAS handles poorly), the adjoint
# 2.1 against 3.4 ms; split over k on the conv threads (over_planes, as they are memory-bound
# and large), 1.2 and 1.7 ms.
@njit(cache=True, nogil=True)
def _weight_transform_rows(w, half, u, k0, k1):
    """u[4a + b, k, c] = (G w[k, c] G^T)[a, b] for k in [k0, k1).  w (K, Cg, 9), u (16, K, Cg)."""
    cg = w.shape[1]
    rows = np.empty((9, cg), dtype=w.dtype)
    t = np.empty((12, cg), dtype=w.dtype)                 # t = G w, row 3a + j
    for k in range(k0, k1):
        wk = w[k]
        for c in range(cg):
            for j in range(9):
                rows[j, c] = wk[c, j]
        for j in range(3):
            w0, w1, w2 = rows[j], rows[3 + j], rows[6 + j]
            for c in range(cg):
                t[j, c] = w0[c]
                t[3 + j, c] = half * (w0[c] + w1[c] + w2[c])
                t[6 + j, c] = half * (w0[c] - w1[c] + w2[c])
                t[9 + j, c] = w2[c]
        for a in range(4):
            t0, t1, t2 = t[3 * a], t[3 * a + 1], t[3 * a + 2]
            u0, u1, u2, u3 = u[4 * a, k], u[4 * a + 1, k], u[4 * a + 2, k], u[4 * a + 3, k]
            for c in range(cg):
                u0[c] = t0[c]
                u1[c] = half * (t0[c] + t1[c] + t2[c])
                u2[c] = half * (t0[c] - t1[c] + t2[c])
                u3[c] = t2[c]


@njit(cache=True, nogil=True)
def _weight_adjoint_rows(du, half, dw, k0, k1):
    """dw[k, c] = G^T dU[k, c] G for k in [k0, k1).  du (16, K, Cg), dw (K, Cg, 9)."""
    cg = du.shape[2]
    s = np.empty((12, cg), dtype=du.dtype)                # s = G^T dU, row 4a + j
    rows = np.empty((9, cg), dtype=du.dtype)
    for k in range(k0, k1):
        for j in range(4):
            d0, d1, d2, d3 = du[j, k], du[4 + j, k], du[8 + j, k], du[12 + j, k]
            for c in range(cg):
                s[j, c] = d0[c] + half * (d1[c] + d2[c])
                s[4 + j, c] = half * (d1[c] - d2[c])
                s[8 + j, c] = half * (d1[c] + d2[c]) + d3[c]
        for a in range(3):
            s0, s1, s2, s3 = s[4 * a], s[4 * a + 1], s[4 * a + 2], s[4 * a + 3]
            r0, r1, r2 = rows[3 * a], rows[3 * a + 1], rows[3 * a + 2]
            for c in range(cg):
                r0[c] = s0[c] + half * (s1[c] + s2[c])
                r1[c] = half * (s1[c] - s2[c])
                r2[c] = half * (s1[c] + s2[c]) + s3[c]
        dk = dw[k]
        for c in range(cg):
            for j in range(9):
                dk[c, j] = rows[j, c]


def weight_transform(w, groups):
    """U = G w G^T per (k, c).  w (K, Cg, 3, 3) -> U (16, G, K/G, Cg)."""
    k_out, cg = w.shape[:2]
    u = np.empty((16, k_out, cg), dtype=w.dtype)
    over_planes(_weight_transform_rows, k_out, 25 * k_out * cg,
                np.ascontiguousarray(w).reshape(k_out, cg, 9), w.dtype.type(0.5), u)
    return u.reshape(16, groups, k_out // groups, cg)


def weight_adjoint(du):
    """dw = G^T dU G per (k, c), the transpose of the same linear map.
    du (16, G, K/G, Cg) -> dw (K, Cg, 3, 3)."""
    _, groups, kg, cg = du.shape
    dw = np.empty((groups * kg, cg, 9), dtype=du.dtype)
    over_planes(_weight_adjoint_rows, groups * kg, 25 * groups * kg * cg,
                np.ascontiguousarray(du).reshape(16, groups * kg, cg), du.dtype.type(0.5), dw)
    return dw.reshape(groups * kg, cg, 3, 3)


def applies(kernel_size, stride, dilation):
    return tuple(kernel_size) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)


def _plan(n_img, channels, ntile, itemsize):
    return images_per_chunk(n_img, 16 * channels * ntile * itemsize, "winograd_chunk_bytes")


def forward(x, w, bias, padding, groups, out_size, relu=False):
    """y = x * w (+ bias) for a 3x3 stride-1 kernel, then max(y, 0) if relu (on each chunk of
    images as its output transform ends, in the same share).  x (N, C, H, W) -> y (N, K, Ho, Wo).
    """
    n_img, c_in = x.shape[:2]
    k_out, cg = w.shape[:2]
    kg = k_out // groups
    ho, wo = out_size
    th, tw = (ho + 1) // 2, (wo + 1) // 2
    ntile = th * tw
    u = weight_transform(w, groups)
    if bias is None:
        bias = np.zeros(k_out, dtype=x.dtype)
    y = np.empty((n_img, k_out, ho, wo), dtype=x.dtype)
    y3 = y.reshape(n_img, k_out, ho * wo)

    def work(first, stop):
        nb = _plan(stop - first, max(c_in, k_out), ntile, x.itemsize)
        vbuf = buffer("winograd.v", 16 * c_in * nb * ntile, x.dtype)
        mbuf = buffer("winograd.m", 16 * k_out * nb * ntile, x.dtype)
        for n0 in range(first, stop, nb):
            p = min(nb, stop - n0) * ntile
            v = vbuf[:16 * c_in * p].reshape(16, c_in, p)
            m = mbuf[:16 * k_out * p].reshape(16, k_out, p)
            input_transform(x, n0, padding[0], padding[1], th, tw, v)
            # 16 GEMMs per group: (16, G, Kg, Cg) @ (16, G, Cg, P) -> (16, G, Kg, P)
            np.matmul(u, v.reshape(16, groups, cg, p), out=m.reshape(16, groups, kg, p))
            output_transform(m, bias, n0, th, tw, y)
            if relu:
                bias_relu_images(y3, bias, False, True, n0, n0 + p // ntile)

    split_batch(n_img, work)
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
    dx = np.zeros((n_img, c_in, h, wd), dtype=g.dtype) if need_input else None

    def work(first, stop):
        """Writes dx for images [first, stop); returns their share of dU."""
        nb = _plan(stop - first, max(c_in, k_out), ntile, g.itemsize)
        vbuf = buffer("winograd.v", 16 * c_in * nb * ntile, g.dtype)
        mbuf = buffer("winograd.m", 16 * k_out * nb * ntile, g.dtype)
        # dU of the share: the first chunk's product is written into it, later ones are added
        # (no zeroed 16 x K x C array and no extra pass when the share is one chunk, as on
        # ResNet's small maps)
        du = None
        if need_weight:      # an empty batch has no chunk: its dU is zero
            du = (np.empty if stop > first else np.zeros)((16, groups, kg, cg), dtype=g.dtype)
        part = None
        for n0 in range(first, stop, nb):
            p = min(nb, stop - n0) * ntile
            v = vbuf[:16 * c_in * p].reshape(16, c_in, p)
            dm = mbuf[:16 * k_out * p].reshape(16, k_out, p)
            output_adjoint(g, n0, th, tw, dm)
            dmg = dm.reshape(16, groups, kg, p)
            if need_weight:
                input_transform(x, n0, pt, pl, th, tw, v)
                # (16, G, Kg, P) @ (16, G, P, Cg) -> (16, G, Kg, Cg), summed over chunks
                vt = v.reshape(16, groups, cg, p).transpose(0, 1, 3, 2)
                if n0 == first:
                    np.matmul(dmg, vt, out=du)
                else:
                    if part is None:
                        part = np.empty_like(du)
                    np.matmul(dmg, vt, out=part)
                    du += part
            if need_input:
                # (16, G, Cg, Kg) @ (16, G, Kg, P) -> (16, G, Cg, P); v is free again
                np.matmul(ut, dmg, out=v.reshape(16, groups, cg, p))
                input_adjoint(v, n0, pt, pl, th, tw, dx)
        return du

    shares = split_batch(n_img, work)
    if need_weight:
        for share in shares[1:]:           # in place: the shares are this call's own arrays
            shares[0] += share
    dw = weight_adjoint(shares[0]) if need_weight else None
    return dx, dw
