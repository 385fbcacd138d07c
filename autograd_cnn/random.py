"""The package's random number generator: one ``numpy.random.Generator`` that ``rand``, ``randn``,
dropout masks, data shuffling and ``nn.init`` draw from unless they are given their own.
``manual_seed(s)`` replaces it, so the same seed gives the same numbers in the same order."""

from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "default_generator", "Generator"]

Generator = np.random.Generator

_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the package-wide generator; returns it."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__} ({seed!r})")
    _generator = np.random.default_rng(int(seed))
    return _generator


def default_generator() -> np.random.Generator:
    """The current package-wide generator."""
    return _generator


def resolve(generator) -> np.random.Generator:
    """``generator`` if given (a numpy Generator or an int seed), else the package-wide one."""
    if generator is None:
        return _generator
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be a numpy.random.Generator or an int seed, "
        f"got {type(generator).__name__}"
    )
