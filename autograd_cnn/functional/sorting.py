"""Sorting along a dim: ``sort``, ``argsort``, ``topk``.

``sort`` and ``topk`` return ``(values, indices)`` as PyTorch does; ``values`` are the input's
elements gathered at ``indices`` along ``dim``, so the gradient is scattered back there:

    values = take_along_axis(x, indices, dim)        d values / d x: 1 at the gathered element

Order, as in PyTorch with ``stable=True``: equal elements keep their original order (in both
directions), NaN counts as larger than every number.
"""

from __future__ import annotations

import numpy as np

from ..errors import ShapeError
from .base import ensure_tensor, graph_rule, leaf, linear_map, make, norm_dim
from .reduce import ValuesIndices

__all__ = ["sort", "argsort", "topk"]


def _order(a: np.ndarray, axis: int, descending: bool) -> np.ndarray:
    """Indices that sort ``a`` along ``axis`` (stable; NaN largest)."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")      # numpy already puts NaN last
    if a.dtype.kind == "f":
        # primary key: NaN first; secondary: -a ascending (lexsort is stable, last key first)
        return np.lexsort((-a, ~np.isnan(a)), axis=axis)
    key = a.astype(np.int64) if a.dtype.kind in "bu" else a
    return np.argsort(-key, axis=axis, kind="stable")


def _gathered(x, idx: np.ndarray, d: int, name: str) -> ValuesIndices:
    if x.ndim == 0:                             # a 0-d tensor is its own sort, at index 0
        idx = np.zeros((), np.int64)
        return ValuesIndices(make(x._data.copy(), (x,), name, _same_backward), leaf(idx))
    values = np.take_along_axis(x._data, idx, axis=d)
    out = make(values, (x,), name, _gathered_backward, (d, idx))
    return ValuesIndices(out, leaf(idx.astype(np.int64, copy=False)))


def _scatter(g: np.ndarray, idx: np.ndarray, d: int, shape: tuple, dtype) -> np.ndarray:
    gx = np.zeros(shape, dtype=np.result_type(g, dtype))
    np.put_along_axis(gx, idx, g, axis=d)       # the indices are distinct along d
    return gx


def _gathered_backward(node, g):
    d, idx = node._saved
    x = node._parents[0]
    return (_scatter(g, idx, d, x._data.shape, x.dtype),)


@graph_rule(_gathered_backward)
def _gathered_graph(node, g):
    # the scatter is linear in g; its adjoint gathers again
    d, idx = node._saved
    x = node._parents[0]
    return (linear_map(g, lambda a: _scatter(a, idx, d, x._data.shape, x.dtype),
                       lambda a: np.take_along_axis(a, idx, axis=d), f"{node._op}_backward"),)


def _same_backward(node, g):
    return (g,)


graph_rule(_same_backward)(_same_backward)      # the identity is its own recorded form


def sort(x, dim: int = -1, descending: bool = False, stable: bool = False) -> ValuesIndices:
    """``(values, indices)``: x sorted along ``dim`` and where each value came from.
    Shapes: both like x. (Always stable; ``stable`` is accepted for PyTorch's signature.)"""
    x = ensure_tensor(x, "sort")
    d = norm_dim(dim, x.ndim, "sort")
    if x.ndim == 0:
        return _gathered(x, None, 0, "sort")
    return _gathered(x, _order(x._data, d, descending), d, "sort")


def argsort(x, dim: int = -1, descending: bool = False, stable: bool = False):
    """The indices ``sort`` returns (int64, no gradient)."""
    return sort(x, dim, descending).indices


def topk(x, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:
    """``(values, indices)`` of the ``k`` largest (``largest=False``: smallest) elements along
    ``dim``, in sorted order. Shapes: like x with size k along ``dim``."""
    x = ensure_tensor(x, "topk")
    d = norm_dim(dim, x.ndim, "topk")
    n = x._data.shape[d] if x.ndim else 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"topk: k must be an int, got {type(k).__name__} ({k!r})")
    if not 0 <= k <= n:
        raise ShapeError(f"topk: k must be an int in 0 .. {n} (the size of dim {dim}), "
                         f"got {k!r}")
    if x.ndim == 0:
        return _gathered(x, None, 0, "topk")
    idx = _order(x._data, d, largest)
    idx = np.take(idx, np.arange(k), axis=d)
    return _gathered(x, idx, d, "topk")
