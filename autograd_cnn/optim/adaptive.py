"""Optimisers with per-parameter step sizes: Adagrad, RMSprop, Adam and AdamW (PyTorch's
formulas and defaults). g is the gradient; all updates are elementwise."""

from __future__ import annotations

import numpy as np

from .. import backend
from .optimizer import Optimizer, _check_range

__all__ = ["Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"]


def check_betas(group: dict, owner: str) -> None:
    """``betas`` a pair (b1, b2), each in [0, 1) (stored as a tuple)."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{owner}: betas must be a pair, got {betas!r}")
    group["betas"] = tuple(betas)
    for i, b in enumerate(betas):
        if not 0.0 <= b < 1.0:
            raise ValueError(f"{owner}: invalid beta parameter at index {i}: {b!r}, "
                             "expected in [0, 1)")


class Adagrad(Optimizer):
    """Adagrad (Duchi et al. 2011): each element's step shrinks with its squared-gradient sum.

        t <- t + 1;   g <- g + lambda p;   lr_t = lr / (1 + (t - 1) lr_decay)
        s <- s + g^2                     (s starts at initial_accumulator_value)
        p <- p - lr_t g / (sqrt(s) + eps)
    """

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0,
                 weight_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            _check_range(group, name, "Adagrad")

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p._data, group["initial_accumulator_value"])
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        p._data -= lr * grad / (np.sqrt(state["sum"]) + group["eps"])


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012): steps sized by the ratio of two running RMS, of past updates and
    of gradients, so the units match and lr = 1 is the paper's method.

        g <- g + lambda p;         v <- rho v + (1 - rho) g^2
        d = sqrt(u + eps) / sqrt(v + eps) * g;   u <- rho u + (1 - rho) d^2
        p <- p - lr d
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay,
                                      maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("eps", "weight_decay"):
            _check_range(group, name, "Adadelta")
        _check_range(group, "rho", "Adadelta", 0.0, 1.0)

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            state["acc_delta"] = np.zeros_like(p._data)
        state["step"] += 1
        rho, eps = group["rho"], group["eps"]
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        v, u = state["square_avg"], state["acc_delta"]
        v *= rho
        v += (1 - rho) * grad * grad
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
        u *= rho
        u += (1 - rho) * delta * delta
        p._data -= group["lr"] * delta


class RMSprop(Optimizer):
    """RMSprop (Hinton's lecture 6e): divide by a running root-mean-square of the gradient.

        g <- g + lambda p;   v <- alpha v + (1 - alpha) g^2
        centered: m <- alpha m + (1 - alpha) g,  d = sqrt(v - m^2) + eps;   else d = sqrt(v) + eps
        momentum mu > 0: b <- mu b + g / d,  p <- p - lr b;     else p <- p - lr g / d
    """

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False, *,
                 maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        for name in ("eps", "weight_decay", "momentum"):
            _check_range(group, name, "RMSprop")
        _check_range(group, "alpha", "RMSprop", 0.0, 1.0)

    def _update(self, p, grad, state, group) -> None:
        alpha = group["alpha"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p._data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * p._data
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * grad * grad
        if group["centered"]:
            m = state["grad_avg"]
            m *= alpha
            m += (1 - alpha) * grad
            # v - m^2 >= 0 in exact arithmetic; rounding must not turn it into a NaN
            avg = np.sqrt(np.maximum(v - m * m, 0)) + group["eps"]
        else:
            avg = np.sqrt(v) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / avg
            p._data -= group["lr"] * buf
        else:
            p._data -= group["lr"] * grad / avg


class Adam(Optimizer):
    """Adam (Kingma & Ba 2015): momentum on g and on g^2, both bias-corrected.

        t <- t + 1;   g <- g + lambda p   (L2 weight decay: Adam only, see AdamW)
        m <- b1 m + (1 - b1) g;    v <- b2 v + (1 - b2) g^2
        p <- p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    amsgrad=True uses the running maximum of v instead of v.
    """

    _decoupled = False

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        owner = type(self).__name__
        for name in ("eps", "weight_decay"):
            _check_range(group, name, owner)
        check_betas(group, owner)

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        # one fused pass over p, grad, m and v (kernels/optim.py; its numpy twin in
        # kernels/reference.py spells out the formula above as array expressions)
        backend.adam_step(p._data, grad, state["exp_avg"], state["exp_avg_sq"],
                          state.get("max_exp_avg_sq") if group["amsgrad"] else None,
                          lr=group["lr"], betas=group["betas"], eps=group["eps"],
                          weight_decay=group["weight_decay"], decoupled=self._decoupled,
                          amsgrad=group["amsgrad"], maximize=group["maximize"],
                          step=state["step"])


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): the parameters shrink
    directly, p <- p (1 - lr lambda), before the Adam step, instead of adding lambda p to the
    gradient (where Adam's scaling would weaken it). Default weight_decay 0.01 as in PyTorch."""

    _decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize)
        self._implementation(foreach, fused, capturable, differentiable)
