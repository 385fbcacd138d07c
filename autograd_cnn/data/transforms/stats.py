"""Dataset statistics for Normalize and SubtractMean: per-channel mean and std, the mean image."""

from __future__ import annotations

import numpy as np

__all__ = ["channel_stats", "mean_image"]


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
