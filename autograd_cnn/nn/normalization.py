"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``, ``GroupNorm`` and
``LocalResponseNorm``."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..tensor import Tensor
from . import init
from ..args import positive_int
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["BatchNorm1d", "BatchNorm2d", "LocalResponseNorm", "LayerNorm", "GroupNorm"]


class _BatchNorm(Module):
    """Batch normalisation (Ioffe & Szegedy 2015) per channel (dim 1):

        y = (x - mean) / sqrt(var + eps) * weight + bias

    Training mode normalises with the batch's statistics and updates the running ones
    (running_var from the unbiased batch variance; momentum=None uses the cumulative average
    1/num_batches_tracked instead of a fixed momentum); eval mode normalises with the running
    statistics. Parameters: weight (ones), bias (zeros), if affine. Buffers: running_mean
    (zeros), running_var (ones), num_batches_tracked (int64), if track_running_stats.
    """

    _expected_dims: tuple = ()
    _shape_text = ""
    _optional_buffers = ("num_batches_tracked",)    # old checkpoints lack it (as in PyTorch)

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None):
        super().__init__()
        owner = type(self).__name__
        self.num_features = positive_int(num_features, "num_features", owner)
        if eps <= 0:
            raise ValueError(f"{owner}: eps must be positive, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{owner}: momentum must be in [0, 1] or None, got {momentum}")
        self.eps, self.momentum = float(eps), momentum
        self.affine, self.track_running_stats = bool(affine), bool(track_running_stats)
        dtype = _dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.empty(self.num_features, dtype))
            self.bias = Parameter(np.empty(self.num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(self.num_features, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(self.num_features, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input(self, input) -> None:
        owner = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{owner}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in self._expected_dims:
            raise ValueError(f"{owner}: expected an input of shape {self._shape_text}, got shape "
                             f"{input.shape}")
        if input.shape[1] != self.num_features:
            raise ValueError(f"{owner}({self.num_features}) got an input with {input.shape[1]} "
                             f"channels (shape {input.shape}); the channel dim is dim 1")

    def forward(self, input):
        return self._normalise(input, F.batch_norm)

    def _normalise(self, input, op):
        """``op`` (F.batch_norm, or a fused form with its arguments: F.batch_norm_relu, which
        the zoo's ResNets call) with this layer's statistics, parameters and mode."""
        self._check_input(input)
        tracking = self.training and self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.momentum is None:   # cumulative moving average
            factor = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        use_batch_stats = self.training or self.running_mean is None
        out = op(
            input,
            self.running_mean if not self.training or self.track_running_stats else None,
            self.running_var if not self.training or self.track_running_stats else None,
            self.weight, self.bias, use_batch_stats, factor, self.eps,
        )
        if tracking:
            self.num_batches_tracked._data += 1       # after success: a failed call counts nothing
            self.num_batches_tracked._bump_version()
        return out

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    __doc__ = _BatchNorm.__doc__ + """
    Shape: (N, C) or (N, C, L) -> the same; statistics over N (and L)."""
    _expected_dims = (2, 3)
    _shape_text = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    __doc__ = _BatchNorm.__doc__ + """
    Shape: (N, C, H, W) -> the same; statistics over N, H and W."""
    _expected_dims = (4,)
    _shape_text = "(N, C, H, W)"


class LocalResponseNorm(Module):
    """Local response normalisation across channels (AlexNet):
    y_c = x_c / (k + alpha/size * sum of x^2 over the ``size`` channels around c)^beta.
    Shape: (N, C, *) -> the same."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = positive_int(size, "size", "LocalResponseNorm")
        self.alpha, self.beta, self.k = float(alpha), float(beta), float(k)

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class LayerNorm(Module):
    """Layer normalisation (Ba et al. 2016): each sample normalised over its last dims,
        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias
    Parameters (elementwise_affine): weight (ones) and bias (zeros, unless bias=False) of shape
    normalized_shape. Shape: (*, *normalized_shape) -> the same."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
            else tuple(normalized_shape)
        self.normalized_shape = tuple(positive_int(n, "normalized_shape", "LayerNorm")
                                      for n in shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        dtype = _dtype(dtype)
        affine = self.elementwise_affine
        self.register_parameter("weight", Parameter(np.ones(self.normalized_shape, dtype))
                                if affine else None)
        self.register_parameter("bias", Parameter(np.zeros(self.normalized_shape, dtype))
                                if affine and bias else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): each sample's channels normalised in num_groups
    groups, then scaled and shifted per channel. Parameters (affine): weight (ones), bias
    (zeros) of shape (num_channels,). Shape: (N, C, *) -> the same."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5,
                 affine: bool = True, dtype=None):
        super().__init__()
        self.num_groups = positive_int(num_groups, "num_groups", "GroupNorm")
        self.num_channels = positive_int(num_channels, "num_channels", "GroupNorm")
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({num_channels}) must be divisible by "
                             f"num_groups ({num_groups})")
        self.eps, self.affine = float(eps), bool(affine)
        dtype = _dtype(dtype)
        if self.affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype))
            self.bias = Parameter(np.zeros(self.num_channels, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"
