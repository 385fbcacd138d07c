"""Shape ops: views and rearrangements of the same numbers, indexing, joining and padding.

Their backward rules move the gradient back to where each element came from: reshape it back,
transpose it back, scatter-add it into the indexed positions (repeated indices accumulate).
"""

from __future__ import annotations

import builtins

import numpy as np

from .base import Tensor, ensure_tensor, make, norm_dim

__all__ = [
    "reshape", "view", "transpose", "permute", "flatten", "unflatten", "squeeze", "unsqueeze",
    "expand", "broadcast_to", "getitem", "setitem", "cat", "concatenate", "stack", "split",
    "chunk", "narrow", "pad", "gather", "contiguous", "repeat", "flip",
]


def _sizes(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape) -> Tensor:
    """The same elements in a new shape (one dim may be -1).  Backward: reshape back."""
    x = ensure_tensor(x, "reshape")
    shape = _sizes(shape)
    try:
        out = x._data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                         f"({x._data.size} elements) into shape {shape}") from None
    return make(out, (x,), "reshape", _reshape_backward)


def _reshape_backward(node, g):
    return (np.reshape(g, node._parents[0].shape),)


view = reshape


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
        raise ValueError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim})")
    shape = x.shape[:s] + (int(np.prod(x.shape[s:e + 1], dtype=np.int64)),) + x.shape[e + 1:]
    return reshape(x, shape)


def unflatten(x, dim: int, sizes) -> Tensor:
    """Split dim into ``sizes``: (N, 12) -> (N, 3, 4) for dim=1, sizes=(3, 4)."""
    x = ensure_tensor(x, "unflatten")
    d = norm_dim(dim, x.ndim, "unflatten")
    return reshape(x, x.shape[:d] + tuple(sizes) + x.shape[d + 1:])


def transpose(x, dim0: int = 0, dim1: int = 1) -> Tensor:
    """Swap two dims.  Backward: swap them back."""
    x = ensure_tensor(x, "transpose")
    a = norm_dim(dim0, x.ndim, "transpose")
    b = norm_dim(dim1, x.ndim, "transpose")
    return make(np.swapaxes(x._data, a, b), (x,), "transpose", _transpose_backward, (a, b))


def _transpose_backward(node, g):
    a, b = node._saved
    return (np.swapaxes(g, a, b),)


def permute(x, *dims) -> Tensor:
    """Reorder dims: out.shape[i] = x.shape[dims[i]].  Backward: the inverse permutation."""
    x = ensure_tensor(x, "permute")
    dims = _sizes(dims)
    if len(dims) != x.ndim:
        raise ValueError(f"permute: got {len(dims)} dims {dims} for a tensor with {x.ndim}")
    dims = tuple(norm_dim(d, x.ndim, "permute") for d in dims)
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of 0..{x.ndim - 1}")
    return make(np.transpose(x._data, dims), (x,), "permute", _permute_backward, dims)


def _permute_backward(node, g):
    return (np.transpose(g, np.argsort(node._saved)),)


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
        raise ValueError(f"broadcast_to: shape {x.shape} cannot be broadcast to {shape}") from None
    return make(out, (x,), "broadcast_to", _identity_backward)


def expand(x, *sizes) -> Tensor:
    """Broadcast size-1 dims to ``sizes``; -1 keeps a dim's size (PyTorch's expand)."""
    x = ensure_tensor(x, "expand")
    sizes = _sizes(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes given for a tensor with {x.ndim} dims")
    shape = tuple(x.shape[i - lead] if s == -1 and i >= lead else s for i, s in enumerate(sizes))
    return broadcast_to(x, shape)


# ---- indexing ----------------------------------------------------------------------------------


def _index_key(key):
    """Tensors and lists inside an index become numpy arrays; returns (key, is_basic)."""
    parts = key if isinstance(key, tuple) else (key,)
    out, basic = [], True
    for k in parts:
        if isinstance(k, Tensor):
            k = k._data
        elif isinstance(k, (list, range)):
            k = np.asarray(k)
        if isinstance(k, np.ndarray):
            if k.dtype.kind not in "iub":
                raise IndexError(f"index arrays must be integer or bool, got dtype {k.dtype}")
            basic = False
        elif not (k is None or k is Ellipsis or isinstance(k, (slice, int, np.integer))):
            raise IndexError(f"unsupported index of type {type(k).__name__} ({k!r})")
        out.append(k)
    return tuple(out), basic


def getitem(x, key) -> Tensor:
    """x[key]: ints, slices (with steps, negative), None, ..., integer arrays and bool masks.
    Backward: the gradient is scatter-added into the indexed positions, so an element picked
    twice receives both contributions."""
    x = ensure_tensor(x, "getitem")
    key, basic = _index_key(key)
    try:
        out = x._data[key]
    except IndexError as err:
        raise IndexError(f"index {key if len(key) > 1 else key[0]!r} is invalid for a tensor of "
                         f"shape {x.shape}: {err}") from None
    if basic:
        out = np.asarray(out)
    return make(out, (x,), "getitem", _getitem_backward, (key, basic))


def _getitem_backward(node, g):
    key, basic = node._saved
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    if basic:
        gx[key] = g                 # basic indexing never repeats an element
    else:
        np.add.at(gx, key, g)       # repeated indices accumulate
    return (gx,)


def setitem(x: Tensor, key, value) -> None:
    """x[key] = value, in place (not recorded; refused on a tensor that requires grad while grad
    mode is on, see Tensor's in-place rules)."""
    key, _ = _index_key(key)
    v = value._data if isinstance(value, Tensor) else value
    x._inplace("__setitem__")[key] = v


def narrow(x, dim: int, start: int, length: int) -> Tensor:
    """The slice start:start+length along dim."""
    x = ensure_tensor(x, "narrow")
    d = norm_dim(dim, x.ndim, "narrow")
    key = (slice(None),) * d + (slice(start, start + length),)
    return getitem(x, key)


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
        raise ValueError(f"gather: index has {idx.ndim} dims but the input has {x.ndim} "
                         f"(index shape {idx.shape}, input shape {x.shape})")
    for i, (ni, nx) in enumerate(zip(idx.shape, x.shape)):
        if i != d and ni > nx:
            raise ValueError(f"gather: index shape {idx.shape} is larger than the input shape "
                             f"{x.shape} in dim {i}")
    n = x.shape[d]
    if idx.size and (idx.min() < -n or idx.max() >= n):
        bad = idx.max() if idx.max() >= n else idx.min()
        raise IndexError(f"gather: index {int(bad)} is out of range for dim {d} of size {n}")
    full = tuple(idx if i == d else np.arange(s).reshape((-1,) + (1,) * (idx.ndim - 1 - i))
                 for i, s in enumerate(idx.shape))
    return make(x._data[full], (x,), "gather", _gather_backward, full)


def _gather_backward(node, g):
    x = node._parents[0]
    gx = np.zeros(x.shape, dtype=np.result_type(g, x.dtype))
    np.add.at(gx, node._saved, g)
    return (gx,)


# ---- joining and splitting ---------------------------------------------------------------------


def cat(tensors, dim: int = 0) -> Tensor:
    """Join along an existing dim.  Backward: each input gets its slice of the gradient."""
    tensors = [ensure_tensor(t, "cat") for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = norm_dim(dim, tensors[0].ndim, "cat")
    ref = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1:] != ref[:d] + ref[d + 1:]:
            raise ValueError(f"cat: tensor {i} has shape {t.shape}, which does not match "
                             f"{ref} outside dim {d}")
    out = np.concatenate([t._data for t in tensors], axis=d)
    bounds = np.cumsum([t.shape[d] for t in tensors])[:-1]
    return make(out, tuple(tensors), "cat", _cat_backward, (d, bounds))


def _cat_backward(node, g):
    d, bounds = node._saved
    return tuple(np.split(g, bounds, axis=d))


concatenate = cat


def stack(tensors, dim: int = 0) -> Tensor:
    """Join along a new dim.  Backward: each input gets its slice of the gradient."""
    tensors = [ensure_tensor(t, "stack") for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has "
                             f"{tensors[0].shape}; all must be equal")
    d = norm_dim(dim, tensors[0].ndim + 1, "stack")
    out = np.stack([t._data for t in tensors], axis=d)
    return make(out, tuple(tensors), "stack", _stack_backward, d)


def _stack_backward(node, g):
    d = node._saved
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
            raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)}, "
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


def pad(x, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Constant padding, PyTorch's convention: ``pad`` lists (before, after) pairs starting
    from the LAST dim: (left, right, top, bottom) pads W then H of an (N, C, H, W) tensor.
    Backward: the gradient of the un-padded region."""
    x = ensure_tensor(x, "pad")
    if mode != "constant":
        raise ValueError(f"pad: only mode='constant' is supported, got {mode!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of values, at most 2 per dim "
                         f"({2 * x.ndim} for this tensor), got {pad}")
    if builtins.any(p < 0 for p in pad):
        raise ValueError(f"pad: padding must be non-negative, got {pad}")
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    out = np.pad(x._data, widths, mode="constant", constant_values=value)
    key = tuple(slice(b, b + n) for (b, _), n in zip(widths, x.shape))
    return make(out, (x,), "pad", _pad_backward, key)


def _pad_backward(node, g):
    return (g[node._saved],)


def repeat(x, *sizes) -> Tensor:
    """Tile the tensor ``sizes`` times along each dim (PyTorch's repeat).
    Backward: sum the copies."""
    x = ensure_tensor(x, "repeat")
    sizes = _sizes(sizes)
    if len(sizes) < x.ndim:
        raise ValueError(f"repeat: {len(sizes)} sizes given for a tensor with {x.ndim} dims")
    data = x._data.reshape((1,) * (len(sizes) - x.ndim) + x.shape)
    return make(np.tile(data, sizes), (x,), "repeat", _repeat_backward, sizes)


def _repeat_backward(node, g):
    sizes = node._saved
    x = node._parents[0]
    base = (1,) * (len(sizes) - x.ndim) + x.shape
    split_shape = []
    for r, n in zip(sizes, base):
        split_shape += [r, n]
    g = g.reshape(split_shape).sum(axis=tuple(range(0, 2 * len(sizes), 2)))
    return (g.reshape(x.shape),)


def flip(x, dims) -> Tensor:
    """Reverse the order of elements along ``dims``.  Backward: flip back."""
    x = ensure_tensor(x, "flip")
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    axes = tuple(norm_dim(d, x.ndim, "flip") for d in dims)
    return make(np.flip(x._data, axes), (x,), "flip", _flip_backward, axes)


def _flip_backward(node, g):
    return (np.flip(g, node._saved),)

