"""Datasets: anything with ``len(ds)`` and ``ds[i] -> (x, y)``, as in PyTorch.

A dataset whose samples live in arrays may also offer ``get_batch(indices) -> (xb, yb)``, a whole
batch by fancy indexing; the DataLoader then builds batches without a Python loop per sample.
``TensorDataset``, ``ArrayDataset`` (images + labels, what the bundled and file loaders return) and
``Subset`` (what ``random_split`` returns) all do.
"""

from __future__ import annotations

import abc
import hashlib
import math
import numbers
import warnings

import numpy as np

from ..random import resolve as _resolve_generator
from ..tensor import Tensor
from .transforms import apply_transform

__all__ = ["Dataset", "TensorDataset", "ArrayDataset", "Subset", "random_split",
           "stratified_split"]


class Dataset(abc.ABC):
    """The dataset protocol: ``__len__`` and ``__getitem__(i) -> (x, y)`` for 0 <= i < len.
    Subclass it (or write any class with those two methods: the DataLoader duck-types)."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abc.abstractmethod
    def __getitem__(self, index):
        """Sample ``index`` as a tuple (x, y)."""


def _as_array(a, name: str) -> np.ndarray:
    if isinstance(a, Tensor):
        return a._data
    if isinstance(a, np.ndarray):
        return a
    try:
        arr = np.asarray(a)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected an array or Tensor, got {type(a).__name__}: {err}") from None
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a numeric array or Tensor, got {type(a).__name__} "
                        "of mixed objects")
    return arr


def _check_index(index, n: int, name: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (numbers.Integral, np.integer)):
        raise TypeError(f"{name}: index must be an int, got {type(index).__name__} ({index!r})")
    i = int(index)
    if not -n <= i < n:
        raise IndexError(f"{name}: index {i} is out of range for a dataset of {n} samples")
    return i % n


class TensorDataset(Dataset):
    """Samples are slices of arrays along their first axis: ds[i] = (a[i], b[i], ...).

    ``TensorDataset(x, y)`` with x (N, C, H, W) and y (N,) is the usual case. Arrays or Tensors;
    all must have the same length N. No copy is made.

    ``ds[2:5]`` (or a list, range or index tensor) gives the samples batched: ``(x[2:5], ...)``.
    As in PyTorch, ``ds[i]`` is a tuple of Tensors (without grad) that are views of the stored
    arrays: ``ds[i][0]`` has shape (C, H, W), ``ds[i][1]`` is a 0-d int64 Tensor.
    ``get_batch(indices)``, which the DataLoader uses, returns plain numpy arrays (one fancy
    index per array, no Tensor per sample).
    """

    def __init__(self, *arrays):
        if not arrays:
            raise TypeError("TensorDataset: expected at least one array, e.g. TensorDataset(x, y)")
        self.arrays = tuple(_as_array(a, f"TensorDataset: argument {i}") for i, a in enumerate(arrays))
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a scalar; every array needs a "
                                 "first (sample) axis")
        lengths = [len(a) for a in self.arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: arrays have different lengths {lengths}; every array "
                             "needs one entry per sample")

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def tensors(self) -> tuple:
        """The stored arrays as Tensors (PyTorch's attribute name)."""
        return tuple(Tensor(a) for a in self.arrays)

    def __getitem__(self, index):
        if isinstance(index, Tensor) and index.ndim == 0:
            index = index.__index__()
        if isinstance(index, (slice, list, range, np.ndarray, Tensor)):
            # several samples at once, as in PyTorch: ds[2:5] = (a[2:5], b[2:5], ...)
            key = index._data if isinstance(index, Tensor) else (
                np.asarray(index) if isinstance(index, (list, range)) else index)
            return tuple(Tensor(a[key]) for a in self.arrays)
        i = _check_index(index, len(self), "TensorDataset")
        # a[i, ...] is a view even for 1-D arrays (a[i] would be a numpy scalar, a copy)
        return tuple(Tensor(a[i, ...]) for a in self.arrays)

    def get_batch(self, indices: np.ndarray):
        return tuple(a[indices] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(a.shape) for a in self.arrays)
        return f"TensorDataset({shapes})"


class ArrayDataset(Dataset):
    """Images (N, C, H, W) and integer labels (N,) held in memory.

    uint8 images are stored as they are (a quarter of the memory of float32) and scaled to
    float32 in [0, 1] when a sample or batch is read; floating images are read as float32.
    ``transform`` (see ``transforms``) is applied to each image as it is read; a deterministic
    ("batchable") one is applied to a whole batch at once.

    Attributes: ``images``, ``targets`` (int64), ``classes`` (names, index = label).
    """

    def __init__(self, images, targets, classes=None, transform=None):
        images = _as_array(images, "ArrayDataset: images")
        targets = _as_array(targets, "ArrayDataset: targets")
        if images.ndim != 4:
            raise ValueError(f"ArrayDataset: images must have shape (N, C, H, W), got {images.shape}")
        if images.dtype != np.uint8 and images.dtype.kind != "f":
            raise TypeError(f"ArrayDataset: images must be uint8 or floating, got {images.dtype}")
        if targets.ndim != 1 or targets.dtype.kind not in "iu":
            raise TypeError(f"ArrayDataset: targets must be a 1-D integer array, got dtype "
                            f"{targets.dtype} and shape {targets.shape}")
        if len(images) != len(targets):
            raise ValueError(f"ArrayDataset: {len(images)} images but {len(targets)} targets")
        if transform is not None and not callable(transform):
            raise TypeError(f"ArrayDataset: transform must be callable, got {transform!r}")
        self.images = images
        self.targets = targets.astype(np.int64, copy=False)
        self.classes = list(classes) if classes is not None else \
            [str(c) for c in range(int(self.targets.max()) + 1 if len(self.targets) else 0)]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    @staticmethod
    def _to_float(x: np.ndarray, copy: bool) -> np.ndarray:
        if x.dtype == np.uint8:
            return x.astype(np.float32) * np.float32(1.0 / 255.0)
        return x.astype(np.float32, copy=copy)

    def __getitem__(self, index):
        i = _check_index(index, len(self), type(self).__name__)
        x = self._to_float(self.images[i], copy=True)           # images[i] is a view
        if self.transform is not None:
            x = apply_transform(self.transform, x)
        return x, int(self.targets[i])

    def get_batch(self, indices: np.ndarray):
        xb = self._to_float(self.images[indices], copy=False)   # fancy indexing copied already
        t = self.transform
        if t is not None:
            if getattr(t, "batchable", False):
                xb = apply_transform(t, xb)
            else:
                xb = np.stack([apply_transform(t, x) for x in xb])
        return xb, self.targets[indices]

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(n={len(self)}, image shape={self.images.shape[1:]}, "
                f"classes={len(self.classes)}" + (f", transform={self.transform!r})"
                                                  if self.transform is not None else ")"))


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: sub[i] = dataset[indices[i]]."""

    def __init__(self, dataset, indices):
        indices = np.asarray(indices)
        if indices.ndim != 1 or (indices.size and indices.dtype.kind not in "iu"):
            raise TypeError(f"Subset: indices must be a 1-D sequence of ints, got {indices!r}")
        n = len(dataset)
        if indices.size and (indices.min() < 0 or indices.max() >= n):
            raise IndexError(f"Subset: indices must lie in [0, {n}), got values from "
                             f"{indices.min()} to {indices.max()}")
        self.dataset = dataset
        self.indices = indices.astype(np.int64)
        if hasattr(dataset, "get_batch"):       # batch access only where the parent has it
            self.get_batch = self._get_batch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[_check_index(index, len(self), "Subset")])]

    def _get_batch(self, indices: np.ndarray):
        return self.dataset.get_batch(self.indices[indices])

    @property
    def targets(self) -> np.ndarray:
        """The labels of the subset (when the parent dataset has ``targets``)."""
        return np.asarray(self.dataset.targets)[self.indices]

    @property
    def classes(self):
        return self.dataset.classes

    def __repr__(self) -> str:
        return f"Subset(n={len(self)} of {self.dataset!r})"


def _split_counts(n: int, lengths) -> list[int]:
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if all(isinstance(v, (numbers.Integral, np.integer)) and not isinstance(v, bool) for v in lengths):
        counts = [int(v) for v in lengths]
        if any(c < 0 for c in counts) or sum(counts) != n:
            raise ValueError(f"random_split: lengths {counts} must be non-negative and sum to the "
                             f"dataset's length {n}")
        return counts
    if not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in lengths):
        raise TypeError(f"random_split: lengths must be ints or fractions, got {lengths!r}")
    fr = [float(v) for v in lengths]
    if any(f < 0 or f > 1 for f in fr) or not (math.isclose(sum(fr), 1) and sum(fr) <= 1):
        raise ValueError(f"random_split: fractions {lengths} must lie in [0, 1] and sum to 1 "
                         f"(they sum to {sum(fr):g})")
    # PyTorch's rounding: each part floor(n * fraction), then what is left one each to the parts
    # in order, round-robin (so the sizes, and a seeded split, are those of a PyTorch script)
    counts = [int(math.floor(n * f)) for f in fr]
    for i in range(n - sum(counts)):
        counts[i % len(counts)] += 1
    for i, c in enumerate(counts):
        if c == 0:
            warnings.warn(f"random_split: length of split at index {i} is 0; this might "
                          "result in an empty dataset", UserWarning, stacklevel=3)
    return counts


def _largest_remainder(n: int, fractions: np.ndarray) -> list[int]:
    """Integer counts summing to n, as close to n * fractions as possible: floors first, then
    one more each to the parts with the largest remainders (ties: the earlier part)."""
    fractions = np.asarray(fractions, dtype=np.float64)
    exact = n * fractions / fractions.sum()
    counts = np.floor(exact + 1e-9).astype(np.int64)     # 1e-9: 0.7 * 10 is 6.999999999999999
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: max(n - int(counts.sum()), 0)]] += 1
    return [int(c) for c in counts]


def random_split(dataset, lengths, generator=None, *, seed=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given ``lengths`` (ints that
    sum to len(dataset), or fractions that sum to 1, rounded as PyTorch does: floor(n * f) each,
    the rest one each to the first parts). ``generator`` (PyTorch's keyword; ``seed`` is the same
    thing): an ``ac.Generator``, a numpy Generator or an int; None draws from the package-wide
    generator (``ac.manual_seed``). The permutation is numpy's, not torch's."""
    if generator is not None and seed is not None:
        raise ValueError("random_split: give generator or seed, not both")
    n = len(dataset)
    counts = _split_counts(n, lengths)
    perm = _resolve_generator(generator if generator is not None else seed).permutation(n)
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _stable_order(indices: np.ndarray, seed: int) -> np.ndarray:
    """``indices`` in a pseudo-random order fixed by ``seed`` that is the same on every machine
    and every numpy version: sorted by SHA-256 of "seed:index" (numpy only promises its random
    streams within a version)."""
    keys = [hashlib.sha256(f"{seed}:{int(i)}".encode()).digest()[:8] for i in indices]
    return indices[np.argsort(np.array([int.from_bytes(k, "big") for k in keys], dtype=np.uint64),
                              kind="stable")]


def stratified_split(targets, fractions, seed: int = 0) -> list[np.ndarray]:
    """Sorted index arrays that split the samples by ``fractions`` (summing to 1) class by class,
    so each part has (as nearly as integers allow) the same class proportions as the whole.

    Within each class the order is fixed by ``seed`` with a hash (``_stable_order``), so the split
    is identical on every machine. Per class, counts are rounded by largest remainder.
    """
    targets = _as_array(targets, "stratified_split: targets")
    if targets.ndim != 1 or (targets.size and targets.dtype.kind not in "iu"):
        raise TypeError(f"stratified_split: targets must be a 1-D integer array, got dtype "
                        f"{targets.dtype}, shape {targets.shape}")
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"stratified_split: seed must be an int, got {seed!r}")
    fr = np.asarray(fractions, dtype=np.float64)
    if fr.ndim != 1 or fr.size == 0 or np.any(fr < 0) or abs(fr.sum() - 1.0) > 1e-6:
        raise ValueError(f"stratified_split: fractions must be non-negative and sum to 1, "
                         f"got {fractions!r}")
    parts: list[list[np.ndarray]] = [[] for _ in fr]
    for c in np.unique(targets):
        members = _stable_order(np.flatnonzero(targets == c), int(seed))
        bounds = np.cumsum([0] + _largest_remainder(len(members), fr))
        for k in range(len(fr)):
            parts[k].append(members[bounds[k]:bounds[k + 1]])
    return [np.sort(np.concatenate(p)) if p else np.empty(0, np.int64) for p in parts]
