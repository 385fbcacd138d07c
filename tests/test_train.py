"""Trainer: the loop, checkpoints every epoch, exact resume, early stopping, interruption,
progress bars; the training plots."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import optim
from autograd_cnn.data import DataLoader, TensorDataset
from autograd_cnn.train import BEST, CHECKPOINT, Trainer, fit
from autograd_cnn.viz import plots

rng = np.random.default_rng(0)
X = rng.normal(size=(240, 2)).astype(np.float32)
Y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)        # XOR-like quadrants


def make(tmp=None, lr=0.3, progress=False, **kw):
    ac.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Dropout(0.1), nn.Linear(16, 2))
    opt = optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, 4, 0.5)
    trainer = Trainer(model, opt, nn.CrossEntropyLoss(), scheduler=sched, checkpoint_dir=tmp,
                      progress=progress, **kw)
    return trainer


def loaders():
    train = DataLoader(TensorDataset(X[:180], Y[:180]), batch_size=16, shuffle=True, seed=3)
    val = DataLoader(TensorDataset(X[180:], Y[180:]), batch_size=64)
    return train, val


def weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def test_fit_learns_and_records_history(tmp_path):
    trainer = make(tmp_path)
    history = trainer.fit(*loaders(), epochs=10)
    assert len(history) == 10 and history[-1]["epoch"] == 10
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history[-1]["val_accuracy"] > 0.85
    assert history["lr"][:5] == [0.3, 0.3, 0.3, 0.3, 0.15]      # StepLR(4, 0.5), per epoch
    assert (tmp_path / CHECKPOINT).exists() and (tmp_path / BEST).exists()
    result = trainer.evaluate(loaders()[1])
    assert result["confusion_matrix"].sum() == 60 and 0.85 < result["accuracy"] <= 1
    assert set(result["scores"]) >= {"precision", "recall", "f1", "macro"}


def test_same_seed_same_metrics_twice(tmp_path):
    a = make(tmp_path / "a").fit(*loaders(), epochs=4)
    b = make(tmp_path / "b").fit(*loaders(), epochs=4)
    for ra, rb in zip(a.rows, b.rows):
        assert {k: v for k, v in ra.items() if k != "seconds"} == \
               {k: v for k, v in rb.items() if k != "seconds"}


def test_resume_gives_the_same_final_weights(tmp_path):
    straight = make(tmp_path / "straight")
    straight.fit(*loaders(), epochs=9)
    first = make(tmp_path / "resumed")
    first.fit(*loaders(), epochs=4)                  # "interrupted" after epoch 4
    second = make(tmp_path / "resumed")              # a new process: fresh model and optimizer
    second.fit(*loaders(), epochs=9, resume=True)
    assert len(second.history) == 9
    for key, value in weights(straight.model).items():
        np.testing.assert_array_equal(weights(second.model)[key], value, err_msg=key)
    assert second.history["val_loss"] == straight.history["val_loss"]


def test_interrupted_epoch_keeps_last_good_checkpoint(tmp_path):
    trainer = make(tmp_path)
    trainer.fit(*loaders(), epochs=2)
    saved = ac.load(tmp_path / CHECKPOINT)
    calls = {"n": 0}
    original = trainer.loss_fn

    def exploding_loss(out, y):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(out, y)

    trainer.loss_fn = exploding_loss
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(*loaders(), epochs=5, resume=True)
    after = ac.load(tmp_path / CHECKPOINT)
    assert after["epoch"] == saved["epoch"] == 2
    for k, v in saved["model"].items():
        np.testing.assert_array_equal(after["model"][k], v)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".") or "tmp" in p.name]


def test_early_stopping_and_restore_best(tmp_path):
    # lr 0: nothing changes after the first epoch, so val_loss never improves on it
    trainer = make(tmp_path, lr=0.0, early_stopping=2, monitor="val_loss", mode="min",
                   restore_best=True)
    history = trainer.fit(*loaders(), epochs=20)
    assert trainer.stopped_early and len(history) < 20
    best = ac.load(tmp_path / BEST)
    for k, v in best["model"].items():
        np.testing.assert_array_equal(trainer.model.state_dict()[k]._data, v)


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    bad = X[:32].copy()
    bad[5, 0] = np.nan
    loader = DataLoader(TensorDataset(bad, Y[:32]), batch_size=16)
    with pytest.raises(FloatingPointError, match="epoch 1.*learning rate.*NaN"):
        with np.errstate(all="ignore"):
            make(tmp_path).fit(loader, epochs=3)


def test_bad_arguments():
    model = nn.Linear(2, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="mode"):
        Trainer(model, opt, nn.CrossEntropyLoss(), mode="up")
    with pytest.raises(ValueError, match="early_stopping"):
        Trainer(model, opt, nn.CrossEntropyLoss(), early_stopping=0)
    with pytest.raises(ValueError, match="checkpoint_dir"):
        Trainer(model, opt, nn.CrossEntropyLoss(), restore_best=True)
    with pytest.raises(ValueError, match="epochs"):
        Trainer(model, opt, nn.CrossEntropyLoss()).fit(*loaders(), epochs=0)


def test_progress_bar_shows_live_loss_and_accuracy(tmp_path, capsys):
    trainer = make(progress=True)
    trainer.fit(loaders()[0], epochs=1)
    err = capsys.readouterr().err
    assert "epoch 1" in err and "loss=" in err and "acc=" in err


def test_progress_bar_does_not_change_the_numbers(tmp_path, capsys):
    # tqdm.auto calls iter() on what it wraps; that must not cost the loader an epoch
    runs = {}
    for progress in (False, True):
        trainer = make(tmp_path / str(progress), progress=progress)
        trainer.fit(*loaders(), epochs=3)
        runs[progress] = trainer
    assert "loss=" in capsys.readouterr().err                     # the bar really was shown
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in runs[False].history.rows]
    assert strip == [{k: v for k, v in row.items() if k != "seconds"}
                     for row in runs[True].history.rows]
    for key, value in weights(runs[False].model).items():
        np.testing.assert_array_equal(weights(runs[True].model)[key], value, err_msg=key)


def test_progress_off_by_default_without_a_terminal(capsys):
    make().fit(loaders()[0], epochs=1)
    assert "loss=" not in capsys.readouterr().err


def test_fit_function(tmp_path):
    ac.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 2))
    history = fit(model, optim.Adam(model.parameters(), lr=0.05), nn.CrossEntropyLoss(),
                  loaders()[0], epochs=3, progress=False)
    assert len(history) == 3 and "val_loss" not in history[0]


def test_plots_write_pngs(tmp_path):
    trainer = make(tmp_path)
    trainer.fit(*loaders(), epochs=3)
    plots.plot_curves(trainer.history, tmp_path / "curves.png")
    plots.plot_confusion_matrix(np.array([[5, 1], [0, 4]]), ["a", "b"], tmp_path / "cm.png")
    plots.plot_filters(np.random.default_rng(0).normal(size=(6, 1, 5, 5)), tmp_path / "f.png")
    plots.plot_images(np.zeros((3, 1, 8, 8)), ["x", "y", "z"], tmp_path / "imgs.png")
    for name in ("curves.png", "cm.png", "f.png", "imgs.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="conv weight"):
        plots.plot_filters(np.zeros((3, 3)))
