"""What every op file shares: making op results, turning operands into tensors, normalising dims.

An op is a forward function and a backward rule side by side:

    def exp(x):
        x = ensure_tensor(x, "exp")
        return make(np.exp(x._data), (x,), "exp", _exp_backward)

    def _exp_backward(node, g):          # d(e^x)/dx = e^x, the output itself
        return (g * node._data,)

``make`` records the parents, the label and the rule (``Tensor._from_op``). A rule receives the
node (its ``data`` is the output, ``_parents`` the inputs, ``_saved`` whatever the forward kept)
and the gradient of the output, and returns one gradient per parent (None for a parent that needs
none: check ``parent.requires_grad`` before computing an expensive one). A rule may return a
gradient in the broadcast shape: the engine sums it back to the parent's shape.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor, get_default_dtype, leaf, _norm_dim

make = Tensor._from_op

__all__ = ["Tensor", "make", "ensure_tensor", "operands", "norm_dims", "norm_dim", "leaf"]


def _type_name(x) -> str:
    return type(x).__name__


def ensure_tensor(x, where: str) -> Tensor:
    """``x`` as a Tensor; numpy arrays and numbers are wrapped as constants."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return leaf(x)
    if isinstance(x, (numbers.Number, np.generic, list, tuple)) and not isinstance(x, str):
        return Tensor(x)
    raise TypeError(f"{where}: expected a Tensor, got {_type_name(x)} ({x!r})")


def _constant(x, dtype: np.dtype, where: str) -> Tensor:
    """A Python number or array used with a tensor of ``dtype``: numbers take the tensor's
    floating dtype (so float32 stays float32, as in PyTorch), arrays keep theirs."""
    if isinstance(x, (bool, int, float)):
        if dtype.kind == "f":
            return leaf(np.asarray(x, dtype=dtype))
        if isinstance(x, float):
            return leaf(np.asarray(x, dtype=get_default_dtype()))
        return leaf(np.asarray(x, dtype=dtype if not isinstance(x, bool) else np.bool_))
    if isinstance(x, np.ndarray):
        return leaf(x)
    if isinstance(x, (np.generic, list, tuple)):
        return Tensor(x)
    raise TypeError(f"{where}: unsupported operand of type {_type_name(x)} ({x!r}); "
                    "expected a Tensor, a number or a numpy array")


def operands(a, b, where: str) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors (at least one must already be one), with
    PyTorch's promotion: an integer or bool tensor meeting a floating one takes its dtype (numpy
    would make int64 * float32 float64). Shapes must broadcast together."""
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = _constant(b, a._data.dtype, where)
    elif isinstance(b, Tensor):
        a = _constant(a, b._data.dtype, where)
    else:
        raise TypeError(f"{where}: expected at least one Tensor operand, got {_type_name(a)} "
                        f"and {_type_name(b)}")
    da, db = a._data.dtype, b._data.dtype
    if da != db:
        # integer and bool tensors never require grad, so the cast copies carry nothing lost
        if da.kind == "f" and db.kind in "biu":
            b = leaf(b._data.astype(da))
        elif db.kind == "f" and da.kind in "biu":
            a = leaf(a._data.astype(db))
    sa, sb = a._data.shape, b._data.shape
    if sa != sb:
        # by hand: np.broadcast_shapes costs 1 us, a fifth of a small op's whole overhead
        for m, n in zip(reversed(sa), reversed(sb)):
            if m != n and m != 1 and n != 1:
                raise ValueError(f"{where}: shapes {tuple(sa)} and {tuple(sb)} cannot be "
                                 "broadcast together (sizes must match, or be 1, aligned from "
                                 "the last dimension)")
    return a, b


def norm_dim(dim, ndim: int, where: str) -> int:
    """A single dim in [0, ndim), negative dims counted from the end; IndexError when out of range."""
    return _norm_dim(dim, ndim, where)


def norm_dims(dim, ndim: int, where: str):
    """None (all dims) or a sorted tuple of distinct non-negative dims."""
    if dim is None:
        return None
    if isinstance(dim, (list, tuple)):
        dims = tuple(sorted(_norm_dim(d, ndim, where) for d in dim))
        if len(set(dims)) != len(dims):
            raise ValueError(f"{where}: dim {tuple(dim)} names a dimension twice")
        return dims
    return (_norm_dim(dim, ndim, where),)


def expand_reduced(g: np.ndarray, shape: tuple, dims, keepdim: bool) -> np.ndarray:
    """Broadcast the gradient of a reduction over ``dims`` back to the input ``shape``."""
    if dims is None:
        return np.broadcast_to(np.reshape(g, (1,) * len(shape)), shape)
    if not keepdim:
        g = np.expand_dims(g, dims)
    return np.broadcast_to(g, shape)
