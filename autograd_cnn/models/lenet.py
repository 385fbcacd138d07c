"""LeNet-5 (LeCun, Bottou, Bengio & Haffner 1998, "Gradient-based learning applied to document
recognition"), in two forms:

``lenet5()``: the textbook version every course draws (32x32 input):

    layer     kernel / units           output      parameters
    input                              1x32x32
    C1        conv 5x5, 6 maps, tanh   6x28x28            156
    S2        avg pool 2x2             6x14x14              0
    C3        conv 5x5, 16 maps, tanh  16x10x10         2,416
    S4        avg pool 2x2             16x5x5               0
    F5        fc 120, tanh             120             48,120
    F6        fc 84, tanh              84              10,164
    output    fc 10                    10                 850
                                                       61,706

``modern=True`` swaps tanh for ReLU and average for max pooling.

``lenet5_1998()``: the network as published, with the paper's own parameter counts:

    layer     what                                         output     trainable
    C1        conv 5x5, 6 maps                             6x28x28          156
    S2        2x2 sum * coefficient + bias, per map        6x14x14           12
    C3        conv 5x5, 16 maps, partial table (Table I)   16x10x10       1,516
    S4        2x2 sum * coefficient + bias, per map        16x5x5            32
    C5        conv 5x5, 120 maps (full)                    120x1x1       48,120
    F6        fc 84                                        84            10,164
    output    Euclidean RBF, 10 classes x 84               10         0 (840 fixed)
                                                                         60,000

Every layer up to F6 is followed by the paper's squashing function f(a) = 1.7159 tanh(2a/3).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..nn import init
from ..random import resolve
from ..tensor import get_default_dtype
from ._utils import check_int, run_sequential

__all__ = ["LeNet5", "lenet5", "LeNet5_1998", "lenet5_1998", "ScaledTanh", "Subsampling",
           "ConnectionTableConv2d", "RBFOutput", "C3_TABLE", "DIGIT_BITMAPS"]


# ---- the textbook LeNet-5 --------------------------------------------------------------------

class LeNet5(nn.Module):
    """The textbook LeNet-5: two conv/pool stages and three fully connected layers.
    Input (N, in_channels, 32, 32) (pad 28x28 MNIST digits by 2); output (N, num_classes) logits.
    Parameters keep PyTorch's default initialisation."""

    def __init__(self, num_classes: int = 10, in_channels: int = 1, modern: bool = False):
        super().__init__()
        num_classes = check_int(num_classes, "num_classes", "lenet5")
        in_channels = check_int(in_channels, "in_channels", "lenet5")
        act = nn.ReLU if modern else nn.Tanh
        pool = nn.MaxPool2d if modern else nn.AvgPool2d
        self.modern = bool(modern)
        self.features = nn.Sequential(
            # C1, S2: (N, 1, 32, 32) -> (N, 6, 28, 28) -> (N, 6, 14, 14)
            nn.Conv2d(in_channels, 6, 5), act(), pool(2),
            # C3, S4: -> (N, 16, 10, 10) -> (N, 16, 5, 5)
            nn.Conv2d(6, 16, 5), act(), pool(2),
        )
        self.flatten = nn.Flatten()                           # -> (N, 400)
        self.classifier = nn.Sequential(
            nn.Linear(16 * 5 * 5, 120), act(),                # F5
            nn.Linear(120, 84), act(),                        # F6
            nn.Linear(84, num_classes),                       # output
        )

    def forward(self, x):
        # modern: conv + ReLU pairs as fused ops (_utils.run_sequential); tanh is not fused
        return self.classifier(self.flatten(run_sequential(self.features, x)))


def lenet5(num_classes: int = 10, in_channels: int = 1, modern: bool = False) -> LeNet5:
    """The textbook LeNet-5 (tanh + average pooling; ``modern=True``: ReLU + max pooling).
    61,706 parameters for 10 classes."""
    return LeNet5(num_classes, in_channels, modern)


# ---- the 1998 LeNet-5 ------------------------------------------------------------------------

# Table I of the paper: which S2 maps (0-5) each C3 map (0-15) reads. The first six read three
# neighbouring maps, the next six four neighbouring maps, three read four non-neighbouring maps
# and the last reads all six: 60 connections of 25 weights plus 16 biases = 1,516 parameters.
# The paper's reasons: fewer connections, and broken symmetry (different maps see different
# inputs, so they are forced to learn different features).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)

# The RBF centres of the output layer: stylised 7x12 bitmaps of the digits ('#' = +1, '.' = -1),
# drawn here after the paper's Fig. 3 ("the initial parameters of the output RBFs"), which were
# "chosen by hand and kept fixed".
DIGIT_BITMAPS = (
    ("..###..", ".#...#.", "#.....#", "#.....#", "#.....#", "#.....#",
     "#.....#", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    ("...#...", "..##...", ".#.#...", "...#...", "...#...", "...#...",
     "...#...", "...#...", "...#...", "...#...", "...#...", ".#####."),
    ("..###..", ".#...#.", "#.....#", "......#", ".....#.", "....#..",
     "...#...", "..#....", ".#.....", "#......", "#......", "#######"),
    (".#####.", "#.....#", "......#", "......#", ".....#.", "..###..",
     ".....#.", "......#", "......#", "......#", "#.....#", ".#####."),
    (".....#.", "....##.", "...#.#.", "..#..#.", ".#...#.", "#....#.",
     "#######", ".....#.", ".....#.", ".....#.", ".....#.", ".....#."),
    ("#######", "#......", "#......", "#......", "#####..", ".....#.",
     "......#", "......#", "......#", "......#", "#....#.", ".####.."),
    ("..####.", ".#.....", "#......", "#......", "#......", "#.###..",
     "##...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    ("#######", "......#", ".....#.", ".....#.", "....#..", "....#..",
     "...#...", "...#...", "..#....", "..#....", "..#....", "..#...."),
    ("..###..", ".#...#.", "#.....#", "#.....#", ".#...#.", "..###..",
     ".#...#.", "#.....#", "#.....#", "#.....#", ".#...#.", "..###.."),
    ("..###..", ".#...#.", "#.....#", "#.....#", "#.....#", ".#...##",
     "..###.#", "......#", "......#", "......#", ".....#.", ".####.."),
)


def _bitmap_codes() -> np.ndarray:
    """(10, 84) array of +-1: row k is digit k's bitmap read row by row."""
    return np.array([[1.0 if ch == "#" else -1.0 for row in digit for ch in row]
                     for digit in DIGIT_BITMAPS])


class ScaledTanh(nn.Module):
    """The paper's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (so f(1) = 1,
    f(-1) = -1, and the gain is largest around the targets +-1).
    f'(a) = A S (1 - tanh^2(S a)). Shape: any -> the same."""

    A = 1.7159
    S = 2.0 / 3.0

    def forward(self, x):
        return F.tanh(x * self.S) * self.A


class Subsampling(nn.Module):
    """S2/S4: each unit adds its 2x2 input window, multiplies the sum by a trainable coefficient
    and adds a trainable bias, one pair per map:

        y[n, c, i, j] = weight[c] * sum_{a, b < 2} x[n, c, 2i + a, 2j + b] + bias[c]

    d y / d weight[c] = the window sum; d y / d x = weight[c] on every element of the window.
    Parameters: weight (C,), bias (C,). Shape: (N, C, H, W) -> (N, C, H // 2, W // 2)."""

    kernel_size, stride, padding = (2, 2), (2, 2), (0, 0)     # read by summary's receptive field

    def __init__(self, channels: int):
        super().__init__()
        self.channels = check_int(channels, "channels", "Subsampling")
        self.weight = nn.Parameter(np.ones(self.channels, get_default_dtype()))
        self.bias = nn.Parameter(np.zeros(self.channels, get_default_dtype()))

    def forward(self, x):
        c = self.channels
        window_sum = F.avg_pool2d(x, 2) * 4.0                  # (N, C, H, W) -> (N, C, H/2, W/2)
        return window_sum * self.weight.reshape(1, c, 1, 1) + self.bias.reshape(1, c, 1, 1)

    def count_macs(self, inputs, output) -> int:
        """One multiply-add per output (the coefficient times the window sum, plus the bias)."""
        return int(np.prod(output.shape))

    def extra_repr(self) -> str:
        return f"{self.channels}, kernel_size=2, stride=2"


class ConnectionTableConv2d(nn.Module):
    """A convolution where output map k reads only the input maps ``table[k]`` (LeNet-5's C3).

    Consecutive output maps with the same number of inputs form one group: their inputs are
    gathered side by side and convolved with ``groups`` = the number of maps in the group, so
    each map has exactly len(table[k]) x kh x kw weights and one bias.
    Shape: (N, C_in, H, W) -> (N, len(table), H - kh + 1, W - kw + 1)."""

    def __init__(self, table, kernel_size: int):
        super().__init__()
        self.table = tuple(tuple(int(c) for c in row) for row in table)
        if not self.table or any(not row or len(set(row)) != len(row) for row in self.table):
            raise ValueError(f"ConnectionTableConv2d: every output map needs a non-empty list of "
                             f"distinct input maps, got {table!r}")
        if min(min(row) for row in self.table) < 0:
            raise ValueError("ConnectionTableConv2d: input map indices must be non-negative")
        self.in_channels = max(max(row) for row in self.table) + 1
        self.out_channels = len(self.table)
        self.kernel_size = (kernel_size, kernel_size)
        self.stride, self.padding = (1, 1), (0, 0)
        groups, start = [], 0
        for k in range(1, len(self.table) + 1):
            if k == len(self.table) or len(self.table[k]) != len(self.table[start]):
                groups.append(self.table[start:k])
                start = k
        self._gather = [np.array([c for row in g for c in row], dtype=np.intp) for g in groups]
        self.convs = nn.ModuleList(
            nn.Conv2d(len(g) * len(g[0]), len(g), kernel_size, groups=len(g)) for g in groups)

    def forward(self, x):
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"ConnectionTableConv2d: expected an input of shape (N, "
                             f"{self.in_channels}, H, W), got {x.shape}")
        # each group: (N, C_in, H, W) -> gather (N, sum of fan-ins, H, W) -> (N, maps, Ho, Wo)
        return F.cat([conv(x[:, idx]) for conv, idx in zip(self.convs, self._gather)], dim=1)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"connections={sum(len(r) for r in self.table)}")


class RBFOutput(nn.Module):
    """The output layer of LeNet-5: Euclidean radial basis function units,

        y[n, i] = sum_j (x[n, j] - w[i, j])^2,     d y[n, i] / d x[n, j] = 2 (x[n, j] - w[i, j])

    a penalty that is small when the input is close to class i's code w[i]. The codes are the
    7x12 bitmaps of ``DIGIT_BITMAPS`` (+-1) for 10 classes, or fixed random +-1 codes for other
    class counts. As in the paper they are kept fixed: ``weight`` is a Parameter with
    requires_grad=False (``requires_grad_(True)`` makes them learnable).
    Shape: (N, in_features) -> (N, num_classes)."""

    def __init__(self, in_features: int = 84, num_classes: int = 10):
        super().__init__()
        self.in_features = check_int(in_features, "in_features", "RBFOutput")
        self.num_classes = check_int(num_classes, "num_classes", "RBFOutput")
        if (num_classes, in_features) == (10, 84):
            codes = _bitmap_codes()
        else:
            codes = resolve(1998).choice([-1.0, 1.0], size=(num_classes, in_features))
        self.weight = nn.Parameter(codes.astype(get_default_dtype()), requires_grad=False)

    def forward(self, x):
        # (N, F) -> (N, 1, F) - (1, K, F) -> squared distances (N, K)
        diff = x.unsqueeze(1) - self.weight.unsqueeze(0)
        return (diff * diff).sum(dim=2)

    def count_macs(self, inputs, output) -> int:
        """One subtract-square-accumulate per (sample, class, input)."""
        return int(np.prod(output.shape)) * self.in_features

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, num_classes={self.num_classes}"


class LeNet5_1998(nn.Module):
    """LeNet-5 as published (see the module docstring for the table).

    Trainable parameters: exactly 60,000 (C1 156 + S2 12 + C3 1,516 + S4 32 + C5 48,120 +
    F6 10,164). The output layer's 840 RBF parameters (10 x 84) are counted apart: the paper
    says they were "chosen by hand and kept fixed (at least initially)", so they are frozen
    here (requires_grad=False) and ``summary`` reports them as frozen; 60,840 in all.

    ``forward`` returns -y, the negated RBF penalties, as class scores: the most likely class
    has the smallest penalty, and cross_entropy(-y, target) is the paper's loss (eq. 9) without
    its constant "rubbish class" term. ``penalties(x)`` gives y itself.

    Initialisation as in the paper: weights and biases ~ U(-2.4 / F, 2.4 / F), F = the unit's
    fan-in. Input (N, 1, 32, 32), ideally scaled so the background is -0.1 and ink 1.175.
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1):
        super().__init__()
        num_classes = check_int(num_classes, "num_classes", "lenet5_1998")
        in_channels = check_int(in_channels, "in_channels", "lenet5_1998")
        self.c1 = nn.Conv2d(in_channels, 6, 5)            # (N, 1, 32, 32) -> (N, 6, 28, 28)
        self.act1 = ScaledTanh()
        self.s2 = Subsampling(6)                          # -> (N, 6, 14, 14)
        self.act2 = ScaledTanh()
        self.c3 = ConnectionTableConv2d(C3_TABLE, 5)      # -> (N, 16, 10, 10)
        self.act3 = ScaledTanh()
        self.s4 = Subsampling(16)                         # -> (N, 16, 5, 5)
        self.act4 = ScaledTanh()
        self.c5 = nn.Conv2d(16, 120, 5)                   # -> (N, 120, 1, 1)
        self.act5 = ScaledTanh()
        self.flatten = nn.Flatten()                       # -> (N, 120)
        self.f6 = nn.Linear(120, 84)                      # -> (N, 84)
        self.act6 = ScaledTanh()
        self.output = RBFOutput(84, num_classes)          # -> (N, num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        fan_in = {id(self.s2): 4, id(self.s4): 4}
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan = init._calculate_fan_in_and_fan_out(m.weight)[0]
                for p in (m.weight, m.bias):
                    init.uniform_(p, -2.4 / fan, 2.4 / fan)
            elif isinstance(m, Subsampling):
                for p in (m.weight, m.bias):
                    init.uniform_(p, -2.4 / fan_in[id(m)], 2.4 / fan_in[id(m)])

    def penalties(self, x):
        """The RBF outputs y (N, num_classes): squared distances to the class codes."""
        x = self.act2(self.s2(self.act1(self.c1(x))))
        x = self.act4(self.s4(self.act3(self.c3(x))))
        x = self.act6(self.f6(self.flatten(self.act5(self.c5(x)))))
        return self.output(x)

    def forward(self, x):
        return -self.penalties(x)


def lenet5_1998(num_classes: int = 10, in_channels: int = 1) -> LeNet5_1998:
    """LeNet-5 as in LeCun et al. 1998: 60,000 trainable parameters (+ 840 fixed RBF codes)."""
    return LeNet5_1998(num_classes, in_channels)
