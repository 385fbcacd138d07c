"""Run under mpiexec (3 ranks): the sampler's shards and the start-up mismatch checks.
Rank 0 prints one JSON line."""
import json

import numpy as np

import autograd_cnn.distributed as dist
import autograd_cnn.nn as nn
from autograd_cnn.data import TensorDataset
import autograd_cnn as ac

rank, k = dist.init()
out = {"world": k}
data = TensorDataset(ac.tensor(np.arange(10.0)), ac.tensor(np.arange(10)))
for epoch in (0, 1):
    sampler = dist.DistributedSampler(data, shuffle=True, seed=3)
    sampler.set_epoch(epoch)
    shards = dist.comm_world().allgather([int(i) for i in sampler])
    out[f"epoch{epoch}"] = shards
# a dataset of another length on the last rank: detected, reported by rank
short = TensorDataset(ac.tensor(np.arange(9.0 if rank == k - 1 else 10.0)),
                      ac.tensor(np.arange(9 if rank == k - 1 else 10)))
try:
    dist.DistributedSampler(short)
    out["data_mismatch"] = None
except ValueError as err:
    out["data_mismatch"] = str(err)
# a model with another width on rank 1
net = nn.Sequential(nn.Linear(4, 3 if rank != 1 else 5), nn.Linear(3 if rank != 1 else 5, 2))
try:
    dist.DistributedDataParallel(net)
    out["model_mismatch"] = None
except ValueError as err:
    out["model_mismatch"] = str(err)
# DDP's state dict is the wrapped module's (no "module." prefix)
ddp = dist.DistributedDataParallel(nn.Sequential(nn.Linear(4, 3)))
out["state_keys"] = sorted(ddp.state_dict())
# convert_sync_batchnorm: every BatchNorm replaced, keeping its Parameter and buffer objects
bn_net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Sequential(nn.BatchNorm1d(3)))
before = [id(p) for p in bn_net.parameters()] + [id(b) for b in bn_net.buffers()]
converted = dist.convert_sync_batchnorm(bn_net)
out["converted"] = [type(m).__name__ for m in converted.modules()]
out["same_objects"] = before == [id(p) for p in converted.parameters()] + \
    [id(b) for b in converted.buffers()]
if rank == 0:
    print(json.dumps(out))
