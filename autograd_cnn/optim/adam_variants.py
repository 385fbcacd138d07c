"""Adam's relatives, with PyTorch's formulas, state names and defaults: Adamax (the infinity
norm), NAdam (Nesterov momentum) and RAdam (a rectified warm-up). g is the gradient; every
update is elementwise and t counts this parameter's steps from 1."""

from __future__ import annotations

import math

import numpy as np

from .adaptive import check_betas
from .optimizer import Optimizer, _check_range

__all__ = ["Adamax", "NAdam", "RAdam"]


class _AdamFamily(Optimizer):
    """Shared checks: lr, eps and weight_decay >= 0, betas in [0, 1)."""

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        owner = type(self).__name__
        for name in ("eps", "weight_decay"):
            _check_range(group, name, owner)
        check_betas(group, owner)

    @staticmethod
    def _grad(p, grad, group, decoupled: bool = False):
        """g after maximize and weight decay: L2 (g + lambda p), or with ``decoupled`` the
        parameters shrink directly, p <- p (1 - lr lambda), as AdamW does."""
        if group["maximize"]:
            grad = -grad
        if group["weight_decay"] != 0:
            if decoupled:
                p._data *= 1 - group["lr"] * group["weight_decay"]
            else:
                grad = grad + group["weight_decay"] * p._data
        return grad


class Adamax(_AdamFamily):
    """Adamax (Kingma & Ba 2015, section 7): Adam with the infinity norm in place of the RMS.

        g <- g + lambda p;   m <- b1 m + (1 - b1) g;   u <- max(b2 u, |g| + eps)
        p <- p - (lr / (1 - b1^t)) m / u
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_inf"] = np.zeros_like(p._data)
        state["step"] += 1
        b1, b2 = group["betas"]
        grad = self._grad(p, grad, group)
        m, u = state["exp_avg"], state["exp_inf"]
        m += (1 - b1) * (grad - m)                          # lerp towards g
        np.maximum(u * b2, np.abs(grad) + group["eps"], out=u)
        p._data -= group["lr"] / (1 - b1 ** state["step"]) * m / u


class NAdam(_AdamFamily):
    """NAdam (Dozat 2016): Adam with Nesterov momentum and a momentum schedule
    mu_t = b1 (1 - 0.5 * 0.96^(t psi)), psi = momentum_decay.

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;   P_t = mu_1 ... mu_t
        d = sqrt(v / (1 - b2^t)) + eps
        p <- p - lr (1 - mu_t) / (1 - P_t) g / d - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d
    ``decoupled_weight_decay=True`` gives NAdamW's decay (see ``_AdamFamily._grad``).
    """

    def __init__(self, params, lr: float = 2e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, momentum_decay=momentum_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _check_group(self, group: dict) -> None:
        super()._check_group(group)
        _check_range(group, "momentum_decay", "NAdam")

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t, lr, (b1, b2) = state["step"], group["lr"], group["betas"]
        grad = self._grad(p, grad, group, group["decoupled_weight_decay"])
        mu = b1 * (1.0 - 0.5 * 0.96 ** (t * group["momentum_decay"]))
        mu_next = b1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * group["momentum_decay"]))
        state["mu_product"] *= mu
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (grad - m)
        v *= b2
        v += (1 - b2) * grad * grad
        denom = np.sqrt(v / (1 - b2 ** t)) + group["eps"]
        p._data -= lr * (1.0 - mu) / (1.0 - state["mu_product"]) * grad / denom
        p._data -= lr * mu_next / (1.0 - state["mu_product"] * mu_next) * m / denom


class RAdam(_AdamFamily):
    """RAdam (Liu et al. 2020): Adam whose adaptive step is switched on only once the variance
    of its estimate is tractable, and scaled by the rectification r_t meanwhile.

        m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2;   m_hat = m / (1 - b1^t)
        rho_inf = 2 / (1 - b2) - 1;   rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
        rho_t > 5:  r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                    p <- p - lr m_hat r_t sqrt(1 - b2^t) / (sqrt(v) + eps)
        otherwise:  p <- p - lr m_hat                                   (SGD with momentum)
    ``decoupled_weight_decay=True`` gives RAdamW's decay.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, decoupled_weight_decay: bool = False, *,
                 maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False, fused=None):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay,
                                      decoupled_weight_decay=decoupled_weight_decay,
                                      maximize=maximize))
        self._implementation(foreach, fused, capturable, differentiable)

    def _update(self, p, grad, state, group) -> None:
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p._data)
            state["exp_avg_sq"] = np.zeros_like(p._data)
        state["step"] += 1
        t, lr, (b1, b2) = state["step"], group["lr"], group["betas"]
        grad = self._grad(p, grad, group, group["decoupled_weight_decay"])
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - b1) * (grad - m)
        v *= b2
        v += (1 - b2) * grad * grad
        bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t
        m_hat = m / bc1
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2 ** t / bc2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                             / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            p._data -= m_hat * lr * (math.sqrt(bc2) / (np.sqrt(v) + group["eps"])) * rect
        else:
            p._data -= m_hat * lr
