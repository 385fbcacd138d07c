"""Reductions over ``dim`` (None = all, an int, a negative int, or a tuple), with ``keepdim``.

Shapes: the reduced dims disappear (or stay as size 1 with ``keepdim=True``). Each rule broadcasts
the output gradient back over the reduced dims (``expand_reduced``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import warnings

from ..errors import DTypeError
from .base import (Tensor, cast_to, constant, ensure_tensor, expand_reduced, float_input,
                   graph_rule, leaf, linear_map, make, norm_dim, norm_dims)
from .elementwise import maximum, minimum

__all__ = ["sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "argmax",
           "argmin", "prod", "norm", "all", "any"]


class ValuesIndices(NamedTuple):
    """What ``max``/``min`` with a ``dim`` return, as in PyTorch: ``values, indices = x.max(1)``."""

    values: Tensor
    indices: Tensor


def _count(shape: tuple, dims) -> int:
    if dims is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[d] for d in dims], dtype=np.int64))


def _reduce_dims(dim, x: Tensor, where: str):
    """``norm_dims`` for reductions: ``dim=()`` means all dims (as PyTorch), and a 0-d tensor
    accepts dim 0 or -1 (reducing nothing)."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        return None
    dims = norm_dims(dim, x.ndim, where)
    return None if x.ndim == 0 else dims


def _as_dtype(x: Tensor, dtype, where: str) -> Tensor:
    """``x`` converted to ``dtype=`` before a reduction (as PyTorch's ``sum(dtype=...)``)."""
    return x if dtype is None else cast_to(x, np.dtype(dtype))


class SumSaved(NamedTuple):
    """What a sum node keeps: the reduced dims (None: all) and keepdim."""
    dims: tuple | None
    keepdim: bool


def sum(x, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """sum of x over dim.  d/dx_i = 1 (the gradient is copied to every summed element).
    Integer and bool tensors sum to int64 (as in PyTorch) unless ``dtype`` is given."""
    x = _as_dtype(ensure_tensor(x, "sum"), dtype, "sum")
    dims = _reduce_dims(dim, x, "sum")
    out = x._data.sum(axis=dims, keepdims=keepdim,
                      dtype=np.int64 if x._data.dtype.kind in "biu" else None)
    return make(np.asarray(out), (x,), "sum", _sum_backward, SumSaved(dims, keepdim))


def _sum_backward(node, g):
    saved = node._saved
    return (expand_reduced(g, node._parents[0].shape, saved.dims, saved.keepdim),)


def _require_float(x: Tensor, where: str) -> None:
    if x.dtype.kind != "f":
        raise DTypeError(f"{where}: expected a floating-point tensor, got dtype {x.dtype} "
                         f"(as in PyTorch; convert with .float() first, or pass dtype=)")


class MeanSaved(NamedTuple):
    """What a mean node keeps: the reduced dims (None: all) and keepdim."""
    dims: tuple | None
    keepdim: bool


def mean(x, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """mean of x over dim.  d/dx_i = 1/n with n the number of averaged elements.
    Integer tensors are refused, as in PyTorch, unless ``dtype`` is given."""
    x = _as_dtype(ensure_tensor(x, "mean"), dtype, "mean")
    _require_float(x, "mean")
    dims = _reduce_dims(dim, x, "mean")
    out = x._data.mean(axis=dims, keepdims=keepdim)
    return make(np.asarray(out, dtype=x.dtype), (x,), "mean", _mean_backward,
                MeanSaved(dims, keepdim))


def _mean_backward(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    shape = node._parents[0].shape
    n = _count(shape, dims)
    return (expand_reduced(g / n, shape, dims, keepdim),)


class MaxDimSaved(NamedTuple):
    """What ``max``/``min`` along a dim keep: the dim, the chosen indices (with the dim kept
    when keepdim) and keepdim."""
    dim: int
    indices: np.ndarray
    keepdim: bool


def _extreme(x, dim, keepdim, name, pick, arg):
    x = ensure_tensor(x, name)
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{name}: dim must be an int (use amax/amin to reduce over several "
                        f"dims), got {dim!r}")
    if dim is not None and x.ndim == 0:
        norm_dim(dim, 0, name)
        return ValuesIndices(make(x._data.copy(), (x,), name, _identity_rule),
                             leaf(np.zeros((), np.int64)))
    if dim is None:
        out = np.asarray(pick(x._data))
        return make(out, (x,), name, _extreme_all_backward)
    d = norm_dim(dim, x.ndim, name)
    idx = arg(x._data, axis=d)
    values = np.take_along_axis(x._data, np.expand_dims(idx, d), axis=d)
    if not keepdim:
        values = values.squeeze(d)
    else:
        idx = np.expand_dims(idx, d)
    out = make(values, (x,), name, _extreme_dim_backward, MaxDimSaved(d, idx, keepdim))
    return ValuesIndices(out, leaf(idx.astype(np.int64)))


def _identity_rule(node, g):
    return (g,)


def _extreme_all_backward(node, g):
    # the whole-tensor max/min: the gradient is shared evenly among tied extremes
    x = node._parents[0]._data
    hit = (x == node._data)
    return (hit * (g / np.asarray(hit.sum(), dtype=x.dtype)),)


def _extreme_dim_backward(node, g):
    # with a dim the gradient goes to the returned index (one element per slice)
    saved = node._saved
    d, idx, keepdim = saved.dim, saved.indices, saved.keepdim
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    g = np.asarray(g)
    if not keepdim:
        g = np.expand_dims(g, d)
        idx = np.expand_dims(idx, d)
    np.put_along_axis(gx, idx, g, axis=d)
    return (gx,)


def max(x, dim=None, keepdim: bool = False):
    """Largest element (dim=None) or ``(values, indices)`` along ``dim``.
    The gradient flows to the chosen element(s). ``max(a, b)`` with a tensor ``b`` is
    ``maximum(a, b)``, as in PyTorch."""
    if isinstance(dim, Tensor):
        return maximum(x, dim)
    return _extreme(x, dim, keepdim, "max", np.max, np.argmax)


def min(x, dim=None, keepdim: bool = False):
    """Smallest element (dim=None) or ``(values, indices)`` along ``dim``; ``min(a, b)`` with a
    tensor ``b`` is ``minimum(a, b)``."""
    if isinstance(dim, Tensor):
        return minimum(x, dim)
    return _extreme(x, dim, keepdim, "min", np.min, np.argmin)


class AmaxSaved(NamedTuple):
    """What an amax/amin node keeps: the reduced dims (None: all) and keepdim."""
    dims: tuple | None
    keepdim: bool


def _amax_like(x, dim, keepdim, name, pick):
    x = ensure_tensor(x, name)
    dims = _reduce_dims(dim, x, name)
    out = np.asarray(pick(x._data, axis=dims, keepdims=keepdim))
    return make(out, (x,), name, _amax_backward, AmaxSaved(dims, keepdim))


def _amax_backward(node, g):
    # ties share the gradient evenly (PyTorch's amax/amin)
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]._data
    out = expand_reduced(node._data, x.shape, dims, keepdim)
    hit = (x == out)
    count = hit.sum(axis=dims, keepdims=True).astype(x.dtype)
    return (hit * expand_reduced(g, x.shape, dims, keepdim) / count,)


def amax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Maximum over dim (int or tuple), values only; ties share the gradient."""
    return _amax_like(x, dim, keepdim, "amax", np.max)


def amin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Minimum over dim (int or tuple), values only; ties share the gradient."""
    return _amax_like(x, dim, keepdim, "amin", np.min)


def _correction(unbiased, correction) -> int:
    if correction is not None:
        return int(correction)
    return 1 if unbiased is None or unbiased else 0


def _dof(x: Tensor, dims, c: int, where: str) -> int:
    """n - correction, or 0 with PyTorch's warning when no degrees of freedom are left (the
    result is then nan, or inf where the spread is not zero)."""
    n = _count(x.shape, dims)
    if n - c <= 0:
        warnings.warn(f"{where}(): degrees of freedom is <= 0 ({n} element(s), correction "
                      f"{c}); the result is nan or inf", UserWarning, stacklevel=3)
        return 0
    return n - c


def _centred(x: Tensor, dims):
    return x._data - x._data.mean(axis=dims, keepdims=True)


class VarSaved(NamedTuple):
    """What a var node keeps: the reduced dims (None: all), keepdim, the centred input
    x - mean (keepdims) and the degrees of freedom n - correction (0: none left)."""
    dims: tuple | None
    keepdim: bool
    centred: np.ndarray
    dof: int


def var(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """sum (x - mean)^2 / (n - correction); unbiased (correction 1) by default, as in PyTorch.
    d/dx_i = 2 (x_i - mean) / (n - correction)."""
    x = ensure_tensor(x, "var")
    _require_float(x, "var")
    dims = _reduce_dims(dim, x, "var")
    dof = _dof(x, dims, _correction(unbiased, correction), "var")
    centred = _centred(x, dims)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.asarray((centred * centred).sum(axis=dims, keepdims=keepdim) / dof,
                         dtype=x.dtype)
    return make(out, (x,), "var", _var_backward,
                VarSaved(dims, keepdim, centred, dof))


def _var_backward(node, g):
    saved = node._saved
    centred = saved.centred
    with np.errstate(divide="ignore", invalid="ignore"):
        return (expand_reduced(g, centred.shape, saved.dims, saved.keepdim) * centred *
                (2 / saved.dof),)


class StdSaved(NamedTuple):
    """What a std node keeps: as var's (dims, keepdim, centred input, degrees of freedom)."""
    dims: tuple | None
    keepdim: bool
    centred: np.ndarray
    dof: int


def std(x, dim=None, unbiased=None, keepdim: bool = False, *, correction=None) -> Tensor:
    """sqrt(var).  d/dx_i = (x_i - mean) / ((n - correction) std); 0 where std is 0 (a
    constant input), as in PyTorch."""
    x = ensure_tensor(x, "std")
    _require_float(x, "std")
    dims = _reduce_dims(dim, x, "std")
    dof = _dof(x, dims, _correction(unbiased, correction), "std")
    centred = _centred(x, dims)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.sqrt((centred * centred).sum(axis=dims, keepdims=keepdim) / dof)
    return make(np.asarray(out, dtype=x.dtype), (x,), "std", _std_backward,
                StdSaved(dims, keepdim, centred, dof))


def _std_backward(node, g):
    saved = node._saved
    centred = saved.centred
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = np.where(node._data == 0, 0, g / node._data)
        return (expand_reduced(scaled, centred.shape, saved.dims, saved.keepdim) * centred /
                saved.dof,)


class LogsumexpSaved(NamedTuple):
    """What a logsumexp node keeps: the reduced dims (None: all) and keepdim."""
    dims: tuple | None
    keepdim: bool


def logsumexp(x, dim=None, keepdim: bool = False) -> Tensor:
    """ln sum e^x over dim, computed as m + ln sum e^(x - m) with m the max (no overflow).
    d/dx = softmax(x) over dim."""
    x = float_input(x, "logsumexp")
    dims = _reduce_dims(dim, x, "logsumexp")
    d = x._data
    m = d.max(axis=dims, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):                       # all -inf: ln 0 = -inf
        out = m + np.log(np.exp(d - m).sum(axis=dims, keepdims=True))
    if not keepdim:
        out = out.squeeze(axis=dims) if dims is not None else out.reshape(())
    return make(np.asarray(out, dtype=d.dtype), (x,), "logsumexp", _logsumexp_backward,
                LogsumexpSaved(dims, keepdim))


def _logsumexp_backward(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]._data
    out = expand_reduced(node._data, x.shape, dims, keepdim)
    return (expand_reduced(g, x.shape, dims, keepdim) * np.exp(x - out),)


class ProdSaved(NamedTuple):
    """What a prod node keeps: the reduced dims (None: all) and keepdim."""
    dims: tuple | None
    keepdim: bool


def prod(x, dim=None, keepdim: bool = False) -> Tensor:
    """Product over dim (int or None).  d/dx_i = product of the other elements."""
    x = ensure_tensor(x, "prod")
    dims = _reduce_dims(dim, x, "prod")
    out = np.asarray(x._data.prod(axis=dims, keepdims=keepdim,
                                  dtype=np.int64 if x._data.dtype.kind in "biu" else None))
    return make(out, (x,), "prod", _prod_backward, ProdSaved(dims, keepdim))


def _prod_backward(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]._data
    axes = tuple(range(x.ndim)) if dims is None else dims
    # product of the others, exact also where x has zeros: move reduced axes last, flatten,
    # take exclusive cumulative products from both sides
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim)))
    flat = moved.reshape(moved.shape[:x.ndim - len(axes)] + (-1,))
    ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
    left = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    others = (left * right).reshape(moved.shape)
    others = np.moveaxis(others, tuple(range(x.ndim - len(axes), x.ndim)), axes)
    return (expand_reduced(g, x.shape, dims, keepdim) * others,)


class NormSaved(NamedTuple):
    """What a p-norm node keeps: p (a float), the reduced dims (None: all) and keepdim."""
    p: float
    dims: tuple | None
    keepdim: bool


def norm(x, p=2, dim=None, keepdim: bool = False) -> Tensor:
    """The p-norm over dim: (sum |x|^p)^(1/p) for any real p; 'fro' is 2; inf / -inf the
    largest / smallest |x|; 0 counts the non-zeros (no gradient).
    d/dx = sign(x) |x|^(p-1) / norm^(p-1), and 0 where the norm is 0 (as in PyTorch)."""
    x = ensure_tensor(x, "norm")
    _require_float(x, "norm")
    if p == "fro":
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float, np.integer, np.floating)):
        raise ValueError(f"norm: p must be a number, 'fro', inf or -inf, got {p!r}")
    if p == float("inf"):
        return amax(x.abs(), dim=dim, keepdim=keepdim)
    if p == -float("inf"):
        return amin(x.abs(), dim=dim, keepdim=keepdim)
    dims = _reduce_dims(dim, x, "norm")
    if p == 0:
        return leaf(np.asarray((x._data != 0).sum(axis=dims, keepdims=keepdim), dtype=x.dtype))
    if p == 1:
        return x.abs().sum(dim=dims, keepdim=keepdim) if dims is not None else x.abs().sum()
    a = np.abs(x._data)
    with np.errstate(over="ignore"):
        out = (a * a).sum(axis=dims, keepdims=keepdim) ** 0.5 if p == 2 else \
            (a ** p).sum(axis=dims, keepdims=keepdim) ** (1.0 / p)
    return make(np.asarray(out, dtype=x.dtype), (x,), "norm", _norm_backward,
                NormSaved(float(p), dims, keepdim))


def _norm_backward(node, g):
    p, dims, keepdim = node._saved.p, node._saved.dims, node._saved.keepdim
    x = node._parents[0]._data
    n = expand_reduced(node._data, x.shape, dims, keepdim)
    with np.errstate(divide="ignore", invalid="ignore"):
        if p == 2:
            d = x / n
        else:
            d = np.sign(x) * np.abs(x) ** (p - 1) / n ** (p - 1)
        d = np.where(n == 0, 0, d)
    return (expand_reduced(g, x.shape, dims, keepdim) * d,)


def _arg(x, dim, keepdim, name, fn):
    x = ensure_tensor(x, name)
    if dim is None or x.ndim == 0:
        if dim is not None:
            norm_dim(dim, 0, name)
        return leaf(np.asarray(fn(x._data), dtype=np.int64))
    d = norm_dim(dim, x.ndim, name)
    idx = fn(x._data, axis=d)
    if keepdim:
        idx = np.expand_dims(idx, d)
    return leaf(idx.astype(np.int64))


def argmax(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flat index when dim is None); an int64 tensor, no gradient."""
    return _arg(x, dim, keepdim, "argmax", np.argmax)


def argmin(x, dim=None, keepdim: bool = False) -> Tensor:
    """Index of the smallest element (flat index when dim is None); int64, no gradient."""
    return _arg(x, dim, keepdim, "argmin", np.argmin)


def all(x, dim=None, keepdim: bool = False) -> Tensor:
    x = ensure_tensor(x, "all")
    return leaf(np.asarray(np.all(x._data, axis=norm_dims(dim, x.ndim, "all"), keepdims=keepdim)))


def any(x, dim=None, keepdim: bool = False) -> Tensor:
    x = ensure_tensor(x, "any")
    return leaf(np.asarray(np.any(x._data, axis=norm_dims(dim, x.ndim, "any"), keepdims=keepdim)))


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


def _expand_graph(g: Tensor, shape: tuple, dims, keepdim: bool) -> Tensor:
    """``expand_reduced`` in recorded ops: the reduced gradient broadcast back to ``shape``."""
    if dims is None:
        return g.reshape((1,) * len(shape)).broadcast_to(shape)
    if not keepdim:
        kept = list(g.shape)
        for d in dims:
            kept.insert(d, 1)
        g = g.reshape(tuple(kept))
    return g.broadcast_to(shape)


@graph_rule(_sum_backward)
def _sum_graph(node, g):
    saved = node._saved
    return (_expand_graph(g, node._parents[0].shape, saved.dims, saved.keepdim),)


@graph_rule(_mean_backward)
def _mean_graph(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    shape = node._parents[0].shape
    return (_expand_graph(g / _count(shape, dims), shape, dims, keepdim),)


@graph_rule(_identity_rule)
def _identity_graph(node, g):
    return (g,)


@graph_rule(_extreme_all_backward)
def _extreme_all_graph(node, g):
    share = _extreme_all_backward(node, np.ones((), node.dtype))[0]    # hit / count
    return (g * constant(share),)


@graph_rule(_extreme_dim_backward)
def _extreme_dim_graph(node, g):
    d, idx, keepdim = node._saved.dim, node._saved.indices, node._saved.keepdim
    full = idx if keepdim else np.expand_dims(idx, d)
    return (linear_map(g, lambda a: _extreme_dim_backward(node, a)[0],
                       lambda h: (np.take_along_axis(h, full, axis=d) if keepdim else
                                  np.take_along_axis(h, full, axis=d).squeeze(d)),
                       "max_scatter"),)


@graph_rule(_amax_backward)
def _amax_graph(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]
    share = _amax_backward(node, np.ones(node.shape, node.dtype))[0]
    return (_expand_graph(g, x.shape, dims, keepdim) * constant(share),)


@graph_rule(_var_backward)
def _var_graph(node, g):
    dims, keepdim, dof = node._saved.dims, node._saved.keepdim, node._saved.dof
    x = node._parents[0]
    centred = x - x.mean(dim=dims, keepdim=True) if dims is not None else x - x.mean()
    return (_expand_graph(g, x.shape, dims, keepdim) * centred * (2 / dof),)


@graph_rule(_std_backward)
def _std_graph(node, g):
    dims, keepdim, dof = node._saved.dims, node._saved.keepdim, node._saved.dof
    x = node._parents[0]
    centred = x - x.mean(dim=dims, keepdim=True) if dims is not None else x - x.mean()
    return (_expand_graph(g / node, x.shape, dims, keepdim) * centred / dof,)


@graph_rule(_logsumexp_backward)
def _logsumexp_graph(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]
    out = _expand_graph(node, x.shape, dims, keepdim)
    return (_expand_graph(g, x.shape, dims, keepdim) * (x - out).exp(),)


@graph_rule(_norm_backward)
def _norm_graph(node, g):
    p, dims, keepdim = node._saved.p, node._saved.dims, node._saved.keepdim
    x = node._parents[0]
    n = _expand_graph(node, x.shape, dims, keepdim)
    zero = n._data == 0
    safe = n + constant(zero.astype(n.dtype))          # 1 where the norm is 0
    if p == 2:
        d = x / safe
    else:
        d = constant(np.sign(x._data)) * x.abs() ** (p - 1) / safe ** (p - 1)
    return (_expand_graph(g, x.shape, dims, keepdim) * d * constant(~zero),)


@graph_rule(_prod_backward)
def _prod_graph(node, g):
    dims, keepdim = node._saved.dims, node._saved.keepdim
    x = node._parents[0]
    if not np.all(x._data):
        raise RuntimeError("backward(create_graph=True) of prod: an input element is 0, where "
                           "the recorded rule (prod / x) does not hold; a differentiable "
                           "rule for zeros is not implemented")
    out = _expand_graph(node, x.shape, dims, keepdim)
    return (_expand_graph(g, x.shape, dims, keepdim) * out / x,)
