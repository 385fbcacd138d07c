"""Pooling and upsampling kernels against their slow numpy twins (kernels/reference.py), over
grids of shapes, strides, paddings, dilations, ceil_mode and count_include_pad, in both dtypes:
float64 to 1e-12 relative, float32 to 1e-5."""

import itertools

import numpy as np
import pytest

from autograd_cnn import backend, tuning
from autograd_cnn.kernels import pool as K
from autograd_cnn.kernels import reference as R
from autograd_cnn.kernels import threads
from autograd_cnn.kernels import upsample as U

DTYPES = [(np.float64, 1e-12), (np.float32, 1e-5)]
SHAPES = [(2, 3, 7, 9), (1, 2, 5, 4)]


def out_size(size, k, s, p, d, ceil_mode):
    """PyTorch's pooling output size, written out independently of functional/pool.py."""
    span = size + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= size + p:
        out -= 1
    return out


# (kernel, stride, padding, dilation) per spatial dim, as (h, w) pairs
CONFIGS = [
    ((2, 2), (2, 2), (0, 0), (1, 1)),
    ((3, 3), (2, 2), (1, 1), (1, 1)),
    ((3, 2), (1, 2), (1, 0), (1, 1)),
    ((2, 3), (2, 1), (1, 1), (2, 1)),
    ((3, 3), (3, 2), (0, 1), (1, 2)),
    ((1, 1), (2, 2), (0, 0), (1, 1)),
]


@pytest.fixture(autouse=True, params=["one thread", "split over threads"])
def planes_split(request, monkeypatch):
    """Every kernel test runs twice: small jobs run in the calling thread, big ones are split
    over threads by threads.over_planes; a threshold of 0 sends these small cases down the
    split path too."""
    if request.param == "split over threads":
        monkeypatch.setitem(tuning._overrides, "planes_parallel_min", 0)
    return request.param


def test_over_planes_covers_every_plane_once(planes_split):
    seen = []
    threads.over_planes(lambda tag, p0, p1: seen.append((tag, p0, p1)), 7, 10, "k")
    covered = sorted(p for _, p0, p1 in seen for p in range(p0, p1))
    assert covered == list(range(7)) and {tag for tag, _, _ in seen} == {"k"}
    expected = 1 if planes_split == "one thread" else threads.workers(7)
    assert len(seen) == expected


def close(a, b, rtol):
    assert a.dtype == b.dtype and a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)


def cases():
    for dtype, rtol in DTYPES:
        for shape, (k, s, p, d), ceil in itertools.product(SHAPES, CONFIGS, (False, True)):
            outs = [out_size(shape[2 + i], k[i], s[i], p[i], d[i], ceil) for i in range(2)]
            if min(outs) >= 1:
                yield dtype, rtol, shape, k, s, p, d, ceil, outs


ALL = list(cases())


def data(shape, dtype, seed=0):
    # a permutation: no ties, so both implementations must pick the same switch
    rng = np.random.default_rng(seed)
    return (rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 3.0).astype(dtype)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,rtol,shape,k,s,p,d,ceil,outs", ALL)
def test_max_pool_matches_reference(dtype, rtol, shape, k, s, p, d, ceil, outs):
    x = data(shape, dtype)
    args = (*k, *s, *p, *d, *outs)
    y, idx = K.max_pool2d_forward(x, *args, True)
    y_ref, idx_ref = R.max_pool2d_forward(x, *args, True)
    close(y, y_ref, rtol)
    np.testing.assert_array_equal(idx, idx_ref)
    y2, none = K.max_pool2d_forward(x, *args, False)
    np.testing.assert_array_equal(y2, y)
    assert none.size == 0
    g = data(y.shape, dtype, seed=1)
    close(K.max_pool2d_backward(g, idx, *shape[2:]), R.max_pool2d_backward(g, idx, *shape[2:]),
          rtol)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,rtol,shape,k,s,p,d,ceil,outs",
                         [c for c in ALL if c[6] == (1, 1)])
@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("divisor_override", [0, 3])
def test_avg_pool_matches_reference(dtype, rtol, shape, k, s, p, d, ceil, outs,
                                    count_include_pad, divisor_override):
    x = data(shape, dtype)
    args = (*k, *s, *p, *outs, count_include_pad, divisor_override)
    close(K.avg_pool2d_forward(x, *args), R.avg_pool2d_forward(x, *args), rtol)
    g = data((shape[0], shape[1], *outs), dtype, seed=1)
    bargs = (*shape[2:], *k, *s, *p, count_include_pad, divisor_override)
    close(K.avg_pool2d_backward(g, *bargs), R.avg_pool2d_backward(g, *bargs), rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 4, 28, 28), (2, 3, 7, 9)])
@pytest.mark.parametrize("divisor_override", [0, 3])
def test_avg_pool_2x2_form_gives_the_general_loops_bits(dtype, shape, divisor_override):
    # the written-out 2x2 / stride 2 kernels against the general window loops they bypass
    x = data(shape, dtype)
    n, c, h, w = shape
    ho, wo = h // 2, w // 2
    general = np.empty((n, c, ho, wo), dtype)
    K._avg_pool2d_forward(x, 2, 2, 2, 2, 0, 0, True, divisor_override, general, 0, n * c)
    np.testing.assert_array_equal(K.avg_pool2d_forward(x, 2, 2, 2, 2, 0, 0, ho, wo, True,
                                                       divisor_override), general)
    g = data((n, c, ho, wo), dtype, seed=1)
    general = np.empty(shape, dtype)
    K._avg_pool2d_backward(g, 2, 2, 2, 2, 0, 0, True, divisor_override, general, 0, n * c)
    np.testing.assert_array_equal(K.avg_pool2d_backward(g, h, w, 2, 2, 2, 2, 0, 0, True,
                                                        divisor_override), general)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("shape,out", [((2, 3, 7, 9), (3, 4)), ((1, 2, 5, 5), (5, 5)),
                                       ((1, 1, 4, 6), (1, 1)), ((2, 2, 3, 3), (5, 7))])
def test_adaptive_pools_match_reference(dtype, rtol, shape, out):
    x = data(shape, dtype)
    close(K.adaptive_avg_pool2d_forward(x, *out), R.adaptive_avg_pool2d_forward(x, *out), rtol)
    g = data((shape[0], shape[1], *out), dtype, seed=1)
    close(K.adaptive_avg_pool2d_backward(g, *shape[2:]),
          R.adaptive_avg_pool2d_backward(g, *shape[2:]), rtol)
    y, idx = K.adaptive_max_pool2d_forward(x, *out)
    y_ref, idx_ref = R.adaptive_max_pool2d_forward(x, *out)
    close(y, y_ref, rtol)
    np.testing.assert_array_equal(idx, idx_ref)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("k,s", [(2, 2), (3, 2), (3, 1)])
def test_max_unpool_matches_reference(dtype, rtol, k, s):
    x = data((2, 3, 7, 8), dtype)
    Ho, Wo = out_size(7, k, s, 0, 1, False), out_size(8, k, s, 0, 1, False)
    y, idx = K.max_pool2d_forward(x, k, k, s, s, 0, 0, 1, 1, Ho, Wo, True)
    # overlapping windows (3/1) repeat switches: the twin keeps the last write, as does the kernel
    u = K.max_unpool2d_forward(y, idx, 7, 8)
    close(u, R.max_unpool2d_forward(y, idx, 7, 8), rtol)
    g = data(u.shape, dtype, seed=2)
    close(K.max_unpool2d_backward(g, idx), R.max_unpool2d_backward(g, idx), rtol)


@pytest.mark.nojit
def test_max_pool_nan_and_inf_propagate():
    x = np.array([[[[1.0, np.nan, -np.inf, -np.inf],
                    [0.0, 5.0, -np.inf, -np.inf]]]])
    for kern, ref in ((K, "kernel"), (R, "reference")):
        y, idx = kern.max_pool2d_forward(x, 2, 2, 2, 2, 0, 0, 1, 1, 1, 2, True)
        assert np.isnan(y[0, 0, 0, 0]) and idx[0, 0, 0, 0] == 1, ref
        assert y[0, 0, 0, 1] == -np.inf and idx[0, 0, 0, 1] == 2, ref   # first tap of the window


@pytest.mark.nojit
@pytest.mark.parametrize("dtype,rtol", DTYPES)
@pytest.mark.parametrize("out,corners,scales", [
    ((10, 14), False, (None, None)), ((3, 4), False, (None, None)), ((10, 14), True, (None, None)),
    ((8, 11), False, (1.7, 1.6)), ((5, 9), True, (None, None)), ((1, 1), True, (None, None)),
])
def test_upsampling_matches_reference(dtype, rtol, out, corners, scales):
    x = data((2, 3, 5, 7), dtype)
    hi = backend.nearest_indices(5, out[0], scales[0])
    wi = backend.nearest_indices(7, out[1], scales[1])
    close(U.nearest_forward(x, hi, wi), R.nearest_forward(x, hi, wi), rtol)
    g = data((2, 3, *out), dtype, seed=1)
    close(U.nearest_backward(g, hi, wi, 5, 7), R.nearest_backward(g, hi, wi, 5, 7), rtol)
    hw = backend.linear_weights(5, out[0], corners, scales[0], dtype)
    ww = backend.linear_weights(7, out[1], corners, scales[1], dtype)
    close(U.bilinear_forward(x, *hw, *ww), R.bilinear_forward(x, *hw, *ww), rtol)
    close(U.bilinear_backward(g, *hw, *ww, 5, 7), R.bilinear_backward(g, *hw, *ww, 5, 7), rtol)


@pytest.mark.nojit
def test_interpolation_weights_follow_pytorch_formulas():
    # nearest, 3 -> 5: src = floor(dst * 3/5) = [0, 0, 1, 1, 2]
    np.testing.assert_array_equal(backend.nearest_indices(3, 5), [0, 0, 1, 1, 2])
    np.testing.assert_array_equal(backend.nearest_indices(3, 6), [0, 0, 1, 1, 2, 2])
    # bilinear, 2 -> 4 without align_corners: src = (dst + 0.5)/2 - 0.5 = [-0.25->0, .25, .75, 1.25]
    # (past the last pixel both taps are the last pixel)
    i0, i1, l0, l1 = backend.linear_weights(2, 4, False, None, np.float64)
    np.testing.assert_array_equal(i0, [0, 0, 0, 1])
    np.testing.assert_array_equal(i1, [1, 1, 1, 1])
    np.testing.assert_allclose(l1, [0.0, 0.25, 0.75, 0.25])
    np.testing.assert_allclose(l0 + l1, 1.0)
    # with align_corners: src = dst * (2-1)/(4-1)
    i0, i1, l0, l1 = backend.linear_weights(2, 4, True, None, np.float64)
    np.testing.assert_allclose(i0 + l1, [0, 1 / 3, 2 / 3, 1.0])


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1), (2, 1, 0)])
def test_max_pool_ties_and_nans_pick_pytorchs_switch(dtype, k, s, p):
    # few distinct values: windows full of ties, and several NaNs per window; the first
    # maximum in row-major order wins, and the last NaN (PyTorch's loop: val > max || isnan)
    rng = np.random.default_rng(5)
    x = rng.integers(0, 3, (2, 3, 7, 8)).astype(dtype)
    x[rng.random(x.shape) < 0.15] = np.nan
    Ho, Wo = out_size(7, k, s, p, 1, False), out_size(8, k, s, p, 1, False)
    args = (k, k, s, s, p, p, 1, 1, Ho, Wo, True)
    y, idx = K.max_pool2d_forward(x, *args)
    y_ref, idx_ref = R.max_pool2d_forward(x, *args)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
