"""Convolution kernels against their reference twins (kernels/reference.py).

Every algorithm (direct loops, im2col + GEMM, Winograd) is forced in turn on a grid of shapes,
strides, paddings (symmetric and asymmetric), dilations and groups (depthwise included), in
float64 and float32. Errors are measured relative to the largest reference value,
max|kernel - reference| / max|reference|: at most 1e-12 in float64; float32 kernels are compared
with the reference computed in float64 from the same inputs, to 1e-5.
"""

import numpy as np
import pytest

from autograd_cnn import backend, tuning
from autograd_cnn.kernels import conv, reference as ref, smallconv, winograd

TOL = {np.float64: 1e-12, np.float32: 1e-5}


def out_len(n, k, s, p_before, p_after, d):
    return (n + p_before + p_after - d * (k - 1) - 1) // s + 1


# (N, C, H, W, K, kh, kw, stride, (pt, pl), dilation, groups, (pb, pr)): bottom/right padding
# may differ from top/left ('same' with an even kernel) and sets the output size.
CASES = {
    "3x3 pad 1": (2, 3, 7, 6, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, (1, 1)),
    "strided grouped": (3, 4, 9, 8, 6, 3, 3, (2, 1), (1, 0), (1, 1), 2, (1, 0)),
    "depthwise dilated": (1, 4, 8, 9, 4, 3, 3, (1, 1), (0, 2), (2, 1), 4, (0, 2)),
    "pointwise": (2, 2, 5, 5, 3, 1, 1, (1, 1), (0, 0), (1, 1), 1, (0, 0)),
    "1x1 strided grouped": (2, 4, 6, 7, 6, 1, 1, (2, 2), (0, 0), (1, 1), 2, (0, 0)),
    "5x4 strided dilated": (2, 3, 10, 9, 2, 5, 4, (3, 2), (2, 1), (1, 2), 1, (2, 1)),
    "3x3 pad 2 odd output": (3, 6, 7, 5, 4, 3, 3, (1, 1), (2, 2), (1, 1), 2, (2, 2)),
    "even kernel same": (2, 3, 4, 5, 2, 2, 2, (1, 1), (0, 0), (1, 1), 1, (1, 1)),
    "3x3 asymmetric": (2, 5, 6, 6, 3, 3, 3, (1, 1), (0, 1), (1, 1), 1, (2, 0)),
    "stride > kernel": (2, 3, 11, 10, 4, 2, 3, (4, 3), (1, 0), (1, 1), 1, (1, 0)),
    # LeNet C3's channels and kernel, a row of 9 outputs (one 5-pixel block of smallconv and 4
    # single pixels); 17 output channels (smallconv pads them to 24 lanes, 3-pixel blocks)
    "5x5 16 channels": (2, 6, 12, 13, 16, 5, 5, (1, 1), (0, 0), (1, 1), 1, (0, 0)),
    "5x5 17 channels padded": (3, 2, 8, 9, 17, 5, 4, (1, 1), (2, 1), (1, 1), 1, (1, 2)),
}
NOJIT_CASES = {"3x3 pad 1", "strided grouped", "depthwise dilated", "even kernel same"}
# im2col has two column layouts: 'wide' (tiny images, the default at these sizes) and
# 'batched' (one GEMM per image), forced here by setting the wide thresholds to zero
ALGORITHMS = ["auto", "direct", "im2col", "im2col-batched", "shifted", "smallconv",
              "winograd"]


def _params():
    out = []
    for name, case in CASES.items():
        kh, kw, stride, dil = case[5], case[6], case[7], case[9]
        for algo in ALGORITHMS:
            if algo == "winograd" and not winograd.applies((kh, kw), stride, dil):
                continue
            if algo == "shifted" and stride != (1, 1):
                continue
            if algo == "smallconv" and not smallconv.applies((kh, kw), stride, dil, case[10]):
                continue
            for dtype in (np.float64, np.float32):
                marks = [pytest.mark.nojit] if name in NOJIT_CASES and algo != "auto" else []
                out.append(pytest.param(case, algo, dtype, marks=marks,
                                        id=f"{name}-{algo}-{dtype.__name__}"))
    return out


def _close(actual, expected, dtype, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {dtype}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:g}"


def _problem(case, dtype, seed=0):
    n, c, h, w, k, kh, kw, stride, pad, dil, groups, after = case
    rng = np.random.default_rng(seed)
    ho = out_len(h, kh, stride[0], pad[0], after[0], dil[0])
    wo = out_len(w, kw, stride[1], pad[1], after[1], dil[1])
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    wt = rng.standard_normal((k, c // groups, kh, kw)).astype(dtype)
    b = rng.standard_normal(k).astype(dtype)
    g = rng.standard_normal((n, k, ho, wo)).astype(dtype)
    geom = dict(stride=stride, padding=pad, dilation=dil, groups=groups)
    return x, wt, b, g, geom, (ho, wo)


def _transposed_bias(case, dtype):
    return np.random.default_rng(9).standard_normal(case[1]).astype(dtype)


def _f64(*arrays):
    return [a.astype(np.float64) for a in arrays]


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks of one or two images, so the chunk loops (and a partial last chunk) are exercised."""
    monkeypatch.setitem(tuning._overrides, "im2col_chunk_bytes", 3000)
    monkeypatch.setitem(tuning._overrides, "winograd_chunk_bytes", 5000)


@pytest.mark.parametrize("case,algo,dtype", _params())
def test_kernels_match_reference(case, algo, dtype, small_chunks, monkeypatch):
    if algo == "im2col-batched":
        monkeypatch.setitem(tuning._overrides, "im2col_wide_max_pixels", 0)
        monkeypatch.setitem(tuning._overrides, "im2col_wide_max_macs", 0)
        algo = "im2col"
    x, w, b, g, geom, out_size = _problem(case, dtype)
    x64, w64, b64, g64 = _f64(x, w, b, g)
    s, p, d, grp = geom["stride"], geom["padding"], geom["dilation"], geom["groups"]
    in_size = x.shape[2:]

    y = conv.conv2d_forward(x, w, b, out_size=out_size, algorithm=algo, **geom)
    _close(y, ref.conv2d_forward_ref(x64, w64, b64, s, p, d, grp, out_size), dtype, "forward")

    dx_ref = ref.conv2d_backward_input_ref(g64, w64, in_size, s, p, d, grp)
    dw_ref = ref.conv2d_backward_weight_ref(x64, g64, w.shape[2:], s, p, d, grp)
    dx = conv.conv2d_backward_input(g, w, in_size=in_size, algorithm=algo, **geom)
    _close(dx, dx_ref, dtype, "backward_input")
    dw = conv.conv2d_backward_weight(x, g, kernel_size=w.shape[2:], algorithm=algo, **geom)
    _close(dw, dw_ref, dtype, "backward_weight")

    for need_input, need_weight in [(True, True), (True, False), (False, True)]:
        dx, dw = conv.conv2d_backward(x, w, g, need_input=need_input, need_weight=need_weight,
                                      algorithm=algo, **geom)
        assert (dx is None) != need_input and (dw is None) != need_weight
        if need_input:
            _close(dx, dx_ref, dtype, "fused backward: input")
        if need_weight:
            _close(dw, dw_ref, dtype, "fused backward: weight")

    # the transposed convolution maps g back to the input's size; bias per output channel
    bt = _transposed_bias(case, dtype)             # one per channel of x
    yt = conv.conv_transpose2d_forward(g, w, bt, out_size=in_size, algorithm=algo, **geom)
    _close(yt, ref.conv_transpose2d_forward_ref(g64, w64, bt.astype(np.float64), s, p, d, grp,
                                                in_size), dtype, "conv_transpose2d")


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bias_grad(dtype):
    g = np.random.default_rng(1).standard_normal((3, 4, 5, 2)).astype(dtype)
    db = conv.conv2d_bias_grad(g)
    _close(db, ref.conv2d_bias_grad_ref(g.astype(np.float64)), dtype, "bias grad")


@pytest.mark.nojit
@pytest.mark.parametrize("algo", ["direct", "im2col", "smallconv", "winograd"])
def test_empty_batch(algo):
    x = np.zeros((0, 4, 6, 6))
    w = np.ones((4, 4, 3, 3))
    g = np.zeros((0, 4, 6, 6))
    geom = dict(stride=(1, 1), padding=(1, 1), dilation=(1, 1), groups=1, algorithm=algo)
    assert conv.conv2d_forward(x, w, out_size=(6, 6), **geom).shape == (0, 4, 6, 6)
    dx, dw = conv.conv2d_backward(x, w, g, **geom)
    assert dx.shape == (0, 4, 6, 6)
    np.testing.assert_array_equal(dw, np.zeros((4, 4, 3, 3)))


@pytest.mark.nojit
def test_empty_batch_pointwise_split_over_threads(monkeypatch):
    # the 1x1 path whose images are split over the threads: no image, no share, a zero dw
    monkeypatch.setitem(tuning._overrides, "im2col_wide_max_pixels", 0)
    monkeypatch.setitem(tuning._overrides, "im2col_wide_max_macs", 0)
    x, w, g = np.zeros((0, 4, 6, 6)), np.ones((3, 4, 1, 1)), np.zeros((0, 3, 6, 6))
    geom = dict(stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1, algorithm="im2col")
    assert conv.conv2d_forward(x, w, out_size=(6, 6), **geom).shape == (0, 3, 6, 6)
    dx, dw = conv.conv2d_backward(x, w, g, **geom)
    assert dx.shape == (0, 4, 6, 6)
    assert dw.dtype == np.float64
    np.testing.assert_array_equal(dw, np.zeros((3, 4, 1, 1)))


@pytest.mark.parametrize("algo", ["direct", "im2col", "smallconv"])
def test_nan_and_inf_survive(algo):
    # fastmath is off: a NaN or Inf in the input reaches the outputs whose window reads it
    x = np.zeros((1, 2, 6, 6), dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    x[0, 1, 4, 4] = np.inf
    w = np.ones((3, 2, 3, 3), dtype=np.float32)
    y = conv.conv2d_forward(x, w, out_size=(4, 4), algorithm=algo)
    assert np.isnan(y[0, :, 0, 0]).all()                 # window rows 0-2, cols 0-2
    assert np.isposinf(y[0, :, 3, 3]).all()              # window rows 3-5, cols 3-5
    assert np.isfinite(y[0, :, 0, 3]).all()              # reads neither


def test_winograd_nan_reaches_its_tile():
    # Winograd mixes a 4x4 tile before multiplying: a NaN spreads to the tile's 2x2 outputs
    x = np.zeros((1, 16, 6, 6))
    x[0, 3, 1, 1] = np.nan
    y = conv.conv2d_forward(x, np.ones((16, 16, 3, 3)), out_size=(4, 4), algorithm="winograd")
    assert np.isnan(y[0, :, 0, 0]).all()
    assert np.isfinite(y[0, :, 2:, 2:]).all()


def test_algorithm_choice_and_errors():
    def choice(c, k, f, stride, groups, out):
        return conv.choose_algorithm(c, k, (f, f), (stride, stride), (1, 1), groups, (out, out))

    assert choice(32, 32, 3, 1, 32, 56) == "direct"          # depthwise
    assert choice(1, 6, 5, 1, 1, 28) == "smallconv"          # LeNet C1: few taps, few outputs
    assert choice(1, 32, 5, 1, 1, 28) == "direct"            # few taps, many outputs
    assert choice(6, 16, 5, 1, 1, 10) == "smallconv"         # LeNet C3
    assert choice(6, 32, 5, 1, 1, 10) == "shifted"           # more output channels
    assert choice(6, 16, 5, 1, 2, 10) == "shifted"           # groups: not smallconv's
    assert choice(64, 64, 3, 1, 1, 56) == "winograd"
    assert choice(64, 64, 3, 2, 1, 28) == "im2col"
    assert choice(3, 96, 11, 4, 1, 55) == "im2col"           # AlexNet conv1
    assert choice(256, 64, 1, 1, 1, 56) == "im2col"          # 1x1: a plain GEMM per image
    x, w = np.zeros((1, 2, 5, 5)), np.zeros((2, 2, 5, 5))
    with pytest.raises(ValueError, match="winograd.*3x3 kernel with stride 1"):
        conv.conv2d_forward(x, w, out_size=(1, 1), algorithm="winograd")
    with pytest.raises(ValueError, match="unknown algorithm 'fft'"):
        conv.conv2d_forward(x, w, out_size=(1, 1), algorithm="fft")
    with pytest.raises(ValueError, match="'shifted' needs stride 1"):
        conv.conv2d_forward(x, w, stride=(2, 2), out_size=(1, 1), algorithm="shifted")
    for geom in (dict(stride=(2, 2)), dict(dilation=(1, 2)), dict(groups=2)):
        with pytest.raises(ValueError, match="'smallconv' needs stride 1, dilation 1 and groups 1"):
            conv.conv2d_backward(x, w, np.zeros((1, 2, 1, 1)), algorithm="smallconv", **geom)


# ---- backend: validation and the reference switch ---------------------------------------------


def _ok():
    return np.zeros((2, 4, 6, 6), np.float32), np.zeros((8, 4, 3, 3), np.float32)


@pytest.mark.nojit
@pytest.mark.parametrize("make_args,exc,pattern", [
    (lambda x, w: (x.astype(np.int64), w), TypeError, "x must be float32 or float64, got int64"),
    (lambda x, w: (x, w.astype(np.float64)), TypeError, "w is float64 but the other operands are float32"),
    (lambda x, w: (list(x), w), TypeError, "x must be a numpy array, got list"),
    (lambda x, w: (x[0], w), ValueError, r"x must have 4 dims, got shape \(4, 6, 6\)"),
    (lambda x, w: (x.transpose(0, 1, 3, 2), w), ValueError, "x must be C-contiguous"),
    (lambda x, w: (x[:, :3].copy(), w), ValueError, "input has 3 channels but weight expects 4"),
])
def test_backend_rejects_bad_arrays(make_args, exc, pattern):
    x, w = make_args(*_ok())
    with pytest.raises(exc, match=pattern):
        backend.conv2d_forward(x, w, out_size=(4, 4))


@pytest.mark.nojit
def test_backend_rejects_bad_geometry():
    x, w = _ok()
    with pytest.raises(TypeError, match=r"stride must be a pair of ints, got \(1.0, 1\)"):
        backend.conv2d_forward(x, w, stride=(1.0, 1), out_size=(4, 4))
    with pytest.raises(ValueError, match=r"padding must be >= 0, got \(-1, 0\)"):
        backend.conv2d_forward(x, w, padding=(-1, 0), out_size=(4, 4))
    with pytest.raises(ValueError, match="groups must be a positive int, got 0"):
        backend.conv2d_forward(x, w, groups=0, out_size=(4, 4))
    with pytest.raises(ValueError, match=r"bias must have shape \(8,\), got \(4,\)"):
        backend.conv2d_forward(x, w, np.zeros(4, np.float32), out_size=(4, 4))
    with pytest.raises(ValueError, match=r"g has shape \(2, 7, 4, 4\), expected \(2, 8, Ho, Wo\)"):
        backend.conv2d_backward(x, w, np.zeros((2, 7, 4, 4), np.float32))
    with pytest.raises(ValueError, match="g has 7 channels but w has 8 output channels"):
        backend.conv2d_backward_input(np.zeros((2, 7, 4, 4), np.float32), w, in_size=(6, 6))
    with pytest.raises(ValueError, match="need the same batch size"):
        backend.conv2d_backward_weight(x, np.zeros((3, 8, 4, 4), np.float32),
                                       kernel_size=(3, 3))
    with pytest.raises(ValueError, match="input has 4 channels but weight expects 8"):
        backend.conv_transpose2d_forward(x, np.zeros((8, 2, 3, 3), np.float32),
                                         out_size=(8, 8))
    with pytest.raises(ValueError, match="g must have 4 dims"):
        backend.conv2d_bias_grad(np.zeros((2, 3), np.float32))


@pytest.mark.nojit
def test_backend_reference_switch(monkeypatch):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2, 4, 6, 6))
    w = rng.standard_normal((8, 2, 3, 3))
    g = rng.standard_normal((2, 8, 3, 3))
    geom = dict(stride=(2, 2), padding=(1, 1), dilation=(1, 1), groups=2)
    calls = []
    for name in ["conv2d_forward_ref", "conv2d_backward_input_ref", "conv2d_backward_weight_ref",
                 "conv2d_bias_grad_ref", "conv_transpose2d_forward_ref"]:
        def spy(*args, _real=getattr(ref, name), _name=name):
            calls.append(_name)
            return _real(*args)
        monkeypatch.setattr(ref, name, spy)

    def run_all():
        return [backend.conv2d_forward(x, w, out_size=(3, 3), **geom),
                *backend.conv2d_backward(x, w, g, **geom),
                backend.conv2d_backward_input(g, w, in_size=(6, 6), **geom),
                backend.conv2d_backward_weight(x, g, kernel_size=(3, 3), **geom),
                backend.conv2d_bias_grad(g),
                backend.conv_transpose2d_forward(g, w, None, out_size=(6, 6), **geom)]

    fast = run_all()
    assert calls == [] and not backend.use_reference()
    monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
    assert backend.use_reference()
    slow = run_all()
    assert set(calls) == {"conv2d_forward_ref", "conv2d_backward_input_ref",
                          "conv2d_backward_weight_ref", "conv2d_bias_grad_ref",
                          "conv_transpose2d_forward_ref"}
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_winograd_weight_transform_is_g_w_gt_and_its_adjoint(dtype):
    # the one-product form (Kronecker matrix) against G w G^T written out per (k, c)
    G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    rng = np.random.default_rng(3)
    w = rng.standard_normal((6, 4, 3, 3)).astype(dtype)
    u = winograd.weight_transform(w, groups=2)                     # (16, G, K/G, Cg)
    assert u.shape == (16, 2, 3, 4) and u.dtype == dtype
    expected = np.stack([G @ w[k, c] @ G.T for k in range(6) for c in range(4)])   # (24, 4, 4)
    got = u.reshape(16, 24).T.reshape(24, 4, 4)
    np.testing.assert_allclose(got, expected, rtol=TOL[dtype], atol=TOL[dtype])
    # the adjoint: <U(w), dU> = <w, U^T(dU)> for any dU
    du = rng.standard_normal(u.shape).astype(dtype)
    dw = winograd.weight_adjoint(du)
    assert dw.shape == w.shape and dw.dtype == dtype
    np.testing.assert_allclose(np.vdot(u, du), np.vdot(w, dw), rtol=1e-4 if dtype == np.float32
                               else 1e-12)
