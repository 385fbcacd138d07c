"""torchvision.utils: ``make_grid`` (a batch of images tiled into one image) and
``save_image`` (that grid written as a PNG/JPEG with Pillow)."""

from __future__ import annotations

import math

import numpy as np

from ..data.pil import pillow
from ..tensor import Tensor

__all__ = ["make_grid", "save_image"]


def _as_array(tensor) -> np.ndarray:
    if isinstance(tensor, (list, tuple)):
        return np.stack([_as_array(t) for t in tensor])
    if isinstance(tensor, Tensor):
        return tensor._data
    if isinstance(tensor, np.ndarray):
        return tensor
    raise TypeError(f"make_grid: tensor should be a Tensor, an array or a list of them, got "
                    f"{type(tensor).__name__}")


def make_grid(tensor, nrow: int = 8, padding: int = 2, normalize: bool = False,
              value_range=None, scale_each: bool = False, pad_value: float = 0.0) -> Tensor:
    """Tile images (B, C, H, W) (or a list of (C, H, W)) into one (C', H', W') image, as
    torchvision's make_grid:

    - rows of ``nrow`` images, ``padding`` pixels of ``pad_value`` around and between them:
      (C, ceil(B / nrow) * (H + padding) + padding, min(nrow, B) * (W + padding) + padding);
    - 1-channel images become 3-channel (grey repeated); a single image (B = 1, or a (C, H, W)
      input) is returned without padding;
    - ``normalize``: clamp to ``value_range`` (min, max) (default: the batch's min and max, or
      each image's with ``scale_each``) and map it to [0, 1].
    """
    x = _as_array(tensor)
    if x.ndim == 2:                                         # one image (H, W)
        x = x[None]
    if x.ndim == 3:                                         # one image (C, H, W)
        if x.shape[0] == 1:
            x = np.concatenate([x, x, x], 0)
        x = x[None]
    if x.ndim != 4:
        raise ValueError(f"make_grid: expected images (B, C, H, W), got shape {x.shape}")
    if x.shape[1] == 1:
        x = np.concatenate([x, x, x], 1)
    x = np.array(x, dtype=np.result_type(x.dtype, np.float32) if x.dtype.kind != "f"
                 else x.dtype)                               # a copy: never change the input
    if normalize:
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError("make_grid: value_range has to be a tuple (min, max) if specified; "
                            f"got {value_range!r}")

        def norm(img):
            low, high = (value_range if value_range is not None
                         else (float(img.min()), float(img.max())))
            np.clip(img, low, high, out=img)
            img -= low
            img /= max(high - low, 1e-5)
        for img in (x if scale_each else [x]):
            norm(img)
    if x.shape[0] == 1:
        return Tensor(x[0])
    n = x.shape[0]
    xmaps = min(nrow, n)
    ymaps = int(math.ceil(n / xmaps))
    height, width = x.shape[2] + padding, x.shape[3] + padding
    grid = np.full((x.shape[1], height * ymaps + padding, width * xmaps + padding), pad_value,
                   dtype=x.dtype)
    for k in range(n):
        r, c = divmod(k, xmaps)
        grid[:, r * height + padding:(r + 1) * height, c * width + padding:(c + 1) * width] = x[k]
    return Tensor(grid)


def save_image(tensor, fp, format=None, **kwargs) -> None:
    """Write ``make_grid(tensor, **kwargs)`` as an image file: values in [0, 1] are mapped to
    0..255 by x * 255 + 0.5, clamped and truncated (rounding to nearest, as torchvision)."""
    grid = make_grid(tensor, **kwargs)._data
    arr = np.clip(grid * 255.0 + 0.5, 0, 255).astype(np.uint8).transpose(1, 2, 0)  # HWC
    pillow().fromarray(np.ascontiguousarray(arr)).save(fp, format=format)
