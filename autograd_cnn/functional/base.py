"""What every op file shares: making op results, turning operands into tensors, normalising dims.

An op is a forward function and a backward rule side by side:

    def exp(x):
        x = ensure_tensor(x, "exp")
        return make(np.exp(x._data), (x,), "exp", _exp_backward)

    def _exp_backward(node, g):          # d(e^x)/dx = e^x, the output itself
        return (g * node._data,)

``make`` records the parents, the label and the rule (``Tensor._from_op``). A rule receives the
node (its ``data`` is the output, ``_parents`` the inputs, ``_saved`` what the forward kept) and
the gradient of the output, and returns one gradient per parent (None for a parent that needs
none: check ``parent.requires_grad`` before computing an expensive one). A rule may return a
gradient in the broadcast shape: the engine sums it back to the parent's shape.

What an op saves is None or a named record: a NamedTuple ``<Op>Saved`` defined next to the op,
read by field name in its rules (``node._saved.dim``), even when it holds a single value:

    class SoftmaxSaved(NamedTuple):
        dim: int

    make(y, (x,), "softmax", _softmax_backward, SoftmaxSaved(d))
"""

from __future__ import annotations

import numbers
from typing import Callable, NamedTuple

import numpy as np

from ..engine import graph_rule
from ..errors import ShapeError
from ..tensor import Tensor, get_default_dtype, leaf, _norm_dim, _to_array

make = Tensor._from_op

__all__ = ["Tensor", "make", "ensure_tensor", "operands", "norm_dims", "norm_dim", "leaf",
           "result_dtype", "promote_types", "cast_to", "float_input", "ShapeError",
           "graph_rule", "linear_map", "constant"]


def _type_name(x) -> str:
    return type(x).__name__


def ensure_tensor(x, where: str) -> Tensor:
    """``x`` as a Tensor; numpy arrays and numbers are wrapped as constants."""
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return leaf(x)
    if isinstance(x, (list, tuple)) and any(isinstance(v, Tensor) for v in x):
        # a tuple of tensors (a batch, a module's several outputs) would be stacked into one
        # tensor with a dim more and the op run on that; PyTorch refuses it too
        raise TypeError(f"{where}: expected a Tensor, got a {_type_name(x)} of {len(x)} "
                        "element(s) holding tensors; pick the tensor you meant from it (or "
                        "ac.stack them)")
    if isinstance(x, (numbers.Number, np.generic, list, tuple)):
        return Tensor(_to_array(x))       # ac.tensor's dtypes, not the legacy constructor's
    raise TypeError(f"{where}: expected a Tensor, got {_type_name(x)} ({x!r})")


# ---- dtype promotion, PyTorch's rules --------------------------------------------------------
#
# Operands fall into three priority classes: tensors with dimensions, 0-d tensors, and Python
# (or numpy) scalars. Within a class dtypes promote as usual; a lower class changes the result
# only when it is of a higher *category* (bool < integer < floating): float32 * float64 0-d
# stays float32, int64 * 2.5 is float32 (the default dtype), bool + 1 is int64. numpy (NEP 50)
# treats 0-d arrays as full arrays, and int64 * float32 as float64: both differ from PyTorch.


def _category(dtype: np.dtype) -> int:
    return 2 if dtype.kind == "f" else 1 if dtype.kind in "iu" else 0


def promote_types(a, b):
    """The dtype that holds both: the higher category wins outright (int64 + float16 ->
    float16, as in PyTorch); within a category, numpy's promotion."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    ca, cb = _category(a), _category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def scalar_dtype(x) -> np.dtype:
    """The dtype a Python or numpy scalar takes in an op: bool, int64, or the default float."""
    if isinstance(x, (bool, np.bool_)):
        return np.dtype(np.bool_)
    if isinstance(x, (int, np.integer)):
        return np.dtype(np.int64)
    return get_default_dtype()


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.kind == "f":
        return higher
    if higher == np.bool_ or _category(lower) > _category(higher):
        return promote_types(higher, lower)
    return higher


def result_dtype(*operands) -> np.dtype:
    """The dtype of an op on ``operands`` (tensors, arrays, scalars) under PyTorch's rules."""
    dims = zero = wrapped = None
    for o in operands:
        a = o._data if isinstance(o, Tensor) else o
        if isinstance(a, np.ndarray):
            if a.ndim:
                dims = promote_types(dims, a.dtype)
            else:
                zero = promote_types(zero, a.dtype)
        elif isinstance(a, (numbers.Number, np.generic)):
            wrapped = promote_types(wrapped, scalar_dtype(a))
        else:                               # a list: the tensor it would make
            a = _to_array(a)
            if a.ndim:
                dims = promote_types(dims, a.dtype)
            else:
                zero = promote_types(zero, a.dtype)
    return _combine(dims, _combine(zero, wrapped))


def cast_to(x: Tensor, dtype: np.dtype) -> Tensor:
    """``x`` in ``dtype``; differentiable between floating dtypes (the gradient is cast back)."""
    if x._data.dtype == dtype:
        return x
    if x.requires_grad and dtype.kind == "f":
        return make(x._data.astype(dtype), (x,), "cast", _cast_backward)
    return leaf(x._data.astype(dtype))


def _cast_backward(node, g):
    return (g.astype(node._parents[0].dtype),)


def float_input(x, where: str) -> Tensor:
    """``x`` as a floating tensor: an integer or bool tensor becomes the default float dtype
    (float32), as PyTorch does for exp, sigmoid, true division, ... (numpy gives float64, or
    float16 for uint8)."""
    x = ensure_tensor(x, where)
    if x._data.dtype.kind != "f":
        return leaf(x._data.astype(get_default_dtype()))
    return x


def _constant(x, dtype: np.dtype, where: str) -> Tensor:
    if isinstance(x, np.ndarray):
        return leaf(x)
    if isinstance(x, (numbers.Number, np.generic)) and not isinstance(x, complex):
        return leaf(np.asarray(x, dtype=dtype))
    if isinstance(x, (list, tuple)):
        return Tensor(_to_array(x))
    raise TypeError(f"{where}: unsupported operand of type {_type_name(x)} ({x!r}); "
                    "expected a Tensor, a number or a numpy array")


def operands(a, b, where: str) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors of one dtype (at least one must already be a
    tensor), promoted by PyTorch's rules (``result_dtype``). Shapes must broadcast together."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            if a._data.dtype != b._data.dtype:
                dt = result_dtype(a, b)
                a, b = cast_to(a, dt), cast_to(b, dt)
        elif a._data.dtype.kind == "f" and isinstance(b, (int, float)) and \
                not isinstance(b, bool):
            # the common case, kept fast: a 0-d constant broadcasts with any shape
            return a, leaf(np.asarray(b, dtype=a._data.dtype))
        else:
            dt = result_dtype(a, b)
            a, b = cast_to(a, dt), _constant(b, dt, where)
            b = cast_to(b, dt)
    elif isinstance(b, Tensor):
        if b._data.dtype.kind == "f" and isinstance(a, (int, float)) and \
                not isinstance(a, bool):
            return leaf(np.asarray(a, dtype=b._data.dtype)), b
        else:
            dt = result_dtype(a, b)
            a, b = cast_to(_constant(a, dt, where), dt), cast_to(b, dt)
    else:
        raise TypeError(f"{where}: expected at least one Tensor operand, got {_type_name(a)} "
                        f"and {_type_name(b)}")
    sa, sb = a._data.shape, b._data.shape
    if sa != sb:
        # by hand: np.broadcast_shapes costs 1 us, a fifth of a small op's whole overhead
        for m, n in zip(reversed(sa), reversed(sb)):
            if m != n and m != 1 and n != 1:
                raise ShapeError(f"{where}: shapes {tuple(sa)} and {tuple(sb)} cannot be "
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
        if type(g) is np.ndarray and g.size == 1 and g.flags.c_contiguous:
            # the one value read with stride 0 along every dim: what np.broadcast_to returns,
            # without its 3 us of Python (this is the backward of every loss.sum() / mean())
            out = np.ndarray(shape, g.dtype, g, 0, (0,) * len(shape))
            out.flags.writeable = False
            return out
        return np.broadcast_to(np.reshape(g, (1,) * len(shape)), shape)
    if not keepdim:
        g = np.expand_dims(g, dims)
    return np.broadcast_to(g, shape)


# ---- recorded backward rules (backward(create_graph=True)) --------------------------------------


def constant(array) -> Tensor:
    """A numpy array as a tensor outside the graph (a mask or a saved value in a rule)."""
    return leaf(np.asarray(array))


class LinearMapSaved(NamedTuple):
    """What a recorded linear map keeps: the map, its adjoint (both numpy -> numpy) and the
    label its adjoint's node gets."""
    fn: Callable
    adjoint: Callable
    label: str


def linear_map(g, fn, adjoint, label: str) -> Tensor:
    """``fn(g)`` recorded as an op, for a map that is linear in ``g`` (most backward rules of
    shape ops and pooling: scatter, pad, window sums). Its backward is ``adjoint`` (the
    transposed map) and the adjoint's backward is ``fn`` again, so the result can be
    differentiated any number of times. fn, adjoint: numpy array -> numpy array."""
    g = g if isinstance(g, Tensor) else constant(g)
    return make(np.asarray(fn(g._data)), (g,), label, _linear_map_backward,
                LinearMapSaved(fn, adjoint, label))


def _linear_map_backward(node, h):
    return (node._saved.adjoint(np.asarray(h)),)


@graph_rule(_linear_map_backward)
def _linear_map_graph(node, h):
    saved = node._saved
    return (linear_map(h, saved.adjoint, saved.fn, saved.label + "_adjoint"),)
