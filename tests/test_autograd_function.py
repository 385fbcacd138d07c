"""ac.autograd (autograd_cnn/autograd.py): custom ops with Function and ctx, and PyTorch's
grad/backward/gradcheck entry points. Behaviour as PyTorch's (torch 2.13), values written in."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.autograd import Function


class MultiplyGate(Function):
    """The lecture notes' multiply gate, with a non-tensor scale k."""

    calls = []

    @staticmethod
    def forward(ctx, x, y, k):
        MultiplyGate.calls.append((ctx.needs_input_grad, ac.is_grad_enabled()))
        ctx.save_for_backward(x, y)
        ctx.k = k
        return x * y * k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y * ctx.k, g * x * ctx.k, None


class Exp(Function):
    """PyTorch's documentation example: the output is saved."""

    @staticmethod
    def forward(ctx, i):
        result = i.exp()
        ctx.save_for_backward(result)
        return result

    @staticmethod
    def backward(ctx, grad_output):
        (result,) = ctx.saved_tensors
        return grad_output * result


class TwoOutputs(Function):
    """(2x, 3x): backward gets both gradients at once."""

    seen = []

    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        TwoOutputs.seen.append(g2.tolist())
        return g1 * 2 + g2 * 3


def f64(*values, grad=True):
    return ac.tensor(list(values), dtype=ac.float64, requires_grad=grad)


def test_multiply_gate_forward_backward_and_ctx():
    MultiplyGate.calls.clear()
    x, y = f64(1.0, 2.0), f64(3.0, 4.0, grad=False)
    out = MultiplyGate.apply(x, y, 2.0)
    assert out.tolist() == [6.0, 16.0] and out.requires_grad
    # needs_input_grad: one bool per argument; forward runs without recording
    assert MultiplyGate.calls == [((True, False, False), False)]
    out.sum().backward()
    assert x.grad.tolist() == [6.0, 8.0] and y.grad is None


def test_function_outputs_have_a_grad_fn_as_pytorch():
    x, y = f64(1.0, 2.0), f64(3.0, 4.0, grad=False)
    out = MultiplyGate.apply(x, y, 2.0)
    assert out.grad_fn.name() == "MultiplyGateBackward"
    (acc, _), none_edge = out.grad_fn.next_functions
    assert acc.variable is x and none_edge == (None, 0)
    assert repr(out) == "tensor([ 6., 16.], dtype=float64, op='MultiplyGate')"


def test_gradcheck_of_custom_functions():
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = ac.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert ac.autograd.gradcheck(Exp.apply, (x,))
    assert ac.autograd.gradcheck(lambda a, b: MultiplyGate.apply(a, b, -1.5), (x, y))
    assert ac.autograd.gradcheck(lambda a: TwoOutputs.apply(a), x)


def test_gradcheck_reports_a_wrong_backward():
    class WrongExp(Exp):
        @staticmethod
        def backward(ctx, grad_output):
            (result,) = ctx.saved_tensors
            return result                        # ignores the incoming gradient

    x = f64(0.1, 0.2, 0.3)
    with pytest.raises(ac.GradcheckError, match="gradient of input 0 is wrong"):
        ac.autograd.gradcheck(WrongExp.apply, (x,))
    assert ac.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False) is False


def test_multiple_outputs_backward_once_with_both_gradients():
    TwoOutputs.seen.clear()
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    a, b = TwoOutputs.apply(x)
    assert a.grad_fn == b.grad_fn and a.grad_fn.name() == "TwoOutputsBackward"
    assert (a + b).grad_fn.next_functions == ((a.grad_fn, 0), (a.grad_fn, 1))
    (a * b).sum().backward()                     # 6 x^2 -> 12 x
    assert x.grad.tolist() == [12.0, 24.0]
    assert TwoOutputs.seen == [[2.0, 4.0]]       # one call, with dL/db = a
    assert a.grad_fn.name() == "TwoOutputsBackward"     # the graph is freed, the name stays


def test_unused_output_gets_a_zero_gradient_as_pytorch():
    TwoOutputs.seen.clear()
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    a, _ = TwoOutputs.apply(x)
    a.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0] and TwoOutputs.seen == [[0.0, 0.0]]


class ArgmaxAndMax(Function):
    """Two outputs, one of them marked non-differentiable (an index)."""

    seen = []

    @staticmethod
    def forward(ctx, x):
        i = x.argmax()
        ctx.mark_non_differentiable(i)
        ctx.save_for_backward(x, i)
        return x.max(), i

    @staticmethod
    def backward(ctx, g, g_index):
        x, i = ctx.saved_tensors
        ArgmaxAndMax.seen.append(g_index.tolist())
        grad = ac.zeros_like(x)
        grad[i] = g
        return grad


def test_mark_non_differentiable_and_integer_outputs():
    ArgmaxAndMax.seen.clear()
    x = ac.tensor([1.0, 3.0, 2.0], requires_grad=True)
    v, i = ArgmaxAndMax.apply(x)
    assert v.requires_grad and not i.requires_grad and i.item() == 1
    (v * 5).backward()
    assert x.grad.tolist() == [0.0, 5.0, 0.0] and ArgmaxAndMax.seen == [0]


def test_none_gradients_for_inputs_that_need_none():
    class FirstOnly(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x + y

        @staticmethod
        def backward(ctx, g):
            return (g * 2 if ctx.needs_input_grad[0] else None), None

    x, y = f64(1.0), f64(2.0)
    FirstOnly.apply(x, y).sum().backward()
    assert x.grad.tolist() == [2.0] and y.grad is None


def test_broadcast_gradient_is_summed_back_and_arrays_are_accepted():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, m, row):
            return m + row

        @staticmethod
        def backward(ctx, g):
            return g, g.numpy()                  # (2, 3) for the (3,) row: summed back

    m = ac.zeros(2, 3, requires_grad=True)
    row = ac.zeros(3, requires_grad=True)
    (AddRow.apply(m, row) * ac.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert row.grad.tolist() == [5.0, 7.0, 9.0] and m.grad.tolist()[1] == [4.0, 5.0, 6.0]


def test_no_graph_without_grad_or_under_no_grad():
    x = f64(1.0, 2.0)
    with ac.no_grad():
        assert not MultiplyGate.apply(x, x, 1.0).requires_grad
    out = MultiplyGate.apply(f64(1.0, grad=False), f64(2.0, grad=False), 1.0)
    assert not out.requires_grad and out.grad_fn is None


def test_setup_context_style():
    class Square(Function):
        @staticmethod
        def forward(x):
            return x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    x = f64(3.0)
    Square.apply(x).backward()
    assert x.grad.tolist() == [6.0]


def test_second_backward_meets_the_freed_graph():
    x = f64(0.5)
    out = Exp.apply(x).sum()
    out.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        out.backward()


def test_function_errors():
    class WrongCount(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, g):
            return g

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g.sum(0, keepdim=True)

    class GradForNumber(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g

    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    x = ac.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"WrongCount.backward returned 1 gradient\(s\) but "
                                           r"forward took 2 argument\(s\)"):
        WrongCount.apply(x, x).sum().backward()
    with pytest.raises(RuntimeError, match=r"WrongShape.backward returned a gradient of shape "
                                           r"\(1, 3\) at position 0, but that input has shape "
                                           r"\(2, 3\)"):
        WrongShape.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match="GradForNumber.backward returned a gradient at "
                                           "position 1, but forward's argument 1 is not a tensor"):
        GradForNumber.apply(x, 2.0).sum().backward()
    with pytest.raises(NotImplementedError, match="NoBackward: define a static backward"):
        NoBackward.apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"Functions are not instantiated; call "
                                           r"MultiplyGate.apply\(...\)"):
        MultiplyGate()
    with pytest.raises(TypeError, match="save_for_backward: argument 1 is a float"):
        class SavesNumber(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 2.0)
                return x
        SavesNumber.apply(x)


def test_anomaly_mode_names_a_function_producing_nan():
    class NaNGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")

    x = ac.ones(2, requires_grad=True)
    with ac.detect_anomaly():
        a, b = TwoOutputs.apply(x)               # the multi-output path is checked too
        with pytest.raises(RuntimeError, match="backward of 'NaNGrad' produced nan"):
            NaNGrad.apply(a + b).sum().backward()


# ---- grad, backward, Variable ---------------------------------------------------------------------


def test_autograd_grad_and_backward_as_pytorch():
    x = ac.tensor([1.0], requires_grad=True)
    assert ac.autograd.grad((x * x).sum(), x)[0].tolist() == [2.0]
    ac.autograd.backward((x * 3).sum())
    assert x.grad.tolist() == [3.0]
    ac.autograd.backward([x * 3], [ac.ones(1)])                       # accumulates
    assert x.grad.tolist() == [6.0]
    y = ac.tensor([2.0], requires_grad=True)
    ac.autograd.backward((x * y).sum(), inputs=[y])                   # only into y
    assert x.grad.tolist() == [6.0] and y.grad.tolist() == [1.0]
    z = ac.tensor([3.0], dtype=ac.float64, requires_grad=True)
    ac.autograd.backward([(z ** 3).sum()], create_graph=True)        # dz = 3 z^2, recorded
    assert z.grad.tolist() == [27.0] and z.grad.requires_grad
    assert ac.autograd.grad(z.grad.sum(), z)[0].tolist() == [18.0]   # 6 z


def test_autograd_entry_point_errors():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"backward: tensor 0 has shape \(2,\); pass "
                                           "grad_tensors"):
        ac.autograd.backward(x * 2)
    with pytest.raises(RuntimeError, match="backward: tensor 0 does not require grad"):
        ac.autograd.backward(ac.ones(1))
    assert ac.autograd.grad((x * x).sum(), x, create_graph=False)[0].tolist() == [2.0, 4.0]


def test_variable_for_old_code():
    t = ac.ones(2)
    v = ac.autograd.Variable(t, requires_grad=True)
    assert v.requires_grad and not t.requires_grad and np.shares_memory(v._data, t._data)
    assert ac.autograd.Variable(t) is t
    assert ac.autograd.no_grad is ac.no_grad and ac.autograd.Function is Function


# ---- second order: backward(create_graph=True) through a Function ------------------------------


def test_gradgradcheck_of_custom_functions():
    rng = np.random.default_rng(1)
    x = ac.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    y = ac.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    assert ac.gradgradcheck(Exp.apply, [x])                  # through the saved output
    assert ac.gradgradcheck(lambda a, b: MultiplyGate.apply(a, b, 0.5), [x, y])
    assert ac.gradgradcheck(lambda a: TwoOutputs.apply(a * a), [x])


def test_second_derivative_through_a_saved_output_as_pytorch():
    # d/dx exp(x) = exp(x) and d2/dx2 = exp(x): both need the saved output to be in the graph
    x = ac.tensor([0.5], dtype=ac.float64, requires_grad=True)
    (g,) = ac.autograd.grad(Exp.apply(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = ac.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.tolist(), [np.exp(0.5)], rtol=1e-12)
    a, b = TwoOutputs.apply(x)
    (g,) = ac.autograd.grad((a * b).sum(), x, create_graph=True)         # 12 x
    assert ac.autograd.grad(g.sum(), x)[0].tolist() == [12.0]
