"""smallconv (kernels/smallconv.py), the direct kernels for stride-1 layers with few output
channels (LeNet's C3), and the claimed sharing of their images over threads
(threads.share_items): every kernel against the reference twins on odd shapes and paddings,
in every register blocking the kernels can be compiled with; gradients by finite differences
through F.conv2d; NaN reaching exactly the pixels it should; each image done once, however
the helper threads turn up.
"""

import os
import threading
import time

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn.kernels import conv, reference as ref, smallconv, threads

TOL = {np.float64: 1e-12, np.float32: 1e-5}

# (N, C, H, W, K, KH, KW, (pt, pl), (pb, pr)): bottom/right padding sets the output size
CASES = {
    "LeNet C3": (3, 6, 14, 14, 16, 5, 5, (0, 0), (0, 0)),
    "13 channels: two channel blocks of dx": (2, 13, 9, 11, 5, 3, 4, (1, 2), (2, 1)),
    "37-pixel rows: a masked last vector": (2, 3, 5, 37, 4, 2, 3, (0, 1), (1, 0)),
    "padding wider than the kernel": (2, 2, 4, 5, 3, 3, 3, (4, 5), (3, 2)),
    "17 output channels (24 lanes)": (2, 2, 8, 9, 17, 5, 4, (2, 1), (1, 2)),
    "one channel in and out": (1, 1, 6, 6, 1, 5, 5, (0, 0), (0, 0)),
    "kernel as large as the image": (2, 3, 5, 5, 2, 5, 5, (0, 0), (0, 0)),
    "37 images": (37, 6, 8, 8, 16, 5, 5, (2, 2), (2, 2)),
}


def _problem(case, dtype, seed=0):
    n, c, h, w, k, kh, kw, pad, after = case
    ho, wo = h + pad[0] + after[0] - kh + 1, w + pad[1] + after[1] - kw + 1
    rng = np.random.default_rng(seed)
    x, wt, b, g = (rng.standard_normal(s).astype(dtype)
                   for s in ((n, c, h, w), (k, c, kh, kw), (k,), (n, k, ho, wo)))
    return x, wt, b, g, pad, (ho, wo)


def _close(actual, expected, dtype, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-30)
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0.0)) / scale
    assert err <= TOL[dtype], f"{what}: relative error {err:.3g} > {TOL[dtype]:g}"


def _check_all(case, dtype):
    x, w, b, g, pad, out_size = _problem(case, dtype)
    x64, w64, b64, g64 = (a.astype(np.float64) for a in (x, w, b, g))
    geom = ((1, 1), pad, (1, 1), 1)
    want_y = ref.conv2d_forward_ref(x64, w64, b64, *geom[:3], 1, out_size)
    want_dx = ref.conv2d_backward_input_ref(g64, w64, x.shape[2:], *geom)
    want_dw = ref.conv2d_backward_weight_ref(x64, g64, w.shape[2:], *geom)
    _close(smallconv.forward(x, w, pad, out_size, b), want_y, dtype, "forward")
    _close(smallconv.forward(x, w, pad, out_size) + b.reshape(1, -1, 1, 1), want_y, dtype,
           "forward without bias")
    _close(smallconv.backward_input(g, w, x.shape[2:], pad), want_dx, dtype, "dx")
    _close(smallconv.backward_weight(x, g, w.shape[2:], pad), want_dw, dtype, "dw")
    for need_input, need_weight in ((True, True), (True, False), (False, True), (False, False)):
        dx, dw = smallconv.backward(x, w, g, pad, need_input, need_weight)
        assert (dx is None) != need_input and (dw is None) != need_weight
        if need_input:
            _close(dx, want_dx, dtype, "backward: dx")
        if need_weight:
            _close(dw, want_dw, dtype, "backward: dw")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CASES))
def test_kernels_match_reference(name, dtype):
    _check_all(CASES[name], dtype)


# register blockings other than this machine's choice: the dx block (CC channels x RB rows of
# XL-lane vectors) and the forward's pixel block, from the register budget and the vector width
BLOCKINGS = {
    "two vectors, one chain": dict(_ACC_VECTORS=2, _MIN_CHAINS=1),
    "four vectors, rows for chains": dict(_ACC_VECTORS=4, _MIN_CHAINS=4),
    "32-byte registers": dict(_HAS_AVX512=False),
}


@pytest.mark.parametrize("blocking", list(BLOCKINGS))
@pytest.mark.parametrize("name", ["LeNet C3", "13 channels: two channel blocks of dx",
                                  "37-pixel rows: a masked last vector",
                                  "padding wider than the kernel"])
def test_every_blocking_matches_reference(name, blocking, monkeypatch):
    for attr, value in BLOCKINGS[blocking].items():
        monkeypatch.setattr(smallconv, attr, value)
    _check_all(CASES[name], np.float64)


def test_blockings_differ():
    # the blockings above do compile other kernels: CC, XL, RB and PB all change
    assert smallconv._input_blocking(6, 14, 4) == (6, 16, 1) or not smallconv._avx512()
    assert smallconv._input_blocking(13, 11, 8)[0] == 7           # two blocks of 7 channels
    assert smallconv._input_blocking(2, 5, 4)[2] > 1               # rows added for chains


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_match_reference_without_jit(dtype):
    # the numpy forms of _fma_lanes, _copy_lanes, _store_lanes and _claim (NUMBA_DISABLE_JIT)
    _check_all((2, 3, 6, 19, 4, 3, 3, (1, 2), (0, 1)), dtype)


def test_algorithm_choice_reaches_smallconv():
    for c, k, f, out in ((6, 16, 5, 10), (3, 4, 5, 3), (3, 3, 4, 6)):
        assert conv.choose_algorithm(c, k, (f, f), (1, 1), (1, 1), 1, (out, out)) == \
            "smallconv", (c, k, f)


def t64(*shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return ac.tensor(data, dtype=ac.float64, requires_grad=True)


@pytest.mark.parametrize("xs,ws,kw", [
    ((2, 3, 7, 6), (4, 3, 5, 5), dict()),
    ((1, 3, 6, 7), (3, 3, 4, 4), dict(padding="same")),          # the extra row at the end
    ((2, 2, 5, 6), (3, 2, 5, 5), dict(padding=(2, 3))),
], ids=["valid", "same, even kernel", "padding"])
def test_conv2d_gradcheck(xs, ws, kw):
    x, w, b = t64(*xs), t64(*ws, seed=1), t64(ws[0], seed=2)
    assert ac.gradcheck(lambda x, w, b: F.conv2d(x, w, b, **kw), [x, w, b])


def test_nan_reaches_exactly_its_window():
    x = np.zeros((2, 3, 9, 9))
    w = np.ones((4, 3, 3, 3))
    g = np.ones((2, 4, 7, 7))
    g[1, 2, 3, 3] = np.nan                   # dx[1, :, 3:6, 3:6]; dw[2] (NaN times x = 0)
    x[0, 1, 4, 4] = np.inf                   # dw[:, 1], every tap (g = 1 on image 0)
    dx, dw = smallconv.backward(x, w, g, (0, 0))
    expect = np.zeros(dx.shape, bool)
    expect[1, :, 3:6, 3:6] = True
    np.testing.assert_array_equal(np.isnan(dx), expect)
    nan = np.zeros(dw.shape, bool)
    nan[2] = True
    np.testing.assert_array_equal(np.isnan(dw), nan)
    inf = np.zeros(dw.shape, bool)
    inf[[0, 1, 3], 1] = True
    np.testing.assert_array_equal(np.isposinf(dw), inf)


# ---- threads.share_items -------------------------------------------------------------------


@pytest.fixture
def two_workers(monkeypatch):
    monkeypatch.setattr(threads, "workers", lambda n: max(1, min(2, n)))


def _claimer(n_items, seen, delay=None):
    def run(counters, slot):
        if delay and slot:
            time.sleep(delay)
        while True:
            item = smallconv._claim(counters[0], 0)
            if item >= n_items:
                return
            seen.append((item, slot))
    return run


@pytest.mark.nojit
def test_share_items_hands_out_each_item_once(two_workers):
    seen = []
    threads.share_items(500, _claimer(500, seen))
    assert sorted(i for i, _ in seen) == list(range(500))


@pytest.mark.nojit
def test_share_items_caller_does_all_when_the_helper_is_late(two_workers):
    seen = []
    threads.share_items(50, _claimer(50, seen, delay=0.2))
    assert sorted(seen) == [(i, 0) for i in range(50)]


@pytest.mark.nojit
def test_share_items_raises_a_helpers_error(two_workers):
    def run(counters, slot):
        if slot:
            raise RuntimeError("helper failed")
    with pytest.raises(RuntimeError, match="helper failed"):
        threads.share_items(4, run)


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs Linux with two CPUs allowed")
def test_share_items_keeps_the_helper_off_the_callers_cpu(two_workers):
    seen = []
    threads.share_items(4, _claimer(4, seen))        # the pool has its thread now
    threads.share_items(4, _claimer(4, seen))
    cpu = threads._getcpu()
    helpers = [t.native_id for t in threads._pool(1)._threads]
    # the caller may have moved since: then the next call steers again
    if threads._steered and threads._steered[0] == cpu:
        for tid in helpers:
            assert cpu not in os.sched_getaffinity(tid)


def test_two_threads_calling_at_once(two_workers):
    # a training and an evaluation thread share the pool: each call's images are its own
    x, w, b, g, pad, out_size = _problem(CASES["37 images"], np.float32)
    want = smallconv.forward(x, w, pad, out_size, b)
    want_dx, want_dw = smallconv.backward(x, w, g, pad)
    errors = []

    def loop():
        for _ in range(20):
            y = smallconv.forward(x, w, pad, out_size, b)
            dx, dw = smallconv.backward(x, w, g, pad)
            if not (np.array_equal(y, want) and np.array_equal(dx, want_dx)
                    and np.allclose(dw, want_dw, rtol=1e-5, atol=1e-5)):
                errors.append("mismatch")

    ts = [threading.Thread(target=loop) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors


def test_dw_is_reproducible_at_any_thread_count(monkeypatch):
    # the images are claimed by whichever thread is free, but dw is summed in fixed chunks
    x, w, b, g, pad, out_size = _problem(CASES["37 images"], np.float32)
    monkeypatch.setattr(threads, "workers", lambda n: 1)
    dx1, dw1 = smallconv.backward(x, w, g, pad)
    monkeypatch.setattr(threads, "workers", lambda n: max(1, min(2, n)))
    for _ in range(10):
        dx, dw = smallconv.backward(x, w, g, pad)
        assert dx.tobytes() == dx1.tobytes() and dw.tobytes() == dw1.tobytes()
