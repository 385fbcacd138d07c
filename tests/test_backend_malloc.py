"""The backend's process-wide malloc setting (kept freed memory; see backend._keep_freed_memory),
applied by ``configure()``, never at import."""

import os
import platform
import subprocess
import sys

import pytest


def _tuned_in_new_process(extra_env: dict) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c",
                          "import autograd_cnn.backend as b; b.configure(); print(b.MALLOC_TUNED)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("var", ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"])
def test_a_users_malloc_setting_is_kept(var):
    assert _tuned_in_new_process({var: "131072"}) == "False"


def test_glibc_tunables_of_the_user_are_kept():
    assert _tuned_in_new_process({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=131072"}) \
        == "False"


def test_applied_on_glibc_linux_only():
    glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert _tuned_in_new_process({}) == str(glibc)


FAULTS = """
import resource
import numpy as np
import autograd_cnn.backend as b
tuned = b.configure()["malloc_tuned"]
a = np.ones(5 << 20, dtype=np.float32)      # 20 MB, every page touched, then freed
del a
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(5 << 20, dtype=np.float32)      # the same size again
print(tuned, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(tuning_env: str = "") -> tuple:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env["AUTOGRAD_CNN_TUNING"] = tuning_env
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    return out[0], int(out[1])


def test_freed_pages_are_reused_not_faulted_in_again():
    # glibc's default maps the first 20 MB block, unmaps it when freed, and serves the second
    # from new heap pages (a fault per page); tuned, the second reuses the first's pages
    tuned, faults = _faults()
    if sys.platform == "linux" and platform.libc_ver()[0] == "glibc":
        assert tuned == "True" and faults < 100
        untuned, faults_default = _faults("heap_trim_threshold=None")
        assert untuned == "False" and faults_default > 400
    else:
        assert tuned == "False"


def test_a_bad_heap_setting_is_refused_by_name():
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_") and k != "GLIBC_TUNABLES"}
    env["AUTOGRAD_CNN_TUNING"] = "heap_mmap_threshold=-5"
    proc = subprocess.run([sys.executable, "-c", "import autograd_cnn as ac; ac.configure()"],
                          env=env, capture_output=True, text=True)
    if sys.platform == "linux":
        assert proc.returncode != 0
        assert "heap_mmap_threshold must be None or a number of bytes" in proc.stderr
        assert "-5" in proc.stderr
    else:
        assert proc.returncode == 0         # nothing is set off Linux, so nothing is checked
