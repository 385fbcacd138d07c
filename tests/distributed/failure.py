"""Run under mpiexec (2 ranks): rank 1 dies (argv[1] == 'kill': SIGKILL; 'raise': an exception)
after a few gradient reductions, rank 0 keeps training. The job must end, with an error."""
import os
import signal
import sys

import numpy as np

import autograd_cnn as ac
import autograd_cnn.distributed as dist
import autograd_cnn.nn as nn

rank, k = dist.init()
model = dist.DistributedDataParallel(nn.Linear(8, 2))
for step in range(10**6):
    if rank == 1 and step == 3:
        if sys.argv[1] == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise RuntimeError("rank 1 fails on purpose")
    model(ac.tensor(np.ones((4, 8), np.float32))).sum().backward()
    if step == 2:
        print(f"rank {rank} reached step 2", flush=True)
