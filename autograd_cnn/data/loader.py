"""DataLoader: a dataset in (shuffled) mini-batches of autograd_cnn Tensors.

    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0)
    for epoch in range(start_epoch, epochs):
        loader.set_epoch(epoch)             # epoch k has the same order in a resumed run
        for x, y in loader:                 # x: (N, C, H, W) float32 Tensor, y: (N,) int64 Tensor
            ...

Order: the samples of epoch e are a permutation drawn from numpy's default_rng([seed, e]), so the
same seed gives the same batches, every sample appears exactly once per epoch (the last batch is
smaller unless ``drop_last``), and each epoch is shuffled differently but reproducibly. Random
transforms given to the loader draw from default_rng([seed, e, 1]), so augmentation is
reproducible per epoch too. Iterating advances the epoch by one when the first batch is taken
(even a peek with ``next(iter(loader))``; a bare ``iter(loader)`` does not); ``set_epoch(k)``
says which epoch the next iteration is, so a training loop that calls it every epoch is immune
to extra iterations. Put random augmentation on the
loader, not on the dataset: a dataset's own transform draws from its own generator, which knows
nothing of epochs.

Speed: a dataset with ``get_batch`` (TensorDataset, ArrayDataset, Subset of those) is batched by
fancy-indexing its arrays, one numpy call per batch; others are read sample by sample and stacked.
"""

from __future__ import annotations

import numbers

import numpy as np

from ..random import resolve as _resolve_generator
from ..tensor import Tensor
from .transforms import apply_transform

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples) -> tuple:
    """A list of samples (x, y, ...) -> a tuple of stacked numpy arrays (X, Y, ...)."""
    if not samples:
        raise ValueError("default_collate: no samples to collate")
    width = len(samples[0])
    if any(len(s) != width for s in samples):
        raise ValueError(f"default_collate: samples have different numbers of fields "
                         f"({sorted({len(s) for s in samples})})")
    out = []
    for j in range(width):
        field = [s[j]._data if isinstance(s[j], Tensor) else np.asarray(s[j]) for s in samples]
        shapes = {f.shape for f in field}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: field {j} of the samples has different shapes "
                             f"{sorted(shapes)} within one batch; bring them to one size "
                             "(for images: a Resize or crop transform)")
        out.append(np.stack(field))
    return tuple(out)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    dataset:    anything with __len__ and __getitem__ -> (x, y, ...) (see data.Dataset)
    shuffle:    a new permutation every epoch (else the dataset's order)
    drop_last:  drop the last, smaller batch
    seed:       int fixing the order and the augmentation; None draws one from the package-wide
                generator (``autograd_cnn.manual_seed``) when the loader is made
    transform:  applied to each x (the first field) as it is batched (see data.transforms)
    collate_fn: list of samples -> batch; when given, batches are whatever it returns
    dtype:      floating dtype of the batches (float32); integer fields become int64

    Yields tuples of Tensors (x, y, ...): floating fields in ``dtype``, integer ones as int64.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed=None, transform=None, collate_fn=None,
                 dtype=np.float32):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        for name, value in (("transform", transform), ("collate_fn", collate_fn)):
            if value is not None and not callable(value):
                raise TypeError(f"DataLoader: {name} must be callable, got {value!r}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"DataLoader: dtype must be floating, got {self.dtype}")
        if seed is None:
            seed = int(_resolve_generator(None).integers(0, 2**63))
        elif isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63))
        elif isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: seed must be an int or None, got {seed!r}")
        elif seed < 0:
            raise ValueError(f"DataLoader: seed must be non-negative, got {seed}")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.transform = transform
        self.collate_fn = collate_fn
        self._epoch = 0

    # ---- epochs --------------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The epoch the next iteration will be (0 at first)."""
        return self._epoch

    def set_epoch(self, epoch: int) -> None:
        """Make the next iteration epoch ``epoch`` (its order and augmentation)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (numbers.Integral, np.integer)) or epoch < 0:
            raise ValueError(f"DataLoader.set_epoch: epoch must be a non-negative int, got {epoch!r}")
        self._epoch = int(epoch)

    def order(self, epoch: int | None = None) -> np.ndarray:
        """The sample indices of ``epoch`` (default: the next one) in the order they are served."""
        epoch = self._epoch if epoch is None else epoch
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # A generator: the epoch is claimed when the first batch is asked for, not when the
        # iterator is made. Progress bars (tqdm.auto) call iter() on what they wrap without
        # consuming it; claiming the epoch there would shift every epoch's order by one.
        epoch = self._epoch
        self._epoch += 1
        order = self.order(epoch)
        rng = np.random.default_rng([self.seed, epoch, 1])
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield self._batch(order[start:start + self.batch_size], rng)

    # ---- one batch -----------------------------------------------------------------------------

    def _batch(self, idx: np.ndarray, rng: np.random.Generator):
        t = self.transform
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            fields = list(self.dataset.get_batch(idx))           # one fancy-index per array
            if t is not None:
                if getattr(t, "batchable", False):
                    fields[0] = apply_transform(t, fields[0], rng)
                else:
                    fields[0] = np.stack([apply_transform(t, x, rng) for x in fields[0]])
            return self._to_tensors(fields)
        samples = [self.dataset[int(i)] for i in idx]
        samples = [s if isinstance(s, (tuple, list)) else (s,) for s in samples]
        if t is not None:
            samples = [(apply_transform(t, s[0], rng),) + tuple(s[1:]) for s in samples]
        if self.collate_fn is not None:
            return self.collate_fn(samples)
        return self._to_tensors(default_collate(samples))

    def _to_tensors(self, fields) -> tuple:
        out = []
        for a in fields:
            a = a._data if isinstance(a, Tensor) else np.asarray(a)
            if a.dtype.kind == "f":
                a = a.astype(self.dtype, copy=False)
            elif a.dtype.kind in "iu":
                a = a.astype(np.int64, copy=False)
            out.append(Tensor(np.ascontiguousarray(a)))
        return tuple(out)

    def __repr__(self) -> str:
        return (f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"batches={len(self)})")
