"""Collectives on models and optimisers: broadcast the weights, average the gradients.

Gradients travel in buckets: the gradients of consecutive parameters of one dtype are packed
into one flat buffer of at most ``bucket_cap_mb`` MB, and each buffer is reduced with one
MPI_Allreduce (one message instead of one per parameter: a LeNet-5 has 10 parameter tensors,
a ResNet-18 62, and each MPI call costs latency). Averaging divides the sum by the world size:

    grad_p <- (1/K) sum_{ranks r} grad_p^(r)

which, with each rank's loss the mean over its own equally sized batch, is the gradient of the
mean loss over the K batches together (what one process would compute on their concatenation).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor, set_grad
from ._mpi import comm_world, _import_mpi

__all__ = ["broadcast_parameters", "broadcast_optimizer_state", "allreduce_gradients",
           "allreduce_array", "check_same", "Bucket", "make_buckets", "DEFAULT_BUCKET_MB"]

DEFAULT_BUCKET_MB = 25.0          # PyTorch DDP's bucket_cap_mb


def _params(model_or_params) -> list:
    if hasattr(model_or_params, "parameters"):
        return [p for p in model_or_params.parameters() if p.requires_grad]
    return [p for p in model_or_params if p.requires_grad]


def check_same(value, what: str, comm=None) -> None:
    """Raise ValueError on every rank unless ``value`` is equal on all ranks; the message lists
    each rank's value (e.g. parameter counts or dataset sizes that differ)."""
    comm = comm or comm_world()
    values = comm.allgather(value)
    if any(v != values[0] for v in values[1:]):
        listed = ", ".join(f"rank {r}: {v}" for r, v in enumerate(values))
        raise ValueError(f"the ranks disagree on {what} ({listed}); every rank must build the "
                         "same model and read the same data")


def _signature(model) -> list:
    return [(k, tuple(v.shape), str(v.dtype)) for k, v in model.state_dict().items()]


def broadcast_parameters(model, root: int = 0, comm=None) -> None:
    """Copy the parameters and buffers (the whole state dict) of rank ``root`` to every rank,
    in place. Checks first that all ranks hold the same architecture (same keys, shapes and
    dtypes), else ValueError naming what differs on which rank."""
    comm = comm or comm_world()
    sig = _signature(model)
    sigs = comm.allgather(sig)
    for r, other in enumerate(sigs):
        if other != sigs[root]:
            n_root, n_r = len(sigs[root]), len(other)
            first = next((f"{a} vs {b}" for a, b in zip(sigs[root], other) if a != b),
                         f"{n_root} vs {n_r} tensors")
            counts = ", ".join(f"rank {i}: {sum(int(np.prod(s[1])) for s in g)} values in "
                               f"{len(g)} tensors" for i, g in enumerate(sigs))
            raise ValueError(f"broadcast_parameters: rank {r}'s model differs from rank "
                             f"{root}'s ({counts}; first difference: {first}); every rank must "
                             "build the same model")
    for value in model.state_dict().values():
        arr = value._data if isinstance(value, Tensor) else value
        if not arr.flags.c_contiguous:
            raise ValueError("broadcast_parameters: a state tensor is not contiguous")
        comm.Bcast(arr, root=root)
        if isinstance(value, Tensor):
            value._bump_version()


def broadcast_optimizer_state(optimizer, root: int = 0, comm=None) -> None:
    """Give every rank rank ``root``'s optimiser state and hyperparameters (its
    ``state_dict()``, pickled by mpi4py, then ``load_state_dict`` on the other ranks)."""
    comm = comm or comm_world()
    state = comm.bcast(optimizer.state_dict() if comm.Get_rank() == root else None, root=root)
    if comm.Get_rank() != root:
        optimizer.load_state_dict(state)


def allreduce_array(array: np.ndarray, average: bool = False, comm=None) -> np.ndarray:
    """A new array: the element-wise sum (or mean) of ``array`` over the ranks."""
    MPI = _import_mpi()
    comm = comm or comm_world()
    buf = np.ascontiguousarray(array).copy()
    comm.Allreduce(MPI.IN_PLACE, buf, op=MPI.SUM)
    if average:
        buf /= comm.Get_size()
    return buf


class Bucket:
    """Parameters of one dtype whose gradients share one flat buffer.

    ``offsets[i]:offsets[i+1]`` is the slice of ``params[i]``; ``pack()`` copies the
    gradients in (zeros for a parameter without one), ``unpack()`` writes them back."""

    def __init__(self, params: list):
        self.params = params
        self.dtype = params[0].dtype
        sizes = [p._data.size for p in params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.buffer = np.zeros(int(self.offsets[-1]), self.dtype)

    def slot(self, i: int) -> np.ndarray:
        return self.buffer[self.offsets[i]:self.offsets[i + 1]]

    def pack(self) -> None:
        for i, p in enumerate(self.params):
            if p.grad is None:
                self.slot(i)[:] = 0
            else:
                self.slot(i)[:] = p.grad._data.reshape(-1)

    def unpack(self, had_grad: list) -> None:
        """Write the reduced buffer back as the gradients. A parameter that had no gradient
        here gets one only if the reduced one is non-zero (another rank used it)."""
        for i, p in enumerate(self.params):
            g = self.slot(i)
            if not had_grad[i] and not g.any():
                continue
            set_grad(p, g)


def make_buckets(params: list, bucket_cap_mb: float = DEFAULT_BUCKET_MB) -> list:
    """Buckets in the order the gradients arrive in backward (the reverse of the parameters'
    order, as in PyTorch DDP), one dtype each, each at most ``bucket_cap_mb`` MB (a larger
    single parameter gets a bucket of its own)."""
    cap = max(1, int(bucket_cap_mb * 2**20))
    buckets, current, nbytes = [], {}, {}
    for p in reversed(params):
        key = p.dtype
        size = p._data.nbytes
        if current.get(key) and nbytes[key] + size > cap:
            buckets.append(Bucket(current.pop(key)))
            nbytes[key] = 0
        current.setdefault(key, []).append(p)
        nbytes[key] = nbytes.get(key, 0) + size
    buckets.extend(Bucket(group) for group in current.values())
    return buckets


def allreduce_gradients(model, average: bool = True, bucket_cap_mb: float = DEFAULT_BUCKET_MB,
                        comm=None) -> None:
    """After ``backward()``: replace every parameter's ``.grad`` by its sum (``average``: its
    mean) over the ranks, one non-blocking MPI_Iallreduce per bucket (all in flight at once),
    then wait for them all. ``model``: a Module or a list of parameters, the same on every
    rank (``broadcast_parameters`` checks that)."""
    MPI = _import_mpi()
    comm = comm or comm_world()
    params = _params(model)
    if not params:
        return
    buckets = make_buckets(params, bucket_cap_mb)
    had = [[p.grad is not None for p in b.params] for b in buckets]
    requests = []
    for b in buckets:
        b.pack()
        requests.append(comm.Iallreduce(MPI.IN_PLACE, b.buffer, op=MPI.SUM))
    MPI.Request.Waitall(requests)
    k = comm.Get_size()
    for b, h in zip(buckets, had):
        if average and k > 1:
            b.buffer /= b.buffer.dtype.type(k)
        b.unpack(h)
