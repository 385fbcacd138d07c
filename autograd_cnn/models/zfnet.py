"""ZFNet (Zeiler & Fergus 2013, "Visualizing and understanding convolutional networks"): AlexNet
with a smaller, less strided first layer (7x7 stride 2 instead of 11x11 stride 4, which the
paper's deconvnet visualisations showed left dead filters and aliasing), conv2 at stride 2, and
no two-tower split (one GPU):

    layer     kernel / stride / pad        output (224 input)   parameters
    conv1     7x7 / 2 / 1, 96              96x110x110                14,208
    pool1     3x3 / 2 / 1                  96x55x55
    norm1     contrast normalisation across maps (LRN)
    conv2     5x5 / 2 / 0, 256             256x26x26                614,656
    pool2     3x3 / 2 / 1                  256x13x13
    norm2
    conv3     3x3 / 1 / 1, 384             384x13x13                885,120
    conv4     3x3 / 1 / 1, 384             384x13x13              1,327,488
    conv5     3x3 / 1 / 1, 256             256x13x13                884,992
    pool5     3x3 / 2                      256x6x6
    fc6, fc7  4096, dropout 0.5 before     4096          37,752,832 + 16,781,312
    fc8       1000                         1000                   4,097,000
                                                                 62,357,608

The paper gives the map sizes (110, 55, 26, 13, 13, 13, 6) but not the paddings; the paddings
above are the ones that reproduce them. The normalisation is AlexNet's LRN (n=5, k=2,
alpha=1e-4 in the paper's form; 5e-4 in PyTorch's form, see ``alexnet_paper``).
"""

from __future__ import annotations

from .. import nn
from ..nn import init
from ._utils import check_dropout, check_int, check_width, scaled
from .alexnet import AlexNet

__all__ = ["ZFNet", "zfnet"]


class ZFNet(AlexNet):
    """ZFNet: AlexNet's module layout (``features``, ``avgpool``, ``classifier``) with the
    layers of the table above. Built by ``zfnet()``."""


def zfnet(num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.5,
          width_mult: float = 1.0) -> ZFNet:
    """ZFNet: 62,357,608 parameters for 1000 classes, 224x224 input. Initialisation as in the
    paper (section 3): weights ~ N(0, 0.01^2), biases 0."""
    owner = "zfnet"
    num_classes = check_int(num_classes, "num_classes", owner)
    in_channels = check_int(in_channels, "in_channels", owner)
    w, dropout = check_width(width_mult, owner), check_dropout(dropout, owner)
    c = [scaled(n, w) for n in (96, 256, 384, 384, 256)]

    def lrn():
        return nn.LocalResponseNorm(5, alpha=5 * 1e-4, beta=0.75, k=2.0)

    features = nn.Sequential(
        nn.Conv2d(in_channels, c[0], 7, stride=2, padding=1), nn.ReLU(inplace=True),   # conv1
        nn.MaxPool2d(3, stride=2, padding=1), lrn(),
        nn.Conv2d(c[0], c[1], 5, stride=2), nn.ReLU(inplace=True),                     # conv2
        nn.MaxPool2d(3, stride=2, padding=1), lrn(),
        nn.Conv2d(c[1], c[2], 3, padding=1), nn.ReLU(inplace=True),                    # conv3
        nn.Conv2d(c[2], c[3], 3, padding=1), nn.ReLU(inplace=True),                    # conv4
        nn.Conv2d(c[3], c[4], 3, padding=1), nn.ReLU(inplace=True),                    # conv5
        nn.MaxPool2d(3, stride=2),
    )
    model = ZFNet(features, c[4], num_classes, scaled(4096, w), dropout)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            init.normal_(m.weight, 0.0, 0.01)
            init.zeros_(m.bias)
    return model
