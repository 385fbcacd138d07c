"""torchvision.transforms.functional: one-call forms of the transforms (PIL image, array or
Tensor in; the same kind out), each the transform class applied once."""

from __future__ import annotations

import numpy as np

from ...data import transforms as _T
from ...data.transforms import to_tensor_array

__all__ = ["to_tensor", "to_pil_image", "normalize", "resize", "center_crop", "crop", "pad",
           "hflip", "vflip", "rgb_to_grayscale", "resized_crop"]


def to_tensor(pic):
    """PIL image or (H, W, C) array -> (C, H, W) Tensor (see ``transforms.ToTensor``)."""
    return _T.ToTensor()(pic)


def to_pil_image(pic, mode=None):
    return _T.ToPILImage(mode)(pic)


def normalize(tensor, mean, std, inplace: bool = False):
    return _T.Normalize(mean, std, inplace)(tensor)


def resize(img, size, interpolation="bilinear", max_size=None, antialias: bool = True):
    return _T.Resize(size, interpolation, max_size, antialias)(img)


def center_crop(img, output_size):
    return _T.CenterCrop(output_size)(img)


def pad(img, padding, fill=0, padding_mode: str = "constant"):
    return _T.Pad(padding, fill, padding_mode)(img)


def hflip(img):
    return _T.RandomHorizontalFlip(1.0)(img, rng=np.random.default_rng(0))


def vflip(img):
    return _T.RandomVerticalFlip(1.0)(img, rng=np.random.default_rng(0))


def rgb_to_grayscale(img, num_output_channels: int = 1):
    return _T.Grayscale(num_output_channels)(img)


class _Window(_T.Transform):
    """A fixed crop (and optional resize): the deterministic core of crop / resized_crop."""

    def __init__(self, top, left, height, width, size=None, interpolation="bilinear"):
        self.box, self.size, self.interpolation = (top, left, height, width), size, interpolation

    def apply(self, x, rng):
        from ...data import image_ops
        t, l, h, w = self.box
        x = _T.image_ops.pad(x, (max(-l, 0), max(-t, 0), max(l + w - x.shape[-1], 0),
                                 max(t + h - x.shape[-2], 0)))   # outside the image is 0
        x = image_ops.crop(x, max(t, 0), max(l, 0), h, w)
        return x if self.size is None else _T.Resize(self.size).apply(x, None)

    def apply_pil(self, img, rng):
        from ...data import pil
        out = pil.crop(img, *self.box)
        return out if self.size is None else _T.Resize(self.size, self.interpolation)(out)


def crop(img, top: int, left: int, height: int, width: int):
    """The window at (top, left) of height x width; outside the image it is 0 (torchvision)."""
    return _Window(top, left, height, width)(img)


def resized_crop(img, top: int, left: int, height: int, width: int, size,
                 interpolation="bilinear"):
    return _Window(top, left, height, width, size, interpolation)(img)


# the numpy form of to_tensor, for code that wants arrays
to_array = to_tensor_array
