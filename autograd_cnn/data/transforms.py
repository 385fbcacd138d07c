"""Composable, seeded image transforms (torchvision names), on numpy arrays (C, H, W) float32.

    train_tf = Compose([RandomCrop(32, padding=4), RandomHorizontalFlip(),
                        Normalize(mean, std)])
    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0, transform=train_tf)

Every transform is called as ``t(x, rng=None)``. A random transform draws from ``rng`` when one is
given, else from its own generator (``generator=``: an int seed or a numpy Generator), else from
the package-wide one (``autograd_cnn.manual_seed``). A DataLoader with a seed passes an ``rng``
derived from (seed, epoch), so the augmentation of epoch k is the same in a run resumed at epoch k.

Inputs as in torchvision: a PIL image gives a PIL image (the spatial transforms make the same
Pillow calls torchvision makes, so the pixels agree), an ``ac.Tensor`` gives a Tensor, a numpy
array a numpy array. ``ToTensor`` turns a PIL image or an HxWxC array into a (C, H, W) float32
Tensor in [0, 1] exactly as torchvision's does; Normalize wants that array or Tensor, not PIL.

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
import math
import numbers

import numpy as np

from ..random import resolve as _resolve_generator
from ..tensor import Tensor
from . import image_ops, pil

__all__ = [
    "Transform", "RandomTransform", "Compose", "Lambda", "ToTensor", "ToPILImage", "ToArray",
    "Normalize", "SubtractMean", "Pad", "CenterCrop", "Resize", "InterpolationMode",
    "Grayscale", "RandomGrayscale", "RandomResizedCrop",
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
        raise TypeError(f"{name}: expected a numpy array or Tensor (C, H, W) or a PIL image, got "
                        f"{type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating image (C, H, W) with values in [0, 1], got "
                        f"dtype {x.dtype}; put ToTensor() (or ToArray()) first to convert "
                        "integer images")
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
    ``random``: draws random numbers; ``batchable``: deterministic and also accepts (N, C, H, W);
    ``takes_pil``: accepts PIL images (as the torchvision namesake does).

    The kind of image is kept: a Tensor in gives a Tensor out (computed on its array), and a PIL
    image goes to ``apply_pil``, which by default reads an L or RGB image as floats, applies the
    transform and rounds back to 8 bits; the spatial transforms override it with the Pillow call
    torchvision makes."""

    random = False
    batchable = False
    takes_pil = True

    def __call__(self, x, rng=None):
        return self._dispatch(x, rng)

    def _dispatch(self, x, rng):
        if isinstance(x, Tensor):
            return Tensor(self._dispatch(x._data, rng))
        if pil.is_pil_image(x):
            name = type(self).__name__
            if not self.takes_pil:
                raise TypeError(f"{name}: expected an array or Tensor image (C, H, W), got a PIL "
                                f"image; put ToTensor() before {name} (as in torchvision)")
            return self.apply_pil(x, rng)
        return self.apply(_image(x, type(self).__name__, self.batchable), rng)

    @abc.abstractmethod
    def apply(self, x: np.ndarray, rng) -> np.ndarray:
        """The transform of one checked image (rng: a numpy Generator, or None if not random)."""

    def apply_pil(self, img, rng):
        """The transform of a PIL image (L or RGB here: through float arrays and back)."""
        if img.mode not in ("L", "RGB"):
            raise TypeError(f"{type(self).__name__}: PIL images of mode {img.mode!r} are not "
                            "supported here; convert them first, e.g. img.convert('RGB')")
        return pil.array_to_pil(self.apply(pil.pil_to_array(img), rng), img)

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
        return self._dispatch(x, rng)


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


class Lambda(Transform):
    """Apply a user function as a transform (torchvision's ``Lambda``): ``Lambda(lambda x: 2 * x)``.
    The function gets the image as it is (PIL, array or Tensor) and no rng."""

    random = True             # nothing says the function gives the same output every time

    def __init__(self, lambd):
        if not callable(lambd):
            raise TypeError(f"Lambda: expected a callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, x, rng=None):
        return self.lambd(x)

    def apply(self, x, rng):
        return self.lambd(x)


def _channels_first(shape) -> bool:
    """Whether a 3-D image shape can only be (C, H, W): at most 4 channels first and more than 4
    values on the last axis (read as (H, W, C) that would be an image 4 or fewer pixels tall with
    more than 4 channels, which nobody means)."""
    return shape[0] <= 4 < shape[2]


def to_tensor_array(pic) -> np.ndarray:
    """torchvision's ``to_tensor``, returning the numpy array (C, H, W).

    PIL image:         8-bit modes -> float32 / 255; 'I', 'I;16', 'F' keep int32/int16/float32
    ndarray (H, W):    -> (1, H, W)
    ndarray (H, W, C): -> (C, H, W); uint8 is divided by 255 into float32, other dtypes are
                       kept and not scaled (float64 stays float64), as torchvision does
    ndarray (C, H, W) with C <= 4 < W (a (C, H, W) sample from this project's datasets): kept
                       as it is (uint8 still scaled). torchvision would transpose it into
                       (W, C, H) garbage; this is the one documented difference.
    """
    if isinstance(pic, Tensor):
        raise TypeError("ToTensor: pic should be a PIL image or a numpy array, got a Tensor; it "
                        "is a tensor already, so drop ToTensor() (torchvision refuses it too)")
    if pil.is_pil_image(pic):
        return pil.pil_to_array(pic)
    if not isinstance(pic, np.ndarray):
        raise TypeError(f"ToTensor: pic should be a PIL image or a numpy array, got "
                        f"{type(pic).__name__}")
    if pic.ndim not in (2, 3):
        raise ValueError(f"ToTensor: pic should be 2 or 3 dimensional (H, W) or (H, W, C), got "
                         f"{pic.ndim} dimensions (shape {pic.shape})")
    if pic.ndim == 2:
        pic = pic[:, :, None]
    if not _channels_first(pic.shape):
        pic = pic.transpose(2, 0, 1)                                 # (H, W, C) -> (C, H, W)
    out = np.ascontiguousarray(pic)
    if out.dtype == np.uint8:
        return out.astype(np.float32) / np.float32(255)
    return out.copy() if out is pic else out


class ToTensor(Transform):
    """A PIL image or an (H, W, C) numpy array -> a (C, H, W) Tensor, with torchvision's rules
    (see ``to_tensor_array``): 8-bit images become float32 in [0, 1], (H, W) becomes (1, H, W),
    other dtypes are transposed but not scaled. A Tensor input is refused, as in torchvision."""

    def __call__(self, pic, rng=None):
        return Tensor(to_tensor_array(pic))

    def apply(self, x, rng):
        return to_tensor_array(x)


class ToPILImage(Transform):
    """A Tensor (C, H, W) or numpy array (H, W, C) -> PIL image, as torchvision's: a floating
    Tensor is multiplied by 255 and truncated to uint8 (values are clipped to [0, 255] first);
    uint8 data is taken as it is. 1 channel -> 'L', 3 -> 'RGB', 4 -> 'RGBA' (or ``mode``)."""

    def __init__(self, mode=None):
        self.mode = mode

    def __call__(self, pic, rng=None):
        image_mod = pil.pillow()
        if isinstance(pic, Tensor):
            arr = pic._data
            if arr.ndim == 2:
                arr = arr[None]
            if arr.ndim != 3:
                raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional, got shape "
                                 f"{arr.shape}")
            if arr.dtype.kind == "f":
                arr = np.clip(arr * 255.0, 0, 255).astype(np.uint8)        # mul(255).byte()
            arr = arr.transpose(1, 2, 0)                                    # (C, H, W) -> HWC
        elif isinstance(pic, np.ndarray):
            arr = pic[:, :, None] if pic.ndim == 2 else pic
            if arr.ndim != 3:
                raise ValueError(f"ToPILImage: pic should be 2 or 3 dimensional, got shape "
                                 f"{pic.shape}")
        else:
            raise TypeError(f"ToPILImage: pic should be a Tensor or numpy array, got "
                            f"{type(pic).__name__}")
        if arr.shape[2] > 4:
            raise ValueError(f"ToPILImage: pic should not have more than 4 channels, got "
                             f"{arr.shape[2]}")
        if arr.dtype != np.uint8:
            raise TypeError(f"ToPILImage: input dtype {arr.dtype} is not supported (uint8, or a "
                            "floating Tensor in [0, 1])")
        arr = np.ascontiguousarray(arr)
        img = image_mod.fromarray(arr[:, :, 0] if arr.shape[2] == 1 else arr)
        return img if self.mode is None or self.mode == img.mode else img.convert(self.mode)

    def apply(self, x, rng):
        return self(Tensor(x))


class ToArray(Transform):
    """A PIL image or an integer / HWC array -> (C, H, W) float32 in [0, 1] (the numpy
    counterpart of ToTensor; the DataLoader turns the batch into a Tensor). uint8 is divided by
    255, uint16 by 65535; a 2-D array becomes (1, H, W).

    A 3-D array is read as (H, W, C) when only its last axis looks like channels (1-4 values)
    and as (C, H, W) when only its first does; a shape that could be either (e.g. (3, 8, 3)) or
    neither is refused unless ``layout='HWC'`` or ``'CHW'`` says which it is."""

    def __init__(self, layout: str | None = None):
        if layout not in (None, "HWC", "CHW"):
            raise ValueError(f"ToArray: layout must be None, 'HWC' or 'CHW', got {layout!r}")
        self.layout = layout

    def __call__(self, x, rng=None):
        return self.apply(x, rng)

    def apply(self, x, rng):
        if not isinstance(x, np.ndarray):
            if isinstance(x, Tensor):
                x = x._data
            elif pil.is_pil_image(x):
                x = np.asarray(x)
                if x.ndim == 3:
                    x = x.transpose(2, 0, 1)                   # PIL is always (H, W, C)
            else:
                raise TypeError(f"ToArray: expected a PIL image or numpy array, got {type(x).__name__}")
        elif x.ndim == 3:
            x = x.transpose(2, 0, 1) if self._is_hwc(x.shape) else x
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3:
            raise ValueError(f"ToArray: expected an (H, W), (H, W, C) or (C, H, W) image, got "
                             f"shape {x.shape}")
        scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(x.dtype)
        if scale is None and x.dtype.kind not in "fb":
            raise TypeError(f"ToArray: unsupported dtype {x.dtype} (expected uint8, uint16, "
                            "bool or floating)")
        out = np.ascontiguousarray(x, dtype=np.float32)
        out = out.copy() if out is x else out
        return out / np.float32(scale) if scale else out

    def _is_hwc(self, shape) -> bool:
        if self.layout is not None:
            return self.layout == "HWC"
        first, last = shape[0] <= 4, shape[2] <= 4
        if first != last:
            return last
        raise ValueError(f"ToArray: cannot tell whether an array of shape {shape} is (H, W, C) or "
                         f"(C, H, W); say which with ToArray(layout='HWC') or "
                         "ToArray(layout='CHW')")

    def extra_repr(self):
        return "" if self.layout is None else f"layout={self.layout!r}"


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


def _size_hw(x) -> tuple[int, int]:
    """(height, width) of a PIL image or of an array's last two axes."""
    return (x.height, x.width) if pil.is_pil_image(x) else tuple(x.shape[-2:])


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
        self.size = image_ops._pair(size, "CenterCrop: size")
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
    pair = image_ops._pair(size, f"{owner}: size")
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


def _check_p(p, name):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


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


class RandomHorizontalFlip(RandomTransform):
    """Mirror left-right with probability ``p``: x[..., ::-1]."""

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, "RandomHorizontalFlip")

    def apply(self, x, rng):
        return x[..., ::-1].copy() if rng.random() < self.p else x.copy()

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
        self.size = image_ops._pair(size, "RandomCrop: size")
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
        self.size = image_ops._pair(size, "RandomResizedCrop: size")
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
