"""Logarithms and exponentials in other bases and near zero, and the error function.

    log2 x      d/dx = 1 / (x ln 2)
    exp2 x      d/dx = 2^x ln 2
    log1p x     ln(1 + x), accurate for small x;   d/dx = 1 / (1 + x)
    expm1 x     e^x - 1, accurate for small x;     d/dx = e^x = out + 1
    erf x       (2 / sqrt(pi)) int_0^x e^(-t^2) dt; d/dx = (2 / sqrt(pi)) e^(-x^2)

Integer and bool inputs give the default float dtype, as in PyTorch. Shapes are kept.
"""

from __future__ import annotations

import math

import numpy as np

from .base import Tensor, float_input, graph_rule, make

__all__ = ["log2", "exp2", "log1p", "expm1", "erf", "erf_array"]

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_erf_ufunc = np.frompyfunc(math.erf, 1, 1)


def erf_array(d: np.ndarray) -> np.ndarray:
    """erf of every element (math.erf, correctly rounded in float64; scipy is not a
    dependency), in the input's dtype."""
    return np.asarray(_erf_ufunc(d.astype(np.float64, copy=False)), dtype=np.float64) \
        .astype(d.dtype, copy=False)


def log2(x) -> Tensor:
    """log2 x.  d/dx = 1 / (x ln 2)."""
    x = float_input(x, "log2")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log2(x._data)
    return make(out, (x,), "log2", _log2_backward)


def _log2_backward(node, g):
    with np.errstate(divide="ignore"):
        return (g / (node._parents[0]._data * np.asarray(_LN2, g.dtype)),)


def exp2(x) -> Tensor:
    """2^x.  d/dx = 2^x ln 2 (the output times ln 2)."""
    x = float_input(x, "exp2")
    return make(np.exp2(x._data), (x,), "exp2", _exp2_backward)


def _exp2_backward(node, g):
    return (g * node._data * np.asarray(_LN2, g.dtype),)


def log1p(x) -> Tensor:
    """ln(1 + x).  d/dx = 1 / (1 + x)."""
    x = float_input(x, "log1p")
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log1p(x._data)
    return make(out, (x,), "log1p", _log1p_backward)


def _log1p_backward(node, g):
    with np.errstate(divide="ignore"):
        return (g / (1 + node._parents[0]._data),)


def expm1(x) -> Tensor:
    """e^x - 1.  d/dx = e^x = out + 1."""
    x = float_input(x, "expm1")
    return make(np.expm1(x._data), (x,), "expm1", _expm1_backward)


def _expm1_backward(node, g):
    return (g * (node._data + 1),)


def erf(x) -> Tensor:
    """The error function.  d/dx = (2 / sqrt(pi)) e^(-x^2)."""
    x = float_input(x, "erf")
    return make(erf_array(x._data), (x,), "erf", _erf_backward)


def _erf_backward(node, g):
    x = node._parents[0]._data
    return (g * np.asarray(_TWO_OVER_SQRT_PI, g.dtype) * np.exp(-x * x),)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


@graph_rule(_log2_backward)
def _log2_graph(node, g):
    return (g / (node._parents[0] * _LN2),)


@graph_rule(_exp2_backward)
def _exp2_graph(node, g):
    return (g * node * _LN2,)


@graph_rule(_log1p_backward)
def _log1p_graph(node, g):
    return (g / (node._parents[0] + 1),)


@graph_rule(_expm1_backward)
def _expm1_graph(node, g):
    return (g * (node + 1),)


@graph_rule(_erf_backward)
def _erf_graph(node, g):
    x = node._parents[0]
    return (g * _TWO_OVER_SQRT_PI * (-(x * x)).exp(),)
