"""``TensorMethods``: the operators and methods of ``Tensor``, which inherits them.

Each method is one line calling its functional op (``x.sum(1)`` is ``F.sum(x, 1)``: the same
code, the same checks), with the op's signature, so editors and ``help(Tensor)`` show them. The
ops live in ``functional/``, which imports ``tensor.py``; so this module, imported by
``tensor.py``, reaches them through ``_ops``, which imports each module on its first use (after
that a method costs one attribute lookup more than the op). That is the one place the circle
"functional creates Tensors, Tensor's methods call functional" is closed.

Binary operators take Tensors, arrays, numbers, lists and tuples; for anything else they return
NotImplemented, so Python asks the other operand (``t == pytest.approx(...)``, ``t == None`` ->
False, as in PyTorch). In-place methods (``add_``, ``x += y``, ``x[i] = v``) are the out-of-place
ops written back by ``functional/inplace.py``, which holds their rules.
"""

from __future__ import annotations

import importlib
import numbers

import numpy as np

__all__ = ["TensorMethods"]


class _Ops:
    """The modules the methods call, each imported on first use and then kept as an attribute
    (``__getattr__`` runs once per module)."""

    HOMES = {
        "activation": "autograd_cnn.functional.activation",
        "arith": "autograd_cnn.functional.arith",
        "elementwise": "autograd_cnn.functional.elementwise",
        "index": "autograd_cnn.functional.index",
        "inplace": "autograd_cnn.functional.inplace",
        "linalg": "autograd_cnn.functional.linalg",
        "reduce": "autograd_cnn.functional.reduce",
        "scan": "autograd_cnn.functional.scan",
        "shape": "autograd_cnn.functional.shape",
        "special": "autograd_cnn.functional.special",
        "tensor": "autograd_cnn.tensor",
        "devices": "autograd_cnn.devices",
        "autograd": "autograd_cnn.autograd",
    }

    def __getattr__(self, name):
        if name not in self.HOMES:
            raise AttributeError(name)
        module = importlib.import_module(self.HOMES[name])
        setattr(self, name, module)
        return module


_ops = _Ops()


def _axis_alias(dim, axis):
    """PyTorch's reductions take numpy's ``axis=`` for ``dim=``."""
    if axis is None:
        return dim
    if dim is not None:
        raise TypeError("got both dim= and axis= (axis is another name for dim); give one")
    return axis


class TensorMethods:
    """The methods ``Tensor`` gets from ``functional`` (and ``devices``, ``autograd``)."""

    __slots__ = ()

    # ---- operators (functional/elementwise, arith, linalg, shape) -------------------------

    def __add__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.add(self, other)
        return NotImplemented

    def __radd__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.add(other, self)
        return NotImplemented

    def __sub__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.sub(self, other)
        return NotImplemented

    def __rsub__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.sub(other, self)
        return NotImplemented

    def __mul__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.mul(self, other)
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.mul(other, self)
        return NotImplemented

    def __truediv__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.div(self, other)
        return NotImplemented

    def __rtruediv__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.div(other, self)
        return NotImplemented

    def __floordiv__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.floor_divide(self, other)
        return NotImplemented

    def __rfloordiv__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.floor_divide(other, self)
        return NotImplemented

    def __mod__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.remainder(self, other)
        return NotImplemented

    def __rmod__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.remainder(other, self)
        return NotImplemented

    def __and__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_and(self, other)
        return NotImplemented

    def __rand__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_and(other, self)
        return NotImplemented

    def __or__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_or(self, other)
        return NotImplemented

    def __ror__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_or(other, self)
        return NotImplemented

    def __xor__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_xor(self, other)
        return NotImplemented

    def __rxor__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.arith.bitwise_xor(other, self)
        return NotImplemented

    def __pow__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.pow(self, other)
        return NotImplemented

    def __rpow__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.pow(other, self)
        return NotImplemented

    def __matmul__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.linalg.matmul(self, other)
        return NotImplemented

    def __rmatmul__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.linalg.matmul(other, self)
        return NotImplemented

    def __neg__(self):
        return _ops.elementwise.neg(self)

    def __abs__(self):
        return _ops.elementwise.abs(self)

    def __eq__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.eq(self, other)
        return NotImplemented

    def __ne__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.ne(self, other)
        return NotImplemented

    def __lt__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.lt(self, other)
        return NotImplemented

    def __le__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.le(self, other)
        return NotImplemented

    def __gt__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.gt(self, other)
        return NotImplemented

    def __ge__(self, other):
        if isinstance(other, _OPERANDS):
            return _ops.elementwise.ge(self, other)
        return NotImplemented

    def __invert__(self):
        return _ops.elementwise.bitwise_not(self)

    def __getitem__(self, key):
        return _ops.shape.getitem(self, key)

    # __eq__ by value would make tensors unhashable: hashing stays by identity
    __hash__ = object.__hash__

    def add(self, b, *, alpha=1):
        """``elementwise.add``: a + alpha b.  d/da = 1, d/db = alpha."""
        return _ops.elementwise.add(self, b if alpha == 1 else _ops.elementwise.mul(b, alpha))

    def sub(self, b, *, alpha=1):
        """``elementwise.sub``: a - alpha b.  d/da = 1, d/db = -alpha."""
        return _ops.elementwise.sub(self, b if alpha == 1 else _ops.elementwise.mul(b, alpha))

    def addcmul(self, tensor1, tensor2, *, value=1):
        """``elementwise.addcmul``: x + value tensor1 tensor2."""
        return _ops.elementwise.addcmul(self, tensor1, tensor2, value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """``elementwise.addcdiv``: x + value tensor1 / tensor2."""
        return _ops.elementwise.addcdiv(self, tensor1, tensor2, value)

    def mul(self, b):
        """``elementwise.mul``: a * b.  d/da = b, d/db = a."""
        return _ops.elementwise.mul(self, b)

    def div(self, b, *, rounding_mode=None):
        """``arith.div``: a / b; with ``rounding_mode`` 'trunc' (towards 0) or 'floor'
        (towards -inf) the rounded quotient, in the operands' promoted dtype (integers
        stay integers). The rounded quotient's gradient is 0."""
        return _ops.arith.div(self, b, rounding_mode=rounding_mode)

    def divide(self, b, *, rounding_mode=None):
        """``arith.div``: a / b; with ``rounding_mode`` 'trunc' (towards 0) or 'floor'
        (towards -inf) the rounded quotient, in the operands' promoted dtype (integers
        stay integers). The rounded quotient's gradient is 0."""
        return _ops.arith.div(self, b, rounding_mode=rounding_mode)

    def pow(self, b):
        """``elementwise.pow``: a ** b.  d/da = b a^(b-1);  d/db = a^b ln a (0 where a = 0
        and b >= 0, as in PyTorch)."""
        return _ops.elementwise.pow(self, b)

    def neg(self):
        """``elementwise.neg``: -x.  d/dx = -1."""
        return _ops.elementwise.neg(self)

    def floor_divide(self, b):
        """``arith.floor_divide``: a // b = floor(a / b), elementwise (Python's and PyTorch's
        rounding: towards -inf). No derivative: backward through it raises, as in PyTorch."""
        return _ops.arith.floor_divide(self, b)

    def fmod(self, b):
        """``arith.fmod``: a - trunc(a / b) * b: the remainder with the dividend's sign (C's
        fmod). d/da = 1, d/db = -trunc(a / b)."""
        return _ops.arith.fmod(self, b)

    def remainder(self, b):
        """``arith.remainder``: a - floor(a / b) * b: the remainder with the divisor's sign
        (Python's %). d/da = 1, d/db = -floor(a / b)."""
        return _ops.arith.remainder(self, b)

    def floor(self):
        """``arith.floor``: floor(x), elementwise; gradient 0 (piecewise constant). Integer
        tensors are returned unchanged, as in PyTorch."""
        return _ops.arith.floor(self)

    def ceil(self):
        """``arith.ceil``: ceil(x), elementwise; gradient 0 (piecewise constant). Integer
        tensors are returned unchanged, as in PyTorch."""
        return _ops.arith.ceil(self)

    def round(self, decimals=0):
        """``arith.round``: x rounded to ``decimals`` places, halves to even (PyTorch and
        numpy: 2.5 -> 2, -0.5 -> -0); with decimals, round(x * 10^d) / 10^d. Gradient 0."""
        return _ops.arith.round(self, decimals)

    def trunc(self):
        """``arith.trunc``: trunc(x), elementwise; gradient 0 (piecewise constant). Integer
        tensors are returned unchanged, as in PyTorch."""
        return _ops.arith.trunc(self)

    def fix(self):
        """``arith.trunc``: trunc(x), elementwise; gradient 0 (piecewise constant). Integer
        tensors are returned unchanged, as in PyTorch."""
        return _ops.arith.trunc(self)

    def bitwise_and(self, b):
        """``arith.bitwise_and``: a & b elementwise on integer or bool tensors (bool stays
        bool); no gradient."""
        return _ops.arith.bitwise_and(self, b)

    def bitwise_or(self, b):
        """``arith.bitwise_or``: a | b elementwise on integer or bool tensors (bool stays
        bool); no gradient."""
        return _ops.arith.bitwise_or(self, b)

    def bitwise_xor(self, b):
        """``arith.bitwise_xor``: a ^ b elementwise on integer or bool tensors (bool stays
        bool); no gradient."""
        return _ops.arith.bitwise_xor(self, b)

    def log2(self):
        """``special.log2``: log2 x.  d/dx = 1 / (x ln 2)."""
        return _ops.special.log2(self)

    def exp2(self):
        """``special.exp2``: 2^x.  d/dx = 2^x ln 2 (the output times ln 2)."""
        return _ops.special.exp2(self)

    def log1p(self):
        """``special.log1p``: ln(1 + x).  d/dx = 1 / (1 + x)."""
        return _ops.special.log1p(self)

    def expm1(self):
        """``special.expm1``: e^x - 1.  d/dx = e^x = out + 1."""
        return _ops.special.expm1(self)

    def erf(self):
        """``special.erf``: The error function.  d/dx = (2 / sqrt(pi)) e^(-x^2)."""
        return _ops.special.erf(self)

    def abs(self):
        """``elementwise.abs``: |x|.  d/dx = sign(x) (0 at 0, as in PyTorch)."""
        return _ops.elementwise.abs(self)

    def exp(self):
        """``elementwise.exp``: e^x.  d/dx = e^x (the output)."""
        return _ops.elementwise.exp(self)

    def log(self):
        """``elementwise.log``: ln x.  d/dx = 1/x.  (ln 0 = -inf and ln of a negative number
        = nan, as in numpy.)"""
        return _ops.elementwise.log(self)

    def sqrt(self):
        """``elementwise.sqrt``: sqrt(x).  d/dx = 1 / (2 sqrt x)."""
        return _ops.elementwise.sqrt(self)

    def sin(self):
        """``elementwise.sin``: sin x.  d/dx = cos x."""
        return _ops.elementwise.sin(self)

    def cos(self):
        """``elementwise.cos``: cos x.  d/dx = -sin x."""
        return _ops.elementwise.cos(self)

    def square(self):
        """``elementwise.square``: x^2.  d/dx = 2x."""
        return _ops.elementwise.square(self)

    def clip(self, min=None, max=None):
        """``elementwise.clip``: Clamp to [min, max] (either may be None).  d/dx = 1 inside
        [min, max], 0 outside."""
        return _ops.elementwise.clip(self, min, max)

    def clamp(self, min=None, max=None):
        """``elementwise.clip``: Clamp to [min, max] (either may be None).  d/dx = 1 inside
        [min, max], 0 outside."""
        return _ops.elementwise.clip(self, min, max)

    def maximum(self, b):
        """``elementwise.maximum``: Elementwise max.  The gradient goes to the larger input;
        ties split it half and half."""
        return _ops.elementwise.maximum(self, b)

    def minimum(self, b):
        """``elementwise.minimum``: Elementwise min.  The gradient goes to the smaller input;
        ties split it half and half."""
        return _ops.elementwise.minimum(self, b)

    def median(self, dim=None, keepdim=False):
        """``scan.median``: the lower median (all elements, or (values, indices) along dim)."""
        return _ops.scan.median(self, dim, keepdim)

    def isnan(self):
        """``elementwise.isnan``: Elementwise isnan as a bool tensor (no gradient)."""
        return _ops.elementwise.isnan(self)

    def isinf(self):
        """``elementwise.isinf``: Elementwise isinf as a bool tensor (no gradient)."""
        return _ops.elementwise.isinf(self)

    def isfinite(self):
        """``elementwise.isfinite``: Elementwise isfinite as a bool tensor (no gradient)."""
        return _ops.elementwise.isfinite(self)

    def logical_and(self, b):
        """``elementwise.logical_and``: a and b elementwise, as a bool tensor."""
        return _ops.elementwise.logical_and(self, b)

    def logical_or(self, b):
        """``elementwise.logical_or``: a or b elementwise, as a bool tensor."""
        return _ops.elementwise.logical_or(self, b)

    def logical_xor(self, b):
        """``elementwise.logical_xor``: a xor b elementwise, as a bool tensor."""
        return _ops.elementwise.logical_xor(self, b)

    def reciprocal(self):
        """``elementwise.reciprocal``: 1 / x.  d/dx = -1 / x^2."""
        return _ops.elementwise.reciprocal(self)

    def rsqrt(self):
        """``elementwise.rsqrt``: 1 / sqrt(x).  d/dx = -x^(-3/2) / 2."""
        return _ops.elementwise.rsqrt(self)

    def lerp(self, end, weight):
        """``elementwise.lerp``: self + weight (end - self)."""
        return _ops.elementwise.lerp(self, end, weight)

    def clamp_min(self, min):
        """``elementwise.clamp_min``: max(x, min)."""
        return _ops.elementwise.clamp_min(self, min)

    def clamp_max(self, max):
        """``elementwise.clamp_max``: min(x, max)."""
        return _ops.elementwise.clamp_max(self, max)

    def unbind(self, dim=0):
        """``shape.unbind``: the slices along dim, that dim removed."""
        return _ops.shape.unbind(self, dim)

    def tile(self, *dims):
        """``shape.tile``: repeated dims[i] times along each dim (1s padded in front)."""
        return _ops.shape.tile(self, dims[0] if len(dims) == 1 and
                               isinstance(dims[0], (tuple, list)) else dims)

    def movedim(self, source, destination):
        """``shape.movedim``: dims ``source`` moved to ``destination``."""
        return _ops.shape.movedim(self, source, destination)

    def moveaxis(self, source, destination):
        """``shape.movedim`` under numpy's name."""
        return _ops.shape.movedim(self, source, destination)

    def swapaxes(self, axis0, axis1):
        """``shape.swapaxes``: transpose(axis0, axis1)."""
        return _ops.shape.swapaxes(self, axis0, axis1)

    def nonzero(self, *, as_tuple=False):
        """``index.nonzero``: indices of the non-zero elements, (count, ndim) int64."""
        return _ops.index.nonzero(self, as_tuple=as_tuple)

    def count_nonzero(self, dim=None):
        """``index.count_nonzero``: how many elements are non-zero (int64)."""
        return _ops.index.count_nonzero(self, dim)

    def diag(self, diagonal=0):
        """``index.diag``: 1-D -> a diagonal matrix; 2-D -> its diagonal."""
        return _ops.index.diag(self, diagonal)

    def trace(self):
        """``index.trace``: the sum of the main diagonal of a 2-D tensor."""
        return _ops.index.trace(self)

    def sign(self):
        """``elementwise.sign``: -1, 0 or 1; no gradient (it is zero almost everywhere)."""
        return _ops.elementwise.sign(self)

    def eq(self, b):
        """``elementwise.eq``: Elementwise equal as a bool tensor (no gradient)."""
        return _ops.elementwise.eq(self, b)

    def ne(self, b):
        """``elementwise.ne``: Elementwise not_equal as a bool tensor (no gradient)."""
        return _ops.elementwise.ne(self, b)

    def lt(self, b):
        """``elementwise.lt``: Elementwise less as a bool tensor (no gradient)."""
        return _ops.elementwise.lt(self, b)

    def le(self, b):
        """``elementwise.le``: Elementwise less_equal as a bool tensor (no gradient)."""
        return _ops.elementwise.le(self, b)

    def gt(self, b):
        """``elementwise.gt``: Elementwise greater as a bool tensor (no gradient)."""
        return _ops.elementwise.gt(self, b)

    def ge(self, b):
        """``elementwise.ge``: Elementwise greater_equal as a bool tensor (no gradient)."""
        return _ops.elementwise.ge(self, b)

    def where(self, condition, other):
        """``x.where(condition, other)``: x where condition else other (PyTorch's method form
        of ``where(condition, x, other)``)."""
        return _ops.elementwise.where(condition, self, other)

    def logical_not(self):
        """``elementwise.logical_not``: not x, elementwise, as a bool tensor (any dtype; non-
        zero is true)."""
        return _ops.elementwise.logical_not(self)

    def bitwise_not(self):
        """``elementwise.bitwise_not``: ``~x``: bitwise not of an integer tensor, logical not
        of a bool one (as in PyTorch)."""
        return _ops.elementwise.bitwise_not(self)

    def isclose(self, b, rtol=1e-05, atol=1e-08, equal_nan=False):
        """``elementwise.isclose``: |a - b| <= atol + rtol * |b| elementwise, as a bool
        tensor (PyTorch's defaults)."""
        return _ops.elementwise.isclose(self, b, rtol, atol, equal_nan)

    def allclose(self, b, rtol=1e-05, atol=1e-08, equal_nan=False):
        """``elementwise.allclose``: True when ``isclose`` holds everywhere (the shapes must
        broadcast)."""
        return _ops.elementwise.allclose(self, b, rtol, atol, equal_nan)

    def equal(self, b):
        """``elementwise.equal``: True when a and b have the same shape and the same values
        (dtypes promote)."""
        return _ops.elementwise.equal(self, b)

    def relu(self, inplace=False):
        """``activation.relu``: max(0, x).  d/dx = 1 for x > 0, else 0.  (``inplace`` is
        accepted for PyTorch compatibility; the result is always a new tensor.)"""
        return _ops.activation.relu(self, inplace)

    def leaky_relu(self, negative_slope=0.01, inplace=False):
        """``activation.leaky_relu``: x for x > 0, negative_slope * x otherwise.  d/dx = 1 or
        negative_slope."""
        return _ops.activation.leaky_relu(self, negative_slope, inplace)

    def elu(self, alpha=1.0, inplace=False):
        """``activation.elu``: x for x > 0, alpha (e^x - 1) otherwise.  d/dx = 1, or alpha
        e^x = out + alpha."""
        return _ops.activation.elu(self, alpha, inplace)

    def softplus(self, beta=1.0, threshold=20.0):
        """``activation.softplus``: (1/beta) ln(1 + e^(beta x)), linear where beta x >
        threshold (as in PyTorch). d/dx = sigmoid(beta x)."""
        return _ops.activation.softplus(self, beta, threshold)

    def hardtanh(self, min_val=-1.0, max_val=1.0, inplace=False):
        """``activation.hardtanh``: Clamp to [min_val, max_val].  d/dx = 1 strictly inside, 0
        outside (as in PyTorch)."""
        return _ops.activation.hardtanh(self, min_val, max_val, inplace)

    def sigmoid(self):
        """``activation.sigmoid``: 1 / (1 + e^-x).  d/dx = s (1 - s)."""
        return _ops.activation.sigmoid(self)

    def tanh(self):
        """``activation.tanh``: tanh x.  d/dx = 1 - tanh^2 x."""
        return _ops.activation.tanh(self)

    def softmax(self, dim=-1):
        """``activation.softmax``: s_i = e^(x_i - m) / sum_j e^(x_j - m) along ``dim`` (m =
        max, for stability). d/dx: s * (g - sum(g * s))."""
        return _ops.activation.softmax(self, dim)

    def log_softmax(self, dim=-1):
        """``activation.log_softmax``: x_i - m - ln sum_j e^(x_j - m) along ``dim``: never
        exponentiates a large number, so logits of +-1e30 stay finite.  d/dx: g - softmax
        * sum(g)."""
        return _ops.activation.log_softmax(self, dim)

    def sum(self, dim=None, keepdim=False, *, dtype=None, axis=None):
        """``reduce.sum``: sum of x over dim.  d/dx_i = 1 (the gradient is copied to every
        summed element). Integer and bool tensors sum to int64 (as in PyTorch) unless
        ``dtype`` is given."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.sum(self, dim, keepdim, dtype=dtype)

    def mean(self, dim=None, keepdim=False, *, dtype=None, axis=None):
        """``reduce.mean``: mean of x over dim.  d/dx_i = 1/n with n the number of averaged
        elements. Integer tensors are refused, as in PyTorch, unless ``dtype`` is given."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.mean(self, dim, keepdim, dtype=dtype)

    def max(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.max``: Largest element (dim=None) or ``(values, indices)`` along ``dim``.
        The gradient flows to the chosen element(s). ``max(a, b)`` with a tensor ``b`` is
        ``maximum(a, b)``, as in PyTorch."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.max(self, dim, keepdim)

    def min(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.min``: Smallest element (dim=None) or ``(values, indices)`` along
        ``dim``; ``min(a, b)`` with a tensor ``b`` is ``minimum(a, b)``."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.min(self, dim, keepdim)

    def amax(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.amax``: Maximum over dim (int or tuple), values only; ties share the
        gradient."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.amax(self, dim, keepdim)

    def amin(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.amin``: Minimum over dim (int or tuple), values only; ties share the
        gradient."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.amin(self, dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        """``reduce.var``: sum (x - mean)^2 / (n - correction); unbiased (correction 1) by
        default, as in PyTorch. d/dx_i = 2 (x_i - mean) / (n - correction)."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.var(self, dim, unbiased, keepdim, correction=correction)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None):
        """``reduce.std``: sqrt(var).  d/dx_i = (x_i - mean) / ((n - correction) std); 0
        where std is 0 (a constant input), as in PyTorch."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.std(self, dim, unbiased, keepdim, correction=correction)

    def logsumexp(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.logsumexp``: ln sum e^x over dim, computed as m + ln sum e^(x - m) with m
        the max (no overflow). d/dx = softmax(x) over dim."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.logsumexp(self, dim, keepdim)

    def argmax(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.argmax``: Index of the largest element (flat index when dim is None); an
        int64 tensor, no gradient."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.argmin``: Index of the smallest element (flat index when dim is None);
        int64, no gradient."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.argmin(self, dim, keepdim)

    def prod(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.prod``: Product over dim (int or None).  d/dx_i = product of the other
        elements."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.prod(self, dim, keepdim)

    def norm(self, p=2, dim=None, keepdim=False):
        """``reduce.norm``: The p-norm over dim: (sum |x|^p)^(1/p) for any real p; 'fro' is
        2; inf / -inf the largest / smallest |x|; 0 counts the non-zeros (no gradient).
        d/dx = sign(x) |x|^(p-1) / norm^(p-1), and 0 where the norm is 0 (as in PyTorch)."""
        return _ops.reduce.norm(self, p, dim, keepdim)

    def all(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.all(self, ...)``."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.all(self, dim, keepdim)

    def any(self, dim=None, keepdim=False, *, axis=None):
        """``reduce.any(self, ...)``."""
        if axis is not None:
            dim = _axis_alias(dim, axis)
        return _ops.reduce.any(self, dim, keepdim)

    def matmul(self, b):
        """``linalg.matmul``: a @ b.  Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); (k,)
        @ (k, m) -> (m,); (n, k) @ (k,) -> (n,); (k,) @ (k,) -> ()."""
        return _ops.linalg.matmul(self, b)

    def mm(self, b):
        """``linalg.mm``: Matrix product of two 2-D tensors."""
        return _ops.linalg.mm(self, b)

    def bmm(self, b):
        """``linalg.bmm``: Batched matrix product of two 3-D tensors: (B, n, k) @ (B, k, m)
        -> (B, n, m)."""
        return _ops.linalg.bmm(self, b)

    def dot(self, b):
        """``linalg.dot``: Inner product of two 1-D tensors."""
        return _ops.linalg.dot(self, b)

    def reshape(self, *shape):
        """``shape.reshape``: The same elements in a new shape (one dim may be -1): a view
        when the strides allow it, a copy otherwise (as in PyTorch).  Backward: reshape
        back."""
        return _ops.shape.reshape(self, *shape)

    def view(self, *shape):
        """``shape.view``: Like ``reshape`` but always a view: refused (as in PyTorch) when
        the strides do not allow one, because a copy would silently stop in-place writes
        from reaching ``x``."""
        return _ops.shape.view(self, *shape)

    def transpose(self, dim0=0, dim1=1):
        """``shape.transpose``: Swap two dims.  Backward: swap them back."""
        return _ops.shape.transpose(self, dim0, dim1)

    def permute(self, *dims):
        """``shape.permute``: Reorder dims: out.shape[i] = x.shape[dims[i]].  Backward: the
        inverse permutation."""
        return _ops.shape.permute(self, *dims)

    def flatten(self, start_dim=0, end_dim=-1):
        """``shape.flatten``: Merge dims start_dim..end_dim into one: (N, C, H, W) -> (N,
        C*H*W) for start_dim=1."""
        return _ops.shape.flatten(self, start_dim, end_dim)

    def unflatten(self, dim, sizes):
        """``shape.unflatten``: Split dim into ``sizes``: (N, 12) -> (N, 3, 4) for dim=1,
        sizes=(3, 4)."""
        return _ops.shape.unflatten(self, dim, sizes)

    def squeeze(self, dim=None):
        """``shape.squeeze``: Remove size-1 dims (all of them, or just ``dim`` if it has size
        1)."""
        return _ops.shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        """``shape.unsqueeze``: Insert a size-1 dim at ``dim`` (negative counts from the end
        of the result)."""
        return _ops.shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        """``shape.expand``: Broadcast size-1 dims to ``sizes``; -1 keeps a dim's size
        (PyTorch's expand)."""
        return _ops.shape.expand(self, *sizes)

    def broadcast_to(self, *shape):
        """``shape.broadcast_to``: Broadcast to ``shape`` (numpy rules).  Backward: sum over
        the broadcast dims (engine)."""
        return _ops.shape.broadcast_to(self, *shape)

    def gather(self, dim, index):
        """``shape.gather``: out[i][j] = x[index[i][j]][j] for dim=0 (generally: index picks
        along ``dim``). index is an int tensor with x's number of dims and sizes no larger
        than x's. Backward: scatter-add the gradient to the picked positions."""
        return _ops.shape.gather(self, dim, index)

    def split(self, split_size_or_sections, dim=0):
        """``shape.split``: Pieces of ``split_size`` along dim (the last may be smaller), or
        of the given sizes."""
        return _ops.shape.split(self, split_size_or_sections, dim)

    def chunk(self, chunks, dim=0):
        """``shape.chunk``: ``chunks`` nearly equal pieces along dim (as in PyTorch: ceil(n /
        chunks) each)."""
        return _ops.shape.chunk(self, chunks, dim)

    def narrow(self, dim, start, length):
        """``shape.narrow``: The slice start:start+length along dim, a view (a negative start
        counts from the end, as in PyTorch)."""
        return _ops.shape.narrow(self, dim, start, length)

    def contiguous(self):
        """``shape.contiguous``: A C-contiguous copy when needed (a no-op otherwise)."""
        return _ops.shape.contiguous(self)

    def repeat(self, *sizes):
        """``shape.repeat``: Tile the tensor ``sizes`` times along each dim (PyTorch's
        repeat). Backward: sum the copies."""
        return _ops.shape.repeat(self, *sizes)

    def flip(self, dims):
        """``shape.flip``: Reverse the order of elements along ``dims``.  Backward: flip
        back."""
        return _ops.shape.flip(self, dims)

    def view_as(self, other):
        """``shape.view_as``: ``x.view(other.shape)``."""
        return _ops.shape.view_as(self, other)

    def reshape_as(self, other):
        """``shape.reshape_as``: ``x.reshape(other.shape)``."""
        return _ops.shape.reshape_as(self, other)

    def expand_as(self, other):
        """``shape.expand_as``: ``x.expand(other.shape)``."""
        return _ops.shape.expand_as(self, other)

    def t(self):
        """``shape.t``: The transpose of a matrix; 0-D and 1-D tensors are returned as they
        are (as a view)."""
        return _ops.shape.t(self)

    def cumsum(self, dim, *, dtype=None):
        """``scan.cumsum``: Running sum along ``dim``.  Backward: the reversed running sum of
        g."""
        return _ops.scan.cumsum(self, dim, dtype=dtype)

    def cumprod(self, dim, *, dtype=None):
        """``scan.cumprod``: Running product along ``dim``.  Backward: without zeros,
        revcumsum(g * y) / x; with zeros, the exact sum over i >= j of g_i times the
        product of x_k (k <= i, k != j)."""
        return _ops.scan.cumprod(self, dim, dtype=dtype)

    def sort(self, dim=-1, descending=False, stable=False):
        """``scan.sort``: (values, indices): x sorted along ``dim``, and where each value
        was. Always stable here (PyTorch's default leaves the order of ties unspecified).
        Backward: each value's gradient goes back to its index."""
        return _ops.scan.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        """``scan.argsort``: The indices that sort x along ``dim`` (int64, no gradient)."""
        return _ops.scan.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """``scan.topk``: (values, indices) of the k largest (largest=False: smallest)
        entries along ``dim``, in sorted order. out.shape = x.shape with size(dim)
        replaced by k."""
        return _ops.scan.topk(self, k, dim, largest, sorted)

    def tril(self, diagonal=0):
        """``index.tril``: The lower triangle of the last two dims (j - i <= diagonal kept,
        the rest 0). Backward: the lower triangle of g."""
        return _ops.index.tril(self, diagonal)

    def triu(self, diagonal=0):
        """``index.triu``: The upper triangle of the last two dims (j - i >= diagonal kept,
        the rest 0). Backward: the upper triangle of g."""
        return _ops.index.triu(self, diagonal)

    def index_select(self, dim, index):
        """``index.index_select``: The entries ``index`` (1-D or 0-D, in [0, size)) along
        ``dim``: out.shape = x.shape with size(dim) replaced by len(index). Backward: add
        each output slice's gradient into the slice it was taken from."""
        return _ops.index.index_select(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        """``index.scatter``: A copy of x with out[.., index[i, j, ..], ..] = src[i, j, ..]
        along ``dim`` (src a tensor at least as large as index, or a number). ``reduce``
        'add' / 'multiply' combine instead of overwriting. With repeated indices the last
        write wins (PyTorch leaves it unspecified). Backward (no reduce): x gets g with
        the written positions zeroed; src gets g read back at the positions it was written
        to."""
        return _ops.index.scatter(self, dim, index, src, value=value, reduce=reduce)

    def scatter_add(self, dim, index, src):
        """``index.scatter_add``: A copy of x with src[i, j, ..] added at out[.., index[i, j,
        ..], ..] along ``dim`` (repeated indices accumulate).  d/dx = 1;  d/dsrc = g
        gathered at index."""
        return _ops.index.scatter_add(self, dim, index, src)

    def masked_fill(self, mask, value):
        """``index.masked_fill``: x with ``value`` (a number or a 0-d tensor) wherever the
        bool ``mask`` is true; mask broadcasts with x. The value is cast to x's dtype (2.7
        into an int64 tensor is 2). d/dx = not mask;  d/dvalue = the sum of g over the
        masked positions."""
        return _ops.index.masked_fill(self, mask, value)

    def roll(self, shifts, dims=None):
        """``index.roll``: Shift elements cyclically by ``shifts`` along ``dims`` (None: the
        flattened tensor, shape kept). Backward: roll the gradient back."""
        return _ops.index.roll(self, shifts, dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        """``index.repeat_interleave``: Repeat each element (dim=None: of the flattened
        tensor) or each slice along ``dim`` ``repeats`` times (an int, or a 1-D tensor
        with one count per slice, or a single count). ``repeat_interleave(counts)`` alone
        gives [0]*counts[0] + [1]*counts[1] + ... Backward: sum the gradient of the
        copies."""
        return _ops.index.repeat_interleave(self, repeats, dim, output_size=output_size)

    # ---- in place (functional/inplace.py: the rules) ---------------------------------------

    def add_(self, *args, **kwargs):
        """In place: ``x <- add(x, ...)``; returns x."""
        return _ops.inplace.METHODS['add_'](self, *args, **kwargs)

    def sub_(self, *args, **kwargs):
        """In place: ``x <- sub(x, ...)``; returns x."""
        return _ops.inplace.METHODS['sub_'](self, *args, **kwargs)

    def mul_(self, *args, **kwargs):
        """In place: ``x <- mul(x, ...)``; returns x."""
        return _ops.inplace.METHODS['mul_'](self, *args, **kwargs)

    def div_(self, *args, **kwargs):
        """In place: ``x <- div(x, ...)``; returns x."""
        return _ops.inplace.METHODS['div_'](self, *args, **kwargs)

    def pow_(self, *args, **kwargs):
        """In place: ``x <- pow(x, ...)``; returns x."""
        return _ops.inplace.METHODS['pow_'](self, *args, **kwargs)

    def addcmul_(self, *args, **kwargs):
        """In place: ``x <- addcmul(x, ...)``; returns x."""
        return _ops.inplace.METHODS['addcmul_'](self, *args, **kwargs)

    def addcdiv_(self, *args, **kwargs):
        """In place: ``x <- addcdiv(x, ...)``; returns x."""
        return _ops.inplace.METHODS['addcdiv_'](self, *args, **kwargs)

    def lerp_(self, *args, **kwargs):
        """In place: ``x <- lerp(x, ...)``; returns x."""
        return _ops.inplace.METHODS['lerp_'](self, *args, **kwargs)

    def clamp_min_(self, *args, **kwargs):
        """In place: ``x <- clamp_min(x, ...)``; returns x."""
        return _ops.inplace.METHODS['clamp_min_'](self, *args, **kwargs)

    def clamp_max_(self, *args, **kwargs):
        """In place: ``x <- clamp_max(x, ...)``; returns x."""
        return _ops.inplace.METHODS['clamp_max_'](self, *args, **kwargs)

    def reciprocal_(self, *args, **kwargs):
        """In place: ``x <- reciprocal(x, ...)``; returns x."""
        return _ops.inplace.METHODS['reciprocal_'](self, *args, **kwargs)

    def rsqrt_(self, *args, **kwargs):
        """In place: ``x <- rsqrt(x, ...)``; returns x."""
        return _ops.inplace.METHODS['rsqrt_'](self, *args, **kwargs)

    def clamp_(self, *args, **kwargs):
        """In place: ``x <- clamp(x, ...)``; returns x."""
        return _ops.inplace.METHODS['clamp_'](self, *args, **kwargs)

    def clip_(self, *args, **kwargs):
        """In place: ``x <- clip(x, ...)``; returns x."""
        return _ops.inplace.METHODS['clip_'](self, *args, **kwargs)

    def neg_(self, *args, **kwargs):
        """In place: ``x <- neg(x, ...)``; returns x."""
        return _ops.inplace.METHODS['neg_'](self, *args, **kwargs)

    def abs_(self, *args, **kwargs):
        """In place: ``x <- abs(x, ...)``; returns x."""
        return _ops.inplace.METHODS['abs_'](self, *args, **kwargs)

    def exp_(self, *args, **kwargs):
        """In place: ``x <- exp(x, ...)``; returns x."""
        return _ops.inplace.METHODS['exp_'](self, *args, **kwargs)

    def log_(self, *args, **kwargs):
        """In place: ``x <- log(x, ...)``; returns x."""
        return _ops.inplace.METHODS['log_'](self, *args, **kwargs)

    def sqrt_(self, *args, **kwargs):
        """In place: ``x <- sqrt(x, ...)``; returns x."""
        return _ops.inplace.METHODS['sqrt_'](self, *args, **kwargs)

    def sin_(self, *args, **kwargs):
        """In place: ``x <- sin(x, ...)``; returns x."""
        return _ops.inplace.METHODS['sin_'](self, *args, **kwargs)

    def cos_(self, *args, **kwargs):
        """In place: ``x <- cos(x, ...)``; returns x."""
        return _ops.inplace.METHODS['cos_'](self, *args, **kwargs)

    def square_(self, *args, **kwargs):
        """In place: ``x <- square(x, ...)``; returns x."""
        return _ops.inplace.METHODS['square_'](self, *args, **kwargs)

    def sigmoid_(self, *args, **kwargs):
        """In place: ``x <- sigmoid(x, ...)``; returns x."""
        return _ops.inplace.METHODS['sigmoid_'](self, *args, **kwargs)

    def tanh_(self, *args, **kwargs):
        """In place: ``x <- tanh(x, ...)``; returns x."""
        return _ops.inplace.METHODS['tanh_'](self, *args, **kwargs)

    def relu_(self, *args, **kwargs):
        """In place: ``x <- relu(x, ...)``; returns x."""
        return _ops.inplace.METHODS['relu_'](self, *args, **kwargs)

    def copy_(self, *args, **kwargs):
        """In place: ``x <- copy(x, ...)``; returns x."""
        return _ops.inplace.METHODS['copy_'](self, *args, **kwargs)

    def floor_divide_(self, *args, **kwargs):
        """In place: ``x <- floor_divide(x, ...)``; returns x."""
        return _ops.inplace.METHODS['floor_divide_'](self, *args, **kwargs)

    def fmod_(self, *args, **kwargs):
        """In place: ``x <- fmod(x, ...)``; returns x."""
        return _ops.inplace.METHODS['fmod_'](self, *args, **kwargs)

    def remainder_(self, *args, **kwargs):
        """In place: ``x <- remainder(x, ...)``; returns x."""
        return _ops.inplace.METHODS['remainder_'](self, *args, **kwargs)

    def floor_(self, *args, **kwargs):
        """In place: ``x <- floor(x, ...)``; returns x."""
        return _ops.inplace.METHODS['floor_'](self, *args, **kwargs)

    def ceil_(self, *args, **kwargs):
        """In place: ``x <- ceil(x, ...)``; returns x."""
        return _ops.inplace.METHODS['ceil_'](self, *args, **kwargs)

    def round_(self, *args, **kwargs):
        """In place: ``x <- round(x, ...)``; returns x."""
        return _ops.inplace.METHODS['round_'](self, *args, **kwargs)

    def trunc_(self, *args, **kwargs):
        """In place: ``x <- trunc(x, ...)``; returns x."""
        return _ops.inplace.METHODS['trunc_'](self, *args, **kwargs)

    def bitwise_and_(self, *args, **kwargs):
        """In place: ``x <- bitwise_and(x, ...)``; returns x."""
        return _ops.inplace.METHODS['bitwise_and_'](self, *args, **kwargs)

    def bitwise_or_(self, *args, **kwargs):
        """In place: ``x <- bitwise_or(x, ...)``; returns x."""
        return _ops.inplace.METHODS['bitwise_or_'](self, *args, **kwargs)

    def bitwise_xor_(self, *args, **kwargs):
        """In place: ``x <- bitwise_xor(x, ...)``; returns x."""
        return _ops.inplace.METHODS['bitwise_xor_'](self, *args, **kwargs)

    def log2_(self, *args, **kwargs):
        """In place: ``x <- log2(x, ...)``; returns x."""
        return _ops.inplace.METHODS['log2_'](self, *args, **kwargs)

    def exp2_(self, *args, **kwargs):
        """In place: ``x <- exp2(x, ...)``; returns x."""
        return _ops.inplace.METHODS['exp2_'](self, *args, **kwargs)

    def log1p_(self, *args, **kwargs):
        """In place: ``x <- log1p(x, ...)``; returns x."""
        return _ops.inplace.METHODS['log1p_'](self, *args, **kwargs)

    def expm1_(self, *args, **kwargs):
        """In place: ``x <- expm1(x, ...)``; returns x."""
        return _ops.inplace.METHODS['expm1_'](self, *args, **kwargs)

    def erf_(self, *args, **kwargs):
        """In place: ``x <- erf(x, ...)``; returns x."""
        return _ops.inplace.METHODS['erf_'](self, *args, **kwargs)

    def tril_(self, *args, **kwargs):
        """In place: ``x <- tril(x, ...)``; returns x."""
        return _ops.inplace.METHODS['tril_'](self, *args, **kwargs)

    def triu_(self, *args, **kwargs):
        """In place: ``x <- triu(x, ...)``; returns x."""
        return _ops.inplace.METHODS['triu_'](self, *args, **kwargs)

    def masked_fill_(self, *args, **kwargs):
        """In place: ``x <- masked_fill(x, ...)``; returns x."""
        return _ops.inplace.METHODS['masked_fill_'](self, *args, **kwargs)

    def scatter_(self, *args, **kwargs):
        """In place: ``x <- scatter(x, ...)``; returns x."""
        return _ops.inplace.METHODS['scatter_'](self, *args, **kwargs)

    def scatter_add_(self, *args, **kwargs):
        """In place: ``x <- scatter_add(x, ...)``; returns x."""
        return _ops.inplace.METHODS['scatter_add_'](self, *args, **kwargs)

    def __iadd__(self, *args, **kwargs):
        """``x += y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__iadd__'](self, *args, **kwargs)

    def __isub__(self, *args, **kwargs):
        """``x -= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__isub__'](self, *args, **kwargs)

    def __imul__(self, *args, **kwargs):
        """``x *= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__imul__'](self, *args, **kwargs)

    def __itruediv__(self, *args, **kwargs):
        """``x /= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__itruediv__'](self, *args, **kwargs)

    def __ipow__(self, *args, **kwargs):
        """``x **= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__ipow__'](self, *args, **kwargs)

    def __ifloordiv__(self, *args, **kwargs):
        """``x //= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__ifloordiv__'](self, *args, **kwargs)

    def __imod__(self, *args, **kwargs):
        """``x %= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__imod__'](self, *args, **kwargs)

    def __iand__(self, *args, **kwargs):
        """``x &= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__iand__'](self, *args, **kwargs)

    def __ior__(self, *args, **kwargs):
        """``x |= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__ior__'](self, *args, **kwargs)

    def __ixor__(self, *args, **kwargs):
        """``x ^= y``: in place, as in PyTorch."""
        return _ops.inplace.METHODS['__ixor__'](self, *args, **kwargs)

    def __setitem__(self, key, value):
        """``x[key] = value`` in place, with getitem's indexing rules (recorded as
        ``index_put`` when x or value requires grad and grad mode is on)."""
        _ops.inplace.METHODS["__setitem__"](self, key, value)

    # ---- new tensors with this one's dtype (unless given), as in PyTorch ----------------------

    def new_zeros(self, *size, dtype=None, requires_grad=False):
        return _ops.tensor.zeros(*size, dtype=self.dtype if dtype is None else dtype,
                                 requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False):
        return _ops.tensor.ones(*size, dtype=self.dtype if dtype is None else dtype,
                                requires_grad=requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad=False):
        return _ops.tensor.empty(*size, dtype=self.dtype if dtype is None else dtype,
                                 requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False):
        """A tensor of ``size`` filled with ``fill_value``, in this tensor's dtype by default."""
        return _ops.tensor.full(size, fill_value, dtype=self.dtype if dtype is None else dtype,
                                requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False):
        """A new leaf holding a copy of ``data``, in this tensor's dtype by default."""
        data = data._data if isinstance(data, TensorMethods) else data
        return _ops.tensor.tensor(np.array(data), dtype=self.dtype if dtype is None else dtype,
                                  requires_grad=requires_grad)

    # ---- devices (devices.py): everything lives on the CPU -----------------------------------

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to(device)``, ``to(other)``: devices.py says which are accepted."""
        return _ops.devices._tensor_to(self, *args, **kwargs)

    def cpu(self):
        """The tensor itself: it already lives on the CPU."""
        return self

    def cuda(self, device=None, non_blocking=False, memory_format=None):
        """Always refused: autograd_cnn has no GPU."""
        return _ops.devices._tensor_cuda(self, device, non_blocking, memory_format)

    @property
    def device(self):
        """Always device(type='cpu')."""
        return _ops.devices._CPU

    @property
    def is_cuda(self) -> bool:
        """Always False: there is no GPU here."""
        return False

    # ---- autograd.py -------------------------------------------------------------------------

    @property
    def grad_fn(self):
        """The node that produced this tensor (None for a leaf)."""
        return _ops.autograd._grad_fn(self)

    # ---- dtype casts (last: their names shadow the builtins in this class body) ---------------

    def type(self, dtype):
        """The tensor in ``dtype`` (differentiable between floating dtypes). ``to`` (dtypes and
        devices) is in ``devices.py``."""
        return _ops.elementwise.cast(self, dtype)

    def float(self):
        return _ops.elementwise.cast(self, "float32")

    def double(self):
        return _ops.elementwise.cast(self, "float64")

    def long(self):
        return _ops.elementwise.cast(self, "int64")

    def int(self):
        return _ops.elementwise.cast(self, "int32")

    def bool(self):
        return _ops.elementwise.cast(self, "bool")


# What a binary operator takes (Tensor is a TensorMethods); anything else: NotImplemented
_OPERANDS = (TensorMethods, np.ndarray, np.generic, numbers.Number, list, tuple)
