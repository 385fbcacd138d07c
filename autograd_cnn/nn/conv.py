"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (cross-correlation, NCHW, PyTorch's
parameter shapes and default initialisation)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from . import init
from .linear import _dtype, _positive_int
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _pair(value, name: str, owner: str, minimum: int = 1) -> tuple:
    """An int or a pair of ints as a pair (height, width), each at least ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{owner}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return pair


def _groups(in_channels: int, out_channels: int, groups, owner: str) -> int:
    groups = _positive_int(groups, "groups", owner)
    for name, n in (("in_channels", in_channels), ("out_channels", out_channels)):
        if n % groups:
            raise ValueError(f"{owner}: {name} ({n}) must be divisible by groups ({groups})")
    return groups


def _conv_repr(m) -> str:
    s = (f"{m.in_channels}, {m.out_channels}, kernel_size={m.kernel_size}, "
         f"stride={m.stride}")
    if m.padding not in ((0, 0), "valid"):
        s += f", padding={m.padding!r}"
    if m.dilation != (1, 1):
        s += f", dilation={m.dilation}"
    if getattr(m, "output_padding", (0, 0)) != (0, 0):
        s += f", output_padding={m.output_padding}"
    if m.groups != 1:
        s += f", groups={m.groups}"
    if m.bias is None:
        s += ", bias=False"
    return s


class _ConvNd(Module):
    """What both convolutions share: channels, kernel, groups, weight and bias, initialisation."""

    def _init_params(self, weight_shape, bias: bool, dtype) -> None:
        dtype = _dtype(dtype)
        self.weight = Parameter(np.empty(weight_shape, dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # PyTorch's default: weight ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming, a = sqrt(5)),
        # bias ~ the same bound; fan_in from the weight's dims 1.. (see nn.init)
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        return _conv_repr(self)


class Conv2d(_ConvNd):
    """2-D convolution (cross-correlation) over an (N, C_in, H, W) input.

    out[n, k] = bias[k] + sum_{c in group(k)} weight[k, c] * in[n, c]   (* = cross-correlation)

    padding: an int, a pair, 'valid' (none) or 'same' (output size = input size, stride 1; an
    even kernel pads the extra row/column at the end). Parameters: weight
    (out_channels, in_channels/groups, kh, kw), bias (out_channels,), drawn as in PyTorch.
    Shape: (N, C_in, H, W) -> (N, C_out, Ho, Wo),
        Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1   (likewise Wo)
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        super().__init__()
        owner = "Conv2d"
        self.in_channels = _positive_int(in_channels, "in_channels", owner)
        self.out_channels = _positive_int(out_channels, "out_channels", owner)
        self.kernel_size = _pair(kernel_size, "kernel_size", owner)
        self.stride = _pair(stride, "stride", owner)
        self.dilation = _pair(dilation, "dilation", owner)
        self.groups = _groups(self.in_channels, self.out_channels, groups, owner)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{owner}: padding must be an int, a pair, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and self.stride != (1, 1):
                raise ValueError(f"{owner}: padding='same' needs stride 1 (got stride "
                                 f"{self.stride}); give the padding as numbers instead")
            self.padding = padding
        else:
            self.padding = _pair(padding, "padding", owner, minimum=0)
        if padding_mode != "zeros":
            raise ValueError(f"{owner}: padding_mode {padding_mode!r} is not supported; only "
                             "'zeros' is (pad the input with F.pad first for other modes)")
        self.padding_mode = padding_mode
        self._init_params((self.out_channels, self.in_channels // self.groups)
                          + self.kernel_size, bias, dtype)

    def forward(self, input):
        return F.conv2d(input, self.weight, self.bias, self.stride, self.padding,
                        self.dilation, self.groups)


class ConvTranspose2d(_ConvNd):
    """Transposed convolution (the gradient of Conv2d with respect to its input; "deconvolution"
    in FCN/U-Net upsampling): each input pixel scatters a weighted copy of the kernel.

    Parameters: weight (in_channels, out_channels/groups, kh, kw), bias (out_channels,).
    Shape: (N, C_in, H, W) -> (N, C_out, Ho, Wo),
        Ho = (H - 1) sh - 2 ph + dh (kh - 1) + output_padding_h + 1   (likewise Wo)
    ``forward(input, output_size=(Ho, Wo))`` picks output_padding to reach that size (a strided
    Conv2d maps several sizes to one; this chooses which one to invert).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", dtype=None):
        super().__init__()
        owner = "ConvTranspose2d"
        self.in_channels = _positive_int(in_channels, "in_channels", owner)
        self.out_channels = _positive_int(out_channels, "out_channels", owner)
        self.kernel_size = _pair(kernel_size, "kernel_size", owner)
        self.stride = _pair(stride, "stride", owner)
        self.padding = _pair(padding, "padding", owner, minimum=0)
        self.dilation = _pair(dilation, "dilation", owner)
        self.output_padding = _pair(output_padding, "output_padding", owner, minimum=0)
        for op, s, d in zip(self.output_padding, self.stride, self.dilation):
            if op >= max(s, d):
                raise ValueError(f"{owner}: output_padding {self.output_padding} must be "
                                 f"smaller than the stride {self.stride} or the dilation "
                                 f"{self.dilation}")
        self.groups = _groups(self.in_channels, self.out_channels, groups, owner)
        if padding_mode != "zeros":
            raise ValueError(f"{owner}: padding_mode {padding_mode!r} is not supported; only "
                             "'zeros' is")
        self.padding_mode = padding_mode
        self._init_params((self.in_channels, self.out_channels // self.groups)
                          + self.kernel_size, bias, dtype)

    def _output_padding(self, input, output_size) -> tuple:
        if output_size is None:
            return self.output_padding
        size = tuple(int(s) for s in output_size)[-2:]
        if len(size) != 2:
            raise ValueError(f"ConvTranspose2d: output_size must give (H, W), got "
                             f"{output_size!r}")
        pads = []
        for i, want in enumerate(size):
            n = input.shape[-2 + i]
            smallest = ((n - 1) * self.stride[i] - 2 * self.padding[i]
                        + self.dilation[i] * (self.kernel_size[i] - 1) + 1)
            largest = smallest + max(self.stride[i], self.dilation[i]) - 1
            if not smallest <= want <= largest:
                raise ValueError(f"ConvTranspose2d: output_size {size} is not reachable from an "
                                 f"input of shape {tuple(input.shape)}: dim {i} can be "
                                 f"{smallest}..{largest}")
            pads.append(want - smallest)
        return tuple(pads)

    def forward(self, input, output_size=None):
        output_padding = self._output_padding(input, output_size)
        return F.conv_transpose2d(input, self.weight, self.bias, self.stride, self.padding,
                                  output_padding, self.groups, self.dilation)


def _single(value, name: str, owner: str, minimum: int = 1) -> tuple:
    """An int or a 1-tuple as a 1-tuple, as PyTorch stores Conv1d's sizes."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int or a 1-tuple, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value!r}")
    return (int(value),)


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over an (N, C_in, L) input (F.conv1d).
    Parameters: weight (out_channels, in_channels/groups, k), bias (out_channels,), drawn as in
    PyTorch. Shape: (N, C_in, L) -> (N, C_out, Lo), Lo = floor((L + 2p - d (k - 1) - 1) / s) + 1
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        super().__init__()
        owner = "Conv1d"
        self.in_channels = _positive_int(in_channels, "in_channels", owner)
        self.out_channels = _positive_int(out_channels, "out_channels", owner)
        self.kernel_size = _single(kernel_size, "kernel_size", owner)
        self.stride = _single(stride, "stride", owner)
        self.dilation = _single(dilation, "dilation", owner)
        self.groups = _groups(self.in_channels, self.out_channels, groups, owner)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{owner}: padding must be an int, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and self.stride != (1,):
                raise ValueError(f"{owner}: padding='same' needs stride 1 (got stride "
                                 f"{self.stride})")
            self.padding = padding
        else:
            self.padding = _single(padding, "padding", owner, minimum=0)
        if padding_mode != "zeros":
            raise ValueError(f"{owner}: padding_mode {padding_mode!r} is not supported; only "
                             "'zeros' is (pad the input with F.pad first for other modes)")
        self.padding_mode = padding_mode
        self._init_params((self.out_channels, self.in_channels // self.groups)
                          + self.kernel_size, bias, dtype)

    def forward(self, input):
        pad = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(input, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
                        self.groups)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, " \
            f"stride={self.stride}"
        if self.padding not in ((0,), "valid"):
            s += f", padding={self.padding!r}"
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        return s + (", bias=False" if self.bias is None else "")
