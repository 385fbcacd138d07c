"""Scratch buffers reused from call to call.

The convolution drivers need chunk-sized temporaries (im2col columns, Winograd tiles) of several
MB on every call. Fresh allocations of that size come straight from the operating system and
every first touch of a page faults: measured here at 50-400 ms per call for 100 MB+ buffers, and
a visible share of a LeNet layer's time at a few MB. So each buffer is kept, per thread (two
threads never share one) and per name, and grown when a bigger one is asked for.

A scratch buffer is never returned to a caller: results are always new arrays.
"""

from __future__ import annotations

import threading

import numpy as np

_local = threading.local()


def buffer(name: str, size: int, dtype) -> np.ndarray:
    """A 1-D array of at least ``size`` elements of ``dtype``, contents undefined, owned by the
    calling thread under ``name`` until the next request for that name."""
    dtype = np.dtype(dtype)
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = {}
    key = (name, dtype)
    buf = pool.get(key)
    if buf is None or buf.size < size:
        buf = pool[key] = np.empty(max(int(size), 1), dtype=dtype)
    return buf[:size]


def release() -> None:
    """Free this thread's scratch buffers (they are rebuilt on demand)."""
    _local.pool = {}
