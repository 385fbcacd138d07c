"""Index ops with PyTorch's rules: index_select, scatter, scatter_add, masked_fill, one_hot,
and the ops that move or mask elements by position: roll, repeat_interleave, tril, triu.

PyTorch's index rules, kept here: index tensors are integer tensors (int64 or int32; floats are
refused); an index must lie in [0, size) (negative indices are out of range, unlike Python
indexing); a scatter/gather index has as many dims as the input, and is no larger than the
input in every dim but ``dim`` (and no larger than ``src`` in any dim). Backward rules send each
output element's gradient back to the element it came from (repeated indices accumulate).
"""

from __future__ import annotations

import builtins
import numbers
from typing import Callable, NamedTuple

import numpy as np

from ..errors import DTypeError, ShapeError
from .base import Tensor, constant, ensure_tensor, graph_rule, leaf, linear_map, make, norm_dim

__all__ = ["index_select", "scatter", "scatter_add", "masked_fill", "one_hot", "roll",
           "repeat_interleave", "tril", "triu", "check_index", "embedding", "nonzero",
           "count_nonzero", "diag", "trace"]


def _index_array(index, where: str) -> np.ndarray:
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise DTypeError(f"{where}: expected an int64 or int32 index tensor, got dtype "
                         f"{idx.dtype}")
    return idx


def check_index(idx: np.ndarray, size: int, dim: int, where: str) -> None:
    """Every index in [0, size): PyTorch refuses negative indices in index ops."""
    if idx.size and (idx.min() < 0 or idx.max() >= size):
        bad = idx.min() if idx.min() < 0 else idx.max()
        raise IndexError(f"{where}: index {int(bad)} is out of bounds for dimension {dim} "
                         f"with size {size} (indices must be in [0, {size}))")


def _positions(idx: np.ndarray, d: int) -> tuple:
    """Full numpy index tuple addressing x[.., idx[i, j, ..], ..] at every position of idx."""
    return tuple(idx if i == d else np.arange(s).reshape((-1,) + (1,) * (idx.ndim - 1 - i))
                 for i, s in enumerate(idx.shape))


# ---- index_select (and repeat_interleave, which is index_select of repeated positions) --------


def index_select(x, dim: int, index) -> Tensor:
    """The entries ``index`` (1-D or 0-D, in [0, size)) along ``dim``:
    out.shape = x.shape with size(dim) replaced by len(index).
    Backward: add each output slice's gradient into the slice it was taken from."""
    x = ensure_tensor(x, "index_select")
    d = norm_dim(dim, builtins.max(x.ndim, 1), "index_select")
    idx = _index_array(index, "index_select")
    if idx.ndim > 1:
        raise IndexError(f"index_select: index must be a vector (1-D or 0-D), got shape "
                         f"{idx.shape}")
    idx = idx.reshape(-1)
    if x.ndim == 0:                           # a 0-d tensor acts as its one element
        check_index(idx, 1, 0, "index_select")
        return _take(x.reshape(1), 0, idx, "index_select").reshape(idx.shape[:0] if
                                                                     idx.size == 1 else -1)
    check_index(idx, x.shape[d], d, "index_select")
    return _take(x, d, idx, "index_select")


class IndexSelectSaved(NamedTuple):
    """What an index_select (or repeat_interleave) node keeps: the dim and the 1-D index."""
    dim: int
    index: np.ndarray


def _take(x: Tensor, d: int, idx: np.ndarray, label: str) -> Tensor:
    return make(np.take(x._data, idx, axis=d), (x,), label, _index_select_backward,
                IndexSelectSaved(d, idx))


def _index_select_backward(node, g):
    d, idx = node._saved.dim, node._saved.index
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=g.dtype)
    np.add.at(gx, (slice(None),) * d + (idx,), g)
    return (gx,)


def repeat_interleave(x, repeats=None, dim=None, *, output_size=None) -> Tensor:
    """Repeat each element (dim=None: of the flattened tensor) or each slice along ``dim``
    ``repeats`` times (an int, or a 1-D tensor with one count per slice, or a single count).
    ``repeat_interleave(counts)`` alone gives [0]*counts[0] + [1]*counts[1] + ...
    Backward: sum the gradient of the copies."""
    if repeats is None:                      # the one-argument form
        counts = _index_array(x, "repeat_interleave")
        if counts.ndim != 1:
            raise ShapeError(f"repeat_interleave: repeats must be 1-D, got shape {counts.shape}")
        return leaf(np.repeat(np.arange(counts.size, dtype=np.int64), counts))
    x = ensure_tensor(x, "repeat_interleave")
    if dim is None:
        x = x.reshape(-1)
        d = 0
    else:
        d = norm_dim(dim, x.ndim, "repeat_interleave")
    n = x.shape[d]
    if isinstance(repeats, (numbers.Integral, np.integer)) and not isinstance(repeats, bool):
        counts = np.full(n, int(repeats), dtype=np.int64)
    else:
        counts = _index_array(repeats, "repeat_interleave").reshape(-1)
        if counts.size == 1:
            counts = np.full(n, int(counts[0]), dtype=np.int64)
        elif counts.size != n:
            raise ShapeError(f"repeat_interleave: repeats must have the same size as the input "
                             f"along dim {d}, but got {counts.size} repeats for size {n}")
    if counts.size and counts.min() < 0:
        raise ValueError(f"repeat_interleave: repeats must be non-negative, got "
                         f"{int(counts.min())}")
    return _take(x, d, np.repeat(np.arange(n), counts), "repeat_interleave")


# ---- scatter, scatter_add ------------------------------------------------------------------------


def _scatter_args(x, dim, index, src, where):
    x = ensure_tensor(x, where)
    d = norm_dim(dim, builtins.max(x.ndim, 1), where)
    idx = _index_array(index, where)
    if idx.ndim != builtins.max(x.ndim, 1) and not (x.ndim == 0 and idx.ndim == 0):
        raise ShapeError(f"{where}: index has {idx.ndim} dims but the input has {x.ndim} "
                         f"(index shape {idx.shape}, input shape {x.shape}); they must match")
    src_is_tensor = isinstance(src, (Tensor, np.ndarray))
    if src_is_tensor:
        src = ensure_tensor(src, where)
        if src.dtype != x.dtype:
            raise DTypeError(f"{where}: src has dtype {src.dtype} but the input has "
                             f"{x.dtype}; they must be equal")
        if src.ndim != idx.ndim:
            raise ShapeError(f"{where}: src has {src.ndim} dims but index has {idx.ndim}")
    for i, n in enumerate(idx.shape):
        if (i != d and n > x.shape[i]) or (src_is_tensor and n > src.shape[i]):
            raise ShapeError(f"{where}: index shape {idx.shape} must be no larger than the "
                             f"input {x.shape} apart from dimension {d}"
                             + (f", and no larger than src {src.shape}" if src_is_tensor else ""))
    check_index(idx, x.shape[d] if x.ndim else 1, d, where)
    return x, d, idx, src, src_is_tensor


class ScatterSaved(NamedTuple):
    """What a scatter node keeps: the written positions (an index tuple into the output) and
    the index's shape (the corner of src that was read)."""
    positions: tuple
    index_shape: tuple


def scatter(x, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:
    """A copy of x with out[.., index[i, j, ..], ..] = src[i, j, ..] along ``dim`` (src a
    tensor at least as large as index, or a number). ``reduce`` 'add' / 'multiply' combine
    instead of overwriting. With repeated indices the last write wins (PyTorch leaves it
    unspecified). Backward (no reduce): x gets g with the written positions zeroed; src gets
    g read back at the positions it was written to."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: give src (a tensor or a number) or value")
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter: reduce must be None, 'add' or 'multiply', got {reduce!r}")
    x, d, idx, src, is_t = _scatter_args(x, dim, index, src, "scatter")
    pos = _positions(idx, d)
    vals = src._data[tuple(slice(0, n) for n in idx.shape)] if is_t else \
        np.asarray(src, dtype=x.dtype)
    out = x._data.copy()
    if reduce == "add":
        np.add.at(out, pos, vals)
    elif reduce == "multiply":
        np.multiply.at(out, pos, vals)
    else:
        out[pos] = vals
    if reduce is not None:                   # PyTorch has no gradient for these either
        return leaf(out)
    parents = (x, src) if is_t else (x,)
    return make(out, parents, "scatter", _scatter_backward,
                ScatterSaved(pos, idx.shape))


def _scatter_backward(node, g):
    pos, shape = node._saved.positions, node._saved.index_shape
    x = node._parents[0]
    gx = None
    if x.requires_grad:
        gx = g.copy()
        gx[pos] = 0
    if len(node._parents) == 1:
        return (gx,)
    src = node._parents[1]
    gs = None
    if src.requires_grad:
        gs = np.zeros(src.shape, g.dtype)
        gs[tuple(slice(0, n) for n in shape)] = g[pos]    # (PyTorch: gather(g, index))
    return gx, gs


class ScatterAddSaved(NamedTuple):
    """What a scatter_add node keeps: the positions added to and the index's shape."""
    positions: tuple
    index_shape: tuple


def scatter_add(x, dim: int, index, src) -> Tensor:
    """A copy of x with src[i, j, ..] added at out[.., index[i, j, ..], ..] along ``dim``
    (repeated indices accumulate).  d/dx = 1;  d/dsrc = g gathered at index."""
    x, d, idx, src, is_t = _scatter_args(x, dim, index, src, "scatter_add")
    if not is_t:
        raise TypeError(f"scatter_add: src must be a tensor, got {type(src).__name__}")
    pos = _positions(idx, d)
    out = x._data.copy()
    np.add.at(out, pos, src._data[tuple(slice(0, n) for n in idx.shape)])
    return make(out, (x, src), "scatter_add", _scatter_add_backward,
                ScatterAddSaved(pos, idx.shape))


def _scatter_add_backward(node, g):
    pos, shape = node._saved.positions, node._saved.index_shape
    src = node._parents[1]
    gs = None
    if src.requires_grad:
        gs = np.zeros(src.shape, g.dtype)
        gs[tuple(slice(0, n) for n in shape)] = g[pos]
    return g, gs


# ---- masks -------------------------------------------------------------------------------------


class MaskedFillSaved(NamedTuple):
    """What a masked_fill node keeps: the bool mask (as given, broadcasting with x)."""
    mask: np.ndarray


def masked_fill(x, mask, value) -> Tensor:
    """x with ``value`` (a number or a 0-d tensor) wherever the bool ``mask`` is true; mask
    broadcasts with x. The value is cast to x's dtype (2.7 into an int64 tensor is 2).
    d/dx = not mask;  d/dvalue = the sum of g over the masked positions."""
    x = ensure_tensor(x, "masked_fill")
    m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_fill: only bool masks are supported, got mask dtype {m.dtype}")
    try:
        shape = np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {m.shape} cannot be broadcast with the "
                         f"input's shape {x.shape}") from None
    parents = (x,)
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: the value must be a number or a 0-d tensor, got a "
                             f"tensor of shape {value.shape}")
        if value.requires_grad and value.dtype == x.dtype:
            parents = (x, value)
        v = value._data
    else:
        v = value
    out = np.where(m, np.asarray(v).astype(x.dtype), x._data)
    return make(out.reshape(shape), parents, "masked_fill", _masked_fill_backward,
                MaskedFillSaved(m))


def _masked_fill_backward(node, g):
    m = node._saved.mask
    zero = np.zeros((), g.dtype)
    gx = np.where(m, zero, g)
    if len(node._parents) == 1:
        return (gx,)
    return gx, np.asarray(np.where(m, g, zero).sum(), dtype=g.dtype)


def tril(x, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two dims (j - i <= diagonal kept, the rest 0).
    Backward: the lower triangle of g."""
    return _triangle(x, diagonal, "tril", np.tril)


def triu(x, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two dims (j - i >= diagonal kept, the rest 0).
    Backward: the upper triangle of g."""
    return _triangle(x, diagonal, "triu", np.triu)


class TriangleSaved(NamedTuple):
    """What a tril/triu node keeps: numpy's np.tril or np.triu, and the diagonal."""
    fn: Callable
    diagonal: int


def _triangle(x, diagonal, name, fn):
    x = ensure_tensor(x, name)
    if x.ndim < 2:
        raise ShapeError(f"{name}: input tensor must have at least 2 dimensions, got shape "
                         f"{x.shape}")
    return make(fn(x._data, int(diagonal)), (x,), name, _triangle_backward,
                TriangleSaved(fn, int(diagonal)))


def _triangle_backward(node, g):
    fn, k = node._saved.fn, node._saved.diagonal
    return (fn(g, k),)


class RollSaved(NamedTuple):
    """What a roll node keeps: the shifts and the (non-negative) dims, None for the flattened
    tensor."""
    shifts: tuple
    dims: tuple | None


def roll(x, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (None: the flattened tensor, shape
    kept). Backward: roll the gradient back."""
    x = ensure_tensor(x, "roll")
    shifts_t = tuple(shifts) if isinstance(shifts, (tuple, list)) else (int(shifts),)
    if dims is None:
        if len(shifts_t) != 1:
            raise ShapeError(f"roll: without dims, shifts must be a single number, got {shifts}")
        return make(np.roll(x._data, shifts_t[0]), (x,), "roll", _roll_backward,
                    RollSaved(shifts_t, None))
    dims_t = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(shifts_t) != len(dims_t):
        raise ShapeError(f"roll: shifts and dims must align, got {len(shifts_t)} shifts and "
                         f"{len(dims_t)} dims")
    axes = tuple(norm_dim(d, x.ndim, "roll") for d in dims_t)
    return make(np.roll(x._data, shifts_t, axes), (x,), "roll", _roll_backward,
                RollSaved(shifts_t, axes))


def _roll_backward(node, g):
    shifts, axes = node._saved.shifts, node._saved.dims
    back = tuple(-s for s in shifts)
    return (np.roll(g, back[0]) if axes is None else np.roll(g, back, axes),)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each class index
    (num_classes=-1: max + 1). Classes must lie in [0, num_classes)."""
    idx = tensor._data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if idx.dtype != np.int64:
        raise DTypeError(f"one_hot: expected an int64 (long) tensor of class indices, got "
                         f"dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; give it")
        num_classes = int(idx.max()) + 1
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class values must be smaller than num_classes "
                         f"({num_classes}), got {int(idx.max())}")
    return leaf((idx[..., None] == np.arange(num_classes)).astype(np.int64))


class EmbeddingSaved(NamedTuple):
    """What an embedding node keeps: the indices, padding_idx (non-negative, or None) and the
    per-row gradient scale of scale_grad_by_freq ((num_embeddings, 1), or None)."""
    indices: np.ndarray
    padding_idx: int | None
    scale: np.ndarray | None


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by the integer ``input``:
    out.shape = input.shape + (dim,). Backward: each row's gradient is the sum of the gradients
    of the positions that picked it; the row ``padding_idx`` gets none (as in PyTorch).
    ``max_norm``: the picked rows whose ``norm_type``-norm exceeds it are first rescaled in place
    to max_norm / (norm + 1e-7), as PyTorch does. ``scale_grad_by_freq``: a row's gradient is
    divided by how often it was picked in ``input``. ``sparse=True`` is accepted and gives the
    same (dense) gradient: there are no sparse tensors here."""
    w = ensure_tensor(weight, "embedding")
    idx = _index_array(input, "embedding")
    if w.ndim != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {w.shape}")
    check_index(idx, w.shape[0], 0, "embedding")
    if padding_idx is not None and padding_idx < 0:
        padding_idx += w.shape[0]
    if max_norm is not None:
        _renorm_rows(w, idx, float(max_norm), float(norm_type))
    scale = None
    if scale_grad_by_freq:
        counts = np.bincount(idx.reshape(-1), minlength=w.shape[0]).astype(w.dtype)
        scale = 1 / np.maximum(counts, 1)[:, None]          # (num_embeddings, 1)
    return make(w._data[idx], (w,), "embedding", _embedding_backward,
                EmbeddingSaved(idx, padding_idx, scale))


def _renorm_rows(w: Tensor, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """PyTorch's embedding_renorm_: the picked rows of norm above max_norm, scaled in place
    (not recorded, as in PyTorch) by max_norm / (norm + 1e-7)."""
    rows = np.unique(idx)
    norms = np.linalg.norm(w._data[rows], ord=norm_type, axis=1)
    big = norms > max_norm
    if big.any():
        w._data[rows[big]] *= (max_norm / (norms[big] + 1e-7))[:, None].astype(w.dtype)
        w._bump_version()


def _embedding_backward(node, g):
    idx, pad, scale = node._saved.indices, node._saved.padding_idx, node._saved.scale
    gw = np.zeros(node._parents[0].shape, g.dtype)
    np.add.at(gw, idx.reshape(-1), g.reshape(idx.size, -1))
    if scale is not None:
        gw *= scale
    if pad is not None:
        gw[pad] = 0
    return (gw,)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------
# All are linear in the gradient: scatters recorded through ``linear_map`` with their gather as
# the adjoint (and the other way round).


@graph_rule(_index_select_backward)
def _index_select_graph(node, g):
    d, idx = node._saved.dim, node._saved.index
    return (linear_map(g, lambda a: _index_select_backward(node, a)[0],
                       lambda h: np.take(h, idx, axis=d), "index_select_scatter"),)


def _src_maps(pos, shape, src_shape):
    """g -> the gradient of src (g read at the written positions) and its adjoint."""
    corner = tuple(slice(0, n) for n in shape)

    def pick(a):
        out = np.zeros(src_shape, a.dtype)
        out[corner] = a[pos]
        return out

    def place(h, out_shape):
        out = np.zeros(out_shape, h.dtype)
        np.add.at(out, pos, h[corner])
        return out
    return pick, place


@graph_rule(_scatter_backward)
def _scatter_graph(node, g):
    pos, shape = node._saved.positions, node._saved.index_shape
    x = node._parents[0]

    def zero_at(a):
        a = np.array(a, copy=True)
        a[pos] = 0
        return a
    gx = linear_map(g, zero_at, zero_at, "scatter_zero") if x.requires_grad else None
    if len(node._parents) == 1:
        return (gx,)
    src = node._parents[1]
    gs = None
    if src.requires_grad:
        pick, place = _src_maps(pos, shape, src.shape)
        gs = linear_map(g, pick, lambda h: place(h, node.shape), "scatter_pick")
    return gx, gs


@graph_rule(_scatter_add_backward)
def _scatter_add_graph(node, g):
    pos, shape = node._saved.positions, node._saved.index_shape
    src = node._parents[1]
    gs = None
    if src.requires_grad:
        pick, place = _src_maps(pos, shape, src.shape)
        gs = linear_map(g, pick, lambda h: place(h, node.shape), "scatter_add_pick")
    return g, gs


@graph_rule(_masked_fill_backward)
def _masked_fill_graph(node, g):
    from .elementwise import where
    m = node._saved.mask
    gx = where(m, 0.0, g)
    if len(node._parents) == 1:
        return (gx,)
    return gx, where(m, g, 0.0).sum()


@graph_rule(_triangle_backward)
def _triangle_graph(node, g):
    fn, k = node._saved.fn, node._saved.diagonal
    return (g * constant(fn(np.ones(node.shape, g.dtype), k)),)


@graph_rule(_roll_backward)
def _roll_graph(node, g):
    shifts, axes = node._saved.shifts, node._saved.dims
    back = tuple(-s for s in shifts)
    return (roll(g, back[0]) if axes is None else roll(g, back, axes),)


@graph_rule(_embedding_backward)
def _embedding_graph(node, g):
    idx, pad, scale = node._saved.indices, node._saved.padding_idx, node._saved.scale

    def rows(h):
        h = np.array(h, copy=True)
        if scale is not None:
            h = h * scale
        if pad is not None:
            h[pad] = 0
        return h[idx]
    return (linear_map(g, lambda a: _embedding_backward(node, a)[0], rows,
                       "embedding_scatter"),)


# ---- where the non-zeros are; diagonals -------------------------------------------------------


def nonzero(x, *, as_tuple: bool = False):
    """The indices of the non-zero elements: an int64 (count, ndim) tensor, row by row in
    C order, or with ``as_tuple`` one int64 1-D tensor per dim (numpy's nonzero).  No gradient."""
    x = ensure_tensor(x, "nonzero")
    if as_tuple:
        return tuple(leaf(i.astype(np.int64)) for i in np.nonzero(np.atleast_1d(x._data)))
    return leaf(np.argwhere(x._data).astype(np.int64))


def count_nonzero(x, dim=None) -> Tensor:
    """How many elements are non-zero (over ``dim``, an int or a tuple, or all), int64."""
    x = ensure_tensor(x, "count_nonzero")
    axis = None if dim is None else tuple(norm_dim(d, x.ndim, "count_nonzero") for d in
                                          (dim if isinstance(dim, (tuple, list)) else (dim,)))
    return leaf(np.asarray(np.count_nonzero(x._data, axis=axis), dtype=np.int64))


def diag(x, diagonal: int = 0) -> Tensor:
    """A 1-D x as the ``diagonal``-th diagonal of a square matrix (0 elsewhere), or the
    ``diagonal``-th diagonal of a 2-D x as a 1-D tensor.  A linear map: the gradient is the
    other direction (the diagonal of g, or g on the diagonal)."""
    x = ensure_tensor(x, "diag")
    k = int(diagonal)
    if x.ndim == 1:
        return linear_map(x, lambda v: np.diag(v, k),
                          lambda g: np.ascontiguousarray(np.diagonal(g, k)), "diag")
    if x.ndim == 2:
        shape = x.shape

        def embed(v):
            out = np.zeros(shape, v.dtype)
            rows = np.arange(v.shape[0]) + builtins.max(-k, 0)
            out[rows, rows + k] = v
            return out
        return linear_map(x, lambda m: np.ascontiguousarray(np.diagonal(m, k)), embed, "diag")
    raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {x.shape}")


def trace(x) -> Tensor:
    """The sum of the main diagonal of a 2-D tensor.  d/dx = the identity matrix (cut to x's
    shape)."""
    x = ensure_tensor(x, "trace")
    if x.ndim != 2:
        raise ShapeError(f"trace: expected a 2-D tensor, got shape {x.shape}")
    return diag(x).sum()
