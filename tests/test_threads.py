"""Two Python threads using the library at once: a training thread and an evaluation thread
sharing one model, through the kernels that run on Numba's thread pool (strided depthwise
convolution, batch norm and Adam with their parallel-size thresholds lowered to 0, so small
arrays take the parallel path). Before the lock in kernels/threads.py this aborted the process
(SIGABRT: "Numba workqueue threading layer is terminating: Concurrent access has been detected"),
so the stress run is a child process: a crash is a failed test with its message, not a dead
test runner.
"""

import os
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from autograd_cnn.kernels import threads

STRESS = textwrap.dedent("""
    import threading
    import numpy as np
    import autograd_cnn as ac
    import autograd_cnn.nn as nn
    import autograd_cnn.nn.functional as F
    from autograd_cnn import tuning

    tuning.set(norm_parallel_min=0, adam_parallel_min=0)   # every call takes the parallel kernels
    STEPS = 40

    def make():
        ac.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4),  # strided depthwise: direct loops
            nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 3))
        return model, ac.optim.Adam(model.parameters(), lr=1e-2)

    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal((8, 4, 16, 16)).astype(np.float32))
    y = ac.tensor(rng.integers(0, 3, 8))

    def train(model, opt, start=None):
        losses = []
        for _ in range(STEPS):
            if start is not None:
                start.wait()                          # step in lock-step with the evaluator
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    # the same training alone, for comparison
    alone = train(*make())

    model, opt = make()
    conv, bn, fc = model[0], model[1], model[4]
    start = threading.Barrier(2)
    result = {}

    def evaluate():
        seen = []
        with ac.no_grad():
            for _ in range(STEPS):
                start.wait()
                h = F.conv2d(x, conv.weight, conv.bias, stride=2, padding=1, groups=4)
                h = F.batch_norm(h, bn.running_mean, bn.running_var, bn.weight, bn.bias)
                out = F.linear(F.relu(h).flatten(1), fc.weight, fc.bias)
                seen.append((out.requires_grad, bool(np.isfinite(out.numpy()).all())))
        result["eval"] = seen

    t = threading.Thread(target=evaluate)
    t.start()
    result["train"] = train(model, opt, start)
    t.join()
    assert result["train"] == alone, (result["train"], alone)      # bit for bit
    assert alone[-1] < alone[0] * 0.5, alone
    assert result["eval"] == [(False, True)] * STEPS, result["eval"]
    print("ok", STEPS)
""")


def test_training_and_evaluation_threads_share_one_model_through_the_parallel_kernels():
    env = dict(os.environ, NUMBA_NUM_THREADS="2")     # a pool of two threads even on one core
    run = subprocess.run([sys.executable, "-c", STRESS], capture_output=True, text=True,
                         timeout=120, env=env)
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr[-3000:]}"
    assert run.stdout.split() == ["ok", "40"]


class _FakeBlas:
    """Stands in for a threadpoolctl controller: the test checks the reference counting, not
    OpenBLAS (whose set_num_threads is ignored in some threads, see README)."""

    def __init__(self, n):
        self.num_threads = n
        self.calls = []

    def set_num_threads(self, n):
        self.calls.append(n)
        self.num_threads = n


def test_blas_threads_is_reference_counted_across_threads(monkeypatch):
    # A enters, B enters, A leaves (B still inside: BLAS must stay on one thread), B leaves
    # (the count from before A entered comes back). A save/restore per user would restore A's
    # count while B runs, then B would "restore" 1 for good.
    blas = _FakeBlas(2)
    monkeypatch.setattr(threads, "_blas", [blas])
    seen = {}
    step = threading.Barrier(2)
    a_inside = threading.Event()

    def a():
        with threads.blas_threads(1):
            a_inside.set()
            step.wait()                           # 1: both inside
        step.wait()                               # 2: A has left
        step.wait()                               # 3: B has looked

    def b():
        a_inside.wait(10)
        with threads.blas_threads(1):
            step.wait()                           # 1
            step.wait()                           # 2
            seen["after A left"] = blas.num_threads
            step.wait()                           # 3
        seen["after both"] = blas.num_threads

    ts = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(10)
    assert seen == {"after A left": 1, "after both": 2}
    assert blas.calls == [1, 2]                   # set once, restored once


@pytest.mark.parametrize("n_workers", [1, 2])
def test_every_share_of_a_split_batch_runs_with_one_blas_thread(monkeypatch, n_workers):
    # also the single share of a one-thread process: OpenBLAS's second thread spinning between
    # small GEMMs made a ResNet-18 step 5-10x slower with NUMBA_NUM_THREADS=1
    blas = _FakeBlas(2)
    monkeypatch.setattr(threads, "_blas", [blas])
    monkeypatch.setattr(threads, "workers", lambda n_img: min(n_workers, n_img))
    seen = threads.split_batch(4, lambda first, stop: (first, stop, blas.num_threads))
    assert [s[:2] for s in seen] == ([(0, 4)] if n_workers == 1 else [(0, 2), (2, 4)])
    assert all(s[2] == 1 for s in seen) and blas.num_threads == 2


def test_blas_threads_sets_nothing_when_blas_already_has_that_count(monkeypatch):
    blas = _FakeBlas(1)
    monkeypatch.setattr(threads, "_blas", [blas])
    with threads.blas_threads(1):
        with threads.blas_threads(1):
            pass
    assert blas.calls == [] and blas.num_threads == 1


def test_parallel_region_lets_one_thread_in_at_a_time_and_is_reentrant():
    inside, trying, release = threading.Event(), threading.Event(), threading.Event()
    order = []

    def holder():
        with threads.parallel_region():
            with threads.parallel_region():      # the same thread may enter again
                order.append("holder in")
                inside.set()
                release.wait(10)
                order.append("holder out")

    def waiter():
        inside.wait(10)
        trying.set()
        with threads.parallel_region():
            order.append("waiter in")

    ts = [threading.Thread(target=holder), threading.Thread(target=waiter)]
    for t in ts:
        t.start()
    trying.wait(10)
    time.sleep(0.05)              # time for the waiter to get in, were the region not locked
    release.set()
    for t in ts:
        t.join(10)
    assert order == ["holder in", "holder out", "waiter in"]


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux with two CPUs allowed")
def test_split_batch_keeps_its_helper_off_the_callers_cpu(monkeypatch):
    # Woken after a pause, the helper was put on the calling thread's CPU in 289 of 300 calls
    # and the two shares ran one after the other (overlap 0); kept off it, they overlap.
    monkeypatch.setattr(threads, "workers", lambda n: max(1, min(2, n)))
    monkeypatch.setattr(threads, "_steered", None)
    at_call = []

    def work(first, stop):
        if first == 0:                          # the first share runs in the calling thread
            at_call.append(threads._getcpu())
        return stop - first

    assert threads.split_batch(8, work) == [4, 4]
    cpu, helpers = threads._steered
    assert helpers == tuple(t.native_id for t in threads._pool(1)._threads) and helpers
    for tid in helpers:
        assert cpu not in os.sched_getaffinity(tid)
    assert cpu in os.sched_getaffinity(0)       # the caller itself is never restricted
    assert at_call and len(at_call) == 1


def test_blas_threads_switches_numpys_own_blas_through_its_functions():
    # the real BLAS (not a stand-in): set to 1 inside, back to the count it had after; a pthreads
    # OpenBLAS is switched through its own openblas_set_num_threads (ctypes), not threadpoolctl
    import ctypes
    from threadpoolctl import threadpool_limits
    blas = threads._blas_controllers()
    assert blas, "numpy's BLAS was not found by threadpoolctl"
    with threadpool_limits(2, user_api="blas"):
        with threads.blas_threads(1):
            assert [c.num_threads for c in blas] == [1] * len(blas)
        assert [c.num_threads for c in blas] == [2] * len(blas)
    for c, (get, put) in zip(blas, threads._blas_switches()):
        if type(c).__name__ == "OpenBLASController" and c.threading_layer == "pthreads":
            assert isinstance(get, ctypes._CFuncPtr) and isinstance(put, ctypes._CFuncPtr)


def test_workers_follows_numba_set_num_threads_per_thread():
    # the count is read through Numba's threading layer directly: it must still be the
    # calling thread's own, as numba.get_num_threads() gives
    import numba
    before = numba.get_num_threads()
    seen = {}

    def other():
        numba.set_num_threads(1)
        seen["other"] = threads.workers(8)

    try:
        numba.set_num_threads(1)
        assert threads.workers(8) == 1
        numba.set_num_threads(2)
        assert threads.workers(8) == min(2, numba.config.NUMBA_NUM_THREADS)
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert seen["other"] == 1
        assert threads.workers(8) == min(2, numba.config.NUMBA_NUM_THREADS)
        assert threads.workers(1) == 1
    finally:
        numba.set_num_threads(before)


def test_the_reference_switch_is_read_at_each_call_also_from_a_replaced_environ(monkeypatch):
    from autograd_cnn import backend
    monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
    assert backend.use_reference()
    monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "0")
    assert not backend.use_reference()
    monkeypatch.setattr(os, "environ", {"AUTOGRAD_CNN_REFERENCE": "1"})
    assert backend.use_reference()
    from autograd_cnn.kernels import matmul
    assert backend.get_kernel("matmul", "gemm") is matmul.TWINS["gemm"]
