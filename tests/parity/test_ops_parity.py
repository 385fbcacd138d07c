"""Every op_cases entry run by autograd_cnn and by PyTorch on the same inputs, in float64 and
float32: the forward values, and the gradients of a random projection of the output.

The cases are written once, for autograd_cnn (``F.op(...)``, ``ac.zeros(...)``, methods). To run
them on PyTorch, the registry's module globals ``F`` and ``ac`` are swapped for namespaces that
find the same names in ``torch.nn.functional`` / ``torch`` (numpy index arrays become tensors);
methods and operators are PyTorch's own. A case whose call is spelled differently in PyTorch
gives a ``torch_fn`` (op_cases.OpCase); a divergence kept on purpose is listed in ``SKIP`` with its reason (and in
README, "Differences from PyTorch")."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import autograd_cnn as ac
import op_cases
from op_cases import CASES, make_inputs

# (case name prefix) -> why PyTorch cannot run it as written; each is also in the README
SKIP: dict = {}

# (case name) -> why only the forward is compared; each is also in the README
FORWARD_ONLY = {
    "rmod_scalar": "PyTorch has no derivative of remainder(scalar, tensor) with respect to the "
                   "tensor (it raises); here it is -floor(a / b), as for remainder(tensor, tensor)",
    "scatter_src_larger": "PyTorch's scatter backward fails when src is larger than index "
                          "(\"returned an invalid gradient\"); here src's unused part gets 0",
    "scatter_add_src_larger": "as scatter_src_larger, for scatter_add",
}

# (case name) -> looser float64 tolerance, and why
TOL_FLOAT64 = {
    "hardsigmoid": "PyTorch's float64 hardsigmoid backward multiplies by 1/6 rounded to float32 "
                   "(relative error 3e-8); this library uses the float64 1/6",
}

def _to_torch(v):
    if isinstance(v, np.ndarray):
        return torch.from_numpy(v)
    if isinstance(v, (list, tuple)) and any(isinstance(e, torch.Tensor) for e in v):
        return type(v)(_to_torch(e) for e in v)
    return v


class _TorchNamespace:
    """``F.name`` -> torch.nn.functional.name, else torch.name, with numpy arguments as
    tensors."""

    def __init__(self, *modules):
        self._modules = modules

    def __getattr__(self, name):
        for m in self._modules:
            fn = getattr(m, name, None)
            if fn is not None:
                break
        else:
            raise AttributeError(f"PyTorch has no {name}")

        def call(*args, **kwargs):
            return fn(*[_to_torch(a) for a in args],
                      **{k: _to_torch(v) for k, v in kwargs.items()})
        return call


_TORCH_F = _TorchNamespace(torch.nn.functional, torch)
_TORCH_AC = _TorchNamespace(torch)


@contextlib.contextmanager
def _torch_globals():
    saved = op_cases.F, op_cases.ac
    op_cases.F, op_cases.ac = _TORCH_F, _TORCH_AC
    try:
        yield
    finally:
        op_cases.F, op_cases.ac = saved


def _skip_reason(name):
    for prefix, why in SKIP.items():
        if name.startswith(prefix):
            return why
    return None


PARAMS = [pytest.param(c, s, id=f"{c.name}-{'x'.join(map(str, s))}") for c in CASES
          for s in c.shapes if _skip_reason(c.name) is None]

TOL = {np.float64: dict(rtol=1e-9, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-6)}


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case,shapes", PARAMS)
def test_op_matches_pytorch(case, shapes, dtype):
    rng = np.random.default_rng(3)
    arrays = make_inputs(shapes, case.domain, rng, dtype)
    ours = [ac.tensor(a, requires_grad=case.grad) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=case.grad) for a in arrays]
    out = case.fn(*ours)
    with _torch_globals():
        ref = (case.torch_fn or case.fn)(*theirs)
    assert out.shape == tuple(ref.shape), f"{case.name}: shape {out.shape} vs {tuple(ref.shape)}"
    assert out.dtype == np.dtype(str(ref.dtype).replace("torch.", "")), \
        f"{case.name}: dtype {out.dtype} vs {ref.dtype}"
    tol = dict(rtol=1e-7, atol=1e-12) if dtype == np.float64 and case.name in TOL_FLOAT64 \
        else TOL[dtype]
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), **tol,
                               err_msg=f"{case.name}: forward")
    if not case.grad or case.name in FORWARD_ONLY:
        return
    proj = rng.standard_normal(out.shape).astype(dtype)
    out.backward(ac.tensor(proj))
    ref.backward(torch.from_numpy(proj))
    for i, (o, t) in enumerate(zip(ours, theirs)):
        expected = np.zeros(o.shape, dtype) if t.grad is None else t.grad.numpy()
        got = np.zeros(o.shape, dtype) if o.grad is None else o.grad.numpy()
        np.testing.assert_allclose(got, expected, **tol,
                                   err_msg=f"{case.name}: gradient of input {i}")
