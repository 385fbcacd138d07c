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


@pytest.mark.wheel
def test_a_wheel_in_a_fresh_venv_runs_the_main_job(tmp_path):
    """`pip install autograd_cnn` (the wheel, non-editable, with its declared dependencies and
    no extras) into a new venv outside the repository, then `autograd-cnn train`: the
    dependencies suffice, the kernels compile from site-packages and are cached there."""
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)])
    (wheel,) = wheels.glob("autograd_cnn-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "autograd_cnn-0.1.0.dist-info/licenses/LICENSE" in names
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR")}
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], env=env)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    cli = str(venv / "bin" / "autograd-cnn")
    assert _run([cli, "--version"], cwd=elsewhere, env=env).strip() == "autograd_cnn 0.1.0"
    proc = subprocess.run([cli, "train", "--epochs", "1", "--no-progress"], cwd=elsewhere,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        "compiling kernels (first run only, ~20 s)",
        "plots skipped (curves.png, confusion_matrix.png, ...): they need matplotlib, "
        "pip install 'autograd_cnn[plots]'"]
    run = elsewhere / "runs" / "lenet5-digits"
    assert (run / "summary.json").is_file() and not (run / "curves.png").exists()
    site = Path(_run([str(venv / "bin" / "python"), "-c",
                      "import autograd_cnn; print(autograd_cnn.__file__)"], cwd=elsewhere,
                     env=env).strip()).parent
    assert site.is_relative_to(venv) and list((site / "kernels" / "__pycache__").glob("*.nbi"))
    proc = subprocess.run([cli, "evaluate", "--checkpoint", str(run)], cwd=elsewhere, env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stderr == ""          # cached: nothing to compile
