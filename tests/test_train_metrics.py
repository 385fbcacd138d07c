"""Trainer's metrics are callables accumulated per sample; its scheduler is dispatched on type."""

import functools

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import metrics, optim
from autograd_cnn.data import DataLoader, TensorDataset
from autograd_cnn.train import DEFAULT_METRICS, Trainer

rng = np.random.default_rng(1)
X = rng.normal(size=(90, 2)).astype(np.float32)
Y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0).astype(np.int64)      # 3 classes


def make(lr=0.3, **kw):
    ac.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 3))
    opt = optim.SGD(model.parameters(), lr=lr)
    return Trainer(model, opt, nn.CrossEntropyLoss(), progress=False, **kw)


def test_named_metrics_get_their_history_columns():
    top2 = functools.partial(metrics.top_k_accuracy, k=2)
    trainer = make(metrics={"accuracy": metrics.accuracy, "top2": top2})
    train = DataLoader(TensorDataset(X[:60], Y[:60]), batch_size=16, shuffle=True, seed=0)
    val = DataLoader(TensorDataset(X[60:], Y[60:]), batch_size=7)
    history = trainer.fit(train, val, epochs=2)
    assert list(history[0]) == ["epoch", "train_loss", "train_accuracy", "train_top2",
                                "val_loss", "val_accuracy", "val_top2", "lr", "seconds"]
    for prefix in ("train", "val"):
        assert all(a <= b for a, b in zip(history[f"{prefix}_accuracy"],
                                          history[f"{prefix}_top2"]))
    # the validation column is the metric over the whole validation set
    with ac.no_grad():
        trainer.model.eval()
        out = trainer.model(ac.tensor(X[60:]))
    assert history[-1]["val_top2"] == pytest.approx(top2(out, Y[60:]), abs=1e-12)
    assert history[-1]["val_accuracy"] == pytest.approx(metrics.accuracy(out, Y[60:]),
                                                        abs=1e-12)


def test_batches_of_unequal_size_weigh_by_their_samples():
    # batches of 4 and 1 samples: the per-sample mean is 1/5, the mean of batch means 1/2
    x = np.zeros((5, 2), np.float32)
    y = np.array([1, 0, 0, 0, 1], np.int64)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    seen = []

    def last_is_one(outputs, targets):
        t = targets.numpy()
        seen.append(len(t))
        return float(t[-1] == 1)                # 0 for the first batch, 1 for the second

    trainer = make(lr=0.0, metrics={"last": last_is_one})
    assert trainer.evaluate(loader)["last"] == pytest.approx(1 / 5)
    assert trainer.train_epoch(loader, 0)["last"] == pytest.approx(1 / 5)
    assert seen == [4, 1, 4, 1]


def test_default_metric_is_argmax_accuracy():
    assert DEFAULT_METRICS == {"accuracy": metrics.accuracy}
    trainer = make(lr=0.0)
    loader = DataLoader(TensorDataset(X, Y), batch_size=32)
    result = trainer.evaluate(loader)
    with ac.no_grad():
        out = trainer.model(ac.tensor(X)).numpy()
    assert result["accuracy"] == pytest.approx(np.mean(out.argmax(axis=1) == Y), abs=1e-12)
    assert trainer.train_epoch(loader, 0)["accuracy"] == pytest.approx(result["accuracy"],
                                                                       abs=1e-12)


def test_reduce_metrics_sees_loss_seen_and_each_metric_sum():
    got = []

    def reduce(sums):
        got.append(sums.copy())
        return sums * 2                         # as if two ranks held the same figures

    trainer = make(lr=0.0, reduce_metrics=reduce)
    loader = DataLoader(TensorDataset(X, Y), batch_size=32)
    train = trainer.train_epoch(loader, 0)
    (sums,) = got
    assert sums[1] == len(X)
    assert train["loss"] == pytest.approx(sums[0] / len(X))
    assert train["accuracy"] == pytest.approx(sums[2] / len(X))


def test_bad_metrics_are_refused_with_a_clear_error():
    with pytest.raises(TypeError, match="dict of name"):
        make(metrics=[metrics.accuracy])
    with pytest.raises(TypeError, match="callable"):
        make(metrics={"accuracy": 0.5})
    with pytest.raises(TypeError, match="other than 'loss'"):
        make(metrics={"loss": metrics.accuracy})
    trainer = make(metrics={"odd": lambda out, y: "high"})
    with pytest.raises(TypeError, match="metric 'odd' must return a number"):
        trainer.evaluate(DataLoader(TensorDataset(X, Y), batch_size=32))


def test_scheduler_is_dispatched_on_its_type_not_its_name():
    class Plateau(optim.lr_scheduler.ReduceLROnPlateau):    # a subclass still gets the value
        pass

    calls = []

    class ReduceLROnPlateau:                                 # only the name: a plain step()
        def step(self, *args):
            calls.append(args)

    trainer = make(lr=0.1)
    trainer.scheduler = Plateau(trainer.optimizer, mode="max", patience=0, factor=0.5)
    trainer._step_scheduler(0.5)
    trainer._step_scheduler(0.4)                             # worse: the rate halves
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.05)
    trainer.scheduler = ReduceLROnPlateau()
    trainer._step_scheduler(0.5)
    assert calls == [()]
