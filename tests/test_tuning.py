"""The tuning table (autograd_cnn/tuning.py) and the kernel registry (backend.get_kernel)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest

from autograd_cnn import backend, tuning


@pytest.mark.nojit
def test_every_setting_says_what_it_was_measured_on():
    for name, setting in tuning.SETTINGS.items():
        assert setting.unit and len(setting.measured) > 40, name
        assert tuning.get(name) == setting.value
    rows = tuning.table()
    assert [r["name"] for r in rows] == list(tuning.SETTINGS)


@pytest.mark.nojit
def test_override_set_and_reset():
    default = tuning.get("im2col_chunk_bytes")
    with tuning.override(im2col_chunk_bytes=1234, numba_gemm_work=(1, 2)):
        assert tuning.get("im2col_chunk_bytes") == 1234
        assert tuning.get("numba_gemm_work") == (1, 2)
        assert tuning.table()[list(tuning.SETTINGS).index("im2col_chunk_bytes")]["value"] == 1234
    assert tuning.get("im2col_chunk_bytes") == default
    previous = tuning.set(serial_blas_work=0)
    try:
        assert previous == {"serial_blas_work": tuning.SETTINGS["serial_blas_work"].value}
        assert tuning.get("serial_blas_work") == 0
    finally:
        tuning.reset("serial_blas_work")
    assert tuning.get("serial_blas_work") == tuning.SETTINGS["serial_blas_work"].value


@pytest.mark.nojit
def test_unknown_names_are_refused_with_the_list():
    with pytest.raises(KeyError, match="no setting 'chunk'; the settings are: serial_blas_work"):
        tuning.get("chunk")
    with pytest.raises(KeyError, match="no setting 'chunk'"):
        tuning.set(chunk=1)
    with pytest.raises(KeyError, match="no setting 'chunk'"):
        with tuning.override(chunk=1):
            pass


@pytest.mark.nojit
def test_environment_overrides_parse_and_refuse_garbage():
    parse = tuning._from_environment
    assert parse("im2col_chunk_bytes=4194304, numba_gemm_work=(1,2);adam_parallel_min=0x10") \
        == {"im2col_chunk_bytes": 4194304, "numba_gemm_work": (1, 2), "adam_parallel_min": 16}
    assert parse("numba_gemm_work=None") == {"numba_gemm_work": None}
    with pytest.raises(ValueError, match="im2col_chunk_bytes=big is not an integer"):
        parse("im2col_chunk_bytes=big")
    with pytest.raises(ValueError, match="expected name=value"):
        parse("im2col_chunk_bytes")
    with pytest.raises(KeyError, match="no setting 'nope'"):
        parse("nope=1")


def test_environment_variable_reaches_a_new_process():
    env = dict(os.environ, AUTOGRAD_CNN_TUNING="planes_parallel_min=7,numba_gemm_work=(5,9)")
    out = subprocess.run([sys.executable, "-c", "from autograd_cnn import tuning; "
                          "print(tuning.get('planes_parallel_min'), "
                          "tuning.get('numba_gemm_work'))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["7", "(5,", "9)"]


@pytest.mark.nojit
def test_no_kernel_module_keeps_a_threshold_of_its_own():
    for module, names in (("im2col", ("CHUNK_BYTES", "WIDE_MAX_PIXELS", "WIDE_MAX_MACS")),
                          ("shifted", ("CHUNK_BYTES",)), ("winograd", ("CHUNK_BYTES",)),
                          ("threads", ("PLANES_PARALLEL_MIN",)), ("matmul", ("PARALLEL_MIN",))):
        mod = importlib.import_module(f"autograd_cnn.kernels.{module}")
        for name in names:
            assert not hasattr(mod, name), f"kernels/{module}.py: {name}"
    for name in ("PARALLEL_MIN", "SERIAL_BLAS_WORK", "NUMBA_WORK"):
        assert not hasattr(backend, name)


def test_a_threshold_changes_the_path_taken(monkeypatch):
    # LeNet C3's shape takes 'shifted'; with Winograd's channel minimum lowered, a 3x3 layer
    # of 8 channels takes Winograd
    from autograd_cnn.kernels import conv
    geom = ((1, 1), (1, 1), 1, (12, 12))
    assert conv.choose_algorithm(8, 8, (3, 3), *geom) != "winograd"
    monkeypatch.setitem(tuning._overrides, "conv_winograd_min_channels", 8)
    assert conv.choose_algorithm(8, 8, (3, 3), *geom) == "winograd"


KERNEL_MODULES = ("conv", "matmul", "norm", "optim", "pool", "upsample")


@pytest.mark.nojit
@pytest.mark.parametrize("module", KERNEL_MODULES)
def test_every_kernel_module_declares_its_twins(module):
    mod = importlib.import_module(f"autograd_cnn.kernels.{module}")
    assert mod.TWINS, module
    for name, twin in mod.TWINS.items():
        assert callable(getattr(mod, name)) and callable(twin), name
        assert backend.get_kernel(module, name) is getattr(mod, name)


@pytest.mark.nojit
def test_the_reference_switch_returns_the_twins(monkeypatch):
    from autograd_cnn.kernels import pool
    monkeypatch.setenv("AUTOGRAD_CNN_REFERENCE", "1")
    assert backend.get_kernel("pool", "max_pool2d_forward") is pool.TWINS["max_pool2d_forward"]
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    y, _ = backend.get_kernel("pool", "max_pool2d_forward")(x, 2, 2, 2, 2, 0, 0, 1, 1, 2, 2,
                                                            False)
    np.testing.assert_array_equal(y[0, 0], [[5, 7], [13, 15]])
