"""The batched affine warp (kernels/augment.py) against its numpy twin (kernels/reference.py)
and against image_ops.warp_affine image by image, in both dtypes, in one thread and split over
threads; and the backend's checks of its arguments."""

import numpy as np
import pytest

from autograd_cnn import backend, tuning
from autograd_cnn.data import image_ops
from autograd_cnn.kernels import augment as K
from autograd_cnn.kernels import reference as R


@pytest.fixture(autouse=True, params=["one thread", "split over threads"])
def planes_split(request, monkeypatch):
    if request.param == "split over threads":
        monkeypatch.setitem(tuning._overrides, "planes_parallel_min", 0)
    return request.param


def maps(n, h, w, seed, spread=1.0):
    """n forward maps (rotation, shift, scale, shear) and their (n, 2, 3) inverses; ``spread``
    scales the shifts so that some points land far outside the image."""
    rng = np.random.default_rng(seed)
    ms = [image_ops.affine_matrix(rng.uniform(-40, 40), rng.uniform(-0.6, 0.6, 2) * w * spread,
                                  rng.uniform(0.5, 1.6), rng.uniform(-20, 20, 2),
                                  ((w - 1) / 2, (h - 1) / 2)) for _ in range(n)]
    return ms, np.ascontiguousarray(np.linalg.inv(np.stack(ms))[:, :2])


@pytest.mark.parametrize("dtype, atol", [(np.float64, 1e-12), (np.float32, 1e-6)])
@pytest.mark.parametrize("shape, fill, spread", [((5, 3, 7, 9), 0.0, 1.0),
                                                 ((4, 1, 6, 5), 0.25, 1.0),
                                                 ((3, 2, 4, 4), -1.5, 40.0)])
def test_warp_matches_twin_and_per_image_warp(dtype, atol, shape, fill, spread):
    n, _, h, w = shape
    x = np.random.default_rng(1).random(shape).astype(dtype)
    ms, inv = maps(n, h, w, seed=2, spread=spread)
    out = K.warp_affine_batch(x, inv, fill)
    twin = R.warp_affine_batch(x, inv, fill)
    per_image = np.stack([image_ops.warp_affine(x[i], ms[i], fill) for i in range(n)])
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_allclose(out, twin, rtol=0, atol=atol)
    np.testing.assert_allclose(out, per_image, rtol=0, atol=atol)
    if spread > 10:                          # far-away points: all fill, no int overflow
        assert np.isclose(out, fill).mean() > 0.5


def test_a_batch_split_over_the_threads_equals_the_one_thread_warp():
    # 70 images of 32x32: over WARP_COST x the planes threshold, so the images are split over
    # the kernel threads (when there are two); each image is warped alone either way
    n, h, w = 70, 32, 32
    assert K.WARP_COST * n * h * w >= tuning.get("planes_parallel_min")
    x = np.random.default_rng(3).random((n, 1, h, w))
    _, inv = maps(n, h, w, seed=4, spread=1.0)
    split = K.warp_affine_batch(x, inv, 0.5)
    with tuning.override(planes_parallel_min=1 << 62):
        alone = K.warp_affine_batch(x, inv, 0.5)
    np.testing.assert_array_equal(split, alone)
    np.testing.assert_allclose(split, R.warp_affine_batch(x, inv, 0.5), rtol=0, atol=1e-12)


def test_identity_and_integer_shift_by_hand():
    x = np.arange(2 * 1 * 3 * 4, dtype=np.float64).reshape(2, 1, 3, 4)
    inv = np.zeros((2, 2, 3))
    inv[:, 0, 0] = inv[:, 1, 1] = 1.0
    inv[1, 0, 2] = 1.0                       # image 1: output (i, j) reads source column j + 1
    out = backend.warp_affine_batch(x, inv, 9.0)
    np.testing.assert_array_equal(out[0], x[0])
    np.testing.assert_array_equal(out[1, 0, :, :3], x[1, 0, :, 1:])
    np.testing.assert_array_equal(out[1, 0, :, 3], 9.0)


def test_backend_checks_arguments():
    x = np.zeros((2, 1, 4, 4), np.float32)
    inv = np.zeros((2, 2, 3))
    with pytest.raises(ValueError, match=r"must have shape \(2, 2, 3\)"):
        backend.warp_affine_batch(x, np.zeros((3, 2, 3)), 0.0)
    with pytest.raises(TypeError, match="must be float64"):
        backend.warp_affine_batch(x, inv.astype(np.float32), 0.0)
    with pytest.raises(ValueError, match="must have 4 dims"):
        backend.warp_affine_batch(x[0], inv, 0.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        backend.warp_affine_batch(x.astype(np.int32), inv, 0.0)
    bad = inv.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        backend.warp_affine_batch(x, bad, 0.0)
    with pytest.raises(ValueError, match="fill must be a finite"):
        backend.warp_affine_batch(x, inv, np.inf)
