"""AlexNet (Krizhevsky, Sutskever & Hinton 2012, "ImageNet classification with deep
convolutional neural networks").

``alexnet()``: torchvision's one-tower variant (from "One weird trick", Krizhevsky 2014), whose
state_dict keys and shapes equal torchvision's, so converted weights load without renaming:

    layer     kernel / stride / pad     output (224 input)   parameters
    conv1     11x11 / 4 / 2, 64         64x55x55                 23,296
    pool1     3x3 / 2                   64x27x27
    conv2     5x5 / 1 / 2, 192          192x27x27               307,392
    pool2     3x3 / 2                   192x13x13
    conv3     3x3 / 1 / 1, 384          384x13x13               663,936
    conv4     3x3 / 1 / 1, 256          256x13x13               884,992
    conv5     3x3 / 1 / 1, 256          256x13x13               590,080
    pool5     3x3 / 2                   256x6x6
    fc6       4096 (dropout before)     4096                 37,752,832
    fc7       4096 (dropout before)     4096                 16,781,312
    fc8       1000                      1000                  4,097,000
                                                             61,100,840

``alexnet_paper()``: the 2012 network as published, split over two GPUs ("towers"): conv2,
conv4 and conv5 only see the maps of their own tower (grouped convolutions, groups=2), conv3
and the fully connected layers see both; local response normalisation follows conv1 and
conv2; 227x227 input (the paper says 224, which does not give its 55x55 maps):

    layer     kernel / stride / pad          output (227 input)   parameters
    conv1     11x11 / 4 / 0, 96 (2 x 48)     96x55x55                  34,944
    norm1     LRN (n=5, k=2, a=1e-4, b=0.75)
    pool1     3x3 / 2 (overlapping)          96x27x27
    conv2     5x5 / 1 / 2, 256, groups 2     256x27x27                307,456
    norm2, pool2                             256x13x13
    conv3     3x3 / 1 / 1, 384 (both towers) 384x13x13                885,120
    conv4     3x3 / 1 / 1, 384, groups 2     384x13x13                663,936
    conv5     3x3 / 1 / 1, 256, groups 2     256x13x13                442,624
    pool5     3x3 / 2                        256x6x6
    fc6, fc7  4096 each, dropout 0.5 before  4096            37,752,832 + 16,781,312
    fc8       1000                           1000                   4,097,000
                                                                   60,965,224
"""

from __future__ import annotations

from .. import nn
from ..nn import init
from ._utils import check_dropout, check_int, check_width, run_sequential, scaled

__all__ = ["AlexNet", "alexnet", "alexnet_paper"]


class AlexNet(nn.Module):
    """``features`` (convolutions), ``avgpool`` (adaptive to 6x6, so other input sizes work;
    the identity at the paper's size), flatten, ``classifier`` (dropout, fc6, ReLU, dropout,
    fc7, ReLU, fc8). Built by ``alexnet()`` and ``alexnet_paper()``."""

    def __init__(self, features: nn.Sequential, feature_channels: int, num_classes: int = 1000,
                 hidden: int = 4096, dropout: float = 0.5):
        super().__init__()
        self.features = features
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.flatten = nn.Flatten()                      # (N, C, 6, 6) -> (N, C * 36)
        self.classifier = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(feature_channels * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Dropout(dropout), nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        # conv + ReLU pairs as fused ops (_utils.run_sequential), the rest module by module
        return self.classifier(self.flatten(self.avgpool(run_sequential(self.features, x))))


def _check(owner, num_classes, in_channels, width_mult, dropout):
    return (check_int(num_classes, "num_classes", owner),
            check_int(in_channels, "in_channels", owner),
            check_width(width_mult, owner), check_dropout(dropout, owner))


def alexnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
            width_mult: float = 1.0) -> AlexNet:
    """torchvision's AlexNet: one tower, no LRN, keys ``features.{0,3,6,8,10}``,
    ``classifier.{1,4,6}``; 61,100,840 parameters for 1000 classes. PyTorch's default
    initialisation, as torchvision. ``width_mult`` scales every layer's width (tests use small
    widths; 1.0 is the real network)."""
    num_classes, in_channels, w, dropout = _check("alexnet", num_classes, in_channels,
                                                  width_mult, dropout)
    c = [scaled(n, w) for n in (64, 192, 384, 256, 256)]
    features = nn.Sequential(
        nn.Conv2d(in_channels, c[0], 11, stride=4, padding=2), nn.ReLU(inplace=True),  # conv1
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c[0], c[1], 5, padding=2), nn.ReLU(inplace=True),                     # conv2
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),                     # conv3
        nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),                     # conv4
        nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True),                     # conv5
        nn.MaxPool2d(3, stride=2),
    )
    return AlexNet(features, c[4], num_classes, scaled(4096, w), dropout)


def alexnet_paper(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
                  width_mult: float = 1.0) -> AlexNet:
    """The two-tower AlexNet of the 2012 paper (227x227 input): 60,965,224 parameters.

    The paper's LRN is b = a / (k + alpha sum a^2)^beta with alpha = 1e-4; our
    LocalResponseNorm divides alpha by the window size (PyTorch's form), so alpha = 5 x 1e-4
    here gives the paper's normalisation. Initialisation as in the paper (section 5): weights
    ~ N(0, 0.01^2); biases 1 in conv2, conv4, conv5 and the hidden fully connected layers (to
    give the ReLUs positive inputs early on), 0 elsewhere."""
    num_classes, in_channels, w, dropout = _check("alexnet_paper", num_classes, in_channels,
                                                  width_mult, dropout)
    c = [2 * scaled(n, w) for n in (48, 128, 192, 192, 128)]     # two towers of each width

    def lrn():
        return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)

    features = nn.Sequential(
        nn.Conv2d(in_channels, c[0], 11, stride=4), nn.ReLU(inplace=True), lrn(),    # conv1
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c[0], c[1], 5, padding=2, groups=2), nn.ReLU(inplace=True), lrn(),  # conv2
        nn.MaxPool2d(3, stride=2),
        nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),                   # conv3
        nn.Conv2d(c[2], c[3], 3, padding=1, groups=2), nn.ReLU(inplace=True),         # conv4
        nn.Conv2d(c[3], c[4], 3, padding=1, groups=2), nn.ReLU(inplace=True),         # conv5
        nn.MaxPool2d(3, stride=2),
    )
    model = AlexNet(features, c[4], num_classes, scaled(4096, w), dropout)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.classifier if isinstance(m, nn.Linear)]
    for m in convs + linears:
        init.normal_(m.weight, 0.0, 0.01)
        init.zeros_(m.bias)
    for m in (convs[1], convs[3], convs[4], linears[0], linears[1]):
        init.ones_(m.bias)
    return model
