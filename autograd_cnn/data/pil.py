"""Pillow images in the transforms: recognising them, reading them as arrays the way
torchvision's ``to_tensor`` does, and the few Pillow calls torchvision's PIL path makes
(resize, crop, pad, flip, grey), so a transform given a PIL image returns a PIL image with the
same pixels as torchvision's.

Pillow is imported only when a PIL image is actually seen (or a loader needs it): a PIL image
cannot exist unless ``PIL.Image`` was imported, so ``is_pil_image`` just looks it up.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

__all__ = ["is_pil_image", "pillow", "pil_to_array", "array_to_pil", "open_image",
           "check_pixel_limit"]


def is_pil_image(x) -> bool:
    """Whether ``x`` is a PIL image (without importing Pillow)."""
    image_mod = sys.modules.get("PIL.Image")
    return image_mod is not None and isinstance(x, image_mod.Image)


def pillow():
    """The ``PIL.Image`` module, or a ModuleNotFoundError that says how to install it."""
    try:
        from PIL import Image
    except ImportError:
        raise ModuleNotFoundError("reading images needs Pillow, which is not installed: "
                                  "pip install pillow (or pip install 'autograd_cnn[extras]')"
                                  ) from None
    return Image


# modes whose pixels torchvision reads as these integer types (everything else as uint8)
_MODE_DTYPES = {"I": np.int32, "I;16": np.int16, "I;16B": np.int16, "F": np.float32}


def pil_to_array(pic) -> np.ndarray:
    """torchvision's ``to_tensor`` of a PIL image, as a numpy array (C, H, W): 8-bit modes
    (L, RGB, RGBA, P, ...) -> float32 in [0, 1] (divided by 255); mode '1' -> 0.0 or 1.0;
    'I' -> int32, 'I;16' -> int16 and 'F' -> float32, unscaled (as torchvision)."""
    dtype = _MODE_DTYPES.get(pic.mode, np.uint8)
    arr = np.array(pic, dtype=dtype, copy=True)
    if pic.mode == "1":
        arr = arr * np.uint8(255)
    arr = arr.reshape(pic.size[1], pic.size[0], len(pic.getbands()))  # (H, W, bands)
    out = np.ascontiguousarray(arr.transpose(2, 0, 1))                  # -> (C, H, W)
    return out.astype(np.float32) / np.float32(255) if out.dtype == np.uint8 else out


def array_to_pil(x: np.ndarray, like):
    """A (C, H, W) float array in [0, 1] back to a PIL image of ``like``'s mode (L or RGB,
    C = 1 or 3): values * 255, rounded and clipped. Used by the transforms that work on arrays
    only, so that a PIL image in gives a PIL image out."""
    image_mod = pillow()
    u8 = np.clip(np.rint(np.asarray(x, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    if u8.shape[0] == 1:
        return image_mod.fromarray(u8[0])                                # mode 'L'
    return image_mod.fromarray(np.ascontiguousarray(u8.transpose(1, 2, 0)))  # mode 'RGB'


def check_pixel_limit(im, path, owner: str) -> None:
    """Refuse an image with more pixels than ``PIL.Image.MAX_IMAGE_PIXELS`` (Pillow's guard
    against decompression bombs: a small file that decodes to gigabytes). Pillow itself only
    warns between 1x and 2x that limit; here it is an error from the first pixel past it."""
    limit = pillow().MAX_IMAGE_PIXELS
    pixels = im.width * im.height
    if limit is not None and pixels > limit:
        raise ValueError(f"{owner}: image {path} is {im.width}x{im.height} = {pixels:,} pixels, "
                         f"more than Pillow's limit PIL.Image.MAX_IMAGE_PIXELS = {limit:,} (a "
                         "guard against decompression bombs); raise that limit if you trust "
                         "the file")


def open_image(path, owner: str):
    """Open an image file with Pillow, checking the pixel limit before any pixel is decoded.
    Pillow's own DecompressionBombError/Warning and every other reading failure become a
    ValueError that names the file."""
    image_mod = pillow()
    try:
        with warnings.catch_warnings():
            # past the limit Pillow warns (1x-2x) or raises (beyond 2x); both are reported below
            warnings.simplefilter("ignore", image_mod.DecompressionBombWarning)
            im = image_mod.open(path)
    except image_mod.DecompressionBombError as err:     # past twice the limit
        raise ValueError(f"{owner}: image {path} is past Pillow's pixel limit "
                         f"PIL.Image.MAX_IMAGE_PIXELS = {image_mod.MAX_IMAGE_PIXELS:,} (a guard "
                         f"against decompression bombs): {err}; raise that limit if you trust "
                         "the file") from None
    except Exception as err:                             # Pillow raises many kinds
        raise ValueError(f"{owner}: cannot read image {path}: {err}") from None
    try:
        check_pixel_limit(im, path, owner)
    except ValueError:
        im.close()
        raise
    return im


# ---- the Pillow calls of torchvision's PIL path (functional_pil) -----------------------------

def pad(img, ltrb, fill=0, padding_mode: str = "constant"):
    """Pad by (left, top, right, bottom), as torchvision's PIL path: 'constant' with ``fill``
    (a number, or a tuple per band) through ``ImageOps.expand``; 'edge', 'reflect' and
    'symmetric' through numpy on the pixel array. Palette images keep their palette."""
    from PIL import ImageOps
    left, top, right, bottom = ltrb
    palette = img.getpalette() if img.mode == "P" else None
    if padding_mode == "constant":
        bands = len(img.getbands())
        if np.ndim(fill) == 0 and bands > 1 and img.mode != "P":
            fill = (fill,) * bands               # torchvision's _parse_fill: one per band
        out = ImageOps.expand(img, border=(left, top, right, bottom), fill=fill)
    else:
        arr = np.asarray(img)
        widths = [(top, bottom), (left, right)] + [(0, 0)] * (arr.ndim - 2)
        out = pillow().fromarray(np.ascontiguousarray(np.pad(arr, widths, mode=padding_mode)))
    if palette is not None:
        out.putpalette(palette)
    return out


def crop(img, top: int, left: int, height: int, width: int):
    """The window at (top, left) of height x width; outside the image it is 0 (as Pillow)."""
    return img.crop((left, top, left + width, top + height))


_RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


def resize(img, size, interpolation: str = "bilinear"):
    """Resize to ``size`` = (h, w) with Pillow's filter (antialiased when shrinking)."""
    h, w = size
    return img.resize((w, h), _RESAMPLE[interpolation])


def hflip(img):
    return img.transpose(pillow().Transpose.FLIP_LEFT_RIGHT)


def vflip(img):
    return img.transpose(pillow().Transpose.FLIP_TOP_BOTTOM)


def grayscale(img, num_output_channels: int = 1):
    """Pillow's 'L' conversion (ITU-R 601-2 luma, in integers); 3 output channels repeat it."""
    grey = img.convert("L")
    if num_output_channels == 3:
        arr = np.asarray(grey)
        return pillow().fromarray(np.ascontiguousarray(np.dstack([arr, arr, arr])))
    return grey
