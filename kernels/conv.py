"""2-D convolution kernels: forward, backward-input, backward-weight, transposed convolution.

Plain functions: C-contiguous float32/float64 arrays and ints in, new arrays out; they know
nothing about autograd (``autograd_cnn/backend.py`` validates their arguments first).

Geometry, shared with the reference twins in ``kernels/reference.py``:

    x (N, C, H, W), w (K, C/groups, KH, KW), y (N, K, Ho, Wo)
    y[n, k, oy, ox] = b[k] + sum_{c in k's group, i, j}
                      w[k, c, i, j] * x[n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl]

with x zero outside the image. ``padding`` is (pt, pl), the top and left padding; the bottom and
right padding follow from ``out_size`` = (Ho, Wo). So 'same' padding with an even kernel (one
more row at the end) and the output_padding of a transposed convolution need nothing extra.

Five algorithms, chosen per call by ``choose_algorithm`` (measured on this machine, see
benchmarks/RESULTS.md) or forced with ``algorithm=``:

    'direct'    loops in Numba (kernels/direct.py): depthwise layers and few-tap layers with
                many outputs; stride 1 as one shifted multiply-add per tap over the flat plane
    'im2col'    im2col + BLAS GEMM in image chunks (kernels/im2col.py); a 1x1 stride-1
                convolution skips im2col and is a single GEMM per image
    'shifted'   stride 1, small images (kernels/shifted.py): each im2col row is one shifted
                copy of the flat padded image, one GEMM per chunk
    'winograd'  F(2x2, 3x3) for 3x3 stride-1 kernels (kernels/winograd.py): 2.25x fewer
                multiplications; its backward computes dx and dw from one transform of dy
    'smallconv' stride 1, one group, few output channels (LeNet's C1 and C3; kernels/smallconv.py): a
                direct kernel keeping a block of pixels x all output channels in registers

All but the strided direct loops split the batch over one thread per core (kernels/threads.py).
"""

from __future__ import annotations

import numpy as np

from .. import tuning
from . import direct, im2col, reference, shifted, smallconv, winograd
from .elementwise import bias_relu_images
from .threads import over_planes

ALGORITHMS = ("auto", "direct", "im2col", "shifted", "smallconv", "winograd")

__all__ = [
    "ALGORITHMS", "choose_algorithm", "conv2d_forward", "conv2d_backward",
    "conv2d_backward_input", "conv2d_backward_weight", "conv2d_bias_grad",
    "conv_transpose2d_forward",
]


def choose_algorithm(c_in, k_out, kernel_size, stride, dilation, groups, out_size):
    """The fastest algorithm measured for this layer geometry (thresholds: ``autograd_cnn.tuning``)."""
    kh, kw = kernel_size
    cg, kg = c_in // groups, k_out // groups
    rows, npix = cg * kh * kw, out_size[0] * out_size[1]
    if kg <= tuning.get("conv_direct_max_k_per_group") or rows <= 4:
        # The per-group GEMM would be a sliver (depthwise: 1 x KH*KW): loops win.
        return "direct"
    small_k = smallconv.applies(kernel_size, stride, dilation, groups) and \
        k_out <= tuning.get("conv_smallconv_max_k")
    if rows <= tuning.get("conv_direct_max_rows") and tuple(stride) == (1, 1):
        # Few input taps (LeNet's first layer: 1 channel, 5x5): the im2col matrix would be
        # 25x the image for a GEMM with a 25-long inner dimension.  With few output channels
        # smallconv keeps all of them in registers per pixel block (2.1-3.4x direct fwd+bwd);
        # otherwise one shifted multiply-add per tap over the whole plane wins.
        return "smallconv" if small_k else "direct"
    least = tuning.get("conv_winograd_min_channels")
    if winograd.applies(kernel_size, stride, dilation) and cg >= least and kg >= least:
        return "winograd"
    if tuple(stride) == (1, 1) and im2col.use_wide(kg, rows, npix) and \
            (kh, kw) != (1, 1):
        if small_k:
            # Few output channels (LeNet C3): all of them and a few pixels fit in registers;
            # shifted's GEMM would be 16 rows deep with 40% junk columns on 10x10 outputs.
            return "smallconv"
        return "shifted"
    return "im2col"


def _resolve(algorithm, c_in, k_out, kernel_size, stride, dilation, groups, out_size):
    if algorithm == "auto":
        return choose_algorithm(c_in, k_out, kernel_size, stride, dilation, groups, out_size)
    if algorithm == "winograd" and not winograd.applies(kernel_size, stride, dilation):
        raise ValueError("conv kernels: algorithm='winograd' needs a 3x3 kernel with stride 1 "
                         f"and dilation 1, got kernel {tuple(kernel_size)}, stride "
                         f"{tuple(stride)}, dilation {tuple(dilation)}")
    if algorithm == "smallconv" and not smallconv.applies(kernel_size, stride, dilation, groups):
        raise ValueError("conv kernels: algorithm='smallconv' needs stride 1, dilation 1 and "
                         f"groups 1, got stride {tuple(stride)}, dilation {tuple(dilation)}, "
                         f"groups {groups}")
    if algorithm == "shifted" and tuple(stride) != (1, 1):
        raise ValueError(f"conv kernels: algorithm='shifted' needs stride 1, got {tuple(stride)}")
    if algorithm not in ALGORITHMS:
        raise ValueError(f"conv kernels: unknown algorithm {algorithm!r}, expected one of "
                         f"{ALGORITHMS}")
    return algorithm


def conv2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                   groups=1, out_size, algorithm="auto", relu=False):
    """y = x * w + b, then max(y, 0) if relu (F.conv2d_relu: the ReLU on each chunk of images
    while it is in cache, not as a pass of its own).  x (N, C, H, W), w (K, C/groups, KH, KW),
    bias (K,) or None -> y (N, K, Ho, Wo) with (Ho, Wo) = out_size."""
    algo = _resolve(algorithm, x.shape[1], w.shape[0], w.shape[2:], stride, dilation, groups,
                    out_size)
    if algo == "winograd":
        return winograd.forward(x, w, bias, padding, groups, out_size, relu)
    if algo == "im2col":        # the bias and the ReLU inside its shares
        return im2col.forward(x, w, stride, padding, dilation, groups, out_size, bias, relu)
    if algo == "smallconv":
        y = smallconv.forward(x, w, padding, out_size, bias)     # the bias in its registers
        bias = None
    elif algo == "shifted":
        y = shifted.forward(x, w, padding, dilation, groups, out_size)
    else:
        y = direct.forward(x, w, stride, padding, dilation, groups, out_size)
    if bias is not None or relu:
        _epilogue(y, bias, relu)
    return y


def _epilogue(y, bias, relu) -> None:
    """y += bias (per output channel) and/or y = max(y, 0), in place, in one pass over y split
    by images over the kernel threads."""
    n, k = y.shape[:2]
    y3 = y.reshape(n, k, -1)
    has_bias = bias is not None
    b = bias if has_bias else np.zeros(0, dtype=y.dtype)
    over_planes(bias_relu_images, n, 2 * y.size, y3, b, has_bias, relu)


def conv2d_backward_input(g, w, *, in_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                          groups=1, algorithm="auto"):
    """dL/dx from dL/dy = g.  g (N, K, Ho, Wo), w (K, C/groups, KH, KW) -> dx (N, C, H, W)
    with (H, W) = in_size:  dx[n, c, y, x] = sum of w[k, c, i, j] g[n, k, oy, ox] over the
    (k, i, j, oy, ox) with oy*sh + i*dh - pt = y and ox*sw + j*dw - pl = x."""
    c_in = w.shape[1] * groups
    algo = _resolve(algorithm, c_in, w.shape[0], w.shape[2:], stride, dilation, groups,
                    g.shape[2:])
    if algo == "winograd":
        return winograd.backward(None, w, g, in_size, padding, groups, need_input=True,
                                 need_weight=False)[0]
    if algo == "smallconv":
        return smallconv.backward_input(g, w, in_size, padding)
    if algo == "shifted":
        return shifted.backward_input(g, w, in_size, padding, dilation, groups)
    if algo == "direct":
        return direct.backward_input(g, w, in_size, stride, padding, dilation, groups)
    return im2col.backward_input(g, w, in_size, stride, padding, dilation, groups)


def conv2d_backward_weight(x, g, *, kernel_size, stride=(1, 1), padding=(0, 0),
                           dilation=(1, 1), groups=1, algorithm="auto"):
    """dL/dw = sum_{n, oy, ox} g[n, k, oy, ox] x[n, c, oy*sh + i*dh - pt, ox*sw + j*dw - pl].
    x (N, C, H, W), g (N, K, Ho, Wo) -> dw (K, C/groups, KH, KW)."""
    algo = _resolve(algorithm, x.shape[1], g.shape[1], kernel_size, stride, dilation, groups,
                    g.shape[2:])
    if algo == "winograd":
        return winograd.backward(x, None, g, x.shape[2:], padding, groups, need_input=False,
                                 need_weight=True)[1]
    if algo == "smallconv":
        return smallconv.backward_weight(x, g, kernel_size, padding)
    if algo == "shifted":
        return shifted.backward_weight(x, g, kernel_size, padding, dilation, groups)
    if algo == "direct":
        return direct.backward_weight(x, g, kernel_size, stride, padding, dilation, groups)
    return im2col.backward_weight(x, g, kernel_size, stride, padding, dilation, groups)


def conv2d_bias_grad(g):
    """dL/db[k] = sum of g[:, k] over batch and positions.  g (N, K, Ho, Wo) -> (K,)."""
    n_img, k_out = g.shape[:2]
    # sum the long contiguous axis first: (N, K, Ho*Wo) -> (N, K) -> (K,)
    # explicit sizes: reshape(..., -1) cannot infer a dim of an empty batch
    return g.reshape(n_img, k_out, g.shape[2] * g.shape[3]).sum(axis=2).sum(axis=0)


def conv2d_backward(x, w, g, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                    need_input=True, need_weight=True, algorithm="auto"):
    """(dx, dw), each None unless asked for; Winograd shares the transform of g between them."""
    algo = _resolve(algorithm, x.shape[1], w.shape[0], w.shape[2:], stride, dilation, groups,
                    g.shape[2:])
    if algo == "winograd":
        return winograd.backward(x, w, g, x.shape[2:], padding, groups,
                                 need_input=need_input, need_weight=need_weight)
    if algo == "smallconv":                 # dx and dw in one parallel region
        return smallconv.backward(x, w, g, padding, need_input, need_weight)
    geom = dict(stride=stride, padding=padding, dilation=dilation, groups=groups, algorithm=algo)
    dx = conv2d_backward_input(g, w, in_size=x.shape[2:], **geom) if need_input else None
    dw = (conv2d_backward_weight(x, g, kernel_size=w.shape[2:], **geom)
          if need_weight else None)
    return dx, dw


def conv_transpose2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0),
                             dilation=(1, 1), groups=1, out_size, algorithm="auto"):
    """Transposed convolution: the backward-input of the convolution with the same geometry.
    x (N, Cin, H, W), w (Cin, Cout/groups, KH, KW) -> y (N, Cout, Ho, Wo), (Ho, Wo) = out_size
    (output_padding is already in out_size).  y[n, co, iy*sh + i*dh - pt, ix*sw + j*dw - pl]
    += x[n, ci, iy, ix] w[ci, co, i, j], plus bias[co]."""
    y = conv2d_backward_input(x, w, in_size=out_size, stride=stride, padding=padding,
                              dilation=dilation, groups=groups, algorithm=algorithm)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


# ---- the numpy twins (kernels/reference.py), with the kernels' signatures --------------------


def _forward_twin(x, w, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                  out_size, algorithm="auto", relu=False):
    y = reference.conv2d_forward_ref(x, w, bias, stride, padding, dilation, groups, out_size)
    return np.where(y <= 0, np.zeros((), y.dtype), y) if relu else y


def _backward_input_twin(g, w, *, in_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                         groups=1, algorithm="auto"):
    return reference.conv2d_backward_input_ref(g, w, in_size, stride, padding, dilation, groups)


def _backward_weight_twin(x, g, *, kernel_size, stride=(1, 1), padding=(0, 0),
                          dilation=(1, 1), groups=1, algorithm="auto"):
    return reference.conv2d_backward_weight_ref(x, g, kernel_size, stride, padding, dilation,
                                                groups)


def _backward_twin(x, w, g, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                   need_input=True, need_weight=True, algorithm="auto"):
    geom = (stride, padding, dilation, groups)
    return (reference.conv2d_backward_input_ref(g, w, x.shape[2:], *geom) if need_input
            else None,
            reference.conv2d_backward_weight_ref(x, g, w.shape[2:], *geom) if need_weight
            else None)


def _transpose_twin(x, w, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                    groups=1, out_size, algorithm="auto"):
    return reference.conv_transpose2d_forward_ref(x, w, bias, stride, padding, dilation, groups,
                                                  out_size)


TWINS = {
    "conv2d_forward": _forward_twin,
    "conv2d_backward": _backward_twin,
    "conv2d_backward_input": _backward_input_twin,
    "conv2d_backward_weight": _backward_weight_twin,
    "conv2d_bias_grad": lambda g: reference.conv2d_bias_grad_ref(g),
    "conv_transpose2d_forward": _transpose_twin,
}
