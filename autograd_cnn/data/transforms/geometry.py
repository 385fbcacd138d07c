"""Where the pixels go: pad, crop, resize, flip, affine warps (torchvision's semantics; PIL
images through the Pillow calls torchvision makes, arrays through ``image_ops``)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from ...args import int_pair
from .. import image_ops, pil
from . import batch as _batch
from .base import RandomTransform, Transform, _check_p, _range, _size_hw

__all__ = ["Pad", "CenterCrop", "InterpolationMode", "resized_shape", "Resize",
           "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomResizedCrop",
           "RandomAffine", "RandomRotation"]


class Pad(Transform):
    """Pad the borders: ``padding`` int, (left/right, top/bottom) or (left, top, right, bottom)
    as torchvision's; ``padding_mode``
    'constant' (with ``fill``), 'edge', 'reflect' or 'symmetric'."""

    batchable = True

    def __init__(self, padding, fill: float = 0.0, padding_mode: str = "constant"):
        image_ops._padding4(padding)                      # validate now, not at the first image
        self.padding, self.fill, self.padding_mode = padding, fill, padding_mode
        if padding_mode not in image_ops._PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {sorted(image_ops._PAD_MODES)}, "
                             f"got {padding_mode!r}")

    def apply(self, x, rng):
        return image_ops.pad(x, self.padding, float(self.fill), self.padding_mode)

    def apply_pil(self, img, rng):
        fill = self.fill
        if isinstance(fill, float) and fill.is_integer():
            fill = int(fill)
        return pil.pad(img, image_ops._padding4(self.padding), fill, self.padding_mode)

    def extra_repr(self):
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode!r}"


def _center_crop(x, size):
    """torchvision's center_crop: an image smaller than ``size`` is first padded with zeros
    (the odd pixel at the right/bottom), then the window starts at round((H - h) / 2),
    round((W - w) / 2) (Python's round: halves go to the even number)."""
    ch, cw = size
    h, w = _size_hw(x)
    if ch > h or cw > w:
        ltrb = ((cw - w) // 2 if cw > w else 0, (ch - h) // 2 if ch > h else 0,
                (cw - w + 1) // 2 if cw > w else 0, (ch - h + 1) // 2 if ch > h else 0)
        x = pil.pad(x, ltrb, 0) if pil.is_pil_image(x) else image_ops.pad(x, ltrb, 0.0)
        h, w = _size_hw(x)
    top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
    if pil.is_pil_image(x):
        return pil.crop(x, top, left, ch, cw)
    return image_ops.crop(x, top, left, ch, cw)


class CenterCrop(Transform):
    """The central ``size`` window (int or (h, w)), as torchvision's: an image smaller than the
    window is padded with zeros first, and the offsets are rounded (see ``_center_crop``)."""

    batchable = True

    def __init__(self, size):
        self.size = int_pair(size, "size", "CenterCrop")
        if min(self.size) < 1:
            raise ValueError(f"CenterCrop: size must be positive, got {self.size}")

    def apply(self, x, rng):
        return _center_crop(x, self.size)

    def apply_pil(self, img, rng):
        return _center_crop(img, self.size)

    def extra_repr(self):
        return f"size={self.size}"


class InterpolationMode:
    """torchvision's interpolation names (strings here). Arrays and Tensors are resized
    bilinearly only; PIL images with any of Pillow's filters."""
    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"


def _interpolation(value, owner: str) -> str:
    value = getattr(value, "value", value)            # a torchvision-style enum member
    if value not in pil._RESAMPLE:
        raise ValueError(f"{owner}: interpolation must be one of {sorted(pil._RESAMPLE)}, got "
                         f"{value!r}")
    return value


def _resize_size(size, owner: str):
    """An int (or [int]): the shorter side; (h, w): the exact size."""
    if isinstance(size, (list, tuple)) and len(size) == 1:
        size = size[0]
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if size < 1:
            raise ValueError(f"{owner}: size must be positive, got {size}")
        return int(size)
    pair = int_pair(size, "size", owner)
    if min(pair) < 1:
        raise ValueError(f"{owner}: size must be positive, got {pair}")
    return pair


def resized_shape(h: int, w: int, size, max_size=None) -> tuple[int, int]:
    """torchvision's output size of Resize: an int resizes the shorter side to ``size`` and the
    longer one to int(size * long / short) (truncated), capped at ``max_size``; a pair is
    taken as (h, w)."""
    if not isinstance(size, int):
        return tuple(size)
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    if max_size is not None and new_long > max_size:
        new_short, new_long = int(max_size * new_short / new_long), max_size
    return (new_long, new_short) if w <= h else (new_short, new_long)


class Resize(Transform):
    """Resize as torchvision: ``size`` an int resizes the *shorter* side to it, keeping the
    aspect ratio (``resized_shape``); ``size`` (h, w) gives exactly that. Arrays and Tensors:
    bilinear with half-pixel centres, antialiased when shrinking (``image_ops.resize_weights``);
    PIL images: Pillow's resize with ``interpolation``, the call torchvision makes."""

    batchable = True

    def __init__(self, size, interpolation="bilinear", max_size=None, antialias: bool = True):
        self.size = _resize_size(size, "Resize")
        self.interpolation = _interpolation(interpolation, "Resize")
        if max_size is not None:
            if not isinstance(self.size, int):
                raise ValueError(f"Resize: max_size applies only when size is an int (the "
                                 f"shorter side), got size={size!r}")
            if max_size <= self.size:
                raise ValueError(f"Resize: max_size = {max_size} must be strictly greater than "
                                 f"the requested size for the smaller edge size = {self.size}")
        self.max_size = max_size
        self.antialias = bool(antialias)

    @property
    def resizes(self) -> bool:
        """Whether every image comes out one size (ImageFolder then accepts mixed sizes)."""
        return not isinstance(self.size, int)

    def apply(self, x, rng):
        if self.interpolation != "bilinear":
            raise ValueError(f"Resize: arrays and Tensors are resized bilinearly only, got "
                             f"interpolation={self.interpolation!r} (PIL images take any)")
        out_hw = resized_shape(*x.shape[-2:], self.size, self.max_size)
        return image_ops.resize(x, out_hw, self.antialias)

    def apply_pil(self, img, rng):
        out_hw = resized_shape(img.height, img.width, self.size, self.max_size)
        if out_hw == (img.height, img.width):
            return img
        return pil.resize(img, out_hw, self.interpolation)

    def extra_repr(self):
        return (f"size={self.size}, interpolation={self.interpolation}, max_size={self.max_size}, "
                f"antialias={self.antialias}")


class RandomHorizontalFlip(RandomTransform):
    """Mirror left-right with probability ``p``: x[..., ::-1]."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomHorizontalFlip")

    def apply(self, x, rng):
        return x[..., ::-1].copy() if rng.random() < self.p else x.copy()

    def batched(self):
        """Each image of a batch (N, C, H, W) mirrored with probability p (its own draw)."""
        return _batch.BatchRandomHorizontalFlip(self.p, self.generator)

    def apply_pil(self, img, rng):
        return pil.hflip(img) if rng.random() < self.p else img

    def extra_repr(self):
        return f"p={self.p}"


class RandomVerticalFlip(RandomTransform):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomVerticalFlip")

    def apply(self, x, rng):
        return x[..., ::-1, :].copy() if rng.random() < self.p else x.copy()

    def batched(self):
        """Each image of a batch (N, C, H, W) mirrored with probability p (its own draw)."""
        return _batch.BatchRandomVerticalFlip(self.p, self.generator)

    def apply_pil(self, img, rng):
        return pil.vflip(img) if rng.random() < self.p else img

    def extra_repr(self):
        return f"p={self.p}"


class RandomCrop(RandomTransform):
    """As torchvision's: pad by ``padding`` (as in Pad), then cut a ``size`` window at a
    uniformly random position. With ``pad_if_needed``, an image narrower (shorter) than
    ``size`` is padded by the missing width (height) on *both* sides first, as torchvision does."""

    def __init__(self, size, padding=0, pad_if_needed: bool = False, fill: float = 0.0,
                 padding_mode: str = "constant", generator=None):
        super().__init__(generator)
        self.size = int_pair(size, "size", "RandomCrop")
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {self.size}")
        if isinstance(pad_if_needed, str):          # the old positional order (fill, mode)
            raise TypeError("RandomCrop: pad_if_needed must be a bool; give fill= and "
                            "padding_mode= by name")
        self.pad = Pad(0 if padding is None else padding, fill, padding_mode)
        self.pad_if_needed = bool(pad_if_needed)

    def _pad(self, x, ltrb):
        if pil.is_pil_image(x):
            return Pad(ltrb, self.pad.fill, self.pad.padding_mode).apply_pil(x, None)
        return Pad(ltrb, self.pad.fill, self.pad.padding_mode).apply(x, None)

    def _crop(self, x, rng):
        if self.pad.padding != 0:
            x = self._pad(x, self.pad.padding)
        th, tw = self.size
        h, w = _size_hw(x)
        if self.pad_if_needed and w < tw:
            x = self._pad(x, (tw - w, 0, tw - w, 0))
        if self.pad_if_needed and h < th:
            x = self._pad(x, (0, th - h, 0, th - h))
        h, w = _size_hw(x)
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) image "
                             f"{h}x{w}; lower the size, add padding, or set pad_if_needed=True")
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        if pil.is_pil_image(x):
            return pil.crop(x, top, left, th, tw)
        return image_ops.crop(x, top, left, th, tw)

    def apply(self, x, rng):
        return self._crop(x, rng)

    def apply_pil(self, img, rng):
        return self._crop(img, rng)

    def batched(self):
        """The batch form: (N, C, H, W) padded once, a window drawn per image."""
        return _batch.BatchRandomCrop(self)

    def extra_repr(self):
        return f"size={self.size}, padding={self.pad.padding}"


class RandomResizedCrop(RandomTransform):
    """A random window of ``scale`` (fraction of the area) and aspect ``ratio`` (w / h, drawn
    log-uniformly), resized to ``size``: torchvision's (Inception-style) augmentation.

    ``get_params`` tries 10 times for a window that fits; else it falls back to the central
    crop with the ratio clamped into ``ratio`` (the whole image when its ratio is inside)."""

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0),
                 interpolation="bilinear", antialias: bool = True, generator=None):
        super().__init__(generator)
        if isinstance(size, (list, tuple)) and len(size) == 1:
            size = size[0]
        self.size = int_pair(size, "size", "RandomResizedCrop")
        if min(self.size) < 1:
            raise ValueError(f"RandomResizedCrop: size must be positive, got {self.size}")
        for name, value in (("scale", scale), ("ratio", ratio)):
            if (not isinstance(value, (tuple, list)) or len(value) != 2
                    or not all(isinstance(v, numbers.Real) and v > 0 for v in value)):
                raise ValueError(f"RandomResizedCrop: {name} must be a pair (min, max) of "
                                 f"positive numbers, got {value!r}")
            if value[0] > value[1]:
                raise ValueError(f"RandomResizedCrop: {name} should be of kind (min, max), got "
                                 f"{value!r}")
        self.scale = (float(scale[0]), float(scale[1]))
        self.ratio = (float(ratio[0]), float(ratio[1]))
        self.interpolation = _interpolation(interpolation, "RandomResizedCrop")
        self.antialias = bool(antialias)

    @staticmethod
    def get_params(height: int, width: int, scale, ratio, rng) -> tuple[int, int, int, int]:
        """(top, left, h, w) of the window, torchvision's algorithm."""
        area = height * width
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        for _ in range(10):
            target_area = area * rng.uniform(scale[0], scale[1])
            aspect = math.exp(rng.uniform(*log_ratio))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                top = int(rng.integers(0, height - h + 1))
                left = int(rng.integers(0, width - w + 1))
                return top, left, h, w
        in_ratio = width / height                         # fallback: a central crop
        if in_ratio < min(ratio):
            w, h = width, int(round(width / min(ratio)))
        elif in_ratio > max(ratio):
            h, w = height, int(round(height * max(ratio)))
        else:
            w, h = width, height
        return (height - h) // 2, (width - w) // 2, h, w

    def apply(self, x, rng):
        if self.interpolation != "bilinear":
            raise ValueError(f"RandomResizedCrop: arrays and Tensors are resized bilinearly "
                             f"only, got interpolation={self.interpolation!r}")
        top, left, h, w = self.get_params(*x.shape[-2:], self.scale, self.ratio, rng)
        return image_ops.resize(image_ops.crop(x, top, left, h, w), self.size, self.antialias)

    def apply_pil(self, img, rng):
        top, left, h, w = self.get_params(img.height, img.width, self.scale, self.ratio, rng)
        return pil.resize(pil.crop(img, top, left, h, w), self.size, self.interpolation)

    def extra_repr(self):
        return (f"size={self.size}, scale={self.scale}, ratio={self.ratio}, "
                f"interpolation={self.interpolation}")


class RandomAffine(RandomTransform):
    """One random affine warp per image: rotation, translation, scale and shear combined into a
    single matrix (``image_ops.affine_matrix``) and applied once by inverse mapping with bilinear
    sampling (``image_ops.warp_affine``), so the image is resampled once, not once per effect.

    degrees:   number d -> angle ~ U(-d, d), or (lo, hi); positive = counter-clockwise.
    translate: (a, b) fractions: shift ~ U(-a W, a W) horizontally, U(-b H, b H) vertically.
    scale:     (lo, hi): zoom factor ~ U(lo, hi).
    shear:     number s -> x-shear ~ U(-s, s) degrees; (lo, hi) for x; (lo, hi, lo_y, hi_y) for both.
    fill:      value of pixels that come from outside the image.
    """

    def __init__(self, degrees=0.0, translate=None, scale=None, shear=None, fill: float = 0.0,
                 generator=None):
        super().__init__(generator)
        self.degrees = _range(degrees, "RandomAffine: degrees", 0.0)
        if translate is not None:
            if (not isinstance(translate, (tuple, list)) or len(translate) != 2
                    or not all(isinstance(t, numbers.Real) and 0.0 <= t <= 1.0 for t in translate)):
                raise ValueError(f"RandomAffine: translate must be a pair of fractions in [0, 1], "
                                 f"got {translate!r}")
            translate = (float(translate[0]), float(translate[1]))
        self.translate = translate
        if scale is not None:
            scale = _range(scale, "RandomAffine: scale", 1.0)
            if scale[0] <= 0:
                raise ValueError(f"RandomAffine: scale factors must be positive, got {scale}")
        self.scale = scale
        if shear is None:
            self.shear = None
        elif isinstance(shear, (tuple, list)) and len(shear) == 4:
            self.shear = (_range(tuple(shear[:2]), "RandomAffine: shear", 0.0),
                          _range(tuple(shear[2:]), "RandomAffine: shear", 0.0))
        else:
            self.shear = (_range(shear, "RandomAffine: shear", 0.0), (0.0, 0.0))
        self.fill = float(fill)

    def sample_matrix(self, height: int, width: int, rng) -> np.ndarray:
        """Draw the parameters and return the 3x3 forward matrix for an image of this size."""
        angle = rng.uniform(*self.degrees)
        tx = ty = 0.0
        if self.translate is not None:
            tx = rng.uniform(-self.translate[0] * width, self.translate[0] * width)
            ty = rng.uniform(-self.translate[1] * height, self.translate[1] * height)
        s = rng.uniform(*self.scale) if self.scale is not None else 1.0
        sh = (rng.uniform(*self.shear[0]), rng.uniform(*self.shear[1])) if self.shear else (0.0, 0.0)
        center = ((width - 1) / 2.0, (height - 1) / 2.0)
        return image_ops.affine_matrix(angle, (tx, ty), s, sh, center)

    def apply(self, x, rng):
        m = self.sample_matrix(x.shape[-2], x.shape[-1], rng)
        return image_ops.warp_affine(x, m, self.fill)

    def batched(self):
        """The batch form (transforms/batch.py): one matrix per image of a batch (N, C, H, W),
        the same sampling and fill, one Numba call per batch (about 11x faster than image by
        image on a batch of 32 32x32 images). Unlike torchvision v2's RandomAffine on a batch, which applies
        one draw to every image."""
        return _batch.BatchRandomAffine(self)

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, fill={self.fill}")


class RandomRotation(RandomAffine):
    """RandomAffine with rotation only: angle ~ U(-d, d) (or (lo, hi)) degrees."""

    def __init__(self, degrees, fill: float = 0.0, generator=None):
        super().__init__(degrees, fill=fill, generator=generator)
