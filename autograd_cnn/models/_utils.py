"""What the model builders share: argument checks with readable errors, channel scaling and the
initialisation loops that torchvision runs after building a model."""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .. import nn
from ..nn import init

__all__ = ["check_int", "check_width", "scaled", "check_dropout", "kaiming_fan_out_init",
           "bn_relu", "bn_add_relu", "run_sequential"]


def _stock(module, cls) -> bool:
    """``module`` is exactly ``cls`` with no forward hooks: calling it is calling its forward,
    so a fused op that does the same may stand in for it."""
    return (type(module) is cls and not module._forward_hooks
            and not module._forward_pre_hooks)


def bn_relu(bn, relu, x):
    """``relu(bn(x))``, as one fused op (F.batch_norm_relu: the same values, statistics update
    and gradients, fewer passes, one activation less kept for backward) when ``bn`` is a stock
    BatchNorm2d and ``relu`` a stock ReLU; else the two module calls (a hook, a replaced or
    subclassed module sees exactly what it would without fusion)."""
    if _stock(bn, nn.BatchNorm2d) and _stock(relu, nn.ReLU):
        return bn._normalise(x, F.batch_norm_relu)
    return relu(bn(x))


def bn_add_relu(bn, relu, x, identity):
    """``relu(bn(x) + identity)`` (a residual block's end), as one fused op
    (F.batch_norm_add_relu) when ``bn`` and ``relu`` are stock modules without hooks; else the
    module calls."""
    if _stock(bn, nn.BatchNorm2d) and _stock(relu, nn.ReLU) and identity.shape == x.shape \
            and identity.dtype == x.dtype:
        return bn._normalise(x, lambda *args: F.batch_norm_add_relu(args[0], identity,
                                                                    *args[1:]))
    return relu(bn(x) + identity)


def run_sequential(seq, x):
    """``seq(x)``, with each stock Conv2d that a stock ReLU follows run as one fused op
    (F.conv2d_relu: the same values and gradients, the ReLU applied as the convolution writes
    its output instead of in a pass and an array of its own), when ``seq`` is a stock
    Sequential; else ``seq(x)`` itself (a hooked, replaced or subclassed module sees exactly
    what it would without fusion). For the zoo's conv + ReLU stages (VGG, AlexNet, LeNet-5
    modern)."""
    if not _stock(seq, nn.Sequential):
        return seq(x)
    mods = list(seq)
    i = 0
    while i < len(mods):
        m = mods[i]
        if i + 1 < len(mods) and _stock(m, nn.Conv2d) and _stock(mods[i + 1], nn.ReLU):
            x = F.conv2d_relu(x, m.weight, m.bias, m.stride, m.padding, m.dilation, m.groups)
            i += 2
        else:
            x = m(x)
            i += 1
    return x


def check_int(value, name: str, owner: str, minimum: int = 1) -> int:
    """``value`` as an int >= minimum, or a TypeError/ValueError naming ``owner`` and ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__} "
                        f"({value!r})")
    if value < minimum:
        raise ValueError(f"{owner}: {name} must be at least {minimum}, got {value}")
    return int(value)


def check_width(width_mult, owner: str) -> float:
    """A positive width multiplier (1.0 builds the paper's channel counts)."""
    if isinstance(width_mult, bool) or not isinstance(width_mult, (int, float, np.floating)):
        raise TypeError(f"{owner}: width_mult must be a number, got "
                        f"{type(width_mult).__name__} ({width_mult!r})")
    if not (width_mult > 0 and math.isfinite(width_mult)):
        raise ValueError(f"{owner}: width_mult must be positive (1.0 = the paper's widths), got "
                         f"{width_mult}")
    return float(width_mult)


def scaled(channels: int, width_mult: float) -> int:
    """A channel count times the width multiplier, rounded, at least 1."""
    return max(1, int(round(channels * width_mult)))


def check_dropout(p, owner: str) -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.floating)) or not 0 <= p <= 1:
        raise ValueError(f"{owner}: dropout must be a probability in [0, 1], got {p!r}")
    return float(p)


def kaiming_fan_out_init(model: nn.Module) -> None:
    """torchvision's ResNet/VGG convolution init: weight ~ N(0, 2 / fan_out) (He et al. 2015,
    fan_out = out_channels * kh * kw), bias 0; BatchNorm weight 1, bias 0."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            init.ones_(m.weight)
            init.zeros_(m.bias)
