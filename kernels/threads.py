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

The memory-bound loops (pooling, upsampling) use the same threads through ``over_planes``, and
run in the calling thread when the job is small: waking a sleeping thread costs 50-100 us on this
machine (the same as starting a Numba ``prange`` region), more than pooling LeNet-sized
activations takes in one thread.
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


# Elements (input + output; the callers weight costlier ones) from which ``over_planes`` splits a
# job over threads. Measured here, one thread / two, 2x2 stride-2 pooling, float32: average
# pooling forward of 376 K elements (LeNet-5's first pooling, batch 64) 177 / 198 us, of 752 K
# 360 / 309 us, of 2 M 986 / 658 us; max pooling, which counts its input twice, of 301 K input
# elements 418 / 334 us. Below it one thread finishes before a second has woken up.
PLANES_PARALLEL_MIN = 1 << 19


def over_planes(kernel, n_planes: int, elements: int, *args) -> None:
    """kernel(*args, p0, p1) over the planes [p0, p1) of 0 .. n_planes - 1: in the calling
    thread when the job touches fewer than PLANES_PARALLEL_MIN elements, else split over
    ``split_batch``'s threads (each share owns its planes' outputs, so no two write one element).
    """
    if elements < PLANES_PARALLEL_MIN or workers(n_planes) == 1:
        kernel(*args, 0, n_planes)
    else:
        split_batch(n_planes, lambda p0, p1: kernel(*args, p0, p1))
