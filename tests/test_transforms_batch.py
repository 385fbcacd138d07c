"""Batch transforms (data/transforms/batch.py): image i of ``t.batched()(x)`` is what the
per-image ``t`` gives for x[i] when it draws the same numbers (a scripted generator feeds it the
batch's draws), their checks, and DataLoader(batch_transform=...)'s seeding."""

import numpy as np
import pytest

from autograd_cnn import Tensor
from autograd_cnn.data import ArrayDataset, DataLoader
from autograd_cnn.data import transforms as T


def batch(n=6, c=1, h=9, w=9, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(dtype)


class Scripted:
    """A stand-in numpy Generator that returns the numbers it was given, call by call."""

    def __init__(self, uniform=(), integers=(), random=(), permutation=(), normal=()):
        self.queues = {k: list(v) for k, v in dict(uniform=uniform, integers=integers,
                                                   random=random, permutation=permutation,
                                                   normal=normal).items()}

    def _next(self, kind):
        return self.queues[kind].pop(0)

    def uniform(self, lo, hi):
        v = self._next("uniform")
        assert lo <= v <= hi
        return v

    def integers(self, lo, hi):
        return self._next("integers")

    def random(self):
        return self._next("random")

    def permutation(self, n):
        return np.asarray(self._next("permutation"))

    def standard_normal(self, shape, dtype):
        return self._next("normal").astype(dtype)

    def done(self):
        return not any(self.queues.values())


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("fill", [0.0, 0.5])
def test_batched_affine_equals_per_image_random_affine(dtype, atol, fill):
    t = T.RandomAffine(degrees=25, translate=(0.2, 0.1), scale=(0.7, 1.3), shear=(-10, 10, -5, 5),
                       fill=fill)
    x = batch(n=7, c=2, h=8, w=11, dtype=dtype)
    out = t.batched()(x, rng=np.random.default_rng(4))
    p = t.batched().sample_params(7, 8, 11, np.random.default_rng(4))
    for i in range(7):
        rng = Scripted(uniform=[p[k][i] for k in ("angle", "tx", "ty", "scale", "shear_x",
                                                    "shear_y")])
        np.testing.assert_allclose(out[i], t(x[i], rng=rng), rtol=0, atol=atol)
        assert rng.done()
    assert out.dtype == dtype
    # every image its own matrix (torchvision v2 would warp all by one draw)
    assert not np.allclose(out[0], T.RandomAffine(25).batched()(x[:1], rng=np.random.default_rng(4))[0])
    moved = [not np.allclose(out[i], out[0]) for i in range(1, 7)]
    assert all(moved)


def test_batched_affine_matrices_equal_affine_matrix():
    t = T.RandomAffine(degrees=30, translate=(0.1, 0.3), scale=(0.5, 2.0), shear=(-9, 9, -4, 4))
    p = t.batched().sample_params(5, 6, 10, np.random.default_rng(0))
    m = T.BatchRandomAffine.matrices(p, 6, 10)
    rng = Scripted(uniform=[v for i in range(5) for v in (p["angle"][i], p["tx"][i], p["ty"][i],
                                                          p["scale"][i], p["shear_x"][i],
                                                          p["shear_y"][i])])
    for i in range(5):
        np.testing.assert_allclose(m[i], t.sample_matrix(6, 10, rng), rtol=0, atol=1e-12)


def test_batched_flips_crop_jitter_and_noise_equal_their_per_image_forms():
    x = batch(n=8, c=3, h=6, w=7, seed=1)
    for per_image in (T.RandomHorizontalFlip(0.5), T.RandomVerticalFlip(0.5)):
        out = per_image.batched()(x, rng=np.random.default_rng(2))
        u = np.random.default_rng(2).random(8)
        for i in range(8):
            np.testing.assert_array_equal(out[i], per_image(x[i], rng=Scripted(random=[u[i]])))
        assert 0 < (u < 0.5).sum() < 8                 # both outcomes occur in this batch

    crop = T.RandomCrop((5, 4), padding=2, fill=0.3)
    out = crop.batched()(x, rng=np.random.default_rng(3))
    g = np.random.default_rng(3)
    top, left = g.integers(0, 10 - 5 + 1, size=8), g.integers(0, 11 - 4 + 1, size=8)
    assert out.shape == (8, 3, 5, 4)
    for i in range(8):
        np.testing.assert_array_equal(
            out[i], crop(x[i], rng=Scripted(integers=[top[i], left[i]])))

    jitter = T.ColorJitter(brightness=0.4, contrast=0.5)
    out = jitter.batched()(x, rng=np.random.default_rng(5))
    g = np.random.default_rng(5)
    first, b, c = g.random(8) < 0.5, g.uniform(0.6, 1.4, size=8), g.uniform(0.5, 1.5, size=8)
    for i in range(8):
        order, draws = ([0, 1, 2, 3], [b[i], c[i]]) if first[i] else ([1, 0, 2, 3], [c[i], b[i]])
        rng = Scripted(permutation=[order], uniform=draws + [1.0, 0.0])
        np.testing.assert_allclose(out[i], jitter(x[i], rng=rng), rtol=0, atol=1e-6)
    assert 0 < first.sum() < 8

    noise = T.GaussianNoise(std=(0.05, 0.2))
    out = noise.batched()(x, rng=np.random.default_rng(6))
    g = np.random.default_rng(6)
    sigma, eps = g.uniform(0.05, 0.2, size=8), g.standard_normal(x.shape, dtype=np.float32)
    for i in range(8):
        np.testing.assert_allclose(out[i], noise(x[i], rng=Scripted(uniform=[sigma[i]],
                                                                      normal=[eps[i]])),
                                   rtol=0, atol=1e-6)


def test_compose_batched_tensor_in_tensor_out_and_errors():
    x = batch(n=4, c=3, h=8, w=8)
    pipeline = T.Compose([T.RandomCrop(8, padding=1), T.RandomHorizontalFlip(),
                          T.Normalize([0.5] * 3, [0.25] * 3)]).batched()
    assert isinstance(pipeline, T.BatchCompose)
    a = pipeline(Tensor(x), rng=np.random.default_rng(0))
    assert isinstance(a, Tensor) and a.shape == (4, 3, 8, 8)
    np.testing.assert_array_equal(a.numpy(), pipeline(x, rng=np.random.default_rng(0)))
    norm = T.Normalize([0.5], [0.5])
    assert norm.batched() is norm
    with pytest.raises(ValueError, match=r"expected a batch of shape \(N, C, H, W\), got "
                                         r"shape \(3, 8, 8\); a single image"):
        T.RandomAffine(5).batched()(x[0])
    with pytest.raises(TypeError, match="floating batch"):
        T.RandomHorizontalFlip().batched()(x.astype(np.int64))
    with pytest.raises(ValueError, match="only brightness and contrast have a batch form"):
        T.ColorJitter(saturation=0.3).batched()
    with pytest.raises(TypeError, match="GaussianBlur has no batch form"):
        T.GaussianBlur(3).batched()
    with pytest.raises(TypeError, match="neither a batch transform"):
        T.BatchCompose([T.RandomAffine(5)])


def _images(n=24):
    """The same image n times: any difference between outputs is the augmentation's."""
    x = np.repeat(batch(n=1, c=1, h=8, w=8), n, axis=0)
    return ArrayDataset(x, np.arange(n) % 3)


def test_dataloader_batch_transform_is_seeded_per_batch_and_worker_independent():
    ds = _images()
    bt = T.RandomAffine(degrees=20, translate=(0.1, 0.1)).batched()

    def epoch(loader, e):
        loader.set_epoch(e)
        return [x.numpy() for x, _ in loader]

    kw = dict(batch_size=8, shuffle=True, seed=5, batch_transform=bt)
    a, b = DataLoader(ds, **kw), DataLoader(ds, **kw)
    first = epoch(a, 0)
    np.testing.assert_array_equal(np.stack(first), np.stack(epoch(b, 0)))     # same seed
    assert not np.allclose(first[0], epoch(a, 1)[0])                          # epochs differ
    np.testing.assert_array_equal(np.stack(first), np.stack(epoch(a, 0)))     # set_epoch
    assert not np.allclose(first[0], first[1])                                # batches differ
    # batch b of epoch e draws from default_rng([seed, e, 1, b]), a per-image transform's stream
    raw = ds.get_batch(DataLoader(ds, **kw).order(0)[8:16])[0]
    np.testing.assert_array_equal(first[1], bt(raw, rng=np.random.default_rng([5, 0, 1, 1])))
    # in worker processes: the same batches, so each worker's stream is its batches' own
    workers = epoch(DataLoader(ds, num_workers=2, **kw), 0)
    np.testing.assert_array_equal(np.stack(workers), np.stack(first))
    # after a per-image transform, from its own stream: adding one changes nothing else's draws
    flip = DataLoader(ds, transform=T.RandomVerticalFlip(1.0), **kw)
    got = epoch(flip, 0)[1]
    want = bt(raw[:, :, ::-1, :].copy(), rng=np.random.default_rng([5, 0, 2, 1]))
    np.testing.assert_array_equal(got, want)


def test_a_random_affine_moved_to_its_batch_form_augments_the_same_images():
    # the batch form draws the per-image form's numbers in its order, from the stream the
    # per-image transform had: the main job's augmentation did not change when it went batched
    ds = _images()
    t = T.RandomAffine(degrees=8, translate=(0.08, 0.08), scale=(0.92, 1.08), shear=6)
    kw = dict(batch_size=8, shuffle=True, seed=3)
    per_image = [x.numpy() for x, _ in DataLoader(ds, transform=t, **kw)]
    batched = [x.numpy() for x, _ in DataLoader(ds, batch_transform=t.batched(), **kw)]
    np.testing.assert_allclose(np.concatenate(batched), np.concatenate(per_image), atol=1e-6)
    x = np.random.default_rng(0).random((3, 1, 12, 12)).astype(np.float32)
    rng = np.random.default_rng(1)
    one_by_one = np.stack([t(xi, rng=rng) for xi in x])
    np.testing.assert_allclose(t.batched()(x, rng=np.random.default_rng(1)), one_by_one,
                               atol=1e-6)


def test_dataloader_batch_transform_errors_and_collate_fn():
    ds = _images(8)
    with pytest.raises(TypeError, match=r"batch_transform must be a batch transform .*"
                                        r"pass RandomAffine\(\.\.\.\)\.batched\(\)"):
        DataLoader(ds, batch_transform=T.RandomAffine(5))
    with pytest.raises(TypeError, match="batch_transform must be a batch transform"):
        DataLoader(ds, batch_transform=lambda x: x)

    def collate(samples):
        return (np.stack([s[0] for s in samples]), np.array([s[1] for s in samples]))

    loader = DataLoader(ds, batch_size=4, seed=1, collate_fn=collate,
                        batch_transform=T.RandomHorizontalFlip(1.0).batched())
    x, y = next(iter(loader))
    np.testing.assert_array_equal(x, ds.get_batch(np.arange(4))[0][..., ::-1])
    # a batch that is one array of images is transformed as it is
    bare = DataLoader(ds, batch_size=4, collate_fn=lambda s: np.stack([v[0] for v in s]),
                      batch_transform=T.RandomHorizontalFlip(1.0).batched())
    np.testing.assert_array_equal(next(iter(bare)), ds.get_batch(np.arange(4))[0][..., ::-1])
    bad = DataLoader(ds, batch_size=4, collate_fn=lambda s: {"x": np.stack([v[0] for v in s])},
                     batch_transform=T.RandomHorizontalFlip().batched())
    with pytest.raises(TypeError, match="got dict"):
        next(iter(bad))
