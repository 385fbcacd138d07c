"""Stride-1 convolution of small images: im2col rows as shifted copies of the flat padded image.

For stride 1, output (oy, ox) with kernel offset (i, j) reads padded pixel (oy + i*dh, ox + j*dw).
Lay the output out on the padded image's width Wp = Wo + (KW - 1) dw (the last KW - 1 columns of
each output row are junk, never returned) and flatten: position p = oy*Wp + ox reads flat
padded pixel p + i*dh*Wp + j*dw. So the im2col row of offset (i, j) is ONE contiguous copy of the
flat image, shifted by s = i*dh*Wp + j*dw:

    cols[(c, i, j), n, p] = xpad[n, c].flat[p + s],   p < Ho*Wp

instead of Ho copies of Wo pixels each. For LeNet-sized images (10-28 pixel rows) those short
copies cost more than the GEMM; one long copy runs at memory speed. The price is (KW - 1)/Wo
junk columns in the GEMM (40% on LeNet's 10x10 outputs, 14% on 28x28), which is why this path is
only for small images. The columns are in the 'wide' layout (R, B, P): one GEMM per group and
chunk, (K/G, R) @ (R, B*P). The batch is split over threads (kernels/threads.py).

Backward: the output gradient is spread on the same Wp-wide grid with zeros in the junk
columns, so junk contributes nothing to dW = dy @ cols^T, and dcols = W^T @ dy has zero junk
columns, which the shifted add-back (the adjoint copy) then spreads harmlessly.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .scratch import buffer
from .frames import images_per_chunk
from .threads import split_batch

# Bytes of columns per chunk and thread (tuning 'shifted_chunk_bytes'): small enough that a
# chunk's columns stay in L2 between im2col and the GEMM that reads them.


@njit(cache=True, nogil=True)
def shifted_im2col(xp, kh, kw, dh, dw, ho, cols):
    """cols[(c, i, j), n, p] = xp[n, c].flat[p + i*dh*Wp + j*dw] for p < Ho*Wp (0 past the end).
    xp (B, C, Hp, Wp) -> cols (C*KH*KW, B, Ho*Wp)."""
    nb, c_in, hp, wp = xp.shape
    npos = ho * wp
    plane = hp * wp
    for cn in range(c_in * nb):               # each iteration owns the rows (c, :, :) of image n
        c = cn // nb
        n = cn % nb
        src = xp[n, c].reshape(plane)
        for i in range(kh):
            for j in range(kw):
                s = i * dh * wp + j * dw
                m = min(npos, plane - s)       # past the plane's end: junk columns only
                dst = cols[(c * kh + i) * kw + j, n]
                seg = src[s:s + m]
                for t in range(m):
                    dst[t] = seg[t]
                dst[m:] = 0


@njit(cache=True, nogil=True)
def shifted_col2im(dcols, kh, kw, dh, dw, ho, dxp):
    """The adjoint of shifted_im2col: dxp[n, c].flat[p + s] += dcols[(c, i, j), n, p].
    dcols (C*KH*KW, B, Ho*Wp) -> dxp (B, C, Hp, Wp), added to what dxp holds (the drivers
    zero it first)."""
    nb, c_in, hp, wp = dxp.shape
    npos = ho * wp
    plane = hp * wp
    for cn in range(c_in * nb):               # each iteration owns the plane dxp[n, c]
        c = cn // nb
        n = cn % nb
        dst = dxp[n, c].reshape(plane)
        for i in range(kh):
            for j in range(kw):
                s = i * dh * wp + j * dw
                m = min(npos, plane - s)
                src = dcols[(c * kh + i) * kw + j, n]
                seg = dst[s:s + m]
                for t in range(m):
                    seg[t] += src[t]


# ---- drivers ------------------------------------------------------------------------------------


class _Grid:
    """The padded image (Hp, Wp) and the Wp-wide output grid of one call."""

    def __init__(self, in_size, kernel, padding, dilation, out_size):
        (h, w), (kh, kw), (pt, pl), (dh, dw), (ho, wo) = in_size, kernel, padding, dilation, \
            out_size
        self.hp, self.wp = ho + (kh - 1) * dh, wo + (kw - 1) * dw
        self.npos = ho * self.wp
        self.pt, self.pl, self.h, self.w = pt, pl, h, w
        # rows/columns of the image inside the padded frame (the rest is never read)
        self.h_in = max(0, min(h, self.hp - pt))
        self.w_in = max(0, min(w, self.wp - pl))

    def in_place(self):
        """True when the image is its own padded frame (no padding, nothing cropped)."""
        return (self.pt, self.pl, self.hp, self.wp) == (0, 0, self.h, self.w)

    def pad(self, x, n0, b, buf):
        """Images n0 .. n0+b-1 of x in the zero-padded frame (B, C, Hp, Wp)."""
        if self.in_place():
            return x[n0:n0 + b]
        xp = buf[:b * x.shape[1] * self.hp * self.wp].reshape(b, x.shape[1], self.hp, self.wp)
        xp.fill(0)
        xp[:, :, self.pt:self.pt + self.h_in, self.pl:self.pl + self.w_in] = \
            x[n0:n0 + b, :, :self.h_in, :self.w_in]
        return xp


def _chunk(n_img, rows, npos, itemsize):
    return images_per_chunk(n_img, rows * npos * itemsize, "shifted_chunk_bytes")


def _spread(g, n0, b, grid, buf):
    """g[n0:n0+b] (B, K, Ho, Wo) on the Wp-wide grid, channels first: (K, B, Ho, Wp), junk = 0."""
    k_out, ho, wo = g.shape[1:]
    gs = buf[:k_out * b * grid.npos].reshape(k_out, b, ho, grid.wp)
    gs[..., wo:] = 0
    gs[..., :wo] = g[n0:n0 + b].transpose(1, 0, 2, 3)
    return gs


def forward(x, w, padding, dilation, groups, out_size):
    """y = x * w for stride 1.  x (N, C, H, W), w (K, Cg, KH, KW) -> y (N, K, Ho, Wo)."""
    n_img, c_in = x.shape[:2]
    k_out, cg, kh, kw = w.shape
    kg, rows = k_out // groups, cg * kh * kw
    ho, wo = out_size
    grid = _Grid(x.shape[2:], (kh, kw), padding, dilation, out_size)
    wm = w.reshape(groups, kg, rows)
    y = np.empty((n_img, k_out, ho, wo), dtype=x.dtype)

    def work(first, stop):
        nb = _chunk(stop - first, c_in * kh * kw, grid.npos, x.itemsize)
        cbuf = buffer("shifted.cols", c_in * kh * kw * nb * grid.npos, x.dtype)
        obuf = buffer("shifted.out", k_out * nb * grid.npos, x.dtype)
        xbuf = None if grid.in_place() else \
            buffer("shifted.x", nb * c_in * grid.hp * grid.wp, x.dtype)
        for n0 in range(first, stop, nb):
            b = min(nb, stop - n0)
            cols = cbuf[:c_in * kh * kw * b * grid.npos].reshape(c_in * kh * kw, b, grid.npos)
            shifted_im2col(grid.pad(x, n0, b, xbuf), kh, kw, dilation[0], dilation[1], ho, cols)
            out = obuf[:k_out * b * grid.npos].reshape(groups, kg, b * grid.npos)
            np.matmul(wm, cols.reshape(groups, rows, b * grid.npos), out=out)
            # (K, B, Ho, Wp) -> (B, K, Ho, Wo): drop the junk columns
            y[n0:n0 + b] = out.reshape(k_out, b, ho, grid.wp)[..., :wo].transpose(1, 0, 2, 3)

    split_batch(n_img, work)
    return y


def backward_input(g, w, in_size, padding, dilation, groups):
    """dL/dx for stride 1.  g (N, K, Ho, Wo) -> dx (N, C, H, W)."""
    n_img, k_out, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    c_in, kg, rows = cg * groups, k_out // groups, cg * kh * kw
    grid = _Grid(in_size, (kh, kw), padding, dilation, (ho, wo))
    wt = w.reshape(groups, kg, rows).transpose(0, 2, 1)       # (G, R, Kg), a view
    dx = np.zeros((n_img, c_in) + tuple(in_size), dtype=g.dtype)
    pt, pl, h_in, w_in = grid.pt, grid.pl, grid.h_in, grid.w_in

    def work(first, stop):
        nb = _chunk(stop - first, c_in * kh * kw, grid.npos, g.itemsize)
        cbuf = buffer("shifted.cols", c_in * kh * kw * nb * grid.npos, g.dtype)
        gbuf = buffer("shifted.g", k_out * nb * grid.npos, g.dtype)
        dxp = buffer("shifted.dx", nb * c_in * grid.hp * grid.wp, g.dtype).reshape(
            nb, c_in, grid.hp, grid.wp)
        for n0 in range(first, stop, nb):
            b = min(nb, stop - n0)
            gs = _spread(g, n0, b, grid, gbuf).reshape(groups, kg, b * grid.npos)
            dcols = cbuf[:c_in * kh * kw * b * grid.npos].reshape(groups, rows, b * grid.npos)
            np.matmul(wt, gs, out=dcols)                       # (G, R, Kg) @ (G, Kg, B*P)
            d = dxp[:b]
            d.fill(0)
            shifted_col2im(dcols.reshape(c_in * kh * kw, b, grid.npos), kh, kw, dilation[0],
                           dilation[1], ho, d)
            dx[n0:n0 + b, :, :h_in, :w_in] = d[:, :, pt:pt + h_in, pl:pl + w_in]

    split_batch(n_img, work)
    return dx


def backward_weight(x, g, kernel_size, padding, dilation, groups):
    """dL/dw for stride 1.  x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, Cg, KH, KW)."""
    n_img, c_in = x.shape[:2]
    k_out, ho, wo = g.shape[1:]
    kh, kw = kernel_size
    cg, kg = c_in // groups, k_out // groups
    rows = cg * kh * kw
    grid = _Grid(x.shape[2:], kernel_size, padding, dilation, (ho, wo))

    def work(first, stop):
        """This share's part of dW."""
        nb = _chunk(stop - first, c_in * kh * kw, grid.npos, x.itemsize)
        cbuf = buffer("shifted.cols", c_in * kh * kw * nb * grid.npos, x.dtype)
        gbuf = buffer("shifted.g", k_out * nb * grid.npos, x.dtype)
        xbuf = None if grid.in_place() else \
            buffer("shifted.x", nb * c_in * grid.hp * grid.wp, x.dtype)
        dw = np.zeros((groups, kg, rows), dtype=x.dtype)
        part = np.empty_like(dw)
        for n0 in range(first, stop, nb):
            b = min(nb, stop - n0)
            cols = cbuf[:c_in * kh * kw * b * grid.npos].reshape(c_in * kh * kw, b, grid.npos)
            shifted_im2col(grid.pad(x, n0, b, xbuf), kh, kw, dilation[0], dilation[1], ho, cols)
            gs = _spread(g, n0, b, grid, gbuf).reshape(groups, kg, b * grid.npos)
            # (G, Kg, B*P) @ (G, B*P, R) -> (G, Kg, R)
            np.matmul(gs, cols.reshape(groups, rows, b * grid.npos).transpose(0, 2, 1),
                      out=part)
            dw += part
        return dw

    shares = split_batch(n_img, work)
    return sum(shares[1:], shares[0]).reshape(k_out, cg, kh, kw)
