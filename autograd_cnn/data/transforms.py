"""Composable, seeded image transforms (torchvision names), on numpy arrays (C, H, W) float32.

    train_tf = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
                        Normalize(mean, std)])
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=train_tf)

Every transform is called as ``t(x, rng=None)``. A random transform draws from ``rng`` when one is
given, else from its own generator (``generator=``: an int seed or a numpy Generator), else from
the package-wide one (``autograd_cnn.manual_seed``). A DataLoader with a seed passes an ``rng``
derived from (seed, epoch), so the augmentation of epoch k is the same in a run resumed at epoch k.

Deterministic transforms (Normalize, SubtractMean, Pad, CenterCrop, Resize) also accept a batch
(N, C, H, W) and are marked ``batchable``: a DataLoader applies them to a whole batch at once.
Random ones draw per image and see one (C, H, W) image at a time.

What the lecture notes list as data augmentation, and where it is here: mirroring
(RandomHorizontalFlip), random cropping (RandomCrop), rotation / shearing / scale / translation
(RandomAffine: one warp), colour shifting and brightness / contrast (ColorJitter,
RandomChannelShift), noise (GaussianNoise), blur (GaussianBlur); mean subtraction and
normalisation (SubtractMean, Normalize; fit them on the training set and reuse them for
validation/test).
"""

from __future__ import annotations

import abc
import numbers

import numpy as np

from ..random import resolve as _resolve_generator
from ..tensor import Tensor
from . import image_ops

__all__ = [
    "Transform", "RandomTransform", "Compose", "ToArray", "Normalize", "SubtractMean", "Pad",
    "CenterCrop", "Resize",
    "RandomHorizontalFlip", "RandomVerticalFlip", "RandomCrop", "RandomAffine", "RandomRotation",
    "ColorJitter", "RandomChannelShift", "GaussianNoise", "GaussianBlur", "apply_transform",
    "channel_stats", "mean_image",
]


def apply_transform(t, x, rng=None):
    """Call ``t`` on ``x``: a Transform gets ``rng``, a plain callable (a lambda) just ``x``."""
    if isinstance(t, Transform):
        return t(x, rng=rng)
    return t(x)


def _image(x, name: str, batch_ok: bool) -> np.ndarray:
    """``x`` as a floating numpy image (C, H, W) (or (N, C, H, W) where ``batch_ok``)."""
    if isinstance(x, Tensor):
        x = x._data
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array (C, H, W), got {type(x).__name__}; "
                        "convert PIL images and HWC uint8 arrays with ToArray() first")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating image (C, H, W) with values in [0, 1], got "
                        f"dtype {x.dtype}; put ToArray() first to convert integer images")
    if x.ndim != 3 and not (batch_ok and x.ndim == 4):
        want = "(C, H, W) or a batch (N, C, H, W)" if batch_ok else "(C, H, W)"
        hint = "; add a channel axis with x[None]" if x.ndim == 2 else ""
        raise ValueError(f"{name}: expected an image of shape {want}, got shape {x.shape}{hint}")
    return x


def _range(value, name: str, center: float, lower: float | None = None) -> tuple[float, float]:
    """A sampling interval: a number v means (center - v, center + v), a pair (lo, hi) is taken
    as is; the result is clipped below at ``lower``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{name}: must be non-negative when given as a number, got {value}")
        lo, hi = center - value, center + value
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        lo, hi = float(value[0]), float(value[1])
        if lo > hi:
            raise ValueError(f"{name}: range (lo, hi) needs lo <= hi, got {value}")
    else:
        raise TypeError(f"{name}: expected a number or a (lo, hi) pair, got {value!r}")
    if lower is not None:
        if hi < lower:
            raise ValueError(f"{name}: range {(lo, hi)} lies below {lower}")
        lo = max(lo, lower)
    return float(lo), float(hi)


class Transform(abc.ABC):
    """Base class: ``__call__(x, rng=None)`` checks the image and calls ``apply(x, rng)``.
    ``random``: draws random numbers; ``batchable``: deterministic and also accepts (N, C, H, W)."""

    random = False
    batchable = False

    def __call__(self, x, rng=None):
        return self.apply(_image(x, type(self).__name__, self.batchable), rng)

    @abc.abstractmethod
    def apply(self, x: np.ndarray, rng) -> np.ndarray:
        """The transform of one checked image (rng: a numpy Generator, or None if not random)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def extra_repr(self) -> str:
        return ""


class RandomTransform(Transform):
    """A transform that draws random numbers: from ``rng`` if the caller passes one, else from its
    own ``generator`` (an int seed is turned into a Generator once, so successive calls differ),
    else from the package-wide generator at call time."""

    random = True

    def __init__(self, generator=None):
        self.generator = None if generator is None else _resolve_generator(generator)

    def __call__(self, x, rng=None):
        if rng is None:
            rng = self.generator if self.generator is not None else _resolve_generator(None)
        return self.apply(_image(x, type(self).__name__, False), rng)


class Compose(Transform):
    """Apply ``transforms`` in order, passing ``rng`` on to each."""

    def __init__(self, transforms):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not callable(t):
                raise TypeError(f"Compose: item {i} is not callable: {t!r}")
        self.transforms = transforms

    @property
    def random(self):
        return any(getattr(t, "random", True) for t in self.transforms)

    @property
    def batchable(self):
        return all(getattr(t, "batchable", False) for t in self.transforms)

    def __call__(self, x, rng=None):
        return self.apply(x, rng)

    def apply(self, x, rng):
        for t in self.transforms:
            x = apply_transform(t, x, rng)
        return x

    def __iter__(self):
        return iter(self.transforms)

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"Compose([{inner}\n])"


class ToArray(Transform):
    """A PIL image or an integer / HWC array -> (C, H, W) float32 in [0, 1] (torchvision's
    ToTensor; the DataLoader turns the batch into a Tensor). uint8 is divided by 255, uint16 by
    65535; a 2-D array becomes (1, H, W); a 3-D array is read as (H, W, C)."""

    def __call__(self, x, rng=None):
        return self.apply(x, rng)

    def apply(self, x, rng):
        if not isinstance(x, np.ndarray):
            if isinstance(x, Tensor):
                x = x._data
            elif hasattr(x, "mode") and hasattr(x, "size"):       # a PIL image
                x = np.asarray(x)
            else:
                raise TypeError(f"ToArray: expected a PIL image or numpy array, got {type(x).__name__}")
        if x.ndim == 2:
            x = x[:, :, None]
        if x.ndim != 3:
            raise ValueError(f"ToArray: expected an (H, W) or (H, W, C) image, got shape {x.shape}")
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(x.dtype)
        if scale is None and x.dtype.kind not in "fb":
            raise TypeError(f"ToArray: unsupported dtype {x.dtype} (expected uint8, uint16, "
                            "bool or floating)")
        out = np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)  # (H, W, C) -> (C, H, W)
        return out / np.float32(scale) if scale else out


def _channel_vector(values, name: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64).reshape(-1)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got {values!r}")
    return arr


def _match_channels(v: np.ndarray, c: int, name: str, what: str) -> np.ndarray:
    if v.size not in (1, c):
        raise ValueError(f"{name}: {what} has {v.size} values but the image has {c} channels")
    return v


class Normalize(Transform):
    """x_c <- (x_c - mean_c) / std_c per channel. Fit mean/std on the training set
    (``Normalize.from_dataset(train)``) and use the same for validation and test."""

    batchable = True

    def __init__(self, mean, std):
        self.mean = _channel_vector(mean, "Normalize: mean")
        self.std = _channel_vector(std, "Normalize: std")
        if np.any(self.std <= 0):
            raise ValueError(f"Normalize: std must be positive, got {std!r}")

    @classmethod
    def from_dataset(cls, dataset, batch_size: int = 1024) -> "Normalize":
        """Normalize with the per-channel mean and std of ``dataset``'s images."""
        mean, std = channel_stats(dataset, batch_size)
        return cls(mean, std)

    def apply(self, x, rng):
        c = x.shape[-3]
        mean = _match_channels(self.mean, c, "Normalize", "mean").astype(x.dtype)[:, None, None]
        std = _match_channels(self.std, c, "Normalize", "std").astype(x.dtype)[:, None, None]
        return (x - mean) / std

    def extra_repr(self):
        return f"mean={self.mean.tolist()}, std={self.std.tolist()}"


class SubtractMean(Transform):
    """x <- x - mean: the mean image (C, H, W) of the training set (AlexNet) or the mean pixel (C,)
    (one value per channel, VGG). ``SubtractMean.from_dataset(train, per_channel=...)`` computes it."""

    batchable = True

    def __init__(self, mean):
        mean = np.asarray(mean, dtype=np.float64)
        if mean.ndim not in (1, 3) or not np.all(np.isfinite(mean)):
            raise ValueError(f"SubtractMean: mean must be finite, of shape (C,) or (C, H, W), "
                             f"got shape {mean.shape}")
        self.mean = mean

    @classmethod
    def from_dataset(cls, dataset, per_channel: bool = False, batch_size: int = 1024):
        """The mean image of ``dataset`` (or its mean pixel when ``per_channel``)."""
        if per_channel:
            return cls(channel_stats(dataset, batch_size)[0])
        return cls(mean_image(dataset, batch_size))

    def apply(self, x, rng):
        if self.mean.ndim == 1:
            m = _match_channels(self.mean, x.shape[-3], "SubtractMean", "mean")[:, None, None]
        else:
            if self.mean.shape != x.shape[-3:]:
                raise ValueError(f"SubtractMean: mean image has shape {self.mean.shape} but the "
                                 f"image has shape {x.shape[-3:]}")
            m = self.mean
        return x - m.astype(x.dtype)

    def extra_repr(self):
        return f"mean shape={self.mean.shape}"


class Pad(Transform):
    """Pad the borders: ``padding`` int, (ph, pw) or (left, top, right, bottom); ``padding_mode``
    'constant' (with ``fill``), 'edge', 'reflect' or 'symmetric'."""

    batchable = True

    def __init__(self, padding, fill: float = 0.0, padding_mode: str = "constant"):
        image_ops._padding4(padding)                      # validate now, not at the first image
        self.padding, self.fill, self.padding_mode = padding, float(fill), padding_mode
        if padding_mode not in image_ops._PAD_MODES:
            raise ValueError(f"Pad: padding_mode must be one of {sorted(image_ops._PAD_MODES)}, "
                             f"got {padding_mode!r}")

    def apply(self, x, rng):
        return image_ops.pad(x, self.padding, self.fill, self.padding_mode)

    def extra_repr(self):
        return f"padding={self.padding}, fill={self.fill}, padding_mode={self.padding_mode!r}"


class CenterCrop(Transform):
    """The central ``size`` window (int or (h, w))."""

    batchable = True

    def __init__(self, size):
        self.size = image_ops._pair(size, "CenterCrop: size")

    def apply(self, x, rng):
        return image_ops.center_crop(x, self.size)

    def extra_repr(self):
        return f"size={self.size}"


class Resize(Transform):
    """Bilinear resize to ``size`` (int for a square, or (h, w)), half-pixel centres, antialiased
    when shrinking (see ``image_ops.resize_weights``)."""

    batchable = True
    resizes = True      # ImageFolder accepts images of mixed sizes when a Resize is present

    def __init__(self, size, antialias: bool = True):
        self.size = image_ops._pair(size, "Resize: size")
        if min(self.size) < 1:
            raise ValueError(f"Resize: size must be positive, got {self.size}")
        self.antialias = bool(antialias)

    def apply(self, x, rng):
        return image_ops.resize(x, self.size, self.antialias)

    def extra_repr(self):
        return f"size={self.size}, antialias={self.antialias}"


def _check_p(p, name):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


class RandomHorizontalFlip(RandomTransform):
    """Mirror left-right with probability ``p``: x[..., ::-1]."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomHorizontalFlip")

    def apply(self, x, rng):
        return x[..., ::-1].copy() if rng.random() < self.p else x.copy()

    def extra_repr(self):
        return f"p={self.p}"


class RandomVerticalFlip(RandomTransform):
    """Mirror top-bottom with probability ``p``."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomVerticalFlip")

    def apply(self, x, rng):
        return x[..., ::-1, :].copy() if rng.random() < self.p else x.copy()

    def extra_repr(self):
        return f"p={self.p}"


class RandomCrop(RandomTransform):
    """Pad by ``padding`` (as in Pad), then cut a ``size`` window at a uniformly random position.
    With ``pad_if_needed`` an image smaller than ``size`` is padded up to it first."""

    def __init__(self, size, padding=0, fill: float = 0.0, padding_mode: str = "constant",
                 pad_if_needed: bool = False, generator=None):
        super().__init__(generator)
        self.size = image_ops._pair(size, "RandomCrop: size")
        if min(self.size) < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {self.size}")
        self.pad = Pad(padding, fill, padding_mode)
        self.pad_if_needed = bool(pad_if_needed)

    def apply(self, x, rng):
        x = self.pad.apply(x, None)
        th, tw = self.size
        h, w = x.shape[-2:]
        if self.pad_if_needed and (h < th or w < tw):
            dh, dw = max(th - h, 0), max(tw - w, 0)
            x = image_ops.pad(x, (dw // 2, dh // 2, dw - dw // 2, dh - dh // 2),
                              self.pad.fill, self.pad.padding_mode)
            h, w = x.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"RandomCrop: crop size {self.size} is larger than the (padded) image "
                             f"{h}x{w}; lower the size, add padding, or set pad_if_needed=True")
        top = int(rng.integers(0, h - th + 1))
        left = int(rng.integers(0, w - tw + 1))
        return image_ops.crop(x, top, left, th, tw)

    def extra_repr(self):
        return f"size={self.size}, padding={self.pad.padding}"


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

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, fill={self.fill}")


class RandomRotation(RandomAffine):
    """RandomAffine with rotation only: angle ~ U(-d, d) (or (lo, hi)) degrees."""

    def __init__(self, degrees, fill: float = 0.0, generator=None):
        super().__init__(degrees, fill=fill, generator=generator)


class ColorJitter(RandomTransform):
    """Random brightness, contrast, saturation and hue, applied in a random order, each clipped
    to [0, 1] (images before Normalize). A number v gives the factor ~ U(max(0, 1 - v), 1 + v).

    brightness b: x <- b x
    contrast c:   x <- m + c (x - m), m = mean grey level of the image
    saturation s: x <- g + s (x - g), g = grey image (luma); no effect on 1-channel images
    hue h:        rotation of the colour plane of YIQ by 2π h, h ~ U(-v, v), v <= 0.5 (a linear
                  approximation of torchvision's HSV hue shift; RGB only)
    """

    # RGB <-> YIQ (NTSC): Y is luma, (I, Q) the chroma plane that a hue shift rotates
    _YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, hue=0.0, generator=None):
        super().__init__(generator)
        self.brightness = _range(brightness, "ColorJitter: brightness", 1.0, lower=0.0)
        self.contrast = _range(contrast, "ColorJitter: contrast", 1.0, lower=0.0)
        self.saturation = _range(saturation, "ColorJitter: saturation", 1.0, lower=0.0)
        self.hue = _range(hue, "ColorJitter: hue", 0.0)
        if not -0.5 <= self.hue[0] <= self.hue[1] <= 0.5:
            raise ValueError(f"ColorJitter: hue must lie in [-0.5, 0.5], got {hue!r}")

    def apply(self, x, rng):
        x = x.copy()
        for k in rng.permutation(4):
            if k == 0:
                x = np.clip(x * x.dtype.type(rng.uniform(*self.brightness)), 0, 1)
            elif k == 1:
                f = x.dtype.type(rng.uniform(*self.contrast))
                m = image_ops.to_grayscale(x).mean(dtype=x.dtype)
                x = np.clip(m + f * (x - m), 0, 1)
            elif k == 2:
                f = x.dtype.type(rng.uniform(*self.saturation))
                g = image_ops.to_grayscale(x)
                x = np.clip(g + f * (x - g), 0, 1)
            else:
                x = self._shift_hue(x, rng.uniform(*self.hue))
        return x

    def _shift_hue(self, x, h):
        if h == 0.0 or x.shape[0] != 3:
            return x
        a = 2 * np.pi * h
        rot = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
        m = (np.linalg.inv(self._YIQ) @ rot @ self._YIQ).astype(x.dtype)
        return np.clip(np.tensordot(m, x, axes=1), 0, 1)                 # (3, 3) x (3, H, W)

    def extra_repr(self):
        return (f"brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation}, hue={self.hue}")


class RandomChannelShift(RandomTransform):
    """Colour shifting: add an independent offset ~ U(-shift, shift) to each channel (the same
    over the whole image), then clip to [0, 1] if ``clip``."""

    def __init__(self, shift: float = 0.1, clip: bool = True, generator=None):
        super().__init__(generator)
        self.shift = _range(shift, "RandomChannelShift: shift", 0.0)
        self.clip = bool(clip)

    def apply(self, x, rng):
        offsets = rng.uniform(*self.shift, size=x.shape[0]).astype(x.dtype)
        out = x + offsets[:, None, None]
        return np.clip(out, 0, 1) if self.clip else out

    def extra_repr(self):
        return f"shift={self.shift}, clip={self.clip}"


class GaussianNoise(RandomTransform):
    """x <- x + ε, ε ~ N(mean, σ²) per pixel; ``std`` a number σ or a (lo, hi) range that σ is
    drawn from per image; clipped to [0, 1] if ``clip``."""

    def __init__(self, std=0.05, mean: float = 0.0, clip: bool = True, generator=None):
        super().__init__(generator)
        if isinstance(std, (tuple, list)):
            self.std = _range(std, "GaussianNoise: std", 0.0, lower=0.0)
        elif isinstance(std, numbers.Real) and not isinstance(std, bool) and std >= 0:
            self.std = (float(std), float(std))
        else:
            raise ValueError(f"GaussianNoise: std must be a non-negative number or a (lo, hi) "
                             f"range, got {std!r}")
        self.mean = float(mean)
        self.clip = bool(clip)

    def apply(self, x, rng):
        sigma = rng.uniform(*self.std) if self.std[0] != self.std[1] else self.std[0]
        # numpy draws float32 or float64 only
        noise = rng.standard_normal(x.shape, dtype=np.float32 if x.dtype.itemsize <= 4 else np.float64)
        out = x + (x.dtype.type(sigma) * noise + x.dtype.type(self.mean)).astype(x.dtype, copy=False)
        return np.clip(out, 0, 1) if self.clip else out

    def extra_repr(self):
        return f"std={self.std}, mean={self.mean}, clip={self.clip}"


class GaussianBlur(RandomTransform):
    """Blur with a ``kernel_size`` (odd) Gaussian whose σ ~ U(sigma) per image (a number fixes σ)."""

    def __init__(self, kernel_size: int = 3, sigma=(0.1, 2.0), generator=None):
        super().__init__(generator)
        if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"GaussianBlur: kernel_size must be a positive odd int, got {kernel_size!r}")
        self.kernel_size = int(kernel_size)
        if isinstance(sigma, numbers.Real) and not isinstance(sigma, bool):
            sigma = (sigma, sigma)
        self.sigma = _range(sigma, "GaussianBlur: sigma", 0.0)
        if self.sigma[0] <= 0:
            raise ValueError(f"GaussianBlur: sigma must be positive, got {sigma!r}")

    def apply(self, x, rng):
        return image_ops.gaussian_blur(x, self.kernel_size, rng.uniform(*self.sigma))

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, sigma={self.sigma}"


# ---- statistics for Normalize / SubtractMean -----------------------------------------------------

def _image_batches(dataset, batch_size: int):
    """The images of ``dataset`` in order, a batch (n, C, H, W) float64 at a time."""
    n = len(dataset)
    if n == 0:
        raise ValueError("cannot compute statistics of an empty dataset")
    get_batch = getattr(dataset, "get_batch", None)
    for start in range(0, n, batch_size):
        idx = np.arange(start, min(start + batch_size, n))
        if get_batch is not None:
            xb = get_batch(idx)[0]
        else:
            xb = np.stack([np.asarray(getattr(dataset[int(i)][0], "data", dataset[int(i)][0]))
                           for i in idx])
        if xb.ndim != 4:
            raise ValueError(f"expected images (C, H, W), got samples of shape {xb.shape[1:]}")
        yield xb.astype(np.float64, copy=False)


def channel_stats(dataset, batch_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and (population) standard deviation over all pixels of all images,
    accumulated in float64 in one pass: std = sqrt(E[x²] - E[x]²)."""
    total = total_sq = count = 0
    for xb in _image_batches(dataset, batch_size):
        total = total + xb.sum(axis=(0, 2, 3))
        total_sq = total_sq + (xb * xb).sum(axis=(0, 2, 3))
        count += xb.shape[0] * xb.shape[2] * xb.shape[3]
    mean = total / count
    return mean, np.sqrt(np.maximum(total_sq / count - mean * mean, 0.0))


def mean_image(dataset, batch_size: int = 1024) -> np.ndarray:
    """The mean image (C, H, W) of ``dataset`` (float64)."""
    total, count = 0.0, 0
    for xb in _image_batches(dataset, batch_size):
        total = total + xb.sum(axis=0)
        count += xb.shape[0]
    return total / count
