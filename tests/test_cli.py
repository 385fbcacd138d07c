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
    # train_seconds adds up both epochs, the one before the interruption included
    summary = json.loads((tmp_path / "summary.json").read_text())
    rows = (tmp_path / "metrics.csv").read_text().strip().splitlines()[1:]
    per_epoch = [float(r.rsplit(",", 1)[1]) for r in rows]
    assert len(per_epoch) == 2
    assert summary["train_seconds"] == pytest.approx(sum(per_epoch), abs=0.02)
    a = ac.load(tmp_path / "checkpoint.safetensors")["model"]
    b = ac.load(run_dir / "checkpoint.safetensors")["model"]
    for k in b:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


def test_resume_says_which_changed_settings_the_run_keeps(run_dir, tmp_path, capsys):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    capsys.readouterr()
    # 2 epochs are done already: nothing more to train, the notes are what this checks
    assert _train(out, "--resume", "--lr", "0.01", "--seed", "7") == 0
    err = capsys.readouterr().err.splitlines()
    assert "note: resuming with --lr 0.01: the checkpoint's optimiser state keeps the run's " \
           "0.05" in err
    assert any(line.startswith("note: resuming with --seed 7: used from now on") for line in err)
    assert len(err) == 2                  # nothing about the settings that did not change


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
    assert code == 2 and "holds a lenet5, not a resnet20" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def _one_line_error(capsys, code, *needles):
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: "), err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


def test_another_architecture_with_the_same_weight_names_is_refused(run_dir, capsys):
    # lenet5-modern has exactly lenet5's parameters: only the saved model name tells them apart
    for command in ("evaluate", "predict"):
        extra = [str(run_dir / "feature_maps.png")] if command == "predict" else []
        code = main([command, "--checkpoint", str(run_dir / "model.safetensors"),
                     "--model", "lenet5-modern", *extra])
        _one_line_error(capsys, code, "holds a lenet5, not a lenet5-modern", "leave out --model")
    assert main(["evaluate", "--checkpoint", str(run_dir / "model.safetensors"),
                 "--model", "lenet5"]) == 0          # naming the right one is fine


@pytest.mark.parametrize("model", ["resnet20", "lenet5-modern"])
def test_resume_with_another_model_is_refused_and_changes_nothing(run_dir, model, capsys):
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()
              if p.suffix in (".json", ".safetensors", ".csv")}
    code = main(["train", "--resume", "--model", model, "--out", str(run_dir), "--quiet",
                 "--no-progress"])
    _one_line_error(capsys, code, "cannot resume", f"model lenet5 (asked: {model})",
                    "--model lenet5")
    assert {p: (run_dir / p).read_bytes() for p in before} == before


def test_weights_that_do_not_fit_are_one_short_line(run_dir, tmp_path, capsys):
    import autograd_cnn as ac
    from autograd_cnn.models import resnet20
    saved = ac.load(run_dir / "model.safetensors")
    saved["model"] = resnet20(num_classes=10).state_dict()   # says lenet5, holds a resnet20
    ac.save(saved, tmp_path / "mixed.safetensors")
    code = main(["evaluate", "--checkpoint", str(tmp_path / "mixed.safetensors")])
    err = _one_line_error(capsys, code, "does not fit model 'lenet5'", "10 missing key(s)",
                          "features.0.weight, features.0.bias, features.3.weight, ...",
                          "unexpected key(s) (conv1.weight, ")
    assert len(err) < 400                    # not the hundreds of keys of the state dict
    # a checkpoint without a run config (a Trainer run) that is resumed as another model
    from autograd_cnn import nn, optim
    from autograd_cnn.train import CHECKPOINT, Trainer
    from autograd_cnn.data import DataLoader, TensorDataset
    other = nn.Sequential(nn.Flatten(), nn.Linear(32 * 32, 10))
    tiny = DataLoader(TensorDataset(np.zeros((4, 1, 32, 32), np.float32), np.arange(4)))
    Trainer(other, optim.SGD(other.parameters(), lr=0.1), nn.CrossEntropyLoss(),
            checkpoint_dir=tmp_path / "bare").fit(tiny, epochs=1)
    assert (tmp_path / "bare" / CHECKPOINT).exists()
    code = main(["train", "--resume", "--out", str(tmp_path / "bare"), "--epochs", "1",
                 "--quiet", "--no-progress"])
    _one_line_error(capsys, code, "does not fit model 'lenet5'", "missing key(s)",
                    "2 unexpected key(s) (1.weight, 1.bias)")
    assert not (tmp_path / "bare" / "config.json").exists()


def _idx(path, magic, shape, payload=None):
    import struct
    body = payload if payload is not None else bytes(int(np.prod(shape)))
    path.write_bytes(struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in shape)
                     + body)


def test_broken_data_is_a_one_line_error(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for data, needle in (("mnist", "none of"), ("fashion-mnist", "none of"),
                         ("cifar10", "data_batch_1"), ("folder", "no class subfolders")):
        code = main(["train", "--data", data, "--data-dir", str(empty), "--out",
                     str(tmp_path / "run"), "--quiet", "--no-progress"])
        _one_line_error(capsys, code, f"--data {data} --data-dir {empty}", needle)
    broken = tmp_path / "idx"
    broken.mkdir()
    _idx(broken / "train-images-idx3-ubyte", 2051, (4, 28, 28), payload=b"\0" * 100)  # cut
    _idx(broken / "train-labels-idx1-ubyte", 2049, (4,))
    _idx(broken / "t10k-images-idx3-ubyte", 0x12345678, (2, 28, 28))                 # foreign
    _idx(broken / "t10k-labels-idx1-ubyte", 2049, (2,))
    code = main(["train", "--data", "mnist", "--data-dir", str(broken), "--quiet"])
    _one_line_error(capsys, code, "train-images-idx3-ubyte", "truncated")
    (broken / "train-images-idx3-ubyte").unlink()
    _idx(broken / "train-images-idx3-ubyte", 2051, (4, 28, 28))
    code = main(["train", "--data", "mnist", "--data-dir", str(broken), "--quiet"])
    _one_line_error(capsys, code, "t10k-images-idx3-ubyte", "magic number")
    assert not (tmp_path / "run").exists()


def test_bad_files_and_numbers_are_one_line_errors(run_dir, tmp_path, capsys):
    import pickle

    import autograd_cnn as ac
    model = str(run_dir / "model.safetensors")
    a_file = tmp_path / "taken.txt"
    a_file.write_text("a file where the run folder should go")
    code = main(["train", "--out", str(a_file), "--quiet"])
    _one_line_error(capsys, code, f"--out {a_file} is a file")
    ac.save(ac.ones(3), tmp_path / "tensor.safetensors")
    code = main(["evaluate", "--checkpoint", str(tmp_path / "tensor.safetensors")])
    _one_line_error(capsys, code, "is not a model saved by `train`: it holds Tensor")
    ac.save({"model": {}, "note": 1}, tmp_path / "dict.safetensors")
    code = main(["evaluate", "--checkpoint", str(tmp_path / "dict.safetensors")])
    _one_line_error(capsys, code, "it holds a dict with keys ['model', 'note']")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}, None], dtype=object))
    (tmp_path / "pickled.npy").write_bytes(pickle.dumps(np.zeros((8, 8))))
    np.save(tmp_path / "words.npy", np.array(["a", "b"]))
    np.save(tmp_path / "flat.npy", np.zeros(64, np.float32))
    with open(tmp_path / "absurd.npy", "wb") as f:          # 100 bytes declaring 40 TB
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**7)})
        f.write(bytes(16))
    for name, needle in (("absurd.npy", "declares shape (1000000, 10000000)"),
                         ("objects.npy", "holds pickled Python objects"),
                         ("pickled.npy", "holds pickled Python objects"),
                         ("words.npy", "expected numbers of shape"),
                         ("flat.npy", "expected numbers of shape")):
        code = main(["predict", "--checkpoint", model, str(tmp_path / name)])
        _one_line_error(capsys, code, f"{tmp_path / name}", needle)
    np.save(tmp_path / "ok.npy", np.zeros((32, 32), np.float32))
    code = main(["predict", "--checkpoint", model, "--top", "0", str(tmp_path / "ok.npy")])
    _one_line_error(capsys, code, "--top must be at least 1, got 0")
    for flag, value, needle in (("--patience", "0", "--patience must be at least 1"),
                                ("--momentum", "1.5", "--momentum must be in [0, 1)"),
                                ("--weight-decay", "-1", "--weight-decay must be non-negative"),
                                ("--lr", "0", "--lr must be positive"),
                                ("--seed", "-3", "--seed must be non-negative")):
        code = main(["train", flag, value, "--out", str(tmp_path / "never"), "--quiet"])
        _one_line_error(capsys, code, needle)
    assert not (tmp_path / "never").exists()


def test_a_bug_still_shows_its_traceback(tmp_path, monkeypatch):
    # only what the user got wrong becomes a one-line error; anything else propagates (and
    # `python -m autograd_cnn` then prints the traceback and exits with status 1)
    from autograd_cnn.train import Trainer

    def broken(self, *args, **kwargs):
        raise ValueError("an internal bug")

    monkeypatch.setattr(Trainer, "train_epoch", broken)
    with pytest.raises(ValueError, match="an internal bug"):
        main(["train", "--epochs", "1", "--out", str(tmp_path), "--quiet", "--no-progress"])


# ---- image folders of any size, per-model learning rates -------------------------------------

def _png_folder(root, sizes, classes=3, per_class=4, rgb=False):
    from PIL import Image
    rng = np.random.default_rng(0)
    for c in range(classes):
        for i in range(per_class):
            h, w = sizes[i % len(sizes)]
            img = rng.integers(0, 60, (h, w, 3) if rgb else (h, w), dtype=np.uint8)
            img[h // 4: 3 * h // 4, c * w // classes: (c + 1) * w // classes] = 255
            (root / f"class{c}").mkdir(parents=True, exist_ok=True)
            Image.fromarray(img).save(root / f"class{c}" / f"{i}.png")
    return root


@pytest.mark.parametrize("sizes", [[(28, 28)], [(20, 20), (28, 36), (50, 40)]],
                         ids=["28x28", "mixed"])
def test_train_on_an_image_folder_of_any_size(tmp_path, sizes, capsys):
    data = _png_folder(tmp_path / "data", sizes)
    out = tmp_path / "run"
    assert _train(out, "--data", "folder", "--data-dir", str(data), "--epochs", "1") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["classes"] == ["class0", "class1", "class2"] and config["in_channels"] == 1
    assert sum(config["sizes"].values()) == 12
    assert json.loads((out / "summary.json").read_text())["epochs"] == 1
    assert main(["evaluate", "--checkpoint", str(out / "model.safetensors")]) == 0
    assert "accuracy" in capsys.readouterr().out
    two = _png_folder(tmp_path / "two", [(10, 10)], classes=2)
    code = main(["evaluate", "--checkpoint", str(out / "model.safetensors"), "--data-dir",
                 str(two)])
    _one_line_error(capsys, code, "--data folder has 2 classes", "tells 3 apart")


def test_a_colour_folder_is_made_grey_for_a_grey_only_model(tmp_path):
    data = _png_folder(tmp_path / "data", [(24, 30), (40, 40)], classes=10, per_class=3,
                       rgb=True)
    out = tmp_path / "run"
    assert _train(out, "--model", "lenet5-1998", "--data", "folder", "--data-dir", str(data),
                  "--epochs", "1") == 0
    assert json.loads((out / "config.json").read_text())["in_channels"] == 1
    assert main(["evaluate", "--checkpoint", str(out / "model.safetensors")]) == 0


def test_each_model_has_its_own_default_learning_rate(tmp_path):
    from autograd_cnn.cli import default_lr
    assert default_lr("lenet5", "sgd") == 0.05                 # 0.99 test accuracy on digits
    assert default_lr("lenet5-1998", "sgd") < 0.01             # its RBF outputs saturate at 0.05
    assert default_lr("lenet5", "adam") == default_lr("lenet5-1998", "adam") == 1e-3
    out = tmp_path / "run1998"
    assert _train(out, "--model", "lenet5-1998") == 0
    config = json.loads((out / "config.json").read_text())
    assert config["lr"] == default_lr("lenet5-1998", "sgd")
    assert config["lr_from"] == "default for lenet5-1998 with sgd"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["test_accuracy"] > 0.5 and summary["test_loss"] < 2.0   # chance: 0.1, 2.3
    assert _train(tmp_path / "given", "--epochs", "1", "--lr", "0.02",
                  "--scheduler", "none") == 0
    config = json.loads((tmp_path / "given" / "config.json").read_text())
    assert config["lr"] == 0.02 and config["lr_from"] == "--lr"
    assert float((tmp_path / "given" / "metrics.csv").read_text().splitlines()[1]
                 .split(",")[5]) == 0.02


def test_train_with_worker_processes_gives_the_same_run(run_dir, tmp_path, capsys):
    # --workers: the training batches are assembled in worker processes, identically
    assert _train(tmp_path, "--workers", "2") == 0

    def table(folder):
        return [line.rsplit(",", 1)[0] for line in (folder / "metrics.csv").read_text().splitlines()]

    assert table(tmp_path) == table(run_dir)
    code = main(["train", "--workers", "-1", "--out", str(tmp_path / "never"), "--quiet"])
    assert code == 2 and "--workers must be non-negative, got -1" in capsys.readouterr().err
