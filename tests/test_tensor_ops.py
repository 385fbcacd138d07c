"""Every entry of the op registry (tests/op_cases.py): forward against numpy in float32 and
float64, backward against central differences in float64 with a random projection loss."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from op_cases import CASES, make_inputs

PARAMS = [pytest.param(c, shapes, id=f"{c.name}-{'x'.join(map(str, shapes))}")
          for c in CASES for shapes in c.shapes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case,shapes", PARAMS)
def test_forward_matches_numpy(case, shapes, dtype):
    rng = np.random.default_rng(0)
    arrays = make_inputs(shapes, case.domain, rng, dtype)
    out = case.fn(*[ac.tensor(a) for a in arrays])
    expected = case.ref(*arrays)
    assert out.shape == np.shape(expected)
    assert out.dtype == dtype, f"{case.name} changed dtype {dtype} -> {out.dtype}"
    np.testing.assert_allclose(out._data, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if p.values[0].grad])
def test_backward_gradcheck(case, shapes):
    rng = np.random.default_rng(1)
    tensors = [ac.tensor(a, requires_grad=True) for a in make_inputs(shapes, case.domain, rng)]
    assert ac.gradcheck(case.fn, tensors, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("case,shapes", [p for p in PARAMS if p.values[0].grad])
def test_float32_gradients_stay_float32(case, shapes):
    rng = np.random.default_rng(2)
    tensors = [ac.tensor(a, requires_grad=True)
               for a in make_inputs(shapes, case.domain, rng, np.float32)]
    out = case.fn(*tensors)
    out.backward(np.ones(out.shape, np.float32))
    for t in tensors:
        assert t.grad is not None and t.grad.dtype == np.float32 and t.grad.shape == t.shape


def test_dtype_promotion_follows_pytorch():
    i, f32, f64 = ac.tensor([1, 2]), ac.tensor([1.0, 2.0]), ac.tensor([1.0, 2.0], dtype="float64")
    assert (i * f32).dtype == np.float32 and (f32 + i).dtype == np.float32   # numpy: float64
    assert (i - f64).dtype == np.float64 and (f32 * f64).dtype == np.float64
    assert (ac.arange(5) / 2).dtype == np.float32                            # int / int
    assert (ac.arange(5) / ac.arange(1, 6)).dtype == np.float32
    assert (ac.arange(3) + 0.5).dtype == np.float32 and (ac.arange(3) * 2).dtype == np.int64
    assert (ac.tensor([True, False]) * f32).dtype == np.float32
    np.testing.assert_allclose((ac.arange(5) / 2).numpy(), [0, 0.5, 1, 1.5, 2])
    # the gradient reaches the floating operand through the cast integer one
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    (w * ac.tensor([3, 4])).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 4.0])


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a * b, F.maximum,
                                lambda a, b: F.where(a > 0, a, b)])
def test_shapes_that_do_not_broadcast_name_the_op_and_both_shapes(op):
    with pytest.raises(ValueError, match=r"shapes \(2, 3\) and \(3, 2\) cannot be broadcast"):
        op(ac.zeros(2, 3), ac.zeros(3, 2))


def test_where_method_is_pytorchs_form():
    x = ac.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x.where(x > 0, ac.zeros(3))
    np.testing.assert_array_equal(y.detach().numpy(), [1.0, 0.0, 3.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"where: condition of shape \(2,\) cannot be broadcast"):
        x.where(ac.tensor([True, False]), 0.0)


def test_edge_values_give_pytorchs_results_without_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = ac.tensor([0.0, 4.0], requires_grad=True)
        a.sqrt().sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), [np.inf, 0.25])
        assert ac.tensor([-np.inf, -np.inf]).logsumexp(dim=0).item() == -np.inf
