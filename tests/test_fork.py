"""A process that forks after the kernels have run: the child must run them too, not hang.

Before the fix the child deadlocked in the first convolution that splits its batch over the
thread pool of kernels/threads.py (jobs queued to threads that exist only in the parent).
Each child is waited for with a timeout, so a deadlock fails the test instead of hanging it.

Later, every forked child was killed by SIGTERM (exit code -15) when the parent's first parallel
kernel had been reached through a kernel module imported directly (``autograd_cnn.kernels.conv``,
as tests/test_kernels_conv.py does) rather than through the backend: Numba then started its
default 'omp' layer, and GNU OpenMP's fork handler terminates every child. Numba's threading
layer is chosen once per process, so those tests run a fresh interpreter.
"""

import multiprocessing
import os
import pickle
import re
import subprocess
import sys
import threading
from pathlib import Path
import time

import numpy as np
import pytest

from autograd_cnn import backend, tuning
from autograd_cnn.kernels import threads

TIMEOUT = 60.0


@pytest.fixture(autouse=True)
def two_workers(monkeypatch):
    # split batches over two threads whatever the number of cores, so the pool is used
    monkeypatch.setattr(threads, "workers", lambda n_img: max(1, min(2, n_img)))


def _convs():
    """A batch-split 3x3 convolution (thread pool + single-threaded BLAS), a strided
    depthwise one (Numba's parallel loops) and a batch norm on the parallel kernel."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 8, 12, 12)).astype(np.float32)
    w = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)
    wd = rng.standard_normal((8, 1, 3, 3)).astype(np.float32)
    y = backend.conv2d_forward(x, w, None, padding=(1, 1), out_size=(12, 12))
    yd = backend.conv2d_forward(x, wd, None, stride=(2, 2), padding=(1, 1), groups=8,
                                out_size=(6, 6))
    with tuning.override(norm_parallel_min=0):
        mean, var = backend.batch_norm_stats(y.reshape(4, 16, -1))
    return y, yd, mean, var


def _fork_and_run(fn):
    """fn() in a forked child; its pickled result, or AssertionError on a timeout or crash."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: never return into pytest
        code = 1
        try:
            os.close(r)
            with os.fdopen(w, "wb") as out:
                pickle.dump(fn(), out)
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    deadline = time.monotonic() + TIMEOUT
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(r)
            raise AssertionError(f"the forked child did not finish in {TIMEOUT} s (deadlock)")
        time.sleep(0.02)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    assert os.waitstatus_to_exitcode(status) == 0, f"child exited with status {status}"
    return pickle.loads(data)


def test_a_forked_child_runs_the_kernels_after_the_parent_ran_them():
    parent = _convs()
    assert threads._executor is not None           # the parent did start the pool
    child = _fork_and_run(_convs)
    for a, b in zip(parent, child):
        np.testing.assert_array_equal(a, b)


def test_a_child_forked_while_another_thread_holds_the_kernel_lock_runs_kernels():
    _convs()
    holding, release = threading.Event(), threading.Event()

    def hold():
        with threads.parallel_region():
            holding.set()
            release.wait(TIMEOUT)

    t = threading.Thread(target=hold)
    t.start()
    holding.wait(TIMEOUT)
    try:
        child = _fork_and_run(_convs)
    finally:
        release.set()
        t.join(TIMEOUT)
    np.testing.assert_array_equal(child[1], _convs()[1])


def _pool_job(_):
    return _convs()[0].sum()


def test_multiprocessing_fork_pool_after_a_kernel_ran():
    expected = _convs()[0].sum()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        result = pool.map_async(_pool_job, range(2))
        assert result.get(TIMEOUT) == [expected, expected]


class _ConvDataset:
    """Each sample is the sum of the kernels' outputs: the workers run the kernels."""

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return np.array([float(a.sum()) for a in _convs()]), i


def test_dataloader_workers_run_kernels_after_the_parent_ran_them():
    from autograd_cnn.data import DataLoader

    expected = np.array([float(a.sum()) for a in _convs()])
    loader = DataLoader(_ConvDataset(), batch_size=2, num_workers=2, timeout=TIMEOUT,
                        dtype=np.float64)
    for x, _ in loader:
        np.testing.assert_array_equal(x.numpy(), np.stack([expected, expected]))


def test_a_spawned_worker_loads_no_numba_until_a_kernel_runs():
    # use_one_thread in a fresh process: Numba gets one thread through its environment
    # variable when (if ever) it loads, instead of being loaded to be told
    out = subprocess.run([sys.executable, "-c", (
        "import sys, autograd_cnn as ac\n"
        "ac.backend.use_one_thread()\n"
        "print('numba' in sys.modules)\n"
        "import autograd_cnn.nn.functional as F\n"
        "F.conv2d(ac.randn(2, 1, 5, 5), ac.randn(1, 1, 3, 3))\n"
        "import numba\n"
        "print(numba.get_num_threads())\n")], capture_output=True, text=True, timeout=TIMEOUT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "1"]


def _fresh_python(code: str) -> str:
    """code's stdout in a fresh interpreter (Numba chooses its threading layer once per process);
    NUMBA_THREADING_LAYER removed so that the library's own choice is what is tested."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=TIMEOUT, env=env)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_child_forked_after_a_kernel_module_was_called_directly_runs_kernels():
    # the parent state tests/test_kernels_conv.py leaves: a strided direct convolution (a
    # parallel=True kernel) run through autograd_cnn.kernels.conv, never through the backend
    out = _fresh_python("""
import os, numpy as np, numba
from autograd_cnn.kernels import conv
x = np.random.default_rng(0).standard_normal((2, 4, 9, 8))
w = np.random.default_rng(1).standard_normal((4, 1, 3, 3))
geom = dict(stride=(2, 2), padding=(1, 1), groups=4, out_size=(5, 4), algorithm="direct")
y = conv.conv2d_forward(x, w, None, **geom)
pid = os.fork()
if pid == 0:
    os._exit(0 if np.array_equal(conv.conv2d_forward(x, w, None, **geom), y) else 3)
print(numba.threading_layer(), os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
""")
    assert out == "workqueue 0", f"threading layer and the child's exit code: {out}"


PARALLEL_KERNEL_MODULES = sorted(
    f.stem for f in Path(threads.__file__).parent.glob("*.py")
    if re.search(r"@njit\([^)]*parallel=True", f.read_text()))


@pytest.mark.parametrize("module", PARALLEL_KERNEL_MODULES)
def test_importing_a_parallel_kernel_module_chooses_the_workqueue_layer(module):
    # whichever kernel module is imported first, alone, chooses the layer before its
    # parallel=True kernels can start Numba's threads
    assert _fresh_python(f"import numba, autograd_cnn.kernels.{module}\n"
                         "print(numba.config.THREADING_LAYER)") == "workqueue"


def test_a_layer_the_user_chose_is_kept():
    env_code = ("import os; os.environ['NUMBA_THREADING_LAYER'] = 'omp'\n"
                "import numba, autograd_cnn.kernels.direct\n"
                "print(numba.config.THREADING_LAYER)")
    assert _fresh_python(env_code) == "omp"
