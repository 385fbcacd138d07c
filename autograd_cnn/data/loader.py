"""DataLoader: a dataset in (shuffled) mini-batches of autograd_cnn Tensors.

    loader = DataLoader(train_set, batch_size=64, shuffle=True, seed=0)
    for epoch in range(start_epoch, epochs):
        loader.set_epoch(epoch)             # epoch k has the same order in a resumed run
        for x, y in loader:                 # x: (N, C, H, W) float32 Tensor, y: (N,) int64 Tensor
            ...

Order: the samples of epoch e are a permutation drawn from numpy's default_rng([seed, e]), so the
same seed gives the same batches, every sample appears exactly once per epoch (the last batch is
smaller unless ``drop_last``), and each epoch is shuffled differently but reproducibly. Random
transforms given to the loader draw from default_rng([seed, e, 1, b]) for batch b, so
augmentation is reproducible per epoch too. Iterating advances the epoch by one when the first
batch is taken (even a peek with ``next(iter(loader))``; a bare ``iter(loader)`` does not);
``set_epoch(k)`` says which epoch the next iteration is, so a training loop that calls it every
epoch is immune to extra iterations. Put random augmentation on the loader, not on the dataset:
a dataset's own transform draws from its own generator, which knows nothing of epochs (and is
copied as it is into every worker process).

Batch augmentation (``batch_transform=``, not in PyTorch's DataLoader): a batch transform
(``T.RandomAffine(...).batched()``, data/transforms/batch.py) applied to the first field of each
collated batch, drawing every image's parameters at once from default_rng([seed, e, 1, b]), the
stream a per-image ``transform`` would take ([seed, e, 2, b] when both are given). One
call per batch instead of one per image: the main job's RandomAffine costs about 0.5 ms a batch
this way against 5-7 ms image by image.

Worker processes (``num_workers=k``, see data/worker.py): batches are assembled in k processes
and served in the same order, with the same values, as with ``num_workers=0``: the augmentation
of batch b of epoch e draws from default_rng([seed, e, 1, b]) wherever it runs.

Speed: a dataset with ``get_batch`` (TensorDataset, ArrayDataset, Subset of those) is batched by
fancy-indexing its arrays, one numpy call per batch; others are read sample by sample and stacked.
"""

from __future__ import annotations

import multiprocessing
import numbers
from collections.abc import Mapping

import numpy as np

from ..random import resolve as _resolve_generator
from ..tensor import Tensor
from .transforms import apply_transform
from .worker import WorkerPool, base_seed

__all__ = ["DataLoader", "default_collate"]


def default_collate(samples):
    """PyTorch's default_collate: a list of samples -> one batch of the same structure, each
    leaf stacked along a new first dim into a Tensor. Tensors, numpy arrays and numbers are
    leaves (their dtypes kept: Python floats give float64, ints int64, bools bool, as in
    PyTorch); a tuple or list sample gives a tuple or list with one batch per position
    (``for x, (y1, y2) in loader`` unpacks multi-target samples position by position), a
    namedtuple the same namedtuple, a dict a dict with one batch per key; strings stay a list.
    Leaves of one position must have one shape (ValueError naming it otherwise)."""
    return _to_tensors(_collate(list(samples), "default_collate", "the samples"))


def _collate(samples: list, where: str, what: str):
    """default_collate with numpy arrays at the leaves (the form a batch travels in from a worker
    process; ``_to_tensors`` makes them Tensors in the loader's process)."""
    if not samples:
        raise ValueError(f"{where}: no samples to collate")
    elem = samples[0]
    if isinstance(elem, (Tensor, np.ndarray, np.generic, numbers.Number)):
        field = [s._data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        shapes = {f.shape for f in field}
        if len(shapes) > 1:
            raise ValueError(f"{where}: {what} have different shapes {sorted(shapes)} within one "
                             "batch; bring them to one size (for images: a Resize or crop "
                             "transform)")
        if any(f.dtype.kind not in "biufc" for f in field):
            raise TypeError(f"{where}: {what} hold {field[0].dtype} arrays; only numbers, "
                            "numeric arrays and Tensors are stacked")
        return np.stack(field)
    if isinstance(elem, (str, bytes)):
        return list(samples)
    if isinstance(elem, Mapping):
        keys = list(elem)
        if any(set(s) != set(keys) for s in samples):
            raise ValueError(f"{where}: the dict samples of {what} do not all have the same keys")
        return {k: _collate([s[k] for s in samples], where, f"{what}[{k!r}]") for k in keys}
    if isinstance(elem, (tuple, list)):
        width = len(elem)
        if any(not isinstance(s, (tuple, list)) or len(s) != width for s in samples):
            raise ValueError(f"{where}: {what} have different numbers of fields "
                             f"({sorted({len(s) if isinstance(s, (tuple, list)) else 1 for s in samples})})")
        fields = [_collate([s[j] for s in samples], where, f"field {j} of {what}")
                  for j in range(width)]
        if hasattr(elem, "_fields"):                   # a namedtuple keeps its type
            return type(elem)(*fields)
        return tuple(fields) if isinstance(elem, tuple) else fields
    raise TypeError(f"{where}: cannot batch {what} of type {type(elem).__name__}; samples must "
                    "be Tensors, numpy arrays, numbers, strings, or tuples, lists and dicts of "
                    "those (or pass collate_fn=)")


def _map_leaves(tree, fn):
    """``tree`` (a collated batch) with ``fn`` applied to each numpy array in it."""
    if isinstance(tree, np.ndarray):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: _map_leaves(v, fn) for k, v in tree.items()}
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return type(tree)(*(_map_leaves(v, fn) for v in tree))
    if isinstance(tree, (tuple, list)):
        return type(tree)(_map_leaves(v, fn) for v in tree)
    return tree


def _to_tensors(tree):
    return _map_leaves(tree, Tensor)


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``.

    dataset:    anything with __len__ and __getitem__ -> (x, y, ...) (see data.Dataset)
    shuffle:    a new permutation every epoch (else the dataset's order)
    drop_last:  drop the last, smaller batch
    seed:       int fixing the order and the augmentation; None draws one from ``generator``
                or else the package-wide generator (``autograd_cnn.manual_seed``) when the
                loader is made
    transform:  applied to each x (the first field) as it is batched (see data.transforms)
    batch_transform: applied to the first field of each collated batch (N, C, H, W), after
                ``transform``: a batch transform (``t.batched()``), which draws the parameters
                of every image of the batch at once (not in PyTorch's DataLoader: see above)
    collate_fn: list of samples -> batch; when given, batches are whatever it returns
    dtype:      floating dtype of the batches (float32); integer fields become int64

    As PyTorch's DataLoader (keyword arguments here):
    sampler:         iterable of sample indices, its order each epoch (instead of shuffle)
    batch_sampler:   iterable of lists of indices, one list per batch (instead of batch_size,
                     shuffle, sampler and drop_last)
    generator:       a numpy Generator (or int) to draw ``seed`` from
    num_workers:     assemble batches in this many worker processes (0: in this process);
                     same batches, same order (see data/worker.py)
    worker_init_fn:  called as fn(worker_id) in each worker after it is seeded
    prefetch_factor: batches asked of each worker ahead (default 2; only with workers)
    persistent_workers: keep the workers between epochs (else new ones every epoch)
    timeout:         seconds to wait for a batch from the workers before an error (0: forever)
    multiprocessing_context: 'fork', 'spawn', 'forkserver' or a context (default: the
                     platform's); with 'spawn' the dataset and functions must pickle
    pin_memory:      accepted and ignored (there is no device memory to pin for)

    Yields tuples of Tensors (x, y, ...): floating fields in ``dtype``, integer ones as int64.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed=None, transform=None, collate_fn=None,
                 dtype=np.float32, *, sampler=None, batch_sampler=None, generator=None,
                 num_workers: int = 0, worker_init_fn=None, prefetch_factor=None,
                 persistent_workers: bool = False, timeout: float = 0,
                 multiprocessing_context=None, pin_memory: bool = False, batch_transform=None):
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__, got "
                            f"{type(dataset).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be at least 1, got {batch_size}")
        for name, value in (("transform", transform), ("collate_fn", collate_fn),
                            ("worker_init_fn", worker_init_fn)):
            if value is not None and not callable(value):
                raise TypeError(f"DataLoader: {name} must be callable, got {value!r}")
        if batch_transform is not None and not getattr(batch_transform, "batch", False):
            hint = (f"; pass {type(batch_transform).__name__}(...).batched(), its batch form"
                    if hasattr(batch_transform, "batched") else "")
            raise TypeError(f"DataLoader: batch_transform must be a batch transform (one that "
                            f"takes a batch (N, C, H, W)), got {batch_transform!r}{hint}")
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise TypeError(f"DataLoader: dtype must be floating, got {self.dtype}")
        _check_samplers(sampler, batch_sampler, batch_size, shuffle, drop_last)
        if seed is not None and generator is not None:
            raise ValueError("DataLoader: give seed or generator, not both "
                             f"(got seed={seed!r}, generator={generator!r})")
        if seed is None:
            seed = int(_resolve_generator(generator).integers(0, 2**63))
        elif isinstance(seed, np.random.Generator):
            seed = int(seed.integers(0, 2**63))
        elif isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
            raise TypeError(f"DataLoader: seed must be an int or None, got {seed!r}")
        elif seed < 0:
            raise ValueError(f"DataLoader: seed must be non-negative, got {seed}")
        self.num_workers = _check_workers(num_workers, prefetch_factor, persistent_workers,
                                          timeout, multiprocessing_context)
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.seed = int(seed)
        self.transform = transform
        self.batch_transform = batch_transform
        self.collate_fn = collate_fn
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.worker_init_fn = worker_init_fn
        if prefetch_factor is None and self.num_workers:
            prefetch_factor = 2                          # PyTorch's default with workers
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = bool(persistent_workers)
        self.timeout = float(timeout)
        self.multiprocessing_context = multiprocessing_context
        self.pin_memory = bool(pin_memory)
        self._epoch = 0
        self._pool = None

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
        """The sample indices of ``epoch`` (default: the next one) in the order they are served
        (with a sampler: the indices it gives now)."""
        epoch = self._epoch if epoch is None else epoch
        if self.batch_sampler is not None:
            return np.concatenate([b for b in self._batches(epoch)] or [np.zeros(0, np.int64)])
        if self.sampler is not None:
            return np.asarray([int(i) for i in self.sampler], dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, int(epoch)]).permutation(n)

    def _batches(self, epoch: int) -> list:
        """The index arrays of the batches of ``epoch``, in order."""
        if self.batch_sampler is not None:
            return [np.asarray([int(i) for i in b], dtype=np.int64) for b in self.batch_sampler]
        order = self.order(epoch)
        stop = len(order) // self.batch_size * self.batch_size if self.drop_last else len(order)
        return [order[start:start + self.batch_size] for start in range(0, stop, self.batch_size)]

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        # A generator: the epoch is claimed when the first batch is asked for, not when the
        # iterator is made. Progress bars (tqdm.auto) call iter() on what they wrap without
        # consuming it; claiming the epoch there would shift every epoch's order by one.
        epoch = self._epoch
        self._epoch += 1
        batches = self._batches(epoch)
        fetch = _Fetcher(self.dataset, self.transform, self.collate_fn, self.dtype, self.seed,
                         self.batch_transform)
        if self.num_workers == 0:
            for number, idx in enumerate(batches):
                yield _finish(fetch(idx, epoch, number))
            return
        pool = self._pool
        if pool is None or not pool.alive:
            pool = WorkerPool(fetch, self.num_workers, self._context(), base_seed(self.seed, epoch),
                              self.worker_init_fn, self.prefetch_factor, self.timeout)
            self._pool = pool if self.persistent_workers else None
        try:
            for batch in pool.run(batches, epoch):
                yield _finish(batch)
        finally:
            if not self.persistent_workers:
                pool.close()

    def _context(self):
        ctx = self.multiprocessing_context
        if ctx is None:
            return multiprocessing.get_context()
        return multiprocessing.get_context(ctx) if isinstance(ctx, str) else ctx

    def __del__(self):
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()

    def __repr__(self) -> str:
        workers = f", num_workers={self.num_workers}" if self.num_workers else ""
        return (f"DataLoader(n={len(self.dataset)}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed}, "
                f"batches={len(self)}{workers})")


def _check_samplers(sampler, batch_sampler, batch_size, shuffle, drop_last) -> None:
    """PyTorch's rules: a sampler replaces shuffle, a batch sampler replaces all four."""
    for name, value in (("sampler", sampler), ("batch_sampler", batch_sampler)):
        if value is not None and not hasattr(value, "__iter__"):
            raise TypeError(f"DataLoader: {name} must be an iterable of indices, got {value!r}")
    if sampler is not None and shuffle:
        raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle "
                         "(the sampler gives the order; shuffle inside it)")
    if batch_sampler is not None and (batch_size != 1 or shuffle or sampler is not None
                                      or drop_last):
        raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                         "batch_size, shuffle, sampler, and drop_last")


def _check_workers(num_workers, prefetch_factor, persistent_workers, timeout, context) -> int:
    """num_workers as an int after PyTorch's checks of the options that go with it."""
    if isinstance(num_workers, bool) or not isinstance(num_workers, (numbers.Integral, np.integer)):
        raise TypeError(f"DataLoader: num_workers must be an int, got {num_workers!r}")
    if num_workers < 0:
        raise ValueError(f"DataLoader: num_workers option should be non-negative, got "
                         f"{num_workers}; use num_workers=0 to disable multiprocessing")
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not timeout >= 0:
        raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout!r}")
    if prefetch_factor is not None:
        if num_workers == 0:
            raise ValueError("DataLoader: prefetch_factor option could only be specified in "
                             "multiprocessing; let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None")
        if isinstance(prefetch_factor, bool) or not isinstance(prefetch_factor, numbers.Integral) \
                or prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be a positive int, got "
                             f"{prefetch_factor!r}")
    if persistent_workers and num_workers == 0:
        raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
    if context is not None:
        if num_workers == 0:
            raise ValueError("DataLoader: multiprocessing_context can only be used with "
                             "multi-process loading (num_workers > 0), but got num_workers=0")
        if isinstance(context, str):
            if context not in multiprocessing.get_all_start_methods():
                raise ValueError(f"DataLoader: multiprocessing_context {context!r} is not a "
                                 "start method here; choose one of "
                                 f"{multiprocessing.get_all_start_methods()}")
        elif not (hasattr(context, "Process") and hasattr(context, "Queue")):
            raise TypeError("DataLoader: multiprocessing_context must be a start method name or "
                            f"a multiprocessing context, got {context!r}")
    return int(num_workers)


class _Collated:
    """A default-collated batch in transit: its structure with numpy arrays at the leaves, made
    Tensors by ``_finish`` in the loader's process."""

    __slots__ = ("tree",)

    def __init__(self, tree):
        self.tree = tree


def _finish(batch):
    return _to_tensors(batch.tree) if isinstance(batch, _Collated) else batch


class _Fetcher:
    """Batch ``number`` of ``epoch`` from its sample indices: in the loader's process or in a
    worker (a plain object, so a 'spawn' worker can receive it pickled)."""

    def __init__(self, dataset, transform, collate_fn, dtype, seed: int, batch_transform=None):
        self.dataset = dataset
        self.transform = transform
        self.batch_transform = batch_transform
        self.collate_fn = collate_fn
        self.dtype = dtype
        self.seed = seed

    def __call__(self, idx: np.ndarray, epoch: int, number: int):
        batch = self._collated(idx, epoch, number)
        if self.batch_transform is None:
            return batch
        tree = batch.tree if isinstance(batch, _Collated) else batch
        if not (isinstance(tree, (np.ndarray, Tensor)) or
                (isinstance(tree, (tuple, list)) and tree)):
            raise TypeError(f"DataLoader: batch_transform needs batches that are tuples (x, "
                            f"...) or one array of images; got {type(tree).__name__}")
        # the per-image transform's stream when there is none (so a transform moved to its
        # batch form draws the same numbers), a stream of its own beside one
        stream = 1 if self.transform is None else 2
        rng = np.random.default_rng([self.seed, int(epoch), stream, int(number)])
        if isinstance(tree, (np.ndarray, Tensor)):      # a dataset of bare images
            x = self.batch_transform(tree, rng=rng)
            return self._arrays(x) if isinstance(batch, _Collated) else x
        x = self.batch_transform(tree[0], rng=rng)
        rest = tuple(tree[1:])
        if isinstance(batch, _Collated):
            return self._arrays(type(tree)((x,) + rest) if isinstance(tree, tuple)
                                else [x] + list(rest))
        return type(batch)((x,) + rest) if isinstance(batch, tuple) else [x] + list(rest)

    def _collated(self, idx: np.ndarray, epoch: int, number: int):
        rng = np.random.default_rng([self.seed, int(epoch), 1, int(number)])
        t = self.transform
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            fields = list(self.dataset.get_batch(idx))           # one fancy-index per array
            if t is not None:
                if getattr(t, "batchable", False):
                    fields[0] = apply_transform(t, fields[0], rng)
                else:
                    fields[0] = np.stack([apply_transform(t, x, rng) for x in fields[0]])
            return self._arrays(tuple(fields))
        samples = [self.dataset[int(i)] for i in idx]
        if t is not None:            # on x, the first field (the sample itself when bare)
            samples = [(apply_transform(t, s[0], rng),) + tuple(s[1:])
                       if isinstance(s, (tuple, list)) else apply_transform(t, s, rng)
                       for s in samples]
        if self.collate_fn is not None:
            return self.collate_fn(samples)
        return self._arrays(_collate(samples, "DataLoader", "the samples"))

    def _arrays(self, tree) -> _Collated:
        """The batch's leaves as C-contiguous arrays: floating ones in the loader's dtype,
        integer ones int64 (bools and strings as they are)."""
        def cast(a):
            a = a._data if isinstance(a, Tensor) else np.asarray(a)
            if a.dtype.kind == "f":
                a = a.astype(self.dtype, copy=False)
            elif a.dtype.kind in "iu":
                a = a.astype(np.int64, copy=False)
            return np.ascontiguousarray(a)
        if isinstance(tree, Tensor):
            tree = tree._data
        return _Collated(_map_leaves(_leaf_arrays(tree), cast))


def _leaf_arrays(tree):
    """Tensors in a batch's structure (a batch transform's result) as their arrays."""
    if isinstance(tree, Tensor):
        return tree._data
    if isinstance(tree, (tuple, list)) and not hasattr(tree, "_fields"):
        return type(tree)(_leaf_arrays(v) for v in tree)
    return tree
