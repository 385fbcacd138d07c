"""DataLoader worker processes: batches assembled in ``num_workers`` processes, served in order.

    main process                               worker w (of k)
    batch t -> index queue of worker t % k ->  batch = fetch(indices)   (dataset, transform,
    results, any order  <- one result queue <-                           collate, as in-process)
    served in the order t = 0, 1, 2, ...

As in PyTorch: batches go to the workers in turn, at most ``prefetch_factor`` per worker are
asked for ahead of the one being served, the batch order is that of ``num_workers=0``; worker
w is seeded with ``base_seed + w`` (the package generator, ``ac.manual_seed``, and Python's
``random``) before ``worker_init_fn(w)`` runs, and ``get_worker_info()`` tells code inside it
which worker it is in. An exception in a worker is raised again in the main process, of the
same type when it can be rebuilt from a message, with the worker's traceback in the message.
A worker that dies (killed, os._exit) is an error naming its pid and exit code, not a hang.

Here ``base_seed`` is drawn from ``default_rng([loader seed, epoch, 2])``: reproducible from the
loader's seed (PyTorch draws it from the loader's generator, so it is reproducible only when
that is seeded). Numpy's global ``np.random`` is not reseeded (PyTorch does not either), and a
dataset's own generator is copied into every worker as it is: give random augmentation to the
loader, whose per-batch streams do not depend on the worker.

Each worker runs the kernels on one thread (Numba and BLAS), as PyTorch's workers do: k
processes already share the cores.
"""

from __future__ import annotations

import os
import queue
import random
import signal
import sys
import time
import traceback
from dataclasses import dataclass

import numpy as np

__all__ = ["WorkerInfo", "get_worker_info"]


@dataclass(frozen=True)
class WorkerInfo:
    """What ``get_worker_info()`` returns inside a worker process."""

    id: int
    num_workers: int
    seed: int
    dataset: object


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker process: its WorkerInfo (id, num_workers, seed, dataset, the
    worker's own copy). In the main process: None."""
    return _worker_info


class _WorkerError:
    """An exception caught in a worker, carried to the main process as text (its type might not
    pickle, its traceback never does)."""

    def __init__(self, worker_id: int, where: str):
        self.exc_type = _exception_type()
        self.message = (f"Caught {self.exc_type.__name__} in DataLoader worker process "
                        f"{worker_id} ({where}).\nOriginal {traceback.format_exc()}")

    def reraise(self):
        try:
            err = self.exc_type(self.message)
        except Exception:                       # a type that needs other arguments
            err = RuntimeError(self.message)
        raise err


def _exception_type():
    exc = sys.exc_info()[1]
    return type(exc) if isinstance(exc, Exception) else RuntimeError


def _worker_loop(fetch, index_queue, result_queue, worker_id: int, num_workers: int,
                 seed: int, worker_init_fn) -> None:
    """Body of worker process ``worker_id``: seed, then fetch batches until told to stop (None)."""
    global _worker_info
    from .. import backend
    from ..random import manual_seed

    # Ctrl-C reaches the whole process group: the main process stops the workers, they do not
    # each print a KeyboardInterrupt traceback
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    backend.use_one_thread()
    manual_seed(seed)
    random.seed(seed)
    _worker_info = WorkerInfo(worker_id, num_workers, seed, fetch.dataset)
    try:
        if worker_init_fn is not None:
            worker_init_fn(worker_id)
    except Exception:
        result_queue.put((None, _WorkerError(worker_id, "in worker_init_fn")))
        return
    while True:
        try:
            task = index_queue.get()
        except (EOFError, OSError):              # the main process has gone
            return
        if task is None:
            return
        key, indices, epoch, number = task
        try:
            batch = fetch(indices, epoch, number)
        except Exception:
            batch = _WorkerError(worker_id, f"batch {number}")
        result_queue.put((key, batch))


class WorkerPool:
    """``num_workers`` processes that run ``fetch(indices, epoch, number)`` for the loader.

    ``run(batches, epoch)`` yields the results of the index arrays ``batches`` in order. One run
    at a time; the pool can serve several runs (persistent workers) or be closed after one.
    """

    def __init__(self, fetch, num_workers: int, context, base_seed: int, worker_init_fn,
                 prefetch_factor: int, timeout: float):
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.timeout = timeout
        self._run_id = 0
        self._result_queue = context.Queue()
        self._index_queues = []
        self._processes = []
        for w in range(num_workers):
            q = context.Queue()
            p = context.Process(target=_worker_loop, daemon=True,
                                args=(fetch, q, self._result_queue, w, num_workers,
                                      base_seed + w, worker_init_fn),
                                name=f"autograd_cnn-DataLoader-worker-{w}")
            p.start()
            self._index_queues.append(q)
            self._processes.append(p)
        self._pid = os.getpid()

    def run(self, batches: list, epoch: int):
        """Results of fetching each index array of ``batches``, in that order."""
        self._run_id += 1
        run_id, n = self._run_id, len(batches)
        sent = 0
        ahead = self.prefetch_factor * self.num_workers

        def send_upto(limit):
            nonlocal sent
            while sent < min(limit, n):
                self._index_queues[sent % self.num_workers].put(
                    ((run_id, sent), batches[sent], epoch, sent))
                sent += 1

        send_upto(ahead)
        waiting: dict[int, object] = {}
        for t in range(n):
            while t not in waiting:
                key, batch = self._get()
                if key is None:                       # worker_init_fn failed
                    self.close()
                    batch.reraise()
                if key[0] == run_id:                  # results of an abandoned run are dropped
                    waiting[key[1]] = batch
            batch = waiting.pop(t)
            if isinstance(batch, _WorkerError):
                self.close()
                batch.reraise()
            send_upto(t + 1 + ahead)
            yield batch

    def _get(self):
        """The next result, checking the workers are alive and the timeout (0: none) holds."""
        start = time.monotonic()
        while True:
            wait = 0.1 if self.timeout <= 0 else min(0.1, self.timeout)
            try:
                return self._result_queue.get(timeout=wait)
            except queue.Empty:
                pass
            for p in self._processes:
                if not p.is_alive():
                    code = p.exitcode
                    self.close()
                    raise RuntimeError(f"DataLoader worker (pid {p.pid}) exited unexpectedly "
                                       f"with exit code {code}")
            if self.timeout > 0 and time.monotonic() - start > self.timeout:
                self.close()
                raise RuntimeError(f"DataLoader timed out after {self.timeout} seconds "
                                   "waiting for a batch from its workers")

    def close(self) -> None:
        """Stop the workers (asked first, then terminated) and release the queues."""
        if os.getpid() != self._pid or not self._processes:
            return
        for q in self._index_queues:
            try:
                q.put(None)
            except (OSError, ValueError):
                pass
        deadline = time.monotonic() + 0.5     # then a busy (or stuck) worker is terminated
        for p in self._processes:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.terminate()
                p.join(1.0)
        for q in self._index_queues + [self._result_queue]:
            q.close()
            q.cancel_join_thread()
        self._processes = []

    @property
    def alive(self) -> bool:
        return bool(self._processes) and all(p.is_alive() for p in self._processes)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def base_seed(seed: int, epoch: int) -> int:
    """The seed of worker 0 for an epoch; worker w gets base_seed + w (below 2**63 - 2**16)."""
    return int(np.random.default_rng([seed, epoch, 2]).integers(0, 2**63 - 2**16))
