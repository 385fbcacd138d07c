"""The backend's process-wide malloc setting (kept freed memory; see backend._keep_freed_memory),
applied by ``configure()``, never at import."""

import os
import platform
import subprocess
import sys

import pytest


def _tuned_in_new_process(extra_env: dict) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c",
                          "import autograd_cnn.backend as b; b.configure(); print(b.MALLOC_TUNED)"],
                         env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


@pytest.mark.parametrize("var", ["MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_"])
def test_a_users_malloc_setting_is_kept(var):
    assert _tuned_in_new_process({var: "131072"}) == "False"


def test_applied_on_glibc_linux_only():
    glibc = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"
    assert _tuned_in_new_process({}) == str(glibc)
