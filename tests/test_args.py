"""autograd_cnn/args.py, the one home of the argument helpers (issue 13): its two wordings of a
size's errors, the forms it accepts, and no private copy of a helper left elsewhere."""

import re
from pathlib import Path

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.args import int_pair, int_value, positive_int
from autograd_cnn.errors import SizeCountError

PACKAGE = Path(ac.__file__).resolve().parent


@pytest.mark.parametrize("value,expected", [(3, (3, 3)), ((2, 5), (2, 5)), ([1, 4], (1, 4)),
                                            (np.int64(2), (2, 2)),
                                            ((np.int32(1), 2), (1, 2))])
def test_int_pair_reads_ints_and_pairs_as_python_ints(value, expected):
    out = int_pair(value, "stride", "conv2d", 1)
    assert out == expected and all(type(v) is int for v in out)


@pytest.mark.parametrize("call,exc,message", [
    (lambda: int_pair((2, 2.5), "stride", "conv2d"), TypeError,
     "conv2d: stride must be an int or a pair of ints, got (2, 2.5): 2.5 is a float"),
    (lambda: int_pair(float("nan"), "stride", "conv2d"), TypeError,
     "conv2d: stride must be an int or a pair of ints, got nan: nan is a float (not even "
     "finite)"),
    (lambda: int_pair((1, 1, 1), "padding", "conv2d"), SizeCountError,
     "conv2d: padding must be an int or a pair of ints (height, width), got (1, 1, 1) with 3 "
     "entries"),
    (lambda: int_pair((1, 0), "dilation", "conv2d", 1), ValueError,
     "conv2d: dilation must be >= 1, got (1, 0)"),
    (lambda: int_pair((2, 2.5), "stride", "max_pool2d", wording="element"), TypeError,
     "max_pool2d: stride must be an int or a pair of ints, got 2.5 (float) in (2, 2.5)"),
    (lambda: int_pair(True, "kernel_size", "max_pool2d", wording="element"), TypeError,
     "max_pool2d: kernel_size must be an int, got True (bool)"),
    (lambda: int_pair(float("inf"), "padding", "avg_pool2d", wording="element"), TypeError,
     "avg_pool2d: padding must be an int, got inf (float, not even finite)"),
    (lambda: int_pair((2, 2, 2), "kernel_size", "max_pool2d", wording="element"),
     SizeCountError, "max_pool2d: kernel_size must be an int or a pair of ints, got (2, 2, 2) "
                     "with 3 entries"),
    (lambda: int_pair(0, "stride", "max_pool2d", 1, wording="element"), ValueError,
     "max_pool2d: stride must be positive, got (0, 0)"),
    (lambda: int_pair((0, -1), "padding", "max_pool2d", 0, wording="element"), ValueError,
     "max_pool2d: padding must be non-negative, got (0, -1)"),
    (lambda: int_pair(3, "out_size", "conv2d_forward", allow_int=False), TypeError,
     "conv2d_forward: out_size must be a pair of ints, got 3 (int)"),
    (lambda: int_pair((1.0, 1), "stride", "conv2d_forward", allow_int=False), TypeError,
     "conv2d_forward: stride must be a pair of ints, got (1.0, 1): 1.0 is a float"),
    (lambda: int_pair((3,), "kernel_size", "conv2d"), SizeCountError, "with 1 entries"),
    (lambda: int_value(2.0, "seed", "DistributedSampler"), TypeError,
     "DistributedSampler: seed must be an int, got 2.0 (float)"),
    (lambda: int_value(True, "rank", "DistributedSampler"), TypeError,
     "DistributedSampler: rank must be an int, got True (bool)"),
    (lambda: positive_int(2.5, "in_features", "Linear"), TypeError,
     "Linear: in_features must be an int, got 2.5 (float)"),
    (lambda: positive_int(0, "in_channels", "Conv2d"), ValueError,
     "Conv2d: in_channels must be positive, got 0"),
    (lambda: int_pair(2, "stride", "conv2d", wording="short"), ValueError,
     "int_pair: wording must be one of ('value', 'element'), got 'short'"),
])
def test_errors_say_what_was_given_and_what_was_expected(call, exc, message):
    with pytest.raises(exc, match=re.escape(message)):
        call()


def test_a_single_entry_means_both_only_where_asked():
    assert int_pair((3,), "kernel_size", "max_pool2d", allow_single=True) == (3, 3)
    assert int_pair([2], "size", "interpolate", 1, allow_single=True, wording="element") == (2, 2)


def test_the_ops_and_the_data_pipeline_use_the_shared_helpers():
    import autograd_cnn.functional as F
    from autograd_cnn.data import image_ops
    from autograd_cnn.distributed import DistributedSampler
    x = ac.zeros(1, 1, 4, 4)
    assert F.max_pool2d(x, (2,)).shape == (1, 1, 2, 2)
    with pytest.raises(TypeError, match=re.escape("resize: size must be an int or a pair of "
                                                  "ints, got 2.5: 2.5 is a float")):
        image_ops.resize(np.zeros((1, 4, 4), np.float32), 2.5)
    with pytest.raises(TypeError, match=re.escape("DistributedSampler: num_replicas must be an "
                                                  "int, got 2.0 (float)")):
        DistributedSampler(range(3), 2.0, 0)


def test_no_private_copy_of_a_helper_is_left_in_the_package():
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "args.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.match(r"\s*def _(pair|int)\(", line):
                copies.append(f"{path.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert copies == []
