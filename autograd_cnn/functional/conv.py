"""Convolution and transposed convolution (PyTorch semantics and weight layouts).

conv2d is a cross-correlation, as in every deep-learning library:

    y[n, k, oy, ox] = b[k] + sum_{c, i, j} w[k, c, i, j] * x[n, g*C/G + c, oy*s + i*d - p, ox*s + j*d - p]

    x (N, C, H, W), w (K, C/G, kH, kW), b (K,)  ->  y (N, K, Ho, Wo)
    Ho = floor((H + 2p - d(kH - 1) - 1) / s) + 1     (same for Wo)

Its derivatives are convolutions too: dL/dx is the transposed convolution of dL/dy with w (each
output's gradient flows back to the pixels its window read), dL/dw[k, c, i, j] correlates dL/dy
with the input, and dL/db sums dL/dy over batch and positions.

conv_transpose2d(x, w) is exactly the dL/dx map of conv2d: it multiplies by the transpose of the
convolution matrix. w (Cin, Cout/G, kH, kW), and
    Ho = (H - 1)s - 2p + d(kH - 1) + output_padding + 1.

All arguments are checked here, before any kernel runs, with messages that say what was given
and what was expected; the arithmetic is in ``autograd_cnn.backend`` (Numba kernels).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..args import int_pair
from ..geometry import ConvGeometry
from .activation import relu_grad
from .base import ShapeError, Tensor, constant, ensure_tensor, graph_rule, make

__all__ = ["conv2d", "conv2d_relu", "conv_transpose2d"]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


# ---- argument checking ----------------------------------------------------------------------


def _groups(where: str, groups) -> int:
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)):
        raise TypeError(f"{where}: groups must be a positive int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{where}: groups must be a positive int, got {groups}")
    return int(groups)


def _check_dtypes(where: str, x: Tensor, w: Tensor, b) -> None:
    if x.dtype not in _FLOATS:
        raise TypeError(f"{where}: input has dtype {x.dtype}; convolution needs float32 or "
                        "float64 (convert with .float() or .double())")
    if w.dtype != x.dtype:
        raise TypeError(f"{where}: input is {x.dtype} but weight is {w.dtype}; convert one of "
                        "them so both have the same dtype")
    if b is not None and b.dtype != x.dtype:
        raise TypeError(f"{where}: input is {x.dtype} but bias is {b.dtype}; convert one of "
                        "them so both have the same dtype")


def _check_ndim(where: str, x: Tensor, w: Tensor, w_layout: str) -> None:
    if x.ndim not in (3, 4):
        raise ShapeError(f"{where}: expected a 4-D input (N, C, H, W) or a 3-D unbatched input "
                         f"(C, H, W), got shape {x.shape}")
    if w.ndim != 4:
        raise ShapeError(f"{where}: weight must be 4-D {w_layout}, got shape {w.shape}")


def _check_bias(where: str, b, channels: int) -> None:
    if b is not None and b.shape != (channels,):
        raise ShapeError(f"{where}: bias must have shape ({channels},), one entry per output "
                         f"channel, got {b.shape}")


def _as_batch(x: Tensor) -> tuple:
    """PyTorch accepts an unbatched (C, H, W) input: treat it as a batch of one."""
    if x.ndim == 3:
        return x.reshape(1, *x.shape), True
    return x, False


def _data(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t._data)


class ConvSaved(NamedTuple):
    """What a convolution node keeps for its backward: the checked geometry, and the input
    and weight arrays (C-contiguous) that its gradients read."""
    geometry: ConvGeometry
    x: np.ndarray
    w: np.ndarray


class ConvInputGradSaved(NamedTuple):
    """What a recorded conv2d input-gradient node (create_graph) keeps: the geometry and the
    input's (H, W)."""
    geometry: ConvGeometry
    in_size: tuple


class ConvWeightGradSaved(NamedTuple):
    """What a recorded conv2d weight-gradient node (create_graph) keeps: the geometry and the
    kernel's (kH, kW)."""
    geometry: ConvGeometry
    kernel_size: tuple


def _kernel(name: str):
    return backend.get_kernel("conv", name)


def _conv_geometry(where, in_hw, kernel, stride, padding, dilation, groups) -> ConvGeometry:
    """conv2d's checked geometry: pairs of ints, (top, left) padding, the output size."""
    stride = int_pair(stride, "stride", where, 1)
    dilation = int_pair(dilation, "dilation", where, 1)
    span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, kernel))   # dilated kernel extent
    if isinstance(padding, str):
        if padding == "valid":
            before = after = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{where}: padding='same' needs stride 1 (the output keeps the "
                                 f"input's size), got stride {stride}; give the padding as "
                                 "numbers instead")
            # the total padding span - 1; an odd total puts the extra row/column at the end
            before = tuple((s - 1) // 2 for s in span)
            after = tuple(s - 1 - p for s, p in zip(span, before))
        else:
            raise ValueError(f"{where}: padding must be 'same', 'valid', an int or a pair of "
                             f"ints, got {padding!r}")
    else:
        before = after = int_pair(padding, "padding", where, 0)
    padded = tuple(n + p + q for n, p, q in zip(in_hw, before, after))
    if any(s > n for s, n in zip(span, padded)):
        dil = "" if dilation == (1, 1) else f" (dilation {dilation} spreads it over " \
                                            f"{span[0]}x{span[1]})"
        raise ShapeError(f"{where}: kernel {kernel[0]}x{kernel[1]}{dil} is larger than the "
                         f"padded input {padded[0]}x{padded[1]} (input {in_hw[0]}x{in_hw[1]}, "
                         f"padding {before} before and {after} after); use a bigger input, more "
                         "padding or a smaller kernel")
    out = tuple((n - s) // st + 1 for n, s, st in zip(padded, span, stride))
    return ConvGeometry(stride, before, dilation, groups, tuple(kernel), tuple(in_hw), out)


# ---- conv2d ----------------------------------------------------------------------------------


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D convolution (cross-correlation) over an (N, C, H, W) or (C, H, W) input.

    weight (K, C/groups, kH, kW), bias (K,) or None; stride, dilation: int or (sh, sw);
    padding: int, (ph, pw), 'valid' (none) or 'same' (output size = input size, stride 1 only;
    with an even kernel the extra row/column of padding goes at the end, as in PyTorch).
    Returns (N, K, Ho, Wo), Ho = floor((H + 2p - dilation (kH - 1) - 1) / stride) + 1.
    """
    return _conv2d("conv2d", x, weight, bias, stride, padding, dilation, groups, False)


def conv2d_relu(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """relu(conv2d(x, weight, bias, ...)) as one op: the same arguments, values and gradients
    as the two calls, with the ReLU applied to each chunk of the output as the convolution
    writes it (in the kernel threads' shares, while it is in cache; the bias add of the
    algorithms that do not keep it in registers joins that pass) instead of in a pass and an
    array of its own. Not a PyTorch function: an extra of this library, which the zoo's
    conv + ReLU stages (VGG, AlexNet, lenet5-modern) use.
    Derivative: conv2d's, applied to gm = g where the output is > 0, else 0.
    Shapes: as conv2d."""
    return _conv2d("conv2d_relu", x, weight, bias, stride, padding, dilation, groups, True)


def _conv2d(where, x, weight, bias, stride, padding, dilation, groups, relu) -> Tensor:
    x = ensure_tensor(x, where)
    w = ensure_tensor(weight, where)
    b = None if bias is None else ensure_tensor(bias, where)
    _check_ndim(where, x, w, "(out_channels, in_channels/groups, kH, kW)")
    _check_dtypes(where, x, w, b)
    groups = _groups(where, groups)
    c_in, (k_out, cg) = x.shape[-3], w.shape[:2]
    if c_in % groups:
        raise ShapeError(f"{where}: input has {c_in} channels, not divisible by groups={groups}")
    if k_out % groups:
        raise ShapeError(f"{where}: weight has {k_out} output channels (weight shape {w.shape}),"
                         f" not divisible by groups={groups}")
    if c_in != cg * groups:
        grp = "" if groups == 1 else f", groups={groups}"
        raise ShapeError(f"{where}: input has {c_in} channels but weight expects {cg * groups} "
                         f"(weight shape {w.shape}{grp})")
    _check_bias(where, b, k_out)
    geom = _conv_geometry(where, x.shape[-2:], w.shape[2:], stride, padding, dilation, groups)
    x, unbatched = _as_batch(x)
    xd, wd = _data(x), _data(w)
    y = _kernel("conv2d_forward")(xd, wd, None if b is None else _data(b),
                                  out_size=geom.out_size, relu=relu, **geom.args)
    parents = (x, w) if b is None else (x, w, b)
    rule = _conv2d_relu_backward if relu else _conv2d_backward
    out = make(y, parents, where, rule, ConvSaved(geom, xd, wd))
    return out.reshape(*out.shape[1:]) if unbatched else out


def _conv2d_relu_backward(node, g):
    """ReLU's backward from the output (gm = g where y > 0), then conv2d's."""
    return _conv2d_backward(node, relu_grad(np.ascontiguousarray(g, dtype=node.dtype),
                                            node._data))


def _conv2d_backward(node, g):
    """dx: transposed convolution of g with w; dw: correlation of g with x; db: sum of g.
    Only the gradients whose input requires grad are computed."""
    saved = node._saved
    xd, wd = saved.x, saved.w
    x, w = node._parents[0], node._parents[1]
    g = np.ascontiguousarray(g, dtype=xd.dtype)
    dx = dw = None
    if x.requires_grad or w.requires_grad:
        dx, dw = _kernel("conv2d_backward")(xd, wd, g, need_input=x.requires_grad,
                                            need_weight=w.requires_grad,
                                            **saved.geometry.args)
    if len(node._parents) == 2:
        return dx, dw
    b = node._parents[2]
    return dx, dw, (_kernel("conv2d_bias_grad")(g) if b.requires_grad else None)


# ---- conv_transpose2d ------------------------------------------------------------------------


def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1) -> Tensor:
    """2-D transposed convolution ("deconvolution", fractionally strided convolution): the
    gradient of conv2d with respect to its input, used as a layer to upsample.

    x (N, Cin, H, W) or (Cin, H, W), weight (Cin, Cout/groups, kH, kW), bias (Cout,) or None.
    Returns (N, Cout, Ho, Wo), Ho = (H - 1) stride - 2 padding + dilation (kH - 1)
    + output_padding + 1. ``output_padding`` (< stride or < dilation) picks among the output
    sizes that a strided conv2d maps to the same H; it adds rows/columns at the end only.
    """
    where = "conv_transpose2d"
    x = ensure_tensor(x, where)
    w = ensure_tensor(weight, where)
    b = None if bias is None else ensure_tensor(bias, where)
    _check_ndim(where, x, w, "(in_channels, out_channels/groups, kH, kW)")
    _check_dtypes(where, x, w, b)
    groups = _groups(where, groups)
    c_in, (wc_in, cog) = x.shape[-3], w.shape[:2]
    if c_in % groups:
        raise ShapeError(f"{where}: input has {c_in} channels, not divisible by groups={groups}")
    if c_in != wc_in:
        grp = "" if groups == 1 else f", groups={groups}"
        raise ShapeError(f"{where}: input has {c_in} channels but weight expects {wc_in} "
                         f"(weight shape {w.shape}{grp})")
    _check_bias(where, b, cog * groups)
    if isinstance(padding, str):
        raise ValueError(f"{where}: padding must be an int or a pair of ints, got {padding!r} "
                         "(string paddings exist only for conv2d)")
    stride = int_pair(stride, "stride", where, 1)
    pad = int_pair(padding, "padding", where, 0)
    dilation = int_pair(dilation, "dilation", where, 1)
    out_pad = int_pair(output_padding, "output_padding", where, 0)
    for op, s, d in zip(out_pad, stride, dilation):
        if op >= max(s, d):
            raise ValueError(f"{where}: output_padding {out_pad} must be smaller than stride "
                             f"{stride} or dilation {dilation} in each dimension")
    in_hw = x.shape[-2:]
    out_size = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
                     zip(in_hw, stride, pad, dilation, w.shape[2:], out_pad))
    if any(o < 1 for o in out_size):
        raise ShapeError(f"{where}: output size would be {out_size[0]}x{out_size[1]} for input "
                         f"{in_hw[0]}x{in_hw[1]}, kernel {w.shape[2]}x{w.shape[3]}, stride "
                         f"{stride}, padding {pad}, dilation {dilation}, output_padding "
                         f"{out_pad}; it must be positive (reduce the padding)")
    x, unbatched = _as_batch(x)
    geom = ConvGeometry(stride, pad, dilation, groups, tuple(w.shape[2:]), tuple(in_hw),
                        out_size)
    xd, wd = _data(x), _data(w)
    y = _kernel("conv_transpose2d_forward")(xd, wd, None if b is None else _data(b),
                                            out_size=out_size, **geom.args)
    parents = (x, w) if b is None else (x, w, b)
    out = make(y, parents, "conv_transpose2d", _conv_transpose2d_backward,
               ConvSaved(geom, xd, wd))
    return out.reshape(*out.shape[1:]) if unbatched else out


def _conv_transpose2d_backward(node, g):
    """y = conv2d-backward-input(x, w), so dL/dx = conv2d(g, w) (same geometry) and dL/dw is
    conv2d's weight gradient with g as the convolution's input and x as its output gradient."""
    saved = node._saved
    geom, xd, wd = saved.geometry, saved.x, saved.w
    x, w = node._parents[0], node._parents[1]
    g = np.ascontiguousarray(g, dtype=xd.dtype)
    dx = (_kernel("conv2d_forward")(g, wd, None, out_size=xd.shape[2:], **geom.args)
          if x.requires_grad else None)
    dw = (_kernel("conv2d_backward_weight")(g, xd, kernel_size=wd.shape[2:], **geom.args)
          if w.requires_grad else None)
    if len(node._parents) == 2:
        return dx, dw
    b = node._parents[2]
    return dx, dw, (_kernel("conv2d_bias_grad")(g) if b.requires_grad else None)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------
# conv2d's gradients are bilinear: dx = G(g, w) and dw = W(x, g). Recorded as two ops of their
# own (with the forward's geometry), each differentiable in both arguments, the three ops
# (conv, G, W) close under differentiation: <W(x, g), h> = <conv(x, h), g> = <x, G(g, h)>.


def _conv_op(x: Tensor, w: Tensor, geom: ConvGeometry, out_size) -> Tensor:
    """conv2d of batched x with w and a given geometry (no argument checks: a rule's call)."""
    xd, wd = _data(x), _data(w)
    y = _kernel("conv2d_forward")(xd, wd, None, out_size=tuple(out_size), **geom.args)
    return make(y, (x, w), "conv2d", _conv2d_backward, ConvSaved(geom, xd, wd))


def _conv_input_grad(g: Tensor, w: Tensor, geom: ConvGeometry, in_size) -> Tensor:
    """G(g, w): dL/dx of conv2d, (N, K, Ho, Wo) -> (N, C, H, W)."""
    gx = _kernel("conv2d_backward_input")(_data(g), _data(w), in_size=tuple(in_size),
                                          **geom.args)
    return make(gx, (g, w), "conv2d_input_grad", _conv_input_grad_backward,
                ConvInputGradSaved(geom, tuple(in_size)))


def _conv_input_grad_backward(node, h):
    # <G(g, w), h> = <g, conv(h, w)> = <w, W(h, g)>
    geom = node._saved.geometry
    g, w = node._parents
    h = np.ascontiguousarray(h, dtype=g.dtype)
    dg = (_kernel("conv2d_forward")(h, _data(w), None, out_size=g.shape[2:], **geom.args)
          if g.requires_grad else None)
    dw = (_kernel("conv2d_backward_weight")(h, _data(g), kernel_size=w.shape[2:], **geom.args)
          if w.requires_grad else None)
    return dg, dw


def _conv_weight_grad(x: Tensor, g: Tensor, geom: ConvGeometry, kernel_size) -> Tensor:
    """W(x, g): dL/dw of conv2d, (K, C/groups, kH, kW)."""
    gw = _kernel("conv2d_backward_weight")(_data(x), _data(g), kernel_size=tuple(kernel_size),
                                           **geom.args)
    return make(gw, (x, g), "conv2d_weight_grad", _conv_weight_grad_backward,
                ConvWeightGradSaved(geom, tuple(kernel_size)))


def _conv_weight_grad_backward(node, h):
    # <W(x, g), h> = <x, G(g, h)> = <g, conv(x, h)>
    geom = node._saved.geometry
    x, g = node._parents
    h = np.ascontiguousarray(h, dtype=x.dtype)
    dx = (_kernel("conv2d_backward_input")(_data(g), h, in_size=x.shape[2:], **geom.args)
          if x.requires_grad else None)
    dg = (_kernel("conv2d_forward")(_data(x), h, None, out_size=g.shape[2:], **geom.args)
          if g.requires_grad else None)
    return dx, dg


@graph_rule(_conv2d_backward)
def _conv2d_graph(node, g):
    geom = node._saved.geometry
    x, w = node._parents[0], node._parents[1]
    dx = _conv_input_grad(g, w, geom, x.shape[2:]) if x.requires_grad else None
    dw = _conv_weight_grad(x, g, geom, w.shape[2:]) if w.requires_grad else None
    if len(node._parents) == 2:
        return dx, dw
    b = node._parents[2]
    return dx, dw, (g.sum(dim=(0, 2, 3)) if b.requires_grad else None)


@graph_rule(_conv2d_relu_backward)
def _conv2d_relu_graph(node, g):
    """ReLU's recorded rule (g times its constant mask), then conv2d's."""
    mask = relu_grad(np.ones(node.shape, g.dtype), node._data)
    return _conv2d_graph(node, g * constant(mask))


@graph_rule(_conv_input_grad_backward)
def _conv_input_grad_graph(node, h):
    geom = node._saved.geometry
    g, w = node._parents
    return (_conv_op(h, w, geom, g.shape[2:]) if g.requires_grad else None,
            _conv_weight_grad(h, g, geom, w.shape[2:]) if w.requires_grad else None)


@graph_rule(_conv_weight_grad_backward)
def _conv_weight_grad_graph(node, h):
    geom = node._saved.geometry
    x, g = node._parents
    return (_conv_input_grad(g, h, geom, x.shape[2:]) if x.requires_grad else None,
            _conv_op(x, h, geom, g.shape[2:]) if g.requires_grad else None)


@graph_rule(_conv_transpose2d_backward)
def _conv_transpose2d_graph(node, g):
    # y = G(x, w): dL/dx = conv(g, w), dL/dw = W(g, x)
    geom = node._saved.geometry
    x, w = node._parents[0], node._parents[1]
    dx = _conv_op(g, w, geom, x.shape[2:]) if x.requires_grad else None
    dw = _conv_weight_grad(g, x, geom, w.shape[2:]) if w.requires_grad else None
    if len(node._parents) == 2:
        return dx, dw
    b = node._parents[2]
    return dx, dw, (g.sum(dim=(0, 2, 3)) if b.requires_grad else None)
