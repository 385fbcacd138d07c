"""The command line: python -m autograd_cnn ..."""

import subprocess
import sys

from autograd_cnn.cli import main


def test_graph_command_renders_the_lecture_graph(tmp_path, capsys):
    assert main(["graph", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "df/dx = -4, df/dy = -4, df/dz = 3" in out
    for stage in ("forward", "backward"):
        assert (tmp_path / f"graph_{stage}.svg").read_text().count("<svg") == 1
        assert (tmp_path / f"graph_{stage}.png").stat().st_size > 1000


def test_graph_without_dot_is_a_one_line_error(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "autograd_cnn", "graph", "--out",
                           str(tmp_path / "o")], capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "apt-get install graphviz" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_unknown_command_exits_nonzero():
    proc = subprocess.run([sys.executable, "-m", "autograd_cnn", "nonsense"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
