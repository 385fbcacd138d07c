"""autograd_cnn.distributed without MPI: the sampler's arithmetic, the lazy import, and the
command line's message when mpi4py is missing. (The tests that start MPI jobs are in
test_distributed_mpi.py.)"""

import os
import subprocess
import sys

import numpy as np
import pytest

from autograd_cnn.distributed import DistributedSampler, launched_world_size


def test_importing_the_package_does_not_import_mpi4py():
    code = ("import sys, autograd_cnn, autograd_cnn.distributed, autograd_cnn.cli, "
            "autograd_cnn.train; print('mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.strip() == "False"


def test_sampler_shards_as_pytorch_without_shuffle():
    # values from torch.utils.data.DistributedSampler(range(10), 3, r, shuffle=False)
    shards = [list(DistributedSampler(range(10), 3, r, shuffle=False)) for r in range(3)]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    dropped = [list(DistributedSampler(range(10), 3, r, shuffle=False, drop_last=True))
               for r in range(3)]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    assert [len(DistributedSampler(range(10), 3, r, drop_last=True)) for r in range(3)] == [3] * 3


@pytest.mark.parametrize("n,k", [(10, 3), (12, 4), (7, 2), (5, 5), (3, 4)])
def test_sampler_shards_are_disjoint_cover_and_equal_sized(n, k):
    for epoch in (0, 1):
        shards = []
        for r in range(k):
            s = DistributedSampler(range(n), k, r, shuffle=True, seed=5)
            s.set_epoch(epoch)
            shards.append(s.indices())
        assert {len(s) for s in shards} == {-(-n // k)}            # same number everywhere
        together = np.concatenate(shards)
        assert set(together.tolist()) == set(range(n))             # covers the data
        assert len(together) - len(set(together.tolist())) == k * -(-n // k) - n   # padding only


def test_sampler_reshuffles_each_epoch_from_the_shared_seed():
    def order(seed, epoch):
        s = DistributedSampler(range(20), 1, 0, seed=seed)
        s.set_epoch(epoch)
        return list(s)
    assert order(0, 0) == order(0, 0)                  # every rank draws the same permutation
    assert order(0, 0) != order(0, 1)                  # a new one each epoch
    assert order(0, 0) != order(1, 0)
    assert sorted(order(0, 3)) == list(range(20))
    assert order(0, 1) == np.random.default_rng([0, 1]).permutation(20).tolist()


def test_sampler_feeds_a_dataloader():
    from autograd_cnn.data import DataLoader, TensorDataset
    import autograd_cnn as ac
    data = TensorDataset(ac.tensor(np.arange(10.0)), ac.tensor(np.arange(10)))
    loader = DataLoader(data, batch_size=2,
                        sampler=DistributedSampler(data, 2, 1, shuffle=False))
    assert [y.numpy().tolist() for _, y in loader] == [[1, 3], [5, 7], [9]]


@pytest.mark.parametrize("kwargs,match", [
    ({"num_replicas": 0, "rank": 0}, r"num_replicas must be at least 1, got 0"),
    ({"num_replicas": 2, "rank": 2}, r"rank must be in \[0, 1\] \(num_replicas 2\), got 2"),
    ({"num_replicas": 4, "rank": 0, "drop_last": True}, r"3 samples cannot give each of 4"),
])
def test_sampler_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DistributedSampler(range(3), **kwargs)
    with pytest.raises(TypeError, match=r"num_replicas must be an int, got 2.0"):
        DistributedSampler(range(3), 2.0, 0)
    with pytest.raises(ValueError, match=r"epoch must be non-negative, got -1"):
        DistributedSampler(range(3), 1, 0).set_epoch(-1)


def test_launched_world_size_reads_the_launchers_environment(monkeypatch):
    for name in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE"):
        monkeypatch.delenv(name, raising=False)
    assert launched_world_size() == 1
    monkeypatch.setenv("OMPI_COMM_WORLD_SIZE", "4")
    assert launched_world_size() == 4


# mpi4py hidden: `import mpi4py` raises ImportError as when it is not installed
_NO_MPI = ("import sys; sys.modules['mpi4py'] = None; from autograd_cnn.cli import main; "
           "sys.exit(main(sys.argv[1:]))")


@pytest.mark.parametrize("how", ["env", "flag"])
def test_cli_asked_for_ranks_without_mpi4py_says_what_to_install(tmp_path, how):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI", "OMPI", "MPI_"))}
    args = ["train", "--epochs", "1", "--out", str(tmp_path / "run")]
    if how == "env":
        env["PMI_SIZE"] = "2"                          # what mpiexec -n 2 sets (MPICH)
    else:
        args.append("--distributed")
    out = subprocess.run([sys.executable, "-c", _NO_MPI, *args], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 2, out.stderr
    want = "2 ranks asked for" if how == "env" else "--distributed asked for"
    assert f"error: {want}, but mpi4py is not installed" in out.stderr
    assert "pip install autograd_cnn[distributed]" in out.stderr
    assert not (tmp_path / "run").exists()             # nothing written
