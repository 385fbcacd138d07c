"""Collection rules shared by the suite."""

from importlib.util import find_spec

# The MPI tests need the optional [distributed] extra (mpi4py + MPICH); .ci/run installs it.
# Without it they are not collected (test_distributed.py checks the message that says what
# to install).
collect_ignore = [] if find_spec("mpi4py") is not None else ["test_distributed_mpi.py"]
