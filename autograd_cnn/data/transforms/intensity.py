"""What the pixels hold: normalisation, mean subtraction, grey, colour jitter, channel shifts,
noise, blur."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .. import image_ops, pil
from . import batch as _batch
from .base import RandomTransform, Transform, _check_p, _range
from .stats import channel_stats, mean_image

__all__ = ["Normalize", "SubtractMean", "Grayscale", "RandomGrayscale", "ColorJitter",
           "RandomChannelShift", "GaussianNoise", "GaussianBlur", "RandomErasing"]


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
    takes_pil = False         # as torchvision: normalise after ToTensor

    def __init__(self, mean, std, inplace: bool = False):
        self.inplace = bool(inplace)      # accepted for torchvision's signature; always a copy
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
    takes_pil = False

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


class Grayscale(Transform):
    """RGB -> grey, ``num_output_channels`` 1 or 3 (the grey repeated). PIL images: Pillow's 'L'
    conversion; arrays / Tensors: 0.2989 R + 0.587 G + 0.114 B (torchvision's weights); a
    1-channel image is copied."""

    batchable = True
    _WEIGHTS = (0.2989, 0.587, 0.114)

    def __init__(self, num_output_channels: int = 1):
        if num_output_channels not in (1, 3):
            raise ValueError(f"Grayscale: num_output_channels should be either 1 or 3, got "
                             f"{num_output_channels!r}")
        self.num_output_channels = num_output_channels

    def apply(self, x, rng):
        c = x.shape[-3]
        if c == 3:
            w = np.asarray(self._WEIGHTS, dtype=x.dtype)
            grey = np.tensordot(x, w, axes=([-3], [0]))[..., None, :, :].astype(x.dtype)
        elif c == 1:
            grey = x.copy()
        else:
            raise ValueError(f"Grayscale: expected an image with 1 or 3 channels, got {c} "
                             f"(shape {x.shape})")
        if self.num_output_channels == 3:
            grey = np.repeat(grey, 3, axis=-3)
        return grey

    def apply_pil(self, img, rng):
        return pil.grayscale(img, self.num_output_channels)

    def extra_repr(self):
        return f"num_output_channels={self.num_output_channels}"


class RandomGrayscale(RandomTransform):
    """Grey with probability ``p`` (default 0.1), keeping the number of channels (3 stays 3)."""

    def __init__(self, p: float = 0.1, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomGrayscale")

    def apply(self, x, rng):
        if rng.random() < self.p:
            return Grayscale(x.shape[-3]).apply(x, None)
        return x.copy()

    def apply_pil(self, img, rng):
        if rng.random() < self.p:
            return pil.grayscale(img, 1 if img.mode == "L" else 3)
        return img

    def extra_repr(self):
        return f"p={self.p}"


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

    def batched(self):
        """The batch form: brightness and contrast drawn per image of a batch (N, C, H, W).
        Saturation and hue have none yet (ValueError if they are set)."""
        if self.saturation != (1.0, 1.0) or self.hue != (0.0, 0.0):
            raise ValueError(f"ColorJitter.batched: only brightness and contrast have a batch "
                             f"form, got saturation={self.saturation}, hue={self.hue}; apply "
                             "this ColorJitter per image (DataLoader transform=)")
        return _batch.BatchColorJitter(self)

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

    def batched(self):
        """The batch form: σ drawn per image of a batch (N, C, H, W), noise per pixel."""
        return _batch.BatchGaussianNoise(self)

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


class RandomErasing(RandomTransform):
    """With probability ``p``, overwrite a random rectangle (Zhong et al. 2020; torchvision's
    algorithm): area a fraction ``scale`` of the image, aspect ``ratio`` (log-uniform), filled
    with ``value`` (a number, one per channel, or 'random' for N(0, 1) noise). Arrays and
    Tensors (C, H, W) only, as torchvision (after ToTensor). Ten tries to fit; else unchanged."""

    takes_pil = False

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0,
                 inplace: bool = False, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomErasing")
        for name, pair in (("scale", scale), ("ratio", ratio)):
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or pair[0] > pair[1]:
                raise ValueError(f"RandomErasing: {name} should be of kind (min, max), got "
                                 f"{pair!r}")
        if scale[0] < 0 or scale[1] > 1:
            raise ValueError(f"RandomErasing: scale should be between 0 and 1, got {scale!r}")
        if not (value == "random" or isinstance(value, (numbers.Real, tuple, list))):
            raise TypeError(f"RandomErasing: value should be a number, a sequence or 'random', "
                            f"got {value!r}")
        self.scale, self.ratio, self.value = tuple(scale), tuple(ratio), value
        self.inplace = bool(inplace)

    def apply(self, x, rng):
        if rng.random() >= self.p:
            return x.copy()
        c, h, w = x.shape
        if self.value == "random":
            fill = None
        else:
            fill = np.asarray([self.value] if isinstance(self.value, numbers.Real)
                              else self.value, dtype=x.dtype)
            if fill.size not in (1, c):
                raise ValueError(f"RandomErasing: value has {fill.size} entries but the image "
                                 f"has {c} channels")
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            area = h * w * rng.uniform(*self.scale)
            aspect = math.exp(rng.uniform(*log_ratio))
            eh, ew = int(round(math.sqrt(area * aspect))), int(round(math.sqrt(area / aspect)))
            if not (eh < h and ew < w):
                continue
            top, left = int(rng.integers(0, h - eh + 1)), int(rng.integers(0, w - ew + 1))
            out = x.copy()
            out[:, top:top + eh, left:left + ew] = (
                rng.standard_normal((c, eh, ew)).astype(x.dtype) if fill is None
                else fill[:, None, None])
            return out
        return x.copy()

    def extra_repr(self):
        return f"p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value!r}"
