"""The data pipeline of the main job (issue 16 item 3): what augmentation costs per batch, image
by image against batched, and what it costs the main job (`autograd-cnn train`) against its
training compute; then the main job against the same training in PyTorch
(benchmarks/torch_main_job.py).

    python benchmarks/run.py bench_pipeline        # writes its section of RESULTS.md
    python benchmarks/bench_pipeline.py            # prints it

The main-job runs are subprocesses (a fresh process each, as `make demo`), the variants
interleaved round by round; the figures are medians of summary.json's train_seconds (every
epoch's training + validation time, as `make demo` reports it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from timing import interleaved

import autograd_cnn.data as D
from autograd_cnn.data import transforms as T

HERE = Path(__file__).resolve().parent
# PyTorch runs in this interpreter when `make bench` installed it here (benchmarks/requirements.txt).
TORCH_PYTHON = sys.executable if importlib.util.find_spec("torch") else None
AFFINE = dict(degrees=8, translate=(0.08, 0.08), scale=(0.92, 1.08), shear=6)   # cli's

# Code run before cli.main in the main-job subprocesses: the variants of the pipeline.
PATCHES = {
    "no augmentation": ("", ["--no-augment"]),
    "batched (now)": ("", []),
    # what the main job did before: RandomAffine image by image through transform=
    "image by image (before)": ("""
import autograd_cnn.data as D
from autograd_cnn.data import transforms as T
class Before(D.DataLoader):
    def __init__(self, *a, batch_transform=None, **k):
        if batch_transform is not None:
            k["transform"] = T.RandomAffine(degrees=8, translate=(0.08, 0.08),
                                            scale=(0.92, 1.08), shear=6)
        super().__init__(*a, **k)
D.DataLoader = Before
""", []),
    # the batched path with the next batch assembled in a background thread (overlap)
    "batched + prefetch thread": ("""
import queue, threading
import autograd_cnn.data as D
class Prefetch(D.DataLoader):
    def __iter__(self):
        q, end, it = queue.Queue(maxsize=1), object(), super().__iter__()
        def run():
            for b in it:
                q.put(b)
            q.put(end)
        threading.Thread(target=run, daemon=True).start()
        while (b := q.get()) is not end:
            yield b
D.DataLoader = Prefetch
""", []),
}


def _load() -> str:
    return "load average " + " / ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1/5/15 min)"


def per_batch_section() -> list[str]:
    """Augmentation of one of the main job's batches (32 x 1x32x32), per image and batched."""
    train = D.digits(image_size=32, split="train")
    x = train.get_batch(np.arange(32))[0]
    rng = np.random.default_rng(0)
    pairs = [("RandomAffine (the main job's)", T.RandomAffine(**AFFINE)),
             ("RandomHorizontalFlip", T.RandomHorizontalFlip()),
             ("RandomCrop(32, padding=2)", T.RandomCrop(32, padding=2)),
             ("ColorJitter(0.3, 0.3)", T.ColorJitter(brightness=0.3, contrast=0.3)),
             ("GaussianNoise(0.05)", T.GaussianNoise(0.05))]
    lines = ["| transform | image by image ms | batched ms | speed-up |", "|---|---|---|---|"]
    for name, t in pairs:
        b = t.batched()
        (per, _), (bat, _) = interleaved([lambda: np.stack([t(im, rng=rng) for im in x]),
                                          lambda: b(x, rng=rng)], repeats=9)
        lines.append(f"| {name} | {per * 1e3:.3f} | {bat * 1e3:.3f} | {per / bat:.0f}x |")
    return lines


def _run_train(out: Path, patch: str, extra: list, epochs: int) -> dict:
    code = patch + ("\nimport sys\nfrom autograd_cnn.cli import main\n"
                    f"sys.exit(main({['train', '--epochs', str(epochs), '--quiet', '--no-progress', '--overwrite', '--out', str(out)] + extra!r}))\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return json.loads((out / "summary.json").read_text())


def _run_torch(data: Path, epochs: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE",
                                                            "OPENBLAS_L2_SIZE")}
    res = subprocess.run([TORCH_PYTHON, str(HERE / "torch_main_job.py"), "--data", str(data),
                          "--epochs", str(epochs)], check=True, capture_output=True, text=True,
                         env=env)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main_job_section(tmp: Path, epochs: int = 5, rounds: int = 3) -> list[str]:
    runs = {name: [] for name in PATCHES}
    for r in range(rounds):
        for name, (patch, extra) in PATCHES.items():
            runs[name].append(_run_train(tmp / f"run{r}", patch, extra, epochs))
    med = {name: statistics.median(s["train_seconds"] for s in rs) for name, rs in runs.items()}
    base = med["no augmentation"]
    lines = [f"`autograd-cnn train --epochs {epochs}` (LeNet-5, digits, batch 32, {epochs * 40} "
             f"steps), medians of {rounds} interleaved runs of train_seconds:", "",
             "| pipeline | train_seconds | augmentation's share (vs no augmentation) | "
             "test accuracy |", "|---|---|---|---|"]
    for name, rs in runs.items():
        extra = med[name] - base
        share = "" if name == "no augmentation" else \
            f"{extra:+.2f} s = {100 * extra / base:+.1f}% of the training time"
        acc = statistics.median(s["test_accuracy"] for s in rs)
        lines.append(f"| {name} | {med[name]:.2f} | {share} | {acc:.4f} |")
    return lines


def torch_section(tmp: Path, epochs: int = 30, rounds: int = 5) -> list[str]:
    if TORCH_PYTHON is None:
        return [f"(PyTorch is not installed in {sys.executable}: no comparison; "
                "`make bench` installs it)"]
    data = tmp / "digits.npz"
    subprocess.run([sys.executable, str(HERE / "torch_main_job.py"), "--export", str(data)],
                   check=True)
    # ours as `make demo` runs it (captured steps, the command line's default) and eager
    variants = {"autograd_cnn (`make demo`: captured steps)": [],
                "autograd_cnn, `--no-capture` (every op eager)": []}
    theirs = []
    for r in range(rounds):
        for (name, runs), extra in zip(variants.items(), ([], ["--no-capture"])):
            runs.append(_run_train(tmp / f"demo{r}", "", extra, epochs))
        theirs.append(_run_torch(data, epochs))

    def accs(runs):
        return ", ".join(f"{s['test_accuracy']:.4f}" for s in runs)

    t = statistics.median(s["train_seconds"] for s in theirs)
    lines = [f"The main job in full (`make demo`'s training, {epochs} epochs, augmentation on) "
             f"against `benchmarks/torch_main_job.py` (PyTorch, {theirs[0]['threads']} threads, "
             "F.affine_grid + F.grid_sample on the batch; its warp differs from ours by "
             f"{theirs[0]['warp_max_diff_vs_ours']:.1e} at most), medians of {rounds} "
             "interleaved rounds (each round runs the three back to back); ratio = ours / "
             "PyTorch, of the medians and per round:", "",
             "| | train_seconds | ratio of the medians | per-round ratio: median (range) | "
             "test accuracy |", "|---|---|---|---|---|"]
    for name, runs in variants.items():
        o = statistics.median(s["train_seconds"] for s in runs)
        pairs = [a["train_seconds"] / b["train_seconds"] for a, b in zip(runs, theirs)]
        lines.append(f"| {name} | {o:.2f} | {o / t:.2f}x | {statistics.median(pairs):.2f}x "
                     f"({min(pairs):.2f}-{max(pairs):.2f}x) | {accs(runs)} |")
    lines.append(f"| PyTorch | {t:.2f} (augmentation "
                 f"{statistics.median(s['augment_seconds'] for s in theirs):.2f}) | | | "
                 f"{accs(theirs)} |")
    return lines


def main() -> str:
    lines = ["## Data pipeline (`benchmarks/bench_pipeline.py`)", "", f"Load at the start: {_load()}.",
             "", "One batch of the main job (32 digits, 1x32x32, float32), one thread, medians:",
             ""]
    lines += per_batch_section()
    with tempfile.TemporaryDirectory() as tmp:
        lines += [""] + main_job_section(Path(tmp))
        lines += [""] + torch_section(Path(tmp))
    lines += ["", f"Load at the end: {_load()}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(main())
