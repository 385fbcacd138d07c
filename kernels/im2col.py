"""Convolution as a matrix product: im2col + GEMM (the general path).

im2col copies, for each image, every receptive field into a column:

    cols[n, (c, i, j), (oy, ox)] = x[n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl]    (0 outside)

so that, per group g, the convolution is one matrix product (done by BLAS through numpy)

    y[n, g] = W_g @ cols[n, g]          W_g (K/G, Cg*KH*KW),  cols[n, g] (Cg*KH*KW, Ho*Wo)
    dcols[n, g] = W_g^T @ dy[n, g]      then col2im adds each column back where it was read
    dW_g = sum_n dy[n, g] @ cols[n, g]^T

The batch is processed in chunks whose columns fit a few MB, into one buffer reused across
chunks: a full-batch im2col of a ResNet layer is hundreds of MB, and touching that much fresh
memory costs more than the arithmetic. A 1x1 convolution with stride 1 and no padding needs no
im2col at all: the image itself is the column matrix. The batch is split over threads
(kernels/threads.py), each running its share chunk by chunk with single-threaded BLAS; the 1x1
case is one batched GEMM call per share. Never on OpenBLAS's own threads: they spin after a
call and slow the kernels that follow (kernels/matmul.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .. import tuning
from .frames import images_per_chunk, valid_range as _valid
from .elementwise import bias_relu_images
from .scratch import buffer
from .threads import split_batch

# Bytes of im2col columns per chunk and thread (tuning 'im2col_chunk_bytes'): big enough that each
# GEMM has a few hundred columns per image batch, small enough to stay in the outer caches.


@njit(cache=True, nogil=True)
def im2col(x, n0, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, cols, wide):
    """Fill cols with the receptive fields of images n0 .. n0+B-1 of x: cols is
    (B, C*KH*KW, Ho*Wo), or (C*KH*KW, B, Ho*Wo) when ``wide``.

    With a horizontal stride sw > 1 each plane is first split into its sw column phases,
    ph[q, y, t] = x[y, sw*t + q]: tap column ox*sw + d (d = j*dw - pl) is phase d mod sw at
    t = ox + d // sw, so every tap copies unit-stride runs (which vectorise) instead of
    gathering every sw-th pixel KH*KW times (the ResNet stem: 49 strided gathers per plane)."""
    nb = cols.shape[1] if wide else cols.shape[0]
    _, c_in, h, wd = x.shape
    wq = (wd + sw - 1) // sw
    ph = np.empty((sw, h, wq), dtype=x.dtype) if sw > 1 else np.empty((1, 1, 1), dtype=x.dtype)
    for nc in range(nb * c_in):               # each iteration owns the rows of (n, c)
        n = nc // c_in
        c = nc % c_in
        xc = x[n0 + n, c]
        if sw > 1:
            _split_phases(xc, sw, ph)
        for i in range(kh):
            oy0, oy1 = _valid(i * dh - pt, sh, h, ho)
            for j in range(kw):
                ox0, ox1 = _valid(j * dw - pl, sw, wd, wo)
                r = (c * kh + i) * kw + j
                row = cols[r, n] if wide else cols[n, r]
                row[:oy0 * wo] = 0
                row[oy1 * wo:] = 0
                d = j * dw - pl
                q = d % sw                      # floor semantics, as Python's
                t0 = ox0 + d // sw
                for oy in range(oy0, oy1):
                    dst = row[oy * wo:(oy + 1) * wo]
                    dst[:ox0] = 0
                    dst[ox1:] = 0
                    if ox1 <= ox0:
                        continue
                    seg = dst[ox0:ox1]
                    yy = oy * sh + i * dh - pt
                    if sw == 1:
                        src = xc[yy, ox0 + d:ox1 + d]
                    else:
                        src = ph[q, yy, t0:t0 + (ox1 - ox0)]
                    for t in range(seg.shape[0]):
                        seg[t] = src[t]


@njit(cache=True, nogil=True)
def _split_phases(xc, sw, ph):
    """ph[q, y, t] = xc[y, sw*t + q] (0 past the right edge).  xc (H, W) -> ph (sw, H, ceil(W/sw))."""
    h, wd = xc.shape
    wq = ph.shape[2]
    for q in range(sw):
        for yy in range(h):
            src = xc[yy]
            dst = ph[q, yy]
            for t in range(wq):
                xx = t * sw + q
                dst[t] = src[xx] if xx < wd else 0


@njit(cache=True, nogil=True)
def _merge_phases(ph, sw, dxc):
    """The adjoint of _split_phases, added: dxc[y, sw*t + q] += ph[q, y, t]."""
    h, wd = dxc.shape
    for q in range(sw):
        for yy in range(h):
            src = ph[q, yy]
            dst = dxc[yy]
            for t in range((wd - q + sw - 1) // sw):
                dst[t * sw + q] += src[t]


@njit(cache=True, nogil=True)
def col2im(cols, n0, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, dx, wide):
    """The adjoint of im2col: add every column of cols ((B, C*KH*KW, Ho*Wo), or
    (C*KH*KW, B, Ho*Wo) when ``wide``) back onto the pixels it was read from, in
    dx[n0 .. n0+B-1] (N, C, H, W). With sw > 1 the taps are added into column phases
    (unit-stride runs, as in im2col) and the phases into the plane once."""
    nb = cols.shape[1] if wide else cols.shape[0]
    _, c_in, h, wd = dx.shape
    wq = (wd + sw - 1) // sw
    ph = np.empty((sw, h, wq), dtype=dx.dtype) if sw > 1 else np.empty((1, 1, 1), dtype=dx.dtype)
    for nc in range(nb * c_in):               # each iteration owns the plane dx[n0 + n, c]
        n = nc // c_in
        c = nc % c_in
        dxc = dx[n0 + n, c]
        if sw > 1:
            ph[:] = 0
        for i in range(kh):
            oy0, oy1 = _valid(i * dh - pt, sh, h, ho)
            for j in range(kw):
                ox0, ox1 = _valid(j * dw - pl, sw, wd, wo)
                if ox1 <= ox0:
                    continue
                r = (c * kh + i) * kw + j
                row = cols[r, n] if wide else cols[n, r]
                d = j * dw - pl
                q = d % sw
                t0 = ox0 + d // sw
                for oy in range(oy0, oy1):
                    src = row[oy * wo + ox0:oy * wo + ox1]
                    yy = oy * sh + i * dh - pt
                    if sw == 1:
                        dst = dxc[yy, ox0 + d:ox1 + d]
                    else:
                        dst = ph[q, yy, t0:t0 + (ox1 - ox0)]
                    for t in range(src.shape[0]):
                        dst[t] += src[t]
        if sw > 1:
            _merge_phases(ph, sw, dxc)


# ---- drivers: chunks of images, one reused column buffer, GEMMs through numpy (BLAS) ----------
#
# Two layouts of the columns. 'batched' (B, R, Ho*Wo): one GEMM per image and group, written
# straight into the output; right when an image has many output positions. 'wide'
# (R, B, Ho*Wo): one GEMM per group for the whole chunk, (K/G, R) @ (R, B*Ho*Wo); right for small
# images (LeNet, late ResNet stages), where per-image GEMMs would be slivers dominated by call
# overhead, at the price of transposing the (K, B, Ho*Wo) result into (B, K, Ho*Wo).


def _is_pointwise(kernel, stride, padding, in_size, out_size):
    """A 1x1 convolution that reads every pixel once in place: the image is its own im2col."""
    return (tuple(kernel) == (1, 1) and tuple(stride) == (1, 1) and tuple(padding) == (0, 0)
            and tuple(in_size) == tuple(out_size))


def use_wide(k_per_group, rows_per_group, npix):
    """Wide layout when a per-image GEMM would be small (measured: benchmarks/RESULTS.md)."""
    return (npix < tuning.get("im2col_wide_max_pixels")
            or k_per_group * rows_per_group * npix < tuning.get("im2col_wide_max_macs"))


def _chunk(n_img, rows, npix, itemsize):
    return images_per_chunk(n_img, rows * npix * itemsize, "im2col_chunk_bytes")


class _Plan:
    """Geometry of one call, and the chunked column buffer."""

    def __init__(self, n_img, c_in, k_out, kernel, out_size, groups, dtype):
        kh, kw = kernel
        self.g, self.kg, self.cg = groups, k_out // groups, c_in // groups
        self.rows = self.cg * kh * kw                 # im2col rows per group
        self.npix = out_size[0] * out_size[1]
        self.wide = use_wide(self.kg, self.rows, self.npix)
        self.nb = _chunk(n_img, c_in * kh * kw, self.npix, np.dtype(dtype).itemsize)
        self.buf = buffer("im2col.cols", c_in * kh * kw * self.nb * self.npix, dtype)

    def cols(self, b):
        """The column buffer for a chunk of b images, C-contiguous in the call's layout."""
        n = self.buf.size // self.nb * b
        shape = (self.g * self.rows, b, self.npix) if self.wide else \
            (b, self.g * self.rows, self.npix)
        return self.buf[:n].reshape(shape)

    def by_group(self, cols, b):
        """cols as GEMM operands: (G, R, B*P) when wide, (B, G, R, P) when batched."""
        if self.wide:
            return cols.reshape(self.g, self.rows, b * self.npix)
        return cols.reshape(b, self.g, self.rows, self.npix)


def _im2col(x, n0, plan, cols, kernel, stride, padding, dilation, out_size):
    im2col(x, n0, kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1],
           dilation[0], dilation[1], out_size[0], out_size[1], cols, plan.wide)


def forward(x, w, stride, padding, dilation, groups, out_size, bias=None, relu=False):
    """y = x * w (+ bias) by im2col + GEMM, then max(y, 0) if relu: the bias and the ReLU are
    applied to each chunk of images as soon as its GEMM has written it, in the same share.
    x (N, C, H, W), w (K, Cg, KH, KW), bias (K,) or None -> y (N, K, Ho, Wo)."""
    n_img, c_in, h, wd = x.shape
    k_out, cg, kh, kw = w.shape
    ho, wo = out_size
    y = np.empty((n_img, k_out, ho, wo), dtype=x.dtype)
    kg, rows, npix = k_out // groups, cg * kh * kw, ho * wo
    wm = w.reshape(groups, kg, rows)
    y3 = y.reshape(n_img, k_out, npix)
    has_bias = bias is not None
    bias_k = bias if has_bias else np.zeros(0, dtype=x.dtype)

    def epilogue(n0, n1):
        if has_bias or relu:
            bias_relu_images(y3, bias_k, has_bias, relu, n0, n1)

    if _is_pointwise((kh, kw), stride, padding, (h, wd), out_size) and \
            not use_wide(kg, rows, npix):
        # (G, Kg, Cg) @ (N, G, Cg, H*W) -> (N, G, Kg, H*W), the images split over the threads
        x4, y4 = x.reshape(n_img, groups, cg, npix), y.reshape(n_img, groups, kg, npix)

        def pointwise(n0, n1):
            np.matmul(wm, x4[n0:n1], out=y4[n0:n1])
            epilogue(n0, n1)

        split_batch(n_img, pointwise)
        return y

    def work(first, stop):
        plan = _Plan(stop - first, c_in, k_out, (kh, kw), out_size, groups, x.dtype)
        if plan.wide:
            out = buffer("im2col.out", k_out * plan.nb * npix, x.dtype)
        for n0 in range(first, stop, plan.nb):
            b = min(plan.nb, stop - n0)
            cols = plan.cols(b)
            _im2col(x, n0, plan, cols, (kh, kw), stride, padding, dilation, out_size)
            if plan.wide:
                # (G, Kg, R) @ (G, R, B*P) -> (G, Kg, B*P) = (K, B, P) -> y[n0:n0+B] (B, K, P)
                o = out[:k_out * b * npix].reshape(groups, kg, b * npix)
                np.matmul(wm, plan.by_group(cols, b), out=o)
                y3[n0:n0 + b] = o.reshape(k_out, b, npix).transpose(1, 0, 2)
            else:
                # (G, Kg, R) @ (B, G, R, P) -> (B, G, Kg, P), written straight into y
                np.matmul(wm, plan.by_group(cols, b),
                          out=y3[n0:n0 + b].reshape(b, groups, kg, npix))
            epilogue(n0, n0 + b)

    split_batch(n_img, work)
    return y


def _transposed_chunk(g3, n0, b, buf):
    """g[n0:n0+b] (B, K, P) copied into the wide layout (K, B, P)."""
    k_out, npix = g3.shape[1], g3.shape[2]
    gt = buf[:k_out * b * npix].reshape(k_out, b, npix)
    gt[...] = g3[n0:n0 + b].transpose(1, 0, 2)
    return gt


def backward_input(g, w, in_size, stride, padding, dilation, groups):
    """dL/dx by GEMM + col2im.  g (N, K, Ho, Wo) -> dx (N, C, H, W)."""
    n_img, k_out, ho, wo = g.shape
    _, cg, kh, kw = w.shape
    h, wd = in_size
    c_in = cg * groups
    kg, rows, npix = k_out // groups, cg * kh * kw, ho * wo
    wt = w.reshape(groups, kg, rows).transpose(0, 2, 1)       # (G, R, Kg), a view: BLAS transposes
    g3 = g.reshape(n_img, k_out, npix)
    if _is_pointwise((kh, kw), stride, padding, in_size, (ho, wo)) and \
            not use_wide(kg, rows, npix):
        dx = np.empty((n_img, c_in, h, wd), dtype=g.dtype)
        g4, dx4 = g.reshape(n_img, groups, kg, npix), dx.reshape(n_img, groups, cg, npix)
        split_batch(n_img, lambda n0, n1: np.matmul(wt, g4[n0:n1], out=dx4[n0:n1]))
        return dx
    dx = np.zeros((n_img, c_in, h, wd), dtype=g.dtype)

    def work(first, stop):
        plan = _Plan(stop - first, c_in, k_out, (kh, kw), (ho, wo), groups, g.dtype)
        if plan.wide:
            gbuf = buffer("im2col.g", k_out * plan.nb * npix, g.dtype)
        for n0 in range(first, stop, plan.nb):
            b = min(plan.nb, stop - n0)
            cols = plan.cols(b)
            if plan.wide:
                gt = _transposed_chunk(g3, n0, b, gbuf).reshape(groups, kg, b * npix)
                np.matmul(wt, gt, out=plan.by_group(cols, b))   # (G, R, Kg) @ (G, Kg, B*P)
            else:
                np.matmul(wt, g3[n0:n0 + b].reshape(b, groups, kg, npix),
                          out=plan.by_group(cols, b))           # (G, R, Kg) @ (B, G, Kg, P)
            col2im(cols, n0, kh, kw, stride[0], stride[1], padding[0], padding[1],
                   dilation[0], dilation[1], ho, wo, dx, plan.wide)

    split_batch(n_img, work)
    return dx


def backward_weight(x, g, kernel_size, stride, padding, dilation, groups):
    """dL/dw = sum_n dy[n] @ cols[n]^T per group.  x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, Cg, KH, KW)."""
    n_img, c_in, h, wd = x.shape
    _, k_out, ho, wo = g.shape
    kh, kw = kernel_size
    cg, kg = c_in // groups, k_out // groups
    rows, npix = cg * kh * kw, ho * wo
    g3 = g.reshape(n_img, k_out, npix)
    if _is_pointwise(kernel_size, stride, padding, (h, wd), (ho, wo)) and \
            not use_wide(kg, rows, npix):
        xs = x.reshape(n_img, groups, cg, npix).transpose(0, 1, 3, 2)
        g4 = g.reshape(n_img, groups, kg, npix)
        # (N, G, Kg, H*W) @ (N, G, H*W, Cg) -> (N, G, Kg, Cg), summed over each share's images
        # and then over the shares
        parts = split_batch(n_img, lambda n0, n1: np.matmul(g4[n0:n1], xs[n0:n1]).sum(axis=0))
        for part in parts[1:]:
            parts[0] += part
        return parts[0].reshape(k_out, cg, kh, kw)

    def work(first, stop):
        """This share's part of dW."""
        plan = _Plan(stop - first, c_in, k_out, kernel_size, (ho, wo), groups, x.dtype)
        dw = np.zeros((groups, kg, rows), dtype=x.dtype)
        if plan.wide:
            gbuf = buffer("im2col.g", k_out * plan.nb * npix, x.dtype)
            part = np.empty((groups, kg, rows), dtype=x.dtype)
        else:
            part = np.empty((plan.nb, groups, kg, rows), dtype=x.dtype)
        for n0 in range(first, stop, plan.nb):
            b = min(plan.nb, stop - n0)
            cols = plan.cols(b)
            _im2col(x, n0, plan, cols, kernel_size, stride, padding, dilation, (ho, wo))
            ct = plan.by_group(cols, b)
            if plan.wide:
                gt = _transposed_chunk(g3, n0, b, gbuf).reshape(groups, kg, b * npix)
                np.matmul(gt, ct.transpose(0, 2, 1), out=part)   # (G, Kg, B*P) @ (G, B*P, R)
                dw += part
            else:
                np.matmul(g3[n0:n0 + b].reshape(b, groups, kg, npix), ct.transpose(0, 1, 3, 2),
                          out=part[:b])                         # (B, G, Kg, P) @ (B, G, P, R)
                dw += part[:b].sum(axis=0)
        return dw

    shares = split_batch(n_img, work)
    return sum(shares[1:], shares[0]).reshape(k_out, cg, kh, kw)
