"""Training: ``Trainer`` runs the loop every training script writes by hand, and keeps it honest.

    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), scheduler=sched,
                      checkpoint_dir="runs/lenet", early_stopping=5)
    history = trainer.fit(train_loader, val_loader, epochs=30)
    print(trainer.evaluate(test_loader))          # {'loss': ..., 'accuracy': ..., ...}

Metrics are callables ``metric(outputs, targets) -> float`` (a batch mean, as in
``autograd_cnn.metrics``), named by the keys of ``metrics``: each gets the columns
``train_<name>`` and ``val_<name>`` of ``history``. The default is argmax accuracy alone.

One epoch: for each batch, ``optimizer.zero_grad()``, forward, loss, ``backward()``,
``optimizer.step()``; then the validation pass (no_grad, eval mode), the scheduler step, one row
of ``history``, a checkpoint, and the early-stopping check.

Reproducible and resumable: the loaders' order depends only on (seed, epoch) (``set_epoch``),
and each checkpoint holds everything else that changes during training (model, optimiser and
scheduler state, the package's random generator that dropout draws from, the history and the
early-stopping counter). ``fit(..., resume=True)`` continues from the last checkpoint and ends
with the same weights as an uninterrupted run. Resuming is all or nothing: the model, optimiser
(of the same type), scheduler, history and random state are all checked before any is changed.

Nothing is lost to an interrupt: checkpoints are written atomically (``autograd_cnn.save``), so
an interrupted run keeps its last good one; ``metrics_csv`` gets its row as each epoch ends; and
the best-weights file never disagrees with the checkpoint (see ``_checkpoint``).
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import backend
from .capture import Compiled, compile as compile_model
from . import random as _random
from .engine import no_grad
from .metrics import ConfusionMatrix, accuracy
from .optim.lr_scheduler import ReduceLROnPlateau
from .serialization import load, save

__all__ = ["Trainer", "History", "fit", "CHECKPOINT", "BEST", "DEFAULT_METRICS"]

CHECKPOINT = "checkpoint.safetensors"     # the last finished epoch, for resuming
BEST = "best.safetensors"                 # the epoch with the best monitored metric
DEFAULT_METRICS = {"accuracy": accuracy}  # the columns train_accuracy / val_accuracy


@dataclass
class History:
    """One dict per finished epoch: epoch, train_loss, train_<metric> for each metric (by
    default train_accuracy), val_loss, val_<metric>, lr, seconds (val_* only with a validation
    loader)."""

    rows: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, key):
        """``history["val_accuracy"]`` -> the column; ``history[-1]`` -> the last row."""
        if isinstance(key, str):
            return [row.get(key) for row in self.rows]
        return self.rows[key]

    def to_csv(self, path) -> None:
        """All rows, with a header line (columns: the first row's keys); nothing without rows."""
        if not self.rows:
            return
        columns = list(self.rows[0])
        lines = [",".join(columns)] + [_csv_line(row, columns) for row in self.rows]
        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text("\n".join(lines) + "\n")
        os.replace(tmp, path)                # a kill mid-write keeps the old file whole

    def append_csv(self, path) -> None:
        """Add the last row to the CSV at ``path`` (the header too if the file is new), flushed
        at once: a run killed later keeps every finished epoch's row."""
        path = Path(path)
        columns = list(self.rows[0])
        with open(path, "a") as f:
            if f.tell() == 0:
                f.write(",".join(columns) + "\n")
            f.write(_csv_line(self.rows[-1], columns) + "\n")


def _csv_line(row: dict, columns: list) -> str:
    return ",".join(_csv_value(row.get(c)) for c in columns)


def _csv_value(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _progress(loader, enabled: bool, **kwargs):
    """The batches of one pass over ``loader``, behind a tqdm bar when ``enabled``.

    The loader is iterated exactly once, here, whether or not a bar is shown: the bar wraps
    that one iterator and gets its length explicitly (tqdm.auto calls ``iter()`` on what it
    wraps; given the loader itself it would start an extra pass, and a DataLoader that counts
    epochs would then train on another epoch's order with the bar than without it)."""
    batches = iter(loader)
    if not enabled:
        return batches
    from tqdm.auto import tqdm
    total = len(loader) if hasattr(loader, "__len__") else None
    return tqdm(batches, total=total, leave=False, dynamic_ncols=True, **kwargs)


class Trainer:
    """Train ``model`` with ``optimizer`` on ``loss_fn(output, target)``.

    metrics:         {name: metric(outputs, targets) -> float}, each a batch mean (e.g.
                     ``autograd_cnn.metrics.accuracy``, or ``functools.partial(top_k_accuracy,
                     k=5)``); an epoch's value weighs each batch by its size. None: argmax
                     accuracy alone (``DEFAULT_METRICS``)
    scheduler:       stepped once per epoch (ReduceLROnPlateau gets the monitored value)
    checkpoint_dir:  where ``checkpoint.safetensors`` (every epoch) and ``best.safetensors``
                     (best monitored value) go; None keeps nothing on disk
    monitor, mode:   the metric for early stopping and the best checkpoint ("val_accuracy",
                     "max" by default; "val_loss", "min" works too); falls back to the training
                     metric without a validation loader
    early_stopping:  stop after this many epochs without improvement (None: never)
    restore_best:    load the best epoch's weights at the end of ``fit`` (needs checkpoint_dir)
    progress:        tqdm bars with live loss/accuracy; None = only when stderr is a terminal
    extra_state:     a dict saved in every checkpoint (e.g. the run's config)
    metrics_csv:     a CSV file that gets one row per epoch as it ends (rewritten from the
                     checkpoint's history on resume); None writes none
    save_checkpoints: False reads checkpoint_dir (resume) but never writes it (data-parallel
                     ranks other than 0: one rank writes the run folder)
    reduce_metrics:  fn(array of sums) -> the same sums over every rank, applied to each
                     epoch's (loss sum, samples seen, one sum per metric) so every rank logs
                     the global figures
                     (autograd_cnn.distributed.allreduce_array)
    capture:         True: run the model through ``autograd_cnn.compile`` (captured steps:
                     its ops replayed without their Python once a batch shape has been seen
                     twice; a call that cannot be captured runs eagerly with a warning);
                     "auto": the same without the warning (the command line's default: a
                     model with an op that has no replay, batch norm say, just trains
                     eagerly); False: eager. ``trainer.forward.explain()`` says what was
                     captured and why not. The results are the eager ones bit for bit.
    """

    def __init__(self, model, optimizer, loss_fn, scheduler=None, checkpoint_dir=None,
                 monitor: str = "val_accuracy", mode: str = "max", early_stopping=None,
                 restore_best: bool = False, progress=None, log=None, extra_state=None,
                 metrics_csv=None, save_checkpoints: bool = True, reduce_metrics=None,
                 metrics=None, capture: bool | str = False):
        if mode not in ("min", "max"):
            raise ValueError(f"Trainer: mode must be 'min' or 'max', got {mode!r}")
        if early_stopping is not None and (not isinstance(early_stopping, int)
                                           or early_stopping < 1):
            raise ValueError(f"Trainer: early_stopping must be a positive int (patience in "
                             f"epochs) or None, got {early_stopping!r}")
        if restore_best and checkpoint_dir is None:
            raise ValueError("Trainer: restore_best=True needs a checkpoint_dir to keep the best "
                             "weights in")
        if not (capture is True or capture is False or capture == "auto"):
            raise ValueError(f"Trainer: capture must be True, False or 'auto', got {capture!r}")
        self.metrics = _check_metrics(DEFAULT_METRICS if metrics is None else metrics)
        backend.configure()         # the process-wide settings training is measured with
        self.model = model
        # the model, or the model with captured steps: what train_epoch and evaluate call
        self.forward = model if capture is False else \
            Compiled(model, quiet=True) if capture == "auto" else compile_model(model)
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.scheduler = scheduler
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self.monitor, self.mode = monitor, mode
        self.early_stopping = early_stopping
        self.restore_best = restore_best
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.log = log if log is not None else (lambda msg: None)
        self.extra_state = dict(extra_state or {})
        self.save_checkpoints = bool(save_checkpoints)
        self.reduce_metrics = reduce_metrics
        self.metrics_csv = Path(metrics_csv) if metrics_csv is not None else None
        self.history = History()
        self.best = None
        self.best_epoch = None
        self.bad_epochs = 0
        self.stopped_early = False

    # ---- one pass ----------------------------------------------------------------------------

    def train_epoch(self, loader, epoch: int) -> dict:
        """One epoch of optimisation; returns the mean loss and each metric over the epoch."""
        self.model.train()
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        sampler = getattr(loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):         # DistributedSampler: this epoch's shard
            sampler.set_epoch(epoch)
        sums = _Sums(self.metrics)
        batches = _progress(loader, self.progress, desc=f"epoch {epoch + 1}", unit="batch")
        for x, y in batches:
            self.optimizer.zero_grad()
            out = self.forward(x)
            loss = self.loss_fn(out, y)
            value = loss.item()
            if not math.isfinite(value):
                raise FloatingPointError(
                    f"training loss became {value} at epoch {epoch + 1}: lower the learning "
                    "rate (or check the data for NaN/Inf)")
            loss.backward()
            self.optimizer.step()
            sums.add(value, out, y)
            if self.progress:
                batches.set_postfix(sums.postfix())
        if self.reduce_metrics is not None:
            sums.totals = np.asarray(self.reduce_metrics(sums.totals), dtype=np.float64)
        if sums.seen == 0:
            raise ValueError("train_epoch: the training loader yielded no batches")
        return sums.means()

    def evaluate(self, loader, num_classes: int | None = None) -> dict:
        """Loss, accuracy, each metric, confusion matrix and per-class precision/recall/F1 over
        ``loader`` (eval mode, no graph)."""
        was_training = getattr(self.model, "training", False)
        self.model.eval()
        sums = _Sums(self.metrics)
        matrix = None
        try:
            with no_grad():
                for x, y in loader:
                    out = self.forward(x)
                    sums.add(self.loss_fn(out, y).item(), out, y)
                    if matrix is None:
                        matrix = ConfusionMatrix(num_classes or out.shape[1])
                    matrix.update(out, y)
        finally:
            self.model.train(was_training)
        if sums.seen == 0:
            raise ValueError("evaluate: the loader yielded no batches")
        return {"accuracy": matrix.accuracy(), **sums.means(),
                "confusion_matrix": matrix.matrix, "scores": matrix.precision_recall_f1()}

    # ---- the loop ----------------------------------------------------------------------------

    def fit(self, train_loader, val_loader=None, epochs: int = 10, resume: bool = False) -> History:
        """Train until ``epochs`` epochs have run in total or early stopping says stop. Training
        starts after the epochs already in ``history``: those of the checkpoint that
        ``resume=True`` loads from ``checkpoint_dir`` (see ``resume``), or of ``resume()``
        called beforehand."""
        if not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"fit: epochs must be a positive int, got {epochs!r}")
        if resume:
            self.resume()
        start = len(self.history)
        if self.metrics_csv is not None:     # exactly the finished epochs, none redone twice
            if self.history.rows:
                self.history.to_csv(self.metrics_csv)
            else:
                self.metrics_csv.unlink(missing_ok=True)
        for epoch in range(start, epochs):
            t0 = time.perf_counter()
            train = self.train_epoch(train_loader, epoch)
            row = {"epoch": epoch + 1, **{f"train_{k}": v for k, v in train.items()}}
            if val_loader is not None:
                val = self.evaluate(val_loader)
                row.update({f"val_{k}": val[k] for k in train})
            row["lr"] = float(self.optimizer.param_groups[0]["lr"])
            monitored = self._monitored(row)
            self._step_scheduler(monitored)
            row["seconds"] = time.perf_counter() - t0
            self.history.rows.append(row)
            improved = self._improved(monitored)
            if improved:
                self.best, self.best_epoch, self.bad_epochs = monitored, epoch + 1, 0
            else:
                self.bad_epochs += 1
            self._checkpoint(best=improved)
            if self.metrics_csv is not None:
                self.history.append_csv(self.metrics_csv)
            self.log(_describe(row, list(self.metrics)))
            if self.early_stopping is not None and self.bad_epochs >= self.early_stopping:
                self.stopped_early = True
                self.log(f"early stopping: no improvement of {self.monitor} for "
                         f"{self.bad_epochs} epochs (best {self.best:.4f} at epoch "
                         f"{self.best_epoch})")
                break
        if self.restore_best and self.best_epoch is not None:
            best = load(self.checkpoint_dir / BEST)
            if best.get("epoch") != self.best_epoch:     # cannot happen after _checkpoint
                raise RuntimeError(f"Trainer: {self.checkpoint_dir / BEST} holds epoch "
                                   f"{best.get('epoch')}, not the best epoch {self.best_epoch}")
            self.model.load_state_dict(best["model"])
        return self.history

    def _monitored(self, row: dict) -> float:
        key = self.monitor
        if key not in row and key.startswith("val_"):
            key = "train_" + key[4:]          # no validation loader: watch the training metric
        if key not in row:
            raise KeyError(f"Trainer: monitor {self.monitor!r} is not one of {sorted(row)}")
        return float(row[key])

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self.mode == "max" else value < self.best

    def _step_scheduler(self, monitored: float) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, ReduceLROnPlateau):
            self.scheduler.step(monitored)
        else:
            self.scheduler.step()

    # ---- checkpoints ------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """Everything needed to continue training exactly where it stopped."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "optimizer_type": type(self.optimizer).__name__,
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else None,
            "scheduler_type": type(self.scheduler).__name__ if self.scheduler is not None
            else None,
            "rng": _random.default_generator().bit_generator.state,
            "history": self.history.rows,
            "best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "epoch": len(self.history),
            "extra": self.extra_state,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore a ``state_dict()``, all or nothing: the optimiser and scheduler types, the
        history and the random state are checked first, then the model is loaded (it checks
        itself), then the optimiser (it checks itself too); if the optimiser refuses, the model
        gets its weights back. ValueError says what does not fit."""
        self._check_state(state)
        before = {k: v._data.copy() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict(state["model"])
        try:
            self.optimizer.load_state_dict(state["optimizer"])
        except Exception:
            self.model.load_state_dict(before)
            raise
        # checked above, so these cannot fail
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        _random.default_generator().bit_generator.state = state["rng"]
        self.history = History([dict(row) for row in state["history"]])
        self.best, self.best_epoch = state["best"], state["best_epoch"]
        self.bad_epochs = state["bad_epochs"]

    def _check_state(self, state) -> None:
        """ValueError unless ``state`` is a Trainer checkpoint that this Trainer's optimiser,
        scheduler and random generator can take (the model and the optimiser's own arrays are
        checked by their load_state_dict)."""
        need = ("model", "optimizer", "scheduler", "rng", "history", "best", "best_epoch",
                "bad_epochs", "epoch")
        if not isinstance(state, dict) or any(k not in state for k in need):
            have = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"Trainer: not a Trainer checkpoint: expected the keys {list(need)}, "
                             f"got {have}")
        own = type(self.optimizer).__name__
        saved = state.get("optimizer_type")
        groups = state["optimizer"].get("param_groups") if isinstance(state["optimizer"],
                                                                      dict) else None
        own_keys = set(self.optimizer.param_groups[0]) - {"params"}
        if saved is None and groups:          # a checkpoint from before the type was saved
            saved_keys = set(groups[0]) - {"params"}
            saved = own if saved_keys == own_keys else f"another optimiser (options " \
                f"{sorted(saved_keys)}, where {own} has {sorted(own_keys)})"
        if saved != own:
            raise ValueError(f"Trainer: the checkpoint was trained with {saved}, this Trainer "
                             f"has {own}; resume with the optimiser the run used")
        sched = self.scheduler
        saved_sched = state["scheduler"]
        if (sched is None) != (saved_sched is None):
            raise ValueError("Trainer: the checkpoint has " + (
                f"no scheduler, this Trainer has {type(sched).__name__}" if sched is not None
                else f"a {state.get('scheduler_type') or 'scheduler'}, this Trainer has none")
                + "; resume with the run's scheduler")
        if sched is not None:
            own_s = type(sched).__name__
            saved_s = state.get("scheduler_type") or own_s
            if saved_s != own_s or not isinstance(saved_sched, dict) \
                    or set(saved_sched) != set(sched.state_dict()):
                raise ValueError(f"Trainer: the checkpoint's scheduler is a {saved_s} with "
                                 f"settings {sorted(saved_sched) if isinstance(saved_sched, dict) else saved_sched!r}; "
                                 f"this Trainer has a {own_s}; resume with the run's scheduler")
        history = state["history"]
        if not isinstance(history, list) or not all(isinstance(r, dict) for r in history) \
                or len(history) != state["epoch"]:
            raise ValueError(f"Trainer: the checkpoint's history is not one row per finished "
                             f"epoch ({state['epoch']} epochs)")
        try:                                  # on a scratch generator: the real one is unchanged
            type(_random.default_generator().bit_generator)().state = state["rng"]
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"Trainer: the checkpoint's random state does not fit: {err}") \
                from None

    def _checkpoint(self, best: bool) -> None:
        """Write the checkpoint, then (if this epoch is the best) the best weights.

        The checkpoint records ``best_epoch``, and the best file its ``epoch``. An interrupt
        between the two saves leaves a checkpoint whose best epoch is its own epoch, so the
        best weights are the checkpoint's model: ``resume`` writes them out again. Writing the
        best file first would lose the previous best when the checkpoint save is cut off."""
        if self.checkpoint_dir is None or not self.save_checkpoints:
            return
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = self.state_dict()
        save(state, self.checkpoint_dir / CHECKPOINT)
        if best:
            self._save_best(state)

    def _save_best(self, state: dict) -> None:
        save({"model": state["model"], "epoch": state["epoch"], "extra": state["extra"]},
             self.checkpoint_dir / BEST)

    def resume(self) -> int:
        """Load ``checkpoint_dir``'s checkpoint, if there is one (all or nothing, see
        ``load_state_dict``), and mend the best-weights file if an interrupt came between the
        two saves. Returns the number of finished epochs (0 without a checkpoint)."""
        if self.checkpoint_dir is None:
            raise ValueError("Trainer.resume: needs the Trainer's checkpoint_dir")
        path = self.checkpoint_dir / CHECKPOINT
        if not path.exists():
            return 0
        state = load(path)
        try:
            self.load_state_dict(state)
        except ValueError as err:
            raise ValueError(f"cannot resume from {path}: {err}") from None
        best_path = self.checkpoint_dir / BEST
        if self.best_epoch is not None:
            best = load(best_path) if best_path.exists() else {}
            if not isinstance(best, dict) or best.get("epoch") != self.best_epoch:
                if self.best_epoch != state["epoch"]:
                    raise ValueError(f"cannot resume from {path}: its best epoch is "
                                     f"{self.best_epoch}, but {best_path} holds "
                                     f"{'epoch ' + str(best.get('epoch')) if best else 'nothing'}")
                if self.save_checkpoints:     # cut off between the saves: the checkpoint is it
                    self._save_best(state)
        self.log(f"resumed from {path} after epoch {state['epoch']}")
        return int(state["epoch"])


def _check_metrics(metrics) -> dict:
    """``metrics`` as a dict of name -> callable, or a TypeError saying what is wrong."""
    if not isinstance(metrics, dict):
        raise TypeError(f"Trainer: metrics must be a dict of name -> metric(outputs, targets), "
                        f"e.g. {{'accuracy': autograd_cnn.metrics.accuracy}}, got "
                        f"{type(metrics).__name__}")
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name == "loss":
            raise TypeError(f"Trainer: metric names must be non-empty strings other than "
                            f"'loss' (they become history columns), got {name!r}")
        if not callable(fn):
            raise TypeError(f"Trainer: metric {name!r} must be callable as "
                            f"metric(outputs, targets), got {fn!r}")
    return dict(metrics)


class _Sums:
    """Per-sample sums over one pass: the loss, the samples seen, and each metric.

    A metric gives the mean over its batch, so it counts once per sample of that batch: the
    epoch's value is the mean over all samples, however unequal the batches (the last one is
    often short). ``totals`` is one float64 array [loss, seen, metric...], the form
    ``reduce_metrics`` sums over ranks."""

    def __init__(self, metrics: dict):
        self.metrics = metrics
        self.totals = np.zeros(2 + len(metrics), dtype=np.float64)

    @property
    def seen(self) -> float:
        return self.totals[1]

    def add(self, loss: float, out, y) -> None:
        n = len(y)
        self.totals[0] += loss * n
        self.totals[1] += n
        for i, (name, fn) in enumerate(self.metrics.items(), start=2):
            self.totals[i] += _metric_value(name, fn, out, y) * n

    def means(self) -> dict:
        seen = self.totals[1]
        values = [float(v / seen) for v in self.totals[2:]]
        return {"loss": float(self.totals[0] / seen), **dict(zip(self.metrics, values))}

    def postfix(self) -> dict:
        means = self.means()
        return {"loss": f"{means.pop('loss'):.4f}",
                **{_short(k): f"{v:.3f}" for k, v in means.items()}}


def _metric_value(name: str, fn, out, y) -> float:
    value = fn(out, y)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"Trainer: metric {name!r} must return a number (the batch mean), "
                        f"got {type(value).__name__}") from None


def _short(name: str) -> str:
    return "acc" if name == "accuracy" else name


def _describe(row: dict, metrics: list) -> str:
    def part(prefix):
        return [f"{_short(m)} {row[f'{prefix}_{m}']:.4f}" for m in metrics]

    parts = [f"epoch {row['epoch']:3d}", f"train loss {row['train_loss']:.4f}", *part("train")]
    if "val_loss" in row:
        parts += [f"val loss {row['val_loss']:.4f}", *part("val")]
    parts += [f"lr {row['lr']:.3g}", f"{row['seconds']:.2f}s"]
    return "  ".join(parts)


def fit(model, optimizer, loss_fn, train_loader, val_loader=None, epochs: int = 10,
        **trainer_kwargs) -> History:
    """``Trainer(model, optimizer, loss_fn, **trainer_kwargs).fit(train_loader, val_loader,
    epochs)`` in one call."""
    return Trainer(model, optimizer, loss_fn, **trainer_kwargs).fit(train_loader, val_loader,
                                                                     epochs)
