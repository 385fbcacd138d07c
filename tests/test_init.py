"""nn.init: gains, fans, the bounds and spreads of each initialiser, reproducibility with a
generator, and errors."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn.nn import init

pytestmark = pytest.mark.nojit


def big(*shape):
    return nn.Parameter(ac.zeros(*shape, dtype="float64"))


def test_calculate_gain():
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == 1.0
    assert init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")


def test_fans_of_linear_conv_and_transposed_conv_weights():
    assert init._calculate_fan_in_and_fan_out(big(30, 20)) == (20, 30)
    assert init._calculate_fan_in_and_fan_out(big(8, 4, 3, 3)) == (36, 72)
    with pytest.raises(ValueError, match="at least 2 dims"):
        init.xavier_uniform_(big(5))


@pytest.mark.parametrize("fn,kwargs,bound,std", [
    (init.xavier_uniform_, {}, math.sqrt(6 / (200 + 300)), math.sqrt(2 / 500)),
    (init.xavier_uniform_, {"gain": 2.0}, 2 * math.sqrt(6 / 500), 2 * math.sqrt(2 / 500)),
    (init.xavier_normal_, {}, None, math.sqrt(2 / 500)),
    (init.kaiming_uniform_, {"nonlinearity": "relu"}, math.sqrt(6 / 200), math.sqrt(2 / 200)),
    (init.kaiming_uniform_, {"a": math.sqrt(5)}, 1 / math.sqrt(200), 1 / math.sqrt(600)),
    (init.kaiming_normal_, {"nonlinearity": "relu"}, None, math.sqrt(2 / 200)),
    (init.kaiming_normal_, {"mode": "fan_out", "nonlinearity": "relu"}, None,
     math.sqrt(2 / 300)),
])
def test_initialisers_have_the_documented_spread(fn, kwargs, bound, std):
    w = big(300, 200)                                    # fan_in 200, fan_out 300
    assert fn(w, generator=0, **kwargs) is w
    if bound is not None:
        assert np.abs(w._data).max() <= bound
        assert np.abs(w._data).max() > 0.99 * bound
    assert w._data.std() == pytest.approx(std, rel=0.02)
    assert abs(w._data.mean()) < 0.01 * std
    assert w.requires_grad and w.is_leaf and w.grad is None


def test_simple_fills_and_generators():
    w = big(3, 4)
    init.constant_(w, 0.5)
    assert np.all(w._data == 0.5)
    init.ones_(w)
    assert np.all(w._data == 1)
    init.zeros_(w)
    assert np.all(w._data == 0)
    init.eye_(w)
    np.testing.assert_array_equal(w._data, np.eye(3, 4))
    a, b = big(50), big(50)
    init.uniform_(a, -2, 3, generator=np.random.default_rng(7))
    init.uniform_(b, -2, 3, generator=np.random.default_rng(7))
    np.testing.assert_array_equal(a._data, b._data)
    assert a._data.min() >= -2 and a._data.max() < 3
    init.normal_(a, 5.0, 0.0)
    assert np.all(a._data == 5.0)
    ac.manual_seed(3)
    init.normal_(a)
    ac.manual_seed(3)
    init.normal_(b)
    np.testing.assert_array_equal(a._data, b._data)      # the package generator is seeded too
    with pytest.raises(ValueError, match="std must be non-negative"):
        init.normal_(a, 0, -1)
    with pytest.raises(ValueError, match="mode must be 'fan_in' or 'fan_out'"):
        init.kaiming_normal_(big(2, 2), mode="fan_avg")
    with pytest.raises(TypeError, match="expected a Tensor"):
        init.zeros_(np.zeros(3))


def test_custom_initialisation_with_apply():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def he(m):
        if isinstance(m, nn.Linear):
            init.kaiming_normal_(m.weight, nonlinearity="relu", generator=1)
            init.zeros_(m.bias)

    model.apply(he)
    assert all(np.all(m.bias._data == 0) for m in model if isinstance(m, nn.Linear))
