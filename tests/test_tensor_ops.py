"""Every entry of the op registry (tests/op_cases.py): forward against numpy in float32 and
float64, backward against central differences in float64 with a random projection loss."""

import numpy as np
import pytest

import autograd_cnn as ac
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
    np.testing.assert_allclose(out.data, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
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
