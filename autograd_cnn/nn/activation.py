"""Activation layers: each calls the functional op of the same name. Shape: any -> the same
(Softmax/LogSoftmax normalise along ``dim``; PReLU learns one slope per channel, dim 1)."""

from __future__ import annotations

import warnings

import numpy as np

from .. import functional as F
from . import init as _init
from ..args import positive_int
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Hardtanh",
           "Softmax", "LogSoftmax", "Step", "GELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid",
           "ReLU6", "LogSigmoid", "Softsign"]


class ReLU(Module):
    """max(0, x)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace       # accepted for PyTorch compatibility; results are new tensors

    def forward(self, input):
        return F.relu(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = float(negative_slope), inplace

    def forward(self, input):
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class PReLU(Module):
    """x for x > 0, a * x otherwise, with a learned: one shared slope (num_parameters=1) or one
    per channel (num_parameters=C, dim 1). Parameter: weight (num_parameters,), filled with init."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        self.num_parameters = positive_int(num_parameters, "num_parameters", "PReLU")
        self.init = float(init)
        self.weight = Parameter(np.empty(self.num_parameters, _dtype(dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _init.constant_(self.weight, self.init)

    def forward(self, input):
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class ELU(Module):
    """x for x > 0, alpha (e^x - 1) otherwise."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = float(alpha), inplace

    def forward(self, input):
        return F.elu(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, input):
        return F.sigmoid(input)


class Tanh(Module):
    """tanh x."""

    def forward(self, input):
        return F.tanh(input)


class Softplus(Module):
    """(1/beta) ln(1 + e^(beta x)), linear where beta x > threshold."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = float(beta), float(threshold)

    def forward(self, input):
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Hardtanh(Module):
    """Clamp to [min_val, max_val]."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) is greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = float(min_val), float(max_val), inplace

    def forward(self, input):
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + \
            (", inplace=True" if self.inplace else "")


def _implicit_dim(ndim: int, name: str) -> int:
    # PyTorch's legacy choice when no dim is given, with its warning
    warnings.warn(f"{name}: implicit dimension choice is deprecated; pass dim= explicitly",
                  UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


class Softmax(Module):
    """e^x_i / sum_j e^x_j along ``dim``."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _implicit_dim(input.ndim, "Softmax") if self.dim is None else self.dim
        return F.softmax(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log softmax along ``dim`` (stable for large inputs)."""

    def __init__(self, dim=None):
        super().__init__()
        self.dim = dim

    def forward(self, input):
        dim = _implicit_dim(input.ndim, "LogSoftmax") if self.dim is None else self.dim
        return F.log_softmax(input, dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Step(Module):
    """The Heaviside step of the perceptron: 1 for x > 0, else 0. Its derivative is zero
    wherever it exists, so no gradient flows through it (not in PyTorch; from the notes)."""

    def forward(self, input):
        return F.step(input)


def _simple(name: str, fn, doc: str):
    """A parameter-free activation layer calling ``fn`` (``inplace`` accepted and ignored)."""
    def __init__(self, inplace: bool = False):
        Module.__init__(self)
        self.inplace = inplace

    def forward(self, input):
        return fn(input)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""
    return type(name, (Module,), {"__init__": __init__, "forward": forward,
                                  "extra_repr": extra_repr, "__doc__": doc,
                                  "__module__": __name__})


class GELU(Module):
    """x Phi(x) (approximate='tanh': the tanh approximation)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return F.gelu(input, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


SiLU = _simple("SiLU", F.silu, "x sigmoid(x).")
Mish = _simple("Mish", F.mish, "x tanh(softplus(x)).")
Hardswish = _simple("Hardswish", F.hardswish, "x relu6(x + 3) / 6.")
Hardsigmoid = _simple("Hardsigmoid", F.hardsigmoid, "relu6(x + 3) / 6.")
ReLU6 = _simple("ReLU6", F.relu6, "min(max(0, x), 6).")
LogSigmoid = _simple("LogSigmoid", lambda x: F.logsigmoid(x), "ln sigmoid(x).")
Softsign = _simple("Softsign", lambda x: F.softsign(x), "x / (1 + |x|).")
