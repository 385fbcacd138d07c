"""Activation functions and softmax.

Shapes: elementwise activations keep the input's shape; ``prelu``'s weight has one entry per
channel (dim 1) or a single shared entry; ``softmax``/``log_softmax`` normalise along ``dim``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend, tuning
from .base import (Tensor, constant, ensure_tensor, float_input, graph_rule, make, norm_dim,
                   operands)
from .elementwise import where as where_
from .special import erf_array

__all__ = [
    "relu", "leaky_relu", "elu", "softplus", "hardtanh", "prelu", "sigmoid", "tanh", "step",
    "softmax", "log_softmax", "gelu", "silu", "mish", "hardswish", "hardsigmoid", "relu6",
    "logsigmoid", "softsign", "add_relu",
]

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def kernel_ready(*arrays) -> bool:
    """True when kernels/elementwise.py's one-pass loops can take these arrays and pay: float32
    or float64, one dtype and shape, C-contiguous (a broadcast gradient is not: numpy runs it),
    at least tuning 'elementwise_kernel_min' elements (below, numpy's call is cheaper)."""
    a = arrays[0]
    if a.size < tuning.get("elementwise_kernel_min") or a.dtype not in _FLOATS \
            or not a.flags.c_contiguous:
        return False
    return all(b.dtype == a.dtype and b.shape == a.shape and b.flags.c_contiguous
               for b in arrays[1:])


def relu(x, inplace: bool = False) -> Tensor:
    """max(0, x), NaN kept.  d/dx = 0 where the output is <= 0, else 1 (PyTorch's
    threshold_backward).  (``inplace`` is accepted for PyTorch compatibility; the result is
    always a new tensor.)  Float arrays run in kernels/elementwise.py (one pass, both cores on
    big arrays)."""
    x = ensure_tensor(x, "relu")
    d = x._data
    out = backend.get_kernel("elementwise", "relu")(d) if kernel_ready(d) else np.maximum(d, 0)
    return make(out, (x,), "relu", _relu_backward)


def relu_grad(g: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ReLU's backward from its output y: 0 where y <= 0, else g."""
    if kernel_ready(g, y):
        return backend.get_kernel("elementwise", "relu_backward")(g, y)
    return np.where(y <= 0, np.zeros((), g.dtype), g)


def _relu_backward(node, g):
    return (relu_grad(g, node._data),)


def add_relu(a, b) -> Tensor:
    """relu(a + b) in one pass: ResNet's residual join ``out = relu(out + identity)``. Not a
    PyTorch function (an extra of this library, like every fused op here): the same values
    and gradients as ``relu(a + b)``, without storing the sum.  d/da = d/db = 0 where the
    output is <= 0, else 1.  Shapes broadcast as in ``add``; one shape runs in
    kernels/elementwise.py."""
    a, b = operands(a, b, "add_relu")
    da, db = a._data, b._data
    if kernel_ready(da, db):
        out = backend.get_kernel("elementwise", "add_relu")(da, db)
    else:
        out = np.maximum(da + db, 0)
    return make(out, (a, b), "add_relu", _add_relu_backward)


def _add_relu_backward(node, g):
    gm = relu_grad(g, node._data)
    return gm, gm


class LeakyReluSaved(NamedTuple):
    """What a leaky_relu node keeps: the slope for x <= 0."""
    negative_slope: float


def leaky_relu(x, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise.  d/dx = 1 or negative_slope."""
    x = float_input(x, "leaky_relu")
    d = x._data
    out = np.where(d > 0, d, d * np.asarray(negative_slope, d.dtype))
    return make(out, (x,), "leaky_relu", _leaky_relu_backward,
                LeakyReluSaved(negative_slope))


def _leaky_relu_backward(node, g):
    slope = np.asarray(node._saved.negative_slope, dtype=g.dtype)
    return (np.where(node._parents[0]._data > 0, g, g * slope),)


class EluSaved(NamedTuple):
    """What an elu node keeps: alpha."""
    alpha: float


def elu(x, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha (e^x - 1) otherwise.  d/dx = 1, or alpha e^x = out + alpha."""
    x = float_input(x, "elu")
    d = x._data
    a = np.asarray(alpha, d.dtype)
    out = np.where(d > 0, d, a * np.expm1(np.minimum(d, 0)))
    return make(out, (x,), "elu", _elu_backward, EluSaved(alpha))


def _elu_backward(node, g):
    alpha = np.asarray(node._saved.alpha, dtype=g.dtype)
    return (np.where(node._parents[0]._data > 0, g, g * (node._data + alpha)),)


class SoftplusSaved(NamedTuple):
    """What a softplus node keeps: beta and the threshold above which it is linear."""
    beta: float
    threshold: float


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/beta) ln(1 + e^(beta x)), linear where beta x > threshold (as in PyTorch).
    d/dx = sigmoid(beta x)."""
    x = float_input(x, "softplus")
    d = x._data
    bx = d * np.asarray(beta, d.dtype)
    out = np.where(bx > threshold, d, np.logaddexp(0, bx) / np.asarray(beta, d.dtype))
    return make(out.astype(d.dtype, copy=False), (x,), "softplus", _softplus_backward,
                SoftplusSaved(beta, threshold))


def _softplus_backward(node, g):
    beta, threshold = node._saved.beta, node._saved.threshold
    bx = node._parents[0]._data * np.asarray(beta, g.dtype)
    return (np.where(bx > threshold, g, g * _sigmoid(bx)),)


class HardtanhSaved(NamedTuple):
    """What a hardtanh node keeps: the clamp's bounds."""
    min_val: float
    max_val: float


def hardtanh(x, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """Clamp to [min_val, max_val].  d/dx = 1 strictly inside, 0 outside (as in PyTorch)."""
    x = ensure_tensor(x, "hardtanh")
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) is greater than max_val ({max_val})")
    return make(np.clip(x._data, min_val, max_val), (x,), "hardtanh", _hardtanh_backward,
                HardtanhSaved(min_val, max_val))


def _hardtanh_backward(node, g):
    lo, hi = node._saved.min_val, node._saved.max_val
    x = node._parents[0]._data
    return (g * ((x > lo) & (x < hi)),)


class PreluSaved(NamedTuple):
    """What a prelu node keeps: the weight's array shaped to broadcast against x ((1, C, 1,
    ...), or 0-d when shared)."""
    weight: np.ndarray


def prelu(x, weight) -> Tensor:
    """x for x > 0, a * x otherwise, with a learnable a per channel (dim 1) or one shared a.
    d/dx = 1 or a;  d/da = sum of g * x over the positions where x <= 0 (of that channel).
    Shapes: x (N, C, ...), weight (C,) or (1,)."""
    x = ensure_tensor(x, "prelu")
    weight = ensure_tensor(weight, "prelu")
    if weight.ndim != 1:
        raise ValueError(f"prelu: weight must be 1-D, got shape {weight.shape}")
    c = weight.shape[0]
    if c != 1 and (x.ndim < 2 or x.shape[1] != c):
        raise ValueError(
            f"prelu: weight has {c} entries but the input has "
            f"{x.shape[1] if x.ndim >= 2 else 'no'} channels (input shape {x.shape}); "
            "use one entry per channel (dim 1) or a single shared one"
        )
    a = weight._data.reshape((1, c) + (1,) * (x.ndim - 2)) if c != 1 else weight._data.reshape(())
    d = x._data
    return make(np.where(d > 0, d, a * d), (x, weight), "prelu", _prelu_backward, PreluSaved(a))


def _prelu_backward(node, g):
    x, weight = node._parents
    a = node._saved.weight
    pos = x._data > 0
    gx = np.where(pos, g, g * a) if x.requires_grad else None
    gw = None
    if weight.requires_grad:
        contrib = np.where(pos, 0, g * x._data)
        if weight.shape[0] == 1:
            gw = np.asarray(contrib.sum()).reshape(1)
        else:
            axes = (0,) + tuple(range(2, contrib.ndim))
            gw = contrib.sum(axis=axes)
    return gx, gw


def _sigmoid(d: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: e^-|x| never exceeds 1."""
    e = np.exp(-np.abs(d))
    return np.where(d >= 0, 1 / (1 + e), e / (1 + e)).astype(d.dtype, copy=False)


def sigmoid(x) -> Tensor:
    """1 / (1 + e^-x).  d/dx = s (1 - s)."""
    x = float_input(x, "sigmoid")
    return make(_sigmoid(x._data), (x,), "sigmoid", _sigmoid_backward)


def _sigmoid_backward(node, g):
    s = node._data
    return (g * s * (1 - s),)


def tanh(x) -> Tensor:
    """tanh x.  d/dx = 1 - tanh^2 x."""
    x = float_input(x, "tanh")
    return make(np.tanh(x._data), (x,), "tanh", _tanh_backward)


def _tanh_backward(node, g):
    t = node._data
    if kernel_ready(g, t):
        return (backend.get_kernel("elementwise", "tanh_backward")(g, t),)
    return (g * (1 - t * t),)


def step(x) -> Tensor:
    """Heaviside step, the perceptron's activation: 1 for x > 0, else 0.  d/dx = 0 everywhere
    it exists (taken as 0 at the jump too): backward runs, and every gradient that passes
    through it is zero, the reason perceptrons are not trained by backprop."""
    x = ensure_tensor(x, "step")
    return make((x._data > 0).astype(x.dtype), (x,), "step", _step_backward)


def _step_backward(node, g):
    return (np.zeros_like(g),)


class SoftmaxSaved(NamedTuple):
    """What a softmax node keeps: the (non-negative) dim it normalises along."""
    dim: int


def softmax(x, dim: int = -1) -> Tensor:
    """s_i = e^(x_i - m) / sum_j e^(x_j - m) along ``dim`` (m = max, for stability).
    d/dx: s * (g - sum(g * s))."""
    x = float_input(x, "softmax")
    dim = norm_dim(dim, x.ndim, "softmax")
    d = x._data
    e = np.exp(d - d.max(axis=dim, keepdims=True))
    s = e / e.sum(axis=dim, keepdims=True)
    return make(s, (x,), "softmax", _softmax_backward, SoftmaxSaved(dim))


def _softmax_backward(node, g):
    s, dim = node._data, node._saved.dim
    return (s * (g - (g * s).sum(axis=dim, keepdims=True)),)


class LogSoftmaxSaved(NamedTuple):
    """What a log_softmax node keeps: the (non-negative) dim it normalises along."""
    dim: int


def log_softmax(x, dim: int = -1) -> Tensor:
    """x_i - m - ln sum_j e^(x_j - m) along ``dim``: never exponentiates a large number, so
    logits of +-1e30 stay finite.  d/dx: g - softmax * sum(g)."""
    x = float_input(x, "log_softmax")
    dim = norm_dim(dim, x.ndim, "log_softmax")
    d = x._data
    shifted = d - d.max(axis=dim, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=dim, keepdims=True))
    return make(out, (x,), "log_softmax", _log_softmax_backward,
                LogSoftmaxSaved(dim))


def _log_softmax_backward(node, g):
    dim = node._saved.dim
    return (g - np.exp(node._data) * g.sum(axis=dim, keepdims=True),)


# ---- smooth and piecewise-linear relatives of ReLU (PyTorch's formulas and boundary rules) ------

_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_INV_SQRT_2 = 1.0 / np.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


class GeluSaved(NamedTuple):
    """What a gelu node keeps: Phi(x), the normal CDF at the input."""
    cdf: np.ndarray


class GeluTanhSaved(NamedTuple):
    """What a gelu(approximate='tanh') node keeps: t = tanh(sqrt(2/pi) (x + 0.044715 x^3))."""
    tanh: np.ndarray


def gelu(x, approximate: str = "none") -> Tensor:
    """x Phi(x), Phi the standard normal CDF = (1 + erf(x / sqrt 2)) / 2.
    d/dx = Phi(x) + x phi(x), phi(x) = e^(-x^2/2) / sqrt(2 pi).
    approximate='tanh': x (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3);
    d/dx = (1 + t) / 2 + x (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2) / 2, t = tanh u."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    x = float_input(x, "gelu")
    d = x._data
    if approximate == "tanh":
        t = np.tanh(_SQRT_2_OVER_PI * (d + 0.044715 * d ** 3)).astype(d.dtype, copy=False)
        return make(0.5 * d * (1 + t), (x,), "gelu_tanh", _gelu_tanh_backward,
                    GeluTanhSaved(t))
    cdf = 0.5 * (1 + erf_array(d * np.asarray(_INV_SQRT_2, d.dtype)))
    return make(d * cdf, (x,), "gelu", _gelu_backward, GeluSaved(cdf))


def _gelu_backward(node, g):
    x, cdf = node._parents[0]._data, node._saved.cdf
    pdf = np.exp(-0.5 * x * x) * np.asarray(_INV_SQRT_2PI, g.dtype)
    return (g * (cdf + x * pdf),)


def _gelu_tanh_backward(node, g):
    x, t = node._parents[0]._data, node._saved.tanh
    du = np.asarray(_SQRT_2_OVER_PI, g.dtype) * (1 + 3 * 0.044715 * x * x)
    return (g * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du),)


class SiluSaved(NamedTuple):
    """What a silu node keeps: sigmoid(x)."""
    sigmoid: np.ndarray


def silu(x, inplace: bool = False) -> Tensor:
    """x sigmoid(x) (swish).  d/dx = s (1 + x (1 - s)), s = sigmoid(x)."""
    x = float_input(x, "silu")
    s = _sigmoid(x._data)
    return make(x._data * s, (x,), "silu", _silu_backward, SiluSaved(s))


def _silu_backward(node, g):
    x, s = node._parents[0]._data, node._saved.sigmoid
    return (g * s * (1 + x * (1 - s)),)


class MishSaved(NamedTuple):
    """What a mish node keeps: tanh(softplus(x))."""
    tanh_softplus: np.ndarray


def mish(x, inplace: bool = False) -> Tensor:
    """x tanh(softplus(x)).  d/dx = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))."""
    x = float_input(x, "mish")
    t = np.tanh(np.logaddexp(0, x._data)).astype(x.dtype, copy=False)
    return make(x._data * t, (x,), "mish", _mish_backward, MishSaved(t))


def _mish_backward(node, g):
    x, t = node._parents[0]._data, node._saved.tanh_softplus
    return (g * (t + x * _sigmoid(x) * (1 - t * t)),)


def hardsigmoid(x, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: 0 below -3, 1 above 3, linear between.  d/dx = 1/6 strictly inside
    (-3, 3), else 0 (PyTorch's boundary rule)."""
    x = float_input(x, "hardsigmoid")
    d = x._data
    return make(np.clip(d / 6 + 0.5, 0, 1).astype(d.dtype, copy=False), (x,), "hardsigmoid",
                _hardsigmoid_backward)


def _hardsigmoid_backward(node, g):
    x = node._parents[0]._data
    return (np.where((x > -3) & (x < 3), g / 6, 0).astype(g.dtype, copy=False),)


def hardswish(x, inplace: bool = False) -> Tensor:
    """x relu6(x + 3) / 6.  d/dx = 0 for x <= -3, x/3 + 1/2 strictly between, 1 for x >= 3
    (PyTorch 2.13's boundary rule)."""
    x = float_input(x, "hardswish")
    d = x._data
    return make(d * np.clip(d / 6 + 0.5, 0, 1).astype(d.dtype, copy=False), (x,), "hardswish",
                _hardswish_backward)


def _hardswish_backward(node, g):
    x = node._parents[0]._data
    slope = np.where(x <= -3, 0, np.where(x < 3, x / 3 + 0.5, 1)).astype(g.dtype, copy=False)
    return (g * slope,)


def relu6(x, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6) = hardtanh(x, 0, 6).  d/dx = 1 strictly inside (0, 6)."""
    return hardtanh(x, 0.0, 6.0)


def logsigmoid(x) -> Tensor:
    """ln sigmoid(x) = min(x, 0) - ln(1 + e^-|x|), finite for any x.
    d/dx = 1 - sigmoid(x) = sigmoid(-x)."""
    x = float_input(x, "logsigmoid")
    d = x._data
    out = np.minimum(d, 0) - np.log1p(np.exp(-np.abs(d)))
    return make(out, (x,), "logsigmoid", _logsigmoid_backward)


def _logsigmoid_backward(node, g):
    return (g * _sigmoid(-node._parents[0]._data),)


def softsign(x) -> Tensor:
    """x / (1 + |x|).  d/dx = 1 / (1 + |x|)^2."""
    x = float_input(x, "softsign")
    d = x._data
    return make(d / (1 + np.abs(d)), (x,), "softsign", _softsign_backward)


def _softsign_backward(node, g):
    a = 1 + np.abs(node._parents[0]._data)
    return (g / (a * a),)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


def _masked(rule):
    """A rule g * m(x) whose factor m is piecewise constant (relu, leaky_relu, hardtanh, step):
    recorded as g times a constant, since m's own derivative is zero almost everywhere."""
    def graph(node, g):
        return (g * constant(rule(node, np.ones(node.shape, g.dtype))[0]),)
    return graph


for _rule in (_relu_backward, _leaky_relu_backward, _hardtanh_backward, _step_backward):
    graph_rule(_rule)(_masked(_rule))


@graph_rule(_add_relu_backward)
def _add_relu_graph(node, g):
    (gm,) = _masked(_relu_backward)(node, g)
    return gm, gm


@graph_rule(_elu_backward)
def _elu_graph(node, g):
    x = node._parents[0]
    pos = x._data > 0
    return (where_(pos, g, g * (node + float(node._saved.alpha))),)


@graph_rule(_softplus_backward)
def _softplus_graph(node, g):
    beta, threshold = node._saved.beta, node._saved.threshold
    x = node._parents[0]
    big = x._data * beta > threshold
    return (where_(big, g, g * sigmoid(x * beta)),)


@graph_rule(_prelu_backward)
def _prelu_graph(node, g):
    x, weight = node._parents
    pos = x._data > 0
    c = weight.shape[0]
    a = weight.reshape((1, c) + (1,) * (x.ndim - 2)) if c != 1 else weight.reshape(())
    gx = where_(pos, g, g * a) if x.requires_grad else None
    gw = None
    if weight.requires_grad:
        contrib = where_(pos, 0.0, g * x)
        gw = contrib.sum().reshape(1) if c == 1 else \
            contrib.sum(dim=(0,) + tuple(range(2, contrib.ndim)))
    return gx, gw


@graph_rule(_sigmoid_backward)
def _sigmoid_graph(node, g):
    return (g * node * (1 - node),)


@graph_rule(_tanh_backward)
def _tanh_graph(node, g):
    return (g * (1 - node * node),)


@graph_rule(_softmax_backward)
def _softmax_graph(node, g):
    dim = node._saved.dim
    return (node * (g - (g * node).sum(dim=dim, keepdim=True)),)


@graph_rule(_log_softmax_backward)
def _log_softmax_graph(node, g):
    dim = node._saved.dim
    return (g - node.exp() * g.sum(dim=dim, keepdim=True),)


@graph_rule(_gelu_backward)
def _gelu_graph(node, g):
    from .special import erf
    x = node._parents[0]
    cdf = (erf(x * _INV_SQRT_2) + 1) * 0.5
    pdf = (x * x * -0.5).exp() * _INV_SQRT_2PI
    return (g * (cdf + x * pdf),)


@graph_rule(_gelu_tanh_backward)
def _gelu_tanh_graph(node, g):
    x = node._parents[0]
    t = tanh((x + x * x * x * 0.044715) * _SQRT_2_OVER_PI)
    du = (x * x * (3 * 0.044715) + 1) * _SQRT_2_OVER_PI
    return (g * ((t + 1) * 0.5 + x * (1 - t * t) * du * 0.5),)


@graph_rule(_silu_backward)
def _silu_graph(node, g):
    x = node._parents[0]
    s = sigmoid(x)
    return (g * s * (x * (1 - s) + 1),)


@graph_rule(_mish_backward)
def _mish_graph(node, g):
    x = node._parents[0]
    t = tanh(softplus(x))
    return (g * (t + x * sigmoid(x) * (1 - t * t)),)


graph_rule(_hardsigmoid_backward)(_masked(_hardsigmoid_backward))


@graph_rule(_hardswish_backward)
def _hardswish_graph(node, g):
    x = node._parents[0]
    mid = (x._data > -3) & (x._data < 3)
    return (g * where_(mid, x / 3 + 0.5, constant((x._data >= 3).astype(g.dtype))),)


@graph_rule(_logsigmoid_backward)
def _logsigmoid_graph(node, g):
    return (g * sigmoid(-node._parents[0]),)


@graph_rule(_softsign_backward)
def _softsign_graph(node, g):
    a = node._parents[0].abs() + 1
    return (g / (a * a),)
