"""Elementwise arithmetic and math functions, with numpy broadcasting.

Shapes: inputs broadcast together (numpy rules); the output has the broadcast shape. Each rule
returns gradients in that broadcast shape; the engine sums them back to each input's shape.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import DTypeError
from ..tensor import get_default_dtype
from .base import (Tensor, _cast_backward, cast_to, constant, ensure_tensor, float_input,
                   graph_rule, leaf, make, operands, result_dtype)

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos",
    "square", "clip", "clamp", "maximum", "minimum", "where", "sign", "cast",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_not", "bitwise_not", "isclose", "allclose",
    "equal", "isnan", "isinf", "isfinite", "logical_and", "logical_or", "logical_xor",
    "reciprocal", "rsqrt", "lerp", "clamp_min", "clamp_max", "addcmul", "addcdiv",
]


def _needs(t: Tensor) -> bool:
    return t.requires_grad


# ---- arithmetic --------------------------------------------------------------------------------


def add(a, b) -> Tensor:
    """a + b.  d/da = 1, d/db = 1."""
    a, b = operands(a, b, "add")
    return make(a._data + b._data, (a, b), "add", _add_backward)


def _add_backward(node, g):
    return g, g


def sub(a, b) -> Tensor:
    """a - b.  d/da = 1, d/db = -1."""
    a, b = operands(a, b, "sub")
    return make(a._data - b._data, (a, b), "sub", _sub_backward)


def _sub_backward(node, g):
    return g, (-g if node._parents[1].requires_grad else None)


def mul(a, b) -> Tensor:
    """a * b.  d/da = b, d/db = a."""
    a, b = operands(a, b, "mul")
    return make(a._data * b._data, (a, b), "mul", _mul_backward)


def _mul_backward(node, g):
    a, b = node._parents
    return (g * b._data if a.requires_grad else None,
            g * a._data if b.requires_grad else None)


def div(a, b) -> Tensor:
    """a / b (true division).  d/da = 1/b, d/db = -a/b^2 = -out/b."""
    a, b = operands(a, b, "div")
    if a._data.dtype.kind != "f" and b._data.dtype.kind != "f":
        # integer / integer is a float in the default dtype (float32), as in PyTorch
        a, b = leaf(a._data.astype(get_default_dtype())), leaf(b._data.astype(get_default_dtype()))
    return make(a._data / b._data, (a, b), "div", _div_backward)


def _div_backward(node, g):
    a, b = node._parents
    ga = g / b._data if a.requires_grad else None
    gb = -g * node._data / b._data if b.requires_grad else None
    return ga, gb


def pow(a, b) -> Tensor:
    """a ** b.  d/da = b a^(b-1);  d/db = a^b ln a (0 where a = 0 and b >= 0, as in PyTorch)."""
    a, b = operands(a, b, "pow")
    return make(np.power(a._data, b._data), (a, b), "pow", _pow_backward)


def _pow_backward(node, g):
    a, b = node._parents
    ga = gb = None
    if a.requires_grad:
        bd = b._data
        if bd.ndim == 0 and bd == 2:        # the common square: skip the power
            ga = g * 2 * a._data
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ga = g * bd * np.power(a._data, bd - 1)
            ga = np.where(bd == 0, 0, ga)
    if b.requires_grad:
        ad = a._data
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = g * node._data * np.log(ad)
        gb = np.where((ad == 0) & (b._data >= 0), 0, gb)
    return ga, gb


def neg(x) -> Tensor:
    """-x.  d/dx = -1."""
    x = ensure_tensor(x, "neg")
    return make(-x._data, (x,), "neg", _neg_backward)


def _neg_backward(node, g):
    return (-g,)


def square(x) -> Tensor:
    """x^2.  d/dx = 2x."""
    x = ensure_tensor(x, "square")
    return make(x._data * x._data, (x,), "square", _square_backward)


def _square_backward(node, g):
    return (2 * g * node._parents[0]._data,)


# ---- math functions ----------------------------------------------------------------------------


def abs(x) -> Tensor:
    """|x|.  d/dx = sign(x) (0 at 0, as in PyTorch)."""
    x = ensure_tensor(x, "abs")
    return make(np.abs(x._data), (x,), "abs", _abs_backward)


def _abs_backward(node, g):
    return (g * np.sign(node._parents[0]._data),)


def exp(x) -> Tensor:
    """e^x.  d/dx = e^x (the output)."""
    x = float_input(x, "exp")
    return make(np.exp(x._data), (x,), "exp", _exp_backward)


def _exp_backward(node, g):
    return (g * node._data,)


def log(x) -> Tensor:
    """ln x.  d/dx = 1/x.  (ln 0 = -inf and ln of a negative number = nan, as in numpy.)"""
    x = float_input(x, "log")
    return make(np.log(x._data), (x,), "log", _log_backward)


def _log_backward(node, g):
    return (g / node._parents[0]._data,)


def sqrt(x) -> Tensor:
    """sqrt(x).  d/dx = 1 / (2 sqrt x)."""
    x = float_input(x, "sqrt")
    return make(np.sqrt(x._data), (x,), "sqrt", _sqrt_backward)


def _sqrt_backward(node, g):
    with np.errstate(divide="ignore", invalid="ignore"):     # sqrt'(0) = inf, as in PyTorch
        return (g * 0.5 / node._data,)


def sin(x) -> Tensor:
    """sin x.  d/dx = cos x."""
    x = float_input(x, "sin")
    return make(np.sin(x._data), (x,), "sin", _sin_backward)


def _sin_backward(node, g):
    return (g * np.cos(node._parents[0]._data),)


def cos(x) -> Tensor:
    """cos x.  d/dx = -sin x."""
    x = float_input(x, "cos")
    return make(np.cos(x._data), (x,), "cos", _cos_backward)


def _cos_backward(node, g):
    return (-g * np.sin(node._parents[0]._data),)


class ClipSaved(NamedTuple):
    """What a clip node keeps: the bounds (None: no bound; numbers or arrays)."""
    min: object
    max: object


def clip(x, min=None, max=None) -> Tensor:
    """Clamp to [min, max] (either may be None).  d/dx = 1 inside [min, max], 0 outside."""
    x = ensure_tensor(x, "clip")
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if isinstance(min, Tensor):
        min = min._data
    if isinstance(max, Tensor):
        max = max._data
    dtype = result_dtype(x, *(b for b in (min, max) if b is not None))
    if dtype != x.dtype:
        x = cast_to(x, dtype)               # an integer tensor with float bounds: float32
    # min > max sets every element to max, as in PyTorch (np.minimum after np.maximum)
    out = x._data
    if min is not None:
        out = np.maximum(out, min)
    if max is not None:
        out = np.minimum(out, max)
    return make(np.asarray(out, dtype=dtype), (x,), "clip", _clip_backward,
                ClipSaved(min, max))


def _clip_backward(node, g):
    lo, hi = node._saved.min, node._saved.max
    x = node._parents[0]._data
    inside = np.ones(x.shape, dtype=bool)
    if lo is not None:
        inside &= x >= lo
    if hi is not None:
        inside &= x <= hi
        if lo is not None:
            inside &= np.asarray(lo <= hi)  # min > max: every output is max, a constant
    return (g * inside,)


clamp = clip


def maximum(a, b) -> Tensor:
    """Elementwise max.  The gradient goes to the larger input; ties split it half and half."""
    a, b = operands(a, b, "maximum")
    return make(np.maximum(a._data, b._data), (a, b), "maximum", _minmax_backward)


def minimum(a, b) -> Tensor:
    """Elementwise min.  The gradient goes to the smaller input; ties split it half and half."""
    a, b = operands(a, b, "minimum")
    return make(np.minimum(a._data, b._data), (a, b), "minimum", _minmax_backward)


def _minmax_backward(node, g):
    a, b = node._parents
    wins_a = (a._data == node._data).astype(g.dtype)
    wins_b = (b._data == node._data).astype(g.dtype)
    share = wins_a + wins_b                    # 2 at ties
    return g * wins_a / share, g * wins_b / share


class WhereSaved(NamedTuple):
    """What a where node keeps: the bool condition."""
    condition: np.ndarray


def where(condition, a=None, b=None):
    """a where condition else b.  d/da = condition, d/db = not condition.
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``, as in PyTorch."""
    if a is None and b is None:
        from .index import nonzero
        return nonzero(condition, as_tuple=True)
    if a is None or b is None:
        raise TypeError("where: give both a and b (or neither, for the indices of the true "
                        "elements)")
    cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
    if cond.dtype != np.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype}")
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        dt = result_dtype(a, b)             # where(cond, 1.0, 0.0): both scalars
        a, b = leaf(np.asarray(a, dtype=dt)), leaf(np.asarray(b, dtype=dt))
    a, b = operands(a, b, "where")
    try:
        np.broadcast_shapes(cond.shape, a._data.shape, b._data.shape)
    except ValueError:
        raise ValueError(f"where: condition of shape {cond.shape} cannot be broadcast with the "
                         f"values' shapes {a._data.shape} and {b._data.shape}") from None
    return make(np.where(cond, a._data, b._data), (a, b), "where", _where_backward,
                WhereSaved(cond))


def _where_backward(node, g):
    cond = node._saved.condition
    zero = np.zeros((), dtype=g.dtype)
    return np.where(cond, g, zero), np.where(cond, zero, g)


def sign(x) -> Tensor:
    """-1, 0 or 1; no gradient (it is zero almost everywhere)."""
    x = ensure_tensor(x, "sign")
    return leaf(np.sign(x._data))


def cast(x, dtype) -> Tensor:
    """The same values in another dtype; the gradient is cast back (floating dtypes only)."""
    x = ensure_tensor(x, "cast")
    dtype = np.dtype(dtype)
    if x.dtype == dtype:
        return x
    if dtype.kind != "f":
        return leaf(x._data.astype(dtype))
    return make(x._data.astype(dtype), (x,), "cast", _cast_backward)


# ---- comparisons: bool tensors, no gradient ---------------------------------------------------


def _compare(ufunc, name, what=""):
    def compare(a, b) -> Tensor:
        a, b = operands(a, b, name)            # broadcasting checked, dtypes promoted
        return leaf(ufunc(a._data, b._data))
    compare.__name__ = name
    compare.__doc__ = f"Elementwise {ufunc.__name__}{what} as a bool tensor (no gradient)."
    return compare


eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")
lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")


def logical_not(x) -> Tensor:
    """not x, elementwise, as a bool tensor (any dtype; non-zero is true)."""
    x = ensure_tensor(x, "logical_not")
    return leaf(np.logical_not(x._data))


def _test(ufunc, name):
    def test(x) -> Tensor:
        return leaf(ufunc(ensure_tensor(x, name)._data))
    test.__name__ = name
    test.__doc__ = f"Elementwise {ufunc.__name__} as a bool tensor (no gradient)."
    return test


isnan = _test(np.isnan, "isnan")
isinf = _test(np.isinf, "isinf")
isfinite = _test(np.isfinite, "isfinite")


_TRUTH = " of the truth values (non-zero is true)"
logical_and = _compare(np.logical_and, "logical_and", _TRUTH)
logical_or = _compare(np.logical_or, "logical_or", _TRUTH)
logical_xor = _compare(np.logical_xor, "logical_xor", _TRUTH)


def reciprocal(x) -> Tensor:
    """1 / x (float32 for integer input, as PyTorch).  d/dx = -1 / x^2."""
    return div(1.0, float_input(x, "reciprocal"))


def rsqrt(x) -> Tensor:
    """1 / sqrt(x).  d/dx = -x^(-3/2) / 2."""
    return div(1.0, sqrt(float_input(x, "rsqrt")))


def lerp(start, end, weight) -> Tensor:
    """start + weight (end - start), computed as PyTorch does: end - (end - start)(1 - weight)
    where |weight| >= 0.5 (so weight = 1 gives end exactly).  d/dstart = 1 - weight,
    d/dend = weight, d/dweight = end - start."""
    start, end = ensure_tensor(start, "lerp"), ensure_tensor(end, "lerp")
    diff = sub(end, start)
    if not isinstance(weight, Tensor):
        w = float(weight)
        return add(start, mul(diff, w)) if abs(w) < 0.5 else sub(end, mul(diff, 1.0 - w))
    low = add(start, mul(weight, diff))
    high = sub(end, mul(diff, sub(1.0, weight)))
    return where(np.abs(weight._data) < 0.5, low, high)


def addcmul(x, t1, t2, value=1) -> Tensor:
    """x + value t1 t2 (the products computed first, as PyTorch).  d/dx = 1,
    d/dt1 = value t2, d/dt2 = value t1."""
    prod = mul(t1, t2)
    return add(x, prod if value == 1 else mul(prod, value))


def addcdiv(x, t1, t2, value=1) -> Tensor:
    """x + value t1 / t2.  d/dx = 1, d/dt1 = value / t2, d/dt2 = -value t1 / t2^2."""
    q = div(t1, t2)
    return add(x, q if value == 1 else mul(q, value))


def clamp_min(x, min) -> Tensor:
    """max(x, min) (``clamp(x, min=min)``)."""
    return clip(x, min, None)


def clamp_max(x, max) -> Tensor:
    """min(x, max) (``clamp(x, max=max)``)."""
    return clip(x, None, max)


def bitwise_not(x) -> Tensor:
    """``~x``: bitwise not of an integer tensor, logical not of a bool one (as in PyTorch)."""
    x = ensure_tensor(x, "bitwise_not")
    if x._data.dtype.kind not in "biu":
        raise DTypeError(f"bitwise_not (~): expected an integer or bool tensor, got dtype "
                         f"{x.dtype} (use logical_not, or 1 - x, for floats)")
    return leaf(np.invert(x._data))


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------
# Same formulas as above, written with tensors: the parents and the node itself are tensors of
# the first graph, so the gradients they give can be differentiated again.


@graph_rule(_add_backward)
def _add_graph(node, g):
    return g, g


@graph_rule(_sub_backward)
def _sub_graph(node, g):
    return g, (-g if node._parents[1].requires_grad else None)


@graph_rule(_mul_backward)
def _mul_graph(node, g):
    a, b = node._parents
    return (g * b if a.requires_grad else None, g * a if b.requires_grad else None)


@graph_rule(_div_backward)
def _div_graph(node, g):
    a, b = node._parents
    return (g / b if a.requires_grad else None,
            -g * node / b if b.requires_grad else None)


@graph_rule(_pow_backward)
def _pow_graph(node, g):
    a, b = node._parents
    ga = gb = None
    if a.requires_grad:
        ga = g * b * a ** (b - 1)
        if np.any(b._data == 0):
            ga = where(b._data == 0, 0.0, ga)
    if b.requires_grad:
        safe = where(a._data > 0, a, 1.0)           # ln a where it exists; 0 at a = 0
        gb = g * node * log(safe)
        gb = where((a._data == 0) & (b._data >= 0), 0.0, gb)
    return ga, gb


@graph_rule(_neg_backward)
def _neg_graph(node, g):
    return (-g,)


@graph_rule(_square_backward)
def _square_graph(node, g):
    return (g * 2 * node._parents[0],)


@graph_rule(_abs_backward)
def _abs_graph(node, g):
    return (g * constant(np.sign(node._parents[0]._data)),)


@graph_rule(_exp_backward)
def _exp_graph(node, g):
    return (g * node,)


@graph_rule(_log_backward)
def _log_graph(node, g):
    return (g / node._parents[0],)


@graph_rule(_sqrt_backward)
def _sqrt_graph(node, g):
    return (g * 0.5 / node,)


@graph_rule(_sin_backward)
def _sin_graph(node, g):
    return (g * cos(node._parents[0]),)


@graph_rule(_cos_backward)
def _cos_graph(node, g):
    return (-g * sin(node._parents[0]),)


@graph_rule(_clip_backward)
def _clip_graph(node, g):
    # the mask is piecewise constant: its own derivative is zero
    return (g * constant(_clip_backward(node, np.ones(node.shape, g.dtype))[0]),)


@graph_rule(_minmax_backward)
def _minmax_graph(node, g):
    ones = np.ones(node.shape, g.dtype)
    wa, wb = _minmax_backward(node, ones)
    return g * constant(wa), g * constant(wb)


@graph_rule(_where_backward)
def _where_graph(node, g):
    cond = node._saved.condition
    return where(cond, g, 0.0), where(cond, 0.0, g)


@graph_rule(_cast_backward)
def _cast_graph(node, g):
    return (cast(g, node._parents[0].dtype),)


def isclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> Tensor:
    """|a - b| <= atol + rtol * |b| elementwise, as a bool tensor (PyTorch's defaults)."""
    a, b = operands(a, b, "isclose")
    return leaf(np.isclose(a._data, b._data, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(a, b, rtol: float = 1e-5, atol: float = 1e-8, equal_nan: bool = False) -> bool:
    """True when ``isclose`` holds everywhere (the shapes must broadcast)."""
    return bool(isclose(a, b, rtol, atol, equal_nan)._data.all())


def equal(a, b) -> bool:
    """True when a and b have the same shape and the same values (dtypes promote)."""
    a, b = ensure_tensor(a, "equal"), ensure_tensor(b, "equal")
    return a._data.shape == b._data.shape and bool(np.array_equal(a._data, b._data))
