"""The engine's node protocol (``engine.Node``): Value and Tensor satisfy it, and a third node
type that has nothing but the protocol runs through ``run_backward`` unchanged."""

import typing

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import Value, engine
from autograd_cnn.engine import Node


class Scalar:
    """A node with the protocol's members only (``__slots__``: any other attribute the engine
    touched would raise AttributeError), holding a float."""

    __slots__ = ("value", "grad", "released", "_parents", "_op", "_backward", "requires_grad")

    def __init__(self, value, parents=(), op="", rule=None):
        self.value, self.grad, self.released = value, 0.0, False
        self._parents, self._op, self._backward = parents, op, rule
        self.requires_grad = True

    def _receive_grad(self, grad, store):
        if store:
            self.grad += grad
        return grad

    def _fit_grad(self, grad):
        return grad

    def _release(self):
        self.released = True
        if self._backward is not None:
            self._backward = engine.freed_rule

    def __mul__(self, other):
        return Scalar(self.value * other.value, (self, other), "*",
                      lambda node, g: (g * other.value, g * self.value))

    def __add__(self, other):
        return Scalar(self.value + other.value, (self, other), "+", lambda node, g: (g, g))


def test_value_and_tensor_satisfy_the_protocol():
    v = Value(2.0)
    t = ac.tensor([1.0, 2.0], requires_grad=True)
    for node in (v, v * v + 1.0, t, (t * t).sum(), Scalar(1.0)):
        assert isinstance(node, Node), type(node)
    assert not isinstance(object(), Node)
    assert not isinstance(1.0, Node)


def test_the_engine_is_typed_with_the_protocol():
    hints = typing.get_type_hints(engine.run_backward)
    assert Node in typing.get_args(hints["roots"])
    assert typing.get_type_hints(engine.topological_order)["return"] == list[Node]


def test_a_third_node_type_runs_through_the_engine():
    x, y = Scalar(3.0), Scalar(-2.0)
    z = x * y + x * x                       # dz/dx = y + 2x = 4, dz/dy = x = 3
    order = engine.topological_order([z])
    assert order[-1] is z and {id(n) for n in order} >= {id(x), id(y)}
    found = engine.run_backward([z], [1.0], inputs=[x, y], retain_graph=True)
    assert found == [4.0, 3.0] and x.grad == 0.0      # captured, not stored
    engine.run_backward([z], [2.0])                   # stored, then the graph is freed
    assert (x.grad, y.grad) == (8.0, 6.0)
    assert z.released and z._backward is engine.freed_rule
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        engine.run_backward([z], [1.0])


def test_the_three_node_types_agree():
    # the same computation on Value, Tensor and the protocol-only Scalar
    a, b = 1.5, -0.5
    sv, tv = Value(a), Value(b)
    (sv * tv + sv * sv).backward()
    ta = ac.tensor(a, dtype="float64", requires_grad=True)
    tb = ac.tensor(b, dtype="float64", requires_grad=True)
    (ta * tb + ta * ta).backward()
    xa, xb = Scalar(a), Scalar(b)
    engine.run_backward([xa * xb + xa * xa], [1.0])
    np.testing.assert_allclose([sv.grad, tv.grad], [float(ta.grad), float(tb.grad)])
    assert [xa.grad, xb.grad] == [sv.grad, tv.grad]
