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
