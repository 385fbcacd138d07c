"""The one place that imports mpi4py (lazily), and the process's place in the MPI job.

    rank, world_size = init()          # MPI_Init once (mpi4py does it on import)
    is_main()                          # rank 0: the one that writes files and prints

Nothing here runs at import time: ``import autograd_cnn.distributed`` works without mpi4py, and
only ``init()`` (or a call that needs a communicator) imports it. ``launched_world_size()``
reads the launcher's environment (MPICH/Hydra PMI_SIZE, Open MPI OMPI_COMM_WORLD_SIZE, Slurm
PMI2) without importing anything, so the command line can tell "asked for K ranks" from "not
launched by mpiexec" before deciding whether it needs MPI at all.
"""

from __future__ import annotations

import os
import sys
import time

__all__ = ["init", "is_main", "get_rank", "get_world_size", "is_initialized",
           "launched_world_size", "MPINotInstalledError", "INSTALL_HINT", "comm_world"]

INSTALL_HINT = "pip install autograd_cnn[distributed]"

# environment variables that MPI launchers set to the number of ranks
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS", "PMIX_SIZE", "SLURM_NTASKS")

_state = {"comm": None, "MPI": None}


class MPINotInstalledError(ImportError):
    """mpi4py (or an MPI library for it) is missing: says what to install."""


def launched_world_size() -> int:
    """The number of ranks the launcher (mpiexec, srun) started, from its environment; 1 when
    this process was not started by one. Imports nothing."""
    for name in _SIZE_VARS[:4]:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


def _import_mpi():
    if _state["MPI"] is None:
        try:
            from mpi4py import MPI
        except ImportError as err:           # mpi4py missing, or its MPI library missing
            raise MPINotInstalledError(
                f"distributed training needs mpi4py and an MPI library ({err}); install them "
                f"with: {INSTALL_HINT}") from None
        _state["MPI"] = MPI
    return _state["MPI"]


def init(abort_on_error: bool = True):
    """Start MPI (once) and return ``(rank, world_size)`` of COMM_WORLD.

    abort_on_error: with more than one rank, an uncaught exception on any rank prints its
    traceback, waits ``ABORT_GRACE`` seconds for mpiexec to forward the output, and calls
    ``MPI_Abort``, which ends every rank of the job (instead of leaving the others waiting
    forever in their next collective)."""
    MPI = _import_mpi()
    if _state["comm"] is None:
        _state["comm"] = MPI.COMM_WORLD
        if abort_on_error and _state["comm"].Get_size() > 1:
            _install_abort_hook(_state["comm"])
    comm = _state["comm"]
    return comm.Get_rank(), comm.Get_size()


# Seconds between printing the traceback and MPI_Abort. mpiexec forwards each rank's output
# from a pipe and stops forwarding when an abort tears the job down: aborting at once lost
# every rank's output, this traceback included, in 2 of 8 runs of the MPI tests on two busy
# cores (tests/test_distributed_mpi.py's dead-rank test); the pause lets it drain.
ABORT_GRACE = 0.5


def _install_abort_hook(comm) -> None:
    previous = sys.excepthook

    def abort(kind, value, tb):
        previous(kind, value, tb)
        sys.stderr.write(f"rank {comm.Get_rank()} of {comm.Get_size()}: {kind.__name__}; "
                         "aborting the MPI job\n")
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):     # a closed or broken stream: abort anyway
                pass
        time.sleep(ABORT_GRACE)
        comm.Abort(1)

    sys.excepthook = abort


def is_initialized() -> bool:
    return _state["comm"] is not None


def comm_world():
    """COMM_WORLD (calls ``init()`` first if needed)."""
    if _state["comm"] is None:
        init()
    return _state["comm"]


def get_rank() -> int:
    """This process's rank (0 when MPI was not initialised)."""
    return _state["comm"].Get_rank() if _state["comm"] is not None else 0


def get_world_size() -> int:
    """The number of ranks (1 when MPI was not initialised)."""
    return _state["comm"].Get_size() if _state["comm"] is not None else 1


def is_main() -> bool:
    """True on rank 0 (and in a process that never initialised MPI)."""
    return get_rank() == 0
