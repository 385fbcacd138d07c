"""The one module that imports the kernels.

Each function here checks what it is given (dtype, shape, contiguity) and raises a readable
TypeError/ValueError instead of letting a Numba typing error or a silent wrong answer through;
then it calls the Numba kernel, or its plain-numpy reference twin (``kernels/reference.py``) when
the environment variable ``AUTOGRAD_CNN_REFERENCE=1`` is set (read at every call, so tests and
debugging sessions can switch).

Arrays in, new arrays out; nothing here knows about autograd. Geometry arguments are pairs of
ints: ``stride``, ``dilation``, ``padding`` = (top, left) and ``out_size`` / ``in_size`` =
(height, width); see ``kernels/conv.py``.
"""

from __future__ import annotations

import os

import numba
import numpy as np

# Process-wide: Numba's default OpenMP thread pool keeps its threads spinning after a parallel
# loop ends, and they then fight OpenBLAS's threads for this machine's two cores during the GEMM
# that follows (a Winograd convolution alternates the two): measured 4x slower than with
# Numba's own 'workqueue' pool, whose threads sleep. A user's explicit choice is kept.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"

from .kernels import conv as _conv          # noqa: E402  (after the threading choice)
from .kernels import reference as _ref      # noqa: E402

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def use_reference() -> bool:
    """True when AUTOGRAD_CNN_REFERENCE=1: every kernel call goes to its numpy twin."""
    return os.environ.get("AUTOGRAD_CNN_REFERENCE", "") == "1"


# ---- argument checks shared by all kernels ------------------------------------------------------


def _array(where: str, name: str, a, ndim: int, dtype=None) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{where}: {name} must be a numpy array, got {type(a).__name__}")
    if a.dtype not in _FLOATS:
        raise TypeError(f"{where}: {name} has dtype {a.dtype}; the kernels take float32 or "
                        "float64 (convert with .astype(np.float32))")
    if dtype is not None and a.dtype != dtype:
        raise TypeError(f"{where}: {name} has dtype {a.dtype} but the other operands are "
                        f"{dtype}; convert them to one dtype")
    if a.ndim != ndim:
        raise ValueError(f"{where}: {name} must be {ndim}-D, got shape {a.shape}")
    if not a.flags.c_contiguous:
        raise ValueError(f"{where}: {name} must be C-contiguous (pass np.ascontiguousarray"
                         f"({name}))")
    return a


def _pair(where: str, name: str, v, minimum: int) -> tuple:
    if (not isinstance(v, (tuple, list)) or len(v) != 2
            or any(isinstance(e, bool) or not isinstance(e, (int, np.integer)) for e in v)):
        raise TypeError(f"{where}: {name} must be a pair of ints, got {v!r}")
    if any(e < minimum for e in v):
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {tuple(v)}")
    return int(v[0]), int(v[1])


def _geometry(where, stride, padding, dilation, groups):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups!r}")
    return dict(stride=_pair(where, "stride", stride, 1),
                padding=_pair(where, "padding", padding, 0),
                dilation=_pair(where, "dilation", dilation, 1), groups=int(groups))


def _check_weight(where, w, c_in, groups):
    k_out, cg = w.shape[:2]
    if c_in != cg * groups:
        raise ValueError(f"{where}: input has {c_in} channels but weight expects {cg * groups} "
                         f"(weight shape {w.shape}, groups={groups})")
    if k_out % groups:
        raise ValueError(f"{where}: weight has {k_out} output channels, not divisible by "
                         f"groups={groups}")


def _check_bias(where, bias, k_out, dtype):
    if bias is None:
        return None
    _array(where, "bias", bias, 1, dtype)
    if bias.shape != (k_out,):
        raise ValueError(f"{where}: bias must have shape ({k_out},), got {bias.shape}")
    return bias


# =================================================================================================
# Convolution
# =================================================================================================


def conv2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                   groups=1, out_size):
    """y = x * w + b.  x (N, C, H, W), w (K, C/groups, KH, KW), bias (K,) or None
    -> (N, K, Ho, Wo) with (Ho, Wo) = out_size."""
    where = "conv2d_forward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    _check_weight(where, w, x.shape[1], geom["groups"])
    _check_bias(where, bias, w.shape[0], x.dtype)
    out_size = _pair(where, "out_size", out_size, 1)
    if use_reference():
        return _ref.conv2d_forward_ref(x, w, bias, geom["stride"], geom["padding"],
                                       geom["dilation"], geom["groups"], out_size)
    return _conv.conv2d_forward(x, w, bias, out_size=out_size, **geom)


def conv2d_backward(x, w, g, *, stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                    need_input=True, need_weight=True):
    """(dL/dx, dL/dw) of y = x * w given g = dL/dy, each None unless asked for.
    x (N, C, H, W), w (K, C/groups, KH, KW), g (N, K, Ho, Wo)."""
    where = "conv2d_backward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    _array(where, "g", g, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    _check_weight(where, w, x.shape[1], geom["groups"])
    if g.shape[:2] != (x.shape[0], w.shape[0]):
        raise ValueError(f"{where}: g has shape {g.shape}, expected ({x.shape[0]}, "
                         f"{w.shape[0]}, Ho, Wo) for x {x.shape} and w {w.shape}")
    if use_reference():
        s, p, d, grp = geom["stride"], geom["padding"], geom["dilation"], geom["groups"]
        dx = (_ref.conv2d_backward_input_ref(g, w, x.shape[2:], s, p, d, grp)
              if need_input else None)
        dw = (_ref.conv2d_backward_weight_ref(x, g, w.shape[2:], s, p, d, grp)
              if need_weight else None)
        return dx, dw
    return _conv.conv2d_backward(x, w, g, need_input=bool(need_input),
                                 need_weight=bool(need_weight), **geom)


def conv2d_backward_input(g, w, *, in_size, stride=(1, 1), padding=(0, 0), dilation=(1, 1),
                          groups=1):
    """dL/dx of y = x * w given g = dL/dy.  g (N, K, Ho, Wo) -> (N, C, H, W), (H, W) = in_size."""
    where = "conv2d_backward_input"
    _array(where, "g", g, 4)
    _array(where, "w", w, 4, g.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    in_size = _pair(where, "in_size", in_size, 1)
    if g.shape[1] != w.shape[0] or w.shape[0] % geom["groups"]:
        raise ValueError(f"{where}: g has {g.shape[1]} channels but w has {w.shape[0]} output "
                         f"channels (w shape {w.shape}, groups={geom['groups']})")
    if use_reference():
        return _ref.conv2d_backward_input_ref(g, w, in_size, geom["stride"], geom["padding"],
                                              geom["dilation"], geom["groups"])
    return _conv.conv2d_backward_input(g, w, in_size=in_size, **geom)


def conv2d_backward_weight(x, g, *, kernel_size, stride=(1, 1), padding=(0, 0),
                           dilation=(1, 1), groups=1):
    """dL/dw of y = x * w given g = dL/dy.  x (N, C, H, W), g (N, K, Ho, Wo) -> (K, C/groups, KH, KW)."""
    where = "conv2d_backward_weight"
    _array(where, "x", x, 4)
    _array(where, "g", g, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    kernel_size = _pair(where, "kernel_size", kernel_size, 1)
    grp = geom["groups"]
    if x.shape[0] != g.shape[0] or x.shape[1] % grp or g.shape[1] % grp:
        raise ValueError(f"{where}: x {x.shape} and g {g.shape} need the same batch size and "
                         f"channel counts divisible by groups={grp}")
    if use_reference():
        return _ref.conv2d_backward_weight_ref(x, g, kernel_size, geom["stride"],
                                               geom["padding"], geom["dilation"], grp)
    return _conv.conv2d_backward_weight(x, g, kernel_size=kernel_size, **geom)


def conv2d_bias_grad(g):
    """dL/db = g summed over batch and positions.  g (N, K, Ho, Wo) -> (K,)."""
    _array("conv2d_bias_grad", "g", g, 4)
    if use_reference():
        return _ref.conv2d_bias_grad_ref(g)
    return _conv.conv2d_bias_grad(g)


def conv_transpose2d_forward(x, w, bias=None, *, stride=(1, 1), padding=(0, 0),
                             dilation=(1, 1), groups=1, out_size):
    """Transposed convolution (the backward-input of a convolution with this geometry).
    x (N, Cin, H, W), w (Cin, Cout/groups, KH, KW), bias (Cout,) or None
    -> (N, Cout, Ho, Wo) with (Ho, Wo) = out_size (output_padding included)."""
    where = "conv_transpose2d_forward"
    _array(where, "x", x, 4)
    _array(where, "w", w, 4, x.dtype)
    geom = _geometry(where, stride, padding, dilation, groups)
    grp = geom["groups"]
    if x.shape[1] != w.shape[0] or w.shape[0] % grp:
        raise ValueError(f"{where}: input has {x.shape[1]} channels but weight expects "
                         f"{w.shape[0]} (weight shape {w.shape}, groups={grp})")
    _check_bias(where, bias, w.shape[1] * grp, x.dtype)
    out_size = _pair(where, "out_size", out_size, 1)
    if use_reference():
        return _ref.conv_transpose2d_forward_ref(x, w, bias, geom["stride"], geom["padding"],
                                                 geom["dilation"], grp, out_size)
    return _conv.conv_transpose2d_forward(x, w, bias, out_size=out_size, **geom)
