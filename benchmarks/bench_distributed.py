"""Data parallelism over MPI (autograd_cnn.distributed) on this machine: 1 rank against 2.

    python benchmarks/run.py bench_distributed      # or: python benchmarks/bench_distributed.py

Three figures, each from `mpiexec -n K python bench_distributed.py --worker WHAT` jobs:
- MPI_Allreduce of float32 buffers of 1, 10 and 100 MB: time and bandwidth (MB/s of buffer);
  with one rank it is a no-op, with two it is MPICH's shared-memory transport on one machine;
- a ResNet-18 training step (forward, backward, gradient averaging, SGD) at a small input,
  1 rank vs 2 ranks (each rank its own batch: 2 ranks do twice the samples per step);
- the overlap of DistributedDataParallel (each 25 MB bucket's Iallreduce started from the
  gradient hooks while backward continues) against reducing after backward
  (``allreduce_gradients``), the same step on 2 ranks.
The kernels run NUMBA_NUM_THREADS threads per rank: one rank with 1 and with 2 threads, two
ranks with 1 thread each (the machine's 2 cores split between them). So 2 ranks on 2 cores show
the mechanism and its overhead, not the speed-up a second machine would give.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

SIZES_MB = (1, 10, 100)
BATCH, IMAGE = 8, 64              # ResNet-18 per rank: batch 8 of 3 x 64 x 64 images
WARMUP, STEPS = 1, 3              # the first step compiles the kernels


# ---- the MPI jobs ------------------------------------------------------------------------------


def _allreduce_worker() -> dict:
    import numpy as np
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    out = {}
    for mb in SIZES_MB:
        buf = np.ones(mb * 2**20 // 4, np.float32)
        reps = max(3, 30 // mb)
        times = []
        for _ in range(reps + 1):
            comm.Barrier()
            t0 = time.perf_counter()
            comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
            times.append(time.perf_counter() - t0)
        out[str(mb)] = statistics.median(times[1:])
    return out


def _resnet_worker(mode: str) -> dict:
    import numpy as np
    import autograd_cnn as ac
    import autograd_cnn.distributed as dist
    import autograd_cnn.nn as nn
    from autograd_cnn import optim
    from autograd_cnn.models import resnet18
    from mpi4py import MPI
    rank, k = dist.init()
    ac.manual_seed(0)
    net = resnet18(num_classes=10)
    model = dist.DistributedDataParallel(net, overlap=(mode == "overlap")) if k > 1 else net
    opt = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(rank)
    x = ac.tensor(rng.standard_normal((BATCH, 3, IMAGE, IMAGE)).astype(np.float32))
    y = ac.tensor(rng.integers(0, 10, BATCH))
    steps, backs = [], []
    for i in range(WARMUP + STEPS):
        MPI.COMM_WORLD.Barrier()
        t0 = time.perf_counter()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        t1 = time.perf_counter()
        loss.backward()
        if k > 1 and mode == "after":
            model.reduce_gradients()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i >= WARMUP:
            steps.append(t3 - t0)
            backs.append(t2 - t1)
    grads = sum(p._data.nbytes for p in net.parameters())
    return {"step": statistics.median(steps), "backward": statistics.median(backs),
            "grad_mb": grads / 2**20}


def _worker(what: str) -> None:
    from mpi4py import MPI
    result = _allreduce_worker() if what == "allreduce" else _resnet_worker(what)
    every = MPI.COMM_WORLD.gather(result, root=0)
    if MPI.COMM_WORLD.Get_rank() == 0:          # the slowest rank sets the pace
        keys = every[0].keys()
        print(json.dumps({key: max(r[key] for r in every) for key in keys}))


# ---- the driver ---------------------------------------------------------------------------------


def _job(ranks: int, what: str, threads: int | None = None) -> dict:
    mpiexec = Path(sys.executable).with_name("mpiexec")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI"))}
    env["NUMBA_NUM_THREADS"] = str(threads or max(1, (os.cpu_count() or 1) // ranks))
    result = subprocess.run([str(mpiexec), "-n", str(ranks), sys.executable, __file__,
                             "--worker", what], capture_output=True, text=True, env=env,
                            timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"mpiexec -n {ranks} ... --worker {what} failed:\n"
                           f"{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> str:
    import importlib.util
    if importlib.util.find_spec("mpi4py") is None:
        return ("## Data parallelism over MPI (`bench_distributed.py`)\n\nNot run: mpi4py is "
                "not installed (`pip install autograd_cnn[distributed]`).\n")
    load0 = os.getloadavg()[0]
    red = {k: _job(k, "allreduce") for k in (1, 2)}
    one2 = _job(1, "overlap", threads=2)
    one = _job(1, "overlap", threads=1)
    over = _job(2, "overlap", threads=1)
    after = _job(2, "after", threads=1)
    load1 = os.getloadavg()[0]
    cores = os.cpu_count()
    lines = [
        "## Data parallelism over MPI (`bench_distributed.py`)", "",
        f"MPICH (the `mpich` wheel) via mpi4py, `mpiexec -n K` on this one machine ({cores} "
        f"cores, shared with other users' jobs: load average (1 min) {load0:.2f} before and "
        f"{load1:.2f} after, so every figure is several times what an idle machine gives). "
        "Two ranks on 2 cores show the mechanism and its cost, not the speed-up of a second "
        "machine.", "",
        "### MPI_Allreduce (sum, in place), float32", "",
        "| buffer | 1 rank ms | 2 ranks ms | 2 ranks MB/s |", "|---|---|---|---|"]
    for mb in SIZES_MB:
        t1, t2 = red[1][str(mb)], red[2][str(mb)]
        lines.append(f"| {mb} MB | {t1 * 1e3:.3f} | {t2 * 1e3:.1f} | {mb / t2:,.0f} |")
    lines += [
        "", "Median of up to 30 calls after one untimed call, each after a barrier; MB/s = "
        "buffer size / time (one rank: MPI returns at once, nothing travels).", "",
        f"### ResNet-18 training step (batch {BATCH} per rank, 3 x {IMAGE} x {IMAGE}, "
        f"{over['grad_mb']:.0f} MB of float32 gradients)", "",
        "| ranks x kernel threads | gradient reduction | step s | backward (+ reduction) s | "
        "images/s |", "|---|---|---|---|---|",
        f"| 1 x 2 | none | {one2['step']:.2f} | {one2['backward']:.2f} | "
        f"{BATCH / one2['step']:.2f} |",
        f"| 1 x 1 | none | {one['step']:.2f} | {one['backward']:.2f} | "
        f"{BATCH / one['step']:.2f} |",
        f"| 2 x 1 | overlapped (DDP hooks, Iallreduce per 25 MB bucket) | {over['step']:.2f} | "
        f"{over['backward']:.2f} | {2 * BATCH / over['step']:.2f} |",
        f"| 2 x 1 | after backward (`allreduce_gradients`) | {after['step']:.2f} | "
        f"{after['backward']:.2f} | {2 * BATCH / after['step']:.2f} |", "",
        f"Median of {STEPS} steps after {WARMUP} warm-up steps; each figure is the slowest "
        "rank's. Overlap saving (after - overlapped, backward + reduction): "
        f"{(after['backward'] - over['backward']) * 1e3:.0f} ms per step "
        f"({(after['backward'] - over['backward']) / after['backward'] * 100:.0f}%). "
        f"With one kernel thread a rank is {one['step'] / one2['step']:.0f}x slower than with "
        "two (first two rows), far more than the thread count explains: a property of the "
        "kernels' one-thread path, not of MPI. Under this load the figures vary by tens of "
        "percent between runs.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        _worker(sys.argv[2])
    else:
        print(main())
