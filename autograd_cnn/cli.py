"""The command line: ``python -m autograd_cnn COMMAND`` (also installed as ``autograd-cnn``).

    train     train a model on a dataset and write a run folder (the main job; `make demo`)
    evaluate  a saved model on a dataset split: loss, accuracy, per-class report
    predict   classify image files with a saved model
    graph     render the lecture notes' computational graph f = (x + y) z

A bare ``python -m autograd_cnn train`` trains LeNet-5 on the handwritten digits bundled with
scikit-learn and writes runs/lenet5-digits/:

    config.json         the arguments and what they resolved to
    metrics.csv         one row per epoch (loss, accuracy, learning rate, seconds)
    summary.json        test_accuracy, test_loss, epochs, seconds (this command's wall time),
                        train_seconds (all epochs, across resumes), per-class scores, ...
    model.safetensors   the trained weights with their config (for evaluate / predict)
    checkpoint.safetensors, best.safetensors   last epoch (for --resume) and best validation
    curves.png, confusion_matrix.png, filters.png, feature_maps.png, misclassified.png

``mpiexec -n K autograd-cnn train ...`` trains data-parallel on K MPI ranks (autograd_cnn.
distributed; needs the [distributed] extra): --batch-size is per rank, rank 0 alone prints and
writes the run folder, the training metrics are summed over the ranks.

Errors in what was asked (unknown model or dataset, bad numbers, missing or broken data files,
an unreadable checkpoint or image, a checkpoint of another architecture) are one line on stderr
and exit status 2. Anything else is a bug and keeps its traceback (exit status 1).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

__all__ = ["main", "MODELS", "DATASETS"]


class UsageError(Exception):
    """A problem with what the user asked for: reported as one line, exit status 2."""


# ---- registries ---------------------------------------------------------------------------------


def _lenet5(num_classes, in_channels):
    from .models import lenet5
    return lenet5(num_classes=num_classes, in_channels=in_channels)


def _lenet5_modern(num_classes, in_channels):
    from .models import lenet5
    return lenet5(num_classes=num_classes, in_channels=in_channels, modern=True)


def _lenet5_1998(num_classes, in_channels):
    from .models import lenet5_1998
    if in_channels != 1 or num_classes != 10:
        raise UsageError(f"lenet5-1998 is the published net, for 1-channel images of 10 "
                         f"classes; the data has {in_channels} channel(s) and {num_classes} "
                         "classes")
    return lenet5_1998()


def _resnet20(num_classes, in_channels):
    from .models import resnet20
    return resnet20(num_classes=num_classes, in_channels=in_channels)


class ModelSpec(NamedTuple):
    """What the command line knows about a model."""
    build: Callable              # (num_classes, in_channels) -> Module
    image_size: int              # the input height and width it was designed for
    channels: int | None         # the input channels it needs (None: what the data has)
    lr: float                    # default SGD learning rate (momentum 0.9, batch 32, cosine)


# Default learning rates, measured with `train --epochs 30` (seed 0, SGD momentum 0.9, cosine)
# on the bundled digits, test accuracy: lenet5 0.05 -> 0.9925; lenet5-modern 0.05 -> 0.9925;
# resnet20 0.05 -> 0.996 (10 epochs). LeNet-5-1998 scores with negated RBF distances (about -84
# at initialisation), so its softmax saturates: at 0.05 and 0.01 it stays at chance (val 0.10);
# 0.003 / 0.005 / 0.007 -> 0.974 / 0.985 / 0.981 (0.005 over seeds 0-3: 0.966-0.985).
# Adam at 1e-3: lenet5 0.989, lenet5-1998 0.974.
MODELS = {
    "lenet5": ModelSpec(_lenet5, 32, None, 0.05),
    "lenet5-modern": ModelSpec(_lenet5_modern, 32, None, 0.05),
    "lenet5-1998": ModelSpec(_lenet5_1998, 32, 1, 0.005),
    "resnet20": ModelSpec(_resnet20, 32, None, 0.05),
}
ADAPTIVE_LR = 1e-3              # default for adam, adamw and rmsprop (as in PyTorch's Adam)


def default_lr(model: str, optimizer: str) -> float:
    """The learning rate `train` uses when --lr is not given."""
    return MODELS[model].lr if optimizer == "sgd" else ADAPTIVE_LR


DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "folder")


def _splits(name: str, data_dir, image_size: int, seed: int, channels=None):
    """(train, val, test, classes) datasets resized/padded to ``image_size``; an image folder is
    also brought to ``channels`` (1: grey, 3: RGB, None: grey if every image is)."""
    from . import data as D

    if name == "digits":
        sets = [D.digits(image_size=image_size, split=s) for s in ("train", "val", "test")]
        return (*sets, [str(i) for i in range(10)])
    if data_dir is None:
        raise UsageError(f"--data {name} needs --data-dir (the folder holding its files)")
    root = Path(data_dir)
    if not root.is_dir():
        raise UsageError(f"--data-dir {root} is not a folder")
    # The loaders check their files and raise ValueError (wrong, truncated or foreign file) or
    # FileNotFoundError/OSError (missing or unreadable) with a message naming the file: that is
    # a problem with what the user gave, reported as one line.
    try:
        if name in ("mnist", "fashion-mnist"):
            cls = D.MNIST if name == "mnist" else D.FashionMNIST
            fit = _fit_transform(28, image_size)
            full, test = cls(root, train=True, transform=fit), cls(root, train=False,
                                                                   transform=fit)
        elif name == "cifar10":
            fit = _fit_transform(32, image_size)
            full, test = D.CIFAR10(root, train=True, transform=fit), D.CIFAR10(root, train=False,
                                                                                  transform=fit)
        else:
            mode = {None: None, 1: "L", 3: "RGB"}[channels]
            # resized (and converted to the model's channels) as decoded: any image size works
            full = D.ImageFolder(root, size=image_size, mode=mode).to_array_dataset()
    except (ValueError, OSError, ModuleNotFoundError) as err:
        raise UsageError(f"--data {name} --data-dir {root}: {_one_line(err)}") from None
    if name == "folder":
        n = len(full)
        if n < 3:
            raise UsageError(f"--data folder --data-dir {root}: {n} image(s); a run needs at "
                             "least 3 (train, validation and test)")
        n_test = max(1, int(round(0.15 * n)))
        full, test = D.random_split(full, [n - n_test, n_test], seed=seed)
    n_val = max(1, int(round(0.1 * len(full))))
    train, val = D.random_split(full, [len(full) - n_val, n_val], seed=seed)
    classes = getattr(test, "classes", None) or getattr(full, "classes", None)
    n_classes = int(max(np.max(_targets(s)) for s in (train, val, test))) + 1
    return train, val, test, list(classes) if classes else [str(i) for i in range(n_classes)]


def _targets(dataset) -> np.ndarray:
    if hasattr(dataset, "get_batch"):
        return np.asarray(dataset.get_batch(np.arange(len(dataset)))[1])
    return np.array([int(dataset[i][1]) for i in range(len(dataset))])


def _fit_transform(native: int, size: int):
    from .data import transforms as T
    if size == native:
        return None
    if size == native + 4:
        return T.Pad(2)                      # MNIST 28 -> 32 for LeNet-5, as LeCun framed it
    return T.Resize(size)


# ---- train -------------------------------------------------------------------------------------


def _make_optimizer(args, params, lr: float):
    from . import optim
    name = args.optimizer
    try:                                     # the optimisers check their hyperparameters
        if name == "sgd":
            return optim.SGD(params, lr=lr, momentum=args.momentum,
                             weight_decay=args.weight_decay, nesterov=args.momentum > 0)
        if name == "adam":
            return optim.Adam(params, lr=lr, weight_decay=args.weight_decay)
        if name == "adamw":
            return optim.AdamW(params, lr=lr, weight_decay=args.weight_decay or 0.01)
        if name == "rmsprop":
            return optim.RMSprop(params, lr=lr, weight_decay=args.weight_decay)
    except ValueError as err:
        raise UsageError(f"--optimizer {name}: {_one_line(err)}") from None
    raise UsageError(f"unknown optimizer {name!r}; choose one of sgd, adam, adamw, rmsprop")


def _make_scheduler(args, optimizer):
    from .optim import lr_scheduler
    if args.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    if args.scheduler == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, args.epochs // 3), gamma=0.1)
    if args.scheduler == "none":
        return None
    raise UsageError(f"unknown scheduler {args.scheduler!r}; choose cosine, step or none")


def _worker_options(args) -> dict:
    """DataLoader options for --workers (the batches are the same with or without workers).
    Off by default: on the digits job (LeNet-5, batch 32, 2 cores) a worker process did not
    make an epoch measurably faster (fastest epochs 0.45 s in-process, 0.55 s with one worker,
    0.51 s with two): the model's kernels already use both cores."""
    if not args.workers:
        return {}
    return {"num_workers": args.workers, "persistent_workers": True}


def _augmentation(args):
    from .data import transforms as T
    if not args.augment:
        return None
    # small geometric jitter: digits stay digits (no flips: a mirrored 2 is not a 2)
    return T.RandomAffine(degrees=8, translate=(0.08, 0.08), scale=(0.92, 1.08), shear=6)


def _check_model_name(name: str) -> None:
    if name not in MODELS:
        raise UsageError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")


def _build_model(name: str, num_classes: int, in_channels: int):
    _check_model_name(name)
    return MODELS[name].build(num_classes, in_channels)


def _check_data_name(name: str) -> None:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")


def _check_train_numbers(args) -> None:
    for flag, value, ok, want in (
            ("--epochs", args.epochs, args.epochs >= 1, "at least 1"),
            ("--batch-size", args.batch_size, args.batch_size >= 1, "at least 1"),
            ("--lr", args.lr, args.lr is None or args.lr > 0, "positive"),
            ("--momentum", args.momentum, 0 <= args.momentum < 1, "in [0, 1)"),
            ("--weight-decay", args.weight_decay, args.weight_decay >= 0, "non-negative"),
            ("--patience", args.patience, args.patience is None or args.patience >= 1,
             "at least 1"),
            ("--seed", args.seed, args.seed >= 0, "non-negative"),
            ("--workers", args.workers, args.workers >= 0, "non-negative")):
        if not ok:
            raise UsageError(f"{flag} must be {want}, got {value}")


def _channels(dataset) -> int:
    return int(dataset[0][0].shape[0])


# what a checkpoint must agree on with the run asked for: its weights, optimiser and scheduler
# state only fit the same architecture, input, classes, optimiser and scheduler, and continuing
# it on other data is not resuming the run
_RESUME_KEYS = ("model", "data", "image_size", "in_channels", "classes", "optimizer", "scheduler")


# Settings a resume may change, with what that means: the optimiser state carries its
# hyperparameters (load_state_dict replaces them, as in PyTorch), the scheduler keeps the
# schedule set when the run started, and a new batch size or seed changes the data order
_ON_RESUME = {
    "lr": "the checkpoint's optimiser state keeps the run's",
    "momentum": "the checkpoint's optimiser state keeps the run's",
    "weight_decay": "the checkpoint's optimiser state keeps the run's",
    "epochs": "training continues to the new total, on the schedule set at the start, which "
              "was for",
    "batch_size": "used from now on (so no longer the same run as an uninterrupted one), "
                  "instead of the run's",
    "seed": "used from now on for shuffling and augmentation, instead of the run's",
    "world_size": "each rank gets a new shard and the effective batch size changes; the run "
                  "had ranks:",
}


def _distributed(args):
    """(distributed module, rank, world size) when this is an MPI job (--distributed, or a
    launcher's environment saying more than one rank), else None. Imports mpi4py only then."""
    from .distributed._mpi import INSTALL_HINT, MPINotInstalledError, launched_world_size
    asked = launched_world_size()
    if not args.distributed and asked <= 1:
        return None
    try:
        from . import distributed as dist
        rank, size = dist.init()
    except MPINotInstalledError as err:
        ranks = f"{asked} ranks" if asked > 1 else "--distributed"
        raise UsageError(f"{ranks} asked for, but mpi4py is not installed (distributed "
                         f"training runs on MPI): {INSTALL_HINT}  ({_one_line(err)})") from None
    return dist, rank, size


def _check_resumable(path: Path, config: dict, model, optimizer) -> None:
    """One-line error unless the checkpoint at ``path`` (if any) continues the run ``config``
    describes; the model and optimiser are loaded from it as a test (``fit`` loads it again).
    A setting that the checkpoint fixes but the command line changed gets a note on stderr."""
    from .serialization import load
    if not path.exists():
        return                               # nothing to resume: a fresh run, as in Trainer.fit
    try:
        state = load(path)
    except (ValueError, OSError) as err:
        raise UsageError(f"cannot read checkpoint {path}: {_one_line(err)}") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict) \
            or "optimizer" not in state:
        raise UsageError(f"{path} is not a training checkpoint (written by `train` or Trainer); "
                         "move it away or use another --out")
    extra = state.get("extra")
    saved = extra.get("config") if isinstance(extra, dict) else None
    saved = saved if isinstance(saved, dict) else {}     # a Trainer run of our own has none
    differ = [k for k in _RESUME_KEYS if k in saved and saved[k] != config[k]]
    if differ:
        what = ", ".join(f"{k} {_short(saved[k])} (asked: {_short(config[k])})" for k in differ)
        fix = " ".join(f"--{k} {saved[k]}" for k in ("model", "data", "optimizer", "scheduler")
                       if k in differ)
        raise UsageError(f"cannot resume {path}: it was trained with {what}; resume with the "
                         f"run's settings{' (' + fix + ')' if fix else ''} or start a new run "
                         "with another --out")
    for k, meaning in _ON_RESUME.items():
        if k in saved and saved[k] != config[k]:
            print(f"note: resuming with --{k.replace('_', '-')} {config[k]}: {meaning} "
                  f"{saved[k]}", file=sys.stderr)
    _load_weights(model, state["model"], f"checkpoint {path}"
                  + (f" (a {saved['model']})" if "model" in saved else ""), config["model"])
    try:
        optimizer.load_state_dict(state["optimizer"])
    except ValueError as err:
        raise UsageError(f"cannot resume {path}: its optimiser state does not fit "
                         f"--optimizer {config['optimizer']}: {_one_line(err)}") from None


def _short(value, width: int = 40) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= width else text[:width - 3] + "..."


def _load_weights(model, state, source: str, name: str) -> None:
    """``model.load_state_dict(state)``, or a one-line error saying why it does not fit."""
    from .nn.module import StateDictError
    try:
        model.load_state_dict(state)
    except (StateDictError, TypeError) as err:
        why = _mismatch(model, state) or _short(_one_line(err), 160)
        raise UsageError(f"{source} does not fit model {name!r}: {why}") from None


def _mismatch(model, state) -> str:
    """Why ``state`` does not fit ``model``, in one short line: how many keys are missing,
    unexpected or of another shape, with the first few of each."""
    if not isinstance(state, dict):
        return f"the weights are a {type(state).__name__}, not a dict of arrays"
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    have = {k: tuple(getattr(v, "shape", ())) for k, v in state.items()}
    missing = [k for k in want if k not in have]
    unexpected = [k for k in have if k not in want]
    reshaped = [k for k in want if k in have and have[k] != want[k]]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing key(s) ({_first(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected key(s) ({_first(unexpected)})")
    if reshaped:
        k = reshaped[0]
        parts.append(f"{len(reshaped)} of another shape ({k}: {have[k]} in the file, {want[k]} "
                     "in the model)")
    return "; ".join(parts)


def _first(keys: list, n: int = 3) -> str:
    return ", ".join(keys[:n]) + (", ..." if len(keys) > n else "")


def cmd_train(args) -> int:
    import autograd_cnn as ac
    from . import nn
    from .data import DataLoader
    from .serialization import save
    from .train import CHECKPOINT, Trainer
    from .viz import plots

    _check_data_name(args.data)
    _check_model_name(args.model)
    _check_train_numbers(args)
    out = Path(args.out or f"runs/{args.model}-{args.data}")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; the run folder must be a new folder or an "
                         "earlier run's")
    t_start = time.perf_counter()
    parallel = _distributed(args)
    dist, rank, world = parallel if parallel else (None, 0, 1)
    main_rank = rank == 0                    # rank 0 alone prints and writes the run folder
    log = (lambda msg: None) if args.quiet or not main_rank else print

    ac.manual_seed(args.seed)
    spec = MODELS[args.model]
    lr = args.lr if args.lr is not None else default_lr(args.model, args.optimizer)
    train_set, val_set, test_set, classes = _splits(args.data, args.data_dir, spec.image_size,
                                                    args.seed, spec.channels)
    in_channels = _channels(train_set)
    model = _build_model(args.model, len(classes), in_channels)
    optimizer = _make_optimizer(args, model.parameters(), lr)
    scheduler = _make_scheduler(args, optimizer)
    config = {
        "model": args.model, "data": args.data, "data_dir": args.data_dir,
        "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
        "lr": lr, "lr_from": "--lr" if args.lr is not None else
        f"default for {args.model} with {args.optimizer}",
        "momentum": args.momentum, "weight_decay": args.weight_decay,
        "scheduler": args.scheduler, "augment": args.augment, "seed": args.seed,
        "world_size": world, "effective_batch_size": args.batch_size * world,
        "patience": args.patience, "image_size": spec.image_size, "in_channels": in_channels,
        "classes": classes, "sizes": {"train": len(train_set), "val": len(val_set),
                                      "test": len(test_set)},
        "parameters": int(sum(p._data.size for p in model.parameters())),
        "versions": {"autograd_cnn": ac.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }
    if args.resume:                          # before anything in the run folder changes
        _check_resumable(out / CHECKPOINT, config, model, optimizer)
    if main_rank:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"cannot create the run folder {out}: {err.strerror or err}") \
                from None
        if not args.resume and (out / CHECKPOINT).exists():
            (out / CHECKPOINT).unlink()      # a fresh run must not continue an old one
        (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    if parallel:
        log(f"data-parallel over {world} MPI ranks: batch {args.batch_size} per rank, "
            f"effective batch size {args.batch_size * world}, learning rate {lr:g}")
    log(f"training {args.model} ({config['parameters']:,} parameters) on {args.data} "
        f"({len(train_set)} train / {len(val_set)} val / {len(test_set)} test), "
        f"{args.optimizer} lr {lr:g} -> {out}")

    net = model                              # the plain model (plots, saved weights)
    if parallel:                             # each rank its shard; gradients averaged
        sampler = dist.DistributedSampler(train_set, shuffle=True, seed=args.seed)
        model = dist.DistributedDataParallel(net)
        order = {"sampler": sampler}
    else:
        order = {"shuffle": True}
    train_loader = DataLoader(train_set, batch_size=args.batch_size, seed=args.seed,
                              transform=_augmentation(args), **order, **_worker_options(args))
    val_loader = DataLoader(val_set, batch_size=256)
    test_loader = DataLoader(test_set, batch_size=256)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), scheduler=scheduler,
                      checkpoint_dir=out, early_stopping=args.patience,
                      restore_best=main_rank, log=log,
                      progress=args.progress if main_rank else False,
                      extra_state={"config": config}, save_checkpoints=main_rank,
                      reduce_metrics=dist.allreduce_array if parallel else None)
    try:
        trainer.fit(train_loader, val_loader, epochs=args.epochs, resume=args.resume)
    except KeyboardInterrupt:
        done = len(trainer.history)
        print(f"interrupted after {done} finished epoch(s); the last good checkpoint is "
              f"{out / CHECKPOINT}: continue with --resume", file=sys.stderr)
        return 130
    finally:
        if main_rank:
            trainer.history.to_csv(out / "metrics.csv")

    if not main_rank:                        # rank 0 evaluates and writes the results
        return 0
    model = net
    trainer.model = net
    test = trainer.evaluate(test_loader, num_classes=len(classes))
    scores = test["scores"]
    save({"config": config, "model": model.state_dict()}, out / "model.safetensors")
    seconds = time.perf_counter() - t_start
    best = trainer.best_epoch
    summary = {
        "test_accuracy": test["accuracy"], "test_loss": test["loss"],
        "epochs": len(trainer.history), "seconds": round(seconds, 2),
        # every epoch's training time, the epochs before a --resume included
        "train_seconds": round(sum(row["seconds"] for row in trainer.history.rows), 2),
        "best_epoch": best, "best_val_accuracy": trainer.best if trainer.monitor ==
        "val_accuracy" else None, "stopped_early": trainer.stopped_early,
        "train_accuracy": trainer.history[-1]["train_accuracy"],
        "macro_precision": scores["macro"]["precision"],
        "macro_recall": scores["macro"]["recall"], "macro_f1": scores["macro"]["f1"],
        "per_class_f1": {c: float(f) for c, f in zip(classes, scores["f1"])},
        "confusion_matrix": test["confusion_matrix"].tolist(),
        "weights": "model.safetensors (best validation epoch)",
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    _plots(out, trainer, model, test, test_set, test_loader, classes, plots)
    log(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
        f"({len(trainer.history)} epochs, {seconds:.1f} s)")
    print(f"results in {out}/: summary.json, metrics.csv, config.json, model.safetensors, "
          "curves.png, confusion_matrix.png, filters.png, feature_maps.png, misclassified.png")
    return 0


def _predictions(model, loader) -> np.ndarray:
    from .engine import no_grad
    model.eval()
    with no_grad():
        return np.concatenate([model(x)._data.argmax(axis=1) for x, _ in loader])


def _all_targets(loader) -> np.ndarray:
    return np.concatenate([y._data for _, y in loader])


def _plots(out, trainer, model, test, test_set, test_loader, classes, plots) -> None:
    plots.plot_curves(trainer.history, out / "curves.png")
    plots.plot_confusion_matrix(test["confusion_matrix"], classes, out / "confusion_matrix.png",
                                title="test confusion matrix")
    first_conv = next((m for m in model.modules() if type(m).__name__ == "Conv2d"), None)
    if first_conv is not None:
        plots.plot_filters(first_conv.weight._data, out / "filters.png")
        plots.plot_feature_maps(model, test_set[0][0], out / "feature_maps.png")
    pred = _predictions(model, test_loader)
    target = _all_targets(test_loader)
    wrong = np.flatnonzero(pred != target)[:32]
    if len(wrong):
        images = np.stack([test_set[int(i)][0] for i in wrong])
        titles = [f"{classes[target[i]]}->{classes[pred[i]]}" for i in wrong]
        plots.plot_images(images, titles, out / "misclassified.png",
                          title="misclassified test images (true -> predicted)")


# ---- evaluate and predict ---------------------------------------------------------------------


_SAVED_KEYS = ("model", "data", "classes", "in_channels", "image_size")


def _saved_config(saved):
    """The run config stored with a model file (model.safetensors) or a Trainer checkpoint
    (checkpoint/best.safetensors), or None if ``saved`` is not one of those."""
    if not isinstance(saved, dict) or not isinstance(saved.get("model"), dict):
        return None
    extra = saved.get("extra")
    config = saved.get("config") or (extra.get("config") if isinstance(extra, dict) else None)
    if not isinstance(config, dict) or any(k not in config for k in _SAVED_KEYS):
        return None
    return config


def _load_saved_model(path: str, model_name=None):
    """(model, config) from a model/checkpoint file written by `train`. ``model_name`` (--model)
    must name the checkpoint's own architecture."""
    from .serialization import load
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"checkpoint {p} does not exist")
    try:
        saved = load(p)
    except (ValueError, OSError) as err:
        raise UsageError(f"cannot read checkpoint {p}: {_one_line(err)}") from None
    config = _saved_config(saved)
    if config is None:
        held = type(saved).__name__ if not isinstance(saved, dict) else \
            f"a dict with keys {_short(sorted(map(str, saved)), 60)}"
        raise UsageError(f"{p} is not a model saved by `train`: it holds {held}, not weights with "
                         "their run config (use a run folder's model.safetensors)")
    name = config["model"]
    if name not in MODELS:
        raise UsageError(f"checkpoint {p} holds a {name!r} model, which this version does not "
                         f"know (it knows {', '.join(MODELS)})")
    if model_name is not None and model_name != name:
        _check_model_name(model_name)
        raise UsageError(f"checkpoint {p} holds a {name}, not a {model_name}: leave out --model "
                         "(the checkpoint says which architecture it is) or pick a checkpoint "
                         f"of {model_name}")
    model = _build_model(name, len(config["classes"]), config["in_channels"])
    _load_weights(model, saved["model"], f"checkpoint {p} (a {name})", name)
    model.eval()
    return model, config


def cmd_evaluate(args) -> int:
    from . import nn
    from .data import DataLoader
    from .metrics import classification_report
    from .train import Trainer

    model, config = _load_saved_model(args.checkpoint, args.model)
    data = args.data or config["data"]
    _check_data_name(data)
    train_set, val_set, test_set, classes = _splits(data, args.data_dir or config.get("data_dir"),
                                                    config["image_size"], config.get("seed", 0),
                                                    config["in_channels"])
    if len(classes) != len(config["classes"]):
        raise UsageError(f"--data {data} has {len(classes)} classes; the checkpoint's model "
                         f"tells {len(config['classes'])} apart")
    dataset = {"train": train_set, "val": val_set, "test": test_set}[args.split]
    loader = DataLoader(dataset, batch_size=256)
    result = Trainer(model, None, nn.CrossEntropyLoss()).evaluate(loader, len(classes))
    print(f"{config['model']} on {data} {args.split} ({len(dataset)} images): "
          f"accuracy {result['accuracy']:.4f}  loss {result['loss']:.4f}")
    print(classification_report(_predictions(model, loader), _all_targets(loader),
                                class_names=classes))
    return 0


def _read_image(path: Path, config) -> np.ndarray:
    """An image file as the model's input (C, H, W) float32 in [0, 1], prepared like the
    training data: grey or RGB as the model expects, resized, light-on-dark."""
    from .data import transforms as T
    if not path.is_file():
        raise UsageError(f"image {path} does not exist")
    if path.suffix == ".npy":
        try:                                 # never unpickle: a .npy may come from anywhere
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as err:
            if "pickle" in str(err):         # numpy's advice (allow_pickle=) is not for us
                raise UsageError(f"image {path} holds pickled Python objects, which predict "
                                 "does not load; save a numeric array with numpy.save") from None
            raise UsageError(f"cannot read image {path}: {_one_line(err)}") from None
        if arr.dtype.kind not in "biuf" or arr.ndim not in (2, 3) or arr.size == 0:
            raise UsageError(f"image {path} holds a {arr.dtype} array of shape {arr.shape}; "
                             "expected numbers of shape (H, W) or (C, H, W)")
        arr = arr.astype(np.float32)
        arr = arr[None] if arr.ndim == 2 else arr
        if not np.isfinite(arr).all():
            raise UsageError(f"image {path} holds NaN or infinite values")
        if arr.max() > 1:
            arr = arr / arr.max()
    else:
        try:
            from PIL import Image
        except ImportError:
            raise UsageError("reading images needs Pillow: pip install pillow") from None
        try:
            with Image.open(path) as img:
                img = img.convert("L" if config["in_channels"] == 1 else "RGB")
                arr = np.asarray(img, dtype=np.float32) / 255.0
        except OSError as err:
            raise UsageError(f"cannot read image {path}: {_one_line(err)}") from None
        arr = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    if arr.shape[0] != config["in_channels"]:
        raise UsageError(f"image {path} has {arr.shape[0]} channel(s), the model expects "
                         f"{config['in_channels']}")
    if config["data"] in ("digits", "mnist", "fashion-mnist") and arr.mean() > 0.5:
        arr = 1.0 - arr                      # dark ink on white paper -> the training polarity
    size = config["image_size"]
    if config["data"] == "digits" and arr.shape[1:] != (size, size):
        inner = size - 2 * (size // 16)      # digits are framed like MNIST: resize, then pad
        arr = T.Pad(size // 16)(T.Resize(inner)(arr))
    elif arr.shape[1:] != (size, size):
        arr = T.Resize(size)(arr)
    return arr.astype(np.float32)


def cmd_predict(args) -> int:
    from .engine import no_grad
    from .functional import softmax
    from .tensor import Tensor

    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    model, config = _load_saved_model(args.checkpoint, args.model)
    classes = config["classes"]
    images = np.stack([_read_image(Path(p), config) for p in args.images])
    with no_grad():
        probs = softmax(model(Tensor(images)), dim=1)._data
    k = min(args.top, len(classes))
    for path, p in zip(args.images, probs):
        order = np.argsort(-p)[:k]
        ranked = ", ".join(f"{classes[i]} ({p[i]:.3f})" for i in order)
        print(f"{path}: {classes[order[0]]}   [{ranked}]")
    return 0


# ---- graph -------------------------------------------------------------------------------------


def cmd_graph(args) -> int:
    from .value import Value
    from .viz import DotNotFoundError, draw_graph

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    written = []
    try:
        for stage in ("forward", "backward"):
            if stage == "backward":
                f.backward()
            g = draw_graph(f)
            for fmt in ("svg", "png"):
                written.append(g.render(out / f"graph_{stage}", format=fmt, cleanup=True))
    except DotNotFoundError as err:
        raise UsageError(str(err)) from None
    print(f"f = (x + y) z = {f.data:g};  df/dx = {x.grad:g}, df/dy = {y.grad:g}, "
          f"df/dz = {z.grad:g}")
    for path in written:
        print(f"wrote {path}")
    return 0


# ---- argument parsing --------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message):                # one line, not usage + error
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _one_line(err) -> str:
    return " ".join(str(err).split())


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m autograd_cnn", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a model and write a run folder")
    t.add_argument("--model", default="lenet5", help=f"one of {', '.join(MODELS)}")
    t.add_argument("--data", default="digits", help=f"one of {', '.join(DATASETS)}")
    t.add_argument("--data-dir", default=None, help="folder with the dataset's files")
    t.add_argument("--epochs", type=int, default=30)
    t.add_argument("--batch-size", type=int, default=32)
    t.add_argument("--optimizer", default="sgd", help="sgd, adam, adamw or rmsprop")
    t.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: the model's with sgd: "
                        + ", ".join(f"{m} {spec.lr:g}" for m, spec in MODELS.items())
                        + f"; {ADAPTIVE_LR:g} with adam, adamw, rmsprop)")
    t.add_argument("--momentum", type=float, default=0.9)
    t.add_argument("--weight-decay", type=float, default=5e-4)
    t.add_argument("--scheduler", default="cosine", help="cosine, step or none")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="small random affine warps of the training images")
    t.add_argument("--workers", type=int, default=0,
                   help="DataLoader worker processes for the training batches (default 0: "
                        "in this process); the batches are the same either way")
    t.add_argument("--patience", type=int, default=None,
                   help="stop after this many epochs without a better validation accuracy")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="run folder (default runs/MODEL-DATA)")
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    t.add_argument("--quiet", action="store_true", help="print only the result")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI (implied when started by mpiexec with more "
                        "than one rank; needs autograd_cnn[distributed])")
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="evaluate a saved model")
    e.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    e.add_argument("--split", default="test", choices=("train", "val", "test"))
    e.add_argument("--data", default=None, help="dataset (default: the one it was trained on)")
    e.add_argument("--data-dir", default=None)
    e.add_argument("--model", default=None,
                   help="architecture: must be the checkpoint's (default: from the checkpoint)")
    e.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files")
    p.add_argument("--checkpoint", required=True, help="model.safetensors of a run")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image")
    p.add_argument("--model", default=None,
                   help="architecture: must be the checkpoint's (default: from the checkpoint)")
    p.add_argument("images", nargs="+", help="PNG/JPEG/.npy image files")
    p.set_defaults(func=cmd_predict)

    g = sub.add_parser("graph", help="render the lecture's computational graph")
    g.add_argument("--out", default="out", help="folder for the rendered files (default: out)")
    g.set_defaults(func=cmd_graph)

    c = sub.add_parser("convert", help="a PyTorch .pth checkpoint to .safetensors (no pickle run)")
    c.add_argument("input", help="a torch.save file (zip format, PyTorch >= 1.6)")
    c.add_argument("output", help="the .safetensors file to write")
    c.set_defaults(func=cmd_convert)
    return parser


# ---- convert (issue 15; self-contained) ----------------------------------------------------------


def cmd_convert(args) -> int:
    """Read IN.pth with ac.load_torch (restricted unpickler) and write it with ac.save: a flat
    state dict becomes a plain safetensors file (the safetensors library opens it too)."""
    from .serialization import CheckpointError, save
    from .torch_format import load_torch
    try:
        obj = load_torch(args.input)
        save(obj, args.output)
    except (CheckpointError, OSError, TypeError) as err:
        raise UsageError(_one_line(err)) from None
    n = len(obj) if isinstance(obj, dict) else 1
    print(f"wrote {args.output} ({n} tensors)" if isinstance(obj, dict) and all(
        hasattr(v, "shape") for v in obj.values()) else f"wrote {args.output}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        _abort_mpi_job(2)
        return 2


def _abort_mpi_job(code: int) -> None:
    """In an MPI job of several ranks, end every rank now: a rank that returned alone would
    leave the others waiting in their next collective."""
    mpi = sys.modules.get("autograd_cnn.distributed._mpi")
    if mpi is not None and mpi.get_world_size() > 1:
        sys.stderr.flush()
        mpi.comm_world().Abort(code)
