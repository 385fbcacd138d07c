"""SyncBatchNorm: batch normalisation with the statistics of the batches of all ranks together.

With data parallelism each rank sees only its own part of the batch; a plain BatchNorm
normalises with that part's statistics (the default, as in PyTorch: no communication, and with
big enough per-rank batches usually fine). SyncBatchNorm normalises with the statistics of the
whole (global) batch, so K ranks with batches of B compute what one process computes on the
concatenated batch of K*B (training mode; eval mode uses the running statistics, no
communication).

Forward, per channel, rank r holding n_r values with mean m_r and biased variance v_r
(one MPI_Allgather of (n_r, m_r, v_r), combined exactly as Chan et al.):
    N = sum n_r,   mean = sum n_r m_r / N,   var = sum n_r (v_r + (m_r - mean)^2) / N
    y = (x - mean) / sqrt(var + eps) * weight + bias
Backward (one MPI_Allreduce of the two per-channel sums), with xh = (x - mean) / sigma:
    dx = weight / sigma * (g - S_g / N - xh * S_gxh / N),
    S_g = sum over all ranks of g,   S_gxh = sum over all ranks of g * xh
    dweight = sum of g * xh, dbias = sum of g   (this rank's; DDP averages them)
Running statistics: as BatchNorm, with the global mean and the unbiased N/(N-1) variance.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..functional.base import make
from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..tensor import Tensor
from ._mpi import _import_mpi, comm_world

__all__ = ["SyncBatchNorm", "convert_sync_batchnorm", "sync_batch_norm"]


class SyncBatchNormSaved(NamedTuple):
    """What a sync_batch_norm node keeps: the input as contiguous (N, C, L), the global
    per-channel mean and 1/sqrt(var + eps), the scale (weight * invstd), which optional
    parents it has, the global count N, and the communicator with its MPI module (the
    backward joins an Allreduce)."""
    x: np.ndarray
    mean: np.ndarray
    invstd: np.ndarray
    scale: np.ndarray
    has_weight: bool
    has_bias: bool
    count: float
    comm: object
    mpi: object


def sync_batch_norm(x: Tensor, running_mean, running_var, weight, bias, momentum: float,
                    eps: float, comm) -> Tensor:
    """Training-mode batch norm over the union of every rank's batch (module docstring).
    Shapes: x (N, C) or (N, C, *); weight, bias, running statistics (C,)."""
    MPI = _import_mpi()
    c = x.shape[1]
    x3 = np.ascontiguousarray(x._data).reshape(x.shape[0], c, -1)      # (N, C, *) -> (N, C, L)
    n_local = x3.shape[0] * x3.shape[2]
    mean_l, var_l = backend.batch_norm_stats(x3) if n_local else (np.zeros(c), np.zeros(c))
    mine = np.concatenate([[float(n_local)], mean_l, var_l])
    every = np.empty((comm.Get_size(), mine.size))
    comm.Allgather(mine, every)
    counts, means, vars_ = every[:, :1], every[:, 1:1 + c], every[:, 1 + c:]
    n = float(counts.sum())
    if n <= 1:
        raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all ranks "
                         f"when training, got {int(n)} (this rank's input shape {x.shape})")
    mean = (counts * means).sum(axis=0) / n
    var = (counts * (vars_ + (means - mean) ** 2)).sum(axis=0) / n
    for t, value in ((running_mean, mean), (running_var, var * (n / (n - 1)))):
        if t is not None:
            t._data *= (1 - momentum)
            t._data += (momentum * value).astype(t.dtype)
            t._bump_version()
    invstd = 1.0 / np.sqrt(var + eps)
    parents = [x] + [t for t in (weight, bias) if t is not None]
    w = weight._data.astype(np.float64) if weight is not None else None
    scale = invstd if w is None else invstd * w
    shift = bias._data.astype(np.float64) if bias is not None else np.zeros(c)
    out = backend.batch_norm_apply(x3, mean, scale, shift).reshape(x.shape)
    return make(out, tuple(parents), "sync_batch_norm", _sync_backward,
                SyncBatchNormSaved(x3, mean, invstd, scale, weight is not None,
                                   bias is not None, n, comm, MPI))


def _sync_backward(node, g):
    sv = node._saved
    x3, mean, invstd, scale, n = sv.x, sv.mean, sv.invstd, sv.scale, sv.count
    has_w, has_b, comm, MPI = sv.has_weight, sv.has_bias, sv.comm, sv.mpi
    parents = node._parents
    x = parents[0]
    w = parents[1] if has_w else None
    b = parents[-1] if has_b else None
    g3 = np.ascontiguousarray(g, dtype=x3.dtype).reshape(x3.shape)
    sum_g, sum_gx = backend.batch_norm_backward_sums(g3, x3, mean)
    gx = None
    if x.requires_grad:                      # the same on every rank: all join the reduction
        total = np.concatenate([sum_g, sum_gx])
        comm.Allreduce(MPI.IN_PLACE, total, op=MPI.SUM)
        all_g, all_gx = total[:len(sum_g)], total[len(sum_g):]
        gx = backend.batch_norm_backward_input(g3, x3, mean, scale, scale * all_g / n,
                                               scale * invstd ** 2 * all_gx / n).reshape(x.shape)
    grads = [gx]
    if has_w:
        grads.append((sum_gx * invstd).astype(w.dtype) if w.requires_grad else None)
    if has_b:
        grads.append(sum_g.astype(b.dtype) if b.requires_grad else None)
    return tuple(grads)


class SyncBatchNorm(_BatchNorm):
    __doc__ = (__doc__.split("\n\n")[1] + "\n\n    Shape: (N, C) or (N, C, *) -> the same. "
               "Outside an MPI job (or with one rank) it is BatchNorm.")
    _expected_dims = (2, 3, 4, 5)
    _shape_text = "(N, C) or (N, C, *)"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum=0.1, affine: bool = True,
                 track_running_stats: bool = True, dtype=None, comm=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, dtype)
        self._comm = comm

    def forward(self, input):
        self._check_input(input)
        comm = self._comm or comm_world()
        if not self.training or comm.Get_size() == 1:
            return super().forward(input)
        tracking = self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if tracking and self.momentum is None:
            factor = 1.0 / (int(self.num_batches_tracked.item()) + 1)
        if input.dtype.kind != "f":
            raise TypeError(f"SyncBatchNorm: input must be floating point, got {input.dtype}")
        out = sync_batch_norm(input, self.running_mean if tracking else None,
                              self.running_var if tracking else None, self.weight, self.bias,
                              factor, self.eps, comm)
        if tracking:
            self.num_batches_tracked._data += 1
            self.num_batches_tracked._bump_version()
        return out


def convert_sync_batchnorm(module: Module, comm=None) -> Module:
    """Replace every BatchNorm1d/2d in ``module`` by a SyncBatchNorm with the same settings,
    parameters and running statistics (the same Parameter objects: an optimiser built before
    keeps working). Returns the module (a new one if ``module`` itself is a BatchNorm)."""
    if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
        new = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, comm=comm)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        if module.track_running_stats:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(new, name, getattr(module, name))
        new.train(module.training)
        return new
    for name, child in list(module._modules.items()):
        if child is not None:
            setattr(module, name, convert_sync_batchnorm(child, comm))
    return module
