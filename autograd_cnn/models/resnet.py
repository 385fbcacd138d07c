"""Residual networks (He, Zhang, Ren & Sun 2016, "Deep residual learning for image recognition").

ImageNet ResNets, the paper's Table 1, with torchvision's module names, so state_dict keys and
shapes equal torchvision's:

    stage    output    18-layer        34-layer        50-layer          101-layer   152-layer
    conv1    112x112   7x7, 64, stride 2
    (maxpool) 56x56    3x3 max pool, stride 2
    layer1   56x56     [3x3,64]x2 x2   [3x3,64]x2 x3   [1x1,64 3x3,64    x3          x3
                                                        1x1,256]
    layer2   28x28     [3x3,128]x2 x2  x4              [1x1,128 ... 512] x4  x4      x8
    layer3   14x14     [3x3,256]x2 x2  x6              [1x1,256 ... 1024] x6 x23     x36
    layer4   7x7       [3x3,512]x2 x2  x3              [1x1,512 ... 2048] x3 x3      x3
             1x1       average pool, 1000-d fc, softmax
    params             11,689,512      21,797,672      25,557,032        44,549,160  60,192,808
    FLOPs (MACs)       1.8 x 10^9      3.6 x 10^9      3.8 x 10^9        7.6 x 10^9  11.3 x 10^9

The paper's "FLOPs" row counts multiply-adds. The first block of layers 2-4 halves the size
(stride 2) and its shortcut is a 1x1 convolution + BatchNorm (option B, ``downsample``).
torchvision puts a bottleneck's stride on its 3x3 convolution ("ResNet v1.5"), which costs more
(4.1 x 10^9 MACs for ResNet-50); ``stride_in_1x1=True`` puts it on the first 1x1 as in the
paper (same keys and shapes) and reproduces the paper's FLOPs row.

CIFAR-10 ResNets (section 4.2): a 3x3 conv with 16 maps, then three stages of n basic blocks
with 16, 32, 64 maps on 32x32, 16x16, 8x8 maps, global average pooling and a 10-way fc: 6n + 2
layers. The shortcuts are identities; where the size halves and the channels double, the
identity is subsampled and zero-padded (option A), so shortcuts add no parameters:
resnet20 269,722; resnet32 464,154; resnet44 658,586; resnet56 853,018; resnet110 1,727,962.
"""

from __future__ import annotations

from .. import functional as F
from .. import nn
from ..nn import init
from ._utils import bn_add_relu, bn_relu, check_int, check_width, kaiming_fan_out_init, scaled

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet34", "resnet50",
           "resnet101", "resnet152", "ShortcutA", "CifarResNet", "resnet20", "resnet32",
           "resnet44", "resnet56", "resnet110"]


def _check_shortcut(shortcut, downsample, owner: str) -> bool:
    if not isinstance(shortcut, bool):
        raise TypeError(f"{owner}: shortcut must be True or False, got {shortcut!r}")
    if not shortcut and downsample is not None:
        raise ValueError(f"{owner}: shortcut=False has no shortcut to downsample; "
                         "pass downsample=None")
    return shortcut


def conv3x3(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution, padding 1, no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


def conv1x1(in_channels: int, out_channels: int, stride: int = 1) -> nn.Conv2d:
    """1x1 convolution, no bias (a BatchNorm follows)."""
    return nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions and a shortcut (ResNet-18/34 and the CIFAR ResNets):

        out = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))

    shortcut = identity, or ``downsample`` where the shape changes (stride or channels).
    ``shortcut=False`` drops the shortcut (the paper's "plain" baseline):
    out = relu(bn2(conv2(relu(bn1(conv1(x)))))); ``downsample`` must then be None.
    Shape: (N, C_in, H, W) -> (N, planes, H / stride, W / stride)."""

    expansion = 1

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample=None,
                 shortcut: bool = True):
        super().__init__()
        self.shortcut = _check_shortcut(shortcut, downsample, "BasicBlock")
        self.conv1 = conv3x3(in_channels, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        # bn_relu, bn_add_relu: relu(bn(...)) and relu(bn(...) + identity), fused
        out = bn_relu(self.bn1, self.relu, self.conv1(x))
        out = self.conv2(out)
        if not self.shortcut:
            return bn_relu(self.bn2, self.relu, out)
        identity = x if self.downsample is None else self.downsample(x)
        return bn_add_relu(self.bn2, self.relu, out, identity)


class Bottleneck(nn.Module):
    """1x1 (reduce to ``planes``), 3x3, 1x1 (expand to 4 x planes) and a shortcut (ResNet-50 and
    deeper): out = relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))) + shortcut(x)).

    The stride sits on conv2 (the 3x3; torchvision) or, with stride_in_1x1=True, on conv1 (the
    paper). ``shortcut=False``: no shortcut (the plain baseline), ``downsample`` None.
    Shape: (N, C_in, H, W) -> (N, 4 planes, H / stride, W / stride)."""

    expansion = 4

    def __init__(self, in_channels: int, planes: int, stride: int = 1, downsample=None,
                 stride_in_1x1: bool = False, shortcut: bool = True):
        super().__init__()
        self.shortcut = _check_shortcut(shortcut, downsample, "Bottleneck")
        s1, s3 = (stride, 1) if stride_in_1x1 else (1, stride)
        self.conv1 = conv1x1(in_channels, planes, s1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes, s3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        # bn_relu, bn_add_relu: relu(bn(...)) and relu(bn(...) + identity), fused
        out = bn_relu(self.bn1, self.relu, self.conv1(x))
        out = bn_relu(self.bn2, self.relu, self.conv2(out))
        out = self.conv3(out)
        if not self.shortcut:
            return bn_relu(self.bn3, self.relu, out)
        identity = x if self.downsample is None else self.downsample(x)
        return bn_add_relu(self.bn3, self.relu, out, identity)


class ResNet(nn.Module):
    """An ImageNet ResNet: stem (7x7/2 conv, BN, ReLU, 3x3/2 max pool), four stages of blocks,
    global average pooling and a linear classifier. ``layers`` = blocks per stage.

    torchvision's initialisation: conv weights ~ N(0, 2 / fan_out), BatchNorm weight 1, bias 0,
    the fc layer PyTorch's default; ``zero_init_residual=True`` zeroes each block's last
    BatchNorm weight so every block starts as the identity (Goyal et al. 2017).
    ``shortcut=False`` builds the paper's plain network of the same depth (no shortcuts and no
    downsample projections); with True (the default) the keys are torchvision's."""

    def __init__(self, block, layers, num_classes: int = 1000, in_channels: int = 3,
                 zero_init_residual: bool = False, stride_in_1x1: bool = False,
                 width_mult: float = 1.0, shortcut: bool = True):
        super().__init__()
        owner = "ResNet"
        self.shortcut = _check_shortcut(shortcut, None, owner)
        if block not in (BasicBlock, Bottleneck):
            raise TypeError(f"{owner}: block must be BasicBlock or Bottleneck, got {block!r}")
        if len(layers) != 4:
            raise ValueError(f"{owner}: layers must give the blocks of 4 stages, got {layers!r}")
        layers = [check_int(n, "blocks per stage", owner) for n in layers]
        num_classes = check_int(num_classes, "num_classes", owner)
        in_channels = check_int(in_channels, "in_channels", owner)
        w = check_width(width_mult, owner)
        self.stride_in_1x1 = bool(stride_in_1x1)
        self.inplanes = scaled(64, w)
        self.conv1 = nn.Conv2d(in_channels, self.inplanes, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, scaled(64, w), layers[0])
        self.layer2 = self._make_layer(block, scaled(128, w), layers[1], stride=2)
        self.layer3 = self._make_layer(block, scaled(256, w), layers[2], stride=2)
        self.layer4 = self._make_layer(block, scaled(512, w), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(scaled(512, w) * block.expansion, num_classes)
        kaiming_fan_out_init(self)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock):
                    init.zeros_(m.bn2.weight)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if self.shortcut and (stride != 1 or self.inplanes != planes * block.expansion):
            # option B: project the shortcut where the shape changes
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        extra = {"stride_in_1x1": self.stride_in_1x1} if block is Bottleneck else {}
        extra["shortcut"] = self.shortcut
        layers = [block(self.inplanes, planes, stride, downsample, **extra)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes, **extra) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = bn_relu(self.bn1, self.relu, self.conv1(x))     # (N, 3, 224, 224) -> (N, 64, 112, 112)
        x = self.maxpool(x)                                     # -> (N, 64, 56, 56)
        x = self.layer2(self.layer1(x))                         # -> (N, 128 e, 28, 28)
        x = self.layer4(self.layer3(x))                         # -> (N, 512 e, 7, 7)
        return self.fc(self.flatten(self.avgpool(x)))          # -> (N, num_classes)


def resnet18(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
             width_mult: float = 1.0, shortcut: bool = True) -> ResNet:
    """ResNet-18: BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters, 1.8 x 10^9 MACs at 224."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes, in_channels, zero_init_residual,
                   False, width_mult, shortcut)


def resnet34(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
             width_mult: float = 1.0, shortcut: bool = True) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters, 3.6 x 10^9 MACs."""
    return ResNet(BasicBlock, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual,
                   False, width_mult, shortcut)


def resnet50(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
             stride_in_1x1: bool = False, width_mult: float = 1.0,
              shortcut: bool = True) -> ResNet:
    """ResNet-50: Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters; 3.8 x 10^9 MACs with
    stride_in_1x1=True (the paper), 4.1 x 10^9 without (torchvision)."""
    return ResNet(Bottleneck, [3, 4, 6, 3], num_classes, in_channels, zero_init_residual,
                   stride_in_1x1, width_mult, shortcut)


def resnet101(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
              stride_in_1x1: bool = False, width_mult: float = 1.0,
              shortcut: bool = True) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3]; 44,549,160 parameters; 7.6 x 10^9 MACs with
    stride_in_1x1=True."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes, in_channels, zero_init_residual,
                   stride_in_1x1, width_mult, shortcut)


def resnet152(num_classes: int = 1000, in_channels: int = 3, zero_init_residual: bool = False,
              stride_in_1x1: bool = False, width_mult: float = 1.0,
              shortcut: bool = True) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3]; 60,192,808 parameters; 11.3 x 10^9 MACs with
    stride_in_1x1=True."""
    return ResNet(Bottleneck, [3, 8, 36, 3], num_classes, in_channels, zero_init_residual,
                   stride_in_1x1, width_mult, shortcut)


# ---- CIFAR-10 ResNets ------------------------------------------------------------------------

class ShortcutA(nn.Module):
    """Option A shortcut (section 3.3): the identity, subsampled by ``stride`` (every stride-th
    row and column), with zero channels appended after the kept ones up to ``out_channels``:
    no parameters.
    The gradient flows to the kept positions and channels only.
    Shape: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride))."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 2):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"ShortcutA: out_channels ({out_channels}) must be at least "
                             f"in_channels ({in_channels}): zero padding cannot drop channels")
        self.in_channels, self.out_channels = in_channels, out_channels
        # read by summary's receptive-field bookkeeping: a 1x1 window moved by `stride`
        self.kernel_size, self.stride, self.padding = (1, 1), (stride, stride), (0, 0)

    def forward(self, x):
        s = self.stride[0]
        x = x[:, :, ::s, ::s]                                  # (N, C, H, W) -> (N, C, H/s, W/s)
        # zero channels appended: (N, C_in, h, w) -> (N, C_out, h, w)
        return F.pad(x, (0, 0, 0, 0, 0, self.out_channels - self.in_channels))

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, stride={self.stride[0]}"


class CifarResNet(nn.Module):
    """The CIFAR-10 ResNet of section 4.2 with depth = 6n + 2: conv3x3 16, BN, ReLU; three
    stages of n BasicBlocks (16, 32, 64 maps; stride 2 at the start of stages 2 and 3, option A
    shortcuts); global average pooling; fc. Keys follow the ImageNet ResNet's (conv1, bn1,
    layer1.0.conv1, ..., fc). Initialisation: He et al. 2015 (N(0, 2 / fan_out)) as the paper
    says, BatchNorm 1 and 0, fc PyTorch's default. Input (N, 3, 32, 32).
    ``shortcut=False``: the plain network of section 4.2 (same layers, no shortcuts)."""

    def __init__(self, depth: int, num_classes: int = 10, in_channels: int = 3,
                 width_mult: float = 1.0, shortcut: bool = True):
        super().__init__()
        owner = f"resnet{depth}"
        self.shortcut = _check_shortcut(shortcut, None, "CifarResNet")
        depth = check_int(depth, "depth", "CifarResNet", minimum=8)
        if (depth - 2) % 6:
            raise ValueError(f"CifarResNet: depth must be 6n + 2 (20, 32, 44, 56, 110, ...), "
                             f"got {depth}")
        num_classes = check_int(num_classes, "num_classes", owner)
        in_channels = check_int(in_channels, "in_channels", owner)
        w = check_width(width_mult, owner)
        n = (depth - 2) // 6
        widths = [scaled(c, w) for c in (16, 32, 64)]
        self.depth = depth
        self.conv1 = conv3x3(in_channels, widths[0])
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.inplanes = widths[0]
        self.layer1 = self._make_layer(widths[0], n, 1)          # 32x32
        self.layer2 = self._make_layer(widths[1], n, 2)          # 16x16
        self.layer3 = self._make_layer(widths[2], n, 2)          # 8x8
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(widths[2], num_classes)
        kaiming_fan_out_init(self)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Sequential:
        projection = None
        if self.shortcut and (stride != 1 or self.inplanes != planes):
            projection = ShortcutA(self.inplanes, planes, stride)
        layers = [BasicBlock(self.inplanes, planes, stride, projection, shortcut=self.shortcut)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes, shortcut=self.shortcut) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = bn_relu(self.bn1, self.relu, self.conv1(x))         # (N, 3, 32, 32) -> (N, 16, 32, 32)
        x = self.layer3(self.layer2(self.layer1(x)))             # -> (N, 64, 8, 8)
        return self.fc(self.flatten(self.avgpool(x)))           # -> (N, num_classes)


def resnet20(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
             shortcut: bool = True):
    """CIFAR ResNet-20 (n = 3): 269,722 parameters."""
    return CifarResNet(20, num_classes, in_channels, width_mult, shortcut)


def resnet32(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
             shortcut: bool = True):
    """CIFAR ResNet-32 (n = 5): 464,154 parameters."""
    return CifarResNet(32, num_classes, in_channels, width_mult, shortcut)


def resnet44(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
             shortcut: bool = True):
    """CIFAR ResNet-44 (n = 7): 658,586 parameters."""
    return CifarResNet(44, num_classes, in_channels, width_mult, shortcut)


def resnet56(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
             shortcut: bool = True):
    """CIFAR ResNet-56 (n = 9): 853,018 parameters."""
    return CifarResNet(56, num_classes, in_channels, width_mult, shortcut)


def resnet110(num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0,
             shortcut: bool = True):
    """CIFAR ResNet-110 (n = 18): 1,727,962 parameters."""
    return CifarResNet(110, num_classes, in_channels, width_mult, shortcut)
