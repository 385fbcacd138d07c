"""MPI jobs on localhost (`mpiexec -n K`): data-parallel training equals one process on the
concatenated batches, the sampler's shards across ranks, mismatches found at start, a dead rank
ending the job, and the command line on 2 ranks. Needs the [distributed] extra (conftest.py
collects this file only when mpi4py is importable; .ci/run installs it).

Every job runs under a generous timeout: the machine may be loaded, and a hang must fail the
test rather than the suite."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent / "distributed"
MPIEXEC = str(Path(sys.executable).with_name("mpiexec"))    # the mpich wheel's, beside python
TIMEOUT = 600


def _env():
    # a clean launch: no MPI variables inherited from an outer job
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI", "MPI_"))}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def mpiexec(n: int, *args, timeout: float = TIMEOUT):
    """Run ``mpiexec -n n python ARGS`` (MPICH's Hydra runs as root without extra flags)."""
    return subprocess.run([MPIEXEC, "-n", str(n), sys.executable, *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=_env(),
                          cwd=str(Path(__file__).parent.parent))


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_two_ranks_equal_one_process_on_the_concatenated_batches():
    out = _json(mpiexec(2, HERE / "equivalence.py"))
    # DDP (overlapped in many small buckets, or reduced after backward) and DDP + SyncBatchNorm:
    # the parameters after 3 SGD steps (momentum, weight decay) are those of one process
    for name in ("ddp_overlap", "ddp_after", "syncbn", "ddp_zeroed"):
        assert out[name] < 1e-12, (name, out)
        assert out[name + "_ranks_agree"], name
    # with zero_grad(set_to_none=False) the averaged gradients are written into the same
    # .grad tensors every step, as PyTorch's reducer does
    assert out["ddp_zeroed_same_grads"]
    # plain BatchNorm under DDP keeps local statistics (the default, as in PyTorch): not equal
    assert out["localbn"] > 1e-4
    assert out["localbn_ranks_agree"]                  # but still the same on every rank


def test_three_ranks_shards_and_start_up_mismatches():
    out = _json(mpiexec(3, HERE / "checks.py"))
    assert out["world"] == 3
    for epoch in ("epoch0", "epoch1"):
        shards = out[epoch]
        assert [len(s) for s in shards] == [4, 4, 4]       # ceil(10 / 3), padded
        flat = [i for s in shards for i in s]
        assert sorted(set(flat)) == list(range(10))        # covering
        assert len(flat) - len(set(flat)) == 2             # disjoint apart from the 2 pads
    assert out["epoch0"] != out["epoch1"]                  # reshuffled per epoch
    assert out["data_mismatch"] == (
        "the ranks disagree on the length of the dataset given to DistributedSampler (rank 0: "
        "10, rank 1: 10, rank 2: 9); every rank must build the same model and read the same "
        "data")
    assert out["model_mismatch"].startswith(
        "broadcast_parameters: rank 1's model differs from rank 0's (rank 0: 23 values in 4 "
        "tensors, rank 1: 37 values in 4 tensors, rank 2: 23 values in 4 tensors; first "
        "difference: ('0.weight', (3, 4), 'float32') vs ('0.weight', (5, 4), 'float32'))")
    # Difference from PyTorch (README): DDP's state dict has no "module." prefix
    assert out["state_keys"] == ["0.bias", "0.weight"]
    assert out["converted"] == ["Sequential", "Conv2d", "SyncBatchNorm", "Sequential",
                                "SyncBatchNorm"]
    assert out["same_objects"]


@pytest.mark.parametrize("how", ["kill", "raise"])
def test_a_dead_rank_ends_the_job_with_an_error_within_60_s(how):
    t0 = time.monotonic()
    result = mpiexec(2, HERE / "failure.py", how, timeout=300)
    # measured from the launch, so it includes starting Python and MPI on a loaded machine
    assert time.monotonic() - t0 < 60
    assert result.returncode != 0
    assert "reached step 2" in result.stdout                 # the job ran before it failed
    if how == "kill":
        assert "Killed (signal 9)" in result.stdout + result.stderr
    else:
        assert "RuntimeError: rank 1 fails on purpose" in result.stderr
        assert "rank 1 of 2: RuntimeError; aborting the MPI job" in result.stderr


def _train(runs: Path, name: str, ranks: int, batch: int, *extra):
    args = ["-m", "autograd_cnn", "train", "--epochs", "3", "--batch-size", batch,
            "--no-augment", "--out", runs / name, *extra]
    if ranks == 1:
        result = subprocess.run([sys.executable, *map(str, args)], capture_output=True,
                                text=True, timeout=TIMEOUT, env=_env())
    else:
        result = mpiexec(ranks, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    return result, json.loads((runs / name / "summary.json").read_text())


def test_cli_trains_lenet5_on_two_ranks_as_well_as_on_one(tmp_path):
    # the same effective batch (1 x 32 and 2 x 16), so the same number of steps per epoch
    _, one = _train(tmp_path, "one", 1, 32)
    result, two = _train(tmp_path, "two", 2, 16)
    assert abs(two["test_accuracy"] - one["test_accuracy"]) < 0.05, (one["test_accuracy"],
                                                                      two["test_accuracy"])
    assert two["test_accuracy"] > 0.8
    assert result.stdout.count("test accuracy") == 1           # rank 0 alone prints
    assert ("data-parallel over 2 MPI ranks: batch 16 per rank, effective batch size 32, "
            "learning rate 0.05") in result.stdout
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert (config["world_size"], config["effective_batch_size"], config["lr"]) == (2, 32, 0.05)
    # data-parallel steps are not captured (the wrapper's per-step work would be skipped)
    assert config["capture"] is False and two["capture"] == {"mode": False}
    metrics = (tmp_path / "two" / "metrics.csv").read_text().splitlines()
    assert len(metrics) == 4                                    # header + 3 epochs, once
    # every rank resumes from the same checkpoint and continues to epoch 4
    result = mpiexec(2, "-m", "autograd_cnn", "train", "--epochs", "4", "--batch-size", "16",
                     "--no-augment", "--out", tmp_path / "two", "--resume")
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("resumed from") == 1
    assert "epoch   4" in result.stdout and "epoch   3" not in result.stdout
    result = mpiexec(2, "-m", "autograd_cnn", "train", "--epochs", "1", "--capture",
                     "--out", tmp_path / "captured")
    assert result.returncode == 2, result.stderr[-3000:]
    assert "--capture does not work with data-parallel training" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "captured").exists()
