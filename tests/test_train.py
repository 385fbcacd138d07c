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


# ---- resume is all or nothing; the best file and metrics.csv survive interrupts (issue 12) ----

def _state(trainer):
    return (weights(trainer.model), {k: v for k, v in trainer.optimizer.param_groups[0].items()
                                     if k != "params"},
            dict(trainer.scheduler.state_dict()), list(trainer.history.rows))


def test_resume_with_another_optimiser_type_is_refused_and_changes_nothing(tmp_path):
    make(tmp_path).fit(*loaders(), epochs=2)
    other = make(tmp_path)
    other.optimizer = optim.Adam(other.model.parameters(), lr=0.01)
    other.scheduler = optim.lr_scheduler.StepLR(other.optimizer, 4, 0.5)
    before = _state(other)
    with pytest.raises(ValueError, match="trained with SGD, this Trainer has Adam"):
        other.fit(*loaders(), epochs=3, resume=True)
    after = _state(other)
    for k, v in before[0].items():
        np.testing.assert_array_equal(after[0][k], v)
    assert after[1:] == before[1:] and other.optimizer.state == {}


def test_resume_that_fails_on_the_optimiser_restores_the_model(tmp_path):
    make(tmp_path).fit(*loaders(), epochs=2)
    state = ac.load(tmp_path / CHECKPOINT)
    # a checkpoint whose optimiser lists another number of parameters (an old or edited file)
    state["optimizer"]["param_groups"][0]["params"] = [0, 1]
    state["optimizer"]["state"] = {}
    ac.save(state, tmp_path / CHECKPOINT)
    fresh = make(tmp_path)
    before = _state(fresh)
    with pytest.raises(ValueError, match="parameter group 0 has 2 parameters"):
        fresh.resume()
    after = _state(fresh)
    for k, v in before[0].items():                   # the model had been loaded: rolled back
        np.testing.assert_array_equal(after[0][k], v)
    assert after[1:] == before[1:] and fresh.history.rows == []


def test_resume_with_another_scheduler_or_none_is_refused(tmp_path):
    make(tmp_path).fit(*loaders(), epochs=2)
    other = make(tmp_path)
    other.scheduler = optim.lr_scheduler.CosineAnnealingLR(other.optimizer, T_max=5)
    with pytest.raises(ValueError, match="StepLR.*this Trainer has a CosineAnnealingLR"):
        other.resume()
    other.scheduler = None
    with pytest.raises(ValueError, match="has a StepLR, this Trainer has none"):
        other.resume()
    assert other.history.rows == []


def test_an_interrupt_between_the_two_saves_leaves_no_disagreement(tmp_path, monkeypatch):
    import autograd_cnn.train as train_module
    real_save = train_module.save

    def save_then_die_before_best(obj, path):
        if path.name == BEST and obj["epoch"] == 2:
            raise KeyboardInterrupt                  # the checkpoint of epoch 2 is written
        return real_save(obj, path)

    monkeypatch.setattr(train_module, "save", save_then_die_before_best)
    trainer = make(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(*loaders(), epochs=4)
    monkeypatch.setattr(train_module, "save", real_save)
    checkpoint = ac.load(tmp_path / CHECKPOINT)
    assert checkpoint["epoch"] == checkpoint["best_epoch"] == 2
    assert ac.load(tmp_path / BEST)["epoch"] == 1    # the two files disagree on disk ...
    resumed = make(tmp_path)
    resumed.resume()                                 # ... until the run is picked up again
    best = ac.load(tmp_path / BEST)
    assert best["epoch"] == resumed.best_epoch == 2
    for k, v in checkpoint["model"].items():
        np.testing.assert_array_equal(best["model"][k], v)


def test_metrics_csv_gets_each_row_as_the_epoch_ends(tmp_path):
    csv = tmp_path / "metrics.csv"
    seen = []
    trainer = make(tmp_path, metrics_csv=csv)
    original = trainer.train_epoch

    def watch(loader, epoch):
        seen.append(csv.read_text().splitlines() if csv.exists() else [])
        if epoch == 3:
            raise KeyboardInterrupt                  # killed in the fourth epoch
        return original(loader, epoch)

    trainer.train_epoch = watch
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(*loaders(), epochs=6)
    assert [len(lines) for lines in seen] == [0, 2, 3, 4]   # header + one row per epoch
    assert seen[1][0].startswith("epoch,train_loss,train_accuracy,val_loss,val_accuracy,lr")
    assert len(csv.read_text().splitlines()) == 4
    resumed = make(tmp_path, metrics_csv=csv)
    resumed.fit(*loaders(), epochs=6, resume=True)
    lines = csv.read_text().splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5", "6"]
