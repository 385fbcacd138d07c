"""The scalar Value engine: every op's derivative against central differences and against forward
mode (Dual), graph shapes that trip naive engines, and the error contract."""

import math
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd_cnn as ac
from autograd_cnn import Dual, Value

# op name -> (function usable on Value and Dual, domain of its argument(s))
UNARY = {
    "neg": (lambda a: -a, "any"),
    "exp": (lambda a: a.exp(), "any"),
    "log": (lambda a: a.log(), "positive"),
    "sqrt": (lambda a: a.sqrt(), "positive"),
    "tanh": (lambda a: a.tanh(), "any"),
    "sigmoid": (lambda a: a.sigmoid(), "any"),
    "relu": (lambda a: a.relu(), "nonzero"),
    "leaky_relu": (lambda a: a.leaky_relu(0.1), "nonzero"),
    "sin": (lambda a: a.sin(), "any"),
    "cos": (lambda a: a.cos(), "any"),
    "abs": (lambda a: a.abs(), "nonzero"),
    "square_via_pow": (lambda a: a ** 2, "any"),
    "pow_half": (lambda a: a ** 0.5, "positive"),
    "rpow": (lambda a: 2.0 ** a, "any"),
    "radd": (lambda a: 3 + a, "any"),
    "rsub": (lambda a: 3 - a, "any"),
    "rmul": (lambda a: 3 * a, "any"),
    "rdiv": (lambda a: 3 / a, "nonzero"),
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
}


def _domain(kind):
    base = st.floats(0.2, 3.0)
    if kind == "positive":
        return base
    return st.tuples(base, st.sampled_from([-1.0, 1.0])).map(lambda t: t[0] * t[1])


def _central(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_unary_derivative_three_ways(name, data):
    fn, domain = UNARY[name]
    x0 = data.draw(_domain(domain))
    x = Value(x0)
    y = fn(x)
    y.backward()
    numeric = _central(lambda v: fn(Value(v)).data, x0)
    forward = fn(Dual.variable(x0))
    assert math.isclose(forward.value, y.data, rel_tol=1e-12, abs_tol=1e-12)
    assert math.isclose(x.grad, forward.deriv, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(x.grad, numeric, rel_tol=1e-5, abs_tol=1e-6)


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=25, deadline=None)
@given(a0=st.floats(-3.0, 3.0).filter(lambda a: abs(a) > 0.2),
       b0=st.floats(-3.0, 3.0).filter(lambda b: abs(b) > 0.2))
def test_binary_derivatives_three_ways(name, a0, b0):
    fn = BINARY[name]
    if name.startswith("pow"):
        a0 = abs(a0)              # a negative base to a real power is not real
    a, b = Value(a0), Value(b0)
    out = fn(a, b)
    out.backward()
    da = fn(Dual.variable(a0), Dual(b0)).deriv
    db = fn(Dual(a0), Dual.variable(b0)).deriv
    assert math.isclose(a.grad, da, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(b.grad, db, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(a.grad, _central(lambda v: fn(Value(v), Value(b0)).data, a0),
                        rel_tol=1e-5, abs_tol=1e-6)
    assert math.isclose(b.grad, _central(lambda v: fn(Value(a0), Value(v)).data, b0),
                        rel_tol=1e-5, abs_tol=1e-6)


def test_lecture_example_f_equals_x_plus_y_times_z():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad, q.grad) == (-4.0, -4.0, 3.0, -4.0)


def test_lecture_example_cos_sin():
    # J = cos(sin(x^2) + 3x^2);  dJ/dx = -sin(u) (cos(x^2) 2x + 6x) with u = sin(x^2) + 3x^2
    x0 = 1.3
    x = Value(x0)
    j = ((x ** 2).sin() + 3 * x ** 2).cos()
    j.backward()
    u = math.sin(x0 ** 2) + 3 * x0 ** 2
    assert math.isclose(j.data, math.cos(u), rel_tol=1e-14)
    assert math.isclose(x.grad, -math.sin(u) * (math.cos(x0 ** 2) * 2 * x0 + 6 * x0),
                        rel_tol=1e-12)


def test_reuse_accumulates():
    a = Value(2.0)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0 and b.grad == 2.0


def test_equal_valued_leaves_stay_distinct():
    a, b = Value(3.0), Value(3.0)
    (a + b).backward()
    assert a.grad == 1.0 and b.grad == 1.0
    assert a == b and a is not b and hash(a) != hash(b)


def test_diamond():
    # x feeds two branches that meet again: df/dx = d/dx (x^2 * e^x) = 2x e^x + x^2 e^x
    x0 = 0.7
    x = Value(x0)
    left, right = x * x, x.exp()
    f = left * right
    f.backward()
    assert math.isclose(x.grad, (2 * x0 + x0 ** 2) * math.exp(x0), rel_tol=1e-12)


def test_value_pow_value_both_gradients():
    a, b = Value(1.7), Value(2.3)
    (a ** b).backward()
    assert math.isclose(a.grad, 2.3 * 1.7 ** 1.3, rel_tol=1e-12)
    assert math.isclose(b.grad, 1.7 ** 2.3 * math.log(1.7), rel_tol=1e-12)


def test_pow_at_zero_base_gives_zero_exponent_gradient():
    a, b = Value(0.0), Value(2.0)
    (a ** b).backward()
    assert a.grad == 0.0 and b.grad == 0.0


def test_million_node_chain_at_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = Value(1.0)
    y = x
    for _ in range(1_000_000):
        y = y + 1.0
    y.backward()
    assert x.grad == 1.0 and y.data == 1_000_001.0


def test_deep_product_chain_gradient():
    x = Value(1.0001)
    y = x
    n = 200_000
    for _ in range(n):
        y = y * x
    y.backward()   # y = x^(n+1): dy/dx = (n+1) x^n
    assert math.isclose(x.grad, (n + 1) * 1.0001 ** n, rel_tol=1e-9)


def test_second_backward_needs_retain_graph():
    x = Value(2.0)
    y = x * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_accumulates():
    x = Value(2.0)
    y = x * x + x
    y.backward(retain_graph=True)
    assert x.grad == 5.0
    y.backward()
    assert x.grad == 10.0


def test_zero_grad_on_graph():
    x = Value(2.0)
    y = (x * 3).tanh()
    y.backward(retain_graph=True)
    assert x.grad != 0
    y.zero_grad()
    assert x.grad == 0.0 and y.grad == 0.0


def test_no_grad_values_have_no_parents():
    x = Value(1.0)
    with ac.no_grad():
        y = x * 2
    assert y.is_leaf and y.op == ""


def test_comparisons_return_bools():
    a, b = Value(1.0), Value(2.0)
    assert a < b and a <= b and b > a and b >= a and a != b and a == 1
    assert isinstance(a < b, bool)


@pytest.mark.parametrize("bad", ["a", None, [1.0], True])
def test_value_of_non_number_is_type_error(bad):
    with pytest.raises(TypeError, match=type(bad).__name__):
        Value(bad)


def test_adding_a_string_is_type_error_naming_the_type():
    with pytest.raises(TypeError, match="str"):
        Value(1) + "a"
    with pytest.raises(TypeError, match="str"):
        "a" * Value(1)


@pytest.mark.parametrize("op,x", [("log", 0.0), ("log", -1.0), ("sqrt", -0.5)])
def test_domain_errors_name_op_and_value(op, x):
    with pytest.raises(ValueError, match=rf"{op}.*{x}"):
        getattr(Value(x), op)()


def test_division_by_zero_and_bad_powers():
    with pytest.raises(ZeroDivisionError):
        Value(1.0) / 0
    with pytest.raises(ValueError, match="negative base"):
        Value(-2.0) ** 0.5


def test_dual_matches_value_on_composite():
    def f(x):
        return (x * x + 1).log() * x.sigmoid() - (x / 3).tanh()
    x = Value(0.8)
    f(x).backward()
    assert math.isclose(f(Dual.variable(0.8)).deriv, x.grad, rel_tol=1e-12)


def test_dual_errors():
    with pytest.raises(TypeError, match="str"):
        Dual("a")
    with pytest.raises(ValueError, match="log"):
        Dual(-1.0).log()


def test_sqrt_at_zero_has_an_infinite_slope_in_both_modes():
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf
    assert Dual.variable(0.0).sqrt().deriv == math.inf
    assert Dual(0.0).sqrt().deriv == 0.0          # a constant: no slope to carry
    y = Value(0.0)
    (y.sqrt() * -2).backward()
    assert y.grad == -math.inf


def test_dual_compares_by_value_like_value():
    assert Dual(1.0) == Dual(1.0, 5.0) and Dual(1.0) == 1 and Dual(1.0) != Dual(2.0)
    assert Value(1.0) == Value(1.0)
    assert len({Dual(1.0), Dual(1.0)}) == 2            # hashing stays by identity
    assert (Dual(1.0) == "a") is False
