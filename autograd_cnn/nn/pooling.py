"""Pooling and upsampling layers: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``,
``AdaptiveMaxPool2d``, ``MaxUnpool2d``, ``MaxPool1d``, ``AvgPool1d``, ``Upsample``,
``PixelShuffle``, ``PixelUnshuffle``. They have no parameters."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..args import int_pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "MaxUnpool2d",
           "Upsample", "MaxPool1d", "AvgPool1d", "PixelShuffle", "PixelUnshuffle"]


def _window(owner, kernel_size, stride, padding, dilation=1) -> tuple:
    kernel = int_pair(kernel_size, "kernel_size", owner, 1)
    stride = kernel if stride is None else int_pair(stride, "stride", owner, 1)
    padding = int_pair(padding, "padding", owner, 0)
    dilation = int_pair(dilation, "dilation", owner, 1)
    for p, k, d in zip(padding, kernel, dilation):
        if p > (d * (k - 1) + 1) // 2:
            raise ValueError(f"{owner}: padding {padding} must be at most half of the "
                             f"(dilated) kernel size {kernel}")
    return kernel, stride, padding, dilation


def _output_size(value, owner: str):
    """An adaptive pool's output size: an int or a pair whose entries are ints or None (keep)."""
    pair = (value, value) if not isinstance(value, (tuple, list)) else tuple(value)
    if len(pair) != 2:
        raise ValueError(f"{owner}: output_size must be an int or a pair, got {value!r}")
    for v in pair:
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer))
                              or v < 1):
            raise ValueError(f"{owner}: output_size entries must be positive ints or None, "
                             f"got {value!r}")
    return value if not isinstance(value, list) else tuple(value)


class MaxPool2d(Module):
    """The maximum over each kernel window (per channel).

    Shape: (N, C, H, W) -> (N, C, Ho, Wo),
        Ho = floor((H + 2 ph - dh (kh - 1) - 1) / sh) + 1   (ceil with ceil_mode=True)
    stride defaults to kernel_size. return_indices=True also returns the flat h*W + w index of
    each maximum in its (N, C) plane, for MaxUnpool2d.
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = \
            _window("MaxPool2d", kernel_size, stride, padding, dilation)
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, input):
        return F.max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(Module):
    """The mean over each kernel window (per channel); count_include_pad=True counts padded
    zeros in the divisor; divisor_override replaces the divisor. Shape: as MaxPool2d without
    dilation,
        Ho = floor((H + 2 ph - kh) / sh) + 1
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = \
            _window("AvgPool2d", kernel_size, stride, padding)
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)
        if divisor_override is not None and (isinstance(divisor_override, bool) or not
                                             isinstance(divisor_override, (int, np.integer))
                                             or divisor_override < 1):
            raise ValueError(f"AvgPool2d: divisor_override must be a positive int, got "
                             f"{divisor_override!r}")
        self.divisor_override = divisor_override

    def forward(self, input):
        return F.avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                            ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
                            divisor_override=self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size: output cell (i, j) averages input rows
    floor(i H / Ho) .. ceil((i + 1) H / Ho) - 1 (likewise columns).
    Shape: (N, C, H, W) -> (N, C, Ho, Wo) with (Ho, Wo) = output_size (None keeps H or W)."""

    def __init__(self, output_size):
        super().__init__()
        self.output_size = _output_size(output_size, "AdaptiveAvgPool2d")

    def forward(self, input):
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveMaxPool2d(Module):
    """Max pooling to a fixed output size (windows as AdaptiveAvgPool2d).
    Shape: (N, C, H, W) -> (N, C, Ho, Wo) with (Ho, Wo) = output_size."""

    def __init__(self, output_size, return_indices: bool = False):
        super().__init__()
        self.output_size = _output_size(output_size, "AdaptiveMaxPool2d")
        self.return_indices = bool(return_indices)

    def forward(self, input):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d: puts each value back at the position its index names
    (flat h*W + w per plane, as MaxPool2d(return_indices=True) returns) and zeros elsewhere.
    Shape: (N, C, H, W) -> (N, C, Ho, Wo), Ho = (H - 1) sh - 2 ph + kh unless output_size
    is given."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size, self.stride, self.padding, _ = \
            _window("MaxUnpool2d", kernel_size, stride, padding)

    def forward(self, input, indices, output_size=None):
        return F.max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                              output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


_MODES = ("nearest", "nearest-exact", "linear", "bilinear", "bicubic")


class Upsample(Module):
    """Resize the spatial dims to ``size`` or by ``scale_factor`` (exactly one of them), with
    a mode of F.interpolate: 'nearest', 'nearest-exact', 'bilinear', 'bicubic' (4-D input) or
    'nearest', 'nearest-exact', 'linear' (3-D input); align_corners as in PyTorch.
    Shape: (N, C, H, W) -> (N, C, Ho, Wo), Ho = size or floor(H * scale_factor); (N, C, L)
    -> (N, C, Lo) likewise."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners=None,
                 recompute_scale_factor=None):
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError("Upsample: give exactly one of size and scale_factor")
        if mode not in _MODES:
            raise ValueError(f"Upsample: mode must be one of {_MODES}, got {mode!r}")
        if align_corners is not None and mode in ("nearest", "nearest-exact"):
            raise ValueError("Upsample: align_corners only applies to the interpolating modes "
                             "'linear', 'bilinear' and 'bicubic'")
        if size is not None:
            size = int_pair(size, "size", "Upsample", 1) if not isinstance(size, (int, np.integer)) \
                else int(size)
        if scale_factor is not None:
            factors = scale_factor if isinstance(scale_factor, (tuple, list)) else (scale_factor,)
            if any(isinstance(f, bool) or not isinstance(f, (int, float)) or f <= 0
                   for f in factors):
                raise ValueError(f"Upsample: scale_factor must be positive, got {scale_factor!r}")
            scale_factor = tuple(float(f) for f in scale_factor) \
                if isinstance(scale_factor, (tuple, list)) else float(scale_factor)
        self.size, self.scale_factor = size, scale_factor
        self.mode, self.align_corners = mode, align_corners
        self.recompute_scale_factor = recompute_scale_factor

    def forward(self, input):
        return F.interpolate(input, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else \
            f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class MaxPool1d(Module):
    """The maximum over each window of ``kernel_size`` along L (F.max_pool1d).
    Shape: (N, C, L) -> (N, C, Lo), Lo = floor((L + 2p - d (k - 1) - 1) / s) + 1 (ceil with
    ceil_mode); stride defaults to kernel_size."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = \
            kernel_size, (kernel_size if stride is None else stride), padding, dilation
        self.return_indices, self.ceil_mode = bool(return_indices), bool(ceil_mode)

    def forward(self, input):
        return F.max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                            self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """The mean over each window of ``kernel_size`` along L (F.avg_pool1d).
    Shape: (N, C, L) -> (N, C, Lo), Lo = floor((L + 2p - k) / s) + 1."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__()
        self.kernel_size, self.stride, self.padding = \
            kernel_size, (kernel_size if stride is None else stride), padding
        self.ceil_mode, self.count_include_pad = bool(ceil_mode), bool(count_include_pad)

    def forward(self, input):
        return F.avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                            self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class PixelShuffle(Module):
    """Sub-pixel upsampling (Shi et al. 2016): (N, C r^2, H, W) -> (N, C, H r, W r)."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = int(upscale_factor)

    def forward(self, input):
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """The inverse of PixelShuffle: (N, C, H r, W r) -> (N, C r^2, H, W)."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = int(downscale_factor)

    def forward(self, input):
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
