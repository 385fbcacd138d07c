"""VGG (Simonyan & Zisserman 2014, "Very deep convolutional networks for large-scale image
recognition"): stacks of 3x3 convolutions (stride 1, pad 1) with 2x2 max pooling between
stages, then three fully connected layers. Table 1 of the paper, one column per configuration
(conv<receptive field>-<channels>):

    A (11)      A-LRN (11)  B (13)      C (16)        D (16)      E (19)
    conv3-64    conv3-64    conv3-64    conv3-64      conv3-64    conv3-64
                LRN         conv3-64    conv3-64      conv3-64    conv3-64
    maxpool
    conv3-128   conv3-128   conv3-128   conv3-128     conv3-128   conv3-128
                            conv3-128   conv3-128     conv3-128   conv3-128
    maxpool
    conv3-256   conv3-256   conv3-256   conv3-256     conv3-256   conv3-256
    conv3-256   conv3-256   conv3-256   conv3-256     conv3-256   conv3-256
                                        conv1-256     conv3-256   conv3-256
                                                                  conv3-256
    maxpool
    conv3-512 x2 (A, A-LRN, B), + conv1-512 (C), + conv3-512 (D), x4 (E)
    maxpool
    conv3-512 x2 (A, A-LRN, B), + conv1-512 (C), + conv3-512 (D), x4 (E)
    maxpool
    FC-4096, FC-4096, FC-1000, soft-max

Parameters (1000 classes; the paper's Table 2 rounds them to 133, 133, 134, 138, 144 M):
A 132,863,336; B 133,047,848; C 133,638,952; D 138,357,544; E 143,667,240; with batch norm
(not in the paper; torchvision's vgg*_bn) A 132,868,840; B 133,053,736; D 138,365,992;
E 143,678,248. ``vgg11/13/16/19`` are A, B, D, E with torchvision's keys
(``features.<i>``, ``classifier.{0,3,6}``).

Why 3x3: three stacked 3x3 convolutions see a 7x7 window (receptive field 1 + 3 x 2) with
3 x 9 C^2 = 27 C^2 weights and three ReLUs, where one 7x7 layer needs 49 C^2 weights and has
one ReLU.
"""

from __future__ import annotations

from .. import nn
from ..nn import init
from ._utils import (check_dropout, check_int, check_width, kaiming_fan_out_init,
                     run_sequential, scaled)

__all__ = ["VGG", "CONFIGS", "make_layers", "vgg", "vgg11", "vgg13", "vgg16", "vgg19",
           "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"]

# int: 3x3 convolution with that many channels; (channels, 1): 1x1 convolution; "M": 2x2 max
# pooling; "LRN": local response normalisation (configuration A-LRN only)
CONFIGS = {
    "A": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "A-LRN": [64, "LRN", "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "B": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "C": [64, 64, "M", 128, 128, "M", 256, 256, (256, 1), "M", 512, 512, (512, 1), "M",
          512, 512, (512, 1), "M"],
    "D": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
          512, 512, 512, "M"],
    "E": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
          512, 512, 512, 512, "M"],
}


def make_layers(config, batch_norm: bool = False, in_channels: int = 3,
                width_mult: float = 1.0) -> nn.Sequential:
    """The convolutional part of a configuration: conv (+ BatchNorm) + ReLU per entry, in
    torchvision's order, so the Sequential indices (= state_dict keys) match torchvision's.
    The LRN of A-LRN uses AlexNet's settings (the paper: "as in Krizhevsky et al.")."""
    layers, channels = [], in_channels
    for entry in config:
        if entry == "M":
            layers.append(nn.MaxPool2d(2, stride=2))                  # (H, W) -> (H/2, W/2)
        elif entry == "LRN":
            layers.append(nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0))
        else:
            out, k = entry if isinstance(entry, tuple) else (entry, 3)
            out = scaled(out, width_mult)
            layers.append(nn.Conv2d(channels, out, k, padding=k // 2))  # size kept
            if batch_norm:
                layers.append(nn.BatchNorm2d(out))
            layers.append(nn.ReLU(inplace=True))
            channels = out
    return nn.Sequential(*layers)


class VGG(nn.Module):
    """``features`` (make_layers), ``avgpool`` (adaptive to 7x7: the identity at 224x224,
    lets smaller inputs through), flatten, ``classifier`` (fc6 4096, ReLU, dropout, fc7 4096,
    ReLU, dropout, fc8). torchvision's initialisation: conv weights ~ N(0, 2 / fan_out),
    conv biases 0, BatchNorm 1 and 0, linear weights ~ N(0, 0.01^2), linear biases 0."""

    def __init__(self, features: nn.Sequential, feature_channels: int = 512,
                 num_classes: int = 1000, hidden: int = 4096, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.flatten = nn.Flatten()                          # (N, 512, 7, 7) -> (N, 25088)
        self.classifier = nn.Sequential(
            nn.Linear(feature_channels * 7 * 7, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        kaiming_fan_out_init(self)
        for m in self.classifier:
            if isinstance(m, nn.Linear):
                init.normal_(m.weight, 0.0, 0.01)
                init.zeros_(m.bias)

    def forward(self, x):
        # conv + ReLU pairs as fused ops (_utils.run_sequential), the rest module by module
        return self.classifier(self.flatten(self.avgpool(run_sequential(self.features, x))))


def vgg(config: str, batch_norm: bool = False, num_classes: int = 1000, in_channels: int = 3,
        dropout: float = 0.5, width_mult: float = 1.0) -> VGG:
    """VGG configuration 'A', 'A-LRN', 'B', 'C', 'D' or 'E' of the paper's Table 1
    (``batch_norm=True`` adds BatchNorm after every convolution, as torchvision's vgg*_bn).
    ``width_mult`` scales every width (tests use small ones; 1.0 is the paper's network)."""
    if not isinstance(config, str) or config.upper() not in CONFIGS:
        raise ValueError(f"vgg: unknown configuration {config!r}; expected one of "
                         f"{', '.join(CONFIGS)}")
    owner = f"vgg({config!r})"
    num_classes = check_int(num_classes, "num_classes", owner)
    in_channels = check_int(in_channels, "in_channels", owner)
    w, dropout = check_width(width_mult, owner), check_dropout(dropout, owner)
    features = make_layers(CONFIGS[config.upper()], bool(batch_norm), in_channels, w)
    return VGG(features, scaled(512, w), num_classes, scaled(4096, w), dropout)


def vgg11(batch_norm: bool = False, **kwargs) -> VGG:
    """Configuration A (11 weight layers); torchvision's vgg11 / vgg11_bn keys."""
    return vgg("A", batch_norm, **kwargs)


def vgg13(batch_norm: bool = False, **kwargs) -> VGG:
    """Configuration B (13 weight layers); torchvision's vgg13 / vgg13_bn keys."""
    return vgg("B", batch_norm, **kwargs)


def vgg16(batch_norm: bool = False, **kwargs) -> VGG:
    """Configuration D (16 weight layers); torchvision's vgg16 / vgg16_bn keys."""
    return vgg("D", batch_norm, **kwargs)


def vgg19(batch_norm: bool = False, **kwargs) -> VGG:
    """Configuration E (19 weight layers); torchvision's vgg19 / vgg19_bn keys."""
    return vgg("E", batch_norm, **kwargs)


def vgg11_bn(**kwargs) -> VGG:
    return vgg("A", True, **kwargs)


def vgg13_bn(**kwargs) -> VGG:
    return vgg("B", True, **kwargs)


def vgg16_bn(**kwargs) -> VGG:
    return vgg("D", True, **kwargs)


def vgg19_bn(**kwargs) -> VGG:
    return vgg("E", True, **kwargs)
