"""The Numba GEMM against its numpy twin, the backend's dispatch rule, and its errors."""

import numpy as np
import pytest

from autograd_cnn import backend, tuning
from autograd_cnn.kernels import matmul as K
from autograd_cnn.kernels import reference as R

DTYPES = [(np.float64, 1e-12), (np.float32, 1e-5)]
# shapes around the 4x4 blocks and 64x64 tiles: ragged rows/columns, tiny and empty-ish
SHAPES = [(1, 1, 1), (5, 3, 2), (4, 8, 4), (67, 130, 65), (64, 400, 120), (3, 1, 70), (130, 7, 3)]


def operands(m, k, n, ta, tb, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((k, m) if ta else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if tb else (k, n)).astype(dtype)
    return a, b


@pytest.mark.nojit
@pytest.mark.parametrize("threads", ["one thread", "tiles split over threads"])
@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("m,k,n", SHAPES)
@pytest.mark.parametrize("ta,tb", [(False, False), (False, True), (True, False), (True, True)])
def test_gemm_matches_reference(dtype, rtol, m, k, n, ta, tb, threads, monkeypatch):
    # small products run in the calling thread; a threshold of 0 splits these ones too
    monkeypatch.setitem(tuning._overrides, "numba_gemm_parallel_min", 0 if threads.startswith("tiles") else 1 << 62)
    a, b = operands(m, k, n, ta, tb, dtype)
    ref = R.gemm(a, b, ta, tb)
    assert ref.shape == (m, n)
    scale = np.abs(ref).max()
    c = K.gemm(a, b, ta, tb)
    assert c.dtype == dtype and c.shape == (m, n)
    # the kernel sums in another order (4x4 blocks, vectorised along k): compare relative to the
    # size of the entries
    np.testing.assert_allclose(c, ref, rtol=rtol, atol=rtol * scale * np.sqrt(k))


@pytest.mark.nojit
def test_reference_gemm_is_the_textbook_product():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([[5.0, 6.0], [7.0, 8.0]])
    np.testing.assert_array_equal(R.gemm(a, b, False, False), [[19.0, 22.0], [43.0, 50.0]])
    np.testing.assert_array_equal(R.gemm(a, b, True, False), [[26.0, 30.0], [38.0, 44.0]])


@pytest.mark.nojit
def test_gemm_propagates_nan_and_inf():
    a = np.ones((6, 5))
    a[1, 2] = np.nan
    a[4, 0] = np.inf
    c = K.gemm(a, np.ones((5, 6)), False, False)
    assert np.isnan(c[1]).all() and np.isinf(c[4]).all()
    assert np.isfinite(np.delete(c, [1, 4], axis=0)).all()


@pytest.mark.nojit
def test_dispatch_rule(monkeypatch):
    # measured: BLAS wins at every size here, so by default everything goes to BLAS
    assert tuning.get("numba_gemm_work") is None
    assert backend.matmul_route(64, 400, 120, transpose_b=True) == "blas"
    # with a range set, the Numba GEMM takes the x W^T products inside it (no copy needed)
    monkeypatch.setitem(tuning._overrides, "numba_gemm_work", (500_000, 3_300_000))
    assert backend.matmul_route(64, 400, 120, transpose_b=True) == "numba"
    assert backend.matmul_route(64, 84, 10, transpose_b=True) == "blas"          # too small
    assert backend.matmul_route(1024, 1024, 1024, transpose_b=True) == "blas"    # too large
    assert backend.matmul_route(64, 400, 120) == "blas"                          # needs a copy
    assert backend.matmul_route(64, 400, 120, transpose_a=True) == "blas"


@pytest.mark.nojit
@pytest.mark.parametrize("shape", [(3, 4, 5), (64, 120, 84), (70, 300, 130), (300, 100, 200)])
@pytest.mark.parametrize("dtype,rtol", DTYPES)
def test_backend_matmul_every_route(shape, dtype, rtol, monkeypatch):
    monkeypatch.setitem(tuning._overrides, "numba_gemm_work", (500_000, 3_300_000))
    m, k, n = shape
    routes = set()
    for ta, tb in [(False, False), (False, True), (True, False)]:
        a, b = operands(m, k, n, ta, tb, dtype, seed=3)
        routes.add(backend.matmul_route(m, k, n, ta, tb))
        ref = R.gemm(a, b, ta, tb)
        atol = rtol * np.abs(ref).max() * np.sqrt(k)
        np.testing.assert_allclose(backend.matmul(a, b, ta, tb), ref, rtol=rtol, atol=atol)
        monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
        np.testing.assert_array_equal(backend.matmul(a, b, ta, tb), ref)
        monkeypatch.delenv("AUTOGRAD_CNN_REFERENCE")
    assert routes == ({"numba", "blas"} if shape in [(64, 120, 84), (70, 300, 130)]
                      else {"blas"})


@pytest.mark.nojit
def test_backend_matmul_accepts_views():
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(backend.matmul(a.T, a), a.T @ a)     # a non-contiguous view
    np.testing.assert_allclose(backend.matmul(a, a[:, ::2], transpose_a=True), a.T @ a[:, ::2])


@pytest.mark.nojit
def test_backend_matmul_errors():
    a = np.ones((3, 4))
    with pytest.raises(TypeError, match=r"matmul: a is float64 but b is float32"):
        backend.matmul(a, np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match=r"inner sizes differ: op\(a\) is \(3, 4\), op\(b\) is "
                                         r"\(5, 2\)"):
        backend.matmul(a, np.ones((5, 2)))
    with pytest.raises(TypeError, match=r"matmul: a must be float32 or float64, got int64"):
        backend.matmul(np.ones((3, 4), np.int64), np.ones((4, 2), np.int64))
    with pytest.raises(ValueError, match=r"matmul: b must be a 2-D array, got \(4,\)"):
        backend.matmul(a, np.ones(4))


def test_blas_threads_sets_and_restores_the_thread_count():
    from autograd_cnn.kernels import threads

    def blas_counts():
        # the BLAS libraries numpy had loaded when threads first looked them up (other copies,
        # loaded later by other packages, are not numpy's and are left alone)
        return [c.num_threads for c in threads._blas_controllers()]

    before = blas_counts()
    assert before, "threadpoolctl found no BLAS under numpy"
    with threads.blas_threads(1):
        assert set(blas_counts()) == {1}
    assert blas_counts() == before
    with pytest.raises(ZeroDivisionError):            # restored when the body raises too
        with threads.blas_threads(1):
            1 / 0
    assert blas_counts() == before


def test_small_products_on_one_blas_thread_are_exact(monkeypatch):
    # the same product above and below the one-thread threshold
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((30, 20)), rng.standard_normal((20, 10))
    small = backend.matmul(a, b)
    monkeypatch.setitem(tuning._overrides, "serial_blas_work", 0)
    np.testing.assert_allclose(small, backend.matmul(a, b), rtol=1e-12)
    np.testing.assert_allclose(small, a @ b, rtol=1e-12)


@pytest.mark.parametrize("shape", [(30, 20, 10), (3, 20, 50), (1, 7, 2), (0, 5, 4)])
@pytest.mark.parametrize("ta,tb", [(False, False), (True, False), (False, True), (True, True)])
def test_large_products_split_over_threads_are_exact(shape, ta, tb, monkeypatch):
    # above the one-thread threshold the product is cut into row blocks (m >= n) or column
    # blocks (m < n), one single-threaded BLAS call each: the same sums as one call
    m, k, n = shape
    rng = np.random.default_rng(1)
    a = rng.standard_normal((k, m) if ta else (m, k))
    b = rng.standard_normal((n, k) if tb else (k, n))
    expect = (a.T if ta else a) @ (b.T if tb else b)
    monkeypatch.setitem(tuning._overrides, "serial_blas_work", 0)
    got = backend.matmul(a, b, transpose_a=ta, transpose_b=tb)
    assert got.shape == (m, n) and got.dtype == a.dtype
    np.testing.assert_allclose(got, expect, rtol=1e-12, atol=1e-12)
    got32 = backend.matmul(a.astype(np.float32), b.astype(np.float32), transpose_a=ta,
                           transpose_b=tb)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expect, rtol=1e-4, atol=1e-4)
