"""gradcheck itself: passes correct gradients, fails wrong ones with a precise report."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import GradcheckError, Value
from autograd_cnn.functional.base import make


def _bad_square(x):
    """x^2 with a deliberately wrong backward (d/dx = x instead of 2x)."""
    return make(x._data ** 2, (x,), "bad_square", lambda node, g: (g * node._parents[0]._data,))


def _ignores_incoming_gradient(x):
    """3x whose backward returns 3 regardless of the incoming gradient: a plain .sum() loss
    cannot tell, the random projection can."""
    return make(3 * x._data, (x,), "lazy", lambda node, g: (np.full(x.shape, 3.0),))


def test_correct_gradients_pass_for_tensors_and_values():
    x = ac.randn(3, 4, dtype="float64", requires_grad=True)
    assert ac.gradcheck(lambda t: (t * t).sum(1).exp(), [x]) is True
    a, b = Value(1.5), Value(-0.5)
    assert ac.gradcheck(lambda p, q: (p * q).tanh() + p ** 2, [a, b]) is True


def test_wrong_backward_fails_with_a_report():
    x = ac.tensor([[0.5, -1.5], [2.0, 1.0]], dtype="float64", requires_grad=True)
    with pytest.raises(GradcheckError) as info:
        ac.gradcheck(_bad_square, [x])
    msg = str(info.value)
    assert "input 0" in msg and "index (" in msg
    assert "analytic" in msg and "numeric" in msg and "worst abs error" in msg


def test_backward_ignoring_its_incoming_gradient_fails():
    x = ac.randn(2, 3, dtype="float64", requires_grad=True)
    # with a sum loss the lazy rule would look right:
    x.grad = None
    _ignores_incoming_gradient(x).sum().backward()
    np.testing.assert_array_equal(x.grad._data, np.full((2, 3), 3.0))
    with pytest.raises(GradcheckError):
        ac.gradcheck(_ignores_incoming_gradient, [x])


def test_wrong_value_rule_fails():
    from autograd_cnn.value import Value as V

    def bad_sin(v):
        return V._result(np.sin(v.data), (v,), "sin", lambda node, g: (g,))

    with pytest.raises(GradcheckError, match="input 0"):
        ac.gradcheck(bad_sin, [Value(0.7)])


def test_gradcheck_demands_float64():
    x = ac.randn(3, requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        ac.gradcheck(lambda t: t * 2, [x])


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires grad"):
        ac.gradcheck(lambda t: t * 2, [ac.zeros(3, dtype="float64")])


def test_gradcheck_handles_tuple_outputs_and_constant_inputs():
    x = ac.randn(3, dtype="float64", requires_grad=True)
    c = ac.randn(3, dtype="float64")
    assert ac.gradcheck(lambda t, k: (t * k, t.exp(), t.argmax()), [x, c])
