"""The convolution's helper kernels against their reference twins (kernels/reference.py).

tests/test_kernels_conv.py checks whole convolutions; here each helper is checked on its own:
im2col/col2im in both column layouts, the shifted im2col and its add-back, and Winograd's input
and output transforms and their adjoints. Each runs on a grid of geometries (padding, stride,
dilation, ragged edges) on a chunk of images that starts past image 0 (and on a whole batch), in
float64 (1e-12 relative to the largest reference value) and float32 (1e-5, against the twin run
in float64 on the same inputs). Output buffers start as NaN, so an entry a kernel fails to write
shows up; the add-back kernels start from random values, so they must add, not overwrite. Each
adjoint pair also satisfies <A x, y> = <x, A^T y> in float64.
"""

import numpy as np
import pytest

from autograd_cnn import tuning
from autograd_cnn.kernels import im2col as im2col_mod
from autograd_cnn.kernels import reference as ref
from autograd_cnn.kernels import shifted, winograd

TOL = {np.float64: 1e-12, np.float32: 1e-5}
DTYPES = [np.float64, np.float32]
# (first image, number of images) of the chunk each kernel call handles, in a batch of N_IMG
N_IMG = 4
CHUNKS = [(0, N_IMG), (1, 2)]

pytestmark = pytest.mark.nojit


def _close(actual, expected, dtype, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {dtype}"
    assert not np.isnan(expected).any(), f"{what}: the twin left entries unwritten"
    assert not np.isnan(actual).any(), f"{what}: the kernel left entries unwritten"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:g}"


def _adjoint_holds(ax, y, x, aty, what):
    """<A x, y> = <x, A^T y> in float64, to 1e-12 of the sum of |terms|."""
    lhs, rhs = np.vdot(ax, y), np.vdot(x, aty)
    scale = np.vdot(np.abs(ax), np.abs(y))
    assert scale > 0, f"{what}: the test vectors are all zero"
    assert abs(lhs - rhs) <= 1e-12 * scale, f"{what}: <Ax, y> = {lhs!r} but <x, A^T y> = {rhs!r}"


def _random(rng, shape, dtype):
    return rng.standard_normal(shape).astype(dtype)


def _nan(shape, dtype):
    return np.full(shape, np.nan, dtype=dtype)


# ---- im2col / col2im (kernels/im2col.py) --------------------------------------------------------

# (C, H, W, (kh, kw), (sh, sw), (pt, pl), (dh, dw), (pb, pr)); bottom/right padding sets Ho, Wo
# and may be negative (rows or columns of the image that no window reads)
IM2COL_CASES = {
    "3x3 pad 1": (2, 5, 6, (3, 3), (1, 1), (1, 1), (1, 1), (1, 1)),
    "strided asymmetric": (3, 9, 8, (3, 2), (2, 3), (1, 0), (1, 1), (0, 2)),
    "dilated strided": (2, 8, 7, (2, 3), (1, 2), (2, 1), (3, 2), (2, 1)),
    "stride > kernel": (1, 11, 10, (2, 3), (4, 3), (1, 0), (1, 1), (1, 0)),
    "padding beyond reach": (2, 3, 4, (2, 2), (1, 1), (3, 2), (1, 1), (3, 4)),
    "pointwise": (3, 4, 5, (1, 1), (1, 1), (0, 0), (1, 1), (0, 0)),
    "image cropped": (2, 7, 6, (3, 3), (1, 2), (0, 1), (2, 1), (-2, -1)),
}


def _out_len(n, k, s, p_before, p_after, d):
    return (n + p_before + p_after - d * (k - 1) - 1) // s + 1


def _im2col_geometry(case):
    c, h, w, (kh, kw), (sh, sw), (pt, pl), (dh, dw), (pb, pr) = case
    ho, wo = _out_len(h, kh, sh, pt, pb, dh), _out_len(w, kw, sw, pl, pr, dw)
    assert ho >= 1 and wo >= 1
    return (c, h, w), (kh, kw, sh, sw, pt, pl, dh, dw, ho, wo)


def _cols_shape(c, geom, b, wide):
    kh, kw, ho, wo = geom[0], geom[1], geom[8], geom[9]
    rows, npix = c * kh * kw, ho * wo
    return (rows, b, npix) if wide else (b, rows, npix)


@pytest.mark.parametrize("wide", [False, True], ids=["batched", "wide"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IM2COL_CASES.values(), ids=IM2COL_CASES.keys())
def test_im2col_matches_reference(case, dtype, wide):
    (c, h, w), geom = _im2col_geometry(case)
    x = _random(np.random.default_rng(0), (N_IMG, c, h, w), dtype)
    for n0, b in CHUNKS:
        cols = _nan(_cols_shape(c, geom, b, wide), dtype)
        im2col_mod.im2col(x, n0, *geom, cols, wide)
        expected = _nan(cols.shape, np.float64)
        ref.im2col_ref(x.astype(np.float64), n0, *geom, expected, wide)
        _close(cols, expected, dtype, f"im2col, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("wide", [False, True], ids=["batched", "wide"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", IM2COL_CASES.values(), ids=IM2COL_CASES.keys())
def test_col2im_matches_reference(case, dtype, wide):
    (c, h, w), geom = _im2col_geometry(case)
    rng = np.random.default_rng(1)
    for n0, b in CHUNKS:
        cols = _random(rng, _cols_shape(c, geom, b, wide), dtype)
        dx = _random(rng, (N_IMG, c, h, w), dtype)          # added to; other images untouched
        expected = dx.astype(np.float64)
        im2col_mod.col2im(cols, n0, *geom, dx, wide)
        ref.col2im_ref(cols.astype(np.float64), n0, *geom, expected, wide)
        _close(dx, expected, dtype, f"col2im, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("wide", [False, True], ids=["batched", "wide"])
@pytest.mark.parametrize("case", IM2COL_CASES.values(), ids=IM2COL_CASES.keys())
def test_col2im_is_the_adjoint_of_im2col(case, wide):
    (c, h, w), geom = _im2col_geometry(case)
    rng = np.random.default_rng(2)
    n0, b = CHUNKS[1]
    x = rng.standard_normal((N_IMG, c, h, w))
    y = rng.standard_normal(_cols_shape(c, geom, b, wide))
    ax = np.empty_like(y)
    im2col_mod.im2col(x, n0, *geom, ax, wide)
    aty = np.zeros_like(x)
    im2col_mod.col2im(y, n0, *geom, aty, wide)
    _adjoint_holds(ax, y, x, aty, "im2col / col2im")


def test_im2col_worked_example():
    # a 3x3 image, 2x2 kernel, padding 1 on top and left only, stride 2: outputs (0, 0), (0, 1),
    # (1, 0), (1, 1) read the windows at padded (0, 0), (0, 2), (2, 0), (2, 2)
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)            # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    cols = _nan((1, 4, 4), np.float64)
    im2col_mod.im2col(x, 0, 2, 2, 2, 2, 1, 1, 1, 1, 2, 2, cols, False)
    # rows (i, j) = (0, 0), (0, 1), (1, 0), (1, 1); columns (oy, ox) = 00, 01, 10, 11
    np.testing.assert_array_equal(cols[0], [[0, 0, 0, 5],
                                            [0, 0, 4, 6],
                                            [0, 2, 0, 8],
                                            [1, 3, 7, 9]])


# ---- shifted im2col / add-back (kernels/shifted.py) ---------------------------------------------

# (C, Ho, Wo, (kh, kw), (dh, dw), extra rows): the padded frame is Hp = Ho + (KH-1)*dh (+ extra)
# by Wp = Wo + (KW-1)*dw, as the driver builds it
SHIFTED_CASES = {
    "5x5 LeNet-like": (2, 4, 4, (5, 5), (1, 1), 0),
    "3x3 dilated": (3, 3, 5, (3, 3), (2, 3), 0),
    "1x3 row": (2, 3, 2, (1, 3), (1, 1), 0),
    "3x1 column": (1, 2, 3, (3, 1), (2, 1), 0),
    "2x2 extra rows": (2, 3, 3, (2, 2), (1, 2), 2),
    "1x1": (3, 2, 3, (1, 1), (1, 1), 0),
}


def _shifted_geometry(case):
    c, ho, wo, (kh, kw), (dh, dw), extra = case
    hp, wp = ho + (kh - 1) * dh + extra, wo + (kw - 1) * dw
    return c, hp, wp, (kh, kw, dh, dw, ho)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SHIFTED_CASES.values(), ids=SHIFTED_CASES.keys())
def test_shifted_im2col_matches_reference(case, dtype):
    c, hp, wp, geom = _shifted_geometry(case)
    kh, kw, ho = geom[0], geom[1], geom[4]
    for b in (1, 3):
        xp = _random(np.random.default_rng(3), (b, c, hp, wp), dtype)
        cols = _nan((c * kh * kw, b, ho * wp), dtype)
        shifted.shifted_im2col(xp, *geom, cols)
        expected = _nan(cols.shape, np.float64)
        ref.shifted_im2col_ref(xp.astype(np.float64), *geom, expected)
        _close(cols, expected, dtype, f"shifted_im2col, {b} images")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SHIFTED_CASES.values(), ids=SHIFTED_CASES.keys())
def test_shifted_col2im_matches_reference(case, dtype):
    c, hp, wp, geom = _shifted_geometry(case)
    kh, kw, ho = geom[0], geom[1], geom[4]
    rng = np.random.default_rng(4)
    for b in (1, 3):
        dcols = _random(rng, (c * kh * kw, b, ho * wp), dtype)
        dxp = _random(rng, (b, c, hp, wp), dtype)               # added to
        expected = dxp.astype(np.float64)
        shifted.shifted_col2im(dcols, *geom, dxp)
        ref.shifted_col2im_ref(dcols.astype(np.float64), *geom, expected)
        _close(dxp, expected, dtype, f"shifted_col2im, {b} images")


@pytest.mark.parametrize("case", SHIFTED_CASES.values(), ids=SHIFTED_CASES.keys())
def test_shifted_col2im_is_the_adjoint_of_shifted_im2col(case):
    c, hp, wp, geom = _shifted_geometry(case)
    kh, kw, ho = geom[0], geom[1], geom[4]
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, c, hp, wp))
    y = rng.standard_normal((c * kh * kw, 3, ho * wp))
    ax = np.empty_like(y)
    shifted.shifted_im2col(x, *geom, ax)
    aty = np.zeros_like(x)
    shifted.shifted_col2im(y, *geom, aty)
    _adjoint_holds(ax, y, x, aty, "shifted_im2col / shifted_col2im")


def test_shifted_im2col_worked_example():
    # Ho = Wo = 2 with a 2x2 kernel: Wp = 3, Hp = 3; p = oy*3 + ox, the column ox = 2 is junk
    xp = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)           # [[1, 2, 3], [4, 5, 6], [7, 8, 9]]
    cols = _nan((4, 1, 6), np.float64)
    shifted.shifted_im2col(xp, 2, 2, 1, 1, 2, cols)
    np.testing.assert_array_equal(cols[:, 0], [[1, 2, 3, 4, 5, 6],     # shift 0
                                               [2, 3, 4, 5, 6, 7],     # shift 1
                                               [4, 5, 6, 7, 8, 9],     # shift Wp
                                               [5, 6, 7, 8, 9, 0]])    # Wp + 1: 0 past the end


# ---- Winograd F(2x2, 3x3) transforms (kernels/winograd.py) --------------------------------------

# (C, H, W, (pt, pl), (pb, pr)); Ho = H + pt + pb - 2, Wo = W + pl + pr - 2
WINOGRAD_CASES = {
    "pad 1 even output": (2, 6, 6, (1, 1), (1, 1)),
    "pad 1 odd output": (3, 5, 7, (1, 1), (1, 1)),
    "no padding": (2, 6, 5, (0, 0), (0, 0)),
    "asymmetric padding": (2, 4, 5, (2, 0), (0, 2)),
    "one output": (1, 3, 3, (0, 0), (0, 0)),
    "image cropped": (2, 7, 6, (0, 1), (-2, -1)),
}
K_OUT = 3


def _winograd_geometry(case):
    c, h, w, (pt, pl), (pb, pr) = case
    ho, wo = h + pt + pb - 2, w + pl + pr - 2
    assert ho >= 1 and wo >= 1
    return c, h, w, pt, pl, ho, wo, (ho + 1) // 2, (wo + 1) // 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES.values(), ids=WINOGRAD_CASES.keys())
def test_winograd_input_transform_matches_reference(case, dtype):
    c, h, w, pt, pl, _, _, th, tw = _winograd_geometry(case)
    x = _random(np.random.default_rng(6), (N_IMG, c, h, w), dtype)
    for n0, b in CHUNKS:
        v = _nan((16, c, b * th * tw), dtype)
        winograd.input_transform(x, n0, pt, pl, th, tw, v)
        expected = _nan(v.shape, np.float64)
        ref.winograd_input_transform_ref(x.astype(np.float64), n0, pt, pl, th, tw, expected)
        _close(v, expected, dtype, f"input_transform, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES.values(), ids=WINOGRAD_CASES.keys())
def test_winograd_output_transform_matches_reference(case, dtype):
    _, _, _, _, _, ho, wo, th, tw = _winograd_geometry(case)
    rng = np.random.default_rng(7)
    bias = _random(rng, K_OUT, dtype)
    for n0, b in CHUNKS:
        m = _random(rng, (16, K_OUT, b * th * tw), dtype)
        y = _random(rng, (N_IMG, K_OUT, ho, wo), dtype)        # images outside the chunk stay
        expected = y.astype(np.float64)
        winograd.output_transform(m, bias, n0, th, tw, y)
        ref.winograd_output_transform_ref(m.astype(np.float64), bias.astype(np.float64), n0,
                                          th, tw, expected)
        _close(y, expected, dtype, f"output_transform, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES.values(), ids=WINOGRAD_CASES.keys())
def test_winograd_output_adjoint_matches_reference(case, dtype):
    _, _, _, _, _, ho, wo, th, tw = _winograd_geometry(case)
    g = _random(np.random.default_rng(8), (N_IMG, K_OUT, ho, wo), dtype)
    for n0, b in CHUNKS:
        dm = _nan((16, K_OUT, b * th * tw), dtype)
        winograd.output_adjoint(g, n0, th, tw, dm)
        expected = _nan(dm.shape, np.float64)
        ref.winograd_output_adjoint_ref(g.astype(np.float64), n0, th, tw, expected)
        _close(dm, expected, dtype, f"output_adjoint, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", WINOGRAD_CASES.values(), ids=WINOGRAD_CASES.keys())
def test_winograd_input_adjoint_matches_reference(case, dtype):
    c, h, w, pt, pl, _, _, th, tw = _winograd_geometry(case)
    rng = np.random.default_rng(9)
    for n0, b in CHUNKS:
        dv = _random(rng, (16, c, b * th * tw), dtype)
        # the chunk's images start at zero, as in the driver: the kernel writes only the pixels
        # some tile reads ("image cropped" has others); images outside the chunk stay as they are
        dx = _random(rng, (N_IMG, c, h, w), dtype)
        dx[n0:n0 + b] = 0
        expected = dx.astype(np.float64)
        winograd.input_adjoint(dv, n0, pt, pl, th, tw, dx)
        ref.winograd_input_adjoint_ref(dv.astype(np.float64), n0, pt, pl, th, tw, expected)
        _close(dx, expected, dtype, f"input_adjoint, images {n0}..{n0 + b - 1}")


@pytest.mark.parametrize("case", WINOGRAD_CASES.values(), ids=WINOGRAD_CASES.keys())
def test_winograd_adjoint_pairs(case):
    c, h, w, pt, pl, ho, wo, th, tw = _winograd_geometry(case)
    rng = np.random.default_rng(10)
    n0, b = CHUNKS[1]
    p = b * th * tw
    # input transform x -> V and input_adjoint V -> dx
    x = rng.standard_normal((N_IMG, c, h, w))
    dv = rng.standard_normal((16, c, p))
    v = np.empty_like(dv)
    winograd.input_transform(x, n0, pt, pl, th, tw, v)
    dx = np.zeros_like(x)
    winograd.input_adjoint(dv, n0, pt, pl, th, tw, dx)
    _adjoint_holds(v, dv, x, dx, "input_transform / input_adjoint")
    # output transform M -> Y (no bias: the linear part) and output_adjoint dY -> dM
    m = rng.standard_normal((16, K_OUT, p))
    g = rng.standard_normal((N_IMG, K_OUT, ho, wo))
    y = np.zeros_like(g)
    winograd.output_transform(m, np.zeros(K_OUT), n0, th, tw, y)
    dm = np.empty_like(m)
    winograd.output_adjoint(g, n0, th, tw, dm)
    _adjoint_holds(y, g, m, dm, "output_transform / output_adjoint")


@pytest.mark.parametrize("dtype", DTYPES)
def test_winograd_weight_adjoint_is_gt_du_g(dtype):
    # tests/test_kernels_conv.py compares weight_transform with G w G^T and checks the adjoint
    # identity; this compares weight_adjoint with G^T dU G itself
    du = _random(np.random.default_rng(11), (16, 2, 3, 4), dtype)     # (16, G, K/G, Cg)
    dw = winograd.weight_adjoint(du)
    _close(dw, ref.winograd_weight_adjoint_ref(du.astype(np.float64)), dtype, "weight_adjoint")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups", [1, 4])
def test_winograd_weight_transforms_split_over_threads(dtype, groups):
    # large enough (25 * K * Cg elements > tuning 'planes_parallel_min') that over_planes splits
    # the output channels over the conv threads: every k written once, by the right share
    k_out, cg = 192, 120
    assert 25 * k_out * cg > tuning.get("planes_parallel_min")
    rng = np.random.default_rng(12)
    w = _random(rng, (k_out, cg, 3, 3), dtype)
    u = winograd.weight_transform(w, groups)
    assert u.shape == (16, groups, k_out // groups, cg) and u.dtype == dtype
    g = ref.WINOGRAD_G
    expected = np.einsum("ai,kcij,bj->abkc", g, w.astype(np.float64), g).reshape(u.shape)
    _close(u, expected, dtype, "weight_transform")
    du = _random(rng, u.shape, dtype)
    dw = winograd.weight_adjoint(du)
    _close(dw, ref.winograd_weight_adjoint_ref(du.astype(np.float64)), dtype, "weight_adjoint")


def test_winograd_reference_matrices_compute_a_correlation():
    # the twins' B^T, G, A^T: A^T [(G w G^T) (.) (B^T d B)] A is the 2x2 correlation of d with w
    rng = np.random.default_rng(12)
    d, w = rng.standard_normal((4, 4)), rng.standard_normal((3, 3))
    bt, g, at = ref.WINOGRAD_BT, ref.WINOGRAD_G, ref.WINOGRAD_AT
    y = at @ ((g @ w @ g.T) * (bt @ d @ bt.T)) @ at.T
    direct = np.array([[np.sum(w * d[a:a + 3, b:b + 3]) for b in range(2)] for a in range(2)])
    np.testing.assert_allclose(y, direct, rtol=1e-12, atol=1e-12)


# ---- the twins compose into the whole-convolution twins -----------------------------------------
# An independent check of the twins themselves: with plain matrix products between them they give
# the same convolution (forward, backward-input, backward-weight) as conv2d_*_ref.


def _conv_problem(n, c, h, w, k, kh, kw, seed):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, c, h, w)), rng.standard_normal((k, c, kh, kw))


def _assert_same(actual, expected, what):
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max(),
                               err_msg=what)


@pytest.mark.parametrize("wide", [False, True], ids=["batched", "wide"])
def test_im2col_twins_compose_into_convolution(wide):
    x, w = _conv_problem(3, 3, 7, 6, 4, 2, 3, seed=13)
    s, p, d, after = (2, 1), (1, 2), (1, 2), (0, 1)
    ho, wo = _out_len(7, 2, s[0], p[0], after[0], d[0]), _out_len(6, 3, s[1], p[1], after[1], d[1])
    geom = (2, 3, *s, *p, *d, ho, wo)
    wm = w.reshape(4, -1)                                                    # (K, C*KH*KW)
    cols = _nan(_cols_shape(3, geom, 3, wide), np.float64)
    ref.im2col_ref(x, 0, *geom, cols, wide)
    by_image = cols.transpose(1, 0, 2) if wide else cols                     # (N, R, P)
    y = np.einsum("kr,nrp->nkp", wm, by_image).reshape(3, 4, ho, wo)
    _assert_same(y, ref.conv2d_forward_ref(x, w, None, s, p, d, 1, (ho, wo)), "forward")
    g = np.random.default_rng(14).standard_normal(y.shape)
    dcols = np.einsum("kr,nkp->nrp", wm, g.reshape(3, 4, ho * wo))
    dx = np.zeros_like(x)
    ref.col2im_ref(dcols.transpose(1, 0, 2) if wide else dcols, 0, *geom, dx, wide)
    _assert_same(dx, ref.conv2d_backward_input_ref(g, w, (7, 6), s, p, d, 1), "backward input")


def test_shifted_twins_compose_into_convolution():
    x, w = _conv_problem(2, 3, 5, 6, 4, 3, 2, seed=15)
    (pt, pl), (pb, pr), (dh, dw) = (2, 1), (1, 0), (1, 2)
    ho, wo = 5 + pt + pb - 2 * dh, 6 + pl + pr - dw
    hp, wp = ho + 2 * dh, wo + dw
    xp = np.zeros((2, 3, hp, wp))
    xp[:, :, pt:pt + 5, pl:pl + 6] = x                       # the driver's zero-padded frame
    wm = w.reshape(4, -1)
    cols = _nan((3 * 3 * 2, 2, ho * wp), np.float64)
    ref.shifted_im2col_ref(xp, 3, 2, dh, dw, ho, cols)
    y = (wm @ cols.reshape(18, -1)).reshape(4, 2, ho, wp)[..., :wo].transpose(1, 0, 2, 3)
    _assert_same(y, ref.conv2d_forward_ref(x, w, None, (1, 1), (pt, pl), (dh, dw), 1, (ho, wo)),
                 "forward")
    g = np.random.default_rng(16).standard_normal(y.shape)
    gs = np.zeros((4, 2, ho, wp))
    gs[..., :wo] = g.transpose(1, 0, 2, 3)                   # junk columns get no gradient
    dxp = np.zeros_like(xp)
    ref.shifted_col2im_ref((wm.T @ gs.reshape(4, -1)).reshape(18, 2, ho * wp), 3, 2, dh, dw, ho,
                           dxp)
    _assert_same(dxp[:, :, pt:pt + 5, pl:pl + 6],
                 ref.conv2d_backward_input_ref(g, w, (5, 6), (1, 1), (pt, pl), (dh, dw), 1),
                 "backward input")


def test_winograd_twins_compose_into_convolution():
    n, c, h, wd, k = 2, 3, 5, 7, 4
    x, w = _conv_problem(n, c, h, wd, k, 3, 3, seed=17)
    ho, wo, th, tw, p = h, wd, 3, 4, n * 12                   # padding 1: odd output, ragged tiles
    g_, gt = ref.WINOGRAD_G, ref.WINOGRAD_G.T
    u = np.stack([g_ @ w[kk, cc] @ gt for kk in range(k) for cc in range(c)])  # (K*C, 4, 4)
    u = u.reshape(k, c, 16).transpose(2, 0, 1)                                 # (16, K, C)
    v = _nan((16, c, p), np.float64)
    ref.winograd_input_transform_ref(x, 0, 1, 1, th, tw, v)
    y = _nan((n, k, ho, wo), np.float64)
    ref.winograd_output_transform_ref(u @ v, np.zeros(k), 0, th, tw, y)     # M[e] = U[e] @ V[e]
    _assert_same(y, ref.conv2d_forward_ref(x, w, None, (1, 1), (1, 1), (1, 1), 1, (ho, wo)),
                 "forward")
    g = np.random.default_rng(18).standard_normal(y.shape)
    dm = _nan((16, k, p), np.float64)
    ref.winograd_output_adjoint_ref(g, 0, th, tw, dm)
    dx = np.zeros_like(x)
    ref.winograd_input_adjoint_ref(u.transpose(0, 2, 1) @ dm, 0, 1, 1, th, tw, dx)
    _assert_same(dx, ref.conv2d_backward_input_ref(g, w, (h, wd), (1, 1), (1, 1), (1, 1), 1),
                 "backward input")
    du = (dm @ v.transpose(0, 2, 1)).reshape(16, 1, k, c)                    # dU[e] = dM[e] V[e]^T
    _assert_same(ref.winograd_weight_adjoint_ref(du),
                 ref.conv2d_backward_weight_ref(x, g, (3, 3), (1, 1), (1, 1), (1, 1), 1),
                 "backward weight")
