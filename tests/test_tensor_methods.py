"""Tensor's methods come from ``TensorMethods``, a class defined in source beside tensor.py:
complete without importing functional first, visible to editors, no attaching at import."""

import inspect
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn.functional as F
from autograd_cnn.tensor import Tensor
from autograd_cnn.tensor_methods import TensorMethods

PACKAGE = Path(ac.__file__).parent


def test_methods_are_defined_on_the_class_in_source():
    assert issubclass(Tensor, TensorMethods)
    for name in ("relu", "sum", "reshape", "__add__", "__radd__", "__eq__", "__getitem__",
                 "add_", "__iadd__", "__setitem__", "float", "new_zeros", "to", "grad_fn"):
        assert name in TensorMethods.__dict__, name
    src = inspect.getsource(TensorMethods.sum)
    assert src.lstrip().startswith("def sum(self, dim=None, keepdim=False")
    assert "reduce.sum(self" in src
    assert list(inspect.signature(Tensor.relu).parameters) == ["self", "inplace"]
    assert Tensor.__hash__ is object.__hash__          # __eq__ by value, hashing by identity
    assert not hasattr(ac.zeros(1), "__dict__")           # the mixin adds no per-tensor dict


def test_no_attaching_by_setattr_remains():
    assert not (PACKAGE / "functional" / "methods.py").exists()
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text()
        assert "setattr(cls" not in text and "setattr(Tensor" not in text, path
        assert "Tensor.grad_fn =" not in text and "cls.to =" not in text, path


def test_a_bare_tensor_import_is_complete():
    code = ("import sys; from autograd_cnn.tensor import Tensor, tensor\n"
            "x = tensor([1.0, -2.0], requires_grad=True)\n"
            "y = (x * 3).relu().sum(); y.backward()\n"
            "print(y.item(), x.grad.tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["3.0", "[3.0,", "0.0]"]


def test_methods_are_the_functional_ops():
    x = ac.tensor(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(x.sum(1)._data, F.sum(x, 1)._data)
    np.testing.assert_array_equal(x.softmax(1)._data, F.softmax(x, 1)._data)
    np.testing.assert_array_equal((2 - x)._data, 2 - x._data)
    np.testing.assert_array_equal(x.where(x > 2, 0.0)._data, np.where(x._data > 2, x._data, 0))
    # binary operators return NotImplemented for what they do not take, so Python asks the other
    assert x.__add__(object()) is NotImplemented and x.__rsub__("a") is NotImplemented
    assert (x == None) is False and (x != None) is True     # noqa: E711
    with pytest.raises(TypeError):
        x + object()


def test_in_place_methods_keep_identity_and_bump_the_version():
    x = ac.zeros(3)
    before = x._version
    y = x.add_(1.0)
    x += 2
    x[0] = 7
    assert y is x and x.tolist() == [7.0, 3.0, 3.0] and x._version == before + 3
