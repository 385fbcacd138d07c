"""conv2d and conv_transpose2d: gradients, worked examples from the lecture notes, the transposed
convolution as the transposed convolution matrix, and every argument error."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn.kernels import reference as ref


def t64(*shape, seed=0, grad=True):
    data = np.random.default_rng(seed).standard_normal(shape)
    return ac.tensor(data, dtype=ac.float64, requires_grad=grad)


def image(rows):
    """A (1, 1, H, W) float64 tensor from a nested list."""
    return ac.tensor(np.array(rows, dtype=np.float64)[None, None])


def kernel(rows):
    return ac.tensor(np.array(rows, dtype=np.float64)[None, None])


# ---- gradients (finite differences, random projection of the output) ------------------------

CONV_CASES = {
    "plain": ((2, 3, 6, 5), (4, 3, 3, 3), dict()),
    "stride 2 pad 1": ((2, 3, 7, 7), (4, 3, 3, 3), dict(stride=2, padding=1)),
    "rect stride/pad/dilation": ((1, 2, 8, 7), (3, 2, 3, 2),
                                 dict(stride=(2, 1), padding=(1, 2), dilation=(2, 1))),
    "same, even kernel": ((2, 2, 5, 6), (3, 2, 4, 2), dict(padding="same")),
    "same, dilated": ((1, 2, 6, 6), (2, 2, 3, 3), dict(padding="same", dilation=2)),
    "valid": ((1, 2, 5, 5), (2, 2, 3, 3), dict(padding="valid")),
    "groups": ((2, 4, 5, 5), (6, 2, 3, 3), dict(groups=2, padding=1)),
    "depthwise": ((2, 3, 5, 5), (3, 1, 3, 3), dict(groups=3, padding=1)),
    "1x1": ((2, 4, 3, 4), (5, 4, 1, 1), dict()),
    "winograd-sized channels": ((1, 16, 4, 4), (16, 16, 3, 3), dict(padding=1)),
}


@pytest.mark.nojit
@pytest.mark.parametrize("name", list(CONV_CASES))
def test_conv2d_gradcheck(name):
    xs, ws, kw = CONV_CASES[name]
    if name == "winograd-sized channels":
        # 768 finite differences per input would be slow without JIT: check x and b here,
        # w in test_conv2d_gradcheck_winograd_weight
        x, w, b = t64(*xs), t64(*ws, seed=1, grad=False), t64(ws[0], seed=2)
    else:
        x, w, b = t64(*xs), t64(*ws, seed=1), t64(ws[0], seed=2)
    assert ac.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b])


def test_conv2d_gradcheck_winograd_weight():
    x, w = t64(1, 16, 4, 4, grad=False), t64(16, 16, 3, 3, seed=1)
    assert ac.gradcheck(lambda x, w: F.conv2d(x, w, padding=1), [x, w])


TRANSPOSED_CASES = {
    "plain": ((2, 3, 4, 3), (3, 2, 3, 3), dict()),
    "stride 2 pad 1 output_padding 1": ((1, 2, 3, 4), (2, 3, 3, 3),
                                        dict(stride=2, padding=1, output_padding=1)),
    "rect, dilation": ((1, 2, 3, 3), (2, 2, 2, 3),
                       dict(stride=(1, 2), padding=(0, 1), dilation=(2, 1))),
    "output_padding < dilation": ((1, 2, 3, 3), (2, 1, 3, 3),
                                  dict(dilation=2, output_padding=1)),
    "groups": ((1, 4, 3, 3), (4, 3, 3, 3), dict(groups=2, stride=2)),
}


@pytest.mark.nojit
@pytest.mark.parametrize("name", list(TRANSPOSED_CASES))
def test_conv_transpose2d_gradcheck(name):
    xs, ws, kw = TRANSPOSED_CASES[name]
    groups = kw.get("groups", 1)
    x, w, b = t64(*xs), t64(*ws, seed=1), t64(ws[1] * groups, seed=2)
    assert ac.gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, **kw), [x, w, b])


@pytest.mark.nojit
def test_gradients_only_for_inputs_that_require_them(monkeypatch):
    # the op calls the kernel through backend.get_kernel, once per backward
    from autograd_cnn.kernels import conv as conv_kernels
    asked = []
    real = conv_kernels.conv2d_backward

    def spy(*args, need_input, need_weight, **kw):
        asked.append((need_input, need_weight))
        return real(*args, need_input=need_input, need_weight=need_weight, **kw)

    monkeypatch.setattr(conv_kernels, "conv2d_backward", spy)
    x, w, b = t64(1, 2, 4, 4, grad=False), t64(3, 2, 3, 3), t64(3)
    F.conv2d(x, w, b).sum().backward()      # a first layer: no gradient for the image
    assert asked == [(False, True)] and x.grad is None and w.grad is not None
    x2, w2 = t64(1, 2, 4, 4), t64(3, 2, 3, 3, grad=False)
    F.conv2d(x2, w2).sum().backward()
    assert asked[-1] == (True, False) and w2.grad is None and x2.grad is not None
    b3 = t64(3)
    F.conv2d(t64(1, 2, 4, 4, grad=False), t64(3, 2, 3, 3, grad=False), b3).sum().backward()
    assert len(asked) == 2                   # only the bias needed a gradient
    np.testing.assert_allclose(b3.grad.numpy(), np.full(3, 4.0))


@pytest.mark.nojit
def test_matches_reference_twins_and_keeps_float32(monkeypatch):
    x = ac.randn(2, 4, 7, 6, requires_grad=True)
    w = ac.randn(6, 2, 3, 3, requires_grad=True)
    b = ac.randn(6, requires_grad=True)
    y = F.conv2d(x, w, b, stride=(2, 1), padding=1, groups=2)
    assert y.dtype == np.float32 and y.shape == (2, 6, 4, 6)
    expected = ref.conv2d_forward_ref(x._data.astype(np.float64), w._data.astype(np.float64),
                                      b._data.astype(np.float64), (2, 1), (1, 1), (1, 1), 2,
                                      (4, 6))
    np.testing.assert_allclose(y._data, expected, rtol=1e-5, atol=1e-5)
    y.backward(np.ones(y.shape, np.float32))
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32
    monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
    x2, w2 = x.detach().requires_grad_(), w.detach().requires_grad_()
    y2 = F.conv2d(x2, w2, b.detach(), stride=(2, 1), padding=1, groups=2)
    y2.backward(np.ones(y2.shape, np.float32))
    np.testing.assert_allclose(y2._data, y._data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(x2.grad._data, x.grad._data, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(w2.grad._data, w.grad._data, rtol=1e-5, atol=1e-5)


@pytest.mark.nojit
def test_unbatched_and_non_contiguous_inputs():
    x = t64(1, 3, 6, 5)
    w = t64(2, 3, 3, 3, seed=1)
    y4 = F.conv2d(x, w, padding=1)
    y3 = F.conv2d(x[0], w, padding=1)               # (C, H, W) like PyTorch
    assert y3.shape == (2, 6, 5)
    np.testing.assert_allclose(y3._data, y4._data[0])
    xt = x.transpose(2, 3)                          # a non-contiguous view
    yt = F.conv2d(xt, w.transpose(2, 3), padding=1)
    np.testing.assert_allclose(yt._data, y4._data.transpose(0, 1, 3, 2), atol=1e-12)
    assert ac.gradcheck(lambda x, w: F.conv2d(x[0].transpose(1, 2), w, padding=1), [x, w])
    yT = F.conv_transpose2d(x[0], t64(3, 2, 2, 2, seed=3), stride=2)
    assert yT.shape == (2, 12, 10)


@pytest.mark.nojit
def test_same_padding_with_even_kernel_pads_the_end():
    x, w = t64(1, 1, 5, 6, grad=False), t64(1, 1, 4, 2, seed=1, grad=False)
    y = F.conv2d(x, w, padding="same")
    assert y.shape == (1, 1, 5, 6)
    # kernel 4 tall: 1 row before, 2 after; kernel 2 wide: 0 columns before, 1 after
    xp = np.pad(x._data, ((0, 0), (0, 0), (1, 2), (0, 1)))
    np.testing.assert_allclose(y._data, F.conv2d(ac.tensor(xp), w)._data, atol=1e-12)
    assert F.conv2d(x, w, padding="valid").shape == (1, 1, 2, 5)


# ---- worked examples of the lecture notes -------------------------------------------------


@pytest.mark.nojit
def test_notes_vertical_edge_detector_6x6():
    # 003 "CONVOLUTION": 6x6 image * [[1,0,-1]] x 3 -> 4x4. The notes print -16 at row 1,
    # column 0, but that window gives (1 + 2 + 0) - (8 + 2 + 3) = -10: the slide's arithmetic slip
    # (the lecture-notes README says the same). We trust the computation; the -16 at the
    # bottom-right corner is correct.
    x = image([[3, 0, 1, 2, 7, 4],
               [1, 5, 8, 9, 3, 1],
               [2, 7, 2, 5, 1, 3],
               [0, 1, 3, 1, 7, 8],
               [4, 2, 1, 6, 2, 8],
               [2, 4, 5, 2, 3, 9]])
    y = F.conv2d(x, kernel([[1, 0, -1]] * 3))
    expected = [[-5, -4, 0, 8],
                [-10, -2, 2, 3],
                [0, -2, -4, -7],
                [-3, -2, -3, -16]]
    np.testing.assert_array_equal(y._data[0, 0], expected)
    assert 3 + 1 + 2 + 0 + 0 + 0 - 1 - 8 - 2 == -5 == y._data[0, 0, 0, 0]   # the notes' sum


@pytest.mark.nojit
def test_notes_vertical_edge_in_the_middle():
    x = image([[10, 10, 10, 0, 0, 0]] * 6)
    y = F.conv2d(x, kernel([[1, 0, -1]] * 3))
    np.testing.assert_array_equal(y._data[0, 0], [[0, 30, 30, 0]] * 4)


@pytest.mark.nojit
def test_notes_5x5_image_3x3_kernel():
    # 001/003 "Convolution": the first convolved feature is 4 (the rest of the animation is
    # lost in the extraction; these are the values of the same computation)
    x = image([[1, 1, 1, 0, 0],
               [0, 1, 1, 1, 0],
               [0, 0, 1, 1, 1],
               [0, 0, 1, 1, 0],
               [0, 1, 1, 0, 0]])
    y = F.conv2d(x, kernel([[1, 0, 1], [0, 1, 0], [1, 0, 1]]))
    assert y._data[0, 0, 0, 0] == 4
    np.testing.assert_array_equal(y._data[0, 0], [[4, 3, 4], [2, 4, 3], [2, 3, 4]])


SEVEN = [[1, 2, 1, 2, 1, 0, 0],
         [0, 1, 2, 1, 1, 0, 1],
         [0, 0, 1, 0, 1, 1, 0],
         [1, 0, 0, 0, 1, 0, 1],
         [2, 0, 1, 0, 1, 2, 2],
         [0, 2, 1, 0, 1, 0, 1],
         [2, 2, 2, 0, 0, 1, 1]]


@pytest.mark.nojit
def test_notes_7x7_input_3x3_filter_and_strides():
    # 000 "Convolved feature": 7x7 input, 3x3 filter -> 5x5. The filter's picture is missing
    # from the notes; the all-ones filter (a 3x3 box sum) reproduces all 25 printed values.
    x = image(SEVEN)
    y = F.conv2d(x, kernel(np.ones((3, 3))))
    np.testing.assert_array_equal(y._data[0, 0], [[8, 10, 10, 7, 5],
                                                 [5, 5, 7, 5, 6],
                                                 [5, 2, 5, 6, 9],
                                                 [7, 4, 5, 5, 9],
                                                 [12, 8, 6, 5, 9]])
    # output size (N - F) / stride + 1: stride 2 -> 3; stride 3 -> 2.33 "doesn't fit", and
    # like every library we floor it to 2 (the last column/row is never visited)
    assert F.conv2d(x, kernel(np.ones((3, 3))), stride=2).shape[2:] == (3, 3)
    np.testing.assert_array_equal(F.conv2d(x, kernel(np.ones((3, 3))), stride=2)._data[0, 0],
                                  y._data[0, 0, ::2, ::2])
    assert F.conv2d(x, kernel(np.ones((3, 3))), stride=3).shape[2:] == (2, 2)
    # zero-padding with (F - 1) / 2 preserves the size
    assert F.conv2d(x, kernel(np.ones((3, 3))), padding=1).shape[2:] == (7, 7)
    assert F.conv2d(x, kernel(np.ones((5, 5))), padding=2).shape[2:] == (7, 7)


@pytest.mark.nojit
def test_notes_zero_padding_example():
    # 001 "Padding": a 5x5 image padded by one ring of zeros, kernel weights in the subscripts;
    # the notes show the top-left 3x3 of the (size-preserving) output
    x = image([[2, 2, 3, 3, 3],
               [0, 1, 3, 0, 3],
               [2, 3, 0, 1, 3],
               [3, 3, 2, 1, 2],
               [3, 3, 0, 2, 3]])
    y = F.conv2d(x, kernel([[2, 0, 1], [1, 0, 0], [0, 1, 1]]), padding=1)
    assert y.shape == (1, 1, 5, 5)
    np.testing.assert_array_equal(y._data[0, 0, :3, :3], [[1, 6, 5], [7, 10, 9], [7, 10, 8]])


@pytest.mark.nojit
def test_notes_spatially_separable_sobel():
    # 002: [[-1,0,1],[-2,0,2],[-1,0,1]] = [1,2,1]^T x [-1,0,1]: a 3x1 then a 1x3 convolution
    x = t64(2, 1, 7, 6, grad=False)
    sobel = kernel([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]])
    two_step = F.conv2d(F.conv2d(x, kernel([[1], [2], [1]])), kernel([[-1, 0, 1]]))
    np.testing.assert_allclose(two_step._data, F.conv2d(x, sobel)._data, atol=1e-12)


@pytest.mark.nojit
def test_notes_depthwise_separable_counts():
    # 002: 256 5x5x3 kernels over a 12x12x3 image (8x8 output): 1,228,800 multiplications;
    # depthwise (3 5x5x1, groups=3) then pointwise (256 1x1x3): 4,800 + 49,152 = 53,952
    x = t64(1, 3, 12, 12, grad=False)
    full_w = t64(256, 3, 5, 5, grad=False)
    depth_w, point_w = t64(3, 1, 5, 5, seed=1, grad=False), t64(256, 3, 1, 1, grad=False)
    full = F.conv2d(x, full_w)
    depth = F.conv2d(x, depth_w, groups=3)
    sep = F.conv2d(depth, point_w)
    assert full.shape == sep.shape == (1, 256, 8, 8) and depth.shape == (1, 3, 8, 8)

    def mults(w, y):                         # every weight multiplies once per output position
        return w._data.size * y.shape[2] * y.shape[3]

    assert mults(full_w, full) == 1_228_800
    assert (mults(depth_w, depth), mults(point_w, sep)) == (4_800, 49_152)
    assert mults(depth_w, depth) + mults(point_w, sep) == 53_952
    # and the separable form is the full convolution with kernel point[k, c] * depth[c]
    combined = point_w._data[:, :, 0, 0][:, :, None, None] * depth_w._data[None, :, 0]
    np.testing.assert_allclose(F.conv2d(x, ac.tensor(combined))._data, sep._data, atol=1e-10)


def conv_matrix(w, in_hw):
    """The matrix C with conv2d(x, w).flatten() = C @ x.flatten(), built entry by entry
    from the definition (one input and one output channel, stride 1, no padding)."""
    kh, kw = w.shape
    h, wd = in_hw
    ho, wo = h - kh + 1, wd - kw + 1
    c = np.zeros((ho * wo, h * wd))
    for oy in range(ho):
        for ox in range(wo):
            for i in range(kh):
                for j in range(kw):
                    c[oy * wo + ox, (oy + i) * wd + (ox + j)] = w[i, j]
    return c


@pytest.mark.nojit
def test_notes_convolution_matrix_3x3_input_2x2_kernel():
    # 002: the 4x9 matrix of k1..k4 for a 3x3 input and 2x2 kernel, as printed
    k1, k2, k3, k4 = 2.0, -1.0, 0.5, 3.0
    printed = np.array([[k1, k2, 0, k3, k4, 0, 0, 0, 0],
                        [0, k1, k2, 0, k3, k4, 0, 0, 0],
                        [0, 0, 0, k1, k2, 0, k3, k4, 0],
                        [0, 0, 0, 0, k1, k2, 0, k3, k4]])
    w = np.array([[k1, k2], [k3, k4]])
    np.testing.assert_array_equal(conv_matrix(w, (3, 3)), printed)
    x = np.arange(1.0, 10.0)
    y = F.conv2d(image(x.reshape(3, 3)), kernel(w))
    np.testing.assert_allclose(y._data.reshape(-1), printed @ x)


@pytest.mark.nojit
def test_transposed_convolution_is_the_transposed_matrix():
    # 002: 4x4 input, 3x3 kernel, no padding, stride 1 -> 2x2; C is 4x16 and the transposed
    # convolution maps a 2x2 back to 4x4 by C^T (one-to-many instead of many-to-one)
    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 3))
    c = conv_matrix(w, (4, 4))
    assert c.shape == (4, 16)
    x = rng.standard_normal((4, 4))
    np.testing.assert_allclose(F.conv2d(image(x), kernel(w))._data.reshape(-1), c @ x.reshape(-1),
                               atol=1e-12)
    y = rng.standard_normal((2, 2))
    up = F.conv_transpose2d(image(y), kernel(w))
    assert up.shape == (1, 1, 4, 4)
    np.testing.assert_allclose(up._data.reshape(-1), c.T @ y.reshape(-1), atol=1e-12)
    # and it is conv2d's input gradient: <conv(x), y> = <x, conv_transpose(y)>
    xt = ac.tensor(x[None, None], requires_grad=True)
    F.conv2d(xt, kernel(w)).backward(y[None, None])
    np.testing.assert_allclose(xt.grad._data, up._data, atol=1e-12)


@pytest.mark.nojit
def test_strided_transposed_convolution_is_the_transposed_matrix():
    # stride 2, padding 1, output_padding 1: conv2d maps 6x6 -> 3x3, its transpose 3x3 -> 6x6
    rng = np.random.default_rng(6)
    w = rng.standard_normal((1, 1, 3, 3))
    basis = np.eye(36).reshape(36, 1, 1, 6, 6)
    c = np.stack([F.conv2d(ac.tensor(e), ac.tensor(w), stride=2, padding=1)._data.reshape(-1)
                  for e in basis], axis=1)                         # (9, 36), column by column
    y = rng.standard_normal((1, 1, 3, 3))
    up = F.conv_transpose2d(ac.tensor(y), ac.tensor(w), stride=2, padding=1, output_padding=1)
    assert up.shape == (1, 1, 6, 6)
    np.testing.assert_allclose(up._data.reshape(-1), c.T @ y.reshape(-1), atol=1e-12)


# ---- every argument error -----------------------------------------------------------------


def _x(*shape, dtype=np.float32):
    return ac.tensor(np.zeros(shape, dtype=dtype))


CONV_ERRORS = [
    (dict(x=_x(1, 3, 8, 8), w=_x(8, 4, 3, 3)), ValueError,
     r"conv2d: input has 3 channels but weight expects 4 \(weight shape \(8, 4, 3, 3\)\)$"),
    (dict(x=_x(1, 4, 8, 8), w=_x(8, 4, 3, 3), groups=2), ValueError,
     r"input has 4 channels but weight expects 8 \(weight shape \(8, 4, 3, 3\), groups=2\)"),
    (dict(x=_x(3, 8, 8, 1, 1), w=_x(8, 3, 3, 3)), ValueError,
     r"expected a 4-D input \(N, C, H, W\) or a 3-D unbatched input \(C, H, W\), got shape"),
    (dict(x=_x(8, 8), w=_x(8, 3, 3, 3)), ValueError, r"4-D input .* got shape \(8, 8\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(8, 3, 3)), ValueError,
     r"weight must be 4-D \(out_channels, in_channels/groups, kH, kW\), got shape \(8, 3, 3\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(6, 1, 3, 3), groups=2), ValueError,
     "input has 3 channels, not divisible by groups=2"),
    (dict(x=_x(1, 4, 8, 8), w=_x(5, 2, 3, 3), groups=2), ValueError,
     r"weight has 5 output channels \(weight shape \(5, 2, 3, 3\)\), not divisible by groups=2"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), groups=0), ValueError,
     "groups must be a positive int, got 0"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), groups=1.5), TypeError,
     "groups must be a positive int, got 1.5"),
    (dict(x=_x(1, 3, 4, 4), w=_x(4, 3, 5, 5)), ValueError,
     r"kernel 5x5 is larger than the padded input 4x4 \(input 4x4, padding \(0, 0\) before"),
    (dict(x=_x(1, 3, 4, 4), w=_x(4, 3, 3, 3), dilation=2), ValueError,
     r"kernel 3x3 \(dilation \(2, 2\) spreads it over 5x5\) is larger than the padded input 4x4"),
    (dict(x=_x(1, 3, 2, 9), w=_x(4, 3, 3, 3), padding=(0, 1)), ValueError,
     r"larger than the padded input 2x11"),
    (dict(x=_x(1, 3, 8, 8, dtype=np.int64), w=_x(4, 3, 3, 3)), TypeError,
     "input has dtype int64; convolution needs float32 or float64"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3, dtype=np.float64)), TypeError,
     "input is float32 but weight is float64"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), b=_x(4, dtype=np.float64)), TypeError,
     "input is float32 but bias is float64"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), b=_x(3)), ValueError,
     r"bias must have shape \(4,\), one entry per output channel, got \(3,\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), stride=0), ValueError,
     "stride must be >= 1, got 0"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), stride=1.5), TypeError,
     "stride must be an int or a pair of ints, got 1.5: 1.5 is a float"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), stride=float("nan")), TypeError,
     r"stride must be an int or a pair of ints, got nan: nan is a float \(not even finite\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding=float("inf")), TypeError,
     r"padding must be an int .* inf is a float \(not even finite\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding=(1, True)), TypeError,
     "padding must be an int or a pair of ints, got"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding=-1), ValueError,
     "padding must be >= 0, got -1"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding=(1, 1, 1)), ValueError,
     r"padding must be an int or a pair of ints \(height, width\), got \(1, 1, 1\) with 3"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding="full"), ValueError,
     "padding must be 'same', 'valid', an int or a pair of ints, got 'full'"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), padding="same", stride=2), ValueError,
     r"padding='same' needs stride 1 .* got stride \(2, 2\)"),
    (dict(x=_x(1, 3, 8, 8), w=_x(4, 3, 3, 3), dilation=(1, 0)), ValueError,
     r"dilation must be >= 1, got \(1, 0\)"),
    (dict(x="image", w=_x(4, 3, 3, 3)), TypeError, "conv2d: expected a Tensor, got str"),
]


@pytest.mark.nojit
@pytest.mark.parametrize("args,exc,pattern", CONV_ERRORS)
def test_conv2d_errors(args, exc, pattern):
    args = dict(args)
    x, w, b = args.pop("x"), args.pop("w"), args.pop("b", None)
    with pytest.raises(exc, match=pattern):
        F.conv2d(x, w, b, **args)


TRANSPOSED_ERRORS = [
    (dict(x=_x(1, 3, 4, 4), w=_x(4, 2, 3, 3)), ValueError,
     r"conv_transpose2d: input has 3 channels but weight expects 4 \(weight shape \(4, 2, 3, 3\)\)"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), groups=2), ValueError,
     "input has 3 channels, not divisible by groups=2"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), b=_x(3)), ValueError,
     r"bias must have shape \(2,\), one entry per output channel, got \(3,\)"),
    (dict(x=_x(1, 4, 4, 4), w=_x(4, 2, 3, 3), b=_x(2), groups=2), ValueError,
     r"bias must have shape \(4,\)"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), stride=2, output_padding=2), ValueError,
     r"output_padding \(2, 2\) must be smaller than stride \(2, 2\) or dilation \(1, 1\)"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), output_padding=1), ValueError,
     "output_padding .* must be smaller than stride"),
    (dict(x=_x(1, 3, 2, 2), w=_x(3, 2, 3, 3), padding=3), ValueError,
     r"output size would be -2x-2 for input 2x2, kernel 3x3, .* it must be positive"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), padding="same"), ValueError,
     "padding must be an int or a pair of ints, got 'same'"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), stride=(1, 2.0)), TypeError,
     "stride must be an int or a pair of ints"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), dilation=0), ValueError,
     "dilation must be >= 1, got 0"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3)), ValueError,
     r"weight must be 4-D \(in_channels, out_channels/groups, kH, kW\)"),
    (dict(x=_x(3, 4), w=_x(3, 2, 3, 3)), ValueError, "expected a 4-D input"),
    (dict(x=_x(1, 3, 4, 4, dtype=np.float64), w=_x(3, 2, 3, 3)), TypeError,
     "input is float64 but weight is float32"),
    (dict(x=_x(1, 3, 4, 4), w=_x(3, 2, 3, 3), groups=-1), ValueError,
     "groups must be a positive int, got -1"),
]


@pytest.mark.nojit
@pytest.mark.parametrize("args,exc,pattern", TRANSPOSED_ERRORS)
def test_conv_transpose2d_errors(args, exc, pattern):
    args = dict(args)
    x, w, b = args.pop("x"), args.pop("w"), args.pop("b", None)
    with pytest.raises(exc, match=pattern):
        F.conv_transpose2d(x, w, b, **args)
