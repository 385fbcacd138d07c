"""In-place ops: ``x.add_(y)``, ``x += y``, ``x[i] = v``, ``x.relu_()``, ``x.copy_(src)``, ...

Each is its out-of-place op written back into ``x``, with PyTorch's rules:

- grad mode off, or nothing involved requires grad: the result goes into x's storage and x's
  version counter goes up. Views and detached aliases of x share that counter, so an op that
  recorded any of them refuses to run its backward afterwards (instead of a wrong gradient).
- grad mode on and x is a leaf that requires grad: RuntimeError. A leaf's value is what the
  gradient is taken with respect to; update it under ``no_grad()`` (as optimisers do).
- grad mode on and x is a non-leaf, or an operand requires grad: the op is recorded. x keeps
  its identity and becomes the op's result; the op's input is x's previous value, kept as a
  node of its own (PyTorch "rebases" the history the same way). Refused on a view, or on a
  tensor that has views or detached aliases: autograd_cnn does not replay a write through a
  view onto its base's graph (README, "Differences from PyTorch").

The result keeps x's shape and dtype: an operand that would broadcast x to a bigger shape, or a
result dtype x cannot hold (float into an integer tensor), raises as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from .. import engine
from ..errors import DTypeError, ShapeError
from ..tensor import Tensor, _VersionCounter
from . import activation as A
from . import arith as AR
from . import elementwise as E
from . import index as IX
from . import shape as S
from . import special as SP
from .base import result_dtype

__all__ = ["apply_inplace", "setitem"]


def apply_inplace(x, name: str, fn, *args, fast=None):
    """``x <- fn(x, *args)`` in place; returns x. ``fast(data, *args)``, when given, writes the
    result straight into x's array on the unrecorded path (no temporary)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(x).__name__}")
    if engine._state.grad_enabled and (x.requires_grad or _any_requires_grad(args)):
        return _record(x, name, fn, args)
    _check_writable(x, name)
    if fast is not None and fast(x, *args):
        return x
    res = fn(x, *args)
    _store(x, name, res._data)
    return x


def _any_requires_grad(args) -> bool:
    return any(isinstance(a, Tensor) and a.requires_grad for a in args)


def _check_writable(x: Tensor, name: str) -> None:
    if not x._data.flags.writeable:
        raise RuntimeError(
            f"{name}: this tensor's storage is read-only (an expanded/broadcast view, whose "
            "elements share memory, or an array numpy marked read-only); write into a .clone()")


def _check_result(x: Tensor, name: str, shape: tuple, dtype: np.dtype) -> None:
    if np.broadcast_shapes(shape, x.shape) != x.shape:
        raise ShapeError(f"{name}: the result has shape {tuple(shape)}, but the tensor written "
                         f"in place has shape {x.shape} (an in-place op cannot grow a tensor)")
    if dtype != x.dtype and not np.can_cast(dtype, x.dtype, casting="same_kind"):
        raise DTypeError(f"{name}: the result has dtype {dtype}, which cannot be stored in "
                         f"place into a tensor of dtype {x.dtype}; use the out-of-place op "
                         "or convert the tensor first (e.g. x = x.float())")


def _store(x: Tensor, name: str, result: np.ndarray) -> None:
    _check_result(x, name, result.shape, result.dtype)
    np.copyto(x._inplace(name), result, casting="unsafe")


def _record(x: Tensor, name: str, fn, args) -> Tensor:
    if x.requires_grad and x._backward is None:
        raise RuntimeError(
            f"{name}: a leaf tensor that requires grad is being used in an in-place operation "
            "(its value is what gradients are taken with respect to). Update it inside "
            "`with ac.no_grad():`, as optimisers do, or use an out-of-place op")
    if x._vc.shared:
        raise RuntimeError(
            f"{name}: in-place op on a view, or on a tensor that has views or detached aliases, "
            "while it is being recorded for autograd; autograd_cnn does not record in-place "
            "writes through views. Use the out-of-place op (y = x.op(...)), or .clone() first")
    _check_writable(x, name)
    external = x._vc.external
    old = _split_off_history(x, copy_data=external)
    res = fn(old, *(old if a is x else a for a in args))
    _check_result(x, name, res.shape, res.dtype)
    if res.dtype != x.dtype:
        res = E.cast(res, x.dtype)
    if res.shape != x.shape:
        res = S.broadcast_to(res, x.shape)
    if external:
        # a leaf's storage may be aliased by numpy arrays the user holds: write into it
        np.copyto(x._data, res._data)
    else:
        # an op's result has no aliases (numpy() is refused, views are refused above), and
        # its own op may have saved this very array: give x new storage instead
        data = res._data
        x._data = data if data.base is None and data.flags.writeable else data.copy()
    x.requires_grad = res.requires_grad
    x._parents, x._backward, x._saved, x._trace = res._parents, res._backward, res._saved, \
        res._trace
    x._op = name
    x._vc.value += 1
    x._vsum = None
    if x._backward is not None:
        x._vsum = sum(p._vc.value for p in x._parents) + x._vc.value
    return x


def _split_off_history(x: Tensor, copy_data: bool) -> Tensor:
    """A new tensor that takes over x's current value and node (parents, rule, saved values,
    hooks), so x itself can become the in-place op's result."""
    old = Tensor.__new__(Tensor)
    old._data = x._data.copy() if copy_data else x._data
    old.grad = None
    old.requires_grad = x.requires_grad
    old._parents, old._op, old._backward, old._saved = x._parents, x._op, x._backward, x._saved
    old._vc = _VersionCounter(x._vc.value, False)   # the value its op recorded
    old._vsum = x._vsum
    old._hooks, x._hooks = x._hooks, None       # hooks registered before see the old value
    old._retains_grad = False
    old._trace = x._trace
    old._record, x._record = x._record, None     # a drawing's record follows the old node
    return old


# ---- the fast unrecorded path for arithmetic: a numpy ufunc with out= ------------------------


def _ufunc_fast(ufunc, name):
    def fast(x: Tensor, other, alpha=1) -> bool:
        o = other._data if isinstance(other, Tensor) else other
        if not isinstance(o, (int, float, np.ndarray, np.generic)) or isinstance(o, bool):
            return False
        if alpha != 1:
            o = np.multiply(o, alpha)
        dtype = result_dtype(x, other if isinstance(other, Tensor) else o)
        _check_result(x, name, np.shape(o), dtype)
        ufunc(x._inplace(name), o, out=x._data, casting="unsafe")
        return True
    return fast


def _with_alpha(op):
    def fn(x, other, alpha=1):
        return op(x, other if alpha == 1 else E.mul(other, alpha))
    return fn


def _copy(x, src):
    src = src if isinstance(src, Tensor) else Tensor(np.asarray(src))
    if src.dtype != x.dtype:
        src = E.cast(src, x.dtype) if src.dtype.kind == "f" or x.dtype.kind != "f" else \
            Tensor(src._data.astype(x.dtype))
    if np.broadcast_shapes(src.shape, x.shape) != x.shape:
        raise ShapeError(f"copy_: source of shape {src.shape} does not broadcast to the "
                         f"destination's shape {x.shape}")
    # a clone: the result must be new storage, never src's own
    return (S.broadcast_to(src, x.shape) if src.shape != x.shape else src).clone()


def _copy_fast(x: Tensor, src) -> bool:
    s = src._data if isinstance(src, Tensor) else np.asarray(src)
    if np.broadcast_shapes(s.shape, x.shape) != x.shape:
        raise ShapeError(f"copy_: source of shape {s.shape} does not broadcast to the "
                         f"destination's shape {x.shape}")
    np.copyto(x._inplace("copy_"), s, casting="unsafe")
    return True


def _setitem_fast(x: Tensor, key, value) -> bool:
    v = value._data if isinstance(value, Tensor) else value
    vdtype = np.asarray(v).dtype
    if x.dtype.kind in "iub" and vdtype.kind == "f":
        raise DTypeError(f"setitem: cannot store {vdtype} values into a tensor of dtype "
                         f"{x.dtype} (convert the value or the tensor first)")
    S.assign(x._inplace("__setitem__"), key, v)
    return True


def _method(name, fn, fast=None):
    def method(self, *args, **kwargs):
        if kwargs:
            return apply_inplace(self, name, lambda t, *a: fn(t, *a, **kwargs), *args,
                                 fast=None if fast is None else
                                 (lambda t, *a: fast(t, *a, **kwargs)))
        return apply_inplace(self, name, fn, *args, fast=fast)
    method.__name__ = name
    method.__doc__ = f"In place: ``x <- {name.rstrip('_')}(x, ...)``; returns x (see inplace.py)."
    return method


def _clamp(x, min=None, max=None):
    return E.clip(x, min, max)


def _clamp_fast(x: Tensor, min=None, max=None) -> bool:
    if isinstance(min, Tensor) or isinstance(max, Tensor):
        return False
    E.clip(x, min, max)                          # the same argument checks
    data = x._inplace("clamp_")
    np.clip(data, min, max, out=data)
    return True


METHODS = {
    "add_": _method("add_", _with_alpha(E.add), _ufunc_fast(np.add, "add_")),
    "sub_": _method("sub_", _with_alpha(E.sub), _ufunc_fast(np.subtract, "sub_")),
    "mul_": _method("mul_", E.mul, _ufunc_fast(np.multiply, "mul_")),
    "div_": _method("div_", AR.div),
    "pow_": _method("pow_", E.pow),
    "clamp_": _method("clamp_", _clamp, _clamp_fast),
    "clip_": _method("clip_", _clamp, _clamp_fast),
    "neg_": _method("neg_", E.neg),
    "abs_": _method("abs_", E.abs),
    "exp_": _method("exp_", E.exp),
    "log_": _method("log_", E.log),
    "sqrt_": _method("sqrt_", E.sqrt),
    "sin_": _method("sin_", E.sin),
    "cos_": _method("cos_", E.cos),
    "square_": _method("square_", E.square),
    "sigmoid_": _method("sigmoid_", A.sigmoid),
    "tanh_": _method("tanh_", A.tanh),
    "relu_": _method("relu_", A.relu),
    "copy_": _method("copy_", _copy, _copy_fast),
    "floor_divide_": _method("floor_divide_", AR.floor_divide),
    "fmod_": _method("fmod_", AR.fmod),
    "remainder_": _method("remainder_", AR.remainder),
    "floor_": _method("floor_", AR.floor),
    "ceil_": _method("ceil_", AR.ceil),
    "round_": _method("round_", AR.round),
    "trunc_": _method("trunc_", AR.trunc),
    "bitwise_and_": _method("bitwise_and_", AR.bitwise_and),
    "bitwise_or_": _method("bitwise_or_", AR.bitwise_or),
    "bitwise_xor_": _method("bitwise_xor_", AR.bitwise_xor),
    "log2_": _method("log2_", SP.log2),
    "exp2_": _method("exp2_", SP.exp2),
    "log1p_": _method("log1p_", SP.log1p),
    "expm1_": _method("expm1_", SP.expm1),
    "erf_": _method("erf_", SP.erf),
    "tril_": _method("tril_", IX.tril),
    "triu_": _method("triu_", IX.triu),
    "masked_fill_": _method("masked_fill_", IX.masked_fill),
    "scatter_": _method("scatter_", IX.scatter),
    "scatter_add_": _method("scatter_add_", IX.scatter_add),
    "addcmul_": _method("addcmul_", E.addcmul),
    "addcdiv_": _method("addcdiv_", E.addcdiv),
    "lerp_": _method("lerp_", E.lerp),
    "clamp_min_": _method("clamp_min_", E.clamp_min),
    "clamp_max_": _method("clamp_max_", E.clamp_max),
    "reciprocal_": _method("reciprocal_", E.reciprocal),
    "rsqrt_": _method("rsqrt_", E.rsqrt),
}
# x += y is x.add_(y), as in PyTorch (Python would otherwise rebind x to a new tensor)
METHODS.update({
    "__iadd__": METHODS["add_"], "__isub__": METHODS["sub_"], "__imul__": METHODS["mul_"],
    "__itruediv__": METHODS["div_"], "__ipow__": METHODS["pow_"],
    "__ifloordiv__": METHODS["floor_divide_"], "__imod__": METHODS["remainder_"],
    "__iand__": METHODS["bitwise_and_"], "__ior__": METHODS["bitwise_or_"],
    "__ixor__": METHODS["bitwise_xor_"],
})
METHODS["__setitem__"] = _method("index_put_", S.index_put, _setitem_fast)


def setitem(x, key, value) -> None:
    """``x[key] = value`` in place, with getitem's indexing rules; recorded as ``index_put``
    when x or value requires grad and grad mode is on (the rules above)."""
    METHODS["__setitem__"](x, key, value)
