"""A small U-Net (Ronneberger, Fischer & Brox 2015, "U-Net: convolutional networks for
biomedical image segmentation") for per-pixel classification.

A contracting path (two 3x3 convolutions, then 2x2 max pooling, doubling the channels at each
level) and an expanding path that upsamples with 2x2 transposed convolutions (stride 2, halving
the channels), concatenates the contracting path's maps of the same size (the skip connections
that bring back the fine detail pooling threw away), and applies two 3x3 convolutions; a final
1x1 convolution gives one score map per class. For depth 2, base 16:

    enc0   2 x conv3x3  16          H x W        ----------------------- skip --+
    pool                            H/2                                          |
    enc1   2 x conv3x3  32          H/2    ------------ skip --+                 |
    pool                            H/4                        |                 |
    bottom 2 x conv3x3  64          H/4                        |                 |
    up1    convT 2x2/2  32          H/2    cat (64) -> 2 x conv3x3 32            |
    up0    convT 2x2/2  16          H             cat (32) -> 2 x conv3x3 16 ----+
    head   conv1x1      num_classes H x W

Differences from the paper, chosen for a small library: padded ("same") convolutions, so the
output has the input's size and no cropping is needed (the paper's unpadded ones shrink
572 -> 388); BatchNorm after each convolution (``batch_norm=False`` to leave it out); widths
start at ``base_channels`` (the paper: 64, depth 4).
"""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ._utils import check_int

__all__ = ["DoubleConv", "UNet", "unet"]


class DoubleConv(nn.Module):
    """(3x3 conv, padding 1 [-> BatchNorm] -> ReLU) twice. Shape: (N, C_in, H, W) ->
    (N, C_out, H, W)."""

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True):
        super().__init__()
        layers = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class UNet(nn.Module):
    """See the module docstring. Input (N, in_channels, H, W) with H and W divisible by
    2^depth; output (N, num_classes, H, W) per-pixel class scores (use cross_entropy over
    dim 1 with an (N, H, W) target map)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 depth: int = 2, batch_norm: bool = True):
        super().__init__()
        owner = "unet"
        in_channels = check_int(in_channels, "in_channels", owner)
        num_classes = check_int(num_classes, "num_classes", owner)
        base = check_int(base_channels, "base_channels", owner)
        self.depth = check_int(depth, "depth", owner)
        widths = [base * 2 ** i for i in range(self.depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for width in widths:                                # enc0 ... bottom
            self.down.append(DoubleConv(c, width, batch_norm))
            c = width
        self.pool = nn.MaxPool2d(2, stride=2)
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in reversed(range(self.depth)):               # from the bottom up
            self.upsample.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.up.append(DoubleConv(2 * widths[i], widths[i], batch_norm))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x):
        if x.ndim != 4 or x.shape[-2] % 2 ** self.depth or x.shape[-1] % 2 ** self.depth:
            raise ValueError(f"unet: expected an (N, C, H, W) input with H and W divisible by "
                             f"2^depth = {2 ** self.depth}, got shape {x.shape}; pad or crop "
                             f"the image first")
        skips = []
        for level, block in enumerate(self.down):
            x = block(x if level == 0 else self.pool(x))     # (N, C, H, W) -> (N, 2C, H/2, W/2)
            skips.append(x)
        skips.pop()                                          # the bottom has no skip
        for upsample, block in zip(self.upsample, self.up):
            x = upsample(x)                                  # (N, 2C, h, w) -> (N, C, 2h, 2w)
            x = block(F.cat([skips.pop(), x], dim=1))        # cat -> (N, 2C, 2h, 2w) -> (N, C, ...)
        return self.head(x)


def unet(in_channels: int = 1, num_classes: int = 2, base_channels: int = 16, depth: int = 2,
         batch_norm: bool = True) -> UNet:
    """A small U-Net for segmentation (see ``UNet``)."""
    return UNet(in_channels, num_classes, base_channels, depth, batch_norm)
