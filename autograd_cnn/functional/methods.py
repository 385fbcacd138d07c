"""Tensor's operators and methods, attached here because the ops live in ``functional``.

This is the one place where the circle "functional creates Tensors, Tensor's operators call
functional" is closed: ``tensor.py`` imports nothing from ``functional``; importing
``functional`` (which ``import autograd_cnn`` does) runs ``attach`` once. Every method is the
functional op itself, so ``x.sum(1)`` and ``F.sum(x, 1)`` are the same code.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..tensor import Tensor, empty, full, ones, tensor, zeros
from . import activation as A
from . import arith as AR
from . import index as IX
from . import scan as SC
from . import special as SP
from . import elementwise as E
from . import inplace as I
from . import linalg as L
from . import reduce as R
from . import shape as S


# What a binary operator takes; for anything else it returns NotImplemented, so Python asks the
# other operand (``t == pytest.approx(...)``, ``t == None`` -> False, as in PyTorch).
_OPERANDS = (Tensor, np.ndarray, np.generic, numbers.Number, list, tuple)


def _operator(fn):
    def op(self, other):
        if isinstance(other, _OPERANDS):
            return fn(self, other)
        return NotImplemented
    op.__name__ = fn.__name__
    op.__doc__ = fn.__doc__
    return op


def _swap(fn):
    """The reflected form of a binary op: ``2 - x`` calls ``sub(2, x)``."""
    def reflected(self, other):
        if isinstance(other, _OPERANDS):
            return fn(other, self)
        return NotImplemented
    reflected.__name__ = f"r{fn.__name__}"
    return reflected


OPERATORS = {
    "__add__": _operator(E.add), "__radd__": _swap(E.add),
    "__sub__": _operator(E.sub), "__rsub__": _swap(E.sub),
    "__mul__": _operator(E.mul), "__rmul__": _swap(E.mul),
    "__truediv__": _operator(E.div), "__rtruediv__": _swap(E.div),
    "__floordiv__": _operator(AR.floor_divide), "__rfloordiv__": _swap(AR.floor_divide),
    "__mod__": _operator(AR.remainder), "__rmod__": _swap(AR.remainder),
    "__and__": _operator(AR.bitwise_and), "__rand__": _swap(AR.bitwise_and),
    "__or__": _operator(AR.bitwise_or), "__ror__": _swap(AR.bitwise_or),
    "__xor__": _operator(AR.bitwise_xor), "__rxor__": _swap(AR.bitwise_xor),
    "__pow__": _operator(E.pow), "__rpow__": _swap(E.pow),
    "__matmul__": _operator(L.matmul), "__rmatmul__": _swap(L.matmul),
    "__neg__": E.neg, "__abs__": E.abs,
    "__eq__": _operator(E.eq), "__ne__": _operator(E.ne), "__lt__": _operator(E.lt),
    "__le__": _operator(E.le), "__gt__": _operator(E.gt), "__ge__": _operator(E.ge),
    "__invert__": E.bitwise_not,
    "__getitem__": S.getitem,
}

def _where(self, condition, other):
    """``x.where(condition, other)``: x where condition else other (PyTorch's method form of
    ``where(condition, x, other)``)."""
    return E.where(condition, self, other)


METHODS = {
    # elementwise
    "add": E.add, "sub": E.sub, "mul": E.mul, "div": AR.div, "divide": AR.div, "pow": E.pow,
    "neg": E.neg, "floor_divide": AR.floor_divide, "fmod": AR.fmod, "remainder": AR.remainder,
    "floor": AR.floor, "ceil": AR.ceil, "round": AR.round, "trunc": AR.trunc, "fix": AR.trunc,
    "bitwise_and": AR.bitwise_and, "bitwise_or": AR.bitwise_or, "bitwise_xor": AR.bitwise_xor,
    "log2": SP.log2, "exp2": SP.exp2, "log1p": SP.log1p, "expm1": SP.expm1, "erf": SP.erf,
    "abs": E.abs, "exp": E.exp, "log": E.log, "sqrt": E.sqrt, "sin": E.sin, "cos": E.cos,
    "square": E.square, "clip": E.clip, "clamp": E.clamp, "maximum": E.maximum,
    "minimum": E.minimum, "sign": E.sign, "eq": E.eq, "ne": E.ne, "lt": E.lt, "le": E.le,
    "gt": E.gt, "ge": E.ge, "where": _where, "logical_not": E.logical_not,
    "bitwise_not": E.bitwise_not, "isclose": E.isclose, "allclose": E.allclose,
    "equal": E.equal,
    # activations
    "relu": A.relu, "leaky_relu": A.leaky_relu, "elu": A.elu, "softplus": A.softplus,
    "hardtanh": A.hardtanh, "sigmoid": A.sigmoid, "tanh": A.tanh, "softmax": A.softmax,
    "log_softmax": A.log_softmax,
    # reductions
    "sum": R.sum, "mean": R.mean, "max": R.max, "min": R.min, "amax": R.amax, "amin": R.amin,
    "var": R.var, "std": R.std, "logsumexp": R.logsumexp, "argmax": R.argmax,
    "argmin": R.argmin, "prod": R.prod, "norm": R.norm, "all": R.all, "any": R.any,
    # products
    "matmul": L.matmul, "mm": L.mm, "bmm": L.bmm, "dot": L.dot,
    # shape
    "reshape": S.reshape, "view": S.view, "transpose": S.transpose, "permute": S.permute,
    "flatten": S.flatten, "unflatten": S.unflatten, "squeeze": S.squeeze,
    "unsqueeze": S.unsqueeze, "expand": S.expand, "broadcast_to": S.broadcast_to,
    "gather": S.gather, "split": S.split, "chunk": S.chunk, "narrow": S.narrow,
    "contiguous": S.contiguous, "repeat": S.repeat, "flip": S.flip, "view_as": S.view_as,
    "reshape_as": S.reshape_as, "expand_as": S.expand_as, "t": S.t,
    # along one dim, index ops
    "cumsum": SC.cumsum, "cumprod": SC.cumprod, "sort": SC.sort, "argsort": SC.argsort,
    "topk": SC.topk, "tril": IX.tril, "triu": IX.triu, "index_select": IX.index_select,
    "scatter": IX.scatter, "scatter_add": IX.scatter_add, "masked_fill": IX.masked_fill,
    "roll": IX.roll, "repeat_interleave": IX.repeat_interleave,
}


# ---- new_*: tensors with this tensor's dtype (unless given), as in PyTorch -------------------


def _new(fn):
    def method(self, *size, dtype=None, requires_grad=False):
        return fn(*size, dtype=self.dtype if dtype is None else dtype,
                  requires_grad=requires_grad)
    return method


def _new_full(self, size, fill_value, dtype=None, requires_grad=False):
    """A tensor of ``size`` filled with ``fill_value``, in this tensor's dtype by default."""
    return full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                   requires_grad=requires_grad)


def _new_tensor(self, data, dtype=None, requires_grad=False):
    """A new leaf holding a copy of ``data``, in this tensor's dtype by default."""
    data = data._data if isinstance(data, Tensor) else data
    return tensor(np.array(data), dtype=self.dtype if dtype is None else dtype,
                     requires_grad=requires_grad)


CONSTRUCTORS = {
    "new_zeros": _new(zeros), "new_ones": _new(ones), "new_empty": _new(empty),
    "new_full": _new_full, "new_tensor": _new_tensor,
}


def _type(self, dtype):
    """The tensor in ``dtype`` (differentiable between floating dtypes). ``to`` (dtypes and
    devices) is in ``devices.py``."""
    return E.cast(self, dtype)


CASTS = {
    "type": _type,
    "float": lambda self: E.cast(self, "float32"),
    "double": lambda self: E.cast(self, "float64"),
    "long": lambda self: E.cast(self, "int64"),
    "int": lambda self: E.cast(self, "int32"),
    "bool": lambda self: E.cast(self, "bool"),
}


def attach(cls=Tensor) -> None:
    for table in (OPERATORS, METHODS, CASTS, CONSTRUCTORS, I.METHODS):
        for name, fn in table.items():
            setattr(cls, name, fn)
    # __eq__ by value makes tensors unhashable unless hashing by identity is restored
    cls.__hash__ = object.__hash__
