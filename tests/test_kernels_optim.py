"""Fused optimiser kernels (kernels/optim.py) against their numpy twins, over every option, in
both dtypes; the backend's fallback for non-contiguous parameters; its argument checks."""

import itertools

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import backend, optim
from autograd_cnn.kernels import optim as K
from autograd_cnn.kernels import reference as R

pytestmark = pytest.mark.nojit

DTYPES = [(np.float64, 1e-13), (np.float32, 1e-5)]


def arrays(dtype, n=37, count=5, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(n).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("momentum,dampening,weight_decay,nesterov,maximize,first", [
    (0.0, 0.0, 0.0, False, False, False), (0.9, 0.0, 0.0, False, False, True),
    (0.9, 0.3, 0.01, False, False, False), (0.9, 0.0, 0.1, True, False, False),
    (0.5, 0.0, 0.0, True, True, True), (0.0, 0.0, 0.2, False, True, False)])
def test_sgd_kernel_matches_its_twin(dtype, tol, momentum, dampening, weight_decay,
                                     nesterov, maximize, first):
    p, g, buf = arrays(dtype, count=3)
    args = (0.1, momentum, dampening, weight_decay, nesterov, maximize, first)
    p2, buf2 = p.copy(), buf.copy()
    K.sgd_step(p, g, buf, *args)
    R.sgd_step(p2, g, buf2, *args)
    np.testing.assert_allclose(p, p2, rtol=tol, atol=tol)
    np.testing.assert_allclose(buf, buf2, rtol=tol, atol=tol)
    assert p.dtype == dtype


@pytest.mark.parametrize("kernel", [K.adam_step, K.adam_step_parallel],
                         ids=["serial", "parallel"])
@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("weight_decay,decoupled,amsgrad,maximize,step",
                         [(wd, dec, ams, mx, st) for wd, dec, ams, mx, st in itertools.product(
                             (0.0, 0.05), (False, True), (False, True), (False, True), (1, 7))
                          if not (wd == 0 and dec)])
def test_adam_kernel_matches_its_twin(kernel, dtype, tol, weight_decay, decoupled, amsgrad,
                                      maximize, step):
    p, g, m, v, vmax = arrays(dtype, n=K._BLOCK + 37)
    v, vmax = np.abs(v), np.abs(vmax)
    args = (0.01, 0.9, 0.99, 1e-8, weight_decay, decoupled, amsgrad, maximize, step)
    copies = [a.copy() for a in (p, m, v, vmax)]
    kernel(p, g, m, v, vmax, *args)
    R.adam_step(copies[0], g, copies[1], copies[2], copies[3], *args)
    for got, want in zip((p, m, v, vmax), copies):
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


def test_non_contiguous_parameters_are_updated_in_place_by_the_twin():
    base = np.arange(12.0).reshape(3, 4)
    p = nn.Parameter(base.copy().T)              # a transposed view: not C-contiguous
    assert not p._data.flags.c_contiguous
    p.grad = ac.ones(4, 3, dtype="float64")
    opt = optim.SGD([p], lr=0.5, momentum=0.9)
    data = p._data
    opt.step()
    opt.step()
    assert p._data is data
    np.testing.assert_allclose(p._data, base.T - 0.5 * 1 - 0.5 * 1.9)
    q = nn.Parameter(base.copy().T)
    q.grad = ac.ones(4, 3, dtype="float64")
    optim.Adam([q], lr=0.1).step()
    np.testing.assert_allclose(q._data, base.T - 0.1, rtol=1e-6)


def test_backend_checks_shapes_and_dtypes():
    p = np.zeros(3)
    with pytest.raises(ValueError, match=r"gradient has shape \(2,\)"):
        backend.sgd_step(p, np.zeros(2), None, lr=0.1, momentum=0, dampening=0,
                         weight_decay=0, nesterov=False, maximize=False, first=False)
    with pytest.raises(ValueError, match="state array 0 does not match"):
        backend.adam_step(p, np.zeros(3), np.zeros(3, np.float32), np.zeros(3), None, lr=0.1,
                          betas=(0.9, 0.99), eps=1e-8, weight_decay=0, decoupled=False,
                          amsgrad=False, maximize=False, step=1)
    with pytest.raises(TypeError, match="float32 or float64"):
        backend.sgd_step(np.zeros(3, int), np.zeros(3), None, lr=0.1, momentum=0, dampening=0,
                         weight_decay=0, nesterov=False, maximize=False, first=False)
