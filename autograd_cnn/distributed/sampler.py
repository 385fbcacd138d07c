"""DistributedSampler: each rank's shard of a dataset, as PyTorch's.

    sampler = DistributedSampler(train_set, shuffle=True, seed=0)   # rank and size from MPI
    loader = DataLoader(train_set, batch_size=32, sampler=sampler)
    for epoch in range(epochs):
        sampler.set_epoch(epoch)          # Trainer does this itself
        ...

Epoch e: the indices 0..n-1, permuted by numpy's default_rng([seed, e]) (the same permutation on
every rank: the seed is shared), padded by repeating its first indices up to a multiple of
num_replicas (or, with drop_last, cut down to one), then rank r takes every num_replicas-th
index from position r. The shards are disjoint (apart from the padding) and together cover the
data; every rank has ceil(n / num_replicas) indices (floor with drop_last), so every rank runs
the same number of batches and no rank waits in a collective for one that has finished.
"""

from __future__ import annotations

import math

import numpy as np

from ..args import int_value, positive_int

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """Indices of ``dataset`` for rank ``rank`` of ``num_replicas`` (both default to the MPI
    job's, and then the ranks check that their datasets have the same length)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: dataset must have a length, got "
                            f"{type(dataset).__name__}")
        from_mpi = num_replicas is None or rank is None
        if from_mpi:
            from ._mpi import init
            mpi_rank, mpi_size = init()
            num_replicas = mpi_size if num_replicas is None else num_replicas
            rank = mpi_rank if rank is None else rank
        self.num_replicas = int_value(num_replicas, "num_replicas", "DistributedSampler")
        self.rank = int_value(rank, "rank", "DistributedSampler")
        if self.num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be at least 1, got "
                             f"{self.num_replicas}")
        if not 0 <= self.rank < self.num_replicas:
            raise ValueError(f"DistributedSampler: rank must be in [0, {self.num_replicas - 1}] "
                             f"(num_replicas {self.num_replicas}), got {self.rank}")
        self.seed = int_value(seed, "seed", "DistributedSampler")
        self.dataset, self.shuffle, self.drop_last = dataset, bool(shuffle), bool(drop_last)
        n = len(dataset)
        if from_mpi and self.num_replicas > 1:
            from .collectives import check_same
            check_same(n, "the length of the dataset given to DistributedSampler")
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        if self.num_samples < 1:
            raise ValueError(f"DistributedSampler: {n} samples cannot give each of "
                             f"{self.num_replicas} ranks one{' (drop_last=True)' * self.drop_last}")
        self.total_size = self.num_samples * self.num_replicas
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Shuffle for epoch ``epoch`` next (call it with the same value on every rank)."""
        self.epoch = positive_int(epoch, "epoch", "DistributedSampler.set_epoch",
                                  allow_zero=True)

    def indices(self) -> np.ndarray:
        n = len(self.dataset)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:               # pad by repeating from the start
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(int(i) for i in self.indices())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"DistributedSampler(rank={self.rank}, num_replicas={self.num_replicas}, "
                f"shuffle={self.shuffle}, seed={self.seed}, drop_last={self.drop_last})")
