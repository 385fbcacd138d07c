"""Slow, obviously-correct numpy twins of the Numba kernels, for tests to compare against
(and for ``AUTOGRAD_CNN_REFERENCE=1``, which makes the backend call them instead).

Each twin has the same arguments and results as its kernel and is written for clarity, not
speed: one Python loop over output positions, numpy over the (N, C) planes.
"""

import numpy as np


# ==== pooling, upsampling and matmul twins (kernels/pool.py, upsample.py, matmul.py) ============


def _tap_rows(start, kernel, dilation, size):
    """The input rows of a window's taps that lie inside [0, size) (others are padding)."""
    rows = start + dilation * np.arange(kernel)
    return rows[(rows >= 0) & (rows < size)]


def max_pool2d_forward(x, kh, kw, sh, sw, ph, pw, dh, dw, Ho, Wo, with_indices):
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for oh in range(Ho):
        rows = _tap_rows(oh * sh - ph, kh, dh, H)
        for ow in range(Wo):
            cols = _tap_rows(ow * sw - pw, kw, dw, W)
            best = np.full((N, C), -np.inf, dtype=x.dtype)
            where = np.full((N, C), rows[0] * W + cols[0], dtype=np.int64)
            for h in rows:                       # row-major window order: the first max wins
                for w in cols:
                    v = x[:, :, h, w]
                    take = (v > best) | np.isnan(v)          # and a NaN wins
                    best = np.where(take, v, best)
                    where = np.where(take, h * W + w, where)
            out[:, :, oh, ow] = best
            idx[:, :, oh, ow] = where
    if not with_indices:
        idx = np.empty((0, 0, 0, 0), dtype=np.int64)
    return out, idx


def max_pool2d_backward(g, indices, H, W):
    N, C, Ho, Wo = g.shape
    gx = np.zeros((N, C, H * W), dtype=g.dtype)
    for n in range(N):
        for c in range(C):
            np.add.at(gx[n, c], indices[n, c].ravel(), g[n, c].ravel())
    return gx.reshape(N, C, H, W)


def _avg_window(o, stride, pad, kernel, size):
    """(first row, end row, rows counted with padding) of average-pooling window o."""
    start = o * stride - pad
    end = min(start + kernel, size + pad)
    return max(start, 0), min(end, size), end - start


def _avg_divisor(hrows, wcols, count_include_pad, divisor_override):
    (h0, h1, hpad), (w0, w1, wpad) = hrows, wcols
    if divisor_override:
        return divisor_override
    return hpad * wpad if count_include_pad else (h1 - h0) * (w1 - w0)


def avg_pool2d_forward(x, kh, kw, sh, sw, ph, pw, Ho, Wo, count_include_pad, divisor_override):
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for oh in range(Ho):
        hr = _avg_window(oh, sh, ph, kh, H)
        for ow in range(Wo):
            wr = _avg_window(ow, sw, pw, kw, W)
            total = x[:, :, hr[0]:hr[1], wr[0]:wr[1]].sum(axis=(2, 3))
            out[:, :, oh, ow] = total / _avg_divisor(hr, wr, count_include_pad, divisor_override)
    return out


def avg_pool2d_backward(g, H, W, kh, kw, sh, sw, ph, pw, count_include_pad, divisor_override):
    N, C, Ho, Wo = g.shape
    gx = np.zeros((N, C, H, W), dtype=g.dtype)
    for oh in range(Ho):
        hr = _avg_window(oh, sh, ph, kh, H)
        for ow in range(Wo):
            wr = _avg_window(ow, sw, pw, kw, W)
            div = _avg_divisor(hr, wr, count_include_pad, divisor_override)
            gx[:, :, hr[0]:hr[1], wr[0]:wr[1]] += (g[:, :, oh, ow] / div)[:, :, None, None]
    return gx


def _adaptive(o, size, out_size):
    return (o * size) // out_size, -(-((o + 1) * size) // out_size)


def adaptive_avg_pool2d_forward(x, Ho, Wo):
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for oh in range(Ho):
        h0, h1 = _adaptive(oh, H, Ho)
        for ow in range(Wo):
            w0, w1 = _adaptive(ow, W, Wo)
            out[:, :, oh, ow] = x[:, :, h0:h1, w0:w1].mean(axis=(2, 3))
    return out


def adaptive_avg_pool2d_backward(g, H, W):
    N, C, Ho, Wo = g.shape
    gx = np.zeros((N, C, H, W), dtype=g.dtype)
    for oh in range(Ho):
        h0, h1 = _adaptive(oh, H, Ho)
        for ow in range(Wo):
            w0, w1 = _adaptive(ow, W, Wo)
            size = (h1 - h0) * (w1 - w0)
            gx[:, :, h0:h1, w0:w1] += (g[:, :, oh, ow] / size)[:, :, None, None]
    return gx


def adaptive_max_pool2d_forward(x, Ho, Wo):
    N, C, H, W = x.shape
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    idx = np.empty((N, C, Ho, Wo), dtype=np.int64)
    for oh in range(Ho):
        h0, h1 = _adaptive(oh, H, Ho)
        for ow in range(Wo):
            w0, w1 = _adaptive(ow, W, Wo)
            best = np.full((N, C), -np.inf, dtype=x.dtype)
            where = np.full((N, C), h0 * W + w0, dtype=np.int64)
            for h in range(h0, h1):
                for w in range(w0, w1):
                    v = x[:, :, h, w]
                    take = (v > best) | np.isnan(v)
                    best = np.where(take, v, best)
                    where = np.where(take, h * W + w, where)
            out[:, :, oh, ow] = best
            idx[:, :, oh, ow] = where
    return out, idx


def max_unpool2d_forward(x, indices, Ho, Wo):
    N, C, H, W = x.shape
    out = np.zeros((N, C, Ho * Wo), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for k in range(H * W):               # in order: a repeated index keeps the last
                out[n, c, indices[n, c].flat[k]] = x[n, c].flat[k]
    return out.reshape(N, C, Ho, Wo)


def max_unpool2d_backward(g, indices):
    N, C, Ho, Wo = g.shape
    flat = g.reshape(N, C, Ho * Wo)
    return np.take_along_axis(flat, indices.reshape(N, C, -1), axis=2).reshape(indices.shape)


def nearest_forward(x, hi, wi):
    return x[:, :, hi[:, None], wi[None, :]]


def nearest_backward(g, hi, wi, H, W):
    N, C, Ho, Wo = g.shape
    gx = np.zeros((N, C, H, W), dtype=g.dtype)
    for oh in range(Ho):
        for ow in range(Wo):
            gx[:, :, hi[oh], wi[ow]] += g[:, :, oh, ow]
    return gx


def bilinear_forward(x, h0, h1, lh0, lh1, w0, w1, lw0, lw1):
    N, C, H, W = x.shape
    out = np.empty((N, C, len(h0), len(w0)), dtype=x.dtype)
    for oh in range(len(h0)):
        for ow in range(len(w0)):
            top = lw0[ow] * x[:, :, h0[oh], w0[ow]] + lw1[ow] * x[:, :, h0[oh], w1[ow]]
            bottom = lw0[ow] * x[:, :, h1[oh], w0[ow]] + lw1[ow] * x[:, :, h1[oh], w1[ow]]
            out[:, :, oh, ow] = lh0[oh] * top + lh1[oh] * bottom
    return out


def bilinear_backward(g, h0, h1, lh0, lh1, w0, w1, lw0, lw1, H, W):
    N, C, Ho, Wo = g.shape
    gx = np.zeros((N, C, H, W), dtype=g.dtype)
    for oh in range(Ho):
        for ow in range(Wo):
            v = g[:, :, oh, ow]
            gx[:, :, h0[oh], w0[ow]] += lh0[oh] * lw0[ow] * v
            gx[:, :, h0[oh], w1[ow]] += lh0[oh] * lw1[ow] * v
            gx[:, :, h1[oh], w0[ow]] += lh1[oh] * lw0[ow] * v
            gx[:, :, h1[oh], w1[ow]] += lh1[oh] * lw1[ow] * v
    return gx


def gemm(a, b, transpose_a, transpose_b):
    """op(a) @ op(b) as a sum of outer products over k, without BLAS."""
    a = a.T if transpose_a else a
    b = b.T if transpose_b else b
    c = np.zeros((a.shape[0], b.shape[1]), dtype=a.dtype)
    for k in range(a.shape[1]):
        c += np.multiply.outer(a[:, k], b[k, :])
    return c


# =================================================================================================
# Convolution (twins of kernels/conv.py)
#
# Geometry shared by all convolution twins (the same as the kernels'):
#   x (N, C, H, W), w (K, C/groups, KH, KW), y (N, K, Ho, Wo)
#   y[n, k, oy, ox] = sum_{c in group(k), i, j} w[k, c, i, j] * x[n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl]
#   with x read as zero outside [0, H) x [0, W).  pt, pl are the top and left padding; the bottom
#   and right padding are implied by the output size (Ho, Wo), so asymmetric padding ('same' with
#   an even kernel) and transposed convolutions' output_padding need no extra arguments.
# Every twin loops over the kernel offsets (i, j) and, for each, reads the strided window of the
# zero-padded input that this offset touches: one einsum per offset and group.
# =================================================================================================


def _padded(x: np.ndarray, padding, size) -> np.ndarray:
    """x placed in a zero array big enough for every window: pt rows on top, pl columns on the
    left, and at least ``size`` = (Hp, Wp) rows and columns in all."""
    n, c, h, w = x.shape
    pt, pl = padding
    hp, wp = max(size[0], pt + h), max(size[1], pl + w)
    xp = np.zeros((n, c, hp, wp), dtype=x.dtype)
    xp[:, :, pt:pt + h, pl:pl + w] = x
    return xp


def _window(xp, i, j, stride, dilation, out_size):
    """The (N, C, Ho, Wo) view of the padded input that kernel offset (i, j) multiplies."""
    (sh, sw), (dh, dw), (ho, wo) = stride, dilation, out_size
    y0, x0 = i * dh, j * dw
    return xp[:, :, y0:y0 + sh * (ho - 1) + 1:sh, x0:x0 + sw * (wo - 1) + 1:sw]


def _needed(kernel, stride, dilation, out_size):
    """Padded input extent (Hp, Wp) that the windows of an (Ho, Wo) output reach."""
    return tuple(s * (o - 1) + d * (k - 1) + 1
                 for k, s, d, o in zip(kernel, stride, dilation, out_size))


def conv2d_forward_ref(x, w, bias, stride, padding, dilation, groups, out_size):
    """y = x * w + b (cross-correlation).
    x (N, C, H, W), w (K, C/groups, KH, KW), bias (K,) or None -> y (N, K, Ho, Wo)."""
    k_out, cg, kh, kw = w.shape
    kg = k_out // groups
    xp = _padded(x, padding, _needed((kh, kw), stride, dilation, out_size))
    y = np.zeros((x.shape[0], k_out) + tuple(out_size), dtype=x.dtype)
    for g in range(groups):
        ks, cs = slice(g * kg, (g + 1) * kg), slice(g * cg, (g + 1) * cg)
        for i in range(kh):
            for j in range(kw):
                win = _window(xp[:, cs], i, j, stride, dilation, out_size)
                y[:, ks] += np.einsum("nchw,kc->nkhw", win, w[ks, :, i, j])
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_backward_input_ref(g, w, input_size, stride, padding, dilation, groups):
    """dL/dx from dL/dy = g: every output's gradient flows back to the inputs its window read.
    g (N, K, Ho, Wo), w (K, C/groups, KH, KW), input_size (H, W) -> dx (N, C, H, W)."""
    k_out, cg, kh, kw = w.shape
    kg = k_out // groups
    n, _, ho, wo = g.shape
    h, wd = input_size
    pt, pl = padding
    zeros = np.zeros((n, cg * groups, h, wd), dtype=g.dtype)
    gxp = _padded(zeros, padding, _needed((kh, kw), stride, dilation, (ho, wo)))
    for grp in range(groups):
        ks, cs = slice(grp * kg, (grp + 1) * kg), slice(grp * cg, (grp + 1) * cg)
        for i in range(kh):
            for j in range(kw):
                win = _window(gxp[:, cs], i, j, stride, dilation, (ho, wo))   # a view: += writes
                win += np.einsum("nkhw,kc->nchw", g[:, ks], w[ks, :, i, j])
    return np.ascontiguousarray(gxp[:, :, pt:pt + h, pl:pl + wd])


def conv2d_backward_weight_ref(x, g, kernel_size, stride, padding, dilation, groups):
    """dL/dw = sum over batch and positions of g times the input each weight multiplied.
    x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, C/groups, KH, KW)."""
    kh, kw = kernel_size
    k_out = g.shape[1]
    cg, kg = x.shape[1] // groups, k_out // groups
    out_size = g.shape[2:]
    xp = _padded(x, padding, _needed((kh, kw), stride, dilation, out_size))
    dw = np.zeros((k_out, cg, kh, kw), dtype=x.dtype)
    for grp in range(groups):
        ks, cs = slice(grp * kg, (grp + 1) * kg), slice(grp * cg, (grp + 1) * cg)
        for i in range(kh):
            for j in range(kw):
                win = _window(xp[:, cs], i, j, stride, dilation, out_size)
                dw[ks, :, i, j] = np.einsum("nkhw,nchw->kc", g[:, ks], win)
    return dw


def conv2d_bias_grad_ref(g):
    """dL/db[k] = sum of g over batch and positions.  g (N, K, Ho, Wo) -> (K,)."""
    return g.sum(axis=(0, 2, 3))


def conv_transpose2d_forward_ref(x, w, bias, stride, padding, dilation, groups, out_size):
    """Transposed convolution: by definition the backward-input of the convolution with the same
    geometry (each input pixel scatters the kernel, scaled by its value, into the output; the
    tests also check it against an explicitly built transposed convolution matrix).
    x (N, Cin, H, W), w (Cin, Cout/groups, KH, KW) -> y (N, Cout, Ho, Wo), (Ho, Wo) = out_size:
    y[n, co, iy*sh + i*dh - pt, ix*sw + j*dw - pl] += x[n, ci, iy, ix] * w[ci, co, i, j] (+ bias)."""
    y = conv2d_backward_input_ref(x, w, out_size, stride, padding, dilation, groups)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


# =================================================================================================
# Convolution helpers (twins of kernels/im2col.py, shifted.py and winograd.py's transforms)
#
# Written from each kernel's docstring formula. Like the kernels, they write into the output
# array they are given (the col2im twins add into it), and read or write only images
# n0 .. n0+B-1 of a batch, B taken from the chunk array's shape.
# =================================================================================================


def im2col_ref(x, n0, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, cols, wide):
    """cols[n, (c, i, j), (oy, ox)] = x[n0 + n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl], 0 where
    that pixel is outside the image.  cols (B, C*KH*KW, Ho*Wo), or (C*KH*KW, B, Ho*Wo) if wide."""
    b = cols.shape[1] if wide else cols.shape[0]
    c = x.shape[1]
    xp = _padded(x[n0:n0 + b], (pt, pl), _needed((kh, kw), (sh, sw), (dh, dw), (ho, wo)))
    fields = np.empty((b, c, kh, kw, ho, wo), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            fields[:, :, i, j] = _window(xp, i, j, (sh, sw), (dh, dw), (ho, wo))
    fields = fields.reshape(b, c * kh * kw, ho * wo)        # rows (c, i, j), columns (oy, ox)
    cols[...] = fields.transpose(1, 0, 2) if wide else fields


def col2im_ref(cols, n0, kh, kw, sh, sw, pt, pl, dh, dw, ho, wo, dx, wide):
    """The adjoint of im2col: each entry cols[n, (c, i, j), (oy, ox)] is added to the pixel
    dx[n0 + n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl] it was read from (dropped when that is
    in the padding).  cols as in im2col_ref; dx (N, C, H, W) is added to."""
    b = cols.shape[1] if wide else cols.shape[0]
    _, c, h, w = dx.shape
    fields = (cols.transpose(1, 0, 2) if wide else cols).reshape(b, c, kh, kw, ho, wo)
    acc = _padded(np.zeros((b, c, h, w), dtype=dx.dtype), (pt, pl),
                  _needed((kh, kw), (sh, sw), (dh, dw), (ho, wo)))
    for i in range(kh):
        for j in range(kw):
            win = _window(acc, i, j, (sh, sw), (dh, dw), (ho, wo))      # a view: += writes
            win += fields[:, :, i, j]
    dx[n0:n0 + b] += acc[:, :, pt:pt + h, pl:pl + w]


def _shifts(kh, kw, dh, dw, wp):
    """(i, j, s): kernel offset (i, j) reads the flat padded plane shifted by s."""
    return [(i, j, i * dh * wp + j * dw) for i in range(kh) for j in range(kw)]


def shifted_im2col_ref(xp, kh, kw, dh, dw, ho, cols):
    """cols[(c, i, j), n, p] = xp[n, c].flat[p + i*dh*Wp + j*dw] for p < Ho*Wp, 0 where that
    index is past the end of the plane.  xp (B, C, Hp, Wp) -> cols (C*KH*KW, B, Ho*Wp)."""
    b, c, hp, wp = xp.shape
    p = np.arange(ho * wp)
    reach = ho * wp + (kh - 1) * dh * wp + (kw - 1) * dw        # one past the largest index read
    flat = np.zeros((b, c, max(hp * wp, reach)), dtype=xp.dtype)   # the plane, then zeros
    flat[:, :, :hp * wp] = xp.reshape(b, c, hp * wp)
    out = np.empty((c, kh, kw, b, ho * wp), dtype=xp.dtype)
    for i, j, s in _shifts(kh, kw, dh, dw, wp):
        out[:, i, j] = flat[:, :, p + s].transpose(1, 0, 2)       # (B, C, P) -> (C, B, P)
    cols[...] = out.reshape(cols.shape)


def shifted_col2im_ref(dcols, kh, kw, dh, dw, ho, dxp):
    """The adjoint of shifted_im2col: dxp[n, c].flat[p + s] += dcols[(c, i, j), n, p], s =
    i*dh*Wp + j*dw, dropped where p + s is past the plane's end.
    dcols (C*KH*KW, B, Ho*Wp) -> dxp (B, C, Hp, Wp), which is added to."""
    b, c, hp, wp = dxp.shape
    p = np.arange(ho * wp)
    reach = ho * wp + (kh - 1) * dh * wp + (kw - 1) * dw
    flat = np.zeros((b, c, max(hp * wp, reach)), dtype=dxp.dtype)
    rows = dcols.reshape(c, kh, kw, b, ho * wp)
    for i, j, s in _shifts(kh, kw, dh, dw, wp):
        flat[:, :, p + s] += rows[:, i, j].transpose(1, 0, 2)    # p + s distinct: no collisions
    dxp += flat[:, :, :hp * wp].reshape(dxp.shape)


# Winograd F(2x2, 3x3) (Lavin & Gray 2015): Y = A^T [(G w G^T) (.) (B^T d B)] A for a 4x4 input
# tile d and a 3x3 kernel w gives the 2x2 outputs of their correlation.
WINOGRAD_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], dtype=float)
WINOGRAD_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], dtype=float)
WINOGRAD_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], dtype=float)


def _from_tiles(t):
    """(B, C, TH, TW, 4, 4) -> the kernels' layout (16, C, B*TH*TW), entry
    [4r + j, c, (n*TH + ty)*TW + tx]."""
    b, c, th, tw = t.shape[:4]
    return t.transpose(4, 5, 1, 0, 2, 3).reshape(16, c, b * th * tw)


def _to_tiles(v, b, th, tw):
    """(16, C, B*TH*TW) -> (B, C, TH, TW, 4, 4), the inverse of _from_tiles."""
    return v.reshape(4, 4, v.shape[1], b, th, tw).transpose(3, 2, 4, 5, 0, 1)


def winograd_input_transform_ref(x, n0, pt, pl, th, tw, v):
    """V = B^T d B for each 4x4 tile d: tile (n, ty, tx) covers rows 2ty .. 2ty+3 and columns
    2tx .. 2tx+3 of image n0 + n zero-padded by pt on top and pl on the left.
    x (N, C, H, W) -> v (16, C, B*TH*TW)."""
    b = v.shape[2] // (th * tw)
    xp = _padded(x[n0:n0 + b], (pt, pl), (2 * th + 2, 2 * tw + 2))
    out = np.empty((b, x.shape[1], th, tw, 4, 4), dtype=x.dtype)
    for ty in range(th):
        for tx in range(tw):
            d = xp[:, :, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]              # (B, C, 4, 4)
            out[:, :, ty, tx] = WINOGRAD_BT @ d @ WINOGRAD_BT.T
    v[...] = _from_tiles(out)


def winograd_output_transform_ref(m, bias, n0, th, tw, y):
    """Y = A^T M A + bias[k] for each tile: tile (n, ty, tx) is outputs 2ty .. 2ty+1, 2tx .. 2tx+1
    of y[n0 + n] (the parts past Ho, Wo dropped).  m (16, K, B*TH*TW) -> y (N, K, Ho, Wo)."""
    _, k_out, ho, wo = y.shape
    b = m.shape[2] // (th * tw)
    tiles = _to_tiles(m, b, th, tw)
    full = np.empty((b, k_out, 2 * th, 2 * tw), dtype=y.dtype)
    for ty in range(th):
        for tx in range(tw):
            full[:, :, 2 * ty:2 * ty + 2, 2 * tx:2 * tx + 2] = \
                WINOGRAD_AT @ tiles[:, :, ty, tx] @ WINOGRAD_AT.T
    y[n0:n0 + b] = full[:, :, :ho, :wo] + bias.reshape(1, -1, 1, 1)


def winograd_output_adjoint_ref(g, n0, th, tw, dm):
    """The adjoint of the output transform (bias aside): dM = A dY A^T for each 2x2 tile dY of
    g[n0 + n], read as 0 past Ho, Wo.  g (N, K, Ho, Wo) -> dm (16, K, B*TH*TW)."""
    _, k_out, ho, wo = g.shape
    b = dm.shape[2] // (th * tw)
    gp = np.zeros((b, k_out, 2 * th, 2 * tw), dtype=g.dtype)
    gp[:, :, :ho, :wo] = g[n0:n0 + b]
    out = np.empty((b, k_out, th, tw, 4, 4), dtype=g.dtype)
    for ty in range(th):
        for tx in range(tw):
            out[:, :, ty, tx] = WINOGRAD_AT.T @ gp[:, :, 2 * ty:2 * ty + 2, 2 * tx:2 * tx + 2] \
                @ WINOGRAD_AT
    dm[...] = _from_tiles(out)


def winograd_input_adjoint_ref(dv, n0, pt, pl, th, tw, dx):
    """The adjoint of the input transform: dx[n0 + n] = the sum over tiles of B dV B^T, each put
    on the 4x4 window its tile was read from, the padding cropped (0 where no tile reads).
    dv (16, C, B*TH*TW) -> dx (N, C, H, W)."""
    _, c, h, w = dx.shape
    b = dv.shape[2] // (th * tw)
    tiles = _to_tiles(dv, b, th, tw)
    acc = _padded(np.zeros((b, c, h, w), dtype=dx.dtype), (pt, pl), (2 * th + 2, 2 * tw + 2))
    for ty in range(th):
        for tx in range(tw):
            acc[:, :, 2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4] += \
                WINOGRAD_BT.T @ tiles[:, :, ty, tx] @ WINOGRAD_BT
    dx[n0:n0 + b] = acc[:, :, pt:pt + h, pl:pl + w]


def winograd_weight_adjoint_ref(du):
    """dw[k, c] = G^T dU[k, c] G, dU[k, c] the 4x4 matrix du[4a + b, group, k % (K/G), c].
    du (16, G, K/G, Cg) -> dw (K, Cg, 3, 3)."""
    _, groups, kg, cg = du.shape
    tiles = du.reshape(4, 4, groups * kg, cg)
    dw = np.empty((groups * kg, cg, 3, 3), dtype=du.dtype)
    for k in range(groups * kg):
        for c in range(cg):
            dw[k, c] = WINOGRAD_G.T @ tiles[:, :, k, c] @ WINOGRAD_G
    return dw


# ==== batch normalisation twins (kernels/norm.py) ==============================================


def _per_channel(v):
    return v.reshape(1, -1, 1)


def bn_stats(x):
    """Per-channel mean and biased variance of x (N, C, L), float64."""
    mean = x.mean(axis=(0, 2), dtype=np.float64)
    centred = x - _per_channel(mean)
    return mean, (centred * centred).mean(axis=(0, 2))


def bn_apply(x, mean, scale, shift):
    return ((x - _per_channel(mean)) * _per_channel(scale) + _per_channel(shift)).astype(x.dtype)


def bn_backward_sums(g, x, mean):
    return (g.sum(axis=(0, 2), dtype=np.float64),
            (g * (x - _per_channel(mean))).sum(axis=(0, 2), dtype=np.float64))


def bn_backward_input(g, x, mean, k_g, k_0, k_x):
    return (_per_channel(k_g) * g - _per_channel(k_0)
            - _per_channel(k_x) * (x - _per_channel(mean))).astype(x.dtype)


# ==== optimiser step twins (kernels/optim.py): the same updates as numpy expressions ==========


def sgd_step(p, g, buf, lr, momentum, dampening, weight_decay, nesterov, maximize, first):
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + weight_decay * p
    if momentum != 0:
        if first:
            buf[...] = d
        else:
            buf *= momentum
            buf += (1 - dampening) * d
        d = d + momentum * buf if nesterov else buf
    p -= lr * d


def adam_step(p, g, m, v, vmax, lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
              maximize, step):
    d = -g if maximize else g
    if weight_decay != 0:
        if decoupled:
            p *= 1 - lr * weight_decay
        else:
            d = d + weight_decay * p
    m *= beta1
    m += (1 - beta1) * d
    v *= beta2
    v += (1 - beta2) * d * d
    if amsgrad:
        np.maximum(vmax, v, out=vmax)
        v = vmax
    p -= (lr / (1 - beta1 ** step)) * m / (np.sqrt(v) / np.sqrt(1 - beta2 ** step) + eps)


# ==== augmentation twin (kernels/augment.py) ====================================================


def warp_affine_batch(x, inv, fill):
    """Per output pixel, numpy over the batch: source point, four taps (``fill`` outside)."""
    N, C, H, W = x.shape
    out = np.empty_like(x)
    n = np.arange(N)

    def tap(rows, cols):                                   # (N,) rows/cols -> (N, C)
        inside = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        v = x[n, :, np.clip(rows, 0, H - 1), np.clip(cols, 0, W - 1)]
        return np.where(inside[:, None], v, fill)

    for i in range(H):
        for j in range(W):
            sx = inv[:, 0, 0] * j + inv[:, 0, 1] * i + inv[:, 0, 2]
            sy = inv[:, 1, 0] * j + inv[:, 1, 1] * i + inv[:, 1, 2]
            fx, fy = np.floor(sx), np.floor(sy)
            wx = (sx - fx).astype(x.dtype)[:, None]
            wy = (sy - fy).astype(x.dtype)[:, None]
            # clipped first (far-away points would overflow int64), keeping both taps outside
            c0 = np.clip(fx, -2, W).astype(np.int64)
            r0 = np.clip(fy, -2, H).astype(np.int64)
            top = tap(r0, c0) * (1 - wx) + tap(r0, c0 + 1) * wx
            bottom = tap(r0 + 1, c0) * (1 - wx) + tap(r0 + 1, c0 + 1) * wx
            out[:, :, i, j] = top * (1 - wy) + bottom * wy
    return out
