"""Pure numpy image operations behind the transforms: resize, pad, crop, affine warp, blur.

Every function takes an image array whose last two axes are (H, W), usually (C, H, W) float32,
and returns a new array of the same dtype; leading axes (channels, batch) are carried along.

Coordinates: pixel (row i, column j) has its centre at (x, y) = (j, i); x points right, y down.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..args import int_pair

__all__ = [
    "resize", "resize_weights", "pad", "crop", "center_crop", "affine_matrix", "warp_affine",
    "gaussian_blur", "to_grayscale",
]


# ---- resize -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def resize_weights(n_in: int, n_out: int, antialias: bool = True) -> np.ndarray:
    """The (n_out, n_in) matrix of a 1-D bilinear resize; row i holds output pixel i's weights.

    Output pixel i samples the input at c = (i + 0.5) * n_in / n_out - 0.5 (half-pixel centres,
    PyTorch's ``align_corners=False`` and Pillow's convention) with the triangle ("tent") filter
    w(d) = max(0, 1 - |d| / s). Upsampling uses s = 1: plain bilinear interpolation. Downsampling
    with ``antialias`` stretches the tent to s = n_in / n_out, so every input pixel contributes
    (as Pillow does) instead of aliasing. Each row is renormalised to sum to 1, which at the border
    amounts to repeating the edge pixel.
    """
    scale = n_in / n_out
    support = max(scale, 1.0) if antialias else 1.0
    centres = (np.arange(n_out) + 0.5) * scale - 0.5                   # (n_out,)
    dist = np.abs(np.arange(n_in)[None, :] - centres[:, None]) / support  # (n_out, n_in)
    w = np.maximum(0.0, 1.0 - dist)
    w /= w.sum(axis=1, keepdims=True)
    w.setflags(write=False)                                            # cached: shared by callers
    return w


def resize(x: np.ndarray, size, antialias: bool = True) -> np.ndarray:
    """Bilinear resize of the last two axes to ``size`` = (Ho, Wo) (or an int for a square).

    Separable: out = Wy @ x @ Wx^T with the (Ho, H) and (Wo, W) matrices of ``resize_weights``,
    so (..., H, W) -> (..., Ho, Wo) for any leading axes. A constant image stays constant, and
    values stay within the input's range (every output is a convex combination of inputs).
    """
    ho, wo = int_pair(size, "size", "resize")
    if ho < 1 or wo < 1:
        raise ValueError(f"resize: size must be positive, got {(ho, wo)}")
    h, w = x.shape[-2:]
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    out = x.astype(dtype, copy=False)
    if (ho, wo) == (h, w):
        return out.copy()
    if ho != h:
        out = np.matmul(resize_weights(h, ho, antialias).astype(dtype), out)   # (..., Ho, W)
    if wo != w:
        out = np.matmul(out, resize_weights(w, wo, antialias).T.astype(dtype))  # (..., Ho, Wo)
    return out


# ---- pad and crop -------------------------------------------------------------------------------

_PAD_MODES = {"constant": "constant", "edge": "edge", "reflect": "reflect", "symmetric": "symmetric"}


def pad(x: np.ndarray, padding, fill: float = 0.0, mode: str = "constant") -> np.ndarray:
    """Pad the last two axes. ``padding``: int (all sides), (pw, ph) = (left and right, top and
    bottom), or (left, top, right, bottom), as in torchvision. ``mode``: 'constant' (with ``fill``), 'edge', 'reflect' (no edge repeat)
    or 'symmetric' (edge repeated). (..., H, W) -> (..., H + top + bottom, W + left + right)."""
    left, top, right, bottom = _padding4(padding)
    if mode not in _PAD_MODES:
        raise ValueError(f"pad: mode must be one of {sorted(_PAD_MODES)}, got {mode!r}")
    if mode == "constant":
        # a filled canvas with the image copied in: ~10x faster than np.pad on small images
        h, w = x.shape[-2:]
        out = np.full(x.shape[:-2] + (h + top + bottom, w + left + right), fill, dtype=x.dtype)
        out[..., top:top + h, left:left + w] = x
        return out
    widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
    if mode == "reflect" and (max(top, bottom) >= x.shape[-2] or max(left, right) >= x.shape[-1]):
        raise ValueError(f"pad: reflect padding {padding} must be smaller than the image "
                         f"({x.shape[-2]}x{x.shape[-1]}); use mode='symmetric' or 'edge'")
    return np.pad(x, widths, mode=_PAD_MODES[mode])


def _padding4(padding) -> tuple[int, int, int, int]:
    vals = (padding,) if isinstance(padding, (int, np.integer)) else tuple(padding) \
        if isinstance(padding, (tuple, list)) else None
    if vals is None or len(vals) not in (1, 2, 4) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise TypeError("padding: expected an int, (left/right, top/bottom) or (left, top, "
                        f"right, bottom), got {padding!r}")
    if any(v < 0 for v in vals):
        raise ValueError(f"padding: must be non-negative, got {padding!r}")
    if len(vals) == 1:
        return (int(vals[0]),) * 4
    if len(vals) == 2:                       # torchvision: (left and right, top and bottom)
        pw, ph = vals
        return int(pw), int(ph), int(pw), int(ph)
    return tuple(int(v) for v in vals)


def crop(x: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """The window x[..., top:top+height, left:left+width] (a copy); must lie inside the image."""
    h, w = x.shape[-2:]
    if top < 0 or left < 0 or top + height > h or left + width > w:
        raise ValueError(f"crop: window (top={top}, left={left}, {height}x{width}) does not fit "
                         f"in a {h}x{w} image")
    return x[..., top:top + height, left:left + width].copy()


def center_crop(x: np.ndarray, size) -> np.ndarray:
    """The central (h, w) window; (..., H, W) -> (..., h, w). Odd leftovers go to the bottom/right."""
    ch, cw = int_pair(size, "size", "center_crop")
    h, w = x.shape[-2:]
    if ch > h or cw > w:
        raise ValueError(f"center_crop: size {(ch, cw)} is larger than the image ({h}x{w}); "
                         "pad or resize first")
    return crop(x, (h - ch) // 2, (w - cw) // 2, ch, cw)


# ---- affine warp --------------------------------------------------------------------------------

def affine_matrix(angle: float = 0.0, translate=(0.0, 0.0), scale: float = 1.0, shear=(0.0, 0.0),
                  center=(0.0, 0.0)) -> np.ndarray:
    """The 3x3 forward map of a rotation/shear/scale about ``center`` followed by a translation:

        p_out = center + translate + R(angle) @ Sh(shear) @ (scale * (p_in - center))

    in pixel coordinates (x right, y down). ``angle`` in degrees, positive = counter-clockwise as
    the image is displayed. Sh = [[1, tan sx], [0, 1]] @ [[1, 0], [tan sy, 1]] with the shear
    angles (sx, sy) in degrees: sx slants vertical lines, sy horizontal ones.
    """
    a = math.radians(angle)
    # y points down, so a counter-clockwise turn on screen is [[cos, sin], [-sin, cos]]
    rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
    sx, sy = (math.tan(math.radians(s)) for s in shear)
    sh = np.array([[1.0, sx], [0.0, 1.0]]) @ np.array([[1.0, 0.0], [sy, 1.0]])
    lin = rot @ sh * scale
    c = np.asarray(center, dtype=np.float64)
    m = np.eye(3)
    m[:2, :2] = lin
    m[:2, 2] = c + np.asarray(translate, dtype=np.float64) - lin @ c
    return m


def warp_affine(x: np.ndarray, matrix: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """Warp the last two axes by the forward affine map ``matrix`` (3x3 or 2x3), by inverse mapping:
    each output pixel p looks up the source point M^-1 p and samples it bilinearly, so every output
    pixel gets exactly one value (no holes, unlike forward mapping). Source neighbours outside the
    image count as ``fill``. (..., H, W) -> (..., H, W).
    """
    m = np.eye(3)
    m[: np.shape(matrix)[0], :] = matrix
    inv = np.linalg.inv(m)
    h, w = x.shape[-2:]
    ys, xs = _grid(h, w)
    src_x = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]                # (H, W) source coordinates
    src_y = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
    return _bilinear_sample(x, src_x, src_y, fill)


@functools.lru_cache(maxsize=16)
def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of every pixel, (H, W) each (cached: warps reuse them)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    ys.setflags(write=False)
    xs.setflags(write=False)
    return ys, xs


def _bilinear_sample(x: np.ndarray, src_x: np.ndarray, src_y: np.ndarray, fill: float) -> np.ndarray:
    """x sampled at the (H', W') points (src_x, src_y); outside points blend towards ``fill``.

    A one-pixel border of ``fill`` around the image makes "outside" an ordinary lookup: indices
    are clipped into [-1, W] (and [-1, H]), where the border lives."""
    h, w = x.shape[-2:]
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)
    xp = pad(x.astype(dtype, copy=False), 1, fill=fill)                # (..., H+2, W+2)
    x0 = np.floor(src_x)
    y0 = np.floor(src_y)
    wx = (src_x - x0).astype(dtype)
    wy = (src_y - y0).astype(dtype)
    # +1: index into the padded image; clipping sends far-away points onto the fill border
    ix0 = np.clip(x0 + 1, 0, w + 1).astype(np.intp)
    ix1 = np.clip(x0 + 2, 0, w + 1).astype(np.intp)
    row0 = np.clip(y0 + 1, 0, h + 1).astype(np.intp) * (w + 2)
    row1 = np.clip(y0 + 2, 0, h + 1).astype(np.intp) * (w + 2)
    flat = xp.reshape(xp.shape[:-2] + (-1,))                           # (..., (H+2)(W+2))
    top = flat[..., row0 + ix0] * (1 - wx) + flat[..., row0 + ix1] * wx
    bottom = flat[..., row1 + ix0] * (1 - wx) + flat[..., row1 + ix1] * wx
    return (top * (1 - wy) + bottom * wy).astype(dtype, copy=False)


# ---- blur and colour ----------------------------------------------------------------------------

def gaussian_blur(x: np.ndarray, kernel_size: int, sigma: float) -> np.ndarray:
    """Separable Gaussian blur of the last two axes with a normalised 1-D kernel
    g(d) ∝ exp(-d² / 2σ²), d = -k//2 .. k//2, and reflect padding (no dark border)."""
    if not isinstance(kernel_size, (int, np.integer)) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"gaussian_blur: kernel_size must be a positive odd int, got {kernel_size!r}")
    if not sigma > 0:
        raise ValueError(f"gaussian_blur: sigma must be positive, got {sigma!r}")
    r = kernel_size // 2
    d = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-d * d / (2.0 * sigma * sigma))
    g = (g / g.sum()).astype(x.dtype)
    h, w = x.shape[-2:]
    xp = pad(x, r, mode="symmetric" if r >= min(h, w) else "reflect")  # (..., H+2r, W+2r)
    rows = sum(g[i] * xp[..., i:i + h, :] for i in range(kernel_size))          # (..., H, W+2r)
    return sum(g[i] * rows[..., :, i:i + w] for i in range(kernel_size)).astype(x.dtype, copy=False)


# ITU-R BT.601 luma, the weights Pillow and torchvision use for RGB -> L
_LUMA = np.array([0.299, 0.587, 0.114])


def to_grayscale(x: np.ndarray) -> np.ndarray:
    """(..., C, H, W) -> (..., 1, H, W): luma 0.299 R + 0.587 G + 0.114 B for C = 3, the channel
    mean otherwise (C = 1 returns a copy)."""
    c = x.shape[-3]
    if c == 3:
        weights = _LUMA.astype(x.dtype)
        return np.tensordot(x, weights, axes=([-3], [0]))[..., None, :, :].astype(x.dtype, copy=False)
    return x.mean(axis=-3, keepdims=True, dtype=x.dtype)
