"""Datasets, splits and the DataLoader: order, coverage, determinism, batching, errors."""

import os

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.data import (ArrayDataset, DataLoader, Dataset, Subset, TensorDataset,
                               default_collate, random_split, stratified_split)
from autograd_cnn.data import transforms as T


class ListDataset(Dataset):
    """A dataset without get_batch: the DataLoader must read it sample by sample."""

    def __init__(self, n, shape=(1, 2, 2)):
        self.items = [(np.full(shape, i, np.float64), i % 3) for i in range(n)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


def make_tensor_dataset(n=23):
    x = np.arange(n, dtype=np.float32)[:, None, None, None] * np.ones((1, 1, 2, 2), np.float32)
    return TensorDataset(x, np.arange(n) % 5)


def served(loader):
    return np.concatenate([y.numpy() for _, y in loader])


# ---- datasets ------------------------------------------------------------------------------------

def test_tensor_dataset_items_and_errors():
    x, y = np.zeros((4, 1, 2, 2)), np.array([1, 2, 3, 4])
    ds = TensorDataset(ac.tensor(x), y)
    assert len(ds) == 4 and ds[-1][1] == 4 and ds[2][0].shape == (1, 2, 2)
    # PyTorch's semantics: indexing gives Tensors (views, no grad), also from numpy inputs
    xi, yi = TensorDataset(ac.tensor(x.astype(np.float32)), ac.tensor(y))[1]
    assert isinstance(xi, ac.Tensor) and isinstance(yi, ac.Tensor)
    assert xi.shape == (1, 2, 2) and xi.dtype == np.float32 and not xi.requires_grad
    assert yi.shape == () and yi.dtype == np.int64 and yi.item() == 2 and int(yi) == 2
    assert all(isinstance(t, ac.Tensor) for t in ds[0])
    assert np.shares_memory(ds[3][0]._data, ds.arrays[0]) and np.shares_memory(ds[3][1]._data, y)
    xb, yb = ds.get_batch(np.array([3, 0]))
    np.testing.assert_array_equal(yb, [4, 1])
    assert type(xb) is np.ndarray and type(yb) is np.ndarray      # the DataLoader's fast path
    samples = next(iter(DataLoader(ds, batch_size=2, collate_fn=list)))   # per-sample path
    assert isinstance(samples[0][0], ac.Tensor) and samples[1][1].item() == 2
    cx, cy = default_collate([ds[3], ds[0]])                    # Tensor samples stack too
    assert cx.shape == (2, 1, 2, 2) and list(cy) == [4, 1]
    with pytest.raises(IndexError, match="out of range"):
        ds[4]
    with pytest.raises(TypeError, match="index must be an int"):
        ds[1.0]
    with pytest.raises(ValueError, match="different lengths"):
        TensorDataset(x, y[:3])
    with pytest.raises(TypeError, match="at least one array"):
        TensorDataset()


def test_array_dataset_scales_uint8_and_applies_transform():
    imgs = np.array([[[[0, 255], [51, 102]]]] * 3, dtype=np.uint8)     # (3, 1, 2, 2)
    ds = ArrayDataset(imgs, [0, 1, 2], classes=["a", "b", "c"])
    x, y = ds[1]
    assert x.dtype == np.float32 and y == 1
    np.testing.assert_allclose(x, [[[0, 1], [0.2, 0.4]]], rtol=1e-6)
    xb, yb = ds.get_batch(np.array([2, 0]))
    assert xb.shape == (2, 1, 2, 2) and yb.dtype == np.int64
    flipped = ArrayDataset(imgs, [0, 1, 2], transform=T.RandomHorizontalFlip(1.0))
    np.testing.assert_allclose(flipped[0][0], x[..., ::-1])
    np.testing.assert_allclose(flipped.get_batch(np.array([0, 1]))[0], xb[:, :, :, ::-1][[1, 0]])
    padded = ArrayDataset(imgs, [0, 1, 2], transform=T.Pad(1))         # batchable path
    assert padded.get_batch(np.arange(3))[0].shape == (3, 1, 4, 4)
    assert ds.classes == ["a", "b", "c"] and "ArrayDataset" in repr(ds)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        ArrayDataset(np.zeros((3, 2, 2)), [0, 1, 2])
    with pytest.raises(TypeError, match="integer"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), [0.5, 1, 2])
    with pytest.raises(ValueError, match="3 images but 2 targets"):
        ArrayDataset(np.zeros((3, 1, 2, 2)), [0, 1])


def test_random_split_lengths_fractions_and_seed():
    ds = make_tensor_dataset(23)
    parts = random_split(ds, [10, 8, 5], seed=0)
    assert [len(p) for p in parts] == [10, 8, 5]
    all_idx = np.concatenate([p.indices for p in parts])
    assert sorted(all_idx) == list(range(23))                      # disjoint and complete
    again = random_split(ds, [10, 8, 5], seed=0)
    for p, q in zip(parts, again):
        np.testing.assert_array_equal(p.indices, q.indices)
    other = random_split(ds, [10, 8, 5], seed=1)
    assert not np.array_equal(parts[0].indices, other[0].indices)
    fr = random_split(ds, [0.7, 0.2, 0.1], seed=0)
    # PyTorch 2.13's sizes: floors 16, 4, 2, the one left over to the first part
    assert [len(p) for p in fr] == [17, 4, 2]
    assert [len(p) for p in random_split(range(11), [0.3, 0.3, 0.4])] == [4, 3, 4]
    assert [len(p) for p in random_split(range(10), [0.25] * 4)] == [3, 3, 2, 2]
    with pytest.warns(UserWarning, match="split at index 2 is 0"):
        assert [len(p) for p in random_split(range(3), [0.4, 0.4, 0.2])] == [2, 1, 0]
    # PyTorch's generator= keyword: an ac.Generator, as torch.Generator().manual_seed(42)
    a = random_split(ds, [0.5, 0.5], generator=ac.Generator().manual_seed(42))
    b = random_split(ds, [0.5, 0.5], ac.Generator().manual_seed(42))
    assert all(np.array_equal(p.indices, q.indices) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="generator or seed, not both"):
        random_split(ds, [0.5, 0.5], generator=1, seed=1)
    # a Subset reads through to its parent, and batches through get_batch
    assert parts[0][0][1] == ds[int(parts[0].indices[0])][1]
    np.testing.assert_array_equal(parts[1].get_batch(np.array([1, 0]))[1],
                                  ds.arrays[1][parts[1].indices[[1, 0]]])
    with pytest.raises(ValueError, match="sum to the dataset's length 23"):
        random_split(ds, [10, 10])
    with pytest.raises(ValueError, match="sum to 1"):
        random_split(ds, [0.5, 0.4])
    with pytest.raises(TypeError, match="ints or fractions"):
        random_split(ds, ["a", 1])


def test_subset_without_get_batch_parent_has_none():
    sub = Subset(ListDataset(5), [4, 0])
    assert not hasattr(sub, "get_batch")
    assert sub[0][1] == 4 % 3
    with pytest.raises(IndexError, match=r"\[0, 5\)"):
        Subset(ListDataset(5), [5])


def test_stratified_split_is_stratified_disjoint_and_stable():
    targets = np.repeat(np.arange(4), [40, 20, 10, 30])
    parts = stratified_split(targets, [0.5, 0.3, 0.2], seed=3)
    assert sorted(np.concatenate(parts)) == list(range(100))
    for part, frac in zip(parts, [0.5, 0.3, 0.2]):
        counts = np.bincount(targets[part], minlength=4)
        np.testing.assert_allclose(counts, frac * np.array([40, 20, 10, 30]), atol=1)
    for p, q in zip(parts, stratified_split(targets, [0.5, 0.3, 0.2], seed=3)):
        np.testing.assert_array_equal(p, q)
    assert not np.array_equal(parts[0], stratified_split(targets, [0.5, 0.3, 0.2], seed=4)[0])
    with pytest.raises(ValueError, match="sum to 1"):
        stratified_split(targets, [0.5, 0.6])


# ---- the DataLoader -------------------------------------------------------------------------------

@pytest.mark.parametrize("make", [make_tensor_dataset, lambda: ListDataset(23)])
def test_every_sample_once_per_epoch_and_batch_shapes(make):
    ds = make()
    loader = DataLoader(ds, batch_size=5, shuffle=True, seed=0)
    assert len(loader) == 5
    batches = list(loader)
    assert [len(y) for _, y in batches] == [5, 5, 5, 5, 3]
    x, y = batches[0]
    assert isinstance(x, ac.Tensor) and x.dtype == np.float32 and x.shape == (5, 1, 2, 2)
    assert y.dtype == np.int64 and not x.requires_grad
    ids = np.concatenate([b[0].numpy()[:, 0, 0, 0] for b in batches]).astype(int)
    assert sorted(ids) == list(range(23))                       # each sample exactly once
    assert list(ids) != list(range(23))                         # and shuffled


def test_same_seed_same_order_epochs_differ_and_set_epoch_replays():
    ds = make_tensor_dataset(40)
    a = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    b = DataLoader(ds, batch_size=8, shuffle=True, seed=11)
    orders_a = [a.order(e) for e in range(3)]
    e0, e1, e2 = (np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in a]) for _ in range(3))
    assert a.epoch == 3
    np.testing.assert_array_equal(e0, orders_a[0])
    np.testing.assert_array_equal(e2, orders_a[2])
    assert not np.array_equal(e0, e1) and not np.array_equal(e1, e2)
    b.set_epoch(1)                                               # a run resumed at epoch 1
    np.testing.assert_array_equal(np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in b]), e1)
    c = DataLoader(ds, batch_size=8, shuffle=True, seed=12)
    assert not np.array_equal(c.order(0), orders_a[0])
    # the order is a function of (seed, epoch) only, not of the batch size
    np.testing.assert_array_equal(DataLoader(ds, batch_size=3, shuffle=True, seed=11).order(2),
                                  orders_a[2])


def test_the_epoch_is_claimed_by_the_first_batch_not_by_iter():
    # wrappers such as tqdm.auto call iter() on the loader without consuming it
    loader = DataLoader(make_tensor_dataset(12), batch_size=4, shuffle=True, seed=2)
    unused = iter(loader)
    assert loader.epoch == 0
    first = np.concatenate([x.numpy()[:, 0, 0, 0] for x, _ in loader])
    np.testing.assert_array_equal(first, loader.order(0))       # epoch 0, not epoch 1
    assert loader.epoch == 1
    next(unused)                                                 # a late start takes epoch 1
    assert loader.epoch == 2


def test_no_shuffle_keeps_order_and_drop_last():
    ds = make_tensor_dataset(23)
    np.testing.assert_array_equal(served(DataLoader(ds, batch_size=4)), np.arange(23) % 5)
    loader = DataLoader(ds, batch_size=4, drop_last=True, shuffle=True, seed=0)
    assert len(loader) == 5
    sizes = [len(y) for _, y in loader]
    assert sizes == [4] * 5
    assert len(DataLoader(ds, batch_size=100)) == 1 and len(DataLoader(ds, batch_size=100,
                                                                         drop_last=True)) == 0


def test_seed_none_follows_manual_seed():
    ds = make_tensor_dataset(30)
    ac.manual_seed(4)
    a = DataLoader(ds, batch_size=30, shuffle=True)
    ac.manual_seed(4)
    b = DataLoader(ds, batch_size=30, shuffle=True)
    assert a.seed == b.seed
    np.testing.assert_array_equal(a.order(0), b.order(0))


def test_fast_path_equals_sample_by_sample_path():
    """Batches from get_batch (fancy indexing) equal batches assembled one sample at a time."""
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (37, 2, 3, 3), dtype=np.uint8)
    ds = ArrayDataset(imgs, rng.integers(0, 4, 37))

    class NoBatch:
        def __len__(self):
            return len(ds)

        def __getitem__(self, i):
            return ds[i]

    for tf in [None, T.Normalize([0.5, 0.2], [0.1, 0.3]), T.RandomHorizontalFlip()]:
        fast = DataLoader(ds, batch_size=6, shuffle=True, seed=2, transform=tf)
        slow = DataLoader(NoBatch(), batch_size=6, shuffle=True, seed=2, transform=tf)
        for (xf, yf), (xs, ys) in zip(fast, slow):
            np.testing.assert_allclose(xf.numpy(), xs.numpy(), rtol=1e-6)
            np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_float64_dataset_and_dtype_option():
    ds = ListDataset(6)                                         # float64 samples
    x, y = next(iter(DataLoader(ds, batch_size=6)))
    assert x.dtype == np.float32
    x, _ = next(iter(DataLoader(ds, batch_size=6, dtype=np.float64)))
    assert x.dtype == np.float64


def test_collate_fn_and_default_collate():
    ds = ListDataset(7)
    loader = DataLoader(ds, batch_size=3, collate_fn=lambda s: [lab for _, lab in s])
    assert list(loader) == [[0, 1, 2], [0, 1, 2], [0]]
    xs, ys = default_collate([(np.zeros((1, 2)), 1), (np.ones((1, 2)), 2)])
    assert xs.shape == (2, 1, 2) and list(ys) == [1, 2]
    with pytest.raises(ValueError, match="different shapes"):
        default_collate([(np.zeros((1, 2)), 1), (np.zeros((1, 3)), 1)])


def test_loader_errors():
    ds = make_tensor_dataset(5)
    with pytest.raises(ValueError, match="at least 1"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        DataLoader(ds, batch_size=2.0)
    with pytest.raises(TypeError, match="__len__ and __getitem__"):
        DataLoader(object())
    with pytest.raises(TypeError, match="seed must be an int"):
        DataLoader(ds, seed="a")
    with pytest.raises(ValueError, match="non-negative"):
        DataLoader(ds, seed=-1)
    with pytest.raises(TypeError, match="transform must be callable"):
        DataLoader(ds, transform=3)
    with pytest.raises(ValueError, match="non-negative int"):
        DataLoader(ds).set_epoch(-1)
    with pytest.raises(TypeError, match="floating"):
        DataLoader(ds, dtype=np.int32)


# ---- samplers (PyTorch's options) --------------------------------------------------------------

def test_sampler_batch_sampler_generator_and_drop_last():
    ds = make_tensor_dataset(10)
    ids = lambda loader: [list(x.numpy()[:, 0, 0, 0].astype(int)) for x, _ in loader]  # noqa: E731
    assert ids(DataLoader(ds, batch_size=3, sampler=[9, 0, 8, 1, 7])) == [[9, 0, 8], [1, 7]]
    assert len(DataLoader(ds, batch_size=3, sampler=[9, 0, 8, 1, 7], drop_last=True)) == 1
    loader = DataLoader(ds, batch_sampler=[[3, 4], [0], [9, 8, 7]])
    assert len(loader) == 3 and ids(loader) == [[3, 4], [0], [9, 8, 7]]
    assert list(loader.order(0)) == [3, 4, 0, 9, 8, 7]
    # generator: the seed is drawn from it, so two equal generators give equal orders
    a = DataLoader(ds, batch_size=10, shuffle=True, generator=np.random.default_rng(5))
    b = DataLoader(ds, batch_size=10, shuffle=True, generator=np.random.default_rng(5))
    assert a.seed == b.seed and ids(a) == ids(b)


def test_sampler_option_errors_as_pytorch():
    ds = make_tensor_dataset(4)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    for bad in ({"batch_size": 2}, {"shuffle": True}, {"sampler": [0]}, {"drop_last": True}):
        with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive with "
                                             "batch_size, shuffle, sampler, and drop_last"):
            DataLoader(ds, batch_sampler=[[0, 1]], **bad)
    with pytest.raises(TypeError, match="sampler must be an iterable of indices, got 3"):
        DataLoader(ds, sampler=3)
    with pytest.raises(ValueError, match="give seed or generator, not both"):
        DataLoader(ds, seed=1, generator=np.random.default_rng(0))


# ---- worker processes --------------------------------------------------------------------------

class WorkerProbe(Dataset):
    """Each sample reports the process and worker that made it, and a draw from the package
    generator (seeded per worker); sample ``fail_at`` raises, ``exit_at`` kills its worker,
    ``sleep_at`` stalls it."""

    def __init__(self, n=12, fail_at=None, exit_at=None, sleep_at=None, error=ValueError):
        self.n, self.fail_at, self.exit_at, self.sleep_at, self.error = \
            n, fail_at, exit_at, sleep_at, error

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        import os
        import time

        from autograd_cnn.data import get_worker_info
        if i == self.fail_at:
            raise self.error(f"bad sample {i}")
        if i == self.exit_at:
            os._exit(3)
        if i == self.sleep_at:
            time.sleep(30)
        info = get_worker_info()
        wid, seed = (-1, -1) if info is None else (info.id, info.seed)
        draw = float(ac.rand(1).numpy()[0])
        return np.full((1,), float(i)), np.array([os.getpid(), wid, seed % 1000003, _INIT[0]]), draw


_INIT = [-1]


def _init_worker(worker_id):
    _INIT[0] = 100 + worker_id


def test_workers_serve_the_same_batches_in_the_same_order_as_in_process():
    rng = np.random.default_rng(0)
    ds = ArrayDataset(rng.integers(0, 256, (41, 1, 6, 6), dtype=np.uint8), rng.integers(0, 4, 41))
    flip = T.RandomHorizontalFlip()
    for ds_, extra in ((ds, {}), (ListDataset(41), {}), (ds, {"prefetch_factor": 1}),
                       (ds, {"prefetch_factor": 5, "drop_last": True})):
        kw = dict(batch_size=4, shuffle=True, seed=7, transform=flip if ds_ is ds else None)
        drop = extra.pop("drop_last", False)
        plain = list(DataLoader(ds_, drop_last=drop, **kw))
        workers = list(DataLoader(ds_, drop_last=drop, num_workers=2, **kw, **extra))
        assert len(workers) == len(plain) > 0
        for (xa, ya), (xb, yb) in zip(plain, workers):
            assert isinstance(xb, ac.Tensor) and xb.dtype == xa.dtype
            np.testing.assert_array_equal(xa.numpy(), xb.numpy())
            np.testing.assert_array_equal(ya.numpy(), yb.numpy())


def test_workers_are_seeded_base_plus_id_and_run_worker_init_fn():
    from autograd_cnn.data import get_worker_info
    from autograd_cnn.data.worker import base_seed

    assert get_worker_info() is None                      # in the main process
    loader = DataLoader(WorkerProbe(8), batch_size=2, seed=3, num_workers=2,
                        worker_init_fn=_init_worker)
    batches = list(loader)
    info = np.concatenate([b[1].numpy() for b in batches])
    pids, wids, seeds, inits = info.T
    # batches go to the workers in turn: batch b to worker b % 2
    assert list(wids) == [0, 0, 1, 1, 0, 0, 1, 1]
    base = base_seed(3, 0)
    assert list(seeds) == [(base + w) % 1000003 for w in wids]
    assert list(inits) == [100 + w for w in wids]
    assert len(set(pids)) == 2 and os.getpid() not in set(pids)
    # each worker's generator is seeded with its seed: its first draw is that of manual_seed
    first = {}
    for b in batches:
        for w, d in zip(b[1].numpy()[:, 1], b[2].numpy()):
            first.setdefault(int(w), float(d))
    for w, d in first.items():
        ac.manual_seed(base + w)
        assert d == float(ac.rand(1).numpy()[0])
    # reproducible: the same loader seed gives the same worker seeds; the next epoch new ones
    again = np.concatenate([b[1].numpy() for b in DataLoader(WorkerProbe(8), batch_size=2, seed=3,
                                                             num_workers=2)])
    assert list(again[:, 2]) == list(seeds)
    epoch1 = np.concatenate([b[1].numpy() for b in loader])
    assert list(epoch1[:, 2]) == [(base_seed(3, 1) + w) % 1000003 for w in wids]


def test_persistent_workers_live_across_epochs_and_survive_an_abandoned_epoch():
    loader = DataLoader(WorkerProbe(12), batch_size=2, num_workers=2, persistent_workers=True,
                        seed=0, shuffle=True)
    e0 = list(loader)
    pids0 = {int(p) for b in e0 for p in b[1].numpy()[:, 0]}
    for _ in loader:                                      # epoch 1 abandoned after one batch
        break
    e2 = list(loader)
    pids2 = {int(p) for b in e2 for p in b[1].numpy()[:, 0]}
    assert pids0 == pids2 and len(pids0) == 2
    served = np.concatenate([b[0].numpy()[:, 0] for b in e2]).astype(int)
    np.testing.assert_array_equal(served, loader.order(2))
    fresh = DataLoader(WorkerProbe(4), batch_size=2, num_workers=2)
    first = {int(p) for b in fresh for p in b[1].numpy()[:, 0]}
    second = {int(p) for b in fresh for p in b[1].numpy()[:, 0]}
    assert not first & second                             # new workers every epoch


def test_an_error_in_a_worker_is_raised_with_its_traceback():
    loader = DataLoader(WorkerProbe(12, fail_at=5), batch_size=2, num_workers=2)
    with pytest.raises(ValueError) as info:
        list(loader)
    msg = str(info.value)
    assert "Caught ValueError in DataLoader worker process 0 (batch 2)" in msg
    assert "Original Traceback (most recent call last)" in msg
    assert 'raise self.error(f"bad sample {i}")' in msg and "ValueError: bad sample 5" in msg


class NeedsTwoArgs(Exception):
    def __init__(self, a, b):
        super().__init__(a, b)


def test_an_error_type_that_cannot_be_rebuilt_becomes_runtime_error():
    def fail(samples):
        raise NeedsTwoArgs("x", "y")

    loader = DataLoader(WorkerProbe(4), batch_size=2, num_workers=1, collate_fn=fail)
    with pytest.raises(RuntimeError, match="Caught NeedsTwoArgs in DataLoader worker process 0"):
        list(loader)


def test_a_worker_that_dies_or_stalls_is_an_error_not_a_hang():
    loader = DataLoader(WorkerProbe(8, exit_at=3), batch_size=2, num_workers=2)
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid \d+\) exited unexpectedly "
                                           r"with exit code 3"):
        list(loader)
    loader = DataLoader(WorkerProbe(8, sleep_at=0), batch_size=2, num_workers=1, timeout=0.5)
    with pytest.raises(RuntimeError, match="DataLoader timed out after 0.5 seconds"):
        list(loader)


def test_worker_init_fn_errors_are_raised():
    def bad_init(worker_id):
        raise KeyError(f"no config for worker {worker_id}")

    loader = DataLoader(WorkerProbe(4), batch_size=2, num_workers=1, worker_init_fn=bad_init)
    with pytest.raises(KeyError, match="in worker_init_fn"):
        list(loader)


def test_spawned_workers_and_pin_memory():
    ds = make_tensor_dataset(9)
    loader = DataLoader(ds, batch_size=4, num_workers=1, multiprocessing_context="spawn",
                        pin_memory=True, timeout=60)
    np.testing.assert_array_equal(served(loader), np.arange(9) % 5)


def test_worker_option_errors_as_pytorch():
    ds = make_tensor_dataset(4)
    with pytest.raises(ValueError, match="num_workers option should be non-negative, got -1"):
        DataLoader(ds, num_workers=-1)
    with pytest.raises(TypeError, match="num_workers must be an int, got 1.5"):
        DataLoader(ds, num_workers=1.5)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified in "
                                         "multiprocessing"):
        DataLoader(ds, prefetch_factor=2)
    with pytest.raises(ValueError, match="prefetch_factor must be a positive int, got 0"):
        DataLoader(ds, num_workers=1, prefetch_factor=0)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(ds, persistent_workers=True)
    with pytest.raises(ValueError, match="timeout option should be non-negative, got -1"):
        DataLoader(ds, num_workers=1, timeout=-1)
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with "
                                         "multi-process loading"):
        DataLoader(ds, multiprocessing_context="fork")
    with pytest.raises(ValueError, match="multiprocessing_context 'threads' is not a start method"):
        DataLoader(ds, num_workers=1, multiprocessing_context="threads")
    with pytest.raises(TypeError, match="worker_init_fn must be callable"):
        DataLoader(ds, num_workers=1, worker_init_fn=3)
