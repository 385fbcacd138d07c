"""A deep, narrow CNN for the vanishing-gradient experiment of the lecture notes (notebook 06).

``deep_cnn(depth=20, residual=False)`` stacks ``depth`` weight layers: a 3x3 stem convolution,
``depth - 2`` 3x3 convolutions of ``width`` channels, each followed by the activation, then global
average pooling and a linear classifier. No batch norm, so nothing hides what the activation and
the initialisation do to the gradient: through a plain stack, the gradient reaching layer 1 is a
product of ``depth - 1`` Jacobians,

    dL/dx_1 = W_2^T D_2 W_3^T D_3 ... W_L^T D_L dL/dx_L      (D_l = diag(act'(z_l)))

which shrinks (sigmoid: act' <= 1/4; weights too small) or grows (weights too large) like
a^(L-1), the notes' 0.5^(L-1) / 1.5^(L-1) argument. ``residual=True`` adds an identity shortcut
around every middle convolution, x_{l+1} = x_l + act(conv(x_l)) (the activation inside the
branch, as in He et al. 2016, "Identity mappings in deep residual networks", so the shortcut
path has Jacobian I and the gradient reaches layer 1 undiminished); parameters and keys are the
same as the plain net's.

Initialisations (``init``): 'default' (PyTorch's, U(+-1/sqrt(fan_in)) weights and biases),
'naive' (N(0, 0.01^2), the "small random numbers" of early tutorials), 'xavier' (Glorot and
Bengio 2010, N(0, 2 / (fan_in + fan_out)), the notes' sqrt(1/n) for tanh), 'he' (He et al.
2015, N(0, 2 / fan_in), the notes' sqrt(2/n) for ReLU); biases 0 except for 'default'.
"""

from __future__ import annotations

from .. import nn
from ..nn import init
from ._utils import check_int

__all__ = ["DeepCNN", "ConvActBlock", "deep_cnn", "ACTIVATIONS", "INITS"]

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
INITS = ("default", "naive", "xavier", "he")


def _choice(value, options, name: str) -> str:
    if value not in options:
        raise ValueError(f"deep_cnn: {name} must be one of {sorted(options)}, got {value!r}")
    return value


class ConvActBlock(nn.Module):
    """3x3 convolution (padding 1) and activation, x -> act(conv(x)), or with ``residual=True``
    x -> x + act(conv(x)). Shape: (N, C, H, W) -> (N, C, H, W)."""

    def __init__(self, channels: int, activation: str = "relu", residual: bool = False):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)
        self.act = ACTIVATIONS[_choice(activation, ACTIVATIONS, "activation")]()
        self.residual = bool(residual)

    def forward(self, x):
        out = self.act(self.conv(x))
        return x + out if self.residual else out

    def extra_repr(self) -> str:
        return f"residual={self.residual}"


class DeepCNN(nn.Module):
    """stem conv 3x3 (in_channels -> width) + act; depth - 2 ConvActBlocks; global average pool;
    linear (width -> num_classes): ``depth`` weight layers.
    Shape: (N, in_channels, H, W) -> (N, num_classes)."""

    def __init__(self, depth: int = 20, width: int = 8, in_channels: int = 1,
                 num_classes: int = 10, activation: str = "relu", residual: bool = False,
                 init: str = "default"):
        super().__init__()
        depth = check_int(depth, "depth", "deep_cnn", minimum=3)
        width = check_int(width, "width", "deep_cnn")
        _choice(activation, ACTIVATIONS, "activation")
        self.init_name = _choice(init, INITS, "init")
        self.depth, self.activation, self.residual = depth, activation, bool(residual)
        self.stem = nn.Sequential(nn.Conv2d(check_int(in_channels, "in_channels", "deep_cnn"),
                                            width, 3, padding=1), ACTIVATIONS[activation]())
        self.blocks = nn.Sequential(*[ConvActBlock(width, activation, residual)
                                      for _ in range(depth - 2)])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(width, check_int(num_classes, "num_classes", "deep_cnn"))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for m in self.modules():
            if not isinstance(m, (nn.Conv2d, nn.Linear)):
                continue
            if self.init_name == "default":
                m.reset_parameters()
                continue
            if self.init_name == "naive":
                init.normal_(m.weight, 0.0, 0.01)
            elif self.init_name == "xavier":
                init.xavier_normal_(m.weight)
            else:
                init.kaiming_normal_(m.weight, nonlinearity="relu")
            init.zeros_(m.bias)

    def forward(self, x):
        x = self.blocks(self.stem(x))                   # (N, C_in, H, W) -> (N, width, H, W)
        return self.fc(self.flatten(self.pool(x)))     # -> (N, num_classes)

    def extra_repr(self) -> str:
        return f"depth={self.depth}, init={self.init_name!r}"


def deep_cnn(depth: int = 20, width: int = 8, in_channels: int = 1, num_classes: int = 10,
             activation: str = "relu", residual: bool = False, init: str = "default") -> DeepCNN:
    """A ``depth``-layer plain (or, with residual=True, residual) CNN; see the module docstring."""
    return DeepCNN(depth, width, in_channels, num_classes, activation, residual, init)
