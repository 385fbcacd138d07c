"""Whole-model training steps against PyTorch: ResNet-18 (batch 8 of 3x224x224) and LeNet-5
(batch 64 of 1x32x32), float32, SGD with momentum.

    python benchmarks/bench_models.py            # prints a Markdown section (run.py collects it)
    python benchmarks/bench_models.py --quick    # fewer rounds
    python benchmarks/bench_models.py --profile resnet18    # where our step's time goes

Time: one step = zero_grad, forward, cross-entropy, backward, optimiser step. Each library
times its steps in a process of its own, after warm-up steps (our kernels load from Numba's disk
cache, PyTorch sets itself up): in one process, the threads one library leaves spinning after a
parallel region (OpenMP, OpenBLAS) slow the other down on 2 cores (PyTorch's LeNet-5 step
measured 13 ms interleaved with ours in one process, 3.5 ms alone). The processes alternate,
ours / PyTorch, three times, so both see the same machine load; the figure is the median of
all their steps. PyTorch uses 2 threads, as we do. torchvision is not installed with torch 2.13
here, so the PyTorch models are written out below, layer for layer; our weights are loaded into
them (ResNet-18's state_dict keys are torchvision's, so they load by name) and the two models'
logits are compared.

Memory, from the same processes (ours never imports PyTorch): the resident memory once model,
batch and optimiser exist, and the peak resident memory (VmHWM) after the steps. The figure is
the difference: activations kept for backward, gradients, momentum buffers, temporaries, and
the one-time costs of the first step (loading our kernels, PyTorch's lazy set-up; about 50 MB
each, which dominates LeNet-5's figures).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import autograd_cnn as ac                       # noqa: E402
import autograd_cnn.nn.functional as F          # noqa: E402
from autograd_cnn import models as M            # noqa: E402

torch = tnn = TF = None                         # imported by load_torch(), when installed

CASES = {
    # name: (batch, input shape per sample, classes, timed rounds, warm-up rounds)
    "resnet18": (8, (3, 224, 224), 1000, 7, 2),
    "lenet5": (64, (1, 32, 32), 10, 60, 5),
}
GOAL = 1.5
# process pairs (ours / PyTorch) per table: LeNet-5's processes take a second each and its step
# time drifted by 20-30% within minutes on this shared machine, so it alternates more often
REPEATS = {"resnet18": 3, "lenet5": 6}
# models whose whole forward + loss has replays (ac.compile): also timed as a captured step
CAPTURED = {"lenet5"}


def load_torch() -> bool:
    """Import PyTorch (a comparison target only) and define the same models with it; False if
    it is not installed. Not imported at module level, so that our memory runs do not carry
    PyTorch's footprint."""
    global torch, tnn, TF, TorchResNet18, torch_lenet5
    if torch is not None:
        return True
    try:
        import torch as _torch
    except ImportError:
        return False
    torch, tnn, TF = _torch, _torch.nn, _torch.nn.functional
    # 2 threads, as ours, unless a child runs with ONE_THREAD's environment
    torch.set_num_threads(1 if os.environ.get("OMP_NUM_THREADS") == "1" else 2)

    class TorchBasicBlock(tnn.Module):
        def __init__(self, cin, planes, stride=1):
            super().__init__()
            self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
            self.bn1 = tnn.BatchNorm2d(planes)
            self.relu = tnn.ReLU(inplace=True)
            self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = tnn.BatchNorm2d(planes)
            self.downsample = None
            if stride != 1 or cin != planes:
                self.downsample = tnn.Sequential(tnn.Conv2d(cin, planes, 1, stride, bias=False),
                                                 tnn.BatchNorm2d(planes))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class _TorchResNet18(tnn.Module):
        """torchvision's resnet18, written out (same module names, so the same keys)."""

        def __init__(self, num_classes=1000):
            super().__init__()
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.bn1 = tnn.BatchNorm2d(64)
            self.relu = tnn.ReLU(inplace=True)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
            layers, cin = [], 64
            for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers.append(tnn.Sequential(TorchBasicBlock(cin, planes, stride),
                                             TorchBasicBlock(planes, planes)))
                cin = planes
            self.layer1, self.layer2, self.layer3, self.layer4 = layers
            self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
            self.fc = tnn.Linear(512, num_classes)

        def forward(self, x):
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    def _torch_lenet5(num_classes=10):
        """The textbook LeNet-5 (tanh, average pooling), as models.lenet5()."""
        return tnn.Sequential(
            tnn.Conv2d(1, 6, 5), tnn.Tanh(), tnn.AvgPool2d(2),
            tnn.Conv2d(6, 16, 5), tnn.Tanh(), tnn.AvgPool2d(2), tnn.Flatten(),
            tnn.Linear(400, 120), tnn.Tanh(), tnn.Linear(120, 84), tnn.Tanh(),
            tnn.Linear(84, num_classes))

    TorchResNet18, torch_lenet5 = _TorchResNet18, _torch_lenet5
    return True


def build(name: str, library: str):
    batch, shape, classes, _, _ = CASES[name]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch,) + shape, dtype=np.float32)
    y = rng.integers(0, classes, batch)
    ac.manual_seed(0)
    ours = M.resnet18(classes) if name == "resnet18" else M.lenet5(classes)
    if library == "ours":
        opt = ac.optim.SGD(ours.parameters(), lr=0.01, momentum=0.9)
        return ours, ac.tensor(x), ac.tensor(y), opt
    model = TorchResNet18(classes) if name == "resnet18" else torch_lenet5(classes)
    theirs = model.state_dict()
    ours_sd = ours.state_dict()
    if name == "lenet5":                # Sequential indices differ: match by order
        ours_sd = dict(zip(theirs, ours_sd.values()))
    model.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in ours_sd.items()})
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return model, torch.from_numpy(x), torch.from_numpy(y), opt


def step_ours(model, x, y, opt):
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()


def captured_step(model):
    """The step with forward + loss captured by ``ac.compile`` (``Trainer(capture=True)``'s
    way): after two eager calls the forward and backward replay their kernels as one node."""
    loss = ac.compile(lambda x, y: F.cross_entropy(model(x), y), fullgraph=True)

    def step(model, x, y, opt):
        opt.zero_grad()
        loss(x, y).backward()
        opt.step()
    return step


def step_torch(model, x, y, opt):
    opt.zero_grad(set_to_none=True)
    TF.cross_entropy(model(x), y).backward()
    opt.step()


def outputs_agree(name: str) -> float:
    """Max |difference| of the logits (eval mode) with the same weights and input."""
    ours, x, _, _ = build(name, "ours")
    theirs, tx, _, _ = build(name, "torch")
    ours.eval()
    theirs.eval()
    with ac.no_grad():
        a = ours(x).numpy()
    with torch.no_grad():
        b = theirs(tx).numpy()
    return float(np.abs(a - b).max() / max(1e-12, np.abs(b).max()))


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB. Not ru_maxrss:
    Linux carries the parent's peak across fork + exec into a child's ru_maxrss."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status (Linux only)")


def child(name: str, library: str, rounds: int, warmup: int) -> None:
    """Run in a fresh process: print {"times": step seconds, "base": MB resident once model,
    batch and optimiser exist, "peak": peak MB resident after all steps}."""
    if library == "torch":
        load_torch()
    else:
        ac.configure()      # what Trainer and the command line apply: glibc keeps freed pages
    args = build(name, "ours" if library == "captured" else library)
    step = {"ours": step_ours, "torch": step_torch}.get(library) or captured_step(args[0])
    base = _status_mb("VmRSS")
    for _ in range(warmup):
        step(*args)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        step(*args)
        times.append(time.perf_counter() - t)
    print(json.dumps({"times": times, "base": base, "peak": _status_mb("VmHWM")}))


LABELS = {"ours": "autograd_cnn", "captured": "autograd_cnn, captured (`ac.compile`)",
          "torch": "PyTorch"}
ONE_THREAD = {"NUMBA_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_children(name: str, libraries, rounds: int, warmup: int, repeats: int,
                 configs: dict | None = None) -> dict:
    """Alternate one process per library ``repeats`` times; per library: the median step time,
    the median training memory (peak - base) and the largest process peak. ``configs``: {label:
    (extra environment variables of the children, whether another process keeps one core busy
    meanwhile)}, all run in each repeat one after the other, so that the machine's drift over
    minutes shows in every configuration alike (measured here: a 2-thread ResNet-18 step of
    504 ms in the first table and 573 ms in the scaling table of the same run, when the
    configurations ran one after the other); the result is then {label: {library: ...}}.
    Without ``configs``: the default 2 threads, quiet, and {library: ...}."""
    if name in CAPTURED and "ours" in libraries:
        libraries = [*libraries, "captured"]
    plain = configs is None
    configs = {"": ({}, False)} if plain else configs
    runs = {label: {lib: [] for lib in libraries} for label in configs}
    for _ in range(repeats):
        for label, (env, busy) in configs.items():
            with _BusyCore() if busy else contextlib.nullcontext():
                for lib in libraries:
                    runs[label][lib].append(_child_run(name, lib, rounds, warmup, env))
    out = {label: {lib: {"time": statistics.median(t for r in rs for t in r["times"]),
                         "memory": statistics.median(r["peak"] - r["base"] for r in rs),
                         "process": max(r["peak"] for r in rs)} for lib, rs in by_lib.items()}
           for label, by_lib in runs.items()}
    return out[""] if plain else out


def _child_run(name: str, lib: str, rounds: int, warmup: int, env: dict) -> dict:
    """One ``child`` process: its JSON record."""
    proc = subprocess.run([sys.executable, __file__, "--child", name, lib, str(rounds),
                           str(warmup)], capture_output=True, text=True,
                          env={**os.environ, **env})
    if proc.returncode != 0:
        raise RuntimeError(f"{name} ({lib}) failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class _BusyCore:
    """``with _BusyCore():`` a process spinning on one core (another tenant), for the
    contention column."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()
        return False


def scaling_table(libraries, quick: bool) -> list:
    """Step time with 1 and 2 threads (scaling = 1-thread time / 2-thread time), and with 2
    threads while a busy loop holds one of the cores (slowdown = that time / the quiet one)."""
    lines = ["### Thread scaling and contention", "",
             "The same steps with every thread pool of both libraries on one thread "
             "(NUMBA_NUM_THREADS=1, OPENBLAS_NUM_THREADS=1, OMP_NUM_THREADS=1), on their "
             "default 2 threads, and on 2 threads while another process spins on one of the "
             "two cores (`python -c 'while True: pass'`). Scaling = 1-thread time / 2-thread "
             "time (issue 16's goals: >= 1.7x for ResNet-18, >= 1.4x for LeNet-5, ours); "
             "slowdown = contended time / quiet 2-thread time. Each repeat runs the three "
             "configurations one after the other (each library in processes of its own, as "
             "above), so a drift of the machine over minutes falls on all three alike; time "
             "= median of all steps of a configuration.", "",
             "| model | library | 1 thread ms | 2 threads ms | scaling | 2 threads, one core "
             "busy ms | slowdown |", "|---|---|---|---|---|---|---|"]
    configs = {"one": (ONE_THREAD, False), "two": ({}, False), "busy": ({}, True)}
    for name, (batch, shape, _, rounds, warmup) in CASES.items():
        rounds = max(2, rounds // 3) if quick else max(4, rounds // 2)
        repeats = 1 if quick else REPEATS[name]
        r = run_children(name, libraries, rounds, warmup, repeats, configs)
        for lib in r["two"]:
            t1, t2, tb = (r[c][lib]["time"] for c in ("one", "two", "busy"))
            label = LABELS[lib]
            lines.append(f"| {name} (batch {batch}) | {label} | {t1 * 1e3:.1f} | "
                         f"{t2 * 1e3:.1f} | {t1 / t2:.2f}x | {tb * 1e3:.1f} | {tb / t2:.2f}x |")
    return lines + [""]


def profile(name: str, steps: int = 3) -> tuple:
    """Profile 3 of our steps with cProfile. Returns (ops, functions): ops = [(differentiable op
    or backward rule of autograd_cnn.functional, or the optimiser step, ms per step, share)]
    by cumulative time (an op's forward and its backward rule apart), functions = [(function,
    ms per step, share)] by own time (numpy calls, BLAS included, count in their caller)."""
    import cProfile
    import pstats

    args = build(name, "ours")
    step_ours(*args)                                 # compile / warm up outside the profile
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.runcall(lambda: [step_ours(*args) for _ in range(steps)])
    total = time.perf_counter() - t
    ops, functions = [], []
    for (path, line, func), (_, _, tottime, cumtime, _) in pstats.Stats(prof).stats.items():
        # the line tells apart same-named functions (each convolution's nested ``work``)
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}:{func}" if line else func
        functions.append((where, tottime / steps * 1e3, tottime / total))
        p = Path(path)
        is_op = p.parent.name == "functional" and p.name not in ("base.py", "methods.py") and (
            func[0] not in "_<" or func.endswith("_backward"))
        if is_op or (p.parent.name == "optim" and func == "step"):
            ops.append((f"{p.stem}.{func}", cumtime / steps * 1e3, cumtime / total))
    ops.sort(key=lambda r: -r[1])
    functions.sort(key=lambda r: -r[1])
    return ops, functions


def profile_in_child(name: str) -> tuple:
    """``profile(name)`` in a fresh process set up as the timed children are (``ac.configure()``,
    no PyTorch loaded). In this process PyTorch is imported and glibc's malloc is untuned: the
    profile then showed page faults that no timed step has (tanh's backward in LeNet-5's step
    took 0.83 ms per step untuned, 0.22 ms tuned)."""
    proc = subprocess.run([sys.executable, __file__, "--profile-json", name],
                          capture_output=True, text=True, check=True)
    return tuple(json.loads(proc.stdout.strip().splitlines()[-1]))


def main(quick: bool = False) -> str:
    have_torch = load_torch()
    load0 = os.getloadavg()[0]
    lines = ["## Whole-model training steps against PyTorch (`bench_models.py`)", "",
             "One SGD-with-momentum step (zero_grad, forward, cross-entropy, backward, update), "
             "float32, 2 threads each. Each library runs in processes of its own, alternating "
             "ours / PyTorch (ResNet-18 three times, LeNet-5 six; in one process each "
             "library's spinning threads slow the other); time = median of all steps. Our "
             "processes call `ac.configure()` first, as `Trainer` and the command line do "
             "(glibc's malloc keeps freed pages: tuning 'heap_mmap_threshold' and "
             "'heap_trim_threshold'). Training memory = peak resident memory "
             "over the steps minus the resident memory once model, batch and optimiser exist "
             "(median of the processes); process = the whole process's peak, imports "
             "included. PyTorch runs the same architectures written out by hand (no "
             "torchvision for torch 2.13) with our weights loaded; the last column compares the "
             "two models' logits. Command: `python benchmarks/run.py bench_models` "
             "(`make bench` runs every file), which runs without OPENBLAS_CORETYPE / "
             "OPENBLAS_L2_SIZE.", "",
             "| model | batch | autograd_cnn ms | PyTorch ms | time ratio | training MB ours / "
             "PyTorch | memory ratio | process MB ours / PyTorch | logits rel. diff |",
             "|---|---|---|---|---|---|---|---|---|"]
    libraries = ["ours", "torch"] if have_torch else ["ours"]
    for name, (batch, shape, _, rounds, warmup) in CASES.items():
        r = run_children(name, libraries, max(2, rounds // 3) if quick else rounds, warmup,
                         1 if quick else REPEATS[name])
        agree = f"{outputs_agree(name):.1e}" if have_torch else ""
        for lib in ("ours", "captured"):
            if lib not in r:
                continue
            ours = r[lib]
            label = f"{name} ({'x'.join(map(str, shape))})" + (
                ", captured step" if lib == "captured" else "")
            if have_torch:
                theirs = r["torch"]
                lines.append(
                    f"| {label} | {batch} | {ours['time'] * 1e3:.1f} | "
                    f"{theirs['time'] * 1e3:.1f} | {ours['time'] / theirs['time']:.2f}x | "
                    f"{ours['memory']:.0f} / {theirs['memory']:.0f} | "
                    f"{ours['memory'] / max(theirs['memory'], 1.0):.2f}x | "
                    f"{ours['process']:.0f} / {theirs['process']:.0f} | {agree} |")
            else:
                lines.append(f"| {label} | {batch} | {ours['time'] * 1e3:.1f} | (not installed) "
                             f"| | {ours['memory']:.0f} / - | | {ours['process']:.0f} / - | |")
    lines += ["", f"Goal: within {GOAL}x of PyTorch's time and memory (ratio = ours / "
              "PyTorch; below 1 is better than PyTorch). Load average (1 min) "
              f"{load0:.2f} before and {os.getloadavg()[0]:.2f} after the table.", "",
              "What limits it (see the profiles below and bench_conv's section): ResNet-18 "
              "spends over four fifths of its step in convolutions. Measured layer by layer at "
              "its own shapes (batch 8, 2 threads, fwd+bwd, one process, two runs on an AMD "
              "EPYC, 2026-12-04 18:00-18:40), our throughput over PyTorch's (its time / ours) is "
              "0.87-1.12 for "
              "the 3x3 convolutions of layer 1, 1.15-1.24 layer 2, 0.98-1.17 layer 3, 0.79-0.92 "
              "layer 4 (512 channels, 7x7 maps: Winograd's 16 GEMMs have 64 columns per "
              "thread), 0.74-0.88 for the strided 3x3 ones (im2col), 0.83-1.44 for the strided "
              "1x1 ones and 0.59-0.65 for the stem (weight gradient only; a GEMM with a "
              "147-long inner dimension). Inside the step they ran slower than alone until "
              "no product ran on OpenBLAS's own threads (kernels/matmul.py): those keep "
              "spinning after a call, and layer 4's backward after the head's product took "
              "twice its time. LeNet-5's step is small enough that fixed costs show: about "
              "40 ops of some microseconds of Python each, which the captured step "
              "(`ac.compile`, the row above) removes. Both libraries' 2-thread times drifted "
              "by 20-30% within minutes on this shared machine: read the ratios, which come "
              "from interleaved processes. LeNet-5's training memory is almost all one-time: "
              "its first step loads Numba's compiled kernels from the cache (measured: +72 MB; "
              "twenty more steps added under 2 MB); PyTorch's kernels are in the process from "
              "import, which is why our whole process is the smaller one.", ""]
    lines += scaling_table(libraries, quick)
    for name in CASES:
        ops, functions = profile_in_child(name)
        lines += [f"### Where our {name} step goes (cProfile over 3 steps; the profiler adds "
                  "its own overhead, so read the shares)", "",
                  "| op (forward, or its backward rule) | ms per step | share |", "|---|---|---|"]
        lines += [f"| `{f}` | {ms:.1f} | {share:.0%} |" for f, ms, share in ops[:10]]
        lines += ["", "| function (own time; numpy and BLAS calls count in their caller) "
                  "| ms per step | share |", "|---|---|---|"]
        lines += [f"| `{f}` | {ms:.1f} | {share:.0%} |" for f, ms, share in functions[:10]]
        lines.append("")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    argv = sys.argv[1:]
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2], int(argv[3]), int(argv[4]))
    elif argv[:1] == ["--profile-json"]:
        ac.configure()
        print(json.dumps(profile(argv[1])))
    elif argv[:1] == ["--profile"]:
        ops, functions = profile(argv[1] if len(argv) > 1 else "resnet18")
        for title, rows in (("ops (cumulative)", ops), ("functions (own time)", functions)):
            print(title)
            for f, ms, share in rows[:25]:
                print(f"{ms:9.2f} ms  {share:6.1%}  {f}")
    else:
        print(main(quick="--quick" in argv))
