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
    assert "autograd_cnn/utils/data/__init__.py" in names      # the torch.utils.data alias
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
