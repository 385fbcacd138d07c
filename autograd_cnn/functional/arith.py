"""Integer-style arithmetic: rounding division, remainders, rounding, bitwise and/or/xor.

PyTorch's rules, which numpy mostly shares:

    a // b = floor_divide(a, b) = div(a, b, rounding_mode='floor') = floor(a / b)
    div(a, b, rounding_mode='trunc') = trunc(a / b)
    a % b = remainder(a, b) = a - floor(a / b) * b        (the sign of the divisor, as Python)
    fmod(a, b) = a - trunc(a / b) * b                     (the sign of the dividend, as C)

Integer operands stay integers; an integer divided (or taken modulo) by integer zero raises
``ZeroDivisionError`` (PyTorch: RuntimeError "ZeroDivisionError"); floats follow IEEE (x // 0 is
+-inf, x % 0 is nan). Shapes broadcast as in ``elementwise``.

Gradients: the rounded quotients and floor/ceil/round/trunc are piecewise constant, so their
gradient is 0 (as PyTorch's div with a rounding mode); ``//`` itself has no derivative in
PyTorch and its backward raises here too. fmod and remainder: d/da = 1, d/db = -trunc(a/b) and
-floor(a/b) respectively.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ..errors import DTypeError
from .base import Tensor, constant, ensure_tensor, graph_rule, leaf, make, operands
from .elementwise import div as _true_div

__all__ = ["floor_divide", "div", "divide", "true_divide", "fmod", "remainder", "floor", "ceil",
           "round", "trunc", "fix", "bitwise_and", "bitwise_or", "bitwise_xor"]

_ROUNDING = (None, "trunc", "floor")


def _check_int_zero(a: Tensor, b: Tensor, name: str) -> None:
    if b._data.dtype.kind in "biu" and a._data.dtype.kind in "biu" and not b._data.all():
        raise ZeroDivisionError(f"{name}: integer division by zero (a divisor element is 0); "
                                "use a floating tensor to get inf/nan instead")


def _zero_grads(node, g):
    """Piecewise-constant ops: the gradient is 0 almost everywhere (PyTorch's choice too)."""
    a = node._parents
    return tuple(np.zeros(g.shape, g.dtype) if p.requires_grad else None for p in a)


def _quotient(a, b, name: str, rounding: str):
    a, b = operands(a, b, name)
    if a._data.dtype == np.bool_:
        raise DTypeError(f"{name}: rounded division is not defined for bool tensors (as in "
                         "PyTorch); convert them with .long() or .float() first")
    _check_int_zero(a, b, name)
    with np.errstate(divide="ignore", invalid="ignore"):
        if rounding == "floor":
            out = np.floor_divide(a._data, b._data)      # Python's //, exact for floats too
        elif a._data.dtype.kind in "biu":
            q = np.floor_divide(a._data, b._data)        # C division: round towards zero
            out = q + ((np.remainder(a._data, b._data) != 0) & ((a._data < 0) != (b._data < 0)))
        else:
            out = np.trunc(a._data / b._data)
    return a, b, out


def _floor_divide_backward(node, g):
    raise RuntimeError("floor_divide (//): its derivative is not implemented, as in PyTorch; "
                       "use div(a, b, rounding_mode='floor'), whose gradient is 0")


def floor_divide(a, b) -> Tensor:
    """a // b = floor(a / b), elementwise (Python's and PyTorch's rounding: towards -inf).
    No derivative: backward through it raises, as in PyTorch."""
    a, b, out = _quotient(a, b, "floor_divide", "floor")
    return make(out, (a, b), "floor_divide", _floor_divide_backward)


def div(a, b, *, rounding_mode=None) -> Tensor:
    """a / b; with ``rounding_mode`` 'trunc' (towards 0) or 'floor' (towards -inf) the rounded
    quotient, in the operands' promoted dtype (integers stay integers). The rounded quotient's
    gradient is 0."""
    if rounding_mode not in _ROUNDING:
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    if rounding_mode is None:
        return _true_div(a, b)
    a, b, out = _quotient(a, b, "div", rounding_mode)
    return make(out, (a, b), f"div_{rounding_mode}", _zero_grads)


divide = true_divide = div


class RemainderSaved(NamedTuple):
    """What an fmod/remainder node keeps: the rounded quotient's function q(a, b) (numpy),
    recomputed in the backward (d/db = -q(a, b))."""
    quotient: Callable


def _remainder_op(a, b, name: str, remainder, quotient) -> Tensor:
    """a - q(a, b) * b for a rounded quotient q; the node saves q's function for the backward."""
    a, b = operands(a, b, name)
    _check_int_zero(a, b, name)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = remainder(a._data, b._data)
    return make(out, (a, b), name, _remainder_backward, RemainderSaved(quotient))


def _saved_quotient(node) -> np.ndarray:
    a, b = node._parents
    with np.errstate(divide="ignore", invalid="ignore"):   # piecewise constant: no gradient
        return node._saved.quotient(a._data, b._data)


def _remainder_backward(node, g):
    """d/da = 1, d/db = -q(a, b)."""
    return g, (-g * _saved_quotient(node) if node._parents[1].requires_grad else None)


def _trunc_quotient(a, b):
    return np.trunc(a / b)


def fmod(a, b) -> Tensor:
    """a - trunc(a / b) * b: the remainder with the dividend's sign (C's fmod).
    d/da = 1, d/db = -trunc(a / b)."""
    return _remainder_op(a, b, "fmod", np.fmod, _trunc_quotient)


def remainder(a, b) -> Tensor:
    """a - floor(a / b) * b: the remainder with the divisor's sign (Python's %).
    d/da = 1, d/db = -floor(a / b)."""
    return _remainder_op(a, b, "remainder", np.remainder, np.floor_divide)


# ---- rounding: gradient 0; integer tensors come back unchanged (a copy) -------------------------


def _rounding(ufunc, name):
    def op(x) -> Tensor:
        x = ensure_tensor(x, name)
        if x._data.dtype.kind in "biu":
            return leaf(x._data.copy())
        return make(ufunc(x._data), (x,), name, _zero_grads)
    op.__name__ = name
    op.__doc__ = (f"{ufunc.__name__}(x), elementwise; gradient 0 (piecewise constant). Integer "
                  "tensors are returned unchanged, as in PyTorch.")
    return op


floor = _rounding(np.floor, "floor")
ceil = _rounding(np.ceil, "ceil")
trunc = fix = _rounding(np.trunc, "trunc")


def round(x, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (PyTorch and numpy: 2.5 -> 2, -0.5 -> -0);
    with decimals, round(x * 10^d) / 10^d. Gradient 0."""
    x = ensure_tensor(x, "round")
    if x._data.dtype.kind in "biu":
        return leaf(x._data.copy())
    return make(np.round(x._data, int(decimals)), (x,), "round", _zero_grads)


# ---- bitwise: integer and bool tensors only, no gradient ---------------------------------------


def _bitwise(ufunc, name, symbol):
    def op(a, b) -> Tensor:
        a, b = operands(a, b, name)
        if a._data.dtype.kind not in "biu":
            raise DTypeError(f"{name} ({symbol}): expected integer or bool tensors, got dtype "
                             f"{a.dtype} (use logical_and/or/xor or comparisons for floats)")
        return leaf(ufunc(a._data, b._data))
    op.__name__ = name
    op.__doc__ = (f"a {symbol} b elementwise on integer or bool tensors (bool stays bool); no "
                  "gradient.")
    return op


bitwise_and = _bitwise(np.bitwise_and, "bitwise_and", "&")
bitwise_or = _bitwise(np.bitwise_or, "bitwise_or", "|")
bitwise_xor = _bitwise(np.bitwise_xor, "bitwise_xor", "^")


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


@graph_rule(_zero_grads)
def _zero_grads_graph(node, g):
    return tuple(constant(np.zeros(g.shape, g.dtype)) if p.requires_grad else None
                 for p in node._parents)


graph_rule(_floor_divide_backward)(_floor_divide_backward)


@graph_rule(_remainder_backward)
def _remainder_graph(node, g):
    return g, (-g * constant(_saved_quotient(node)) if node._parents[1].requires_grad else None)