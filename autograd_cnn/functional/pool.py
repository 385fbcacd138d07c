"""Pooling, unpooling and upsampling, with PyTorch's signatures and semantics.

Input (N, C, H, W), or (C, H, W) for one image. For a window of size k, stride s, padding p and
dilation d along one spatial dim of size L, the output size is

    L_out = floor((L + 2p - d(k - 1) - 1) / s) + 1            (ceil instead of floor: ceil_mode)

where with ceil_mode the last window must still start inside the input or the left padding
(otherwise it is dropped), and p may be at most half the dilated kernel, (d(k - 1) + 1) / 2.

    max pooling      y = max over the window            dL/dx = g routed to the argmax ("switch")
    average pooling  y = sum over the window / divisor  dL/dx = g / divisor spread over the window
    max unpooling    y[switch] = x, zeros elsewhere     dL/dx = g read back at the switch
    interpolation    y = a fixed linear map of x        dL/dx = the transposed map applied to g

The loops live in ``kernels/`` (reached through ``autograd_cnn/backend.py``); this file checks
the arguments, computes the sizes and records the ops.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np

from .. import backend
from ..args import int_pair, int_value
from ..geometry import PoolGeometry
from ..engine import is_grad_enabled
from . import resize
from .base import Tensor, ensure_tensor, graph_rule, leaf, linear_map, make

__all__ = ["max_pool2d", "avg_pool2d", "adaptive_avg_pool2d", "adaptive_max_pool2d",
           "max_unpool2d", "interpolate"]


# ---- argument checking --------------------------------------------------------------------------


# sizes as args.int_pair reads them here: an int, (h, w) or (k,); errors in pooling's wording
_POOL_PAIR = dict(allow_single=True, wording="element")


def _input4d(x, where: str) -> tuple[Tensor, np.ndarray, bool]:
    """The tensor, its data as contiguous (N, C, H, W), and whether a batch dim was added."""
    x = ensure_tensor(x, where)
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: expected a 4-D (N, C, H, W) or 3-D (C, H, W) input, got "
                         f"shape {x.shape}")
    if x.dtype not in backend.FLOAT_DTYPES:
        raise TypeError(f"{where}: expected a float32 or float64 input, got {x.dtype} "
                        "(convert with .float() or .double())")
    if x.shape[-1] == 0 or x.shape[-2] == 0 or x.shape[-3] == 0:
        raise ValueError(f"{where}: input has an empty channel or spatial dim: shape {x.shape}")
    data = np.ascontiguousarray(x._data)
    unbatched = x.ndim == 3
    return x, (data[None] if unbatched else data), unbatched


def _out(data: np.ndarray, unbatched: bool) -> np.ndarray:
    return data[0] if unbatched else data


def _grad4d(g, node) -> np.ndarray:
    """The incoming gradient as contiguous (N, C, Ho, Wo) in the output's dtype."""
    g = np.ascontiguousarray(g, dtype=node._data.dtype)
    return g.reshape((1,) + g.shape) if g.ndim == 3 else g


def _output_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size along one dim (may be < 1: the caller reports it)."""
    out = (size + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1                     # the last window would start in the right padding
    return out


class MaxPoolSaved(NamedTuple):
    """What a max-pooling node keeps: the switches (int64 flat h*W + w per (N, C) plane) and
    the input's (H, W)."""
    indices: np.ndarray
    in_size: tuple


class AvgPoolSaved(NamedTuple):
    """What an average-pooling node keeps: the input's (H, W) and the checked window."""
    in_size: tuple
    kernel_size: tuple
    stride: tuple
    padding: tuple
    count_include_pad: bool
    divisor_override: int           # 0: none


class AdaptiveAvgPoolSaved(NamedTuple):
    """What an adaptive average-pooling node keeps: the input's (H, W)."""
    in_size: tuple


class MaxUnpoolSaved(NamedTuple):
    """What a max-unpooling node keeps: the switches as contiguous int64 (N, C, H, W)."""
    indices: np.ndarray


class NearestSaved(NamedTuple):
    """What a nearest-neighbour interpolation node keeps: the input's (H, W) and the scales
    the kernel used ((None, None): in/out)."""
    in_size: tuple
    scales: tuple


class BilinearSaved(NamedTuple):
    """What a bilinear interpolation node keeps: the input's (H, W), align_corners, the
    scales."""
    in_size: tuple
    align_corners: bool
    scales: tuple


def _pool(name: str):
    """The pooling kernel ``name``: the arguments were checked here, once (a PoolGeometry)."""
    return backend.get_kernel("pool", name)


def _pool_args(where, x4, kernel_size, stride, padding, dilation, ceil_mode) -> PoolGeometry:
    """The checked window geometry: kernel, stride, padding, dilation, (Ho, Wo) as pairs."""
    k = int_pair(kernel_size, "kernel_size", where, 1, **_POOL_PAIR)
    s = k if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0) \
        else int_pair(stride, "stride", where, 1, **_POOL_PAIR)
    p = int_pair(padding, "padding", where, 0, **_POOL_PAIR)
    d = int_pair(dilation, "dilation", where, 1, **_POOL_PAIR)
    ext = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)       # the dilated kernel's extent
    if p[0] > ext[0] // 2 or p[1] > ext[1] // 2:
        raise ValueError(f"{where}: padding {p} must be at most half the (dilated) kernel size "
                         f"{ext}, i.e. at most ({ext[0] // 2}, {ext[1] // 2}); got "
                         f"kernel_size {k}, dilation {d}")
    H, W = x4.shape[2:]
    out = (_output_size(H, k[0], s[0], p[0], d[0], ceil_mode),
           _output_size(W, k[1], s[1], p[1], d[1], ceil_mode))
    if min(out) < 1:
        dil = f" and dilation {d}" if d != (1, 1) else ""
        raise ValueError(
            f"{where}: the kernel (extent {ext[0]}x{ext[1]} with kernel_size {k}{dil}) is larger "
            f"than the padded input ({H + 2 * p[0]}x{W + 2 * p[1]}: input {H}x{W}, padding {p}); "
            f"the output would be {out[0]}x{out[1]}. Use a smaller kernel_size, more padding, "
            "or a larger input")
    return PoolGeometry(k, s, p, d, (H, W), out)


def _check_windows_hit_input(where, size, out, k, s, p, d, axis):
    """Every max-pooling window must hold an input element (with dilation, a window can
    otherwise fall entirely on padding; PyTorch then returns -inf with a bogus switch).
    Without dilation it always does: padding < kernel and every window starts before the end
    of the input (the output-size rule), so the check is skipped."""
    if d == 1:
        return
    starts = np.arange(out)[:, None] * s - p + d * np.arange(k)[None, :]
    inside = ((starts >= 0) & (starts < size)).any(axis=1)
    if not inside.all():
        o = int(np.argmin(inside))
        raise ValueError(f"{where}: window {o} along {axis} covers only padding (kernel {k}, "
                         f"stride {s}, padding {p}, dilation {d}, input size {size}); "
                         "reduce padding or dilation")


# ---- max pooling --------------------------------------------------------------------------------


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """y[n, c, i, j] = max over the window of x (taps in the padding are ignored).

    dL/dx: each output's gradient goes to the input element that won its window (the first
    maximum in row-major window order); overlapping windows add up.
    Shapes: (N, C, H, W) -> (N, C, Ho, Wo) with the output-size formula in the module docstring.
    return_indices=True also returns the switches: int64 flat positions h*W + w in each (N, C)
    plane, which ``max_unpool2d`` accepts.
    """
    where = "max_pool2d"
    x, x4, unbatched = _input4d(x, where)
    geom = _pool_args(where, x4, kernel_size, stride, padding, dilation, bool(ceil_mode))
    for axis in (0, 1):
        _check_windows_hit_input(where, geom.in_size[axis], geom.out_size[axis],
                                 geom.kernel_size[axis], geom.stride[axis], geom.padding[axis],
                                 geom.dilation[axis], "HW"[axis])
    need_switches = return_indices or (x.requires_grad and is_grad_enabled())
    y, idx = _pool("max_pool2d_forward")(x4, *geom.kernel_ints, bool(need_switches))
    # (N, C, H, W) -> (N, C, Ho, Wo)
    out = make(_out(y, unbatched), (x,), "max_pool2d", _max_pool_backward,
               MaxPoolSaved(idx, geom.in_size) if need_switches else None)
    if return_indices:
        return out, leaf(_out(idx, unbatched))
    return out


def _max_pool_backward(node, g):
    saved = node._saved
    gx = _pool("max_pool2d_backward")(_grad4d(g, node), saved.indices, *saved.in_size)
    return (gx.reshape(node._parents[0].shape),)


def adaptive_max_pool2d(x, output_size, return_indices=False):
    """Max over adaptive windows: output row i covers input rows floor(i*H/Ho) to
    ceil((i+1)*H/Ho) - 1 (likewise for columns), so any H, W pool to (Ho, Wo).
    dL/dx: as max_pool2d. Shapes: (N, C, H, W) -> (N, C, Ho, Wo)."""
    where = "adaptive_max_pool2d"
    x, x4, unbatched = _input4d(x, where)
    out_hw = _adaptive_size(where, output_size, x4.shape[2:])
    y, idx = _pool("adaptive_max_pool2d_forward")(x4, *out_hw)
    out = make(_out(y, unbatched), (x,), where, _max_pool_backward,
               MaxPoolSaved(idx, x4.shape[2:]))
    if return_indices:
        return out, leaf(_out(idx, unbatched))
    return out


# ---- average pooling ----------------------------------------------------------------------------


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y = (sum of the window) / divisor, padding counting as zeros.

    divisor: ``divisor_override`` if given; else the window size clipped to the padded input
    (count_include_pad=True) or the number of real input elements in the window.
    dL/dx[h, w] = sum over the windows containing (h, w) of g / divisor.
    Shapes: (N, C, H, W) -> (N, C, Ho, Wo), output size as in the module docstring (d = 1).
    """
    where = "avg_pool2d"
    x, x4, unbatched = _input4d(x, where)
    geom = _pool_args(where, x4, kernel_size, stride, padding, 1, bool(ceil_mode))
    k, s, p, out_hw = geom.kernel_size, geom.stride, geom.padding, geom.out_size
    div = 0
    if divisor_override is not None:
        div = int_value(divisor_override, "divisor_override", where)
        if div == 0:
            raise ValueError(f"{where}: divisor_override must be non-zero, got 0")
    y = _pool("avg_pool2d_forward")(x4, *k, *s, *p, *out_hw, bool(count_include_pad), div)
    # (N, C, H, W) -> (N, C, Ho, Wo)
    return make(_out(y, unbatched), (x,), where, _avg_pool_backward,
                AvgPoolSaved(geom.in_size, k, s, p, bool(count_include_pad), div))


def _avg_pool_backward(node, g):
    sv = node._saved
    gx = _pool("avg_pool2d_backward")(_grad4d(g, node), *sv.in_size, *sv.kernel_size, *sv.stride,
                                      *sv.padding, sv.count_include_pad, sv.divisor_override)
    return (gx.reshape(node._parents[0].shape),)


def _adaptive_size(where, output_size, in_hw):
    """(Ho, Wo) from an int or a pair whose entries may be None (keep the input's size)."""
    if isinstance(output_size, (list, tuple)):
        if len(output_size) not in (1, 2):
            raise ValueError(f"{where}: output_size must be an int or a pair, got "
                             f"{output_size!r}")
        sizes = tuple(output_size) * (2 if len(output_size) == 1 else 1)
    else:
        sizes = (output_size, output_size)
    out = tuple(in_hw[i] if v is None else
                int_value(v, "output_size", where, "an int, None or a pair of them")
                for i, v in enumerate(sizes))
    if min(out) < 1:
        raise ValueError(f"{where}: output_size must be positive, got {output_size!r}")
    return out


def adaptive_avg_pool2d(x, output_size):
    """Average over adaptive windows (rows floor(i*H/Ho) .. ceil((i+1)*H/Ho) - 1, likewise
    columns): any H, W pool to (Ho, Wo); output_size 1 is global average pooling.
    dL/dx: g / window size over each window. Shapes: (N, C, H, W) -> (N, C, Ho, Wo)."""
    where = "adaptive_avg_pool2d"
    x, x4, unbatched = _input4d(x, where)
    out_hw = _adaptive_size(where, output_size, x4.shape[2:])
    y = _pool("adaptive_avg_pool2d_forward")(x4, *out_hw)
    return make(_out(y, unbatched), (x,), where, _adaptive_avg_backward,
                AdaptiveAvgPoolSaved(x4.shape[2:]))


def _adaptive_avg_backward(node, g):
    gx = _pool("adaptive_avg_pool2d_backward")(_grad4d(g, node), *node._saved.in_size)
    return (gx.reshape(node._parents[0].shape),)


# ---- max unpooling ------------------------------------------------------------------------------


def _unpool_size(where, in_hw, k, s, p, output_size):
    """PyTorch's rule: default (H - 1)*s - 2p + k; a given output_size (h, w) or
    (N, C, h, w) must lie strictly within one stride of it."""
    default = tuple((in_hw[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(2))
    if output_size is None:
        out = default
    else:
        sizes = list(output_size.shape if isinstance(output_size, Tensor) else output_size)
        if len(sizes) in (3, 4):
            sizes = sizes[-2:]
        if len(sizes) != 2:
            raise ValueError(f"{where}: output_size must be (H, W) or (N, C, H, W), got "
                             f"{output_size!r}")
        out = tuple(int_value(v, "output_size", where) for v in sizes)
        for i in range(2):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < out[i] < hi:
                raise ValueError(f"{where}: invalid output_size {tuple(out)}: dim {i} must be "
                                 f"between {lo} and {hi} (exclusive) for input size {in_hw}, "
                                 f"kernel {k}, stride {s}, padding {p}")
    if min(out) < 1:
        raise ValueError(f"{where}: the output would be {out[0]}x{out[1]} (input {in_hw}, "
                         f"kernel {k}, stride {s}, padding {p}); it must be at least 1x1")
    return out


def max_unpool2d(x, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max pooling: y is zero except y[switch] = x, where the switches
    are the indices ``max_pool2d(..., return_indices=True)`` returned.
    dL/dx = g read back at the switches; indices get no gradient.
    Shapes: x and indices (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H - 1)*stride - 2*padding +
    kernel_size unless output_size says otherwise."""
    where = "max_unpool2d"
    x, x4, unbatched = _input4d(x, where)
    if isinstance(indices, Tensor):
        ind = indices._data
    elif isinstance(indices, np.ndarray):
        ind = indices
    else:
        raise TypeError(f"{where}: indices must be a Tensor, got {type(indices).__name__}")
    if ind.dtype.kind not in "iu":
        raise TypeError(f"{where}: indices must be an integer tensor (as returned by "
                        f"max_pool2d(..., return_indices=True)), got {ind.dtype}")
    if ind.shape != x.shape:
        raise ValueError(f"{where}: indices have shape {ind.shape} but the input has shape "
                         f"{x.shape}; they must match")
    ind4 = np.ascontiguousarray(ind, dtype=np.int64)
    ind4 = ind4[None] if unbatched else ind4
    k = int_pair(kernel_size, "kernel_size", where, **_POOL_PAIR)
    s = k if stride is None else int_pair(stride, "stride", where, **_POOL_PAIR)
    p = int_pair(padding, "padding", where, **_POOL_PAIR)
    if min(k) < 1 or min(s) < 1 or min(p) < 0:
        raise ValueError(f"{where}: kernel_size and stride must be positive and padding "
                         f"non-negative, got kernel_size {k}, stride {s}, padding {p}")
    out_hw = _unpool_size(where, x4.shape[2:], k, s, p, output_size)
    y = backend.max_unpool2d(x4, ind4, out_hw)
    # (N, C, H, W) -> (N, C, Ho, Wo)
    return make(_out(y, unbatched), (x,), where, _max_unpool_backward, MaxUnpoolSaved(ind4))


def _max_unpool_backward(node, g):
    gx = _pool("max_unpool2d_backward")(_grad4d(g, node), node._saved.indices)
    return (gx.reshape(node._parents[0].shape),)


# ---- interpolation ------------------------------------------------------------------------------

_MODES = ("nearest", "bilinear", "nearest-exact", "bicubic", "linear")
_MODES_1D = ("nearest", "nearest-exact", "linear")
_MODES_2D = ("nearest", "nearest-exact", "bilinear", "bicubic")


def _interp_sizes(where, in_hw, size, scale_factor, recompute_scale_factor):
    """(Ho, Wo) and the scales the kernels use (None: use in/out), as PyTorch computes them."""
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{where}: give exactly one of size and scale_factor, got size={size!r}"
                         f", scale_factor={scale_factor!r}")
    if size is not None:
        return int_pair(size, "size", where, 1, **_POOL_PAIR), (None, None)
    scales = scale_factor if isinstance(scale_factor, (list, tuple)) else (scale_factor,) * 2
    if len(scales) != 2:
        raise ValueError(f"{where}: scale_factor must be a number or a pair, got "
                         f"{scale_factor!r}")
    for v in scales:
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{where}: scale_factor must be a number or a pair of numbers, got "
                            f"{scale_factor!r}")
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"{where}: scale_factor must be finite and positive, got "
                             f"{scale_factor!r}")
    out = tuple(int(math.floor(float(in_hw[i]) * float(scales[i]))) for i in range(2))
    if min(out) < 1:
        raise ValueError(f"{where}: scale_factor {scale_factor!r} turns the input size "
                         f"{tuple(in_hw)} into {out}; the output must be at least 1x1")
    if recompute_scale_factor:
        return out, (None, None)
    return out, tuple(float(v) for v in scales)


def interpolate(x, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial dims: (N, C, H, W) -> (N, C, Ho, Wo), with Ho, Wo = size or
    floor(H * scale_factor), floor(W * scale_factor); (N, C, L) -> (N, C, Lo) likewise.
    Modes 'nearest-exact', 'bicubic', 'linear' (1-D) and every 1-D input: resize.py.

    nearest:   y[i, j] = x[floor(i * H/Ho), floor(j * W/Wo)] (with the given scale_factor
               in place of Ho/H unless recompute_scale_factor)
    bilinear:  each output is a weighted mean of the 4 nearest input pixels; source coordinate
               i * (H-1)/(Ho-1) (align_corners=True) or (i + 0.5) * H/Ho - 0.5 (False, default)
    Both are linear in x; dL/dx applies the transposed map to g (each output's gradient goes
    back to the pixels it read, with the same weights).
    """
    where = "interpolate"
    if mode not in _MODES:
        raise ValueError(f"{where}: mode must be one of {_MODES}, got {mode!r}")
    if align_corners is not None and mode not in ("linear", "bilinear", "bicubic"):
        raise ValueError(f"{where}: align_corners can only be set with the interpolating modes "
                         f"'linear', 'bilinear' and 'bicubic', got mode={mode!r}")
    x = ensure_tensor(x, where)
    if x.ndim == 3:                          # (N, C, L): 1-D resizing, as in PyTorch
        if mode not in _MODES_1D:
            raise ValueError(f"{where}: mode {mode!r} needs a 4-D (N, C, H, W) input; a 3-D "
                             f"input (N, C, L) is resized in 1-D with one of {_MODES_1D}")
        if x.dtype not in backend.FLOAT_DTYPES:
            raise TypeError(f"{where}: expected a float32 or float64 input, got {x.dtype}")
        out_l, scales = resize.sizes_1d(where, x.shape[2], size, scale_factor,
                                        recompute_scale_factor)
        return resize.separable_resize(x, np.ascontiguousarray(x._data), out_l, mode,
                                       bool(align_corners), scales)
    if x.ndim != 4:
        raise ValueError(f"{where}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got "
                         f"shape {x.shape}")
    if mode not in _MODES_2D:
        raise ValueError(f"{where}: mode {mode!r} resizes 3-D (N, C, L) inputs; a 4-D input "
                         f"needs one of {_MODES_2D}")
    x, x4, unbatched = _input4d(x, where)
    out_hw, scales = _interp_sizes(where, x4.shape[2:], size, scale_factor,
                                   recompute_scale_factor)
    if mode in ("nearest-exact", "bicubic"):
        return resize.separable_resize(x, x4, out_hw, mode, bool(align_corners), scales)
    if mode == "nearest":
        y = backend.interpolate_nearest(x4, out_hw, scales)
        return make(y, (x,), "interpolate_nearest", _nearest_backward,
                    NearestSaved(x4.shape[2:], scales))
    corners = bool(align_corners)
    y = backend.interpolate_bilinear(x4, out_hw, corners, scales)
    return make(y, (x,), "interpolate_bilinear", _bilinear_backward,
                BilinearSaved(x4.shape[2:], corners, scales))


def _nearest_backward(node, g):
    sv = node._saved
    return (backend.interpolate_nearest_backward(_grad4d(g, node), sv.in_size, sv.scales),)


def _bilinear_backward(node, g):
    sv = node._saved
    return (backend.interpolate_bilinear_backward(_grad4d(g, node), sv.in_size, sv.align_corners,
                                                  sv.scales),)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------
# Pooling's backward is linear in the gradient: recorded through ``linear_map``, whose adjoint
# is the forward pool itself (for max pooling: picking the switches' positions).


def _as4d(h: np.ndarray, like: np.ndarray) -> np.ndarray:
    h = np.ascontiguousarray(h, dtype=like.dtype)
    return h.reshape((1,) + h.shape) if h.ndim == 3 else h


@graph_rule(_max_pool_backward)
def _max_pool_graph(node, g):
    idx = node._saved.indices

    def pick(h):                        # the adjoint: h at the winners, (N, C, Ho, Wo)
        h4 = _as4d(h, node._data)
        n, c = h4.shape[:2]
        flat = np.take_along_axis(h4.reshape(n, c, -1), idx.reshape(n, c, -1), axis=2)
        return flat.reshape(node.shape)
    return (linear_map(g, lambda a: _max_pool_backward(node, a)[0], pick, "max_pool_scatter"),)


@graph_rule(_avg_pool_backward)
def _avg_pool_graph(node, g):
    sv = node._saved
    out_hw = node.shape[-2:]

    def pool(h):
        return _pool("avg_pool2d_forward")(_as4d(h, node._data), *sv.kernel_size, *sv.stride,
                                           *sv.padding, *out_hw, sv.count_include_pad,
                                           sv.divisor_override).reshape(node.shape)
    return (linear_map(g, lambda a: _avg_pool_backward(node, a)[0], pool, "avg_pool_spread"),)


@graph_rule(_adaptive_avg_backward)
def _adaptive_avg_graph(node, g):
    out_hw = node.shape[-2:]

    def pool(h):
        return _pool("adaptive_avg_pool2d_forward")(_as4d(h, node._data),
                                                    *out_hw).reshape(node.shape)
    return (linear_map(g, lambda a: _adaptive_avg_backward(node, a)[0], pool,
                       "adaptive_avg_spread"),)


@graph_rule(_max_unpool_backward)
def _max_unpool_graph(node, g):
    ind4 = node._saved.indices
    out_hw = node.shape[-2:]

    def place(h):                       # the adjoint: unpool h to the output's positions
        return _pool("max_unpool2d_forward")(_as4d(h, node._data), ind4,
                                             *out_hw).reshape(node.shape)
    return (linear_map(g, lambda a: _max_unpool_backward(node, a)[0], place,
                       "max_unpool_gather"),)


@graph_rule(_nearest_backward)
def _nearest_graph(node, g):
    scales = node._saved.scales
    out_hw = node.shape[-2:]

    def resample(h):
        return backend.interpolate_nearest(_as4d(h, node._data), out_hw, scales)
    return (linear_map(g, lambda a: _nearest_backward(node, a)[0], resample, "nearest_sum"),)


@graph_rule(_bilinear_backward)
def _bilinear_graph(node, g):
    corners, scales = node._saved.align_corners, node._saved.scales
    out_hw = node.shape[-2:]

    def resample(h):
        return backend.interpolate_bilinear(_as4d(h, node._data), out_hw, corners, scales)
    return (linear_map(g, lambda a: _bilinear_backward(node, a)[0], resample, "bilinear_sum"),)
