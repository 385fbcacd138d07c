"""The two engines agree: a Tensor computation rebuilt element by element from Values gives the
same outputs and gradients (testing.compare_engines)."""

import numpy as np
import pytest

from autograd_cnn.testing import ValueArray, compare_engines

rng = np.random.default_rng(0)


def r(*shape, positive=False):
    x = rng.uniform(0.3, 2.0, shape) * (1 if positive else rng.choice([-1, 1], shape))
    return x


CASES = {
    "elementwise": (lambda a, b: (a * b + a / b - b).tanh() * a.exp() + a.sigmoid(), r(2, 3),
                    r(2, 3)),
    "broadcast": (lambda a, b: (a * b).sin() + (b ** 2).sqrt(), r(3), r(2, 3)),
    "log_relu": (lambda a: a.log().relu() + a.abs(), r(2, 4, positive=True)),
    "sum_dims": (lambda a: a.sum(dim=1) * a.sum(dim=(0, 2), keepdim=True).sum(), r(2, 3, 4)),
    "mean_max_min": (lambda a: a.mean(dim=-1) + a.max(dim=1)[0].sum() - a.min(), r(3, 4)),
    "logsumexp_var": (lambda a: a.logsumexp(dim=0) + a.var(dim=0), r(3, 4)),
    "matmul": (lambda a, b: (a @ b).tanh(), r(2, 3), r(3, 4)),
    "batched_matmul": (lambda a, b: a @ b, r(2, 2, 3), r(3, 2)),
    "indexing": (lambda a: a[[0, 2, 0], 1:] * a[1, 1:][None, :3], r(3, 4)),
    "reshape_transpose": (lambda a: a.reshape(4, 3).T @ a.reshape(3, 4).permute(1, 0), r(2, 6)),
    "mlp_layer": (lambda x, w: (x @ w.T).relu().sum(dim=1), r(4, 3), r(5, 3)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_tensor_and_value_engines_agree(name):
    fn, *arrays = CASES[name]
    grads = compare_engines(fn, *arrays)
    assert all(np.any(g != 0) for g in grads)


def test_compare_engines_catches_a_disagreement():
    from autograd_cnn.functional.base import make

    def wrong_exp(t):
        if isinstance(t, ValueArray):
            return t.exp()
        return make(np.exp(t._data), (t,), "exp", lambda node, g: (g,))  # forgot * e^x

    with pytest.raises(AssertionError, match="gradients of input 0"):
        compare_engines(wrong_exp, r(2, 3))
