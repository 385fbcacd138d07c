"""The names PyTorch code calls on the package itself: ``ac.max(t, 1)``, ``ac.float``, ...

Top-level functions: for every name in ``FUNCTIONS``, ``ac.<name>`` calls the Tensor method of
that name (which calls the functional op, see ``tensor_methods.py``), so ``ac.flatten(x, 1)``,
``x.flatten(1)`` and ``F.flatten(x, 1)`` are one piece of code; the top-level form also takes
PyTorch's ``out=`` (``ac.matmul(a, b, out=c)``). Scripts call them as ``torch.X(t, ...)``; the
list is the only place they are named.

Dtype aliases: PyTorch's names for numpy dtypes (``ac.float`` is float32, ``ac.long`` int64,
``ac.half`` float16; float16 tensors work where numpy computes, and the Numba kernels refuse them
with an error saying to convert). Inside this module the names shadow Python's ``float``,
``int``, ``bool``, ``max``, ``all``, ... so the code here uses none of those builtins.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import DTypeError, ShapeError
from .tensor import Tensor

# methods that PyTorch also has as torch.X(input, ...); where/maximum/minimum/cat/stack are
# functional ops exported as they are (their first argument is not the tensor of a method)
FUNCTIONS = (
    # elementwise
    "add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos",
    "square", "sign", "clamp", "clip", "eq", "ne", "lt", "le", "gt", "ge",
    "isclose", "allclose", "equal", "logical_not", "bitwise_not",
    # in place (torch.relu_(x) is x.relu_())
    "abs_", "exp_", "log_", "sqrt_", "sin_", "cos_", "neg_", "square_", "clamp_", "clip_",
    "relu_", "sigmoid_", "tanh_",
    # activations
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    # reductions
    "sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "argmax", "argmin",
    "prod", "norm", "all", "any",
    # products
    "matmul", "mm", "bmm", "dot",
    # shape
    "reshape", "transpose", "t", "permute", "flatten", "unflatten", "squeeze", "unsqueeze",
    "broadcast_to", "gather", "split", "chunk", "narrow", "flip",
    # sorting
    "sort", "argsort", "topk",
    # the tensor itself
    "numel", "clone", "detach",
    # more that PyTorch scripts call as torch.X(t, ...)
    "isnan", "isinf", "isfinite", "logical_and", "logical_or", "logical_xor", "reciprocal",
    "addcmul", "addcdiv", "median",
    "rsqrt", "lerp", "clamp_min", "clamp_max", "unbind", "tile", "movedim", "moveaxis",
    "swapaxes", "nonzero", "count_nonzero", "diag", "trace", "cumsum", "cumprod", "roll", "tril",
    "triu", "remainder", "fmod", "trunc", "floor", "round", "ceil", "log2", "log1p", "expm1",
    "index_select", "scatter", "scatter_add", "masked_fill", "repeat_interleave",
)

__all__ = list(FUNCTIONS) + [
    "is_tensor", "is_floating_point", "finfo", "iinfo", "var_mean", "std_mean",
    "float", "double", "half", "float16", "long", "int", "short", "int16", "int8", "uint8",
    "bool", "float32", "float64", "int64", "int32",
]


def _write_out(name: str, result, out):
    """``torch.X(..., out=t)``: the result written into ``t`` (same shape; a dtype it can hold)
    and ``t`` returned; a tuple result (values, indices) goes into a tuple of tensors."""
    results = result if isinstance(result, tuple) else (result,)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    # (no all()/any() here: this module's all and any are the tensor functions)
    tensors = [t for t in tuple(outs) + results if isinstance(t, Tensor)]
    if len(outs) != len(results) or len(tensors) != 2 * len(results):
        raise TypeError(f"{name}(): out= must be {len(results)} tensor(s) for this call, "
                        f"got {type(out).__name__}")
    for r, t in zip(results, outs):
        if r.requires_grad:
            raise RuntimeError(f"{name}(): out= does not support automatic differentiation and "
                               "an input requires grad; call it without out= (or under "
                               "no_grad())")
        if r._data.shape != t._data.shape:
            raise ShapeError(f"{name}(): out= has shape {tuple(t.shape)} but the result has "
                             f"shape {tuple(r.shape)} (autograd_cnn does not resize out=)")
        if not np.can_cast(r.dtype, t.dtype, "same_kind"):
            raise DTypeError(f"{name}(): the result has dtype {r.dtype}, which out= of dtype "
                             f"{t.dtype} cannot hold")
        t.copy_(r)
    return out


def _toplevel(name: str):
    method = getattr(Tensor, name)

    @functools.wraps(method)
    def function(*args, out=None, **kwargs):
        result = method(*args, **kwargs)
        return result if out is None else _write_out(name, result, out)

    function.__name__ = function.__qualname__ = name     # ac.clamp, not the alias's 'clip'
    return function


for _name in FUNCTIONS:
    globals()[_name] = _toplevel(_name)
del _name


def is_tensor(obj) -> bool:
    """True for a Tensor (Parameters included)."""
    return isinstance(obj, Tensor)


def is_floating_point(x) -> bool:
    """True when ``x`` holds floating-point numbers."""
    return x.dtype.kind == "f"


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(var, mean) over dim, as two ops (PyTorch computes them in one pass; same values)."""
    return (input.var(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim))


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None):
    """(std, mean) over dim."""
    return (input.std(dim, unbiased, keepdim, correction=correction),
            input.mean(dim, keepdim))


# torch.finfo(torch.float32).eps, .max, .tiny, ...: numpy's, for the same dtypes
finfo = np.finfo
iinfo = np.iinfo


float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)
