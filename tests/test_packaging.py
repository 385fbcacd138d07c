"""kernels/ is installed as autograd_cnn.kernels (never as a top-level `kernels`, a name PyPI
already uses), in the editable install and in a wheel alike."""

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = (
    "import importlib.util, autograd_cnn, autograd_cnn.kernels as k; "
    "assert importlib.util.find_spec('kernels') is None, 'a top-level kernels is importable'; "
    "print(autograd_cnn.__file__); print(k.__file__)"
)


def _run(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def test_editable_install_maps_kernels(tmp_path):
    out = _run([sys.executable, "-c", CHECK], cwd=tmp_path).split()
    assert Path(out[1]) == ROOT / "kernels" / "__init__.py"


@pytest.mark.slow
def test_wheel_install_maps_kernels(tmp_path):
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("autograd_cnn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograd_cnn/kernels/__init__.py" in names
    assert not any(n.startswith("kernels/") for n in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    py = venv / "bin" / "python"
    target = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
                  .strip())
    # install the wheel alone into the throw-away venv; its dependencies (numpy, numba, ...) are
    # borrowed from this environment through PYTHONPATH (which, unlike site-packages, does not
    # run the editable install's .pth hook, so autograd_cnn can only come from the wheel)
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
          str(wheel)])
    env = dict(os.environ, PYTHONPATH=sysconfig.get_paths()["purelib"])
    out = _run([str(py), "-c", CHECK], cwd=tmp_path, env=env).split()
    assert out[0].startswith(str(target)) and out[1].startswith(str(target / "autograd_cnn"))


def test_make_lint_runs_pyflakes_from_the_dev_extra_and_finds_nothing():
    import tomllib
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["dev"]
    assert any(req.startswith("pyflakes") for req in dev)
    assert "\t$(BIN)/python .ci/lint.py" in (ROOT / "Makefile").read_text().split("\nlint:")[1]
    proc = subprocess.run([sys.executable, str(ROOT / ".ci" / "lint.py")], capture_output=True,
                          text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert not list(ROOT.glob("*.whl"))                 # no wheel lying at the repository root


def test_lint_reports_what_pyflakes_finds(tmp_path):
    # the allowances (re-exports in __init__.py, `# noqa` lines) hide nothing else
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        import lint
    finally:
        sys.path.pop(0)
    from pyflakes import api
    (tmp_path / "__init__.py").write_text("import os\n")
    (tmp_path / "mod.py").write_text("import os\nimport sys  # noqa\nx = undefined_name\n")
    collect = lint._Collect()
    for path in sorted(tmp_path.glob("*.py")):
        api.checkPath(str(path), collect)
    assert len(collect.found) == 2
    assert "'os' imported but unused" in collect.found[0] and "mod.py:1:" in collect.found[0]
    assert "undefined name 'undefined_name'" in collect.found[1]
