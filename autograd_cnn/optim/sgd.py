"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .. import backend
from .optimizer import Optimizer, _check_range

__all__ = ["SGD"]


class SGD(Optimizer):
    """torch.optim.SGD, step by step (g = gradient, mu = momentum, tau = dampening,
    lambda = weight_decay, b = the momentum buffer):

        g <- g + lambda p                      (weight decay, if lambda != 0)
        b <- g  at the first step,   b <- mu b + (1 - tau) g  afterwards   (if mu != 0)
        g <- g + mu b  (nesterov)    or    g <- b                          (if mu != 0)
        p <- p - lr g

    maximize=True ascends (g <- -g first).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("momentum", "weight_decay"):
            _check_range(group, name, "SGD")
        _check_range(group, "dampening", "SGD", low=-float("inf"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError("SGD: nesterov momentum requires a momentum > 0 and zero dampening")

    def _update(self, p, grad, state, group) -> None:
        # one fused pass over p, grad and the buffer (kernels/optim.py; its numpy twin in
        # kernels/reference.py spells out the same lines as array expressions)
        first = False
        buf = None
        if group["momentum"] != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.empty_like(p._data)
                first = True
        backend.sgd_step(p._data, grad, buf, lr=group["lr"], momentum=group["momentum"],
                         dampening=group["dampening"], weight_decay=group["weight_decay"],
                         nesterov=group["nesterov"], maximize=group["maximize"], first=first)
