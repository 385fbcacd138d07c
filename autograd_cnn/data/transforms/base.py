"""The transform protocol: ``Transform`` (checks the image, keeps its kind: PIL, array or
Tensor), ``RandomTransform`` (where its random numbers come from), ``Compose``, ``Lambda``."""

from __future__ import annotations

import abc
import numbers

import numpy as np

from ...random import resolve as _resolve_generator
from ...tensor import Tensor
from .. import pil

__all__ = ["apply_transform", "Transform", "RandomTransform", "Compose", "Lambda", "RandomApply",
           "RandomChoice", "RandomOrder"]


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


def _check_p(p, name):
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: p must be a probability in [0, 1], got {p!r}")
    return float(p)


def _size_hw(x) -> tuple[int, int]:
    """(height, width) of a PIL image or of an array's last two axes."""
    return (x.height, x.width) if pil.is_pil_image(x) else tuple(x.shape[-2:])


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

    def batched(self):
        """This transform's batch form, applied to a whole batch (N, C, H, W) with its own
        random parameters per image (transforms/batch.py; ``DataLoader(batch_transform=)``).
        A deterministic transform that accepts a batch is its own batch form."""
        if self.batchable:
            return self
        raise TypeError(f"{type(self).__name__} has no batch form; apply it per image "
                        "(DataLoader transform=)")

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

    def batched(self):
        """A BatchCompose of the batch forms of the transforms (TypeError if one has none)."""
        from .batch import BatchCompose
        forms = []
        for t in self.transforms:
            if not hasattr(t, "batched"):
                raise TypeError(f"Compose.batched: {t!r} has no batch form")
            forms.append(t.batched())
        return BatchCompose(forms)

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


def _transform_list(transforms, owner: str) -> list:
    transforms = list(transforms)
    for i, t in enumerate(transforms):
        if not callable(t):
            raise TypeError(f"{owner}: item {i} is not callable: {t!r}")
    return transforms


class RandomApply(RandomTransform):
    """Apply the list ``transforms`` in order with probability ``p`` (else pass the image on)."""

    def __init__(self, transforms, p: float = 0.5, generator=None):
        super().__init__(generator)
        self.transforms = _transform_list(transforms, "RandomApply")
        self.p = _check_p(p, "RandomApply")

    def _dispatch(self, x, rng):             # any kind of image: the inner transforms decide
        if rng.random() >= self.p:
            return x
        for t in self.transforms:
            x = apply_transform(t, x, rng)
        return x

    def apply(self, x, rng):
        return self._dispatch(x, rng)

    def extra_repr(self):
        return f"p={self.p}, transforms={self.transforms!r}"


class RandomChoice(RandomTransform):
    """Apply one of ``transforms``, picked with probabilities ``p`` (uniform when None)."""

    def __init__(self, transforms, p=None, generator=None):
        super().__init__(generator)
        self.transforms = _transform_list(transforms, "RandomChoice")
        if p is not None:
            p = np.asarray(p, dtype=np.float64)
            if p.shape != (len(self.transforms),) or np.any(p < 0) or p.sum() <= 0:
                raise ValueError(f"RandomChoice: p must be {len(self.transforms)} non-negative "
                                 f"weights, got {p.tolist()}")
            p = p / p.sum()
        self.p = p

    def _dispatch(self, x, rng):
        return apply_transform(self.transforms[int(rng.choice(len(self.transforms), p=self.p))],
                               x, rng)

    def apply(self, x, rng):
        return self._dispatch(x, rng)


class RandomOrder(RandomTransform):
    """Apply all of ``transforms`` in a random order."""

    def __init__(self, transforms, generator=None):
        super().__init__(generator)
        self.transforms = _transform_list(transforms, "RandomOrder")

    def _dispatch(self, x, rng):
        for k in rng.permutation(len(self.transforms)):
            x = apply_transform(self.transforms[int(k)], x, rng)
        return x

    def apply(self, x, rng):
        return self._dispatch(x, rng)
