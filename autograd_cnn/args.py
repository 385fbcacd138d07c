"""Argument checking, in one place: every layer and functional op checks its user-facing
arguments with these, so a size, a count or a probability is judged by one rule and one message.

Each helper returns the value in the form the code below it uses (Python ints, (h, w) pairs),
or raises TypeError for a value of the wrong kind and ValueError for one out of range, naming
``where`` (the op or layer) and the argument:

    int_pair(3, "stride", "conv2d", minimum=1)         -> (3, 3)
    int_pair((1, 0), "dilation", "conv2d", minimum=1)  -> ValueError: conv2d: dilation must be >= 1, got (1, 0)
    int_value(2.0, "seed", "DistributedSampler")       -> TypeError: DistributedSampler: seed must be an int, got 2.0 (float)
    positive_int(0, "in_channels", "Conv2d")           -> ValueError: Conv2d: in_channels must be positive, got 0
    probability(1.5, "p", "Dropout")                   -> ValueError: Dropout: p must be a probability in [0, 1], got 1.5

``int_pair`` words the same checks in two ways, because the tests pin both: ``"value"`` (the
default: convolution, the layers, the data pipeline, the backend) shows the whole value, then the
entry at fault; ``"element"`` (pooling, unpooling, interpolate) names the entry at fault with its
type, and says "positive" / "non-negative" for the minimums 1 and 0:

    int_pair((2, 2.5), "stride", "conv2d")
        -> TypeError: conv2d: stride must be an int or a pair of ints, got (2, 2.5): 2.5 is a float
    int_pair((2, 2.5), "stride", "max_pool2d", wording="element")
        -> TypeError: max_pool2d: stride must be an int or a pair of ints, got 2.5 (float) in (2, 2.5)
    int_pair(0, "stride", "max_pool2d", 1, wording="element")
        -> ValueError: max_pool2d: stride must be positive, got (0, 0)

``as_pair`` only reshapes (no checks), for code that reads a layer's already-checked attributes.
"""

from __future__ import annotations

import math
import numbers

from .errors import SizeCountError

__all__ = ["is_int", "int_value", "int_pair", "int_single", "positive_int", "probability",
           "as_pair"]

_WORDINGS = ("value", "element")


def is_int(v) -> bool:
    """An int or a numpy integer, not a bool (True is 1 to Python, never a size to us)."""
    # a plain int first: the ABC check costs 0.3 us, and every op call asks this a few times
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, bool))


def _not_finite(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, numbers.Integral) and \
        not math.isfinite(v)


def _not_int(where: str, name: str, value, v, what: str) -> TypeError:
    finite = " (not even finite)" if _not_finite(v) else ""
    return TypeError(f"{where}: {name} must be {what}, got {value!r}: {v!r} is a "
                     f"{type(v).__name__}{finite}")


def _kind(v) -> str:
    """The type of a refused value, and whether it is even finite: 'float, not even finite'."""
    return type(v).__name__ + (", not even finite" if _not_finite(v) else "")


def int_value(value, name: str, where: str, what: str = "an int") -> int:
    """An int (a Python or numpy integer, not a bool), as a Python int; no range check.
    ``what`` words the expectation in the TypeError (``"an int, None or a pair of them"``)."""
    if not is_int(value):
        raise TypeError(f"{where}: {name} must be {what}, got {value!r} ({_kind(value)})")
    return int(value)


def int_pair(value, name: str, where: str, minimum: int | None = None, *,
             allow_int: bool = True, allow_single: bool = False,
             wording: str = "value") -> tuple[int, int]:
    """An int or a pair of ints (height, width), each >= ``minimum``, as two Python ints.

    allow_int=False: a pair only (a bare int is refused); allow_single: a 1-sequence (k,) also
    means (k, k), as PyTorch's pooling accepts; wording: "value" or "element" (see the module
    docstring). TypeError for an entry that is not an int, SizeCountError (a TypeError and a
    ValueError) for the wrong number of entries, ValueError for an entry below ``minimum``."""
    if wording != "value" and wording != "element":
        raise ValueError(f"int_pair: wording must be one of {_WORDINGS}, got {wording!r}")
    if type(value) is int and allow_int:                    # the common case, kept fast
        pair = (value, value)
    elif type(value) is tuple and len(value) == 2 and type(value[0]) is int \
            and type(value[1]) is int:
        pair = value
    else:
        pair = _pair_slow(value, name, where, allow_int, allow_single, wording)
    if minimum is not None and (pair[0] < minimum or pair[1] < minimum):
        if wording == "value":
            raise ValueError(f"{where}: {name} must be >= {minimum}, got {value!r}")
        bound = {1: "positive", 0: "non-negative"}.get(minimum, f">= {minimum}")
        raise ValueError(f"{where}: {name} must be {bound}, got {pair}")
    return pair


def _pair_slow(value, name, where, allow_int, allow_single, wording) -> tuple[int, int]:
    """int_pair for everything but an int or a tuple of two ints: lists, numpy integers, a
    1-sequence, and every error but the range."""
    what = "an int or a pair of ints" if allow_int else "a pair of ints"
    if isinstance(value, (tuple, list)):
        items = tuple(value)
        if allow_single and len(items) == 1:
            items = items * 2
    elif allow_int:
        items = (value, value)
    else:
        raise TypeError(f"{where}: {name} must be {what}, got {value!r} ({_kind(value)})")
    if len(items) != 2:
        hw = " (height, width)" if wording == "value" else ""
        raise SizeCountError(f"{where}: {name} must be {what}{hw}, got {value!r} with "
                             f"{len(items)} entries")
    for v in items:
        if is_int(v):
            continue
        if wording == "value":
            raise _not_int(where, name, value, v, what)
        # the entry at fault: a bool or an inf/nan is refused as an int, anything else as a size
        inside = f" in {value!r}" if isinstance(value, (tuple, list)) else ""
        want = "an int" if isinstance(v, bool) or _not_finite(v) else what
        raise TypeError(f"{where}: {name} must be {want}, got {v!r} ({_kind(v)}){inside}")
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
    value = int_value(value, name, where)
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{where}: {name} must be {'non-negative' if allow_zero else 'positive'}"
                         f", got {value}")
    return value


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
