"""Layers: float64 gradchecks with respect to the input and every parameter, forward values
against numpy formulas, training/eval behaviour, default initialisation, and argument errors.
(Convolution and pooling layers: tests/test_layers_conv.py.)"""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F

pytestmark = pytest.mark.nojit


def randn(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return ac.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


def check_layer(layer, x, seed=0):
    """gradcheck of ``layer`` in float64 with respect to its input and all its parameters."""
    layer.double()
    params = [p for p in layer.parameters() if p.requires_grad]
    assert ac.gradcheck(lambda x, *ps: layer(x), [x, *params], seed=seed)


# ---- Linear and friends ------------------------------------------------------------------------


def test_linear_forward_and_gradients():
    lin = nn.Linear(4, 3)
    x = randn(5, 4)
    lin.double()
    np.testing.assert_allclose(lin(x)._data, x._data @ lin.weight._data.T + lin.bias._data)
    check_layer(lin, x)
    check_layer(nn.Linear(4, 3, bias=False), randn(2, 7, 4))       # extra leading dims
    assert lin(x).shape == (5, 3)


def test_linear_default_init_matches_pytorch():
    ac.manual_seed(0)
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)          # kaiming_uniform_(a=sqrt(5)) gives 1/sqrt(fan_in)
    w, b = lin.weight._data, lin.bias._data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound / math.sqrt(3)
    assert abs(w.mean()) < 0.01 * bound
    assert np.abs(b).max() > 0.9 * bound      # spans the interval, not a smaller one


def test_conv_default_init_matches_pytorch():
    ac.manual_seed(0)
    conv = nn.Conv2d(16, 32, 3)                       # fan_in = 16 * 3 * 3
    bound = 1 / math.sqrt(16 * 9)
    assert conv.weight.shape == (32, 16, 3, 3) and conv.bias.shape == (32,)
    assert np.abs(conv.weight._data).max() <= bound and np.abs(conv.bias._data).max() <= bound
    assert abs(conv.weight._data.std() - bound / math.sqrt(3)) < 0.03 * bound / math.sqrt(3)
    tconv = nn.ConvTranspose2d(8, 4, 3, groups=2)     # weight (8, 2, 3, 3): fan_in = 2 * 9
    assert tconv.weight.shape == (8, 2, 3, 3)
    assert np.abs(tconv.bias._data).max() <= 1 / math.sqrt(18)
    grouped = nn.Conv2d(4, 8, 3, groups=2, bias=False)
    assert grouped.weight.shape == (8, 2, 3, 3) and grouped.bias is None


def test_layer_argument_errors():
    with pytest.raises(ValueError, match="in_features must be non-negative"):
        nn.Linear(-1, 2)
    with pytest.raises(TypeError, match="in_features must be an int"):
        nn.Linear(2.5, 3)
    with pytest.raises(ValueError, match="input has 3 features"):
        nn.Linear(4, 2)(ac.randn(2, 3))
    with pytest.raises(ValueError, match=r"in_channels \(3\) must be divisible by groups \(2\)"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding='same' needs stride 1"):
        nn.Conv2d(3, 4, 3, stride=2, padding="same")
    with pytest.raises(ValueError, match="padding must be an int, a pair, 'same' or 'valid'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        nn.Conv2d(3, 4, (3, 3, 3))
    with pytest.raises(ValueError, match="stride must be >= 1"):
        nn.Conv2d(3, 4, 3, stride=0)
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="output_padding"):
        nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="at most half"):
        nn.MaxPool2d(2, padding=2)
    with pytest.raises(ValueError, match="output_size entries must be positive"):
        nn.AdaptiveAvgPool2d((0, 2))
    with pytest.raises(ValueError, match="exactly one of size and scale_factor"):
        nn.Upsample()
    with pytest.raises(ValueError, match="mode must be one of"):
        nn.Upsample(scale_factor=2, mode="cubic")
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\]"):
        nn.Dropout(1.5)


def test_layer_reprs_show_configuration():
    assert repr(nn.Conv2d(3, 8, 3, stride=2, padding=1, groups=1, bias=False)) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), bias=False)"
    assert repr(nn.Conv2d(3, 8, 3, padding="same")) == \
        "Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding='same')"
    assert repr(nn.ConvTranspose2d(8, 4, 2, stride=2)) == \
        "ConvTranspose2d(8, 4, kernel_size=(2, 2), stride=(2, 2))"
    assert repr(nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1), " \
        "ceil_mode=False)"
    assert repr(nn.BatchNorm2d(16)) == \
        "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    assert repr(nn.Dropout(0.3)) == "Dropout(p=0.3, inplace=False)"
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"
    assert repr(nn.LocalResponseNorm(5, k=2.0)) == \
        "LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2.0)"
    assert repr(nn.CrossEntropyLoss(reduction="sum")) == "CrossEntropyLoss(reduction='sum')"


def test_flatten_unflatten_identity():
    x = randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 1)(x).shape == (6, 4, 5)
    assert nn.Unflatten(1, (3, 20))(nn.Flatten()(x)).shape == (2, 3, 20)
    assert nn.Identity(54, unused="x")(x) is x
    check_layer(nn.Sequential(nn.Flatten(), nn.Linear(60, 2)), x)


# ---- activations -------------------------------------------------------------------------------

ACTIVATIONS = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (nn.ELU(0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.Softplus(beta=2.0), lambda x: np.log1p(np.exp(2 * x)) / 2),
    (nn.Hardtanh(-0.5, 0.8), lambda x: np.clip(x, -0.5, 0.8)),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=1), lambda x: x - np.log(np.exp(x).sum(1, keepdims=True))),
    (nn.PReLU(), lambda x: np.where(x > 0, x, 0.25 * x)),
    (nn.PReLU(3, init=0.1, dtype="float64"), lambda x: np.where(x > 0, x, 0.1 * x)),
]


@pytest.mark.parametrize("layer,reference", ACTIVATIONS, ids=lambda v: repr(v)[:20])
def test_activation_values_and_gradients(layer, reference):
    x = randn(4, 3, 2)
    layer.double()
    np.testing.assert_allclose(layer(x)._data, reference(x._data), rtol=1e-12, atol=1e-12)
    check_layer(layer, x)


def test_step_is_the_heaviside_function_with_zero_gradient():
    x = ac.tensor([-1.5, 0.0, 0.2, 3.0], requires_grad=True)
    y = nn.Step()(x)
    np.testing.assert_array_equal(y._data, [0, 0, 1, 1])
    # zero derivative almost everywhere: backward runs, and nothing flows back
    (y * ac.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0, 0.0])
    lin = nn.Linear(3, 2)
    nn.MSELoss()(nn.Sequential(lin, nn.Step())(ac.randn(4, 3)), ac.ones(4, 2)).backward()
    assert not lin.weight.grad.numpy().any() and not lin.bias.grad.numpy().any()


def test_softmax_without_dim_warns_like_pytorch():
    with pytest.warns(UserWarning, match="implicit dimension"):
        out = nn.Softmax()(randn(2, 3))
    np.testing.assert_allclose(out._data.sum(1), 1)


def test_prelu_learns_one_slope_per_channel():
    prelu = nn.PReLU(3).double()
    x = randn(5, 3, 2, 2)
    prelu(x).sum().backward()
    expected = np.where(x._data > 0, 0, x._data).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(prelu.weight.grad._data, expected)


# ---- dropout -----------------------------------------------------------------------------------


def test_dropout_zeros_a_fraction_p_and_scales_survivors():
    ac.manual_seed(1)
    drop = nn.Dropout(0.3)
    x = ac.ones(200, 100)
    y = drop(x)._data
    assert abs((y == 0).mean() - 0.3) < 0.01
    np.testing.assert_allclose(np.unique(y), [0, 1 / 0.7], rtol=1e-6)
    assert abs(y.mean() - 1) < 0.02                   # expectation preserved


def test_dropout_eval_is_identity_and_p0_p1():
    drop = nn.Dropout(0.5).eval()
    x = randn(3, 4)
    assert drop(x) is x
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0)._data == 0)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\], got -0.1"):
        F.dropout(x, -0.1)


def test_dropout_gradient_under_a_fixed_mask():
    x = randn(4, 5)
    drop = nn.Dropout(0.4).double()

    def fixed(x):
        ac.manual_seed(123)               # the same mask at every evaluation
        return drop(x)

    assert ac.gradcheck(fixed, [x])
    y = fixed(x)
    y.backward(np.ones(y.shape))
    np.testing.assert_allclose(x.grad._data, (y._data != 0) / 0.6)      # d/dx = mask / (1 - p)
    assert ac.gradcheck(lambda x: F.dropout(x, 0.5, generator=7), [x])


def test_dropout2d_drops_whole_channels():
    ac.manual_seed(2)
    x = ac.ones(8, 16, 3, 3)
    y = nn.Dropout2d(0.5)(x)._data
    per_channel = y.reshape(8, 16, 9)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))
    assert 0.3 < (per_channel[..., 0] == 0).mean() < 0.7
    assert ac.gradcheck(lambda x: F.dropout2d(x, 0.5, generator=3), [randn(2, 3, 2, 2)])
    assert nn.Dropout2d().eval()(x) is x
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(C, H, W\)"):
        F.dropout2d(ac.ones(3, 3))


# ---- batch norm --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 3), (4, 3, 5), (4, 3, 2, 3)])
def test_batchnorm_training_normalises_and_updates_running_stats(shape):
    bn = (nn.BatchNorm1d(3) if len(shape) < 4 else nn.BatchNorm2d(3)).double()
    with ac.no_grad():
        bn.weight.copy_([1.0, 2.0, 0.5])
        bn.bias.copy_([0.0, -1.0, 3.0])
    x = randn(*shape, requires_grad=False) * 2 + 1
    y = bn(x)._data
    axes = (0,) + tuple(range(2, len(shape)))
    c = (1, 3) + (1,) * (len(shape) - 2)
    mean, var = x._data.mean(axis=axes), x._data.var(axis=axes)            # biased for y
    expected = (x._data - mean.reshape(c)) / np.sqrt(var.reshape(c) + 1e-5)
    expected = expected * np.array([1.0, 2.0, 0.5]).reshape(c) + np.array([0, -1, 3]).reshape(c)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12)
    n = x._data.size // 3
    np.testing.assert_allclose(bn.running_mean._data, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var._data, 0.9 + 0.1 * var * n / (n - 1),   # unbiased
                               rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == 1


def test_batchnorm_eval_uses_running_statistics():
    bn = nn.BatchNorm2d(2).double()
    with ac.no_grad():
        bn.running_mean.copy_([0.5, -1.0])
        bn.running_var.copy_([4.0, 0.25])
        bn.weight.copy_([2.0, 1.0])
        bn.bias.copy_([0.1, 0.2])
    bn.eval()
    x = randn(3, 2, 2, 2, requires_grad=False)
    expected = (x._data - np.array([0.5, -1.0]).reshape(1, 2, 1, 1)) / \
        np.sqrt(np.array([4.0, 0.25]).reshape(1, 2, 1, 1) + 1e-5) * \
        np.array([2.0, 1.0]).reshape(1, 2, 1, 1) + np.array([0.1, 0.2]).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(bn(x)._data, expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean._data, [0.5, -1.0])      # not updated
    assert int(bn.num_batches_tracked.item()) == 0
    out1 = bn(x[:1])._data                           # each sample alone gives the same result
    np.testing.assert_allclose(out1, expected[:1], rtol=1e-12)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(5, 3), (3, 3, 2, 2)])
def test_batchnorm_gradients(training, shape):
    bn = (nn.BatchNorm1d(3) if len(shape) == 2 else nn.BatchNorm2d(3)).double()
    with ac.no_grad():
        bn.weight.copy_(np.array([1.5, -0.7, 0.3]))
        bn.bias.copy_(np.array([0.2, 0.1, -0.4]))
        bn.running_mean.copy_(np.array([0.3, -0.2, 0.1]))
        bn.running_var.copy_(np.array([1.7, 0.4, 2.2]))
    bn.train(training)
    check_layer(bn, randn(*shape, seed=4))


@pytest.mark.parametrize("training", [True, False])
def test_frozen_batchnorm_passes_gradients_to_its_input(training):
    bn = nn.BatchNorm2d(3).double().requires_grad_(False)     # transfer learning: frozen
    with ac.no_grad():
        bn.running_var.copy_([0.5, 2.0, 1.5])
    bn.train(training)
    check_layer(bn, randn(2, 3, 2, 2, seed=6))
    assert bn.weight.grad is None


def test_batchnorm_momentum_none_is_a_cumulative_average():
    bn = nn.BatchNorm1d(2, momentum=None).double()
    a, b = randn(4, 2, requires_grad=False), randn(4, 2, seed=1, requires_grad=False)
    bn(a)
    bn(b)
    np.testing.assert_allclose(bn.running_mean._data, (a._data.mean(0) + b._data.mean(0)) / 2)
    np.testing.assert_allclose(bn.running_var._data,
                               (a._data.var(0, ddof=1) + b._data.var(0, ddof=1)) / 2)


def test_batchnorm_options_and_errors():
    bn = nn.BatchNorm2d(3, affine=False, track_running_stats=False)
    assert list(bn.parameters()) == [] and list(bn.state_dict()) == []
    x = ac.randn(4, 3, 2, 2)
    np.testing.assert_allclose(bn.eval()(x)._data.mean(axis=(0, 2, 3)), 0, atol=1e-6)   # batch stats
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3\) got an input with 4 channels"):
        nn.BatchNorm2d(3)(ac.randn(2, 4, 2, 2))
    with pytest.raises(ValueError, match=r"expected an input of shape \(N, C, H, W\)"):
        nn.BatchNorm2d(3)(ac.randn(2, 3))
    one = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        one(ac.randn(1, 3))
    assert int(one.num_batches_tracked.item()) == 0      # a failed call changes nothing
    assert one.eval()(ac.randn(1, 3)).shape == (1, 3)    # fine in eval mode
    assert list(nn.BatchNorm1d(3).state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]


# ---- local response norm -----------------------------------------------------------------------


def test_local_response_norm_values_and_gradients():
    x = ac.tensor(np.arange(1.0, 5.0).reshape(1, 4, 1, 1), dtype="float64")
    y = nn.LocalResponseNorm(3, alpha=0.3, beta=0.5, k=2.0)(x)._data.reshape(-1)
    # window of channel c: c-1 .. c+1 (clipped); D_c = k + alpha/size * sum x^2
    sq = np.array([1.0, 4.0, 9.0, 16.0])
    windows = [sq[0] + sq[1], sq[0] + sq[1] + sq[2], sq[1] + sq[2] + sq[3], sq[2] + sq[3]]
    expected = np.arange(1.0, 5.0) / (2.0 + 0.1 * np.array(windows)) ** 0.5
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    for size in (1, 2, 5):                  # even sizes have a lopsided window
        check_layer(nn.LocalResponseNorm(size, alpha=0.5, beta=0.75, k=1.0), randn(2, 6, 2, 2))
    with pytest.raises(ValueError, match="at least 3 dims"):
        nn.LocalResponseNorm(3)(ac.randn(2, 3))


def test_mixed_float_dtypes_are_a_clear_error_as_in_pytorch():
    # conv2d refused float32 with float64 already; linear and batch norm now do too, rather
    # than silently computing a float64 copy of a float32 model's layer
    x64 = ac.randn(4, 3, dtype="float64")
    with pytest.raises(TypeError, match=r"linear: input is float64 but weight is float32; "
                                        r"convert one \(model.double\(\) or x.float\(\)\)"):
        nn.Linear(3, 2)(x64)
    with pytest.raises(TypeError, match=r"linear: bias is float64 but weight is float32"):
        F.linear(ac.randn(4, 3), ac.randn(2, 3), ac.zeros(2, dtype="float64"))
    with pytest.raises(TypeError, match=r"batch_norm: input is float64 but weight is float32"):
        nn.BatchNorm1d(3)(x64)
    assert nn.Linear(3, 2).double()(x64).dtype == np.float64           # the fix the message names
