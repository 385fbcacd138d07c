"""The command line: ``python -m autograd_cnn COMMAND`` (also installed as ``autograd-cnn``).

    train     train a model on a dataset and write a run folder (the main job; `make demo`)
    evaluate  a saved model on a dataset split: loss, accuracy, per-class report
    predict   classify image files with a saved model
    graph     render the lecture notes' computational graph f = (x + y) z

A bare ``python -m autograd_cnn train`` trains LeNet-5 on the handwritten digits bundled with
scikit-learn and writes runs/lenet5-digits/:

    config.json         the arguments and what they resolved to
    metrics.csv         one row per epoch as it ends (loss, accuracy, learning rate, seconds)
    summary.json        test_accuracy, test_loss, epochs, seconds (this command's wall time),
                        train_seconds (all epochs, across resumes), per-class scores,
                        capture (whether the model's steps were captured and replayed:
                        by default where its ops allow, see --capture), ...
    model.safetensors   the trained weights with their config (for evaluate / predict)
    checkpoint.safetensors, best.safetensors   last epoch (for --resume) and best validation
    curves.png, confusion_matrix.png, filters.png, feature_maps.png, misclassified.png

``mpiexec -n K autograd-cnn train ...`` trains data-parallel on K MPI ranks (autograd_cnn.
distributed; needs the [distributed] extra): --batch-size is per rank, rank 0 alone prints and
writes the run folder, the training metrics are summed over the ranks.

A folder that holds another run is never overwritten: ``--resume`` continues it, ``--overwrite``
moves it into FOLDER/previous-<timestamp>/ first.

Errors in what was asked (unknown model or dataset, bad numbers, missing or broken data files,
an unreadable checkpoint or image, a checkpoint of another architecture, a diverging run) are
one line on stderr and exit status 2. Anything else is a bug and keeps its traceback (exit
status 1). A reader that closes the output pipe early (``evaluate ... | head -1``) ends the
command quietly with status 141, as it would end any Unix tool.
"""

from __future__ import annotations

import argparse
import json
import math
import os
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
        if len(full.classes) < 2:
            raise UsageError(f"--data folder --data-dir {root}: one class subfolder "
                             f"({full.classes[0]}); a classifier needs at least 2, one "
                             "subfolder of images per class")
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


def _check_data_dir_used(data: str, data_dir) -> None:
    if data == "digits" and data_dir is not None:
        raise UsageError(f"--data-dir {data_dir} is not used with --data digits (the digits ship "
                         "with scikit-learn); leave it out, or name the dataset it holds with "
                         "--data mnist, fashion-mnist, cifar10 or folder")


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
    return T.Resize((size, size))


# ---- train -------------------------------------------------------------------------------------


def _kernels_cache_cold() -> bool:
    """True when Numba has cached none of the package's kernels yet (a first run compiles them,
    ~20 s). Cheap: looks for the cache index files, compiles nothing."""
    import importlib
    import pkgutil

    from numba.core.dispatcher import Dispatcher

    from . import kernels
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"{kernels.__name__}.{info.name}")
        for obj in vars(module).values():
            cache = getattr(obj, "_cache", None) if isinstance(obj, Dispatcher) else None
            index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
            if index is not None and os.path.exists(index):
                return False
    return True


def _note_cold_kernels() -> None:
    if os.environ.get("NUMBA_DISABLE_JIT", "0") != "1" and _kernels_cache_cold():
        print("compiling kernels (first run only, ~20 s)", file=sys.stderr, flush=True)



WEIGHT_DECAY = 5e-4             # default, but AdamW's own default (as in PyTorch) with adamw
ADAMW_WEIGHT_DECAY = 0.01


def default_weight_decay(optimizer: str) -> float:
    """The weight decay `train` uses when --weight-decay is not given."""
    return ADAMW_WEIGHT_DECAY if optimizer == "adamw" else WEIGHT_DECAY


def _make_optimizer(args, params, lr: float, weight_decay: float):
    from . import optim
    name = args.optimizer
    try:                                     # the optimisers check their hyperparameters
        if name == "sgd":
            return optim.SGD(params, lr=lr, momentum=args.momentum,
                             weight_decay=weight_decay, nesterov=args.momentum > 0)
        if name == "adam":
            return optim.Adam(params, lr=lr, weight_decay=weight_decay)
        if name == "adamw":
            return optim.AdamW(params, lr=lr, weight_decay=weight_decay)
        if name == "rmsprop":
            return optim.RMSprop(params, lr=lr, weight_decay=weight_decay)
    except ValueError as err:
        raise UsageError(f"--optimizer {name}: {_one_line(err)}") from None
    raise UsageError(f"unknown optimizer {name!r}; choose one of sgd, adam, adamw, rmsprop")


def _make_scheduler(args, optimizer):
    from .optim import lr_scheduler
    if args.scheduler == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    if args.scheduler == "step":
        return lr_scheduler.StepLR(optimizer, step_size=_step_size(args.epochs), gamma=0.1)
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


def _step_size(epochs: int) -> int:
    return max(1, epochs // 3)               # three steps of 0.1 over the run


def _stretch_schedule(scheduler, epochs: int) -> None:
    """Fit a resumed run's schedule to a new total of ``epochs``: the rates from the current
    epoch on are those of a run asked for ``epochs`` from the start (the rate of the current
    epoch is set to that closed form, so the scheduler's steps continue on the new curve)."""
    if hasattr(scheduler, "T_max"):
        scheduler.T_max = epochs
    elif hasattr(scheduler, "step_size"):
        scheduler.step_size = _step_size(epochs)
    lrs = scheduler.get_lr()
    for group, lr in zip(scheduler.optimizer.param_groups, lrs):
        group["lr"] = lr
    scheduler._last_lr = list(lrs)


def _augmentation(args):
    """The DataLoader's batch_transform for --augment: one random affine matrix per image,
    the whole batch warped in one kernel call (about 0.5 ms a batch of 32, against 5-7 ms image
    by image). config.json records its repr."""
    from .data import transforms as T
    if not args.augment:
        return None
    # small geometric jitter: digits stay digits (no flips: a mirrored 2 is not a 2)
    return T.RandomAffine(degrees=8, translate=(0.08, 0.08), scale=(0.92, 1.08),
                          shear=6).batched()


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
    finite = math.isfinite
    for flag, value, ok, want in (
            ("--epochs", args.epochs, args.epochs >= 1, "at least 1"),
            ("--batch-size", args.batch_size, args.batch_size >= 1, "at least 1"),
            ("--lr", args.lr, args.lr is None or (finite(args.lr) and args.lr > 0),
             "a positive finite number"),
            ("--momentum", args.momentum, 0 <= args.momentum < 1, "in [0, 1)"),
            ("--weight-decay", args.weight_decay, args.weight_decay is None
             or (finite(args.weight_decay) and args.weight_decay >= 0),
             "a non-negative finite number"),
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
# hyperparameters (load_state_dict replaces them, as in PyTorch; config.json records the run's),
# the schedule is fitted to a new total of epochs, and a new batch size or seed changes the data
# order
_ON_RESUME = {
    "lr": "the checkpoint's optimiser state keeps the run's",
    "momentum": "the checkpoint's optimiser state keeps the run's",
    "weight_decay": "the checkpoint's optimiser state keeps the run's",
    "epochs": "training continues to the new total (the {scheduler} schedule is fitted to it); "
              "the run was for",
    "batch_size": "used from now on (so no longer the same run as an uninterrupted one), "
                  "instead of the run's",
    "seed": "used from now on for shuffling and augmentation, instead of the run's",
    "world_size": "each rank gets a new shard and the effective batch size changes; the run "
                  "had ranks:",
}
_KEPT_ON_RESUME = ("lr", "lr_from", "momentum", "weight_decay")   # the optimiser state's


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


def _check_resumable(path: Path, config: dict, model) -> dict:
    """The run config saved in the checkpoint at ``path`` (``{}`` for a Trainer run of our
    own), or a one-line error unless it continues the run ``config`` describes with ``model``'s
    architecture. Reads only. A setting that the checkpoint fixes but the command line changed
    gets a note on stderr."""
    from .serialization import load
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
            meaning = meaning.format(scheduler=config["scheduler"])
            print(f"note: resuming with --{k.replace('_', '-')} {config[k]}: {meaning} "
                  f"{saved[k]}", file=sys.stderr)
    why = _mismatch(model, state["model"])
    if why:
        source = f"checkpoint {path}" + (f" (a {saved['model']})" if "model" in saved else "")
        raise UsageError(f"{source} does not fit model {config['model']!r}: {why}")
    return saved


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


# What `train` writes into a run folder: a folder holding any of these holds a run.
PLOTS = ("curves.png", "confusion_matrix.png", "filters.png", "feature_maps.png",
         "misclassified.png")
RUN_FILES = ("config.json", "metrics.csv", "summary.json", "model.safetensors",
             "checkpoint.safetensors", "best.safetensors", *PLOTS)


def _check_run_folder(out: Path, args) -> list:
    """The run files already in ``out``, or a one-line error if this command would overwrite
    a run it was not asked to continue (--resume) or to move aside (--overwrite)."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; the run folder must be a new folder or an "
                         "earlier run's")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite moves it aside; "
                         "choose one")
    found = [name for name in RUN_FILES if (out / name).exists()]
    aside = f"--overwrite (moves it into {out}/previous-<timestamp>/)"
    if found and not args.resume and not args.overwrite:
        raise UsageError(f"--out {out} holds another run ({', '.join(found)}); continue it with "
                         f"--resume, or start a new one there with {aside}, or use another --out")
    if args.resume and "checkpoint.safetensors" not in found \
            and any(name != "config.json" for name in found):
        raise UsageError(f"--resume: {out} has no checkpoint.safetensors to continue from but "
                         f"holds a run ({', '.join(found)}); start a new one there with {aside}")
    return found


def _move_aside(out: Path, found: list) -> Path:
    """Move the run files ``found`` in ``out`` into a new ``out/previous-<timestamp>/``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside, n = out / f"previous-{stamp}", 1
    while aside.exists():
        n += 1
        aside = out / f"previous-{stamp}-{n}"
    aside.mkdir()
    for name in found:
        os.replace(out / name, aside / name)
    return aside


class _Run(NamedTuple):
    """Where a ``train`` command runs: its folder, its MPI job (or none) and its log."""
    out: Path
    dist: object                             # the distributed module in an MPI job, else None
    rank: int
    world: int
    found: list | None                       # run files already in ``out`` (rank 0 only)
    log: Callable

    @property
    def main_rank(self) -> bool:             # rank 0 alone prints and writes the run folder
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.dist is not None


def cmd_train(args) -> int:
    t_start = time.perf_counter()
    _check_train_args(args)
    run = _start_run(args)
    sets, classes, in_channels = _build_data(args)
    model, optimizer, scheduler, lr, weight_decay = _build_model_and_optimizer(
        args, len(classes), in_channels)
    config = _run_config(args, run, sets, classes, in_channels, model, lr, weight_decay)
    net = model                              # the plain model (plots, saved weights)
    if run.parallel:                         # the same weights on every rank, gradients averaged
        model = run.dist.DistributedDataParallel(net)
    trainer = _make_trainer(args, run, model, optimizer, scheduler, config)
    _resume(args, run, trainer, scheduler, config)      # before anything in the folder changes
    _prepare_run_folder(args, run, config)
    _log_start(args, run, sets, config)
    loaders = _loaders(args, run, sets)
    interrupted = _train(args, run, trainer, loaders)
    if interrupted is not None:
        return interrupted
    if not run.main_rank:                    # rank 0 evaluates and writes the results
        return 0
    _write_results(run, trainer, net, config, sets, loaders, classes, t_start)
    return 0


def _check_train_args(args) -> None:
    """The names and numbers asked for, before anything is loaded (UsageError if wrong)."""
    _check_data_name(args.data)
    _check_model_name(args.model)
    _check_train_numbers(args)
    _check_data_dir_used(args.data, args.data_dir)


def _start_run(args) -> _Run:
    """The run folder (checked, not yet touched) and the MPI job this command is part of."""
    out = Path(args.out or f"runs/{args.model}-{args.data}")
    parallel = _distributed(args)
    dist, rank, world = parallel if parallel else (None, 0, 1)
    # only rank 0 looks at the folder: it may already be writing there when another rank looks
    found = _check_run_folder(out, args) if rank == 0 else None
    log = (lambda msg: None) if args.quiet or rank != 0 else print
    return _Run(out, dist, rank, world, found, log)


def _build_data(args):
    """((train, val, test) datasets, class names, input channels), after seeding the run."""
    import autograd_cnn as ac
    ac.manual_seed(args.seed)
    spec = MODELS[args.model]
    train_set, val_set, test_set, classes = _splits(args.data, args.data_dir, spec.image_size,
                                                    args.seed, spec.channels)
    return (train_set, val_set, test_set), classes, _channels(train_set)


def _build_model_and_optimizer(args, num_classes: int, in_channels: int):
    """(model, optimizer, scheduler, lr, weight_decay), the rates defaulted per model."""
    lr = args.lr if args.lr is not None else default_lr(args.model, args.optimizer)
    weight_decay = args.weight_decay if args.weight_decay is not None \
        else default_weight_decay(args.optimizer)
    model = _build_model(args.model, num_classes, in_channels)
    optimizer = _make_optimizer(args, model.parameters(), lr, weight_decay)
    scheduler = _make_scheduler(args, optimizer)
    return model, optimizer, scheduler, lr, weight_decay


def _run_config(args, run: _Run, sets, classes, in_channels, model, lr, weight_decay) -> dict:
    """What ``config.json`` and every checkpoint record about the run."""
    import autograd_cnn as ac
    train_set, val_set, test_set = sets
    return {
        "model": args.model, "data": args.data, "data_dir": args.data_dir,
        "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer,
        "lr": lr, "lr_from": "--lr" if args.lr is not None else
        f"default for {args.model} with {args.optimizer}",
        "momentum": args.momentum, "weight_decay": weight_decay,
        "scheduler": args.scheduler, "augment": args.augment, "seed": args.seed,
        "capture": _capture_mode(args, run),
        "augmentation": repr(_augmentation(args)) if args.augment else None,
        "world_size": run.world, "effective_batch_size": args.batch_size * run.world,
        "patience": args.patience, "image_size": MODELS[args.model].image_size,
        "in_channels": in_channels,
        "classes": classes, "sizes": {"train": len(train_set), "val": len(val_set),
                                      "test": len(test_set)},
        "parameters": int(sum(p._data.size for p in model.parameters())),
        "versions": {"autograd_cnn": ac.__version__, "numpy": np.__version__,
                     "python": platform.python_version()},
    }


def _make_trainer(args, run: _Run, model, optimizer, scheduler, config: dict):
    from . import nn
    from .train import Trainer
    main = run.main_rank
    return Trainer(model, optimizer, nn.CrossEntropyLoss(), scheduler=scheduler,
                   checkpoint_dir=run.out, early_stopping=args.patience,
                   restore_best=main, log=run.log,
                   progress=args.progress if main else False,
                   extra_state={"config": config},
                   metrics_csv=run.out / "metrics.csv" if main else None,
                   save_checkpoints=main,
                   reduce_metrics=run.dist.allreduce_array if run.parallel else None,
                   capture=_capture_mode(args, run))


def _capture_mode(args, run: _Run):
    """Trainer's ``capture``: --capture True (warns when a call runs eagerly), --no-capture
    False, neither "auto" (captured where the model's ops allow, silently eager elsewhere).
    Data-parallel runs train eagerly: DistributedDataParallel's forward resets its gradient
    buckets and broadcasts the buffers on every call, which a replay of the model's ops would
    skip."""
    if run.parallel:
        if args.capture:
            raise UsageError("--capture does not work with data-parallel training (the "
                             "DistributedDataParallel wrapper's per-step work would be "
                             "skipped): leave it out")
        return False
    return "auto" if args.capture is None else args.capture


def _capture_record(trainer, mode) -> dict:
    """summary.json's account of the captured steps: the mode, how the model's calls ran
    (captured, replayed, eager) and each signature's plan (``Compiled.explain()``)."""
    from .capture import Compiled
    forward = trainer.forward
    if not isinstance(forward, Compiled):
        return {"mode": mode}
    return {"mode": mode, "calls": dict(forward.stats), "plans": forward.explain()}


def _resume(args, run: _Run, trainer, scheduler, config: dict) -> None:
    """With --resume and a checkpoint: load it (all or nothing) and record the run's own
    hyperparameters in ``config``; a longer --epochs stretches the schedule."""
    from .train import CHECKPOINT
    if not (args.resume and (run.out / CHECKPOINT).exists()):
        return
    saved = _check_resumable(run.out / CHECKPOINT, config, trainer.model)
    try:
        trainer.resume()                     # all or nothing
    except ValueError as err:
        raise UsageError(_one_line(err)) from None
    # the optimiser state carries the run's hyperparameters: record those, not the asked
    config.update({k: saved[k] for k in _KEPT_ON_RESUME if k in saved})
    run_epochs = saved.get("epochs", getattr(scheduler, "T_max", args.epochs))
    if scheduler is not None and run_epochs != args.epochs:
        _stretch_schedule(scheduler, args.epochs)


def _prepare_run_folder(args, run: _Run, config: dict) -> None:
    """Rank 0: move an earlier run aside (--overwrite), create the folder, write config.json."""
    if not run.main_rank:
        return
    out, found = run.out, run.found
    if args.overwrite and found:
        aside = _move_aside(out, found)
        run.log(f"moved the earlier run ({', '.join(found)}) into {aside}/")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create the run folder {out}: {err.strerror or err}") \
            from None
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")


def _log_start(args, run: _Run, sets, config: dict) -> None:
    train_set, val_set, test_set = sets
    if run.parallel:
        run.log(f"data-parallel over {run.world} MPI ranks: batch {args.batch_size} per rank, "
                f"effective batch size {args.batch_size * run.world}, learning rate "
                f"{config['lr']:g}")
    run.log(f"training {args.model} ({config['parameters']:,} parameters) on {args.data} "
            f"({len(train_set)} train / {len(val_set)} val / {len(test_set)} test), "
            f"{args.optimizer} lr {config['lr']:g} -> {run.out}")


def _loaders(args, run: _Run, sets):
    """(train, val, test) loaders: each rank its own training shard, reshuffled every epoch
    from the shared seed."""
    from .data import DataLoader
    train_set, val_set, test_set = sets
    order = {"sampler": run.dist.DistributedSampler(train_set, shuffle=True, seed=args.seed)} \
        if run.parallel else {"shuffle": True}
    train_loader = DataLoader(train_set, batch_size=args.batch_size, seed=args.seed,
                              batch_transform=_augmentation(args), **order,
                              **_worker_options(args))
    return train_loader, DataLoader(val_set, batch_size=256), DataLoader(test_set, batch_size=256)


def _train(args, run: _Run, trainer, loaders):
    """Fit; None when training ended, 130 after Ctrl-C (saying how to continue)."""
    from .train import CHECKPOINT
    if not args.quiet and run.main_rank:
        _note_cold_kernels()
    train_loader, val_loader, _ = loaders
    try:
        # a run that diverges stops at the first non-finite loss with one clear line; numpy's
        # overflow warnings on the way there would only bury it
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            trainer.fit(train_loader, val_loader, epochs=args.epochs)
    except KeyboardInterrupt:
        done = len(trainer.history)
        if (run.out / CHECKPOINT).exists():
            print(f"interrupted after {done} finished epoch(s); the last good checkpoint is "
                  f"{run.out / CHECKPOINT}: continue with --resume", file=sys.stderr)
        else:
            print("interrupted before the first epoch finished, so there is no checkpoint to "
                  "continue from: start again with --overwrite", file=sys.stderr)
        return 130
    except FloatingPointError as err:        # diverged: the numbers asked for do not train
        raise UsageError(_one_line(err)) from None
    return None


def _write_results(run: _Run, trainer, model, config, sets, loaders, classes, t_start) -> None:
    """Rank 0, after training: test the (best) model, write its weights, the plots and
    summary.json, and say where they are."""
    from .serialization import save
    from .viz import plots
    out, log = run.out, run.log
    test_set, test_loader = sets[2], loaders[2]
    trainer.model = model
    test = trainer.evaluate(test_loader, num_classes=len(classes))
    scores = test["scores"]
    save({"config": config, "model": model.state_dict()}, out / "model.safetensors")
    drawn = _plots(out, trainer, model, test, test_set, test_loader, classes, plots)
    seconds = time.perf_counter() - t_start              # this command's wall time
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
        "capture": _capture_record(trainer, config["capture"]),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    log(f"test accuracy {test['accuracy']:.4f}  test loss {test['loss']:.4f}  "
        f"({len(trainer.history)} epochs, {seconds:.1f} s)")
    print(f"results in {out}/: summary.json, metrics.csv, config.json, model.safetensors"
          + ("".join(f", {name}" for name in PLOTS) if drawn else ""))


def _predictions(model, loader) -> np.ndarray:
    from .engine import no_grad
    model.eval()
    with no_grad():
        return np.concatenate([model(x)._data.argmax(axis=1) for x, _ in loader])


def _all_targets(loader) -> np.ndarray:
    return np.concatenate([y._data for _, y in loader])


def _plots(out, trainer, model, test, test_set, test_loader, classes, plots) -> bool:
    """Draw the run's PNGs; without matplotlib (an optional extra) say so and draw none."""
    import importlib.util
    if importlib.util.find_spec("matplotlib") is None:
        print("plots skipped (curves.png, confusion_matrix.png, ...): they need matplotlib, "
              "pip install 'autograd_cnn[plots]'", file=sys.stderr)
        return False
    plots.plot_curves(trainer.history, out / "curves.png")
    plots.plot_confusion_matrix(test["confusion_matrix"], classes, out / "confusion_matrix.png",
                                title="test confusion matrix")
    from .nn import Conv2d
    first_conv = next((m for m in model.modules() if isinstance(m, Conv2d)), None)
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
    return True


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
    if p.is_dir():                           # a run folder: its final weights
        if not (p / "model.safetensors").is_file():
            raise UsageError(f"--checkpoint {p} is a folder without model.safetensors (give "
                             "a run folder written by `train`, or a .safetensors file)")
        p = p / "model.safetensors"
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
    _check_data_dir_used(data, args.data_dir)
    train_set, val_set, test_set, classes = _splits(data, args.data_dir or config.get("data_dir"),
                                                    config["image_size"], config.get("seed", 0),
                                                    config["in_channels"])
    if len(classes) != len(config["classes"]):
        raise UsageError(f"--data {data} has {len(classes)} classes; the checkpoint's model "
                         f"tells {len(config['classes'])} apart")
    dataset = {"train": train_set, "val": val_set, "test": test_set}[args.split]
    loader = DataLoader(dataset, batch_size=256)
    _note_cold_kernels()
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
        from .data.npy import read_npy
        try:                                 # never unpickle, never trust the declared size
            arr = read_npy(path)
        except (ValueError, OSError) as err:
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
        from .data.pil import open_image, pillow
        try:
            pillow()
        except ImportError:
            raise UsageError("reading images needs Pillow: pip install 'autograd_cnn[images]'") \
                from None
        try:
            with open_image(path, "predict") as img:      # refuses decompression bombs
                img = img.convert("L" if config["in_channels"] == 1 else "RGB")
                arr = np.asarray(img, dtype=np.float32) / 255.0
        except (OSError, ValueError) as err:
            raise UsageError(f"cannot read image {path}: {_one_line(err)}") from None
        arr = arr[None] if arr.ndim == 2 else np.transpose(arr, (2, 0, 1))
    if arr.shape[0] != config["in_channels"]:
        raise UsageError(f"image {path} has {arr.shape[0]} channel(s), the model expects "
                         f"{config['in_channels']}")
    if config["data"] in ("digits", "mnist", "fashion-mnist") and arr.mean() > 0.5:
        arr = 1.0 - arr                      # dark ink on white paper -> the training polarity
    size = config["image_size"]
    if config["data"] == "digits":
        arr = _as_digits_image(arr, size)
    elif config["data"] == "mnist":
        arr = _as_mnist_image(arr)
        fit = _fit_transform(28, size)       # as `train` fitted the 28x28 digits to the model
        arr = fit(arr) if fit is not None else arr
    elif arr.shape[1:] != (size, size):
        arr = T.Resize((size, size))(arr)
    return arr.astype(np.float32)


def _crop_to_ink(arr: np.ndarray) -> np.ndarray:
    """(1, H, W) light-on-dark -> the bounding box of its ink, brightest ink scaled to 1.
    Ink: pixels above a quarter of the brightest (scanner noise and paper texture stay out)."""
    if arr.max() <= 0:
        return arr                           # a blank image: nothing to crop to
    ink = arr[0] > 0.25 * arr.max()
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    arr = arr[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    return arr / arr.max()


def _as_mnist_image(arr: np.ndarray) -> np.ndarray:
    """A light-on-dark digit (1, H, W) prepared as MNIST's were: cut to its ink, scaled to fit a
    20x20 box (aspect kept), and placed in a 28x28 field with its centre of mass at the centre.
    -> (1, 28, 28)."""
    from .data import image_ops
    arr = _crop_to_ink(arr)
    h, w = arr.shape[1:]
    scale = 20 / max(h, w)
    hh, ww = max(1, round(h * scale)), max(1, round(w * scale))
    arr = np.clip(image_ops.resize(arr[None], (hh, ww))[0], 0, 1)
    mass = arr[0].sum()
    cy, cx = ((np.arange(hh) @ arr[0].sum(axis=1)) / mass, (np.arange(ww) @ arr[0].sum(axis=0))
              / mass) if mass > 0 else ((hh - 1) / 2, (ww - 1) / 2)
    top = int(np.clip(round(13.5 - cy), 0, 28 - hh))     # the field's centre is (13.5, 13.5)
    left = int(np.clip(round(13.5 - cx), 0, 28 - ww))
    return image_ops.pad(arr[None], (left, top, 28 - ww - left, 28 - hh - top))[0]


def _as_digits_image(arr: np.ndarray, size: int) -> np.ndarray:
    """A light-on-dark digit (1, H, W) prepared as the bundled digits were: the UCI set cut
    each digit to the bounding box of its ink, scaled it into a 32x32 box (aspect kept,
    centred) and counted the ink in 4x4 blocks, giving 8x8 images; ``digits()`` then resizes
    those to size - 2 * (size // 16) and pads them by size // 16. So a digit with wide margins
    or off-centre is classified like the cropped digits the model was trained on.
    (Ink: see ``_crop_to_ink``.)"""
    from .data import image_ops
    arr = _crop_to_ink(arr)                  # the brightest ink is full ink, as in the bitmaps
    h, w = arr.shape[1:]
    side = max(h, w)                         # pad the short side: aspect kept, centred
    top, left = (side - h) // 2, (side - w) // 2
    arr = image_ops.pad(arr[None], (left, top, side - w - left, side - h - top))[0]
    arr = image_ops.resize(arr[None], 32)[0]                      # (1, 32, 32)
    arr = arr.reshape(1, 8, 4, 8, 4).mean(axis=(2, 4))            # (1, 8, 8): ink per block
    pad = size // 16
    arr = image_ops.resize(arr[None], size - 2 * pad)[0]
    return image_ops.pad(arr[None], pad)[0] if pad else arr


def cmd_predict(args) -> int:
    from .engine import no_grad
    from .functional import softmax
    from .tensor import Tensor

    if args.top < 1:
        raise UsageError(f"--top must be at least 1, got {args.top}")
    model, config = _load_saved_model(args.checkpoint, args.model)
    classes = config["classes"]
    k = min(args.top, len(classes))
    _note_cold_kernels()
    failed = 0
    for path in args.images:                 # one at a time: a bad file stops only itself
        try:
            image = _read_image(Path(path), config)
        except UsageError as err:
            print(f"error: {err}", file=sys.stderr)
            failed += 1
            continue
        with no_grad():
            p = softmax(model(Tensor(image[None])), dim=1)._data[0]
        order = np.argsort(-p)[:k]
        ranked = ", ".join(f"{classes[i]} ({p[i]:.3f})" for i in order)
        print(f"{path}: {classes[order[0]]}   [{ranked}]")
    if failed:
        if len(args.images) > 1:
            print(f"error: {failed} of {len(args.images)} images could not be read",
                  file=sys.stderr)
        return 2
    return 0


# ---- graph -------------------------------------------------------------------------------------


def cmd_graph(args) -> int:
    from .value import Value
    from .viz import DotNotFoundError, draw_graph

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file; graph writes graph_forward.svg/.png and "
                         "graph_backward.svg/.png into a folder: give a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create the folder {out}: {err.strerror or err}") from None
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
    def __init__(self, *args, **kwargs):
        if sys.version_info >= (3, 14):
            kwargs.setdefault("color", False)   # plain text, also in a terminal
        super().__init__(*args, **kwargs)

    def error(self, message):                # one line, not usage + error
        print(f"error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """``--help`` as written (no rewrapping of the description) with each option's default,
    ``(default: X)``, unless it has none or its help already says it."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text \
                or action.option_strings == [] or isinstance(action, argparse._VersionAction):
            return text
        default = action.default
        if isinstance(action, argparse.BooleanOptionalAction):
            default = "--" + action.dest.replace("_", "-") if default else \
                "--no-" + action.dest.replace("_", "-")
        return f"{text} (default: {default})"


def _one_line(err) -> str:
    return " ".join(str(err).split())


def build_parser() -> argparse.ArgumentParser:
    from . import __version__
    parser = _Parser(prog="python -m autograd_cnn",
                     description="Train, evaluate and use CNNs built on autograd_cnn\n(the same "
                                 "command is installed as autograd-cnn).",
                     epilog="Each command's options and their defaults: python -m autograd_cnn "
                            "COMMAND --help",
                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"autograd_cnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def command(name, help):
        return sub.add_parser(name, help=help, description=help, formatter_class=_HelpFormatter)

    t = command("train", "train a model and write a run folder")
    t.add_argument("--model", default="lenet5", help=f"one of {', '.join(MODELS)}")
    t.add_argument("--data", default="digits", help=f"one of {', '.join(DATASETS)}")
    t.add_argument("--data-dir", default=None,
                   help="folder with the dataset's files (for every --data but digits)")
    t.add_argument("--epochs", type=int, default=30, help="epochs in total, resumed ones included")
    t.add_argument("--batch-size", type=int, default=32, help="images per optimiser step")
    t.add_argument("--optimizer", default="sgd", help="sgd, adam, adamw or rmsprop")
    t.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: the model's with sgd: "
                        + ", ".join(f"{m} {spec.lr:g}" for m, spec in MODELS.items())
                        + f"; {ADAPTIVE_LR:g} with adam, adamw, rmsprop)")
    t.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (Nesterov)")
    t.add_argument("--weight-decay", type=float, default=None,
                   help=f"L2 penalty (default: {WEIGHT_DECAY:g}; {ADAMW_WEIGHT_DECAY:g} with "
                        "adamw, decoupled)")
    t.add_argument("--scheduler", default="cosine", help="cosine, step or none")
    t.add_argument("--augment", action=argparse.BooleanOptionalAction, default=True,
                   help="small random affine warps of the training images")
    t.add_argument("--workers", type=int, default=0,
                   help="DataLoader worker processes for the training batches (default 0: "
                        "in this process); the batches are the same either way")
    t.add_argument("--patience", type=int, default=None,
                   help="stop after this many epochs without a better validation accuracy")
    t.add_argument("--seed", type=int, default=0, help="for initialisation, shuffling and "
                                                       "augmentation")
    t.add_argument("--out", default=None, help="run folder (default: runs/MODEL-DATA)")
    t.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    t.add_argument("--overwrite", action="store_true",
                   help="start a new run in a folder that holds one, moving the old run into "
                        "OUT/previous-<timestamp>/")
    t.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bars (default: when stderr is a terminal)")
    t.add_argument("--quiet", action="store_true", help="print only the result")
    t.add_argument("--capture", action=argparse.BooleanOptionalAction, default=None,
                   help="replay the model's ops without their Python once a batch shape has "
                        "been seen twice (autograd_cnn.compile; the results are the same). "
                        "Default: where the model's ops allow, silently eager elsewhere; "
                        "--capture warns when a call runs eagerly, --no-capture never "
                        "captures. summary.json's 'capture' says what ran")
    t.add_argument("--distributed", action="store_true",
                   help="data-parallel over MPI (implied when started by mpiexec with more "
                        "than one rank; needs autograd_cnn[distributed])")
    t.set_defaults(func=cmd_train)

    e = command("evaluate", "evaluate a saved model")
    e.add_argument("--checkpoint", required=True,
                   help="a run folder, or its model.safetensors")
    e.add_argument("--split", default="test", choices=("train", "val", "test"),
                   help="which part of the dataset")
    e.add_argument("--data", default=None, help="dataset (default: the one it was trained on)")
    e.add_argument("--data-dir", default=None,
                   help="folder with the dataset's files (default: the run's)")
    e.add_argument("--model", default=None,
                   help="architecture: must be the checkpoint's (default: from the checkpoint)")
    e.set_defaults(func=cmd_evaluate)

    p = command("predict", "classify image files")
    p.add_argument("--checkpoint", required=True,
                   help="a run folder, or its model.safetensors")
    p.add_argument("--top", type=int, default=3, help="how many classes to list per image")
    p.add_argument("--model", default=None,
                   help="architecture: must be the checkpoint's (default: from the checkpoint)")
    p.add_argument("images", nargs="+", help="PNG/JPEG/.npy image files")
    p.set_defaults(func=cmd_predict)

    g = command("graph", "render the lecture's computational graph")
    g.add_argument("--out", default="out", help="folder for the rendered files")
    g.set_defaults(func=cmd_graph)

    c = command("convert", "a PyTorch .pth checkpoint to .safetensors (no pickle run)")
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
    from . import backend
    backend.configure()     # the command line owns its process: apply the tuned settings
    try:
        code = args.func(args)
        sys.stdout.flush()                   # a closed pipe shows here, not at exit
        return code
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        _abort_mpi_job(2)
        return 2
    except BrokenPipeError:
        # the reader went away (`evaluate | head -1`): stop quietly, as Unix tools do; stdout
        # goes to /dev/null so that the interpreter's own flush at exit does not complain
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141                           # 128 + SIGPIPE, what a shell shows for `yes | head`
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _abort_mpi_job(code: int) -> None:
    """In an MPI job of several ranks, end every rank now: a rank that returned alone would
    leave the others waiting in their next collective."""
    mpi = sys.modules.get("autograd_cnn.distributed._mpi")
    if mpi is not None and mpi.get_world_size() > 1:
        sys.stderr.flush()
        mpi.comm_world().Abort(code)
