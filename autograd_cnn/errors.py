"""Error classes shared by the whole package (imports nothing).

PyTorch raises ``RuntimeError`` for shape mismatches (matmul, reshape, permute, cat, conv, ...);
numpy-minded code catches ``ValueError``. ``ShapeError`` is both, so either ``except`` works and
the message stays the library's own (what was given, what was expected).
"""

__all__ = ["ShapeError", "DTypeError"]


class ShapeError(ValueError, RuntimeError):
    """Shapes that do not fit together (raised where PyTorch raises RuntimeError)."""


class DTypeError(TypeError, RuntimeError):
    """A dtype that cannot hold the result (PyTorch raises RuntimeError for these)."""
