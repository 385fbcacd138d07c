"""Run under mpiexec: K ranks of DDP (+ SyncBatchNorm) against one process on the concatenated
batches. Rank 0 prints one JSON line: the largest parameter difference per variant."""
import json
import sys

import numpy as np

import autograd_cnn as ac
import autograd_cnn.distributed as dist
import autograd_cnn.nn as nn
from autograd_cnn import optim

STEPS, B = 3, 4                          # SGD steps; samples per rank per step


def make_model(bn: bool):
    ac.manual_seed(0)
    layers = [nn.Conv2d(2, 4, 3, padding=1)]
    if bn:
        layers.append(nn.BatchNorm2d(4))
    layers += [nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 6), nn.ReLU(), nn.Linear(6, 3)]
    return nn.Sequential(*layers).double()


def data(k):
    rng = np.random.default_rng(42)
    x = rng.standard_normal((STEPS, k * B, 2, 5, 5))
    y = rng.integers(0, 3, (STEPS, k * B))
    return x, y


def train(model, xs, ys, wrap=None, set_to_none=True, seen=None):
    net = wrap(model) if wrap else model
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    for x, y in zip(xs, ys):
        opt.zero_grad(set_to_none=set_to_none)
        loss_fn(net(ac.tensor(x)), ac.tensor(y)).backward()
        if seen is not None:          # the tensors that held .grad after each step (kept alive)
            seen.append([p.grad for p in model.parameters()])
        opt.step()
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def main():
    rank, k = dist.init()
    x, y = data(k)
    mine = slice(rank * B, (rank + 1) * B)
    out = {}
    variants = {
        "ddp_overlap": (False, lambda m: dist.DistributedDataParallel(m, bucket_cap_mb=0.001)),
        "ddp_after": (False, None),
        "syncbn": (True, lambda m: dist.DistributedDataParallel(
            dist.convert_sync_batchnorm(m), bucket_cap_mb=0.001)),
        "localbn": (True, lambda m: dist.DistributedDataParallel(m)),
        "ddp_zeroed": (False, lambda m: dist.DistributedDataParallel(m, bucket_cap_mb=0.001)),
    }
    for name, (bn, wrap) in variants.items():
        model = make_model(bn)
        if name == "ddp_after":              # reduce after backward: allreduce_gradients
            opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
            for xb, yb in zip(x[:, mine], y[:, mine]):
                opt.zero_grad()
                nn.CrossEntropyLoss()(model(ac.tensor(xb)), ac.tensor(yb)).backward()
                dist.allreduce_gradients(model)
                opt.step()
            got = {kk: v._data.copy() for kk, v in model.state_dict().items()}
        elif name == "ddp_zeroed":           # zero_grad(set_to_none=False): .grad kept, zeroed
            seen = []
            got = train(model, x[:, mine], y[:, mine], wrap, set_to_none=False, seen=seen)
            out[name + "_same_grads"] = all(g is g0 for step in seen for g, g0 in zip(step, seen[0]))
        else:
            got = train(model, x[:, mine], y[:, mine], wrap)
        ref = train(make_model(bn), x, y)   # one process, all K*B samples per step
        out[name] = max(float(np.abs(got[kk] - ref[kk]).max()) for kk in ref)
        flat = np.concatenate([got[n].ravel() for n, _ in model.named_parameters()])
        mean = dist.allreduce_array(flat, average=True)
        out[name + "_ranks_agree"] = bool(np.abs(mean - flat).max() < 1e-12)
    if rank == 0:
        print(json.dumps(out))
        sys.stdout.flush()


main()
