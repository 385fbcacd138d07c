"""GoogLeNet / Inception v1 (Szegedy et al. 2014, "Going deeper with convolutions"), Table 1 of
the paper, with its real 5x5 branches and no batch normalisation (torchvision's googlenet uses
3x3 branches and BatchNorm: a different network with different keys):

    layer           patch / stride  output      #1x1  #3x3r  #3x3  #5x5r  #5x5  pool proj
    conv1           7x7 / 2         112x112x64
    max pool        3x3 / 2         56x56x64
    (LRN)
    conv2           1x1 + 3x3 / 1   56x56x192          64     192
    (LRN)
    max pool        3x3 / 2         28x28x192
    inception (3a)                  28x28x256    64     96    128    16     32      32
    inception (3b)                  28x28x480   128    128    192    32     96      64
    max pool        3x3 / 2         14x14x480
    inception (4a)                  14x14x512   192     96    208    16     48      64
    inception (4b)                  14x14x512   160    112    224    24     64      64
    inception (4c)                  14x14x512   128    128    256    24     64      64
    inception (4d)                  14x14x528   112    144    288    32     64      64
    inception (4e)                  14x14x832   256    160    320    32    128     128
    max pool        3x3 / 2         7x7x832
    inception (5a)                  7x7x832     256    160    320    32    128     128
    inception (5b)                  7x7x1024    384    192    384    48    128     128
    avg pool        7x7 / 1         1x1x1024
    dropout (40%), linear           1000

6,998,552 parameters (every convolution and the classifier with biases; the paper's rounded
"params" column sums to about 6.8 M because it rounds each row). With ``aux_logits=True`` the
two auxiliary classifiers of section 5 are added after 4a and 4d (5x5/3 average pooling, 1x1
conv 128, fc 1024, dropout 70%, linear): 3,188,840 + 3,190,888 more parameters, used only in
training mode. Max pools round up (ceil_mode), as the paper's reference (Caffe) model.
"""

from __future__ import annotations

from collections import namedtuple

from .. import functional as F
from .. import nn
from ..nn import init
from ._utils import check_dropout, check_int, check_width, scaled

__all__ = ["Inception", "InceptionAux", "GoogLeNet", "GoogLeNetOutputs", "googlenet",
           "INCEPTION_TABLE"]

# the paper's Table 1: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj) per module
INCEPTION_TABLE = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits2", "aux_logits1"])
GoogLeNetOutputs.__doc__ = """What GoogLeNet returns in training mode with aux_logits=True:
the main logits and the two auxiliary heads' logits (after 4d and after 4a). The paper adds the
auxiliary losses with weight 0.3:
    loss = ce(out.logits, y) + 0.3 * (ce(out.aux_logits1, y) + ce(out.aux_logits2, y))"""


def _conv_relu(in_channels: int, out_channels: int, kernel_size: int, **kwargs):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, **kwargs),
                         nn.ReLU(inplace=True))


class Inception(nn.Module):
    """The Inception module (Figure 2b): four parallel branches over the same input, their maps
    concatenated along the channels:

        branch1: 1x1 conv                         -> ch1x1 maps
        branch2: 1x1 conv (reduce) -> 3x3 conv    -> ch3x3 maps
        branch3: 1x1 conv (reduce) -> 5x5 conv    -> ch5x5 maps
        branch4: 3x3 max pool (stride 1) -> 1x1   -> pool_proj maps

    every convolution followed by ReLU. The 1x1 "reduce" convolutions cut the channels before
    the expensive 3x3 and 5x5 convolutions (network in network as dimension reduction).
    Shape: (N, in_channels, H, W) -> (N, ch1x1 + ch3x3 + ch5x5 + pool_proj, H, W)."""

    def __init__(self, in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int,
                 ch5x5: int, pool_proj: int):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("ch1x1", ch1x1), ("ch3x3red", ch3x3red),
                        ("ch3x3", ch3x3), ("ch5x5red", ch5x5red), ("ch5x5", ch5x5),
                        ("pool_proj", pool_proj)):
            check_int(v, name, "Inception")
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + pool_proj
        self.branch1 = _conv_relu(in_channels, ch1x1, 1)
        self.branch2 = nn.Sequential(_conv_relu(in_channels, ch3x3red, 1),
                                     _conv_relu(ch3x3red, ch3x3, 3, padding=1))
        self.branch3 = nn.Sequential(_conv_relu(in_channels, ch5x5red, 1),
                                     _conv_relu(ch5x5red, ch5x5, 5, padding=2))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     _conv_relu(in_channels, pool_proj, 1))

    def forward(self, x):
        # four (N, C_b, H, W) maps -> (N, sum C_b, H, W)
        return F.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], dim=1)


class InceptionAux(nn.Module):
    """An auxiliary classifier (section 5): 5x5/3 average pooling (14x14 -> 4x4), 1x1 conv
    with 128 maps + ReLU, fc 1024 + ReLU, dropout 70%, linear to the classes.
    Shape: (N, in_channels, 14, 14) -> (N, num_classes)."""

    def __init__(self, in_channels: int, num_classes: int, width_mult: float = 1.0,
                 dropout: float = 0.7):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)                     # (N, C, 14, 14) -> (N, C, 4, 4)
        self.conv = _conv_relu(in_channels, scaled(128, width_mult), 1)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(scaled(128, width_mult) * 4 * 4, scaled(1024, width_mult))
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.fc2 = nn.Linear(scaled(1024, width_mult), num_classes)

    def forward(self, x):
        if x.ndim != 4 or not 14 <= x.shape[-2] <= 16 or not 14 <= x.shape[-1] <= 16:
            raise ValueError(f"InceptionAux: expected the (N, C, 14, 14) maps of inception 4a/4d "
                             f"for a 224x224 input (its fc layer takes 128 x 4 x 4 values), got "
                             f"shape {x.shape}; use googlenet(aux_logits=False) for other "
                             f"input sizes")
        x = self.flatten(self.conv(self.pool(x)))
        return self.fc2(self.dropout(self.relu(self.fc1(x))))


class GoogLeNet(nn.Module):
    """Inception v1 as in the paper's Table 1 (see the module docstring).

    forward returns the logits (N, num_classes); in training mode with aux_logits=True a
    ``GoogLeNetOutputs(logits, aux_logits2, aux_logits1)`` as torchvision does.

    Initialisation: torchvision's GoogLeNet initialises N(0, 0.01^2) because every convolution
    there is followed by BatchNorm; this network has none (as the paper), and at that scale its
    signals would vanish over 22 layers. It uses the paper's reference Caffe model's recipe
    instead (bvlc_googlenet): weights "xavier" (U(-sqrt(3 / fan_in), +sqrt(3 / fan_in))),
    biases 0.2 in the convolutions and 0 in the classifiers."""

    def __init__(self, num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
                 dropout: float = 0.4, dropout_aux: float = 0.7, width_mult: float = 1.0):
        super().__init__()
        owner = "googlenet"
        num_classes = check_int(num_classes, "num_classes", owner)
        in_channels = check_int(in_channels, "in_channels", owner)
        w = check_width(width_mult, owner)
        dropout, dropout_aux = check_dropout(dropout, owner), check_dropout(dropout_aux, owner)
        self.aux_logits = bool(aux_logits)

        def lrn():
            return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)

        def pool():
            return nn.MaxPool2d(3, stride=2, ceil_mode=True)

        c64, c192 = scaled(64, w), scaled(192, w)
        self.conv1 = _conv_relu(in_channels, c64, 7, stride=2, padding=3)   # -> 112x112x64
        self.maxpool1 = pool()                                               # -> 56x56
        self.norm1 = lrn()
        self.conv2 = _conv_relu(c64, c64, 1)                                 # 3x3 reduce
        self.conv3 = _conv_relu(c64, c192, 3, padding=1)                     # -> 56x56x192
        self.norm2 = lrn()
        self.maxpool2 = pool()                                               # -> 28x28

        channels = c192
        for name in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b"):
            widths = [scaled(c, w) for c in INCEPTION_TABLE[name]]
            module = Inception(channels, *widths)
            setattr(self, "inception" + name, module)
            channels = module.out_channels
            if name == "3b":
                self.maxpool3 = pool()                                       # -> 14x14
            elif name == "4e":
                self.maxpool4 = pool()                                       # -> 7x7
        if self.aux_logits:
            self.aux1 = InceptionAux(self.inception4a.out_channels, num_classes, w, dropout_aux)
            self.aux2 = InceptionAux(self.inception4d.out_channels, num_classes, w, dropout_aux)
        else:
            self.aux1 = self.aux2 = None
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))     # the paper's 7x7/1 average pool at 224
        self.flatten = nn.Flatten()                     # (N, 1024, 1, 1) -> (N, 1024)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                init.kaiming_uniform_(m.weight, nonlinearity="linear")   # Caffe's "xavier"
                init.constant_(m.bias, 0.2 if isinstance(m, nn.Conv2d) else 0.0)

    def forward(self, x):
        x = self.maxpool1(self.conv1(x))                 # (N, 3, 224, 224) -> (N, 64, 56, 56)
        x = self.norm1(x)
        x = self.norm2(self.conv3(self.conv2(x)))        # -> (N, 192, 56, 56)
        x = self.maxpool2(x)                             # -> (N, 192, 28, 28)
        x = self.inception3b(self.inception3a(x))        # -> (N, 480, 28, 28)
        x = self.inception4a(self.maxpool3(x))           # -> (N, 512, 14, 14)
        aux1 = self.aux1(x) if self.aux1 is not None and self.training else None
        x = self.inception4d(self.inception4c(self.inception4b(x)))   # -> (N, 528, 14, 14)
        aux2 = self.aux2(x) if self.aux2 is not None and self.training else None
        x = self.maxpool4(self.inception4e(x))           # -> (N, 832, 7, 7)
        x = self.inception5b(self.inception5a(x))        # -> (N, 1024, 7, 7)
        x = self.fc(self.dropout(self.flatten(self.avgpool(x))))   # -> (N, num_classes)
        if self.aux_logits and self.training:
            return GoogLeNetOutputs(x, aux2, aux1)
        return x


def googlenet(num_classes: int = 1000, in_channels: int = 3, aux_logits: bool = False,
              dropout: float = 0.4, dropout_aux: float = 0.7,
              width_mult: float = 1.0) -> GoogLeNet:
    """GoogLeNet (Inception v1) as in the paper: 6,998,552 parameters without the auxiliary
    classifiers, 13,378,280 with them (1000 classes)."""
    return GoogLeNet(num_classes, in_channels, aux_logits, dropout, dropout_aux, width_mult)
