"""Parallelism for the GEMM-based convolutions: one Python thread per core, each with a share of
the batch.

Each chunk of a convolution alternates a Numba kernel (im2col, Winograd transforms) and BLAS
GEMMs. Parallelised inside each step (Numba's parallel loops, OpenBLAS's own threads), every
step is a fork/join of two different thread pools, and each pool's threads keep spinning for a
while after their step, taking the cores from the other pool's next step: measured on this
project's 2-core machine, two threads then ran only 1.2-1.4x faster than one (Winograd 3x3
convolutions, 0.5-0.65x PyTorch's throughput). Splitting the batch instead (each thread runs
whole chunks: its Numba kernels release the GIL, BLAS is set to one thread for the duration, the
threads share nothing but the output arrays) gave 1.7-2x, and PyTorch parity.

Numba kernels run this way must be compiled with ``nogil=True`` and without ``parallel=True``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numba

_executor = None
_blas = None


def _blas_controllers() -> list:
    """threadpoolctl handles on the BLAS libraries numpy uses (looked up once)."""
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController
            _blas = list(ThreadpoolController().select(user_api="blas").lib_controllers)
        except Exception:      # no threadpoolctl, or an unknown BLAS: leave its threads alone
            _blas = []
    return _blas


@contextmanager
def blas_threads(n: int):
    """Run the body with numpy's BLAS on ``n`` threads, then restore its previous count."""
    blas = _blas_controllers()
    saved = [c.num_threads for c in blas]
    for c in blas:
        c.set_num_threads(n)
    try:
        yield
    finally:
        for c, k in zip(blas, saved):
            c.set_num_threads(k)


def workers(n_img: int) -> int:
    """How many threads a batch of n_img images is split over (Numba's thread count, which
    NUMBA_NUM_THREADS sets, and at most one per image)."""
    return max(1, min(numba.get_num_threads(), n_img))


def split_batch(n_img: int, work) -> list:
    """[work(first, stop) for each share [first, stop) of the images 0 .. n_img - 1], the shares
    run in parallel threads with single-threaded BLAS; one share runs in the calling thread."""
    n = workers(n_img)
    if n == 1:
        return [work(0, n_img)]
    global _executor
    if _executor is None or _executor._max_workers < n - 1:
        _executor = ThreadPoolExecutor(n - 1, thread_name_prefix="autograd_cnn-conv")
    bounds = [n_img * i // n for i in range(n + 1)]
    with blas_threads(1):
        # the calling thread takes the first share itself rather than waiting idle
        jobs = [_executor.submit(work, bounds[i], bounds[i + 1]) for i in range(1, n)]
        first = work(bounds[0], bounds[1])
        return [first] + [job.result() for job in jobs]
