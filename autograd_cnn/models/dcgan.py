"""DCGAN (Radford, Metz & Chintala 2016, "Unsupervised representation learning with deep
convolutional generative adversarial networks"), sized by ``image_size`` (a power of two >= 8).

The paper's architecture guidelines, all followed here:
  * no pooling: the discriminator downsamples with strided convolutions, the generator upsamples
    with fractionally-strided (transposed) convolutions;
  * BatchNorm in both, except the generator's output layer and the discriminator's input layer;
  * no fully-connected hidden layers (z enters as a (nz, 1, 1) map, the discriminator ends in a
    convolution over its last 4x4 map);
  * ReLU in the generator (Tanh at the output: images in [-1, 1]), LeakyReLU(0.2) in the
    discriminator;
  * weights from N(0, 0.02) (BatchNorm scales from N(1, 0.02)), see ``dcgan_init_``.

For image_size 16, ngf = ndf = 32:

    Generator      z (nz,1,1) -convT 4/1/0-> 64 x 4x4 -convT 4/2/1-> 32 x 8x8 -convT 4/2/1-> C x 16x16
    Discriminator  C x 16x16 -conv 4/2/1-> 32 x 8x8 -conv 4/2/1-> 64 x 4x4 -conv 4/1/0-> 1 x 1x1

One difference: the discriminator returns logits (no final sigmoid); train it with
``F.binary_cross_entropy_with_logits``, which is the paper's loss computed stably.
"""

from __future__ import annotations

import math

from .. import nn
from ..nn import init
from ._utils import check_int

__all__ = ["DCGANGenerator", "DCGANDiscriminator", "dcgan", "dcgan_init_"]


def _levels(image_size: int, owner: str) -> int:
    image_size = check_int(image_size, "image_size", owner, minimum=8)
    levels = int(round(math.log2(image_size)))
    if 2 ** levels != image_size:
        raise ValueError(f"{owner}: image_size must be a power of two (8, 16, 32, 64, ...), got "
                         f"{image_size}")
    return levels - 2                                   # 4x4 -> image_size in this many 2x steps


def dcgan_init_(model: nn.Module) -> nn.Module:
    """The paper's initialisation, in place: conv weights ~ N(0, 0.02), BatchNorm weight ~
    N(1, 0.02), biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            init.normal_(m.weight, 1.0, 0.02)
            init.zeros_(m.bias)
    return model


class DCGANGenerator(nn.Module):
    """z (N, nz) or (N, nz, 1, 1) -> images (N, out_channels, image_size, image_size) in [-1, 1]."""

    def __init__(self, nz: int = 16, ngf: int = 32, out_channels: int = 1, image_size: int = 16):
        super().__init__()
        owner = "DCGANGenerator"
        self.nz = check_int(nz, "nz", owner)
        ngf = check_int(ngf, "ngf", owner)
        out_channels = check_int(out_channels, "out_channels", owner)
        steps = _levels(image_size, owner)
        width = ngf * 2 ** (steps - 1) if steps else ngf
        layers = [nn.ConvTranspose2d(self.nz, width, 4, 1, 0, bias=False),   # -> 4x4
                  nn.BatchNorm2d(width), nn.ReLU(True)]
        for _ in range(steps - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, out_channels, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z):
        if z.ndim == 2:
            z = z.reshape(z.shape[0], z.shape[1], 1, 1)              # (N, nz) -> (N, nz, 1, 1)
        if z.ndim != 4 or z.shape[1] != self.nz or z.shape[2:] != (1, 1):
            raise ValueError(f"DCGANGenerator: expected z of shape (N, {self.nz}) or "
                             f"(N, {self.nz}, 1, 1), got {z.shape}")
        return self.main(z)


class DCGANDiscriminator(nn.Module):
    """images (N, in_channels, image_size, image_size) -> logits (N,) (real: high)."""

    def __init__(self, ndf: int = 32, in_channels: int = 1, image_size: int = 16):
        super().__init__()
        owner = "DCGANDiscriminator"
        ndf = check_int(ndf, "ndf", owner)
        in_channels = check_int(in_channels, "in_channels", owner)
        steps = _levels(image_size, owner)
        self.image_size = image_size
        layers = [nn.Conv2d(in_channels, ndf, 4, 2, 1, bias=False),          # no BN on the input
                  nn.LeakyReLU(0.2, inplace=True)]
        width = ndf
        for _ in range(steps - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(width * 2), nn.LeakyReLU(0.2, inplace=True)]
            width *= 2
        layers.append(nn.Conv2d(width, 1, 4, 1, 0, bias=False))             # 4x4 -> 1x1
        self.main = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x):
        return self.main(x).reshape(x.shape[0])


def dcgan(nz: int = 16, ngf: int = 32, ndf: int = 32, channels: int = 1,
          image_size: int = 16) -> tuple:
    """(generator, discriminator) pair for ``image_size`` images (see the module docstring)."""
    return (DCGANGenerator(nz, ngf, channels, image_size),
            DCGANDiscriminator(ndf, channels, image_size))
