"""Slow, obviously-correct numpy twins of the fast kernels. Tests compare each kernel with its twin;
``AUTOGRAD_CNN_REFERENCE=1`` makes ``autograd_cnn.backend`` call these instead of the kernels.

Each twin takes the same arguments as the kernel it mirrors and returns a new array. They are
written for clarity, not speed: no tricks, one obvious loop.
"""

from __future__ import annotations

import numpy as np

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
