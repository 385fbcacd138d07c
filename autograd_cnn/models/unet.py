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

Two variants. ``padding='same'`` (the default): padded 3x3 convolutions, so the output has the
input's size and no cropping is needed. ``padding='valid'``: the paper's unpadded convolutions
(each loses 2 pixels), with each skip's maps centre-cropped to the expanding path's size before
concatenation; the output is smaller than the input (572 -> 388 for depth 4, see
``UNet.output_size``), so the paper mirrors the input's borders to predict the whole tile:
``F.pad(x, (m, m, m, m), mode='reflect')`` with m = (H - output_size(H)) / 2 for the input size
H (notebook 09). Other differences from the paper: BatchNorm after each convolution
(``batch_norm=False`` to leave it out, as the paper); widths start at ``base_channels`` (the
paper: 64, depth 4, ``unet(1, 2, 64, 4, False, 'valid')``).
"""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ._utils import check_int

__all__ = ["DoubleConv", "UNet", "unet"]


class DoubleConv(nn.Module):
    """(3x3 conv [-> BatchNorm] -> ReLU) twice, padding 1 (``padding='same'``) or 0
    ('valid'). Shape: (N, C_in, H, W) -> (N, C_out, H, W), or (N, C_out, H - 4, W - 4)."""

    def __init__(self, in_channels: int, out_channels: int, batch_norm: bool = True,
                 padding: str = "same"):
        super().__init__()
        layers = []
        for c_in in (in_channels, out_channels):
            layers.append(nn.Conv2d(c_in, out_channels, 3, padding=1 if padding == "same" else 0,
                                    bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(out_channels))
            layers.append(nn.ReLU(inplace=True))
        self.block = nn.Sequential(*layers)

    def forward(self, x):
        return self.block(x)


class UNet(nn.Module):
    """See the module docstring. Input (N, in_channels, H, W) with H and W divisible by
    2^depth ('same'; for 'valid' see ``output_size``); output (N, num_classes, H', W')
    per-pixel class scores, H' = H for 'same' (use cross_entropy over dim 1 with an (N, H', W')
    target map)."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 depth: int = 2, batch_norm: bool = True, padding: str = "same"):
        super().__init__()
        owner = "unet"
        in_channels = check_int(in_channels, "in_channels", owner)
        num_classes = check_int(num_classes, "num_classes", owner)
        base = check_int(base_channels, "base_channels", owner)
        self.depth = check_int(depth, "depth", owner)
        if padding not in ("same", "valid"):
            raise ValueError(f"unet: padding must be 'same' (padded convolutions, output size = "
                             f"input size) or 'valid' (the paper's), got {padding!r}")
        self.padding = padding
        widths = [base * 2 ** i for i in range(self.depth + 1)]
        self.down = nn.ModuleList()
        c = in_channels
        for width in widths:                                # enc0 ... bottom
            self.down.append(DoubleConv(c, width, batch_norm, padding))
            c = width
        self.pool = nn.MaxPool2d(2, stride=2)
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for i in reversed(range(self.depth)):               # from the bottom up
            self.upsample.append(nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2))
            self.up.append(DoubleConv(2 * widths[i], widths[i], batch_norm, padding))
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def output_size(self, size: int) -> int:
        """The output's height (or width) for an input of height ``size``. 'same': ``size``.
        'valid': each double conv loses 4, each pooling halves (the size before it must be
        even), each upsampling doubles; ValueError if ``size`` does not fit. Depth 4: 572 ->
        388, as in the paper's figure 1."""
        if self.padding == "same":
            return size
        h = size
        for level in range(self.depth):
            h -= 4
            if h <= 0 or h % 2:
                raise ValueError(f"unet: a {size}-pixel input is {h} pixels before pooling "
                                 f"{level + 1} (valid convolutions need an even size > 0); "
                                 "choose an input size for which every pooled size is even")
            h //= 2
        h -= 4
        for _ in range(self.depth):
            h = 2 * h - 4
        if h <= 0:
            raise ValueError(f"unet: a {size}-pixel input is too small for depth {self.depth}")
        return h

    def forward(self, x):
        if self.padding == "valid":
            if x.ndim != 4:
                raise ValueError(f"unet: expected an (N, C, H, W) input, got shape {x.shape}")
            self.output_size(x.shape[-2]), self.output_size(x.shape[-1])   # raise if unfit
        elif x.ndim != 4 or x.shape[-2] % 2 ** self.depth or x.shape[-1] % 2 ** self.depth:
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
            x = block(F.cat([_centre_crop(skips.pop(), x.shape[-2:]), x], dim=1))
            # cat -> (N, 2C, 2h, 2w) -> (N, C, ...)
        return self.head(x)


def _centre_crop(x, size):
    """The central (h, w) window of (N, C, H, W) maps (the paper's cropping of the skip)."""
    h, w = size
    top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
    if top == 0 and left == 0 and x.shape[-2] == h and x.shape[-1] == w:
        return x
    return x[:, :, top:top + h, left:left + w]


def unet(in_channels: int = 1, num_classes: int = 2, base_channels: int = 16, depth: int = 2,
         batch_norm: bool = True, padding: str = "same") -> UNet:
    """A small U-Net for segmentation (see ``UNet``; ``padding='valid'`` is the paper's)."""
    return UNet(in_channels, num_classes, base_channels, depth, batch_norm, padding)
