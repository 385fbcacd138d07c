"""Data-parallel training over MPI (mpi4py), on one machine or many.

    mpiexec -n 2 python train.py            # every rank runs the same script

    import autograd_cnn.distributed as dist
    rank, world = dist.init()
    model = dist.DistributedDataParallel(dist.convert_sync_batchnorm(net))  # optional SyncBN
    sampler = dist.DistributedSampler(train_set, shuffle=True, seed=0)
    loader = DataLoader(train_set, batch_size=32, sampler=sampler)
    ...  # the usual loop: backward() leaves the gradients averaged over the ranks
    if dist.is_main(): save(...)

mpi4py is imported lazily, by ``init()`` and the calls that communicate (``pip install
autograd_cnn[distributed]`` installs it with the MPICH library); nothing else in autograd_cnn
imports this package.
"""

from ._mpi import (INSTALL_HINT, MPINotInstalledError, comm_world, get_rank, get_world_size, init,
                   is_initialized, is_main, launched_world_size)
from .collectives import (allreduce_array, allreduce_gradients, broadcast_optimizer_state,
                          broadcast_parameters, check_same)
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler
from .sync_batchnorm import SyncBatchNorm, convert_sync_batchnorm

__all__ = ["init", "is_main", "get_rank", "get_world_size", "is_initialized", "comm_world",
           "launched_world_size", "MPINotInstalledError", "INSTALL_HINT",
           "broadcast_parameters", "broadcast_optimizer_state", "allreduce_gradients",
           "allreduce_array", "check_same", "DistributedDataParallel", "DistributedSampler",
           "SyncBatchNorm", "convert_sync_batchnorm"]
