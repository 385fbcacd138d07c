"""``Dual``: forward-mode automatic differentiation with dual numbers.

A dual number a + b·ε with ε² = 0 carries a value and a derivative together:
f(a + b·ε) = f(a) + f'(a)·b·ε. Seed the input you differentiate by with derivative 1
(``Dual.variable(x)``), every other input with 0, and each op applies its own derivative as the
computation runs forwards: one pass gives d(output)/d(that input). Reverse mode (``Value``) gives
the derivatives with respect to all inputs in one backward pass instead; the two must agree,
which makes ``Dual`` an independent oracle for the tests.

    >>> x = Dual.variable(3.0)
    >>> y = x * x + 2 * x
    >>> y.value, y.deriv
    (15.0, 8.0)
"""

from __future__ import annotations

import math
import numbers

__all__ = ["Dual"]


def _check_real(x, where: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where}: expected an int or float, got {type(x).__name__} ({x!r})")
    return float(x)


class Dual:
    """value + deriv·ε, with ε² = 0. Same op set as ``Value``."""

    __slots__ = ("value", "deriv")
    __array_ufunc__ = None

    def __init__(self, value, deriv=0.0):
        self.value = _check_real(value, "Dual value")
        self.deriv = _check_real(deriv, "Dual deriv")

    @classmethod
    def variable(cls, value) -> "Dual":
        """The input to differentiate by: derivative seed 1."""
        return cls(value, 1.0)

    @staticmethod
    def _lift(other, op: str) -> "Dual":
        if isinstance(other, Dual):
            return other
        return Dual(_check_real(other, f"Dual {op}"), 0.0)

    def __repr__(self) -> str:
        return f"Dual(value={self.value:.6g}, deriv={self.deriv:.6g})"

    # (a + a'ε) op (b + b'ε), each with its derivative rule
    def __add__(self, other):
        o = self._lift(other, "+")
        return Dual(self.value + o.value, self.deriv + o.deriv)

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other, "-")
        return Dual(self.value - o.value, self.deriv - o.deriv)

    def __rsub__(self, other):
        return self._lift(other, "-") - self

    def __mul__(self, other):
        o = self._lift(other, "*")
        return Dual(self.value * o.value, self.deriv * o.value + self.value * o.deriv)

    __rmul__ = __mul__

    def __truediv__(self, other):
        o = self._lift(other, "/")
        if o.value == 0:
            raise ZeroDivisionError(f"Dual /: division of {self.value!r} by zero")
        return Dual(self.value / o.value,
                    (self.deriv * o.value - self.value * o.deriv) / (o.value * o.value))

    def __rtruediv__(self, other):
        return self._lift(other, "/") / self

    def __pow__(self, other):
        o = self._lift(other, "**")
        a, b = self.value, o.value
        if a < 0 and not b.is_integer():
            raise ValueError(f"Dual **: a negative base ({a!r}) to a non-integer power ({b!r})")
        out = a ** b
        # d(a^b) = b a^(b-1) da + a^b ln(a) db
        da = b * a ** (b - 1.0) * self.deriv if self.deriv and b != 0 else 0.0
        if o.deriv == 0:
            db = 0.0
        elif a > 0:
            db = out * math.log(a) * o.deriv
        elif a == 0 and b >= 0:
            db = 0.0
        else:
            db = math.nan
        return Dual(out, da + db)

    def __rpow__(self, other):
        return self._lift(other, "**") ** self

    def __neg__(self):
        return Dual(-self.value, -self.deriv)

    def __pos__(self):
        return self

    def exp(self):
        e = math.exp(self.value)
        return Dual(e, e * self.deriv)

    def log(self):
        if self.value <= 0:
            raise ValueError(f"log: input must be > 0, got {self.value!r} ({self!r})")
        return Dual(math.log(self.value), self.deriv / self.value)

    def sqrt(self):
        if self.value < 0:
            raise ValueError(f"sqrt: input must be >= 0, got {self.value!r} ({self!r})")
        r = math.sqrt(self.value)
        if r == 0:                     # the slope at 0 is infinite (Value's rule says the same)
            return Dual(r, math.copysign(math.inf, self.deriv) if self.deriv else 0.0)
        return Dual(r, self.deriv * 0.5 / r if self.deriv else 0.0)

    def tanh(self):
        t = math.tanh(self.value)
        return Dual(t, (1.0 - t * t) * self.deriv)

    def sigmoid(self):
        x = self.value
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return Dual(s, s * (1.0 - s) * self.deriv)

    def relu(self):
        return Dual(self.value, self.deriv) if self.value > 0 else Dual(0.0, 0.0)

    def leaky_relu(self, negative_slope: float = 0.01):
        k = 1.0 if self.value > 0 else _check_real(negative_slope, "leaky_relu negative_slope")
        return Dual(self.value * k, self.deriv * k)

    def sin(self):
        return Dual(math.sin(self.value), math.cos(self.value) * self.deriv)

    def cos(self):
        return Dual(math.cos(self.value), -math.sin(self.value) * self.deriv)

    def abs(self):
        s = 1.0 if self.value > 0 else (-1.0 if self.value < 0 else 0.0)
        return Dual(abs(self.value), s * self.deriv)

    __abs__ = abs

    def _other(self, other):
        return other.value if isinstance(other, Dual) else _check_real(other, "Dual comparison")

    def __lt__(self, other):
        return self.value < self._other(other)

    def __le__(self, other):
        return self.value <= self._other(other)

    def __gt__(self, other):
        return self.value > self._other(other)

    def __ge__(self, other):
        return self.value >= self._other(other)

    def __eq__(self, other):
        # the values compare, as Value's do (the derivatives are not part of the number)
        if not isinstance(other, (Dual, numbers.Real)):
            return NotImplemented
        return self.value == self._other(other)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq

    __hash__ = object.__hash__

    def __float__(self):
        return self.value
