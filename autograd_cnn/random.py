"""The package's random number generator: one ``numpy.random.Generator`` that ``rand``, ``randn``,
dropout masks, data shuffling and ``nn.init`` draw from unless they are given their own.
``manual_seed(s)`` replaces it, so the same seed gives the same numbers in the same order."""

from __future__ import annotations

import numpy as np

__all__ = ["manual_seed", "default_generator", "Generator"]

def _check_seed(seed, where: str) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{where}: seed must be an int, got {type(seed).__name__} ({seed!r})")
    return int(seed)


class Generator:
    """PyTorch's ``torch.Generator``: a seedable source of random numbers that ops, samplers and
    loaders take as ``generator=`` (numpy's PCG64 underneath; a numpy Generator works too).

        g = ac.Generator().manual_seed(0)
        ac.rand(3, generator=g)
    """

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise ValueError(f"Generator: device {device!r} is not available; autograd_cnn runs "
                             "on the CPU only (use device='cpu')")
        self.device = "cpu"
        self.seed()

    def manual_seed(self, seed: int) -> "Generator":
        """Restart from ``seed``; returns the generator (as PyTorch: chainable)."""
        self._seed = _check_seed(seed, "Generator.manual_seed")
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Restart from a fresh non-deterministic seed; returns it."""
        self._seed = int(np.random.SeedSequence().entropy % (1 << 63))
        self.rng = np.random.default_rng(self._seed)
        return self._seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> dict:
        """The generator's state (numpy's bit-generator state dict, not PyTorch's byte tensor)."""
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> "Generator":
        self.rng.bit_generator.state = state
        return self

    def __repr__(self) -> str:
        return f"<autograd_cnn.Generator seed={self._seed}>"


_generator = np.random.default_rng()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the package-wide generator; returns it."""
    global _generator
    _generator = np.random.default_rng(_check_seed(seed, "manual_seed"))
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
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    raise TypeError(
        "generator must be an autograd_cnn.Generator, a numpy.random.Generator or an int seed, "
        f"got {type(generator).__name__}"
    )
