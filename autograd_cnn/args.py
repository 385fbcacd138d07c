"""Argument checking, in one place: every layer and functional op checks its user-facing
arguments with these, so a size, a count or a probability is judged by one rule and one message.

Each helper returns the value in the form the code below it uses (Python ints, (h, w) pairs),
or raises TypeError for a value of the wrong kind and ValueError for one out of range, naming
``where`` (the op or layer) and the argument:

    int_pair(3, "stride", "conv2d", minimum=1)         -> (3, 3)
    int_pair((1, 0), "dilation", "conv2d", minimum=1)  -> ValueError: conv2d: dilation must be >= 1, got (1, 0)
    positive_int(0, "in_channels", "Conv2d")           -> ValueError: Conv2d: in_channels must be positive, got 0
    probability(1.5, "p", "Dropout")                   -> ValueError: Dropout: p must be a probability in [0, 1], got 1.5

``as_pair`` only reshapes (no checks), for code that reads a layer's already-checked attributes.
"""

from __future__ import annotations

import math
import numbers

from .errors import SizeCountError

__all__ = ["is_int", "int_pair", "int_single", "positive_int", "probability", "as_pair"]


def is_int(v) -> bool:
    """An int or a numpy integer, not a bool (True is 1 to Python, never a size to us)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _not_int(where: str, name: str, value, v, what: str) -> TypeError:
    finite = "" if not isinstance(v, numbers.Real) or isinstance(v, numbers.Integral) \
        or math.isfinite(v) else " (not even finite)"
    return TypeError(f"{where}: {name} must be {what}, got {value!r}: {v!r} is a "
                     f"{type(v).__name__}{finite}")


def int_pair(value, name: str, where: str, minimum: int | None = None) -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= ``minimum``, as two Python ints."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise SizeCountError(f"{where}: {name} must be an int or a pair of ints (height, width), "
                         f"got {value!r} with {len(items)} entries")
    for v in items:
        if not is_int(v):
            raise _not_int(where, name, value, v, "an int or a pair of ints")
    if minimum is not None and (items[0] < minimum or items[1] < minimum):
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def int_single(value, name: str, where: str, minimum: int | None = None) -> tuple[int]:
    """An int or a 1-tuple, as the 1-tuple PyTorch stores for 1-D layers' sizes."""
    v = value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value
    if not is_int(v):
        raise _not_int(where, name, value, v, "an int or a 1-tuple")
    if minimum is not None and v < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
    return (int(v),)


def positive_int(value, name: str, where: str, allow_zero: bool = False) -> int:
    """A count: an int > 0 (>= 0 with ``allow_zero``), as a Python int."""
    if not is_int(value):
        raise TypeError(f"{where}: {name} must be an int, got {type(value).__name__} "
                        f"({value!r})")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{where}: {name} must be {'non-negative' if allow_zero else 'positive'}"
                         f", got {value}")
    return int(value)


def probability(value, name: str, where: str) -> float:
    """A probability: a real number in [0, 1], as a Python float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a probability in [0, 1], got "
                        f"{type(value).__name__} ({value!r})")
    if not 0.0 <= value <= 1.0:                      # also refuses nan
        raise ValueError(f"{where}: {name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def as_pair(value) -> tuple:
    """(v, v) for a single value, the value itself as a tuple for a sequence; no checks."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)
