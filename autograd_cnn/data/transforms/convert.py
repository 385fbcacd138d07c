"""Conversions between PIL images, numpy arrays and Tensors: ``ToTensor`` (torchvision's rules),
``ToPILImage`` and ``ToArray`` (the numpy counterpart, which refuses ambiguous shapes)."""

from __future__ import annotations

import numpy as np

from ...tensor import Tensor
from .. import pil
from .base import Transform

__all__ = ["to_tensor_array", "ToTensor", "ToPILImage", "ToArray", "PILToTensor",
           "ConvertImageDtype"]


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


class PILToTensor(Transform):
    """A PIL image -> its pixels as a (C, H, W) Tensor of the same dtype, unscaled."""

    def __call__(self, pic, rng=None):
        if not pil.is_pil_image(pic):
            raise TypeError(f"PILToTensor: pic should be a PIL image, got {type(pic).__name__}")
        arr = np.asarray(pic).reshape(pic.size[1], pic.size[0], len(pic.getbands()))
        return Tensor(np.ascontiguousarray(arr.transpose(2, 0, 1)))

    def apply(self, x, rng):
        raise TypeError("PILToTensor: pic should be a PIL image, got an array")


class ConvertImageDtype(Transform):
    """Convert an image Tensor/array to ``dtype``, rescaling as torchvision: integers -> floats
    divide by the integer type's maximum; floats -> integers multiply by (max + 1 - 0.001);
    integers -> integers shift by the difference of their bit widths; floats -> floats cast."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)

    def __call__(self, x, rng=None):
        if isinstance(x, Tensor):
            return Tensor(self.apply(x._data, rng))
        if not isinstance(x, np.ndarray):
            raise TypeError(f"ConvertImageDtype: expected a Tensor or array, got "
                            f"{type(x).__name__}")
        return self.apply(x, rng)

    def apply(self, x, rng):
        src, dst = x.dtype, self.dtype
        if src == dst:
            return x.copy()
        if src.kind == "f" and dst.kind == "f":
            return x.astype(dst)
        if src.kind == "f":
            if (src.itemsize, dst.itemsize) in ((4, 4), (4, 8), (8, 8)):
                raise TypeError(f"ConvertImageDtype: the cast from {src} to {dst} cannot be "
                                "performed safely")
            return (x * (np.iinfo(dst).max + 1 - 1e-3)).astype(dst)
        if dst.kind == "f":
            return x.astype(dst) / dst.type(np.iinfo(src).max)
        in_max, out_max = np.iinfo(src).max, np.iinfo(dst).max
        if in_max > out_max:
            return (x // ((in_max + 1) // (out_max + 1))).astype(dst)
        return x.astype(dst) * ((out_max + 1) // (in_max + 1))
