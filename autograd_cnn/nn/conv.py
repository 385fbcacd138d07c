"""Convolution layers: ``Conv2d`` and ``ConvTranspose2d`` (cross-correlation, NCHW, PyTorch's
parameter shapes and default initialisation)."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from ..args import int_pair, int_single, positive_int
from . import init
from .linear import _dtype
from .module import Module
from .parameter import Parameter

__all__ = ["Conv1d", "Conv2d", "ConvTranspose2d"]


def _groups(in_channels: int, out_channels: int, groups, owner: str) -> int:
    groups = positive_int(groups, "groups", owner)
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
    if m.padding_mode != "zeros":
        s += f", padding_mode={m.padding_mode}"
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

    def _setup(self, owner: str, size, in_channels, out_channels, kernel_size, stride, padding,
               dilation, groups, padding_mode: str) -> None:
        """Checks and stores what Conv1d and Conv2d share; ``size`` makes a 1-tuple or a pair
        (``int_single`` or ``int_pair``). F.conv1d/F.conv2d check the rest at each call."""
        self.in_channels = positive_int(in_channels, "in_channels", owner)
        self.out_channels = positive_int(out_channels, "out_channels", owner)
        self.kernel_size = size(kernel_size, "kernel_size", owner, 1)
        self.stride = size(stride, "stride", owner, 1)
        self.dilation = size(dilation, "dilation", owner, 1)
        self.groups = _groups(self.in_channels, self.out_channels, groups, owner)
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                kinds = "an int, a pair" if size is int_pair else "an int"
                raise ValueError(f"{owner}: padding must be {kinds}, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and max(self.stride) != 1:
                raise ValueError(f"{owner}: padding='same' needs stride 1 (got stride "
                                 f"{self.stride}); give the padding as numbers instead")
            self.padding = padding
        else:
            self.padding = size(padding, "padding", owner, 0)
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{owner}: padding_mode must be one of {list(_PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        self.padding_mode = padding_mode

    def _padded(self, input):
        """(input, padding for the conv): with padding_mode 'zeros' the input as it is and the
        layer's padding; else the input padded by F.pad in that mode (PyTorch's way: the same
        amounts, 'same' split with the extra row/column at the end) and padding 0."""
        if self.padding_mode == "zeros":
            return input, self.padding
        if self.padding == "valid":
            return input, 0
        if self.padding == "same":
            totals = [d * (k - 1) for d, k in zip(self.dilation, self.kernel_size)]
            pairs = [(t // 2, t - t // 2) for t in totals]
        else:
            pairs = [(p, p) for p in self.padding]
        amounts = tuple(a for pair in reversed(pairs) for a in pair)   # last dim first
        return F.pad(input, amounts, mode=_PADDING_MODES[self.padding_mode]), 0


_PADDING_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "replicate",
                  "circular": "circular"}


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
        self._setup("Conv2d", int_pair, in_channels, out_channels, kernel_size, stride, padding,
                    dilation, groups, padding_mode)
        self._init_params((self.out_channels, self.in_channels // self.groups)
                          + self.kernel_size, bias, dtype)

    def forward(self, input):
        x, padding = self._padded(input)
        return F.conv2d(x, self.weight, self.bias, self.stride, padding, self.dilation,
                        self.groups)


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
        self.in_channels = positive_int(in_channels, "in_channels", owner)
        self.out_channels = positive_int(out_channels, "out_channels", owner)
        self.kernel_size = int_pair(kernel_size, "kernel_size", owner, 1)
        self.stride = int_pair(stride, "stride", owner, 1)
        self.padding = int_pair(padding, "padding", owner, 0)
        self.dilation = int_pair(dilation, "dilation", owner, 1)
        self.output_padding = int_pair(output_padding, "output_padding", owner, 0)
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


class Conv1d(_ConvNd):
    """1-D convolution (cross-correlation) over an (N, C_in, L) input (F.conv1d).
    Parameters: weight (out_channels, in_channels/groups, k), bias (out_channels,), drawn as in
    PyTorch. Shape: (N, C_in, L) -> (N, C_out, Lo), Lo = floor((L + 2p - d (k - 1) - 1) / s) + 1
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        super().__init__()
        self._setup("Conv1d", int_single, in_channels, out_channels, kernel_size, stride,
                    padding, dilation, groups, padding_mode)
        self._init_params((self.out_channels, self.in_channels // self.groups)
                          + self.kernel_size, bias, dtype)

    def forward(self, input):
        x, pad = self._padded(input)
        pad = pad if isinstance(pad, (str, int)) else pad[0]
        return F.conv1d(x, self.weight, self.bias, self.stride[0], pad, self.dilation[0],
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
