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

Several Python threads may call the kernels at once (a training thread and an evaluation
thread sharing a model), and a process may fork after kernels have run (DataLoader workers,
multiprocessing). What that needs, and where it is done:

- Numba's ``parallel=True`` kernels (strided direct convolution, large batch norm, large Adam
  steps) run on Numba's 'workqueue' pool, which aborts the whole process (SIGABRT) when two
  threads enter it at once. Every call of one is wrapped in ``with parallel_region():``, a
  process-wide lock: concurrent callers take turns, each still using every core. (Numba's
  thread-safe 'tbb' layer would need the tbb package, and its threads spin like OpenMP's,
  the reason the backend picks 'workqueue'; see backend.py.)
- ``blas_threads`` is reference-counted: BLAS stays on one thread until the last thread that
  asked for it leaves, instead of one thread restoring the count while another is mid-GEMM
  (and the other then "restoring" 1 for good).
- In a forked child the parent's threads are gone: the thread pool of ``split_batch`` is
  dropped (a new one starts on first use, instead of jobs queued to threads that do not
  exist: a deadlock) and the locks above are new ones, free even if a parent thread held
  them at the fork. Numba's workqueue resets its own pool in the child.
- Numba's threading layer is 'workqueue' (``choose_threading_layer``), chosen when this module
  is imported, which every kernel module does: Numba starts the layer at the first parallel
  kernel, once per process, and its default where GNU OpenMP is installed is 'omp', whose fork
  handler kills every forked child with SIGTERM. Choosing it in the backend's lazy loader
  alone left the kernel modules imported directly (``autograd_cnn.kernels.conv``) on 'omp'. A
  layer the user chose (NUMBA_THREADING_LAYER) is kept, and so is one Numba already started
  for the user's own parallel functions before the first kernel module was imported.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from .. import tuning

_layer_chosen = False


def choose_threading_layer() -> None:
    """Numba's 'workqueue' threading layer, unless the user chose one with NUMBA_THREADING_LAYER:
    no OpenMP/TBB runtime to clash with the host's, its threads sleep between kernels, and a
    forked child gets a working pool. Takes effect only if it runs before Numba's first parallel
    kernel in the process: run once, at this module's import (below)."""
    global _layer_chosen
    if not _layer_chosen:
        _layer_chosen = True
        if "NUMBA_THREADING_LAYER" not in os.environ:
            numba.config.THREADING_LAYER = "workqueue"


choose_threading_layer()

_executor = None
_executor_lock = threading.Lock()
_blas = None
_switches = None                 # (the controllers, their (get, set) pairs)

# Re-created in a forked child (``_after_fork_in_child``): read them through the module.
_parallel_lock = threading.RLock()
_blas_lock = threading.Lock()
_blas_users = 0                  # threads inside blas_threads() now
_blas_saved: list = []           # BLAS thread counts to restore when the last one leaves


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


def _blas_switches() -> list:
    """(get, set) of each BLAS library's thread count, for ``blas_threads``, which runs around
    every small product: a pthreads OpenBLAS's own openblas_get/set_num_threads where
    threadpoolctl finds them (0.14 / 0.27 us a call here, against 0.9 / 1.1 us through
    threadpoolctl, whose extra work is for OpenMP builds and for limits set by several threads,
    which ``blas_threads``'s own count already serialises), else threadpoolctl's methods.
    Looked up once per list of controllers."""
    global _switches
    blas = _blas_controllers()
    if _switches is None or _switches[0] is not blas:
        found = []
        for c in blas:
            get = put = None
            try:
                if type(c).__name__ == "OpenBLASController" and c.threading_layer == "pthreads":
                    get = c._get_symbol("openblas_get_num_threads")
                    put = c._get_symbol("openblas_set_num_threads")
            except Exception:  # another threadpoolctl: its public methods below
                get = put = None
            if get is None or put is None:
                found.append((lambda c=c: c.num_threads, c.set_num_threads))
            else:
                found.append((get, put))
        _switches = (blas, found)
    return _switches[1]


def parallel_region():
    """``with parallel_region():`` around every call of a Numba ``parallel=True`` kernel: one
    such kernel runs at a time in the process (Numba's workqueue pool is not thread-safe). A
    re-entrant lock, so a kernel wrapper may call another wrapped one in the same thread. Costs
    well under a microsecond uncontended, against the ~100 us a parallel region takes to start.
    """
    return _parallel_lock


class blas_threads:
    """``with blas_threads(n):`` runs the body with numpy's BLAS on ``n`` threads (every caller
    here asks for 1), then restores the count it had. Reference-counted across threads: the
    first caller to enter saves and sets the count, the last to leave restores it, so concurrent
    or nested users never restore too early. When BLAS already runs on ``n`` threads nothing is
    set at all. (A class rather than a generator: it is entered around every small matmul.)"""

    __slots__ = ("n",)

    def __init__(self, n: int):
        self.n = n

    def __enter__(self):
        global _blas_users, _blas_saved
        # acquire/release rather than ``with``, and one pass over the switches: 1.7 us for
        # enter + exit against 2.2 (this runs around every small product)
        _blas_lock.acquire()
        try:
            if not _blas_users:
                n = self.n
                saved = []
                for get, put in _blas_switches():
                    k = get()
                    saved.append(k)
                    if k != n:
                        put(n)
                _blas_saved = saved
            _blas_users += 1
        finally:
            _blas_lock.release()
        return self

    def __exit__(self, *exc):
        global _blas_users
        _blas_lock.acquire()
        try:
            if _blas_users > 0:          # 0 only in a child forked inside the body
                _blas_users -= 1
                if not _blas_users:
                    n = self.n
                    for (_, put), k in zip(_blas_switches(), _blas_saved):
                        if k != n:
                            put(k)
        finally:
            _blas_lock.release()
        return False


def use_one_thread() -> None:
    """Run this process's kernels on one thread: Numba's (so ``split_batch`` runs in the calling
    thread) and BLAS's. For DataLoader worker processes, which already share the cores."""
    numba.set_num_threads(1)
    for c in _blas_controllers():
        c.set_num_threads(1)


def workers(n_img: int) -> int:
    """How many threads a batch of n_img images is split over (Numba's thread count, which
    NUMBA_NUM_THREADS sets, and at most one per image)."""
    return max(1, min(_numba_threads(), n_img))


_raw_num_threads = None


def _numba_threads() -> int:
    """numba.get_num_threads(): the calling thread's count, which numba.set_num_threads
    changes. After the first call (which launches Numba's pool and checks the threading layer)
    the layer's own function is called directly: 0.09 us against 0.65, and ``workers`` runs at
    every split decision."""
    global _raw_num_threads
    if _raw_num_threads is None:
        n = numba.get_num_threads()
        try:
            from numba.np.ufunc import parallel
            _raw_num_threads = parallel._get_num_threads
        except (ImportError, AttributeError):      # another Numba: its public function
            _raw_num_threads = numba.get_num_threads
        return n
    n = _raw_num_threads()
    return n if n > 0 else numba.get_num_threads()  # let Numba raise its own error


def split_batch(n_img: int, work) -> list:
    """[work(first, stop) for each share [first, stop) of the images 0 .. n_img - 1], the shares
    run in parallel threads with single-threaded BLAS; one share runs in the calling thread.
    The helpers are kept off the calling thread's CPU (``_steer``): left to the scheduler, a
    helper woken after a pause ran on the caller's CPU in 289 of 300 calls (LeNet C1's forward,
    2 ms pauses), so the two shares ran one after the other; steered, they overlapped."""
    n = workers(n_img)
    if n == 1:
        # one share, BLAS still on one thread: with Numba on one thread (NUMBA_NUM_THREADS=1,
        # an MPI rank per core) OpenBLAS's second thread spins between the chunks' small GEMMs
        # and a ResNet-18 step (batch 8, 64x64) took 1.7-4.0 s instead of 0.34 s here
        with blas_threads(1):
            return [work(0, n_img)]
    executor = _pool(n - 1)
    _steer(executor)
    bounds = [n_img * i // n for i in range(n + 1)]
    with blas_threads(1):
        # the calling thread takes the first share itself rather than waiting idle
        jobs = [executor.submit(work, bounds[i], bounds[i + 1]) for i in range(1, n)]
        first = work(bounds[0], bounds[1])
        return [first] + [job.result() for job in jobs]


def share_items(n_items: int, run, counters: int = 1) -> None:
    """Items 0 .. n_items - 1 shared out as they are claimed: ``run(counters, slot)`` runs in
    the calling thread (slot 0) and in ``workers(n_items) - 1`` helper threads (slots 1, ...),
    all with the same ``counters`` (int64 (counters, 1): the next item of each pass over the
    items), from which a Numba kernel (nogil) claims one item at a time with an atomic add
    (kernels/smallconv.py). For kernels without BLAS: no BLAS thread limit is set.

    Against ``split_batch``'s fixed shares, measured on LeNet C3 (2 threads, this project's
    2-core VM): a helper starts 20-200 us after it is woken (more the longer it slept), and
    the calling thread, which starts at once, takes what the helper has not claimed yet, so
    neither waits for the other's share. And the helpers are kept off the calling thread's
    CPU (``_steer``): woken after a pause of 50 ms, the helper was put on the caller's CPU in
    197 of 200 calls and the two shares ran one after the other (a 0.25 ms forward took
    0.42 ms). If a helper never gets a core, the calling thread does all the items.
    """
    n = workers(n_items)
    counter = np.zeros((counters, 1), dtype=np.int64)
    if n == 1:
        run(counter, 0)
        return
    executor = _pool(n - 1)
    _steer(executor)
    jobs = [executor.submit(run, counter, slot) for slot in range(1, n)]
    run(counter, 0)
    for job in jobs:
        job.result()


def _sched_getcpu():
    """libc's sched_getcpu (the CPU the calling thread runs on), or None where unavailable."""
    try:
        import ctypes
        fn = ctypes.CDLL(None).sched_getcpu
        fn.restype = ctypes.c_int
        fn.argtypes = []
        return fn
    except (OSError, AttributeError):
        return None


_getcpu = _sched_getcpu() if hasattr(os, "sched_setaffinity") else None


_steered = None       # (the caller's CPU, the helper threads) of the last _steer


def _steer(executor) -> None:
    """Let the pool's threads run anywhere but on the calling thread's current CPU (Linux; a
    no-op elsewhere or with one allowed CPU), for ``share_items`` and ``split_batch``. The
    setting stays and is redone only when the caller has moved
    to another CPU or the pool has new threads: each sched_setaffinity of a sleeping thread
    cost 2-4 us here, 60-90 us when the machine had been idle for a few ms (and a helper
    restoring its own affinity after each job held the GIL for as long)."""
    global _steered
    if _getcpu is None:
        return
    try:
        cpu = _getcpu()
        helpers = tuple(t.native_id for t in list(executor._threads))
        if _steered == (cpu, helpers):
            return
        allowed = os.sched_getaffinity(0)
        if cpu in allowed and len(allowed) > 1:
            for tid in helpers:
                if tid is not None:
                    os.sched_setaffinity(tid, allowed - {cpu})
        _steered = (cpu, helpers)
    except (OSError, AttributeError):
        pass


def _pool(n_threads: int) -> ThreadPoolExecutor:
    """The shared pool of helper threads, with at least ``n_threads`` threads (made on first use,
    remade larger when Numba's thread count is raised; the old pool finishes its jobs and ends).
    """
    global _executor
    with _executor_lock:
        if _executor is None or _executor._max_workers < n_threads:
            if _executor is not None:
                _executor.shutdown(wait=False)
            _executor = ThreadPoolExecutor(n_threads, thread_name_prefix="autograd_cnn-conv")
        return _executor


def _after_fork_in_child() -> None:
    """The child of a fork has only the forking thread: forget the parent's pool (its threads
    are gone) and its locks (a parent thread may have held one at the fork); undo a BLAS limit
    that a parent thread had set."""
    global _executor, _executor_lock, _parallel_lock, _blas_lock, _blas_users, _steered
    _executor = None
    _steered = None
    _executor_lock = threading.Lock()
    _parallel_lock = threading.RLock()
    _blas_lock = threading.Lock()
    if _blas_users:
        for (_, put), k in zip(_switches[1] if _switches else [], _blas_saved):
            put(k)
    _blas_users = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


# Elements (input + output; the callers weight costlier ones) from which ``over_planes`` splits a
# job over threads: tuning 'planes_parallel_min' (below it one thread finishes before a second
# has woken up; max pooling counts its input twice).


def over_planes(kernel, n_planes: int, elements: int, *args) -> None:
    """kernel(*args, p0, p1) over the planes [p0, p1) of 0 .. n_planes - 1: in the calling
    thread when the job touches fewer than tuning 'planes_parallel_min' elements, else split over
    ``split_batch``'s threads (each share owns its planes' outputs, so no two write one element).
    """
    if elements < tuning.get("planes_parallel_min") or workers(n_planes) == 1:
        kernel(*args, 0, n_planes)
    else:
        split_batch(n_planes, lambda p0, p1: kernel(*args, p0, p1))
