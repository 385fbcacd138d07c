"""Batch transforms: random augmentation of a whole batch (N, C, H, W) in one call, with its own
random parameters for every image (as Kornia's augmentations; torchvision v2's transforms
accept a batch too but draw ONE set of parameters for all of its images).

    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=0,
                        batch_transform=T.RandomAffine(degrees=8, shear=6).batched())

``t.batched()`` of a per-image transform gives its batch form, with the same parameters and the
same sampling (interpolation, fill, clipping), so image i of ``t.batched()(x)`` is what ``t``
gives for x[i] when it draws the same numbers. RandomAffine's batch form draws the very numbers
the per-image form draws from the same rng, image after image; the other batch forms draw per
parameter for the whole batch (``rng.uniform(lo, hi, size=N)``), a different stream. A
DataLoader's ``batch_transform`` draws from default_rng([seed, epoch, 1, batch]), the stream its
per-image ``transform`` would use (so moving a RandomAffine from ``transform=`` to
``batch_transform=...batched()`` changes no image), or from [seed, epoch, 2, batch] when both
are given; in worker processes as in the loader's.

Costs, one thread, 32 one-channel 32x32 images (the main job's batches), measured under load
(benchmarks/bench_pipeline.py): RandomAffine 0.45-0.6 ms per batch (a Numba kernel,
kernels/augment.py, ~0.2 ms of it) against 5-7 ms image by image; the flips, the crop,
brightness/contrast and noise are numpy over the batch, 0.03-0.6 ms (3-7x the per-image loop).
"""

from __future__ import annotations

import numpy as np

from ... import backend
from ...tensor import Tensor
from .. import image_ops
from .base import RandomTransform, Transform, _check_p

__all__ = ["BatchTransform", "BatchCompose", "BatchRandomAffine", "BatchRandomHorizontalFlip",
           "BatchRandomVerticalFlip", "BatchRandomCrop", "BatchColorJitter", "BatchGaussianNoise"]


def _batch(x, name: str) -> np.ndarray:
    """``x`` as a floating (N, C, H, W) numpy batch, or a clear error."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name}: expected a numpy array or Tensor batch (N, C, H, W), got "
                        f"{type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating batch (N, C, H, W), got dtype {x.dtype}")
    if x.ndim != 4:
        hint = ("; a single image (C, H, W) takes the per-image transform, or x[None]"
                if x.ndim == 3 else "")
        raise ValueError(f"{name}: expected a batch of shape (N, C, H, W), got shape "
                         f"{x.shape}{hint}")
    return x


class BatchTransform(RandomTransform):
    """Base class: ``__call__(x, rng=None)`` on a batch (N, C, H, W) array or Tensor (a Tensor
    in gives a Tensor out); ``apply(x, rng)`` draws the parameters of all N images at once."""

    takes_pil = False
    batch = True                    # what DataLoader(batch_transform=...) expects

    def _dispatch(self, x, rng):
        if isinstance(x, Tensor):
            return Tensor(self._dispatch(x._data, rng))
        return self.apply(_batch(x, type(self).__name__), rng)

    def batched(self):
        return self


class BatchCompose(BatchTransform):
    """Apply ``transforms`` (batch transforms, or deterministic ones that accept a batch, such
    as Normalize) in order, passing ``rng`` on to each."""

    def __init__(self, transforms):
        transforms = list(transforms)
        for i, t in enumerate(transforms):
            if not (getattr(t, "batch", False) or getattr(t, "batchable", False)):
                raise TypeError(f"BatchCompose: item {i} ({t!r}) is neither a batch transform "
                                "nor a deterministic transform that accepts a batch; use "
                                "its .batched() form")
        super().__init__()
        self.transforms = transforms

    def apply(self, x, rng):
        for t in self.transforms:
            x = t(x, rng=rng) if isinstance(t, Transform) else t(x)
        return x

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}," for t in self.transforms)
        return f"BatchCompose([{inner}\n])"


class BatchRandomAffine(BatchTransform):
    """RandomAffine with one random matrix per image of the batch (``RandomAffine.batched()``):

        p_out = center + t + R(angle) Sh(shear) (s (p_in - center))     (image_ops.affine_matrix)

    each image warped by inverse mapping with bilinear sampling, ``fill`` outside, in one Numba
    call per batch (kernels/augment.py). (N, C, H, W) -> (N, C, H, W). Parameters as
    RandomAffine's (degrees, translate, scale, shear, fill)."""

    def __init__(self, affine):
        super().__init__(affine.generator)
        self.degrees, self.translate, self.scale = affine.degrees, affine.translate, affine.scale
        self.shear, self.fill = affine.shear, affine.fill

    def sample_params(self, n: int, height: int, width: int, rng) -> dict:
        """Angles, translations, scales and shears of n images, each (n,): the numbers
        RandomAffine.sample_matrix draws, image after image in its order, drawn as one (n, k)
        block (numpy's uniform(lo, hi) is lo + (hi - lo) * random(), so the values are the
        same to the bit): the batch form augments exactly as the per-image one from one rng."""
        ranges = [self.degrees]
        if self.translate is not None:
            ranges += [(-self.translate[0] * width, self.translate[0] * width),
                       (-self.translate[1] * height, self.translate[1] * height)]
        if self.scale is not None:
            ranges.append(self.scale)
        if self.shear:
            ranges += [self.shear[0], self.shear[1]]
        lo, hi = np.array(ranges, dtype=float).T
        u = lo + (hi - lo) * rng.random((n, len(ranges)))
        cols = iter(u.T)
        zero = np.zeros(n)
        p = {"angle": next(cols), "tx": zero, "ty": zero, "scale": np.ones(n), "shear_x": zero,
             "shear_y": zero}
        if self.translate is not None:
            p["tx"], p["ty"] = next(cols), next(cols)
        if self.scale is not None:
            p["scale"] = next(cols)
        if self.shear:
            p["shear_x"], p["shear_y"] = next(cols), next(cols)
        return p

    @staticmethod
    def matrices(params: dict, height: int, width: int) -> np.ndarray:
        """The (n, 3, 3) forward maps of ``image_ops.affine_matrix``, vectorised over images."""
        a = np.radians(params["angle"])
        cos, sin = np.cos(a), np.sin(a)
        sx, sy = np.tan(np.radians(params["shear_x"])), np.tan(np.radians(params["shear_y"]))
        s = params["scale"]
        # R @ Sh with R = [[cos, sin], [-sin, cos]], Sh = [[1 + sx sy, sx], [sy, 1]], times s
        l00 = (cos * (1 + sx * sy) + sin * sy) * s
        l01 = (cos * sx + sin) * s
        l10 = (-sin * (1 + sx * sy) + cos * sy) * s
        l11 = (-sin * sx + cos) * s
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        m = np.zeros((len(a), 3, 3))
        m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = l00, l01, l10, l11
        m[:, 0, 2] = cx + params["tx"] - (l00 * cx + l01 * cy)
        m[:, 1, 2] = cy + params["ty"] - (l10 * cx + l11 * cy)
        m[:, 2, 2] = 1.0
        return m

    def apply(self, x, rng):
        n, _, h, w = x.shape
        m = self.matrices(self.sample_params(n, h, w, rng), h, w)
        inv = np.ascontiguousarray(np.linalg.inv(m)[:, :2])                 # (N, 2, 3)
        if x.dtype not in backend.FLOAT_DTYPES:
            x = x.astype(np.float32)
        return backend.warp_affine_batch(np.ascontiguousarray(x), inv, self.fill)

    def extra_repr(self):
        return (f"degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, fill={self.fill}")


class _BatchFlip(BatchTransform):
    axis = -1

    def __init__(self, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.p = _check_p(p, type(self).__name__)

    def apply(self, x, rng):
        flip = rng.random(x.shape[0]) < self.p                             # (N,)
        out = x.copy()
        out[flip] = np.flip(x[flip], axis=self.axis)
        return out

    def extra_repr(self):
        return f"p={self.p}"


class BatchRandomHorizontalFlip(_BatchFlip):
    """Mirror each image left-right with probability ``p``: x[n, ..., ::-1]."""
    axis = -1


class BatchRandomVerticalFlip(_BatchFlip):
    """Mirror each image top-bottom with probability ``p``: x[n, ..., ::-1, :]."""
    axis = -2


class BatchRandomCrop(BatchTransform):
    """RandomCrop per image (``RandomCrop.batched()``): the batch is padded once (``padding``,
    ``pad_if_needed`` as RandomCrop's), then each image gets its own uniformly drawn window.
    (N, C, H, W) -> (N, C, h, w)."""

    def __init__(self, crop):
        super().__init__(crop.generator)
        self.crop = crop

    def apply(self, x, rng):
        c = self.crop
        if c.pad.padding != 0:
            x = c._pad(x, c.pad.padding)
        (th, tw), (h, w) = c.size, x.shape[-2:]
        if c.pad_if_needed and w < tw:
            x = c._pad(x, (tw - w, 0, tw - w, 0))
        if c.pad_if_needed and h < th:
            x = c._pad(x, (0, th - h, 0, th - h))
        h, w = x.shape[-2:]
        if h < th or w < tw:
            raise ValueError(f"BatchRandomCrop: crop size {c.size} is larger than the (padded) "
                             f"images {h}x{w}; lower the size, add padding, or set "
                             "pad_if_needed=True")
        top = rng.integers(0, h - th + 1, size=x.shape[0])
        left = rng.integers(0, w - tw + 1, size=x.shape[0])
        out = np.empty(x.shape[:2] + (th, tw), dtype=x.dtype)
        for k in range(x.shape[0]):            # N slice copies: microseconds for a batch
            out[k] = x[k, :, top[k]:top[k] + th, left[k]:left[k] + tw]
        return out

    def extra_repr(self):
        return f"size={self.crop.size}, padding={self.crop.pad.padding}"


class BatchColorJitter(BatchTransform):
    """ColorJitter's brightness and contrast per image (``ColorJitter.batched()``), in a random
    order per image as there, each clipped to [0, 1]:

        brightness b: x <- b x;    contrast c: x <- m + c (x - m), m = the image's mean grey
    """

    def __init__(self, jitter):
        super().__init__(jitter.generator)
        self.brightness, self.contrast = jitter.brightness, jitter.contrast

    def apply(self, x, rng):
        n = x.shape[0]
        brightness_first = rng.random(n) < 0.5
        b = rng.uniform(*self.brightness, size=n).astype(x.dtype)[:, None, None, None]
        c = rng.uniform(*self.contrast, size=n).astype(x.dtype)[:, None, None, None]

        def bright(v):
            return np.clip(v * b, 0, 1)

        def contrast(v):
            m = image_ops.to_grayscale(v).mean(axis=(1, 2, 3), keepdims=True, dtype=v.dtype)
            return np.clip(m + c * (v - m), 0, 1)

        return np.where(brightness_first[:, None, None, None], contrast(bright(x)),
                        bright(contrast(x))).astype(x.dtype, copy=False)

    def extra_repr(self):
        return f"brightness={self.brightness}, contrast={self.contrast}"


class BatchGaussianNoise(BatchTransform):
    """GaussianNoise per image (``GaussianNoise.batched()``): x <- x + σ_n ε + mean, ε ~ N(0, 1)
    per pixel, σ_n ~ U(std) per image (a number fixes it), clipped to [0, 1] if ``clip``."""

    def __init__(self, noise):
        super().__init__(noise.generator)
        self.std, self.mean, self.clip = noise.std, noise.mean, noise.clip

    def apply(self, x, rng):
        n = x.shape[0]
        sigma = rng.uniform(*self.std, size=n) if self.std[0] != self.std[1] \
            else np.full(n, self.std[0])
        draw = np.float32 if x.dtype.itemsize <= 4 else np.float64        # numpy draws these
        noise = rng.standard_normal(x.shape, dtype=draw)
        out = x + (sigma.astype(x.dtype)[:, None, None, None] * noise
                   + x.dtype.type(self.mean)).astype(x.dtype, copy=False)
        return np.clip(out, 0, 1) if self.clip else out

    def extra_repr(self):
        return f"std={self.std}, mean={self.mean}, clip={self.clip}"
