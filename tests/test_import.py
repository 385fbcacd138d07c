"""Importing the package has no side effects on the host process (issue 13 item 3): no Numba,
graphviz or matplotlib until first used; Numba's threading layer and glibc's malloc settings
untouched until ``ac.configure()`` or the first kernel."""

import subprocess
import sys

PROBE = """
import sys, time
t = time.perf_counter()
import autograd_cnn as ac
v = ac.Value(1.0) * 2
elapsed = time.perf_counter() - t
heavy = [m for m in ("numba", "graphviz", "matplotlib", "PIL", "sklearn") if m in sys.modules]
print(heavy, ac.backend.MALLOC_TUNED, elapsed)
"""


def _run(code: str) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=env).stdout.strip()


def test_import_loads_no_numba_graphviz_or_matplotlib():
    heavy, tuned, _seconds = _run(PROBE).rsplit(" ", 2)
    assert heavy == "[]" and tuned == "False"


def test_the_first_kernel_chooses_the_threading_layer_and_configure_tunes_malloc():
    out = _run("""
import autograd_cnn as ac, sys
import autograd_cnn.nn.functional as F
F.conv2d(ac.randn(1, 1, 5, 5), ac.randn(1, 1, 3, 3))
import numba
print(numba.config.THREADING_LAYER, ac.backend.MALLOC_TUNED)
print(ac.configure())
""")
    first, second = out.splitlines()
    assert first == "workqueue False"
    assert "'threading_layer': 'workqueue'" in second


def test_viz_is_still_an_attribute():
    assert _run("import autograd_cnn as ac; print(ac.viz.draw_graph.__name__)") == "draw_graph"
