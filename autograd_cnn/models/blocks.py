"""Building blocks the lecture notes show between the classic networks.

``DepthwiseSeparableConv2d`` (Sifre 2014; Xception, MobileNet): a k x k convolution split in two,
a depthwise step (one k x k filter per input channel, ``groups = in_channels``) and a pointwise
1x1 step that mixes the channels. The notes' example: 256 5x5 filters over a 12x12x3 input
(8x8 output) cost 256 x 3 x 5 x 5 x 8 x 8 = 1,228,800 multiplications; depthwise 3 x 5 x 5 x
8 x 8 = 4,800 plus pointwise 256 x 3 x 8 x 8 = 49,152, 53,952 in all (23x fewer). Weights:
k^2 C_in C_out against k^2 C_in + C_in C_out.

``NiNBlock`` (Lin, Chen & Yan 2013, "Network in network"): a convolution followed by 1x1
convolutions, each with ReLU: a small multilayer perceptron slid over every pixel ("mlpconv"),
learning non-linear combinations of the channels at each position. ``conv1x1`` is the single
1x1 convolution, also the channel-reduction trick of Inception (28x28x192 -> 28x28x32 costs
28 x 28 x 192 x 32 = 4,816,896 multiply-adds).
"""

from __future__ import annotations

from .. import nn
from ._utils import check_int

__all__ = ["DepthwiseSeparableConv2d", "NiNBlock", "conv1x1"]


def conv1x1(in_channels: int, out_channels: int, stride: int = 1, bias: bool = True) -> nn.Conv2d:
    """A 1x1 convolution: a linear map of the channels at every pixel,
    out[n, k, i, j] = b[k] + sum_c W[k, c] x[n, c, i, j].
    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride))."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=bias)


class DepthwiseSeparableConv2d(nn.Module):
    """depthwise k x k conv (groups = in_channels) [-> BatchNorm -> ReLU] -> pointwise 1x1 conv
    [-> BatchNorm -> ReLU].

    With ``batch_norm=True`` (MobileNet's block) each step is followed by BatchNorm and ReLU
    and the convolutions have no bias; with ``batch_norm=False, activation=False`` it is the
    bare factorised convolution of the notes (with biases unless ``bias=False``).
    Parameters: depthwise.weight (C_in, 1, k, k), pointwise.weight (C_out, C_in, 1, 1).
    Shape: (N, C_in, H, W) -> (N, C_out, Ho, Wo), Ho = floor((H + 2p - k) / stride) + 1."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding=None, batch_norm: bool = True,
                 activation: bool = True, bias=None):
        super().__init__()
        owner = "DepthwiseSeparableConv2d"
        in_channels = check_int(in_channels, "in_channels", owner)
        out_channels = check_int(out_channels, "out_channels", owner)
        kernel_size = check_int(kernel_size, "kernel_size", owner)
        padding = kernel_size // 2 if padding is None else padding
        bias = (not batch_norm) if bias is None else bool(bias)
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride,
                                   padding=padding, groups=in_channels, bias=bias)
        self.bn1 = nn.BatchNorm2d(in_channels) if batch_norm else nn.Identity()
        self.act1 = nn.ReLU(inplace=True) if activation else nn.Identity()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(out_channels) if batch_norm else nn.Identity()
        self.act2 = nn.ReLU(inplace=True) if activation else nn.Identity()

    def forward(self, x):
        x = self.act1(self.bn1(self.depthwise(x)))     # (N, C_in, H, W) -> (N, C_in, Ho, Wo)
        return self.act2(self.bn2(self.pointwise(x)))  # -> (N, C_out, Ho, Wo)


class NiNBlock(nn.Module):
    """An "mlpconv" block of Network in Network: a k x k convolution and ``depth`` - 1 further
    1x1 convolutions, each followed by ReLU. ``hidden`` is the width of the 1x1 layers
    (default out_channels).
    Shape: (N, C_in, H, W) -> (N, out_channels, Ho, Wo) with Ho of the first convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, padding: int = 0, hidden=None, depth: int = 3):
        super().__init__()
        owner = "NiNBlock"
        in_channels = check_int(in_channels, "in_channels", owner)
        out_channels = check_int(out_channels, "out_channels", owner)
        depth = check_int(depth, "depth", owner)
        hidden = out_channels if hidden is None else check_int(hidden, "hidden", owner)
        widths = [hidden] * (depth - 1) + [out_channels]
        layers = [nn.Conv2d(in_channels, widths[0], kernel_size, stride=stride, padding=padding),
                  nn.ReLU(inplace=True)]
        for a, b in zip(widths, widths[1:]):
            layers += [conv1x1(a, b), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)
