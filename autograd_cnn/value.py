"""``Value``: a scalar node of the computational graph, the way backprop is taught.

Every number is a node that remembers the op that made it and its inputs. ``backward()`` runs the
shared engine (``engine.run_backward``): nodes in reverse topological order, each op's rule
turning the gradient of its output into gradients of its inputs (the chain rule), contributions
added where a value is used twice.

Each op below is a pair: the forward method computes the number, the rule next to it returns
d(out)/d(input) * grad for each input. Rules are plain functions shared by all nodes of that op
(no closure per node), which keeps a node small: data, grad, label, parents, op, rule.

    >>> x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    >>> f = (x + y) * z
    >>> f.backward()
    >>> f.data, x.grad, y.grad, z.grad
    (-12.0, -4.0, -4.0, 3.0)
"""

from __future__ import annotations

import math
import numbers

from . import engine
from .engine import freed_rule

__all__ = ["Value"]


def _as_float(x, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(
            f"{where}: expected an int or float, got {type(x).__name__} ({x!r})"
        )
    return float(x)


# --- backward rules: rule(node, g) -> (grad of parent 0, grad of parent 1, ...) -------------


def _add_rule(node, g):          # d(a + b)/da = 1, d(a + b)/db = 1
    return g, g


def _sub_rule(node, g):          # d(a - b)/da = 1, d(a - b)/db = -1
    return g, -g


def _mul_rule(node, g):          # d(a * b)/da = b, d(a * b)/db = a
    a, b = node._parents
    return g * b.data, g * a.data


def _div_rule(node, g):          # d(a / b)/da = 1/b, d(a / b)/db = -a/b^2
    a, b = node._parents
    return g / b.data, -g * a.data / (b.data * b.data)


def _pow_rule(node, g):
    # d(a^b)/da = b a^(b-1); d(a^b)/db = a^b ln a (0 at a = 0, b >= 0; undefined (nan) for a < 0)
    a, b = node._parents
    if b.data == 0:
        ga = 0.0
    else:
        try:
            ga = g * b.data * a.data ** (b.data - 1.0)
        except ZeroDivisionError:  # a = 0 with b < 1: the slope is infinite
            ga = math.copysign(math.inf, g * b.data) if g else 0.0
    if a.data > 0:
        gb = g * node.data * math.log(a.data)
    elif a.data == 0 and b.data >= 0:
        gb = 0.0
    else:
        gb = math.nan
    return ga, gb


def _neg_rule(node, g):          # d(-a)/da = -1
    return (-g,)


def _exp_rule(node, g):          # d(e^a)/da = e^a (the output itself)
    return (g * node.data,)


def _log_rule(node, g):          # d(ln a)/da = 1/a
    return (g / node._parents[0].data,)


def _sqrt_rule(node, g):         # d(sqrt a)/da = 1 / (2 sqrt a); infinite at a = 0
    if node.data == 0:
        return (math.copysign(math.inf, g) if g else 0.0,)
    return (g * 0.5 / node.data,)


def _tanh_rule(node, g):         # d(tanh a)/da = 1 - tanh^2 a
    return (g * (1.0 - node.data * node.data),)


def _sigmoid_rule(node, g):      # d(s(a))/da = s(a) (1 - s(a))
    return (g * node.data * (1.0 - node.data),)


def _relu_rule(node, g):         # d(max(0, a))/da = 1 if a > 0 else 0
    return (g if node._parents[0].data > 0 else 0.0,)


def _leaky_relu_rule(node, g):   # slope 1 for a > 0, negative_slope otherwise
    a, slope = node._parents
    return (g if a.data > 0 else g * slope.data, None)


def _sin_rule(node, g):          # d(sin a)/da = cos a
    return (g * math.cos(node._parents[0].data),)


def _cos_rule(node, g):          # d(cos a)/da = -sin a
    return (-g * math.sin(node._parents[0].data),)


def _abs_rule(node, g):          # d|a|/da = sign(a) (0 at 0, as in PyTorch)
    a = node._parents[0].data
    return (g if a > 0 else (-g if a < 0 else 0.0),)


# --- the same rules in Value ops, for backward(create_graph=True): the gradients are Values of
# a new graph, so they can be differentiated again ---------------------------------------------


def _pow_graph(node, g):
    a, b = node._parents
    ga = 0.0 if b.data == 0 else g * b * a ** (b - 1.0)
    if a.data > 0:
        gb = g * node * a.log()
    else:
        gb = 0.0 if a.data == 0 and b.data >= 0 else math.nan
    return ga, gb


def _register_graph_rules() -> None:
    rules = {
        _add_rule: lambda node, g: (g, g),
        _sub_rule: lambda node, g: (g, -g),
        _mul_rule: lambda node, g: (g * node._parents[1], g * node._parents[0]),
        _div_rule: lambda node, g: (g / node._parents[1], -g * node._parents[0] /
                                    (node._parents[1] * node._parents[1])),
        _pow_rule: _pow_graph,
        _neg_rule: lambda node, g: (-g,),
        _exp_rule: lambda node, g: (g * node,),
        _log_rule: lambda node, g: (g / node._parents[0],),
        _sqrt_rule: lambda node, g: (g * 0.5 / node,),
        _tanh_rule: lambda node, g: (g * (1.0 - node * node),),
        _sigmoid_rule: lambda node, g: (g * node * (1.0 - node),),
        _relu_rule: lambda node, g: (g if node._parents[0].data > 0 else 0.0,),
        _leaky_relu_rule: lambda node, g: (g if node._parents[0].data > 0 else
                                           g * node._parents[1].data, None),
        _sin_rule: lambda node, g: (g * node._parents[0].cos(),),
        _cos_rule: lambda node, g: (-g * node._parents[0].sin(),),
        _abs_rule: lambda node, g: (g if node._parents[0].data > 0 else
                                    (-g if node._parents[0].data < 0 else 0.0),),
    }
    engine.graph_rules.update(rules)


_register_graph_rules()


class Value:
    """A scalar in a computational graph.

    data:  the number (a Python float)
    grad:  d(output)/d(this value) after ``output.backward()``; 0.0 before
    label: an optional name, shown by ``autograd_cnn.viz.draw_graph``
    op:    the op that produced it ('' for a leaf)
    """

    __slots__ = ("data", "grad", "label", "_parents", "_op", "_backward", "_trace", "__weakref__")
    requires_grad = True
    __array_ufunc__ = None      # numpy numbers defer to our operators: np.float64(2) * v works

    def __init__(self, data, label: str = ""):
        self.data = _as_float(data, "Value")
        self.grad = 0.0
        self.label = label
        self._parents = ()
        self._op = ""
        self._backward = None
        self._trace = None

    # Results are built without __init__: their data is already a float.
    @classmethod
    def _result(cls, data: float, parents: tuple, op: str, rule) -> "Value":
        out = cls.__new__(cls)
        out.data = data
        out.grad = 0.0
        out.label = ""
        if engine._state.grad_enabled:
            out._parents = parents
            out._op = op
            out._backward = rule
            out._trace = engine.creation_site() if engine._state.anomaly else None
        else:
            out._parents = ()
            out._op = ""
            out._backward = None
            out._trace = None
        return out

    @property
    def op(self) -> str:
        return self._op

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    def __repr__(self) -> str:
        name = f", label={self.label!r}" if self.label else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{name})"

    # --- arithmetic --------------------------------------------------------------------------

    @staticmethod
    def _lift(other, op: str) -> "Value":
        if isinstance(other, Value):
            return other
        if isinstance(other, bool) or not isinstance(other, numbers.Real):
            raise TypeError(
                f"Value {op}: can only combine a Value with a Value, int or float, "
                f"got {type(other).__name__} ({other!r})"
            )
        return Value(other)

    def __add__(self, other):
        other = self._lift(other, "+")
        return Value._result(self.data + other.data, (self, other), "+", _add_rule)

    def __radd__(self, other):
        return self._lift(other, "+") + self

    def __sub__(self, other):
        other = self._lift(other, "-")
        return Value._result(self.data - other.data, (self, other), "-", _sub_rule)

    def __rsub__(self, other):
        return self._lift(other, "-") - self

    def __mul__(self, other):
        other = self._lift(other, "*")
        return Value._result(self.data * other.data, (self, other), "*", _mul_rule)

    def __rmul__(self, other):
        return self._lift(other, "*") * self

    def __truediv__(self, other):
        other = self._lift(other, "/")
        if other.data == 0:
            raise ZeroDivisionError(f"Value /: division of {self.data!r} by zero")
        return Value._result(self.data / other.data, (self, other), "/", _div_rule)

    def __rtruediv__(self, other):
        return self._lift(other, "/") / self

    def __pow__(self, other):
        other = self._lift(other, "**")
        a, b = self.data, other.data
        if a < 0 and not b.is_integer():
            raise ValueError(
                f"Value **: a negative base ({a!r}) to a non-integer power ({b!r}) is not real"
            )
        if a == 0 and b < 0:
            raise ZeroDivisionError(f"Value **: zero to a negative power ({b!r})")
        return Value._result(a ** b, (self, other), "**", _pow_rule)

    def __rpow__(self, other):
        return self._lift(other, "**") ** self

    def __neg__(self):
        return Value._result(-self.data, (self,), "neg", _neg_rule)

    def __pos__(self):
        return self

    # --- functions ---------------------------------------------------------------------------

    def exp(self):
        """e^x."""
        try:
            out = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp: e^{self.data!r} overflows a float") from None
        return Value._result(out, (self,), "exp", _exp_rule)

    def log(self):
        """Natural logarithm, defined for x > 0."""
        if self.data <= 0:
            raise ValueError(f"log: input must be > 0, got {self.data!r} ({self!r})")
        return Value._result(math.log(self.data), (self,), "log", _log_rule)

    def sqrt(self):
        """Square root, defined for x >= 0 (its derivative only for x > 0)."""
        if self.data < 0:
            raise ValueError(f"sqrt: input must be >= 0, got {self.data!r} ({self!r})")
        return Value._result(math.sqrt(self.data), (self,), "sqrt", _sqrt_rule)

    def tanh(self):
        return Value._result(math.tanh(self.data), (self,), "tanh", _tanh_rule)

    def sigmoid(self):
        """1 / (1 + e^-x), computed without overflow for large |x|."""
        x = self.data
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return Value._result(s, (self,), "sigmoid", _sigmoid_rule)

    def relu(self):
        return Value._result(self.data if self.data > 0 else 0.0, (self,), "relu", _relu_rule)

    def leaky_relu(self, negative_slope: float = 0.01):
        slope = Value(_as_float(negative_slope, "leaky_relu negative_slope"))
        x = self.data
        return Value._result(x if x > 0 else x * slope.data, (self, slope), "leaky_relu",
                             _leaky_relu_rule)

    def sin(self):
        return Value._result(math.sin(self.data), (self,), "sin", _sin_rule)

    def cos(self):
        return Value._result(math.cos(self.data), (self,), "cos", _cos_rule)

    def abs(self):
        return Value._result(abs(self.data), (self,), "abs", _abs_rule)

    __abs__ = abs

    # --- comparisons: plain bools, no gradient. Hashing stays by identity. -------------------

    def _other_data(self, other):
        return other.data if isinstance(other, Value) else _as_float(other, "Value comparison")

    def __lt__(self, other):
        return self.data < self._other_data(other)

    def __le__(self, other):
        return self.data <= self._other_data(other)

    def __gt__(self, other):
        return self.data > self._other_data(other)

    def __ge__(self, other):
        return self.data >= self._other_data(other)

    def __eq__(self, other):
        if not isinstance(other, (Value, numbers.Real)):
            return NotImplemented
        return self.data == self._other_data(other)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = object.__hash__

    def __float__(self):
        return self.data

    # --- the engine's node protocol ------------------------------------------------------------

    def _receive_grad(self, grad, store):
        if store:
            self.grad += grad
        return grad

    def _fit_grad(self, grad):
        return grad                 # scalars never broadcast: a gradient is a number

    def _release(self):
        if self._backward is not None:
            self._backward = freed_rule

    # --- backward ---------------------------------------------------------------------------

    def backward(self, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Set ``.grad`` of every value this one depends on to d(self)/d(value) (accumulating
        into what is there). Frees the graph unless ``retain_graph=True``.
        ``create_graph=True`` records the backward pass: each ``.grad`` is then a Value of a
        new graph, which can be differentiated again (``x.grad.backward()``)."""
        if create_graph:
            engine.run_backward([self], [Value(1.0)], create_graph=True)
        else:
            engine.run_backward([self], [1.0], retain_graph=retain_graph)

    def zero_grad(self) -> None:
        """Reset ``.grad`` to 0 on this value and every value it depends on."""
        for node in engine.topological_order([self]):
            node.grad = 0.0
