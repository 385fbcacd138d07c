"""Pooling, unpooling and interpolation ops: worked examples from the lecture notes, gradients
against finite differences (float64, tie-free inputs), the reference-twin switch, and every
error message."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import gradcheck


def tie_free(shape, seed=0):
    """Distinct values spaced 0.1 apart (in random order): central differences with eps=1e-6
    never change which element wins a max window."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1 - 1.0
    return ac.tensor(values, dtype=ac.float64, requires_grad=True)


# ---- worked examples ----------------------------------------------------------------------------


@pytest.mark.nojit
def test_lecture_max_pool_example():
    # 003 (CNNs in the life sciences), "POOLING (MAX)": f = 2, s = 2
    x = ac.tensor([[[[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]]]], dtype=ac.float32)
    y = F.max_pool2d(x, 2, 2)
    np.testing.assert_array_equal(y.numpy(), [[[[9, 2], [6, 3]]]])
    assert y.dtype == np.float32


@pytest.mark.nojit
def test_lecture_max_and_average_pool_example():
    # 001 (short deck), "Pooling, kernel 2x2, stride 2": max [[20, 30], [112, 37]], average
    # [[13, 8], [79, 20]]; the slide rounds the last average: (37 + 4 + 25 + 12) / 4 = 19.5
    x = ac.tensor([[[[12, 20, 30, 0], [8, 12, 2, 0], [34, 70, 37, 4], [112, 100, 25, 12]]]],
                  dtype=ac.float64)
    np.testing.assert_array_equal(F.max_pool2d(x, 2, 2).numpy(), [[[[20, 30], [112, 37]]]])
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, 2).numpy(), [[[[13, 8], [79, 19.5]]]])


@pytest.mark.nojit
def test_unpooling_with_switches_puts_maxima_back():
    # 002 (unpooling): switches record where each maximum was; unpooling puts it back there
    x = ac.tensor([[[[1, 3, 2, 1], [2, 9, 1, 1], [1, 3, 2, 3], [5, 6, 1, 2]]]], dtype=ac.float64)
    y, switches = F.max_pool2d(x, 2, 2, return_indices=True)
    assert switches.dtype == np.int64
    np.testing.assert_array_equal(switches.numpy(), [[[[5, 2], [13, 11]]]])   # flat h*4 + w
    u = F.max_unpool2d(y, switches, 2, 2)
    np.testing.assert_array_equal(u.numpy(), [[[[0, 0, 2, 0], [0, 9, 0, 0],
                                                [0, 0, 0, 3], [0, 6, 0, 0]]]])


@pytest.mark.nojit
def test_pooling_output_sizes_of_the_classic_nets():
    # AlexNet's overlapping 3x3/2 max pool: 55 -> 27; GoogLeNet's 3x3/2 with ceil_mode: 112 -> 56;
    # VGG's 2x2/2: 224 -> 112; ResNet's stem pool 3x3/2 pad 1: 112 -> 56
    assert F.max_pool2d(ac.zeros(1, 1, 55, 55), 3, 2).shape == (1, 1, 27, 27)
    assert F.max_pool2d(ac.zeros(1, 1, 112, 112), 3, 2, ceil_mode=True).shape == (1, 1, 56, 56)
    assert F.max_pool2d(ac.zeros(1, 1, 224, 224), 2, 2).shape == (1, 1, 112, 112)
    assert F.max_pool2d(ac.zeros(1, 1, 112, 112), 3, 2, 1).shape == (1, 1, 56, 56)
    # ceil_mode drops a last window that would start in the right padding: 5 -> 3, not 4
    assert F.max_pool2d(ac.zeros(1, 1, 5, 5), 2, 2, 1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.avg_pool2d(ac.zeros(1, 1, 7, 7), 2, ceil_mode=True).shape == (1, 1, 4, 4)


@pytest.mark.nojit
def test_avg_pool_divisors():
    x = ac.ones(1, 1, 3, 3, dtype=ac.float64)
    # padding 1: the corner window holds 1 real element of its 4
    assert F.avg_pool2d(x, 2, 2, 1).numpy()[0, 0, 0, 0] == 0.25
    assert F.avg_pool2d(x, 2, 2, 1, count_include_pad=False).numpy()[0, 0, 0, 0] == 1.0
    assert F.avg_pool2d(x, 2, 2, 1, divisor_override=2).numpy()[0, 0, 0, 0] == 0.5
    # ceil_mode: the last window (rows 2-3 of a 3-row input) sticks out past the padded input;
    # PyTorch divides by the part inside it (1 row x 2 columns = 2, not 4), so ones stay ones
    y = F.avg_pool2d(ac.ones(1, 1, 3, 3, dtype=ac.float64), 2, 2, 0, ceil_mode=True)
    np.testing.assert_array_equal(y.numpy(), np.ones((1, 1, 2, 2)))


@pytest.mark.nojit
def test_adaptive_pools():
    x = ac.tensor(np.arange(30.0).reshape(1, 1, 5, 6))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(x, 1).numpy(), [[[[14.5]]]])
    # 5 rows into 2: rows 0-2 and 2-4 (overlapping); 6 columns into 3: pairs
    y = F.adaptive_max_pool2d(x, (2, 3))
    np.testing.assert_array_equal(y.numpy(), [[[[13, 15, 17], [25, 27, 29]]]])
    assert F.adaptive_avg_pool2d(x, (None, 2)).shape == (1, 1, 5, 2)


@pytest.mark.nojit
def test_interpolate_examples():
    x = ac.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=ac.float64)
    np.testing.assert_array_equal(F.interpolate(x, scale_factor=2).numpy()[0, 0],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]])
    y = F.interpolate(x, size=3, mode="bilinear", align_corners=True)
    np.testing.assert_allclose(y.numpy()[0, 0], [[1, 1.5, 2], [2, 2.5, 3], [3, 3.5, 4]])
    y = F.interpolate(x, scale_factor=2, mode="bilinear")
    np.testing.assert_allclose(y.numpy()[0, 0, 0], [1, 1.25, 1.75, 2])


@pytest.mark.nojit
def test_unbatched_input_and_float32():
    x = ac.tensor(np.random.default_rng(0).standard_normal((3, 6, 6)).astype(np.float32),
                  requires_grad=True)
    y, idx = F.max_pool2d(x, 2, return_indices=True)
    assert y.shape == (3, 3, 3) and idx.shape == (3, 3, 3) and y.dtype == np.float32
    u = F.max_unpool2d(y, idx, 2)
    assert u.shape == (3, 6, 6)
    (F.avg_pool2d(x, 3, 1, 1) * 2.0).sum().backward()
    assert x.grad.shape == (3, 6, 6) and x.grad.dtype == np.float32


@pytest.mark.nojit
def test_switches_only_recorded_when_needed():
    x = ac.tensor(np.arange(16.0).reshape(1, 1, 4, 4))
    y = F.max_pool2d(x, 2)
    assert not y.requires_grad and y._saved is None
    with ac.no_grad():
        y = F.max_pool2d(ac.tensor(np.arange(16.0).reshape(1, 1, 4, 4), requires_grad=True), 2)
    assert not y.requires_grad


@pytest.mark.nojit
def test_reference_twins_give_the_same_results(monkeypatch):
    x = tie_free((2, 3, 6, 5))
    ops = [lambda t: F.max_pool2d(t, 3, 2, 1, ceil_mode=True),
           lambda t: F.avg_pool2d(t, 2, 1, 1, count_include_pad=False),
           lambda t: F.adaptive_max_pool2d(t, (4, 3)),
           lambda t: F.adaptive_avg_pool2d(t, (4, 3)),
           lambda t: F.interpolate(t, scale_factor=1.5, mode="bilinear"),
           lambda t: F.interpolate(t, size=(7, 9)),
           lambda t: F.max_unpool2d(*F.max_pool2d(t, 2, return_indices=True), 2,
                                    output_size=(6, 5))]
    for op in ops:
        x.grad = None
        y = op(x)
        g = np.random.default_rng(1).standard_normal(y.shape)
        y.backward(g)
        fast = (y._data.copy(), x.grad.numpy().copy())
        monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
        x.grad = None
        y = op(x)
        y.backward(g)
        monkeypatch.delenv("AUTOGRAD_CNN_REFERENCE")
        np.testing.assert_allclose(y._data, fast[0], rtol=1e-12)
        np.testing.assert_allclose(x.grad.numpy(), fast[1], rtol=1e-12, atol=1e-15)


# ---- gradients ----------------------------------------------------------------------------------

GRAD_CASES = {
    "max_pool 2/2": lambda x: F.max_pool2d(x, 2),
    "max_pool 3/2 pad ceil": lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True),
    "max_pool overlapping dilated": lambda x: F.max_pool2d(x, (2, 3), 1, (1, 1), dilation=(2, 1)),
    "avg_pool 2/2": lambda x: F.avg_pool2d(x, 2),
    "avg_pool 3/2 pad exclude ceil": lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True,
                                                            count_include_pad=False),
    "avg_pool divisor_override": lambda x: F.avg_pool2d(x, (2, 3), (1, 2), divisor_override=5),
    "adaptive_avg 3x2": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "adaptive_avg up 7x8": lambda x: F.adaptive_avg_pool2d(x, (7, 8)),
    "adaptive_max 3x2": lambda x: F.adaptive_max_pool2d(x, (3, 2)),
    "unpool": lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2,
                                       output_size=(5, 6)),
    "nearest x2": lambda x: F.interpolate(x, scale_factor=2),
    "nearest 7x4": lambda x: F.interpolate(x, size=(7, 4)),
    "bilinear 1.5": lambda x: F.interpolate(x, scale_factor=1.5, mode="bilinear"),
    "bilinear corners 8x3": lambda x: F.interpolate(x, size=(8, 3), mode="bilinear",
                                                    align_corners=True),
    "unbatched max_pool": lambda x: F.max_pool2d(x[0], 2, 1),
}


@pytest.mark.nojit
@pytest.mark.parametrize("name", list(GRAD_CASES))
def test_gradcheck(name):
    assert gradcheck(GRAD_CASES[name], [tie_free((2, 2, 5, 6))])


@pytest.mark.nojit
@pytest.mark.parametrize("shape_x,shape_w", [((4, 5), (3, 5)), ((2, 3, 9), (6, 9))])
def test_linear_and_matmul_gradcheck(shape_x, shape_w):
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal(shape_x), requires_grad=True)
    w = ac.tensor(rng.standard_normal(shape_w), requires_grad=True)
    b = ac.tensor(rng.standard_normal(shape_w[0]), requires_grad=True)
    assert gradcheck(F.linear, [x, w, b])
    if x.ndim == 2:
        assert gradcheck(lambda p, q: F.matmul(p, q.T), [x, w])


@pytest.mark.nojit
def test_matmul_and_linear_through_the_backend_match_numpy():
    rng = np.random.default_rng(0)
    for m, k, n in [(3, 4, 5), (64, 120, 84), (80, 300, 200)]:
        a = rng.standard_normal((m, k)).astype(np.float32)
        b = rng.standard_normal((k, n)).astype(np.float32)
        y = ac.tensor(a) @ ac.tensor(b)
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.numpy(), a @ b, rtol=1e-4, atol=1e-4)
        y = F.linear(ac.tensor(a), ac.tensor(b.T.copy()))
        np.testing.assert_allclose(y.numpy(), a @ b, rtol=1e-4, atol=1e-4)


# ---- errors -------------------------------------------------------------------------------------

x4 = ac.zeros(1, 2, 4, 4)

ERRORS = [
    (lambda: F.max_pool2d(ac.zeros(4, 4), 2), ValueError,
     r"max_pool2d: expected a 4-D \(N, C, H, W\) or 3-D \(C, H, W\) input, got shape \(4, 4\)"),
    (lambda: F.max_pool2d(ac.zeros(1, 1, 4, 4, dtype=ac.int64), 2), TypeError,
     r"max_pool2d: expected a float32 or float64 input, got int64"),
    (lambda: F.max_pool2d(x4, 5), ValueError,
     r"max_pool2d: the kernel \(extent 5x5 .*\) is larger than the padded input \(4x4"),
    (lambda: F.avg_pool2d(ac.zeros(1, 1, 2, 2), (4, 2)), ValueError,
     r"avg_pool2d: the kernel \(extent 4x2 with kernel_size \(4, 2\)\) is larger than the padded "
     r"input \(2x2: input 2x2, padding \(0, 0\)\); the output would be 0x1"),
    (lambda: F.max_pool2d(x4, 2, padding=2), ValueError,
     r"max_pool2d: padding \(2, 2\) must be at most half the \(dilated\) kernel size \(2, 2\), "
     r"i.e. at most \(1, 1\)"),
    (lambda: F.avg_pool2d(x4, 3, padding=(0, 2)), ValueError,
     r"avg_pool2d: padding \(0, 2\) must be at most half"),
    (lambda: F.max_pool2d(x4, 0), ValueError, r"max_pool2d: kernel_size must be positive, got"),
    (lambda: F.max_pool2d(x4, 2, stride=0), ValueError, r"stride must be positive"),
    (lambda: F.max_pool2d(x4, 2, dilation=0), ValueError, r"dilation must be positive"),
    (lambda: F.max_pool2d(x4, 2, padding=-1), ValueError, r"padding must be non-negative"),
    (lambda: F.max_pool2d(x4, 2.5), TypeError,
     r"max_pool2d: kernel_size must be an int or a pair of ints, got 2.5 \(float\)"),
    (lambda: F.max_pool2d(x4, 2, stride=float("nan")), TypeError,
     r"max_pool2d: stride must be an int, got nan \(float, not even finite\)"),
    (lambda: F.avg_pool2d(x4, 2, padding=float("inf")), TypeError,
     r"avg_pool2d: padding must be an int, got inf \(float, not even finite\)"),
    (lambda: F.max_pool2d(x4, (2, 2, 2)), ValueError,
     r"kernel_size must be an int or a pair of ints, got \(2, 2, 2\)"),
    (lambda: F.max_pool2d(x4, True), TypeError, r"kernel_size must be an int, got True"),
    (lambda: F.max_pool2d(ac.zeros(1, 1, 2, 4), 2, 1, 1, dilation=3), ValueError,
     r"max_pool2d: window 0 along H covers only padding"),
    (lambda: F.avg_pool2d(x4, 2, divisor_override=0), ValueError,
     r"avg_pool2d: divisor_override must be non-zero, got 0"),
    (lambda: F.max_pool2d(ac.zeros(1, 0, 4, 4), 2), ValueError,
     r"input has an empty channel or spatial dim: shape \(1, 0, 4, 4\)"),
    (lambda: F.adaptive_avg_pool2d(x4, 0), ValueError,
     r"adaptive_avg_pool2d: output_size must be positive, got 0"),
    (lambda: F.adaptive_max_pool2d(x4, (2, 2, 2)), ValueError,
     r"adaptive_max_pool2d: output_size must be an int or a pair"),
    (lambda: F.adaptive_avg_pool2d(x4, 1.5), TypeError, r"output_size must be an int"),
    (lambda: F.max_unpool2d(x4, ac.zeros(1, 2, 4, 3, dtype=ac.int64), 2), ValueError,
     r"max_unpool2d: indices have shape \(1, 2, 4, 3\) but the input has shape \(1, 2, 4, 4\)"),
    (lambda: F.max_unpool2d(x4, ac.zeros(1, 2, 4, 4), 2), TypeError,
     r"max_unpool2d: indices must be an integer tensor .* got float32"),
    (lambda: F.max_unpool2d(x4, [0, 1], 2), TypeError,
     r"max_unpool2d: indices must be a Tensor, got list"),
    (lambda: F.max_unpool2d(x4, ac.full((1, 2, 4, 4), 64, dtype=ac.int64), 2), ValueError,
     r"max_unpool2d: found an invalid index 64: indices must lie in \[0, 64\)"),
    (lambda: F.max_unpool2d(x4, ac.full((1, 2, 4, 4), -1, dtype=ac.int64), 2), ValueError,
     r"found an invalid index -1"),
    (lambda: F.max_unpool2d(x4, ac.zeros(1, 2, 4, 4, dtype=ac.int64), 2, output_size=(10, 8)),
     ValueError, r"max_unpool2d: invalid output_size \(10, 8\): dim 0 must be between 6 and 10 "
                 r"\(exclusive\)"),
    (lambda: F.max_unpool2d(x4, ac.zeros(1, 2, 4, 4, dtype=ac.int64), 2, output_size=(8,)),
     ValueError, r"max_unpool2d: output_size must be \(H, W\) or \(N, C, H, W\)"),
    (lambda: F.interpolate(x4), ValueError,
     r"interpolate: give exactly one of size and scale_factor, got size=None, scale_factor=None"),
    (lambda: F.interpolate(x4, size=2, scale_factor=2), ValueError, r"give exactly one"),
    (lambda: F.interpolate(x4, size=2, mode="cubic"), ValueError,
     r"interpolate: mode must be one of \('nearest', 'bilinear', 'nearest-exact', 'bicubic', "
     r"'linear'\), got 'cubic'"),
    (lambda: F.interpolate(x4, size=2, mode="linear"), ValueError,
     r"interpolate: mode 'linear' resizes 3-D \(N, C, L\) inputs; a 4-D input needs one of"),
    (lambda: F.interpolate(ac.zeros(1, 2, 4), size=2, mode="bicubic"), ValueError,
     r"interpolate: mode 'bicubic' needs a 4-D \(N, C, H, W\) input"),
    (lambda: F.interpolate(x4, size=2, align_corners=True), ValueError,
     r"interpolate: align_corners can only be set with the interpolating modes 'linear', "
     r"'bilinear' and 'bicubic', got mode='nearest'"),
    (lambda: F.interpolate(x4, scale_factor=-1.0), ValueError,
     r"interpolate: scale_factor must be finite and positive, got -1.0"),
    (lambda: F.interpolate(x4, scale_factor=float("nan")), ValueError,
     r"scale_factor must be finite and positive, got nan"),
    (lambda: F.interpolate(x4, scale_factor="2"), TypeError,
     r"interpolate: scale_factor must be a number or a pair of numbers, got '2'"),
    (lambda: F.interpolate(x4, scale_factor=0.1), ValueError,
     r"interpolate: scale_factor 0.1 turns the input size \(4, 4\) into \(0, 0\)"),
    (lambda: F.interpolate(x4, size=(0, 3)), ValueError, r"interpolate: size must be positive"),
    (lambda: F.interpolate(ac.zeros(4, 4), size=2), ValueError,
     r"interpolate: expected a 3-D \(N, C, L\) or 4-D \(N, C, H, W\) input, got shape \(4, 4\)"),
]


@pytest.mark.nojit
@pytest.mark.parametrize("call,exc,message", ERRORS, ids=[e[2][:40] for e in ERRORS])
def test_errors(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


@pytest.mark.nojit
def test_backend_errors():
    from autograd_cnn import backend
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: input must be C-contiguous"):
        backend.max_pool2d(x[:, :, ::2], (2, 2), (2, 2), (0, 0), (1, 1), (1, 2), False)
    with pytest.raises(ValueError, match=r"max_pool2d: input must have 4 dims, got shape"):
        backend.max_pool2d(x[0], (2, 2), (2, 2), (0, 0), (1, 1), (2, 2), False)
    with pytest.raises(TypeError, match=r"max_pool2d: expected an integer size, got 2.0"):
        backend.max_pool2d(x, (2.0, 2), (2, 2), (0, 0), (1, 1), (2, 2), False)
    with pytest.raises(ValueError, match=r"avg_pool2d: kernel, stride and output sizes must be "
                                         r"positive"):
        backend.avg_pool2d(x, (2, 2), (2, 2), (0, 0), (0, 2), True, 0)
    with pytest.raises(TypeError, match=r"max_pool2d backward: indices must be int64, got int32"):
        backend.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), np.int32),
                                    (4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d backward: found an invalid index 16"):
        backend.max_pool2d_backward(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), (4, 4))
    with pytest.raises(TypeError, match=r"adaptive_avg_pool2d: input must be float32 or float64"):
        backend.adaptive_avg_pool2d(np.zeros((1, 1, 4, 4), np.int64), (2, 2))


@pytest.mark.nojit
def test_undilated_windows_always_hold_an_input_element(monkeypatch):
    # max_pool2d skips its all-padding window check without dilation: the output-size rule
    # (windows start before the input's end, padding <= kernel/2) must guarantee it. The
    # reference twin starts each window at -inf, so an empty window would show up as -inf.
    rng = np.random.default_rng(0)
    for size in range(1, 8):
        x = ac.tensor(rng.standard_normal((1, 1, size, 1)))
        for k in range(1, 5):
            for s in range(1, 5):
                for p in range(k // 2 + 1):
                    for ceil in (False, True):
                        args = ((k, 1), (s, 1), (p, 0), 1, ceil)
                        try:
                            y = F.max_pool2d(x, *args)
                        except ValueError as e:
                            assert "larger than the padded input" in str(e)
                            continue
                        monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
                        y_ref = F.max_pool2d(x, *args)
                        monkeypatch.delenv("AUTOGRAD_CNN_REFERENCE")
                        assert np.isfinite(y_ref.numpy()).all(), (size, args)
                        np.testing.assert_array_equal(y.numpy(), y_ref.numpy())
