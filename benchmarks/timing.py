"""How the benchmarks time things on a shared 2-core machine: one home for the rules.

- Implementations are interleaved round-robin, so all of them see the same load.
- Before each sample the timer pauses (``PAUSE``): idle thread pools keep spinning for a while
  after their last job (OpenBLAS's, libgomp's under PyTorch, Numba's) and take the cores from
  the next library's call. Back to back, PyTorch's LeNet-sized calls ran 10-50x slower and a
  60 us product took milliseconds; the pause lets them fall asleep.
- After the pause, one untimed call wakes this library's threads (and the machine's idle
  cores), then the sample is timed. So the figures are steady state, as in a training loop.
- A round waits (up to a limit) for a quiet moment, the CPUs >= 90% idle, so that another
  tenant's process does not land in one library's samples only.
- Medians are reported, and minima beside them where a reader may want to see the noise.
"""

from __future__ import annotations

import os
import time

import numpy as np

PAUSE = 0.05          # seconds before each sample (see the module docstring)


def _cpu_idle(interval: float) -> float:
    """Fraction of the machine's CPU time spent idle over ``interval`` seconds (Linux)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(a) for a in f.readline().split()[1:]]
        return v[3] + v[4], sum(v)
    i0, t0 = snap()
    time.sleep(interval)
    i1, t1 = snap()
    return (i1 - i0) / max(t1 - t0, 1)


def wait_for_quiet(max_wait: float = 10.0) -> bool:
    """Wait (up to max_wait s) until other tenants leave the CPUs >= 90% idle for 0.2 s. False
    if it never got quiet (the caller counts such rounds as noisy)."""
    if not os.path.exists("/proc/stat"):
        return True
    deadline = time.perf_counter() + max_wait
    while time.perf_counter() < deadline:
        if _cpu_idle(0.2) >= 0.9:
            return True
    return False


def interleaved(fns, repeats: int = 11, sample_time: float = 0.02, pause: float = PAUSE,
                quiet: bool = True) -> list:
    """[(median, min) seconds per call] of each function in ``fns``.

    Each of ``repeats`` rounds runs every function once per the rules above; a sample loops a
    function enough times to last about ``sample_time`` (microsecond calls cannot be timed
    one by one), and the first call of each function (a warm-up, which also compiles) is not
    timed at all.
    """
    loops = []
    for fn in fns:
        fn()
        t0 = time.perf_counter()
        fn()
        one = max(time.perf_counter() - t0, 1e-7)
        loops.append(max(1, int(sample_time / one)))
    samples = [[] for _ in fns]
    for _ in range(repeats):
        if quiet:
            wait_for_quiet(2.0)
        for fn, n, out in zip(fns, loops, samples):
            time.sleep(pause)
            fn()
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            out.append((time.perf_counter() - t0) / n)
    return [(float(np.median(t)), float(np.min(t))) for t in samples]
