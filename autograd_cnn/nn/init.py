"""Initialisers, as in ``torch.nn.init``: each fills a tensor in place (without recording a graph)
and returns it. Every random one takes ``generator`` (a numpy Generator or an int seed; default:
the package's generator, see ``ac.manual_seed``).

fan_in / fan_out of a weight of shape (out, in, *kernel) are in * prod(kernel) and
out * prod(kernel) (ConvTranspose2d's weight (in, out/groups, *kernel) gives its own fans, as in
PyTorch).

    xavier (Glorot & Bengio 2010):  std = gain * sqrt(2 / (fan_in + fan_out))
    kaiming (He et al. 2015):       std = gain / sqrt(fan),  fan = fan_in or fan_out
    a uniform draw on [-b, b] has std b / sqrt(3), so the uniform forms use b = sqrt(3) * std.
"""

from __future__ import annotations

import math

import numpy as np

from ..engine import no_grad
from ..random import resolve as _resolve_generator
from ..tensor import Tensor

__all__ = [
    "calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_", "eye_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "trunc_normal_",
    "orthogonal_",
]

_LINEAR = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``:
    1 for linear/conv/sigmoid, 5/3 for tanh, sqrt(2) for relu, sqrt(2 / (1 + slope^2)) for
    leaky_relu (slope ``param``, default 0.01), 3/4 for selu."""
    if nonlinearity in _LINEAR:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one "
                     f"of {', '.join(_LINEAR + ('tanh', 'relu', 'leaky_relu', 'selu'))}")


def _check(tensor, where: str) -> Tensor:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{where}: expected a Tensor, got {type(tensor).__name__}")
    return tensor


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dims, got shape "
                         f"{tensor.shape}")
    receptive = int(np.prod(tensor.shape[2:], dtype=np.int64))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from U(a, b)."""
    _check(tensor, "uniform_")
    if a > b:
        raise ValueError(f"uniform_: a ({a}) must not exceed b ({b})")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    _check(tensor, "normal_")
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got {std}")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill with ``val``."""
    _check(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def zeros_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    return constant_(tensor, 1.0)


def eye_(tensor: Tensor) -> Tensor:
    """The identity matrix (2-D tensors): a linear layer that passes its input through."""
    _check(tensor, "eye_")
    if tensor.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {tensor.shape}")
    with no_grad():
        return tensor.copy_(np.eye(*tensor.shape))


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_uniform_"))
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(_check(tensor, "xavier_normal_"))
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-b, b) with b = gain * sqrt(3 / fan), gain = calculate_gain(nonlinearity, a).
    PyTorch's Linear and Conv layers use a = sqrt(5), which gives b = 1 / sqrt(fan_in)."""
    fan = _fan(_check(tensor, "kaiming_uniform_"), mode)
    if fan == 0:
        raise ValueError(f"kaiming_uniform_: the tensor of shape {tensor.shape} has {mode} 0")
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a)."""
    fan = _fan(_check(tensor, "kaiming_normal_"), mode)
    if fan == 0:
        raise ValueError(f"kaiming_normal_: the tensor of shape {tensor.shape} has {mode} 0")
    return normal_(tensor, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), generator)


def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator=None) -> Tensor:
    """Fill with draws from N(mean, std^2) truncated to [a, b] (absolute bounds, as in PyTorch),
    PyTorch's way: u uniform in [2 Phi(a') - 1, 2 Phi(b') - 1] (a' = (a - mean) / std, Phi the
    normal CDF), then mean + std sqrt(2) erfinv(u), clamped to [a, b]."""
    from scipy.special import erfinv      # scipy comes with scikit-learn, a dependency

    _check(tensor, "trunc_normal_")
    if std < 0:
        raise ValueError(f"trunc_normal_: std must be non-negative, got {std}")
    if not a < b:
        raise ValueError(f"trunc_normal_: a ({a}) must be less than b ({b})")
    if std == 0:
        with no_grad():
            return tensor.fill_(min(max(mean, a), b))

    def cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    lo, hi = 2 * cdf((a - mean) / std) - 1, 2 * cdf((b - mean) / std) - 1
    u = _resolve_generator(generator).uniform(lo, hi, tensor.shape)
    values = np.clip(mean + std * math.sqrt(2.0) * erfinv(u), a, b)
    with no_grad():
        tensor._inplace("trunc_normal_")[...] = values
    return tensor


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2013): the dims after
    the first are flattened, a normal matrix is QR-factorised and Q's columns signed by R's
    diagonal, as PyTorch does.  Needs at least 2 dims."""
    _check(tensor, "orthogonal_")
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: only tensors with 2 or more dims are supported, got "
                         f"shape {tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows if rows else 0
    if tensor.numel() == 0:
        return tensor
    flat = _resolve_generator(generator).standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    with no_grad():
        tensor._inplace("orthogonal_")[...] = (gain * q).reshape(tensor.shape)
    return tensor
