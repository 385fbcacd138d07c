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
    # what augmentation ran: the batched RandomAffine, with its parameters
    assert config["augment"] is True
    assert config["augmentation"].startswith("BatchRandomAffine(degrees=(-8.0, 8.0), "
                                             "translate=(0.08, 0.08), scale=(0.92, 1.08)")


def test_same_seed_same_metrics(run_dir, tmp_path):
    assert _train(tmp_path) == 0

    def table(folder):
        lines = (folder / "metrics.csv").read_text().splitlines()
        return [line.rsplit(",", 1)[0] for line in lines]      # drop the seconds column

    assert table(tmp_path) == table(run_dir)


def test_train_captures_by_default_and_records_what_ran(run_dir, tmp_path):
    config = json.loads((run_dir / "config.json").read_text())
    capture = json.loads((run_dir / "summary.json").read_text())["capture"]
    assert config["capture"] == "auto" and capture["mode"] == "auto"
    assert capture["calls"]["replays"] > 0
    assert "inputs [(32, 1, 32, 32)]: replayed (12 ops)" in capture["plans"]
    # every op eager: the same metrics to the last digit, and nothing captured
    assert _train(tmp_path, "--no-capture") == 0
    assert json.loads((tmp_path / "summary.json").read_text())["capture"] == {"mode": False}
    assert json.loads((tmp_path / "config.json").read_text())["capture"] is False

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
                                ("--weight-decay", "-1",
                                 "--weight-decay must be a non-negative finite number"),
                                ("--lr", "0", "--lr must be a positive finite number"),
                                ("--lr", "inf", "--lr must be a positive finite number, got inf"),
                                ("--lr", "nan", "--lr must be a positive finite number, got nan"),
                                ("--lr", "-0.1", "--lr must be a positive finite number"),
                                ("--weight-decay", "inf", "--weight-decay must be a non-negative"),
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


# ---- nothing lost: a run folder is never overwritten by surprise (issue 12) ---------------------

def _snapshot(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def run_copy(run_dir, tmp_path):
    import shutil
    out = tmp_path / "copy"
    shutil.copytree(run_dir, out)
    return out


def test_a_new_run_into_a_folder_holding_one_is_refused(run_copy, capsys):
    before = _snapshot(run_copy)
    code = main(["train", "--out", str(run_copy), "--epochs", "1", "--quiet", "--no-progress"])
    _one_line_error(capsys, code, f"--out {run_copy} holds another run (config.json, "
                    "metrics.csv, summary.json, model.safetensors, checkpoint.safetensors",
                    "continue it with --resume", "--overwrite (moves it into "
                    f"{run_copy}/previous-<timestamp>/)")
    assert _snapshot(run_copy) == before
    code = main(["train", "--out", str(run_copy), "--resume", "--overwrite", "--quiet"])
    _one_line_error(capsys, code, "choose one")
    assert _snapshot(run_copy) == before


def test_overwrite_moves_the_old_run_aside(run_copy, capsys):
    before = _snapshot(run_copy)
    assert _train(run_copy, "--epochs", "1", "--overwrite") == 0
    aside = [p for p in run_copy.iterdir() if p.is_dir()]
    assert len(aside) == 1 and aside[0].name.startswith("previous-")
    assert _snapshot(aside[0]) == before                # every file, byte for byte
    assert json.loads((run_copy / "summary.json").read_text())["epochs"] == 1
    assert len((run_copy / "metrics.csv").read_text().splitlines()) == 2


def test_an_interrupt_in_the_first_epoch_names_no_missing_checkpoint(tmp_path, monkeypatch,
                                                                     capsys):
    from autograd_cnn.train import Trainer

    def interrupt(self, loader, epoch):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_epoch", interrupt)
    assert _train(tmp_path / "run") == 130
    err = capsys.readouterr().err
    assert not (tmp_path / "run" / "checkpoint.safetensors").exists()
    assert "checkpoint.safetensors" not in err and "--resume" not in err
    assert "interrupted before the first epoch finished" in err and "--overwrite" in err


def test_metrics_csv_has_every_finished_epoch_while_training(tmp_path, monkeypatch):
    from autograd_cnn.train import Trainer
    original, seen = Trainer.train_epoch, []

    def watch(self, loader, epoch):
        csv = tmp_path / "run" / "metrics.csv"
        seen.append(len(csv.read_text().splitlines()) if csv.exists() else 0)
        return original(self, loader, epoch)

    monkeypatch.setattr(Trainer, "train_epoch", watch)
    assert _train(tmp_path / "run", "--epochs", "3") == 0
    assert seen == [0, 2, 3]                            # header + a row per finished epoch


# ---- clear errors (issue 12 item 11) -------------------------------------------------------------

def test_graph_out_naming_a_file_is_a_one_line_error(tmp_path, capsys):
    a_file = tmp_path / "graph.svg"
    a_file.write_text("not a folder")
    code = main(["graph", "--out", str(a_file)])
    _one_line_error(capsys, code, f"--out {a_file} is a file", "give a folder")
    assert a_file.read_text() == "not a folder"


def test_a_closed_pipe_stops_evaluate_quietly(run_dir):
    import os
    read, write = os.pipe()
    os.close(read)                                      # `evaluate | head -1`, head long gone
    proc = subprocess.run([sys.executable, "-m", "autograd_cnn", "evaluate", "--checkpoint",
                           str(run_dir)], stdout=write, stderr=subprocess.PIPE, text=True)
    os.close(write)
    assert proc.stderr == "" and proc.returncode == 141


def test_a_diverging_run_is_a_one_line_error(tmp_path, capsys):
    code = main(["train", "--lr", "1e30", "--epochs", "1", "--out", str(tmp_path / "run"),
                 "--quiet", "--no-progress", "--scheduler", "none"])
    _one_line_error(capsys, code, "training loss became", "lower the learning rate")


# ---- records say what ran (issue 18 item 2) -----------------------------------------------------

def test_adamw_weight_decay_zero_is_zero_and_seconds_is_the_wall_time(tmp_path, monkeypatch):
    import time

    import autograd_cnn as ac
    import autograd_cnn.cli as cli
    original = cli._plots

    def slow_plots(*args):
        original(*args)
        time.sleep(1.0)

    monkeypatch.setattr(cli, "_plots", slow_plots)
    t0 = time.perf_counter()
    assert _train(tmp_path / "w0", "--epochs", "1", "--optimizer", "adamw",
                  "--weight-decay", "0") == 0
    wall = time.perf_counter() - t0
    config = json.loads((tmp_path / "w0" / "config.json").read_text())
    groups = ac.load(tmp_path / "w0" / "checkpoint.safetensors")["optimizer"]["param_groups"]
    assert config["weight_decay"] == 0 and groups[0]["weight_decay"] == 0
    summary = json.loads((tmp_path / "w0" / "summary.json").read_text())
    assert summary["seconds"] >= summary["train_seconds"] + 1.0      # the plots are in it
    assert summary["seconds"] <= wall + 0.01             # (rounded to 0.01 s)
    from autograd_cnn.cli import default_weight_decay
    assert default_weight_decay("adamw") == 0.01 and default_weight_decay("sgd") == 5e-4


def test_resume_records_the_rate_used_and_stretches_the_schedule(run_copy, capsys):
    import math
    capsys.readouterr()
    assert _train(run_copy, "--resume", "--lr", "0.01", "--epochs", "3") == 0
    err = capsys.readouterr().err
    assert "note: resuming with --lr 0.01: the checkpoint's optimiser state keeps the run's " \
           "0.05" in err
    assert "note: resuming with --epochs 3: training continues to the new total (the cosine " \
           "schedule is fitted to it); the run was for 2" in err
    config = json.loads((run_copy / "config.json").read_text())
    assert config["lr"] == 0.05 and config["epochs"] == 3
    rows = (run_copy / "metrics.csv").read_text().strip().splitlines()[1:]
    lrs = [float(r.split(",")[5]) for r in rows]
    # epochs 1-2 ran on a 2-epoch cosine, epoch 3 on the 3-epoch one (not at lr 0)
    cosine3 = 0.05 * (1 + math.cos(math.pi * 2 / 3)) / 2
    assert lrs == [pytest.approx(0.05), pytest.approx(0.025), pytest.approx(cosine3, rel=1e-5)]


# ---- the command line as people expect (issue 18 item 3) ----------------------------------------

def test_help_shows_defaults_and_version(capsys):
    import autograd_cnn as ac
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for text in ("(default: 30)", "(default: 0.9)", "(default: cosine)", "(default: lenet5)",
                 "(default: --augment)", "(default: 0.0005; 0.01 with adamw"):
        assert text in " ".join(out.split()), text
    assert "\x1b[" not in out and "(default: None)" not in out
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "``" not in out and "COMMAND --help" in out    # plain text, not reStructuredText
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"autograd_cnn {ac.__version__}"


def test_a_cold_kernel_cache_is_announced_once(run_dir, tmp_path):
    # the note comes before any image is read, so a missing image keeps this test fast: no
    # kernel gets compiled. Warm: the cache that run_dir's training wrote (kernels/__pycache__)
    import os
    missing = str(tmp_path / "missing.png")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    runs = [subprocess.run([sys.executable, "-m", "autograd_cnn", "predict", "--checkpoint",
                            str(run_dir), missing], capture_output=True, text=True, env=env_)
            for env_ in (dict(env, NUMBA_CACHE_DIR=str(tmp_path / "empty")), env)]
    assert [r.returncode for r in runs] == [2, 2]
    error = f"error: image {missing} does not exist\n"
    assert runs[0].stderr == "compiling kernels (first run only, ~20 s)\n" + error
    assert runs[1].stderr == error


def _digit_with_margins(x, rng):
    """A bundled test digit as a user's photo: dark ink on a white 120x100 page, twice the
    size, off-centre."""
    from PIL import Image
    core = Image.fromarray(((1 - x[0, 2:30, 2:30]) * 255).astype(np.uint8)).resize((56, 56))
    page = Image.new("L", (120, 100), 255)
    page.paste(core, (int(rng.integers(0, 60)), int(rng.integers(0, 40))))
    return page


def test_predict_crops_and_centres_a_digit_with_margins(run_dir, tmp_path, capsys):
    from autograd_cnn.data import digits
    test = digits(image_size=32, split="test")
    rng = np.random.default_rng(0)
    paths, truth = [], []
    for i in range(20):
        x, y = test[i]
        paths.append(tmp_path / f"page{i}.png")
        _digit_with_margins(x, rng).save(paths[-1])
        truth.append(str(int(y)))
    assert main(["predict", "--checkpoint", str(run_dir), *map(str, paths)]) == 0
    predicted = [line.split(": ")[1].split()[0]
                 for line in capsys.readouterr().out.strip().splitlines()]
    # the model scores ~0.93 on the cropped test digits; uncropped pages scored 0.15
    assert sum(t == p for t, p in zip(truth, predicted)) >= 17


def test_predict_goes_on_past_a_bad_file(run_dir, tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.zeros((32, 32), np.float32))
    np.save(tmp_path / "flat.npy", np.zeros(64, np.float32))
    names = ["a.npy", "missing.png", "flat.npy", "a.npy"]
    code = main(["predict", "--checkpoint", str(run_dir), *(str(tmp_path / n) for n in names)])
    captured = capsys.readouterr()
    assert code == 2
    assert [line.split(": ")[0] for line in captured.out.strip().splitlines()] == \
        [str(tmp_path / "a.npy")] * 2
    err = captured.err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("error: ") for line in err)
    assert "missing.png does not exist" in err[0] and "flat.npy" in err[1]
    assert err[2] == "error: 2 of 4 images could not be read"


def test_a_run_folder_is_a_checkpoint(run_dir, tmp_path, capsys):
    assert main(["evaluate", "--checkpoint", str(run_dir)]) == 0
    assert "accuracy" in capsys.readouterr().out
    code = main(["evaluate", "--checkpoint", str(tmp_path)])
    _one_line_error(capsys, code, f"--checkpoint {tmp_path} is a folder without "
                    "model.safetensors")


def test_a_one_class_folder_and_an_unused_data_dir_are_errors(run_dir, tmp_path, capsys):
    one = _png_folder(tmp_path / "one", [(20, 20)], classes=1, per_class=6)
    code = main(["train", "--data", "folder", "--data-dir", str(one), "--out",
                 str(tmp_path / "run"), "--quiet"])
    _one_line_error(capsys, code, "one class subfolder (class0)", "at least 2")
    code = main(["train", "--data-dir", str(one), "--out", str(tmp_path / "run"), "--quiet"])
    _one_line_error(capsys, code, f"--data-dir {one} is not used with --data digits")
    code = main(["evaluate", "--checkpoint", str(run_dir), "--data-dir", str(one)])
    _one_line_error(capsys, code, f"--data-dir {one} is not used with --data digits")
    assert not (tmp_path / "run").exists()


def test_predict_prepares_a_digit_for_an_mnist_model_as_mnist_was(tmp_path):
    # MNIST: the digit scaled into a 20x20 box (aspect kept), its centre of mass at the centre
    # of the 28x28 field; then framed to 32x32 as `train` did (Pad(2))
    from PIL import Image

    from autograd_cnn.cli import _read_image
    page = np.full((100, 80), 255, np.uint8)                  # dark ink on white, off-centre
    page[10:40, 50:65] = 0                                    # a 30 x 15 stroke
    Image.fromarray(page).save(tmp_path / "digit.png")
    x = _read_image(tmp_path / "digit.png", {"data": "mnist", "image_size": 32,
                                              "in_channels": 1})
    assert x.shape == (1, 32, 32) and x.dtype == np.float32
    field = x[0, 2:30, 2:30]
    assert not x[0, :2].any() and not x[0, 30:].any()         # the 2-pixel frame stays empty
    rows, cols = np.flatnonzero(field.max(axis=1) > 0.5), np.flatnonzero(field.max(axis=0) > 0.5)
    assert rows[-1] - rows[0] + 1 == 20 and cols[-1] - cols[0] + 1 == 10   # 30x15 -> 20x10
    mass = field.sum()
    cy = (np.arange(28) @ field.sum(axis=1)) / mass
    cx = (np.arange(28) @ field.sum(axis=0)) / mass
    assert abs(cy - 13.5) <= 0.5 and abs(cx - 13.5) <= 0.5
