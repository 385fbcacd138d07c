"""A small fully convolutional network for segmentation (Long, Shelhamer & Darrell 2015, "Fully
convolutional networks for semantic segmentation"), sized for the library's small images.

A classification-style encoder of (conv3x3 -> BatchNorm -> ReLU, 2x2 max pool) stages, its
classifier a 1x1 convolution (the fully-connected layer turned into a convolution, so any input
size works), then learned 2x upsampling by transposed convolutions back to the input's size.
Like the paper's FCN-16s/8s, the coarse scores are refined with "skip" scores (1x1 convolutions)
from the finer stages, added after each 2x upsampling. For depth 2, base 16:

    stage0  conv3x3 16, pool     H/2      --- score 1x1 -> K --+
    stage1  conv3x3 32, pool     H/4                           |
    score   1x1 -> K             H/4                           |
    up      convT 4x4/2  K       H/2   +  skip scores  <-------+
    up      convT 4x4/2  K       H          (the last one has no skip: the input's resolution)

Shape: (N, C_in, H, W) -> (N, num_classes, H, W), H and W divisible by 2^depth.
"""

from __future__ import annotations

from .. import nn
from ._utils import check_int

__all__ = ["FCN", "fcn"]


class FCN(nn.Module):
    """See the module docstring."""

    def __init__(self, in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
                 depth: int = 2):
        super().__init__()
        owner = "fcn"
        c = check_int(in_channels, "in_channels", owner)
        k = check_int(num_classes, "num_classes", owner)
        base = check_int(base_channels, "base_channels", owner)
        self.depth = check_int(depth, "depth", owner)
        self.stages = nn.ModuleList()
        self.skips = nn.ModuleList()
        for i in range(self.depth):
            width = base * 2 ** i
            self.stages.append(nn.Sequential(
                nn.Conv2d(c, width, 3, padding=1, bias=False), nn.BatchNorm2d(width),
                nn.ReLU(inplace=True), nn.MaxPool2d(2)))
            if i < self.depth - 1:                       # finer stages give skip scores
                self.skips.append(nn.Conv2d(width, k, 1))
            c = width
        self.score = nn.Conv2d(c, k, 1)                  # the classifier, as a 1x1 convolution
        # convT 4x4, stride 2, padding 1: exactly doubles H and W
        self.upsample = nn.ModuleList([nn.ConvTranspose2d(k, k, 4, stride=2, padding=1)
                                       for _ in range(self.depth)])

    def forward(self, x):
        f = 2 ** self.depth
        if x.ndim != 4 or x.shape[-2] % f or x.shape[-1] % f:
            raise ValueError(f"fcn: expected an (N, C, H, W) input with H and W divisible by "
                             f"2^depth = {f}, got shape {x.shape}")
        feats = []
        for stage in self.stages:
            x = stage(x)                                 # (N, C, h, w) -> (N, C', h/2, w/2)
            feats.append(x)
        s = self.score(x)                                # (N, K, H/f, W/f)
        for i, up in enumerate(self.upsample):
            s = up(s)                                    # 2x upsampling
            level = self.depth - 2 - i                   # the stage now at s's resolution
            if level >= 0:
                s = s + self.skips[level](feats[level])
        return s


def fcn(in_channels: int = 1, num_classes: int = 2, base_channels: int = 16,
        depth: int = 2) -> FCN:
    """A small FCN with skip connections (see ``FCN``)."""
    return FCN(in_channels, num_classes, base_channels, depth)
