"""Each argument is checked once, at the functional boundary (issue 13): a profile of one small
layer's forward and backward counts the Python calls and which checks ran."""

from __future__ import annotations

import collections
import os
import sys

import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn

PACKAGE = os.path.dirname(ac.__file__) + os.sep


def _profile(step):
    """Run step() once under sys.setprofile: (calls per (file, function), the number of those
    in the package's own Python, int_pair's (where, name) arguments)."""
    calls = collections.Counter()
    checked = []
    ours = [0]

    def hook(frame, event, arg):
        if event != "call":
            return
        code = frame.f_code
        calls[(os.path.basename(code.co_filename), code.co_name)] += 1
        # the library's own Python: not numpy's, Numba's or the kernels' thread plumbing
        if code.co_filename.startswith(PACKAGE) and os.sep + "kernels" + os.sep not in \
                code.co_filename:
            ours[0] += 1
        if code.co_name == "int_pair" and code.co_filename.endswith("args.py"):
            checked.append((frame.f_locals["where"], frame.f_locals["name"]))
    sys.setprofile(hook)
    try:
        step()
    finally:
        sys.setprofile(None)
    return calls, ours[0], checked


# the backend's checks for direct callers of the kernels: an op must never pass through them
BACKEND_CHECKS = ("check_array", "check_same_dtype", "_array", "_pair", "_geometry", "_ints",
                  "_positive", "_check_weight", "_check_bias", "_check_indices")


def _backend_checks(calls) -> dict:
    return {name: n for (f, name), n in calls.items() if f == "backend.py" and
            name in BACKEND_CHECKS}


def test_conv2d_layer_checks_each_argument_once():
    ac.manual_seed(0)
    layer = nn.Conv2d(2, 3, 3, padding=1)
    x = ac.randn(1, 2, 5, 5, requires_grad=True)

    def step():
        layer(x).sum().backward()
    step()                                          # compile and warm up
    calls, ours, checked = _profile(step)
    # stride, padding and dilation: one int_pair each, all in F.conv2d (the layer stored them)
    assert sorted(checked) == [("conv2d", "dilation"), ("conv2d", "padding"),
                               ("conv2d", "stride")]
    for check in ("_check_ndim", "_check_dtypes", "_groups", "_check_bias", "_conv_geometry"):
        assert calls[("conv.py", check)] == 1, check
    assert calls[("geometry.py", "__post_init__")] == 1         # one record per call
    assert _backend_checks(calls) == {}
    assert x.grad is not None and layer.weight.grad is not None
    # the package's own Python calls for this forward + backward: 187 before the redesign
    # (f6486f9), 141 after; a guard against checks creeping back
    assert ours <= 150, ours


def test_max_pool_checks_once_and_backward_trusts_its_switches():
    x = ac.randn(2, 3, 8, 8, requires_grad=True)

    def step():
        ac.nn.functional.max_pool2d(x, 2).sum().backward()
    step()
    calls, _, _ = _profile(step)
    assert calls[("pool.py", "_pool_args")] == 1
    assert _backend_checks(calls) == {}          # no rescan of the indices in the backward
    # one gradient per window winner, from each of the two steps
    assert float(x.grad.sum()) == pytest.approx(2 * (2 * 3 * 4 * 4))


def test_direct_kernel_callers_are_still_checked():
    # the backend's checked functions stay the safe entry for code that calls kernels itself
    import numpy as np
    with pytest.raises(ValueError, match="x must have 4 dims"):
        ac.backend.conv2d_forward(np.zeros((4, 6, 6), np.float32),
                                  np.zeros((8, 4, 3, 3), np.float32), out_size=(4, 4))
