"""Ops along one dim: running sums and products, sorting, the k largest.

    cumsum   y_i = sum_{j<=i} x_j          dL/dx_j = sum_{i>=j} g_i (a reversed cumsum)
    cumprod  y_i = prod_{j<=i} x_j         dL/dx_j = sum_{i>=j} g_i prod_{k<=i, k!=j} x_k
    sort / argsort / topk: a permutation (or selection) of x along dim; the gradient goes back
    to the position each value came from.

Shapes: cumsum/cumprod/sort keep x's shape; topk replaces size(dim) by k. Integer and bool
tensors cumsum/cumprod to int64, as in PyTorch. A 0-d tensor is treated as one element.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ShapeError
from .base import (Tensor, cast_to, constant, ensure_tensor, graph_rule, leaf, linear_map, make,
                   norm_dim)
from .reduce import ValuesIndices

__all__ = ["cumsum", "cumprod", "sort", "argsort", "topk", "median"]


def _dim_arg(x: Tensor, dim, where: str) -> int:
    return norm_dim(dim, max(x.ndim, 1), where)


def _prepare(x, dim, dtype, where):
    x = ensure_tensor(x, where)
    if dtype is not None:
        x = cast_to(x, np.dtype(dtype))
    elif x._data.dtype.kind in "biu":
        x = leaf(x._data.astype(np.int64))
    return x, _dim_arg(x, dim, where)


class CumsumSaved(NamedTuple):
    """What a cumsum node keeps: the (non-negative) dim it runs along."""
    dim: int


def cumsum(x, dim: int, *, dtype=None) -> Tensor:
    """Running sum along ``dim``.  Backward: the reversed running sum of g."""
    x, d = _prepare(x, dim, dtype, "cumsum")
    out = np.cumsum(x._data.reshape(x.shape or (1,)), axis=d).reshape(x.shape)
    return make(out, (x,), "cumsum", _cumsum_backward, CumsumSaved(d))


def _reverse_cumsum(g: np.ndarray, d: int) -> np.ndarray:
    return np.flip(np.cumsum(np.flip(g, d), axis=d), d)


def _cumsum_backward(node, g):
    x = node._parents[0]
    return (_reverse_cumsum(g.reshape(x.shape or (1,)), node._saved.dim).reshape(x.shape),)


class CumprodSaved(NamedTuple):
    """What a cumprod node keeps: the (non-negative) dim it runs along."""
    dim: int


def cumprod(x, dim: int, *, dtype=None) -> Tensor:
    """Running product along ``dim``.  Backward: without zeros, revcumsum(g * y) / x; with
    zeros, the exact sum over i >= j of g_i times the product of x_k (k <= i, k != j)."""
    x, d = _prepare(x, dim, dtype, "cumprod")
    out = np.cumprod(x._data.reshape(x.shape or (1,)), axis=d).reshape(x.shape)
    return make(out, (x,), "cumprod", _cumprod_backward, CumprodSaved(d))


def _cumprod_backward(node, g):
    x = node._parents[0]
    d = node._saved.dim
    shape = x.shape or (1,)
    xd, y, g = x._data.reshape(shape), node._data.reshape(shape), g.reshape(shape)
    if np.all(xd != 0):
        return ((_reverse_cumsum(g * y, d) / xd).reshape(x.shape),)
    # the exact rule, O(n^2) along dim: x_j replaced by 1 gives prod_{k<=i, k!=j} x_k
    xm, gm = np.moveaxis(xd, d, -1), np.moveaxis(g, d, -1)
    n = xm.shape[-1]
    gx = np.empty_like(xm)
    for j in range(n):
        without = xm[..., j:].copy()
        without[..., 0] = 1
        partial = np.cumprod(without, axis=-1) * np.prod(xm[..., :j], axis=-1, keepdims=True)
        gx[..., j] = (gm[..., j:] * partial).sum(axis=-1)
    return (np.moveaxis(gx, -1, d).reshape(x.shape),)


def _order(data: np.ndarray, d: int, descending: bool) -> np.ndarray:
    """Stable sorting permutation along d; descending keeps ties in their original order (as
    PyTorch's stable sort), and puts NaN first (ascending: last), as PyTorch does."""
    if not descending:
        return np.argsort(data, axis=d, kind="stable")
    if data.dtype.kind == "f":
        key = np.where(np.isnan(data), -np.inf, -data)
    else:                                    # bool, unsigned: negate in a signed type
        key = -data.astype(np.int64)
    return np.argsort(key, axis=d, kind="stable")


class SortSaved(NamedTuple):
    """What a sort/topk node keeps: the dim and the indices each value was taken from."""
    dim: int
    indices: np.ndarray


def _picked(x: Tensor, d: int, idx: np.ndarray, label: str) -> ValuesIndices:
    """(values, int64 indices) of x at ``idx`` along d."""
    data = x._data.reshape(x.shape or (1,))
    values = np.take_along_axis(data, idx, axis=d)
    if not x.ndim:
        values, idx = values.reshape(()), idx.reshape(())
    return ValuesIndices(make(values, (x,), label, _picked_backward, SortSaved(d, idx)),
                         leaf(idx.astype(np.int64)))


def _picked_backward(node, g):
    d, idx = node._saved.dim, node._saved.indices
    x = node._parents[0]
    shape = x.shape or (1,)
    gx = np.zeros(shape, g.dtype)
    np.put_along_axis(gx, idx.reshape(idx.shape or (1,)), g.reshape(idx.shape or (1,)), axis=d)
    return (gx.reshape(x.shape),)


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """(values, indices): x sorted along ``dim``, and where each value was. Always stable here
    (PyTorch's default leaves the order of ties unspecified).  Backward: each value's gradient
    goes back to its index."""
    x = ensure_tensor(x, "sort")
    d = _dim_arg(x, dim, "sort")
    idx = _order(x._data.reshape(x.shape or (1,)), d, descending)
    return _picked(x, d, idx, "sort")


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The indices that sort x along ``dim`` (int64, no gradient)."""
    return sort(x, dim, descending, stable).indices


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """(values, indices) of the k largest (largest=False: smallest) entries along ``dim``, in
    sorted order. out.shape = x.shape with size(dim) replaced by k."""
    x = ensure_tensor(x, "topk")
    d = _dim_arg(x, dim, "topk")
    n = x.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__} ({k!r})")
    if not 0 <= k <= n:
        # PyTorch raises RuntimeError here; ShapeError is one (and a ValueError)
        raise ShapeError(f"topk: k must be an int in 0 .. {n} (the size of dim {dim}), got {k} "
                         f"(shape {tuple(x.shape)})")
    idx = _order(x._data.reshape(x.shape or (1,)), d, largest)
    idx = np.take(idx, np.arange(k), axis=d)
    return _picked(x, d, idx, "topk")


def median(x, dim=None, keepdim: bool = False):
    """The lower median (element (n - 1) // 2 in sorted order, no average of the two middle
    ones), as PyTorch; NaN where the values include one (the first NaN's index). With ``dim``:
    (values, indices) along it; without: a 0-d tensor of all the elements. The gradient goes to
    the chosen element."""
    x = ensure_tensor(x, "median")
    if dim is None:
        flat = x.reshape(-1)
        if flat.shape[0] == 0:
            raise ShapeError("median: the input is empty; median() needs at least one element")
        return median(flat, 0).values
    d = _dim_arg(x, dim, "median")
    data = x._data.reshape(x.shape or (1,))
    n = data.shape[d]
    if n == 0:
        raise ShapeError(f"median: dim {dim} of shape {tuple(x.shape)} is empty")
    order = np.argsort(data, axis=d, kind="stable")            # NaN last
    idx = np.take(order, [(n - 1) // 2], axis=d)
    if data.dtype.kind == "f":
        nans = np.isnan(data)
        has = nans.any(axis=d, keepdims=True)
        if has.any():
            idx = np.where(has, np.argmax(nans, axis=d, keepdims=True), idx)
    values, indices = _picked(x, d, idx, "median")
    if keepdim or not x.ndim:
        return ValuesIndices(values, indices)
    return ValuesIndices(values.squeeze(d), leaf(np.squeeze(indices._data, d)))


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


def _cumsum_map(d, shape):
    return lambda a: np.cumsum(a.reshape(shape or (1,)), axis=d).reshape(shape)


@graph_rule(_cumsum_backward)
def _cumsum_graph(node, g):
    d, shape = node._saved.dim, node._parents[0].shape
    return (linear_map(g, lambda a: _cumsum_backward(node, a)[0], _cumsum_map(d, shape),
                       "cumsum_reversed"),)


@graph_rule(_cumprod_backward)
def _cumprod_graph(node, g):
    from .elementwise import where
    from .shape import stack
    x, d = node._parents[0], node._saved.dim
    flat = x if x.ndim else x.reshape(1)
    y, gf = (node if x.ndim else node.reshape(1)), (g if x.ndim else g.reshape(1))
    if np.all(x._data != 0):
        return ((gf * y).flip(d).cumsum(d).flip(d).div(flat).reshape(x.shape),)
    # the exact rule of _cumprod_backward, along the last dim, in recorded ops
    xt, gt = flat.transpose(d, -1), gf.transpose(d, -1)
    n = xt.shape[-1]
    cols = []
    for j in range(n):
        without = where(np.arange(n) == j, 1.0, xt).cumprod(-1)   # x_j replaced by 1
        cols.append((gt * without * constant((np.arange(n) >= j).astype(g.dtype))).sum(-1))
    return (stack(cols, -1).transpose(d, -1).reshape(x.shape),)


@graph_rule(_picked_backward)
def _picked_graph(node, g):
    d, idx = node._saved.dim, node._saved.indices
    shape = node._parents[0].shape

    def pick(h):
        return np.take_along_axis(h.reshape(shape or (1,)), idx.reshape(idx.shape or (1,)),
                                  axis=d).reshape(idx.shape)
    return (linear_map(g, lambda a: _picked_backward(node, a)[0], pick, "sort_scatter"),)
