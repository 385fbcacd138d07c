"""Batch-norm kernels (kernels/norm.py) against their numpy twins (kernels/reference.py) in both
dtypes, the switch to the twins, and the backend's argument checks."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn.functional as F
from autograd_cnn import backend, tuning
from autograd_cnn.kernels import norm as K
from autograd_cnn.kernels import reference as R

pytestmark = pytest.mark.nojit

DTYPES = [(np.float64, 1e-12), (np.float32, 2e-5)]
SHAPES = [(4, 3, 10), (1, 1, 7), (5, 2, 1), (2, 6, 33)]


def data(shape, dtype, seed=0, offset=0.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) * 3 + offset).astype(dtype)


@pytest.mark.parametrize("suffix", ["", "_parallel"])
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_kernels_match_their_twins(shape, dtype, tol, suffix):
    kernel = {name: getattr(K, name + suffix) for name in
              ("bn_stats", "bn_apply", "bn_backward_sums", "bn_backward_input")}
    x, g = data(shape, dtype), data(shape, dtype, seed=1)
    c = shape[1]
    rng = np.random.default_rng(2)
    mean, scale, shift, k0, kx = (rng.standard_normal(c) for _ in range(5))
    for got, want in zip(kernel["bn_stats"](x), R.bn_stats(x)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)
    y = kernel["bn_apply"](x, mean, scale, shift)
    assert y.dtype == dtype and y.shape == shape
    np.testing.assert_allclose(y, R.bn_apply(x, mean, scale, shift), rtol=tol, atol=tol * 10)
    for got, want in zip(kernel["bn_backward_sums"](g, x, mean), R.bn_backward_sums(g, x, mean)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 100)
    dx = kernel["bn_backward_input"](g, x, mean, scale, k0, kx)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, R.bn_backward_input(g, x, mean, scale, k0, kx), rtol=tol,
                               atol=tol * 10)


def test_variance_does_not_cancel_for_a_large_mean():
    # E[x^2] - E[x]^2 would lose every digit here; the two-pass form keeps them
    x = data((8, 2, 50), np.float32, offset=1e4)
    mean, var = K.bn_stats(x)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var, x64.var(axis=(0, 2)), rtol=1e-6)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-12)


def test_large_inputs_take_the_parallel_kernels(monkeypatch):
    x = data((3, 4, 5), np.float64)
    small = backend.batch_norm_stats(x)
    monkeypatch.setitem(tuning._overrides, "norm_parallel_min", 10)
    calls = []
    monkeypatch.setattr(K, "bn_stats_parallel",
                        lambda a, f=K.bn_stats_parallel: calls.append(1) or f(a))
    large = backend.batch_norm_stats(x)
    assert calls == [1]
    np.testing.assert_allclose(large, small, rtol=1e-14)


def test_functional_batch_norm_is_the_same_with_the_twins(monkeypatch):
    x = ac.tensor(data((4, 3, 2, 5), np.float64), requires_grad=True)
    w = ac.tensor([1.0, -2.0, 0.5], dtype="float64", requires_grad=True)
    b = ac.tensor([0.1, 0.2, 0.3], dtype="float64", requires_grad=True)
    g = data((4, 3, 2, 5), np.float64, seed=3)
    results = []
    for flag in ("0", "1"):
        monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", flag)
        for training in (True, False):
            rm, rv = np.full(3, 0.5), np.full(3, 2.0)
            y = F.batch_norm(x, rm, rv, w, b, training=training)
            results.append([y._data, rm, rv, *ac.grad(y, [x, w, b], grad_outputs=g)])
    for kernel, twin in zip(results[:2], results[2:]):
        for a, r in zip(kernel, twin):
            np.testing.assert_allclose(getattr(a, "data", a), getattr(r, "data", r),
                                       rtol=1e-12, atol=1e-13)


def test_backend_checks_its_arguments():
    x = data((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="must have 3 dims"):
        backend.batch_norm_stats(x.reshape(6, 4))
    with pytest.raises(TypeError, match="float32 or float64"):
        backend.batch_norm_stats(x.astype(np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        backend.batch_norm_stats(x.transpose(0, 2, 1))
    with pytest.raises(ValueError, match=r"mean must have shape \(3,\)"):
        backend.batch_norm_apply(x, np.zeros(2), np.ones(3), np.zeros(3))
    with pytest.raises(TypeError, match="scale must be float64"):
        backend.batch_norm_apply(x, np.zeros(3), np.ones(3, np.float32), np.zeros(3))
    with pytest.raises(TypeError, match="x is float32 but g is float64"):
        backend.batch_norm_backward_sums(x.astype(np.float64), x, np.zeros(3))
    with pytest.raises(ValueError, match="g has shape"):
        backend.batch_norm_backward_input(x[:1].copy(), x, *(np.zeros(3),) * 4)
