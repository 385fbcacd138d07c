"""Error classes shared by the whole package (imports nothing).

PyTorch raises ``RuntimeError`` for shape mismatches (matmul, reshape, permute, cat, conv, ...);
numpy-minded code catches ``ValueError``. ``ShapeError`` is both, so either ``except`` works and
the message stays the library's own (what was given, what was expected).
"""

__all__ = ["ShapeError", "DTypeError", "SizeCountError"]


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together (raised where PyTorch raises RuntimeError)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype that cannot hold the result (PyTorch raises RuntimeError for these)."""


class SizeCountError(TypeError, ValueError):
    """A size given with the wrong number of entries (a kernel size of three numbers for a 2-D
    layer): the wrong kind of argument and a bad value at once, so either ``except`` works."""
