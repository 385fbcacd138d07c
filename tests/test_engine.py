"""The shared engine: topological order, grad-mode switches, broadcast undoing, anomaly mode."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import Value, engine


def test_topological_order_puts_parents_first_and_each_node_once():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = engine.topological_order([e])
    pos = {id(n): i for i, n in enumerate(order)}
    assert len(order) == len({id(n) for n in order}) == 5
    for node in order:
        for p in node._parents:
            assert pos[id(p)] < pos[id(node)]


def test_topological_order_is_iterative():
    x = Value(0.0)
    y = x
    for _ in range(50_000):
        y = y + 1.0
    order = engine.topological_order([y])
    assert order[0] is x or x in order  # did not hit the recursion limit
    assert order[-1] is y


def test_no_grad_context_nesting_and_exception_restore():
    assert ac.is_grad_enabled()
    with ac.no_grad():
        assert not ac.is_grad_enabled()
        with ac.enable_grad():
            assert ac.is_grad_enabled()
            with ac.no_grad():
                assert not ac.is_grad_enabled()
            assert ac.is_grad_enabled()
        assert not ac.is_grad_enabled()
    assert ac.is_grad_enabled()
    with pytest.raises(KeyError):
        with ac.no_grad():
            raise KeyError("boom")
    assert ac.is_grad_enabled()


def test_no_grad_as_decorator_and_reentrant_instance():
    @ac.no_grad()
    def f(x):
        assert not ac.is_grad_enabled()
        return x * 2

    t = ac.tensor([1.0], requires_grad=True)
    out = f(t)
    assert not out.requires_grad and out._parents == ()
    assert ac.is_grad_enabled()
    ctx = ac.no_grad()
    with ctx:
        with ctx:
            assert not ac.is_grad_enabled()
        assert not ac.is_grad_enabled()
    assert ac.is_grad_enabled()


def test_set_grad_enabled():
    with ac.set_grad_enabled(False):
        assert not ac.is_grad_enabled()
    assert ac.is_grad_enabled()


@pytest.mark.parametrize("grad_shape,shape", [((2, 3), (3,)), ((2, 3), (1, 3)), ((5, 4), ()),
                                              ((4, 4), (4, 1)), ((2, 4, 3), (2, 1, 3))])
def test_sum_to_shape(grad_shape, shape):
    g = np.arange(np.prod(grad_shape), dtype=float).reshape(grad_shape)
    out = engine.sum_to_shape(g, shape)
    assert out.shape == shape
    assert out.sum() == g.sum()
    # the sum is what broadcasting the ones of `shape` and multiplying by g would give
    x = ac.tensor(np.ones(shape), requires_grad=True)
    (x * ac.tensor(g)).sum().backward()
    np.testing.assert_array_equal(x.grad._data, out)


def test_anomaly_mode_names_op_and_user_line():
    x = ac.tensor([0.0, 1.0], dtype="float64", requires_grad=True)
    with ac.detect_anomaly():
        y = x.sqrt()            # d sqrt/dx at 0 is inf
        loss = y.sum()
        with pytest.raises(RuntimeError) as info:
            loss.backward()
    msg = str(info.value)
    assert "'sqrt'" in msg and "inf" in msg
    assert "test_engine.py" in msg and "x.sqrt()" in msg


def test_anomaly_mode_off_lets_inf_through():
    x = ac.tensor([0.0, 1.0], dtype="float64", requires_grad=True)
    with np.errstate(divide="ignore"):
        x.sqrt().sum().backward()
    assert np.isinf(x.grad._data[0])
