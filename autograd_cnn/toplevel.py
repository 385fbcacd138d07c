"""The names PyTorch code calls on the package itself: ``ac.max(t, 1)``, ``ac.float``, ...

Top-level functions: for every name in ``FUNCTIONS``, ``ac.<name>`` is the Tensor method of that
name (the functional op itself, see ``functional/methods.py``), so ``ac.flatten(x, 1)``,
``x.flatten(1)`` and ``F.flatten(x, 1)`` are one piece of code. Scripts call them as
``torch.X(t, ...)``; the list is the only place they are named.

Dtype aliases: PyTorch's names for numpy dtypes (``ac.float`` is float32, ``ac.long`` int64,
``ac.half`` float16; float16 tensors work where numpy computes, and the Numba kernels refuse them
with an error saying to convert). Inside this module they shadow Python's ``float``/``int``/
``bool``, so nothing below uses those builtins.
"""

from __future__ import annotations

import numpy as np

from .tensor import Tensor

# methods that PyTorch also has as torch.X(input, ...); where/maximum/minimum/cat/stack are
# functional ops exported as they are (their first argument is not the tensor of a method)
FUNCTIONS = (
    # elementwise
    "add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin", "cos",
    "square", "sign", "clamp", "clip", "eq", "ne", "lt", "le", "gt", "ge",
    "isclose", "allclose", "equal",
    # activations
    "relu", "sigmoid", "tanh", "softmax", "log_softmax",
    # reductions
    "sum", "mean", "max", "min", "amax", "amin", "var", "std", "logsumexp", "argmax", "argmin",
    "prod", "norm", "all", "any",
    # products
    "matmul", "mm", "bmm", "dot",
    # shape
    "reshape", "transpose", "permute", "flatten", "unflatten", "squeeze", "unsqueeze",
    "broadcast_to", "gather", "split", "chunk", "narrow", "flip",
    # sorting
    "sort", "argsort", "topk",
    # the tensor itself
    "numel", "clone", "detach",
)

__all__ = list(FUNCTIONS) + [
    "is_tensor", "is_floating_point",
    "float", "double", "half", "float16", "long", "int", "short", "int16", "int8", "uint8",
    "bool", "float32", "float64", "int64", "int32",
]

for _name in FUNCTIONS:
    globals()[_name] = getattr(Tensor, _name)
del _name


def is_tensor(obj) -> bool:
    """True for a Tensor (Parameters included)."""
    return isinstance(obj, Tensor)


def is_floating_point(x) -> bool:
    """True when ``x`` holds floating-point numbers."""
    return x.dtype.kind == "f"


float32 = float = np.dtype(np.float32)
float64 = double = np.dtype(np.float64)
float16 = half = np.dtype(np.float16)
int64 = long = np.dtype(np.int64)
int32 = int = np.dtype(np.int32)
int16 = short = np.dtype(np.int16)
int8 = np.dtype(np.int8)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)
