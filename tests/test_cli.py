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


# ---- the main job: train / evaluate / predict ---------------------------------------------------

import json  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

RUN_FILES = ("config.json", "metrics.csv", "summary.json", "model.safetensors",
             "checkpoint.safetensors", "best.safetensors", "curves.png", "confusion_matrix.png",
             "filters.png", "feature_maps.png")


def _train(out, *extra):
    return main(["train", "--epochs", "2", "--out", str(out), "--quiet", "--no-progress",
                 *extra])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert _train(out) == 0
    return out


def test_train_writes_the_whole_run_folder(run_dir):
    for name in RUN_FILES:
        assert (run_dir / name).stat().st_size > 0, name
    for png in ("curves.png", "confusion_matrix.png", "filters.png", "feature_maps.png"):
        assert (run_dir / png).read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {"test_accuracy", "test_loss", "epochs", "seconds"} <= set(summary)
    assert summary["epochs"] == 2 and 0.5 < summary["test_accuracy"] <= 1.0
    rows = (run_dir / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr")
    assert len(rows) == 3
    config = json.loads((run_dir / "config.json").read_text())
    assert config["model"] == "lenet5" and config["data"] == "digits"


def test_same_seed_same_metrics(run_dir, tmp_path):
    assert _train(tmp_path) == 0

    def table(folder):
        lines = (folder / "metrics.csv").read_text().splitlines()
        return [line.rsplit(",", 1)[0] for line in lines]      # drop the seconds column

    assert table(tmp_path) == table(run_dir)


def test_interrupted_run_resumes_to_the_same_weights(run_dir, tmp_path, monkeypatch, capsys):
    import autograd_cnn as ac
    from autograd_cnn.train import Trainer
    original = Trainer.train_epoch

    def interrupt_second_epoch(self, loader, epoch):
        if epoch == 1:
            raise KeyboardInterrupt
        return original(self, loader, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", interrupt_second_epoch)
    assert _train(tmp_path) == 130
    assert "continue with --resume" in capsys.readouterr().err
    assert ac.load(tmp_path / "checkpoint.safetensors")["epoch"] == 1
    monkeypatch.setattr(Trainer, "train_epoch", original)
    assert _train(tmp_path, "--resume") == 0
    a = ac.load(tmp_path / "checkpoint.safetensors")["model"]
    b = ac.load(run_dir / "checkpoint.safetensors")["model"]
    for k in b:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_evaluate_reports_the_test_accuracy(run_dir, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir / "model.safetensors")]) == 0
    out = capsys.readouterr().out
    acc = json.loads((run_dir / "summary.json").read_text())["test_accuracy"]
    assert f"accuracy {acc:.4f}" in out and "precision" in out


def test_predict_classifies_image_files(run_dir, tmp_path, capsys):
    from PIL import Image
    from autograd_cnn.data import digits
    test = digits(image_size=32, split="test")
    paths = []
    for i in range(4):
        x, y = test[i]
        # a user's scan: dark ink on white paper, 64x64
        img = Image.fromarray(((1 - x[0]) * 255).astype(np.uint8)).resize((64, 64))
        paths.append(tmp_path / f"digit{i}_{int(y)}.png")
        img.save(paths[-1])
    np.save(tmp_path / "raw.npy", test[0][0][0])
    assert main(["predict", "--checkpoint", str(run_dir / "model.safetensors"),
                 *map(str, paths), str(tmp_path / "raw.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 5
    from pathlib import Path
    truth = [Path(line.split(": ")[0]).stem.split("_")[1] for line in lines[:4]]
    predicted = [line.split(": ")[1].split()[0] for line in lines]
    assert sum(t == p for t, p in zip(truth, predicted)) >= 3
    assert predicted[4] == str(int(test[0][1]))      # the raw array, already framed


def _cli(*args):
    proc = subprocess.run([sys.executable, "-m", "autograd_cnn", *args], capture_output=True,
                          text=True)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize("args,message", [
    (["train", "--model", "nope"], "unknown model 'nope'"),
    (["train", "--data", "imagenet"], "unknown dataset 'imagenet'"),
    (["train", "--data", "mnist"], "needs --data-dir"),
    (["train", "--epochs", "zero"], "invalid int value"),
    (["evaluate", "--checkpoint", "/nonexistent/model.safetensors"], "does not exist"),
    (["predict", "--checkpoint", "/nonexistent/m.safetensors", "x.png"], "does not exist"),
])
def test_bad_arguments_are_one_line_errors(args, message):
    code, err = _cli(*args)
    assert code != 0 and message in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_unreadable_checkpoint_is_one_line_error(tmp_path):
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"this is not a checkpoint at all")
    code, err = _cli("evaluate", "--checkpoint", str(bad))
    assert code == 2 and "cannot read checkpoint" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_checkpoint_of_another_architecture_is_one_line_error(run_dir):
    code, err = _cli("evaluate", "--checkpoint", str(run_dir / "model.safetensors"),
                     "--model", "resnet20")
    assert code == 2 and "does not fit model 'resnet20'" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
