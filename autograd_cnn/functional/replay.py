"""The replays of the ops a captured step can repeat (``autograd_cnn/capture.py``).

A replay builder gets one eager call's arguments (already checked by the op itself) and returns
a ``Replay``: the call's tensor operands and two array functions with everything else fixed:

    forward(*arrays)       -> (output array, ctx)      the op's kernels, no checks, no Tensor
    backward(ctx, g, needs) -> one gradient per operand (None where ``needs`` says none)

Each does exactly what the op's forward and backward rule do, with the same kernels in the same
order (``tests/test_capture.py`` compares them bit for bit); a call the builder does not cover
raises ``Unsupported`` and the step runs eagerly. A new op becomes capturable by a builder here.
"""

from __future__ import annotations

import numpy as np

from .. import backend, engine
from ..engine import sum_to_shape
from ..capture import Replay, Unsupported, replays
from ..tensor import Tensor
from . import activation, conv, elementwise, linalg, loss, pool, shape
from .activation import kernel_ready, relu_grad


def _tensor(args: dict, name: str) -> Tensor:
    t = args[name]
    if not isinstance(t, Tensor):
        raise Unsupported(f"{name} is a {type(t).__name__}, not a tensor")
    return t


def _float(t: Tensor, name: str) -> Tensor:
    if t.dtype.kind != "f":
        raise Unsupported(f"{name} is {t.dtype}: the op converts it first")
    return t


def _batched(t: Tensor, name: str) -> Tensor:
    if t.ndim != 4:
        raise Unsupported(f"{name} has shape {t.shape}: only (N, C, H, W) inputs are replayed")
    return t


def _elementwise(forward, grad):
    """y = f(x) whose gradient reads the output: ctx is y."""
    def fwd(x):
        y = forward(x)
        return y, y
    return fwd, lambda y, g, needs: (grad(g, y),)


# ---- convolution and pooling --------------------------------------------------------------------


@replays(conv.conv2d)
def _conv2d(a, out):
    return _convolution(a, "conv2d", False)


@replays(conv.conv2d_relu)
def _conv2d_relu(a, out):
    return _convolution(a, "conv2d_relu", True)


def _convolution(a, where: str, relu: bool) -> Replay:
    """conv2d's replay, with conv2d_relu's ReLU (in the kernel, its mask from the output) when
    ``relu``."""
    x, w = _batched(_tensor(a, "x"), "x"), _tensor(a, "weight")
    b = a["bias"]
    if b is not None:
        b = _tensor(a, "bias")
    geom = conv._conv_geometry(where, x.shape[-2:], w.shape[2:], a["stride"], a["padding"],
                               a["dilation"], int(a["groups"]))
    forward, backward = conv._kernel("conv2d_forward"), conv._kernel("conv2d_backward")
    bias_grad = conv._kernel("conv2d_bias_grad")

    def fwd(xd, wd, bd=None):
        xd, wd = np.ascontiguousarray(xd), np.ascontiguousarray(wd)
        y = forward(xd, wd, None if bd is None else np.ascontiguousarray(bd),
                    out_size=geom.out_size, relu=relu, **geom.args)
        return y, (xd, wd, y if relu else None)     # the ReLU's mask is read from y

    def bwd(ctx, g, needs):
        xd, wd, y = ctx
        g = np.ascontiguousarray(g, dtype=xd.dtype)
        if relu:
            g = relu_grad(g, y)
        dx = dw = None
        if needs[0] or needs[1]:
            dx, dw = backward(xd, wd, g, need_input=needs[0], need_weight=needs[1],
                              **geom.args)
        if len(needs) == 2:
            return dx, dw
        return dx, dw, (bias_grad(g) if needs[2] else None)

    return Replay((x, w) if b is None else (x, w, b), fwd, bwd)


@replays(pool.max_pool2d)
def _max_pool2d(a, out):
    x = _batched(_float(_tensor(a, "x"), "x"), "x")
    if a["return_indices"]:
        raise Unsupported("return_indices=True returns two tensors")
    geom = pool._pool_args("max_pool2d", x, a["kernel_size"], a["stride"], a["padding"],
                           a["dilation"], bool(a["ceil_mode"]))
    forward, backward = pool._pool("max_pool2d_forward"), pool._pool("max_pool2d_backward")
    in_hw, kernel_ints, dtype = geom.in_size, geom.kernel_ints, x.dtype
    switches = x.requires_grad and engine._state.grad_enabled      # as the eager call did

    def fwd(xd):
        y, idx = forward(np.ascontiguousarray(xd), *kernel_ints, switches)
        return y, idx

    def bwd(idx, g, needs):
        return (backward(np.ascontiguousarray(g, dtype=dtype), idx, *in_hw),)

    return Replay((x,), fwd, bwd)


@replays(pool.avg_pool2d)
def _avg_pool2d(a, out):
    x = _batched(_float(_tensor(a, "x"), "x"), "x")
    geom = pool._pool_args("avg_pool2d", x, a["kernel_size"], a["stride"], a["padding"], 1,
                           bool(a["ceil_mode"]))
    k, s, p, out_hw = geom.kernel_size, geom.stride, geom.padding, geom.out_size
    div = 0 if a["divisor_override"] is None else int(a["divisor_override"])
    include = bool(a["count_include_pad"])
    forward, backward = pool._pool("avg_pool2d_forward"), pool._pool("avg_pool2d_backward")
    in_hw = geom.in_size

    def fwd(xd):
        return forward(np.ascontiguousarray(xd), *k, *s, *p, *out_hw, include, div), None

    def bwd(ctx, g, needs):
        g = np.ascontiguousarray(g)
        return (backward(g, *in_hw, *k, *s, *p, include, div),)

    return Replay((x,), fwd, bwd)


# ---- matrix products --------------------------------------------------------------------------


@replays(linalg.linear)
def _linear(a, out):
    x, w = _tensor(a, "x"), _tensor(a, "weight")
    b = None if a["bias"] is None else _tensor(a, "bias")
    x_shape, out_shape = x.shape, out.shape
    two = linalg._two_matrices(x._data.reshape(-1, x.shape[-1]), w._data)
    mm = linalg._mm

    def fwd(xd, wd, bd=None):
        x2 = xd.reshape(-1, x_shape[-1])
        y = backend.gemm(x2, wd, False, True) if two else x2 @ wd.T
        y = y.reshape(out_shape)
        if bd is not None:
            y += bd
        return y, (xd, wd)

    def bwd(ctx, g, needs):
        xd, wd = ctx
        g2 = g.reshape(-1, g.shape[-1])
        gx = mm(g2, wd).reshape(x_shape) if needs[0] else None
        gw = mm(g2, xd.reshape(-1, x_shape[-1]), transpose_a=True) if needs[1] else None
        if len(needs) == 2:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if needs[2] else None)

    return Replay((x, w) if b is None else (x, w, b), fwd, bwd)


# ---- activations --------------------------------------------------------------------------------


def _relu_forward(d):
    return backend.get_kernel("elementwise", "relu")(d) if kernel_ready(d) else np.maximum(d, 0)


def _tanh_grad(g, t):
    if kernel_ready(g, t):
        return backend.get_kernel("elementwise", "tanh_backward")(g, t)
    return g * (1 - t * t)


@replays(activation.relu)
def _relu(a, out):
    return Replay((_tensor(a, "x"),), *_elementwise(_relu_forward, relu_grad))


@replays(activation.tanh)
def _tanh(a, out):
    return Replay((_float(_tensor(a, "x"), "x"),), *_elementwise(np.tanh, _tanh_grad))


@replays(activation.sigmoid)
def _sigmoid(a, out):
    return Replay((_float(_tensor(a, "x"), "x"),),
                  *_elementwise(activation._sigmoid, lambda g, s: g * s * (1 - s)))


# ---- arithmetic: tensor with tensor (one dtype, shapes broadcast), or with a Python number -------


def _binary(a, out, forward, grads) -> Replay:
    """y = forward(a, b); grads(g, ad, bd, needs) -> (da, db) before undoing broadcasting."""
    x, y = a["a"], a["b"]
    if isinstance(x, Tensor) and isinstance(y, Tensor):
        if x.dtype != y.dtype:
            raise Unsupported(f"operands are {x.dtype} and {y.dtype}: the op converts them")
        shapes = (x.shape, y.shape)

        def bwd(ctx, g, needs):
            da, db = grads(g, ctx[0], ctx[1], needs)
            return (sum_to_shape(da, shapes[0]) if needs[0] else None,
                    sum_to_shape(db, shapes[1]) if needs[1] else None)
        return Replay((x, y), lambda ad, bd: (forward(ad, bd), (ad, bd)), bwd)
    t, c, first = (x, y, True) if isinstance(x, Tensor) else (y, x, False)
    if not isinstance(t, Tensor) or t.dtype.kind != "f" or isinstance(c, bool) or \
            not isinstance(c, (int, float)):
        raise Unsupported("only a float tensor with a Python number is replayed")
    c = np.asarray(c, dtype=t.dtype)        # as ``operands`` makes it

    def fwd(d):
        return (forward(d, c) if first else forward(c, d)), d

    def bwd_c(d, g, needs):
        da, db = grads(g, d, c, needs + (False,)) if first else grads(g, c, d, (False,) + needs)
        return ((da if first else db),)
    return Replay((t,), fwd, bwd_c)


@replays(elementwise.add)
def _add(a, out):
    return _binary(a, out, np.add, lambda g, ad, bd, needs: (g, g))


@replays(elementwise.sub)
def _sub(a, out):
    return _binary(a, out, np.subtract, lambda g, ad, bd, needs: (g, -g if needs[1] else None))


@replays(elementwise.mul)
def _mul(a, out):
    return _binary(a, out, np.multiply, lambda g, ad, bd, needs: (g * bd if needs[0] else None,
                                                                 g * ad if needs[1] else None))


# ---- shapes -------------------------------------------------------------------------------------


def _reshaped(x: Tensor, out: Tensor) -> Replay:
    x_shape, out_shape = x.shape, out.shape
    return Replay((x,), lambda d: (d.reshape(out_shape), None),
                  lambda ctx, g, needs: (np.reshape(g, x_shape),))


@replays(shape.reshape)
def _reshape(a, out):
    return _reshaped(_tensor(a, "x"), out)


@replays(shape.view)
def _view(a, out):
    return _reshaped(_tensor(a, "x"), out)


@replays(shape.flatten)
def _flatten(a, out):
    return _reshaped(_tensor(a, "x"), out)


# ---- losses -------------------------------------------------------------------------------------


@replays(loss.cross_entropy)
def _cross_entropy(a, out):
    """The plain case: (N, C) scores, (N,) class indices, no class weights, no smoothing."""
    x, target = _float(_tensor(a, "input"), "input"), _tensor(a, "target")
    if x.ndim != 2 or target.dtype.kind not in "iu" or target.shape != x.shape[:1]:
        raise Unsupported("only (N, C) scores with (N,) class indices are replayed")
    if a["weight"] is not None or float(a["label_smoothing"]) != 0.0:
        raise Unsupported("class weights and label smoothing are not replayed")
    reduction, ignore = a["reduction"], a["ignore_index"]
    if reduction not in ("mean", "sum"):
        raise Unsupported(f"reduction={reduction!r} returns a tensor per sample")
    dtype = x.dtype

    def fwd(d, t):
        t, _, _ = loss._class_targets(_Shape(d), t, "cross_entropy", ignore)
        valid = t != ignore
        safe = np.where(valid, t, 0)
        picked_w = np.ones(safe.shape, dtype) * valid
        idx = safe[:, None]
        per, e, total = loss.picked_log_softmax_loss(d, idx, picked_w, 1)
        y = per.sum()
        scale = None
        if reduction == "mean":
            den = float(picked_w.sum())
            scale = np.asarray(1.0 / den if den != 0 else float("nan"), dtype)
            y = y * scale
        return np.asarray(y), (e, total, idx, picked_w, scale)

    def bwd(ctx, g, needs):
        e, total, idx, picked_w, scale = ctx
        if scale is not None:
            g = g * scale
        g = np.broadcast_to(g, picked_w.shape)
        if scale is not None and np.isnan(scale):
            # every target ignored: 0 for each of them, as eager (loss._reduce) and PyTorch
            g = np.where(picked_w != 0, g, 0).astype(dtype)
        return loss.picked_log_softmax_grad(g, e, total, idx, picked_w, 1), None

    return Replay((x, target), fwd, bwd)


class _Shape:
    """The little of a Tensor that ``_class_targets`` reads: its shape and ndim."""
    __slots__ = ("shape", "ndim")

    def __init__(self, d):
        self.shape, self.ndim = d.shape, d.ndim
