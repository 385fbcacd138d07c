"""Collection rules shared by the suite.

The MPI tests need the optional [distributed] extra (mpi4py + MPICH); .ci/run installs it, and
without it they are not collected (test_distributed.py checks the message that says what to
install). The PyTorch parity suite (tests/parity/) needs torch, which `make test` does not
install: it is collected only when AUTOGRAD_CNN_PARITY=1 (`make parity` sets it)."""

import os
from importlib.util import find_spec

collect_ignore = [] if find_spec("mpi4py") is not None else ["test_distributed_mpi.py"]
if os.environ.get("AUTOGRAD_CNN_PARITY") != "1":
    collect_ignore.append("parity")
