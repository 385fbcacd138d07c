"""DistributedDataParallel: the model's gradients averaged over the ranks during backward.

    model = DistributedDataParallel(net)        # broadcasts rank 0's weights to every rank
    loss = loss_fn(model(x), y); loss.backward()   # .grad is now the mean over the ranks
    optimizer.step()

How the reduction overlaps backward (as PyTorch DDP and Horovod do): the parameters are split
into buckets (collectives.make_buckets, in the order their gradients arrive). A hook on each
parameter (``Tensor.register_hook``) copies the gradient into its bucket's flat buffer; the
moment a bucket is full, a non-blocking MPI_Iallreduce of it starts, and backward goes on
computing the gradients of the earlier layers while the bucket travels. Each later hook calls
MPI_Testall on the requests in flight, which drives MPICH's progress engine (without an
asynchronous progress thread, MPI moves data only inside MPI calls). When the last parameter's
gradient has arrived, the hook waits for every bucket and writes the averaged gradients into
``.grad``: the engine stores ``.grad`` after the hook returns, so that last hook returns its own
averaged gradient as the replacement.

``overlap=False`` reduces everything after backward instead (``allreduce_gradients``): the
baseline the benchmark compares with. A model too small for more than one bucket gains nothing
from overlapping (the only bucket is full when backward ends).

Parameters that get no gradient this step (a branch not taken) would keep their bucket from
ever filling: ``find_unused_parameters=True`` walks the graph from the output after forward and
marks them ready (as PyTorch). A parameter used twice in one forward gets its second gradient
after its bucket has left: that part is reduced on the spot (blocking) and added, so the result
is still exact.
"""

from __future__ import annotations

import numpy as np

from ..engine import topological_order
from ..nn.module import Module
from ..tensor import Tensor, set_grad
from ._mpi import _import_mpi, comm_world
from .collectives import (DEFAULT_BUCKET_MB, allreduce_gradients, broadcast_parameters,
                          make_buckets)

__all__ = ["DistributedDataParallel"]


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training over MPI (every rank runs the same script on
    its own shard of the data).

    (at construction rank 0's parameters and buffers go to every rank, so the ranks start
    identical; a different architecture on some rank is an error naming it)
    broadcast_buffers:      also copy rank 0's buffers (BatchNorm's running statistics) to
                            every rank at each training forward, as PyTorch
    bucket_cap_mb:          bucket size (PyTorch's default 25 MB)
    overlap:                reduce buckets during backward from gradient hooks (else after it)
    find_unused_parameters: look for parameters outside the forward's graph (see module doc)
    average:                divide the summed gradients by the world size
    """

    def __init__(self, module, bucket_cap_mb: float = DEFAULT_BUCKET_MB, overlap: bool = True,
                 find_unused_parameters: bool = False, average: bool = True, comm=None,
                 broadcast_buffers: bool = True):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected a Module, got "
                            f"{type(module).__name__}")
        self.module = module
        world = comm or comm_world()
        broadcast_parameters(module, comm=world)
        self.broadcast_buffers = bool(broadcast_buffers)
        self._comm = world.Dup()              # gradients apart from SyncBatchNorm's collectives
        self._MPI = _import_mpi()
        self.world_size = world.Get_size()
        self.overlap, self.average = bool(overlap), bool(average)
        self.find_unused_parameters = bool(find_unused_parameters)
        self.bucket_cap_mb = bucket_cap_mb
        self._params = [p for p in module.parameters() if p.requires_grad]
        self._buckets = make_buckets(self._params, bucket_cap_mb)
        self._where = {}                      # id(param) -> (bucket index, slot index)
        for b, bucket in enumerate(self._buckets):
            for i, p in enumerate(bucket.params):
                self._where[id(p)] = (b, i)
        self._handles = []
        if self.overlap and self.world_size > 1:
            for p in self._params:
                self._handles.append(p.register_hook(self._make_hook(p)))
        self._reset()

    # ---- one step's state ----------------------------------------------------------------------

    def _reset(self) -> None:
        self._ready = [[False] * len(b.params) for b in self._buckets]
        self._left = [len(b.params) for b in self._buckets]   # params still to arrive per bucket
        self._prior = [[None] * len(b.params) for b in self._buckets]   # .grad before backward
        self._late = [[None] * len(b.params) for b in self._buckets]    # reduced 2nd gradients
        self._requests = [None] * len(self._buckets)
        self._remaining = len(self._params)
        self._finished = False
        for b in self._buckets:
            b.buffer[:] = 0

    def forward(self, *args, **kwargs):
        if self.overlap and self.world_size > 1:
            if not self._finished and self._remaining != len(self._params):
                raise RuntimeError(
                    f"DistributedDataParallel: the previous backward left {self._remaining} "
                    "parameter(s) without a gradient, so their buckets were never reduced; "
                    "pass find_unused_parameters=True when some parameters are not used in "
                    "every forward")
            self._reset()
        if self.broadcast_buffers and self.training and self.world_size > 1:
            for buf in self.module.buffers():
                if buf is not None:
                    self._comm.Bcast(buf._data, root=0)
        out = self.module(*args, **kwargs)
        if self.find_unused_parameters and self.overlap and self.world_size > 1 \
                and self.training:
            reached = {id(n) for n in topological_order(_tensors(out))}
            for p in self._params:
                if id(p) not in reached:
                    b, i = self._where[id(p)]
                    self._prior[b][i] = p.grad._data.copy() if p.grad is not None else None
                    self._mark_ready(b, i, None)
        return out

    # ---- the hooks ----------------------------------------------------------------------------

    def _make_hook(self, p):
        b, i = self._where[id(p)]

        def hook(grad: Tensor):
            return self._on_grad(p, b, i, grad._data)
        return hook

    def _on_grad(self, p, b: int, i: int, g: np.ndarray):
        MPI = self._MPI
        if self._finished:                    # a 2nd use of p, after everything was reduced
            return Tensor(self._reduce_now(g))    # the engine adds it to the averaged .grad
        if self._ready[b][i]:                 # a 2nd use of p while its bucket is out
            if self._requests[b] is None:
                self._buckets[b].slot(i)[:] += g.reshape(-1)
            else:
                late = self._reduce_now(g).reshape(-1)
                prev = self._late[b][i]
                self._late[b][i] = late if prev is None else prev + late
            return None
        self._prior[b][i] = p.grad._data.copy() if p.grad is not None else None
        last = self._mark_ready(b, i, g)
        if last:
            return Tensor(self._finish(own=(b, i)))
        live = [r for r in self._requests if r is not None]
        if live:
            MPI.Request.Testall(live)         # progress the buckets in flight
        return None

    def _mark_ready(self, b: int, i: int, g) -> bool:
        """Put gradient ``g`` (None: unused) in its slot; start the bucket when it is full.
        True when this was the last parameter of the step."""
        if g is not None:
            self._buckets[b].slot(i)[:] = g.reshape(-1)
        self._ready[b][i] = True
        self._left[b] -= 1
        self._remaining -= 1
        if self._left[b] == 0:
            MPI = self._MPI
            self._requests[b] = self._comm.Iallreduce(MPI.IN_PLACE, self._buckets[b].buffer,
                                                      op=MPI.SUM)
        return self._remaining == 0

    def _reduce_now(self, g: np.ndarray) -> np.ndarray:
        buf = np.ascontiguousarray(g).copy()
        self._comm.Allreduce(self._MPI.IN_PLACE, buf, op=self._MPI.SUM)
        if self.average:
            buf /= buf.dtype.type(self.world_size)
        return buf

    def _finish(self, own):
        """Wait for every bucket, write the averaged gradients; return the one of ``own``
        (whose .grad the engine writes after the hook) as the hook's replacement."""
        self._MPI.Request.Waitall([r for r in self._requests if r is not None])
        self._finished = True
        k = self.world_size
        result = None
        for b, bucket in enumerate(self._buckets):
            if self.average:
                bucket.buffer /= bucket.buffer.dtype.type(k)
            for i, p in enumerate(bucket.params):
                g = bucket.slot(i).reshape(p.shape)
                if self._late[b][i] is not None:
                    g = g + self._late[b][i].reshape(p.shape)
                if (b, i) == own:             # the engine adds it to the prior .grad itself
                    result = g.copy()
                    continue
                prior = self._prior[b][i]
                if prior is None and p.grad is None and not g.any():
                    continue                  # unused everywhere: leave .grad as it was
                set_grad(p, g if prior is None else prior + g)
        return result

    # ---- without overlap -------------------------------------------------------------------

    def reduce_gradients(self) -> None:
        """Average ``.grad`` over the ranks now; what backward does by itself with
        ``overlap=True``. With ``overlap=False`` call it after ``backward()`` (Trainer does
        not know about it: use overlap=True there)."""
        if self.overlap and self.world_size > 1:
            if not self._finished:
                raise RuntimeError("DistributedDataParallel.reduce_gradients: with overlap=True "
                                   "the gradients are reduced by backward itself")
            return
        if self.world_size > 1:
            allreduce_gradients(self._params, self.average, self.bucket_cap_mb, self._comm)

    def remove_hooks(self) -> None:
        for h in self._handles:
            h.remove()
        self._handles = []

    def state_dict(self, *args, **kwargs):
        """The wrapped module's state dict (no ``module.`` prefix: checkpoints load into the
        plain model, as the CLI's evaluate and predict expect)."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args, **kwargs):
        return self.module.load_state_dict(*args, **kwargs)

    def extra_repr(self) -> str:
        return (f"world_size={self.world_size}, buckets={len(self._buckets)}, "
                f"overlap={self.overlap}")


def _tensors(out) -> list:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        return [t for o in out for t in _tensors(o)]
    if isinstance(out, dict):
        return [t for o in out.values() for t in _tensors(o)]
    return []
