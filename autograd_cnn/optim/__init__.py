"""Optimisers and learning-rate schedulers, with PyTorch's names, formulas and defaults.

    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.1)
    for epoch in ...:
        for x, y in batches:
            opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
        sched.step()

Files: optimizer.py (the base class: groups, state, state_dict), sgd.py, adaptive.py (Adagrad,
Adadelta, RMSprop, Adam, AdamW), adam_variants.py (Adamax, NAdam, RAdam), lr_scheduler.py. Gradient clipping lives in ``nn.utils`` (as in PyTorch)
and is re-exported here.
"""

from . import lr_scheduler
from .adam_variants import Adamax, NAdam, RAdam
from .adaptive import Adadelta, Adagrad, Adam, AdamW, RMSprop
from .optimizer import Optimizer
from .sgd import SGD
from ..nn.utils import clip_grad_norm_, clip_grad_value_

__all__ = ["Optimizer", "SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW", "Adamax",
           "NAdam", "RAdam", "lr_scheduler",
           "clip_grad_norm_", "clip_grad_value_"]
