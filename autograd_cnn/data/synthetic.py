"""Generated datasets for the applications notebooks, made from the bundled 8x8 digits (no
download): digits pasted on noisy backgrounds, with per-pixel masks (segmentation) or boxes and
labels (detection). Deterministic for a given ``seed``.

Backgrounds: a smooth random field (a 4x4 grid of uniform values bilinearly upsampled, scaled
by ``noise``) plus per-pixel Gaussian noise (std ``noise / 3``), so neither a fixed threshold nor
a constant background separates the digits perfectly. A digit's pixels are drawn at a random
brightness in [0.6, 1] and take the maximum with the background.
"""

from __future__ import annotations

import numpy as np

from . import image_ops
from .bundled import load_digits_arrays

__all__ = ["digit_patches", "placed_digits", "digit_segmentation", "digit_scenes"]


def digit_patches(size: int, digits=None) -> tuple[np.ndarray, np.ndarray]:
    """All bundled digits (those whose label is in ``digits``, default all) resized to
    (size, size), values in [0, 1]: (images (n, size, size) float32, labels (n,) int64)."""
    images, labels = load_digits_arrays()
    keep = np.ones(len(labels), bool) if digits is None else np.isin(labels, list(digits))
    if not keep.any():
        raise ValueError(f"digit_patches: no bundled digit has a label in {digits!r} (0..9)")
    x = images[keep].astype(np.float32) / np.float32(16.0)
    return image_ops.resize(x, size).astype(np.float32), labels[keep].astype(np.int64)


def placed_digits(split: str = "train", digits=None, canvas_size: int = 20, digit_size: int = 12,
                  noise: float = 0.3, copies: int = 1, seed: int = 0):
    """The bundled digits of one split (see ``data.digits``) with labels in ``digits``, each
    pasted ``copies`` times at a random place of a ``canvas_size`` square of Gaussian noise
    (std ``noise``, clipped to [0, 1]): a harder task than the centred digits, one where a
    network must learn translation and noise invariance. Returns (images (n * copies, 1, S, S)
    float32, labels (n * copies,) int64 renumbered 0.. in the order of ``digits``)."""
    from .bundled import digits as bundled_digits
    _check(canvas_size, digit_size, "placed_digits")
    d = bundled_digits(image_size=digit_size, padding=0, split=split)
    wanted = list(range(10)) if digits is None else list(digits)
    keep = np.isin(d.targets, wanted)
    if not keep.any():
        raise ValueError(f"placed_digits: no bundled digit has a label in {digits!r} (0..9)")
    x = d.images[keep]
    labels = np.array([wanted.index(v) for v in d.targets[keep]], np.int64)
    rng = np.random.default_rng(seed)
    n = len(x) * copies
    out = np.clip(rng.normal(0, noise, (n, 1, canvas_size, canvas_size)), 0, 1).astype(np.float32)
    for i in range(n):
        y0, x0 = rng.integers(0, canvas_size - digit_size + 1, 2)
        win = out[i, :, y0:y0 + digit_size, x0:x0 + digit_size]
        win[...] = np.maximum(win, x[i % len(x)])
    return out, np.tile(labels, copies)


def _background(rng, n: int, size: int, noise: float) -> np.ndarray:
    field = image_ops.resize(rng.uniform(0, 1, (n, 4, 4)).astype(np.float32), size)
    out = noise * field + rng.normal(0, noise / 3, (n, size, size))
    return np.clip(out, 0, 1).astype(np.float32)


def _check(image_size: int, digit_size: int, where: str) -> None:
    if not 1 <= digit_size <= image_size:
        raise ValueError(f"{where}: digit_size must be in [1, image_size = {image_size}], got "
                         f"{digit_size}")


def digit_segmentation(n: int, image_size: int = 32, digit_size: int = 14, max_digits: int = 2,
                       noise: float = 0.5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images with 1..max_digits digits pasted at random places (they may overlap) and
    their masks: (images (n, 1, S, S) float32 in [0, 1], masks (n, S, S) int64), mask 1 where a
    digit's stroke (its resized intensity > 0.3) is, 0 elsewhere."""
    _check(image_size, digit_size, "digit_segmentation")
    rng = np.random.default_rng(seed)
    patches, _ = digit_patches(digit_size)
    images = _background(rng, n, image_size, noise)
    masks = np.zeros((n, image_size, image_size), np.int64)
    span = image_size - digit_size + 1
    for i in range(n):
        for _ in range(rng.integers(1, max_digits + 1)):
            p = patches[rng.integers(len(patches))]
            y, x = rng.integers(span), rng.integers(span)
            window = (slice(y, y + digit_size), slice(x, x + digit_size))
            stroke = p > 0.3
            images[i][window] = np.where(stroke, np.maximum(images[i][window],
                                                            p * rng.uniform(0.6, 1.0)),
                                         images[i][window])
            masks[i][window] |= stroke
    return images[:, None], masks


def digit_scenes(n: int, image_size: int = 32, digit_size: int = 12, max_objects: int = 2,
                 digits=None, noise: float = 0.4, seed: int = 0) -> tuple[np.ndarray, list]:
    """``n`` scenes of 1..max_objects non-overlapping digits (labels in ``digits``, default
    0..9; a label is the digit itself) on noisy backgrounds, for detection:
    (images (n, 1, S, S) float32, targets), targets a list of dicts {'boxes': (G, 4) float32
    (x1, y1, x2, y2) pixel corners of the stroke's tight box, 'labels': (G,) int64} (the layout
    ``ops.mean_average_precision`` takes)."""
    _check(image_size, digit_size, "digit_scenes")
    rng = np.random.default_rng(seed)
    patches, labels = digit_patches(digit_size, digits)
    images = _background(rng, n, image_size, noise)
    span = image_size - digit_size + 1
    targets = []
    for i in range(n):
        boxes, labs, taken = [], [], []
        want = rng.integers(1, max_objects + 1)
        for _ in range(50 * want):                       # rejection sampling of free places
            if len(boxes) == want:
                break
            y, x = int(rng.integers(span)), int(rng.integers(span))
            if any(abs(y - ty) < digit_size and abs(x - tx) < digit_size for ty, tx in taken):
                continue
            k = rng.integers(len(patches))
            p, stroke = patches[k], patches[k] > 0.3
            window = images[i, y:y + digit_size, x:x + digit_size]
            window[...] = np.where(stroke, np.maximum(window, p * rng.uniform(0.6, 1.0)), window)
            rows, cols = np.nonzero(stroke.any(axis=1))[0], np.nonzero(stroke.any(axis=0))[0]
            boxes.append([x + cols[0], y + rows[0], x + cols[-1] + 1, y + rows[-1] + 1])
            labs.append(labels[k])
            taken.append((y, x))
        targets.append({"boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
                        "labels": np.asarray(labs, np.int64)})
    return images[:, None], targets
