"""Convolution, pooling and upsampling layers: the shape formulas of their docstrings, values
against plain numpy loops, the adjoint relation between Conv2d and ConvTranspose2d, float64
gradchecks with respect to the input and the parameters, and a small CNN that trains."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import optim

pytestmark = pytest.mark.nojit


def randn(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return ac.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def check_layer(layer, x):
    layer.double()
    params = [p for p in layer.parameters() if p.requires_grad]
    assert ac.gradcheck(lambda x, *ps: layer(x), [x, *params])


def naive_conv2d(x, w, b, stride, padding, dilation, groups):
    """Cross-correlation by the definition, one output element at a time."""
    n, c, h, wd = x.shape
    k, cg, kh, kw = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    wo = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, k, ho, wo))
    per_group = k // groups
    for i in range(n):
        for o in range(k):
            g = o // per_group
            for r in range(ho):
                for s in range(wo):
                    patch = xp[i, g * cg:(g + 1) * cg, r * sh:r * sh + dh * (kh - 1) + 1:dh,
                               s * sw:s * sw + dw * (kw - 1) + 1:dw]
                    out[i, o, r, s] = (patch * w[o]).sum() + (b[o] if b is not None else 0)
    return out


CONV_CONFIGS = [
    dict(in_channels=2, out_channels=3, kernel_size=3),
    dict(in_channels=2, out_channels=4, kernel_size=(3, 2), stride=2, padding=1),
    dict(in_channels=4, out_channels=2, kernel_size=2, dilation=2, groups=2, bias=False),
    dict(in_channels=2, out_channels=2, kernel_size=(2, 3), stride=(1, 2), padding=(0, 1)),
]


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_matches_the_definition_and_its_shape_formula(config):
    conv = nn.Conv2d(**config).double()
    x = randn(2, config["in_channels"], 7, 6, requires_grad=False)
    y = conv(x)
    kh, kw = conv.kernel_size
    (sh, sw), (ph, pw), (dh, dw) = conv.stride, conv.padding, conv.dilation
    assert y.shape == (2, conv.out_channels, (7 + 2 * ph - dh * (kh - 1) - 1) // sh + 1,
                       (6 + 2 * pw - dw * (kw - 1) - 1) // sw + 1)
    bias = conv.bias._data if conv.bias is not None else None
    np.testing.assert_allclose(y._data, naive_conv2d(x._data, conv.weight._data, bias, conv.stride,
                                                    conv.padding, conv.dilation, conv.groups),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONV_CONFIGS)
def test_conv2d_gradients(config):
    check_layer(nn.Conv2d(**config), randn(2, config["in_channels"], 5, 5))


def test_conv2d_same_and_valid_padding():
    x = randn(1, 2, 5, 6, requires_grad=False)
    for k in (3, 4, (2, 5)):
        conv = nn.Conv2d(2, 3, k, padding="same").double()
        assert conv(x).shape == (1, 3, 5, 6)
    # an even kernel pads the extra row/column at the end (PyTorch's convention)
    conv = nn.Conv2d(2, 3, 4, padding="same").double()
    padded = F.pad(x, (1, 2, 1, 2))
    np.testing.assert_allclose(conv(x)._data, F.conv2d(padded, conv.weight, conv.bias)._data,
                               rtol=1e-12)
    assert nn.Conv2d(2, 3, 3, padding="valid").double()(x).shape == (1, 3, 3, 4)
    check_layer(nn.Conv2d(2, 2, 4, padding="same"), randn(1, 2, 4, 5))


@pytest.mark.parametrize("stride,padding,output_padding,groups,dilation", [
    (1, 0, 0, 1, 1), (2, 1, 1, 1, 1), (2, 0, 0, 2, 1), (3, 1, 2, 1, 2)])
def test_conv_transpose2d_is_the_adjoint_of_conv2d(stride, padding, output_padding, groups,
                                                   dilation):
    tconv = nn.ConvTranspose2d(4, 2, 3, stride, padding, output_padding, groups, bias=False,
                               dilation=dilation).double()
    y = randn(2, 4, 4, 3, requires_grad=False)
    out = tconv(y)
    ho = (4 - 1) * stride - 2 * padding + dilation * 2 + output_padding + 1
    wo = (3 - 1) * stride - 2 * padding + dilation * 2 + output_padding + 1
    assert out.shape == (2, 2, ho, wo)
    # <conv2d(x, W), y> = <x, conv_transpose2d(y, W)> for every x: transposition, checked
    x = randn(2, 2, ho, wo, seed=1, requires_grad=False)
    forward = F.conv2d(x, tconv.weight, None, stride, padding, dilation, groups)
    assert forward.shape == y.shape
    np.testing.assert_allclose((forward._data * y._data).sum(), (x._data * out._data).sum(),
                               rtol=1e-10)
    check_layer(nn.ConvTranspose2d(4, 2, 3, stride, padding, output_padding, groups,
                                   dilation=dilation), randn(1, 4, 3, 3))


def test_conv_transpose2d_output_size_picks_the_output_padding():
    down = nn.Conv2d(1, 1, 3, stride=2, padding=1)
    up = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1)
    for size in (7, 8):                              # both map to 4 under the strided conv
        x = ac.randn(1, 1, size, size)
        assert up(down(x), output_size=x.shape[2:]).shape == x.shape
    with pytest.raises(ValueError, match="not reachable"):
        up(ac.randn(1, 1, 4, 4), output_size=(10, 10))


# ---- pooling -----------------------------------------------------------------------------------


def test_max_and_avg_pool_values_and_shapes():
    x = ac.tensor(np.arange(16.0).reshape(1, 1, 4, 4) * np.array([1, -1, 1, -1]))
    np.testing.assert_array_equal(nn.MaxPool2d(2)(x)._data.reshape(-1), [4, 6, 12, 14])
    np.testing.assert_allclose(nn.AvgPool2d(2)(x)._data.reshape(-1), [-0.5, -0.5, -0.5, -0.5])
    y = randn(2, 3, 7, 6, requires_grad=False)
    # Ho = floor((H + 2p - d(k - 1) - 1) / s) + 1, ceil with ceil_mode
    assert nn.MaxPool2d(3, stride=2, padding=1)(y).shape == (2, 3, 4, 3)
    assert nn.MaxPool2d(2, ceil_mode=True)(y).shape == (2, 3, 4, 3)
    assert nn.MaxPool2d(2, dilation=2)(y).shape == (2, 3, 3, 2)
    assert nn.AvgPool2d(3, stride=1, padding=1)(y).shape == (2, 3, 7, 6)
    pad_counts = nn.AvgPool2d(2, padding=1, count_include_pad=True)(ac.ones(1, 1, 2, 2))
    pad_ignored = nn.AvgPool2d(2, padding=1, count_include_pad=False)(ac.ones(1, 1, 2, 2))
    np.testing.assert_allclose(pad_counts._data, 0.25)
    np.testing.assert_allclose(pad_ignored._data, 1.0)
    np.testing.assert_allclose(nn.AvgPool2d(2, divisor_override=1)(ac.ones(1, 1, 2, 2))._data, 4)


@pytest.mark.parametrize("layer", [
    nn.MaxPool2d(2), nn.MaxPool2d(3, stride=2, padding=1), nn.AvgPool2d(2),
    nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    nn.AdaptiveAvgPool2d((2, 3)), nn.AdaptiveMaxPool2d(2), nn.AdaptiveAvgPool2d((None, 1)),
    nn.Upsample(scale_factor=2), nn.Upsample(size=(5, 7), mode="bilinear"),
    nn.Upsample(scale_factor=1.5, mode="bilinear", align_corners=True),
], ids=repr)
def test_pooling_and_upsampling_gradients(layer):
    check_layer(layer, randn(2, 2, 5, 6))


def test_adaptive_pools_and_upsample_values():
    x = randn(2, 3, 5, 7, requires_grad=False)
    np.testing.assert_allclose(nn.AdaptiveAvgPool2d(1)(x)._data, x._data.mean((2, 3),
                                                                            keepdims=True))
    np.testing.assert_allclose(nn.AdaptiveMaxPool2d((1, 1))(x)._data, x._data.max((2, 3),
                                                                                keepdims=True))
    assert nn.AdaptiveAvgPool2d((None, 2))(x).shape == (2, 3, 5, 2)
    up = nn.Upsample(scale_factor=2)(x)
    np.testing.assert_array_equal(up._data, x._data.repeat(2, axis=2).repeat(2, axis=3))
    assert nn.Upsample(size=4, mode="bilinear")(x).shape == (2, 3, 4, 4)


def test_max_unpool_inverts_max_pool_where_the_maxima_were():
    pool = nn.MaxPool2d(2, return_indices=True)
    unpool = nn.MaxUnpool2d(2)
    x = randn(1, 2, 4, 6, requires_grad=False)
    y, idx = pool(x)
    back = unpool(y, idx)
    assert back.shape == x.shape
    kept = back._data != 0
    np.testing.assert_array_equal(back._data[kept], x._data[kept])
    assert kept.sum() == y._data.size                          # one survivor per window
    np.testing.assert_array_equal(pool(back)[0]._data, y._data)
    assert unpool(y, idx, output_size=(5, 7)).shape == (1, 2, 5, 7)
    xg = randn(1, 2, 4, 6)
    assert ac.gradcheck(lambda v: unpool(v, idx), [randn(1, 2, 2, 3, seed=3)])
    assert ac.gradcheck(lambda v: pool(v)[0], [xg])


# ---- a small CNN end to end --------------------------------------------------------------------


def test_a_small_cnn_trains_and_switches_modes():
    ac.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding="same"), nn.ReLU(), nn.Dropout2d(0.1),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 1, 8, 8)).astype(np.float32)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).astype(np.int64)  # top vs bottom
    x = ac.tensor(x)
    opt = optim.Adam(model.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.5 * first
    model.eval()
    with ac.no_grad():
        a, b = model(x), model(x)
    np.testing.assert_array_equal(a._data, b._data)            # eval: deterministic
    assert (a._data.argmax(1) == y).mean() >= 0.9
