"""Shape ops: views and rearrangements of the same numbers, indexing, joining and padding.

Their backward rules move the gradient back to where each element came from: reshape it back,
transpose it back, scatter-add it into the indexed positions (repeated indices accumulate).
"""

from __future__ import annotations

import builtins
from typing import NamedTuple

import numpy as np

from ..errors import ShapeError
from ..tensor import share_version
from .base import (Tensor, cast_to, ensure_tensor, graph_rule, linear_map, make, norm_dim,
                   promote_types)

__all__ = [
    "reshape", "view", "transpose", "permute", "flatten", "unflatten", "squeeze", "unsqueeze",
    "expand", "broadcast_to", "view_as", "reshape_as", "getitem", "index_put", "assign", "cat", "concatenate", "stack", "split",
    "chunk", "narrow", "pad", "gather", "contiguous", "repeat", "flip", "t", "expand_as",
    "pixel_shuffle", "pixel_unshuffle", "unbind", "tile", "movedim", "swapaxes", "hstack",
    "vstack",
]


def _sizes(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _is_view(out: np.ndarray, x: Tensor) -> bool:
    """Whether ``out`` is a numpy view of ``x``'s storage (numpy keeps the owner in ``base``)."""
    base = out.base
    return base is not None and (base is x._data or base is x._data.base)


def as_view(out: Tensor, x: Tensor) -> Tensor:
    """``out`` shares ``x``'s version counter when its array is a view of ``x``'s storage, so an
    in-place write through either invalidates the ops that recorded the other (as in PyTorch)."""
    if _is_view(out._data, x):
        share_version(out, x)
    return out


def reshape(x, *shape) -> Tensor:
    """The same elements in a new shape (one dim may be -1): a view when the strides allow it,
    a copy otherwise (as in PyTorch).  Backward: reshape back."""
    x = ensure_tensor(x, "reshape")
    shape = _sizes(shape)
    try:
        out = x._data.reshape(shape)
    except ValueError:
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x._data.size} elements) into shape {shape}") from None
    return as_view(make(out, (x,), "reshape", _reshape_backward), x)


def _reshape_backward(node, g):
    return (np.reshape(g, node._parents[0].shape),)


def view(x, *shape) -> Tensor:
    """Like ``reshape`` but always a view: refused (as in PyTorch) when the strides do not allow
    one, because a copy would silently stop in-place writes from reaching ``x``."""
    out = reshape(x, *shape)
    if out._data.size and not _is_view(out._data, x) and x._data.size:
        raise ShapeError(
            f"view: a tensor of shape {x.shape} with strides {x._data.strides} cannot be viewed "
            f"as shape {out.shape} without copying; use .reshape(...) (or .contiguous() first)")
    return out


def view_as(x, other) -> Tensor:
    """``x.view(other.shape)``."""
    return view(x, other.shape)


def expand_as(x, other) -> Tensor:
    """``x.expand(other.shape)``."""
    return expand(x, other.shape)


def t(x) -> Tensor:
    """The transpose of a matrix; 0-D and 1-D tensors are returned as they are (as a view)."""
    x = ensure_tensor(x, "t")
    if x.ndim > 2:
        raise ShapeError(f"t: expects a tensor with <= 2 dims, got shape {x.shape} (use "
                         "transpose(dim0, dim1) or mT)")
    return transpose(x, 0, 1) if x.ndim == 2 else view(x, x.shape)


def reshape_as(x, other) -> Tensor:
    """``x.reshape(other.shape)``."""
    return reshape(x, other.shape)


def contiguous(x) -> Tensor:
    """A C-contiguous copy when needed (a no-op otherwise)."""
    x = ensure_tensor(x, "contiguous")
    if x._data.flags.c_contiguous:
        return x
    return make(np.ascontiguousarray(x._data), (x,), "contiguous", _identity_backward)


def _identity_backward(node, g):
    return (g,)


def flatten(x, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N, C*H*W) for start_dim=1."""
    x = ensure_tensor(x, "flatten")
    if x.ndim == 0:
        return reshape(x, 1)
    s = norm_dim(start_dim, x.ndim, "flatten")
    e = norm_dim(end_dim, x.ndim, "flatten")
    if s > e:
        raise ShapeError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1], dtype=np.int64)),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim: int, sizes) -> Tensor:
    """Split dim into ``sizes``: (N, 12) -> (N, 3, 4) for dim=1, sizes=(3, 4)."""
    x = ensure_tensor(x, "unflatten")
    d = norm_dim(dim, x.ndim, "unflatten")
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


class TransposeSaved(NamedTuple):
    """What a transpose node keeps: the two (non-negative) dims it swapped."""
    dim0: int
    dim1: int


def transpose(x, dim0: int = 0, dim1: int = 1) -> Tensor:
    """Swap two dims.  Backward: swap them back."""
    x = ensure_tensor(x, "transpose")
    a = norm_dim(dim0, x.ndim, "transpose")
    b = norm_dim(dim1, x.ndim, "transpose")
    return as_view(make(np.swapaxes(x._data, a, b), (x,), "transpose", _transpose_backward,
                        TransposeSaved(a, b)), x)


def _transpose_backward(node, g):
    return (np.swapaxes(g, node._saved.dim0, node._saved.dim1),)


class PermuteSaved(NamedTuple):
    """What a permute node keeps: the permutation (non-negative dims)."""
    dims: tuple


def permute(x, *dims) -> Tensor:
    """Reorder dims: out.shape[i] = x.shape[dims[i]].  Backward: the inverse permutation."""
    x = ensure_tensor(x, "permute")
    dims = _sizes(dims)
    if len(dims) != x.ndim:
        raise ShapeError(f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim}")
    dims = tuple(norm_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ShapeError(f"permute: {dims} is not a permutation of 0..{x.ndim - 1}")
    return as_view(make(np.transpose(x._data, dims), (x,), "permute", _permute_backward,
                        PermuteSaved(dims)), x)


def _permute_backward(node, g):
    return (np.transpose(g, np.argsort(node._saved.dims)),)


def squeeze(x, dim=None) -> Tensor:
    """Remove size-1 dims (all of them, or just ``dim`` if it has size 1)."""
    x = ensure_tensor(x, "squeeze")
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        drop = {norm_dim(d, x.ndim, "squeeze") for d in dims}
        shape = tuple(n for i, n in enumerate(x.shape) if not (i in drop and n == 1))
    return reshape(x, shape)


def unsqueeze(x, dim: int) -> Tensor:
    """Insert a size-1 dim at ``dim`` (negative counts from the end of the result)."""
    x = ensure_tensor(x, "unsqueeze")
    d = norm_dim(dim, x.ndim + 1, "unsqueeze")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def broadcast_to(x, *shape) -> Tensor:
    """Broadcast to ``shape`` (numpy rules).  Backward: sum over the broadcast dims (engine)."""
    x = ensure_tensor(x, "broadcast_to")
    shape = _sizes(shape)
    try:
        out = np.broadcast_to(x._data, shape)
    except ValueError:
        raise ShapeError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}") from None
    return as_view(make(out, (x,), "broadcast_to", _identity_backward), x)


def expand(x, *sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes``; -1 keeps a dim's size (PyTorch's expand)."""
    x = ensure_tensor(x, "expand")
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ShapeError(f"expand: {len(sizes)} sizes given for a tensor with {x.ndim} dims")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


# ---- indexing ----------------------------------------------------------------------------------


def _index_part(k):
    """One entry of an index as numpy understands it: tensors, lists, tuples and ranges become
    integer or bool arrays (a 0-d integer tensor is an int, as in PyTorch)."""
    if isinstance(k, Tensor):
        k = k._data
        if k.ndim == 0 and k.dtype.kind in "iu":
            return int(k)
    elif isinstance(k, (list, tuple, range)):
        k = np.asarray(k)
        if k.size == 0:
            k = k.astype(np.int64)
    if isinstance(k, np.ndarray):
        if k.dtype.kind not in "iub":
            raise IndexError(f"tensors used as indices must be integer or bool tensors, got "
                             f"dtype {k.dtype}")
        return k
    if isinstance(k, slice):
        if k.step is not None and int(k.step) <= 0:
            raise ValueError(f"step must be greater than zero (got slice step {k.step}); "
                             "use .flip(dim) to reverse")
        return k
    if k is None or k is Ellipsis or isinstance(k, (int, np.integer)):
        return k
    raise IndexError(f"unsupported index of type {type(k).__name__} ({k!r}); expected ints, "
                     "slices, None, ..., or integer/bool tensors, arrays or lists")


def _index_key(key, ndim: int):
    """PyTorch's indexing as one or two numpy keys: ``(basic, advanced)``.

    numpy and PyTorch differ in one rule: numpy counts an int next to an index array as an
    advanced index (so ``x[0, :, [1, 2]]`` moves the broadcast dim first), PyTorch applies ints
    first, like slices. So ints, slices, None and ... go into the basic key (a view); the arrays
    are applied to that view as a second key, or ``advanced`` is None when there are none."""
    t = type(key)
    if t is int or (t is slice and (key.step is None or key.step > 0)):
        return (key,), None                 # the common x[i] and x[a:b], kept fast
    parts = [_index_part(k) for k in (key if t is tuple else (key,))]
    if not any(isinstance(k, np.ndarray) for k in parts):
        return tuple(parts), None
    if any(isinstance(k, np.ndarray) and k.dtype == np.bool_ and k.ndim == 0 for k in parts):
        return tuple(parts), None          # x[True]: numpy's (and PyTorch's) new axis of 0 or 1
    used = builtins.sum(k.ndim if isinstance(k, np.ndarray) and k.dtype == np.bool_ else
                        0 if k is None or k is Ellipsis else 1 for k in parts)
    if builtins.sum(k is Ellipsis for k in parts) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    expanded = []
    for k in parts:
        if k is Ellipsis:
            expanded += [slice(None)] * builtins.max(ndim - used, 0)
        else:
            expanded.append(k)
    basic, advanced = [], []
    for k in expanded:
        if isinstance(k, np.ndarray):
            basic += [slice(None)] * (k.ndim if k.dtype == np.bool_ else 1)
            advanced.append(k)
        elif isinstance(k, slice) or k is None:
            basic.append(k)
            advanced.append(slice(None))
        else:                               # an int: applied by the basic key, its dim is gone
            basic.append(k)
    return tuple(basic), tuple(advanced)


class GetitemSaved(NamedTuple):
    """What an indexing node keeps: the normalised key and whether it is basic (a view: ints,
    slices, None, ...) or advanced (index arrays, whose repeats accumulate)."""
    key: tuple
    basic: bool


def _basic(x: Tensor, key) -> Tensor:
    if Ellipsis not in key:
        key = key + (Ellipsis,)             # a trailing ... keeps x[0] of a vector a 0-d view
    try:
        out = x._data[key]
    except IndexError as err:
        raise IndexError(f"index {_show(key)} is invalid for a tensor of shape {x.shape}: "
                         f"{err}") from None
    return as_view(make(out, (x,), "getitem", _getitem_backward, GetitemSaved(key, True)), x)


def _advanced(x: Tensor, key) -> Tensor:
    try:
        out = x._data[key]
    except IndexError as err:
        raise IndexError(f"index {_show(key)} is invalid for a tensor of shape {x.shape}: "
                         f"{err}") from None
    return make(out, (x,), "getitem", _getitem_backward, GetitemSaved(key, False))


def _show(key) -> str:
    key = tuple(k for k in key if k is not Ellipsis) or key
    return repr(key if len(key) > 1 else key[0])


def getitem(x, key) -> Tensor:
    """x[key] with PyTorch's rules: ints, slices (positive steps), None, ..., integer and bool
    tensors/arrays/lists. Ints, slices, None and ... give a view (sharing storage and version
    counter); index arrays give a copy, placed as PyTorch places them (ints never count as
    advanced indices). Backward: the gradient is scatter-added into the indexed positions, so an
    element picked twice receives both contributions."""
    x = ensure_tensor(x, "getitem")
    basic, advanced = _index_key(key, x.ndim)
    if advanced is None:
        if any(isinstance(k, np.ndarray) for k in basic):
            return _advanced(x, basic)      # x[True] / x[False]
        return _basic(x, basic)
    if builtins.all(isinstance(k, slice) and k == slice(None) for k in basic):
        return _advanced(x, advanced)
    return _advanced(_basic(x, basic), advanced)


def _getitem_backward(node, g):
    key = node._saved.key
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    if node._saved.basic:
        gx[key] = g                 # basic indexing never repeats an element
    else:
        np.add.at(gx, key, g)       # repeated indices accumulate
    return (gx,)


class IndexPutSaved(NamedTuple):
    """What an index_put node keeps: the key the value was written at (as given)."""
    key: object


def index_put(x, key, value) -> Tensor:
    """A copy of x with ``x[key] = value`` (the recorded form of ``x[key] = value``).
    d/dx = 1 outside the written positions, 0 inside; d/dvalue = the gradient at the written
    positions (summed where value was broadcast)."""
    x = ensure_tensor(x, "index_put")
    v = value if isinstance(value, Tensor) else ensure_tensor(value, "index_put")
    out = x._data.copy()
    assign(out, key, v._data)
    return make(out, (x, v), "index_put", _index_put_backward, IndexPutSaved(key))


def _index_put_backward(node, g):
    key = node._saved.key
    x, v = node._parents
    gx = gv = None
    if x.requires_grad:
        gx = np.array(g, copy=True)
        assign(gx, key, 0)
    if v.requires_grad:
        gv = np.asarray(g)
        basic, advanced = _index_key(key, gv.ndim)
        gv = gv[basic] if advanced is None else gv[basic][advanced]
    return gx, gv


def assign(arr: np.ndarray, key, value) -> None:
    """``arr[key] = value`` on a numpy array, with PyTorch's indexing rules (see _index_key)."""
    basic, advanced = _index_key(key, arr.ndim)
    try:
        if advanced is None:
            arr[basic] = value
        else:
            arr[basic][advanced] = value    # arr[basic] is a view: the write reaches arr
    except ValueError as err:
        shape = np.shape(value)
        raise ShapeError(f"setitem: a value of shape {shape} cannot be assigned to the "
                         f"positions {_show(basic if advanced is None else advanced)} of a "
                         f"tensor of shape {arr.shape}: {err}") from None


def narrow(x, dim: int, start: int, length: int) -> Tensor:
    """The slice start:start+length along dim, a view (a negative start counts from the end,
    as in PyTorch)."""
    x = ensure_tensor(x, "narrow")
    d = norm_dim(dim, x.ndim, "narrow")
    n = x.shape[d]
    start, length = int(start), int(length)
    if not -n <= start <= n:
        raise IndexError(f"narrow: start {start} is out of range for dim {d} of size {n} "
                         f"(expected {-n} .. {n})")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ShapeError(f"narrow: start ({start}) + length ({length}) exceeds dim {d} of size "
                         f"{n}" if length >= 0 else f"narrow: length must be >= 0, got {length}")
    key = (slice(None),) * d + (slice(start, start + length),)
    return getitem(x, key)


class GatherSaved(NamedTuple):
    """What a gather node keeps: the full index tuple (the given index along the dim, aranges
    along the others) that picked the output from the input."""
    index: tuple


def gather(x, dim: int, index) -> Tensor:
    """out[i][j] = x[index[i][j]][j] for dim=0 (generally: index picks along ``dim``).
    index is an int tensor with x's number of dims and sizes no larger than x's.
    Backward: scatter-add the gradient to the picked positions."""
    x = ensure_tensor(x, "gather")
    d = norm_dim(dim, x.ndim, "gather")
    idx = index._data if isinstance(index, Tensor) else np.asarray(index)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"gather: index must be an integer tensor, got dtype {idx.dtype}")
    if idx.ndim != x.ndim:
        raise ShapeError(f"gather: index has {idx.ndim} dims but the input has {x.ndim} "
                         f"(index shape {idx.shape}, input shape {x.shape})")
    for i, (ni, nx) in enumerate(zip(idx.shape, x.shape)):
        if i != d and ni > nx:
            raise ShapeError(f"gather: index shape {idx.shape} is larger than the input shape "
                             f"{x.shape} in dim {i}")
    n = x.shape[d]
    if idx.size and (idx.min() < 0 or idx.max() >= n):  # PyTorch: no negative indices
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"gather: index {int(bad)} is out of bounds for dimension {d} with "
                         f"size {n} (indices must be in [0, {n}))")
    full = tuple(idx if i == d else np.arange(s).reshape((-1,) + (1,) * (idx.ndim - 1 - i))
                 for i, s in enumerate(idx.shape))
    return make(x._data[full], (x,), "gather", _gather_backward, GatherSaved(full))


def _gather_backward(node, g):
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    np.add.at(gx, node._saved.index, g)
    return (gx,)


# ---- joining and splitting ---------------------------------------------------------------------


class CatSaved(NamedTuple):
    """What a cat node keeps: the dim and the offsets where each input after the first starts."""
    dim: int
    bounds: np.ndarray


def _promoted(tensors: list) -> list:
    """The tensors of a cat or stack in one dtype, PyTorch's promotion over all of them (int64
    with float32 gives float32; numpy's concatenate would give float64); the gradient of a
    cast one is cast back."""
    dtype = tensors[0]._data.dtype
    for t in tensors[1:]:
        dtype = promote_types(dtype, t._data.dtype)
    return [cast_to(t, dtype) for t in tensors]


def cat(tensors, dim: int = 0) -> Tensor:
    """Join along an existing dim.  Backward: each input gets its slice of the gradient."""
    tensors = [ensure_tensor(t, "cat") for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = norm_dim(dim, tensors[0].ndim, "cat")
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1:] != ref[:d] + ref[d + 1:]:
            raise ShapeError(f"cat: tensor {i} has shape {t.shape}, which does not match "
                             f"{ref} outside dim {d}")
    tensors = _promoted(tensors)
    out = np.concatenate([t._data for t in tensors], axis=d)
    bounds = np.cumsum([t.shape[d] for t in tensors])[:-1]
    return make(out, tuple(tensors), "cat", _cat_backward, CatSaved(d, bounds))


def _cat_backward(node, g):
    return tuple(np.split(g, node._saved.bounds, axis=node._saved.dim))


concatenate = cat


class StackSaved(NamedTuple):
    """What a stack node keeps: the new dim."""
    dim: int


def stack(tensors, dim: int = 0) -> Tensor:
    """Join along a new dim.  Backward: each input gets its slice of the gradient."""
    tensors = [ensure_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has "
                             f"{tensors[0].shape}; all must be equal")
    d = norm_dim(dim, tensors[0].ndim + 1, "stack")
    tensors = _promoted(tensors)
    out = np.stack([t._data for t in tensors], axis=d)
    return make(out, tuple(tensors), "stack", _stack_backward, StackSaved(d))


def _stack_backward(node, g):
    d = node._saved.dim
    return tuple(np.take(g, i, axis=d) for i in range(len(node._parents)))


def split(x, split_size_or_sections, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along dim (the last may be smaller), or of the given sizes."""
    x = ensure_tensor(x, "split")
    d = norm_dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [builtins.min(size, n - s) for s in range(0, n, size)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, "
                             f"but dim {d} has size {n}")
    starts = np.cumsum([0] + sizes[:-1])
    return tuple(narrow(x, d, int(s), k) for s, k in zip(starts, sizes))


def chunk(x, chunks: int, dim: int = 0) -> tuple:
    """``chunks`` nearly equal pieces along dim (as in PyTorch: ceil(n / chunks) each)."""
    x = ensure_tensor(x, "chunk")
    d = norm_dim(dim, x.ndim, "chunk")
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    size = -(-x.shape[d] // chunks)
    return split(x, builtins.max(size, 1), d)


_PAD_MODES = ("constant", "reflect", "replicate", "circular")


class PadSaved(NamedTuple):
    """What a constant pad node keeps: the slices of the output that hold the input."""
    key: tuple


class PadIndexSaved(NamedTuple):
    """What a reflect/replicate/circular pad node keeps: the open-mesh index (np.ix_) that
    reads each output position from the input."""
    index: tuple


def pad(x, pad, mode: str = "constant", value=None) -> Tensor:
    """Pad (or, with negative amounts, crop) the last dims, PyTorch's convention: ``pad`` lists
    (before, after) pairs starting from the LAST dim: (left, right, top, bottom) pads W then H
    of an (N, C, H, W) tensor.

    constant   the new positions hold ``value`` (0 by default); any number of dims
    reflect    mirror without repeating the edge: [1 2 3] padded by 2 -> [3 2 1 2 3 2 1]
               (each pad < the dim's size)
    replicate  repeat the edge value: [1 2 3] -> [1 1 1 2 3 3 3]
    circular   wrap around: [1 2 3] -> [2 3 1 2 3 1 2] (each pad <= the dim's size)

    The last three pad 1, 2 or 3 dims of a (C, *) or (N, C, *) tensor (2 to 5 dims), as in
    PyTorch. Negative pads crop first, then the positive ones pad the cropped tensor.
    Backward: each output position's gradient goes back to the element it copies (summed)."""
    x = ensure_tensor(x, "pad")
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {_PAD_MODES}, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of values, at most 2 per dim "
                         f"({2 * x.ndim} for this tensor), got {pad}")
    k = len(pad) // 2
    if mode != "constant":
        if value is not None and value != 0:
            raise ValueError(f"pad: mode {mode!r} does not take a value (got value={value})")
        if not 1 <= k <= 3 or x.ndim not in (k + 1, k + 2):
            raise ValueError(f"pad: mode {mode!r} pads the last 1, 2 or 3 dims of a (C, *) or "
                             f"(N, C, *) tensor: a pad of {len(pad)} values needs a "
                             f"{k + 1}-D or {k + 2}-D input, got shape {x.shape}")
    widths = [(0, 0)] * x.ndim
    for i in range(k):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    if builtins.any(p < 0 for p in pad):              # crop first (a differentiable slice)
        x = getitem(x, tuple(slice(builtins.max(-b, 0), n + builtins.min(a, 0))
                             for (b, a), n in zip(widths, x.shape)))
        widths = [(builtins.max(b, 0), builtins.max(a, 0)) for b, a in widths]
    if mode == "constant":
        out = np.pad(x._data, widths, mode="constant",
                     constant_values=0 if value is None else value)
        key = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
        return make(out, (x,), "pad", _pad_backward, PadSaved(key))
    index = []
    for (b, a), n in zip(widths, x.shape):
        if mode == "reflect" and (b >= n or a >= n) or mode == "circular" and (b > n or a > n):
            rule = "less than" if mode == "reflect" else "at most"
            raise ValueError(f"pad: with mode {mode!r} each pad must be {rule} the size of its "
                             f"dim, got padding ({b}, {a}) for a dim of size {n} "
                             f"(input shape {x.shape})")
        p = np.arange(-b, n + a)
        if mode == "reflect":
            p = np.abs(p)
            p = np.where(p >= n, 2 * (n - 1) - p, p)
        elif mode == "replicate":
            p = np.clip(p, 0, n - 1)
        else:
            p = np.mod(p, n)
        index.append(p)
    key = np.ix_(*index)
    return make(x._data[key], (x,), f"pad_{mode}", _pad_index_backward, PadIndexSaved(key))


def _pad_backward(node, g):
    return (g[node._saved.key],)


def _pad_index_backward(node, g):
    gx = np.zeros(node._parents[0].shape, g.dtype)
    np.add.at(gx, node._saved.index, g)
    return (gx,)


class RepeatSaved(NamedTuple):
    """What a repeat node keeps: the repeat count per dim."""
    sizes: tuple


def repeat(x, *sizes) -> Tensor:
    """Tile the tensor ``sizes`` times along each dim (PyTorch's repeat).
    Backward: sum the copies."""
    x = ensure_tensor(x, "repeat")
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ShapeError(f"repeat: {len(sizes)} sizes given for a tensor with {x.ndim} dims")
    data = x._data.reshape((1,) * (len(sizes) - x.ndim) + x.shape)
    return make(np.tile(data, sizes), (x,), "repeat", _repeat_backward, RepeatSaved(sizes))


def _repeat_backward(node, g):
    sizes = node._saved.sizes
    x = node._parents[0]
    base = (1,) * (len(sizes) - x.ndim) + x.shape
    split_shape = []
    for r, n in zip(sizes, base):
        split_shape += [r, n]
    g = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(sizes), 2)))
    return (g.reshape(x.shape),)


class FlipSaved(NamedTuple):
    """What a flip node keeps: the (non-negative) dims it reversed."""
    dims: tuple


def flip(x, dims) -> Tensor:
    """Reverse the order of elements along ``dims``.  Backward: flip back."""
    x = ensure_tensor(x, "flip")
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    axes = tuple(norm_dim(d, x.ndim, "flip") for d in dims)
    # a copy, as in PyTorch (numpy's flip is a view with negative strides)
    return make(np.flip(x._data, axes).copy(), (x,), "flip", _flip_backward, FlipSaved(axes))


def _flip_backward(node, g):
    return (np.flip(g, node._saved.dims),)



def pixel_shuffle(x, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r): out[c, h r + i, w r + j] = x[c r^2 + i r + j, h, w]
    (Shi et al. 2016). A reshape-permute-reshape, so the gradient is the inverse rearrangement."""
    x = ensure_tensor(x, "pixel_shuffle")
    r = int(upscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: expected (*, C * r^2, H, W) with r={upscale_factor}, "
                         f"got shape {x.shape} (channels must be divisible by r^2 = {r * r})")
    *lead, c, h, w = x.shape
    n = len(lead)
    y = x.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)      # (*, C, H, r, W, r)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(x, downscale_factor: int) -> Tensor:
    """The inverse of pixel_shuffle: (*, C, H r, W r) -> (*, C r^2, H, W)."""
    x = ensure_tensor(x, "pixel_unshuffle")
    r = int(downscale_factor)
    if x.ndim < 3 or r < 1 or x.shape[-2] % r or x.shape[-1] % r:
        raise ShapeError(f"pixel_unshuffle: expected (*, C, H * r, W * r) with r="
                         f"{downscale_factor}, got shape {x.shape}")
    *lead, c, h, w = x.shape
    n = len(lead)
    y = x.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)      # (*, C, r, r, H, W)
    return y.reshape(*lead, c * r * r, h // r, w // r)


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------
# Every rule here is linear in the gradient and needs no input values: reshapes and transposes
# as tensor ops, scatters through ``linear_map`` with the gather as their adjoint.


@graph_rule(_reshape_backward)
def _reshape_graph(node, g):
    return (g.reshape(node._parents[0].shape),)


@graph_rule(_identity_backward)
def _identity_graph(node, g):
    return (g,)


@graph_rule(_transpose_backward)
def _transpose_graph(node, g):
    return (g.transpose(node._saved.dim0, node._saved.dim1),)


@graph_rule(_permute_backward)
def _permute_graph(node, g):
    return (g.permute(*np.argsort(node._saved.dims).tolist()),)


@graph_rule(_flip_backward)
def _flip_graph(node, g):
    return (g.flip(node._saved.dims),)


@graph_rule(_getitem_backward)
def _getitem_graph(node, g):
    key = node._saved.key
    return (linear_map(g, lambda a: _getitem_backward(node, a)[0], lambda h: h[key],
                       "getitem_scatter"),)


@graph_rule(_index_put_backward)
def _index_put_graph(node, g):
    key = node._saved.key
    x, v = node._parents
    gx = gv = None
    if x.requires_grad:
        def zero_at(a):
            a = np.array(a, copy=True)
            assign(a, key, 0)
            return a
        gx = linear_map(g, zero_at, zero_at, "index_put_zero")
    if v.requires_grad:
        def pick(a):
            basic, advanced = _index_key(key, a.ndim)
            return a[basic] if advanced is None else a[basic][advanced]

        def place(h):
            out = np.zeros(node.shape, h.dtype)
            assign(out, key, h)
            return out
        gv = linear_map(g, pick, place, "index_put_pick")
    return gx, gv


@graph_rule(_gather_backward)
def _gather_graph(node, g):
    full = node._saved.index
    return (linear_map(g, lambda a: _gather_backward(node, a)[0], lambda h: h[full],
                       "gather_scatter"),)


@graph_rule(_cat_backward)
def _cat_graph(node, g):
    d, bounds = node._saved.dim, node._saved.bounds
    edges = [0] + [int(b) for b in bounds] + [g.shape[d]]
    return tuple(narrow(g, d, a, b - a) for a, b in zip(edges[:-1], edges[1:]))


@graph_rule(_stack_backward)
def _stack_graph(node, g):
    d = node._saved.dim
    return tuple(getitem(g, (slice(None),) * d + (i,)) for i in range(len(node._parents)))


@graph_rule(_pad_backward)
def _pad_graph(node, g):
    return (getitem(g, node._saved.key),)


@graph_rule(_repeat_backward)
def _repeat_graph(node, g):
    sizes = node._saved.sizes
    return (linear_map(g, lambda a: _repeat_backward(node, a)[0],
                       lambda h: np.tile(h.reshape((1,) * (len(sizes) - h.ndim) + h.shape),
                                         sizes), "repeat_sum"),)


@graph_rule(_pad_index_backward)
def _pad_index_graph(node, g):
    key = node._saved.index
    return (linear_map(g, lambda a: _pad_index_backward(node, a)[0], lambda h: h[key],
                       "pad_scatter"),)


# ---- compositions PyTorch code calls by name --------------------------------------------------


def unbind(x, dim: int = 0) -> tuple:
    """The slices of x along dim, that dim removed: (x[0], x[1], ...) for dim 0.  Each slice's
    gradient goes back to its place."""
    x = ensure_tensor(x, "unbind")
    d = norm_dim(dim, x.ndim, "unbind")
    lead = (slice(None),) * d
    return tuple(getitem(x, lead + (i,)) for i in range(x.shape[d]))


def tile(x, dims) -> Tensor:
    """x repeated dims[i] times along each dim; fewer dims than x has are padded with 1s in
    front, more add leading dims (PyTorch's tile; ``repeat`` with that rule)."""
    x = ensure_tensor(x, "tile")
    dims = tuple(dims) if isinstance(dims, (tuple, list)) else (dims,)
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, *dims)


def movedim(x, source, destination) -> Tensor:
    """x with the dims ``source`` moved to the positions ``destination`` (ints or sequences of
    ints), the others keeping their order (numpy's moveaxis).  A permute."""
    x = ensure_tensor(x, "movedim")
    src = [source] if isinstance(source, (int, np.integer)) else list(source)
    dst = [destination] if isinstance(destination, (int, np.integer)) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"movedim: source {source} and destination {destination} must have "
                         "the same number of dims")
    src = [norm_dim(d, x.ndim, "movedim") for d in src]
    dst = [norm_dim(d, x.ndim, "movedim") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {source} or destination "
                         f"{destination}")
    rest = iter([d for d in range(x.ndim) if d not in src])
    placed = dict(zip(dst, src))
    return permute(x, *[placed[i] if i in placed else next(rest) for i in range(x.ndim)])


def swapaxes(x, axis0: int, axis1: int) -> Tensor:
    """``transpose(x, axis0, axis1)`` under numpy's name."""
    return transpose(x, axis0, axis1)


def hstack(tensors) -> Tensor:
    """Join along dim 1 (dim 0 for 1-D tensors)."""
    tensors = [ensure_tensor(t, "hstack") for t in tensors]
    if not tensors:
        raise ValueError("hstack: expected a non-empty sequence of tensors")
    return cat(tensors, 0 if all(t.ndim == 1 for t in tensors) else 1)


def vstack(tensors) -> Tensor:
    """Join along dim 0, 1-D tensors as rows (1, n)."""
    tensors = [ensure_tensor(t, "vstack") for t in tensors]
    return cat([reshape(t, 1, -1) if t.ndim < 2 else t for t in tensors], 0)
