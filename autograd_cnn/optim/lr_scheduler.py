"""Learning-rate schedulers, as in ``torch.optim.lr_scheduler``: call ``scheduler.step()`` once
per epoch (after ``optimizer.step()``); ``ReduceLROnPlateau.step(metric)`` takes the validation
metric. With lr_0 a group's initial rate (``group['initial_lr']``) and t = ``last_epoch``, the
rates follow:

    StepLR             lr_0 * gamma ** (t // step_size)
    MultiStepLR        lr_0 * gamma ** (number of milestones <= t)
    ExponentialLR      lr_0 * gamma ** t
    LambdaLR           lr_0 * lr_lambda(t)
    CosineAnnealingLR  eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2
    InverseTimeLR      lr_0 / (1 + decay_rate * t)       (the lecture notes' "1/t decay")

As in PyTorch, ``step()`` applies each epoch's change to the rate the group has now (StepLR
multiplies by gamma every step_size epochs, ...), not the closed form: a rate changed by hand,
by ReduceLROnPlateau or by a second scheduler is carried forward, so schedulers compose
(ExponentialLR and StepLR on one optimizer multiply). Left alone, the two agree.
``step(epoch)`` jumps to ``epoch`` with the closed form. LambdaLR is the closed form always.
"""

from __future__ import annotations

import bisect
import math

from .optimizer import Optimizer

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "LambdaLR",
           "CosineAnnealingLR", "InverseTimeLR", "ReduceLROnPlateau"]


def _check_optimizer(optimizer, owner: str) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: expected an Optimizer, got {type(optimizer).__name__}")


class LRScheduler:
    """Base class: subclasses give the closed form ``_lr_at(base_lr, t)`` and the step
    ``_chain(lr, base_lr, t)``: the rate at epoch t from the group's rate at t - 1.
    Constructing a scheduler sets the rates for epoch 0 (``last_epoch`` becomes 0)."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1):
        owner = type(self).__name__
        _check_optimizer(optimizer, owner)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{owner}: param_groups[{i}] has no 'initial_lr'; resuming "
                                   "(last_epoch != -1) needs an optimizer that a scheduler "
                                   "already ran on")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def _lr_at(self, base_lr: float, t: int) -> float:
        raise NotImplementedError(f"{type(self).__name__} must define _lr_at")

    def _chain(self, lr: float, base_lr: float, t: int) -> float:
        """The rate for epoch t given the group's rate now (default: the closed form)."""
        return self._lr_at(base_lr, t)

    def get_lr(self) -> list:
        """The closed-form rates for the current epoch ``last_epoch`` (what ``step`` sets when
        nothing else changed the rates)."""
        return [self._lr_at(base, self.last_epoch) for base in self.base_lrs]

    def _next_lrs(self) -> list:
        return [self._chain(g["lr"], base, self.last_epoch)
                for g, base in zip(self.optimizer.param_groups, self.base_lrs)]

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch (or jump to ``epoch``, closed form) and set the optimizer's rates."""
        self._step_count += 1
        groups = self.optimizer.param_groups
        if epoch is None:
            self.last_epoch += 1
            lrs = self._next_lrs()
        else:
            self.last_epoch = int(epoch)
            lrs = self.get_lr()
        for group, lr in zip(groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def get_last_lr(self) -> list:
        """The rates the last ``step`` set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer (and functions, which cannot be saved)."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v) and k != "lr_lambdas"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """Multiply the rate by gamma every step_size epochs: lr_0 * gamma ** (t // step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive int, got {step_size!r}")
        self.step_size, self.gamma = step_size, float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr_at(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)

    def _chain(self, lr, base_lr, t):
        return lr * self.gamma if t > 0 and t % self.step_size == 0 else lr


class MultiStepLR(LRScheduler):
    """Multiply the rate by gamma at each milestone epoch: lr_0 * gamma ** #{m <= t}."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        if any(isinstance(m, bool) or not isinstance(m, int) or m < 0 for m in milestones):
            raise ValueError(f"MultiStepLR: milestones must be non-negative ints, got "
                             f"{milestones!r}")
        self.milestones, self.gamma = sorted(milestones), float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr_at(self, base_lr, t):
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)

    def _chain(self, lr, base_lr, t):
        return lr * self.gamma ** self.milestones.count(t)     # a repeated milestone: twice


class ExponentialLR(LRScheduler):
    """Multiply the rate by gamma every epoch: lr_0 * gamma ** t."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def _lr_at(self, base_lr, t):
        return base_lr * self.gamma ** t

    def _chain(self, lr, base_lr, t):
        return lr * self.gamma if t > 0 else lr


class LambdaLR(LRScheduler):
    """lr_0 * lr_lambda(t), with one function for all groups or a list with one per group
    (e.g. a linear warm-up: ``lambda t: min(1.0, (t + 1) / 5)``)."""

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        _check_optimizer(optimizer, "LambdaLR")
        n = len(optimizer.param_groups)
        lambdas = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(lambdas) != n:
            raise ValueError(f"LambdaLR: expected {n} lr_lambdas (one per parameter group), "
                             f"got {len(lambdas)}")
        if not all(callable(f) for f in lambdas):
            raise TypeError("LambdaLR: lr_lambda must be a function of the epoch (or a list)")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list:
        return [base * f(self.last_epoch) for base, f in zip(self.base_lrs, self.lr_lambdas)]

    _next_lrs = get_lr                  # not chainable, in PyTorch either


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from lr_0 down to eta_min over T_max epochs (SGDR without restarts):
    eta_min + (lr_0 - eta_min) (1 + cos(pi t / T_max)) / 2."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive int, got {T_max!r}")
        self.T_max, self.eta_min = T_max, float(eta_min)
        super().__init__(optimizer, last_epoch)

    def _lr_at(self, base_lr, t):
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def _chain(self, lr, base_lr, t):
        # PyTorch's recursive form: the ratio of consecutive closed-form distances to eta_min
        # (past T_max the cosine climbs back up: at the restart points that ratio is 0/0, so
        # the step adds the closed-form increment instead)
        if t == 0:
            return lr
        if self._step_count == 1:                     # resumed at t > 0: no rate to chain from
            return self._lr_at(base_lr, t)
        if (t - 1 - self.T_max) % (2 * self.T_max) == 0:
            return lr + (base_lr - self.eta_min) * (1 - math.cos(math.pi / self.T_max)) / 2
        return (1 + math.cos(math.pi * t / self.T_max)) / \
            (1 + math.cos(math.pi * (t - 1) / self.T_max)) * (lr - self.eta_min) + self.eta_min


class InverseTimeLR(LRScheduler):
    """The lecture notes' decay alpha = alpha_0 / (1 + decay_rate * epoch) (not in PyTorch)."""

    def __init__(self, optimizer, decay_rate: float, last_epoch: int = -1):
        if decay_rate < 0:
            raise ValueError(f"InverseTimeLR: decay_rate must be non-negative, got {decay_rate}")
        self.decay_rate = float(decay_rate)
        super().__init__(optimizer, last_epoch)

    def _lr_at(self, base_lr, t):
        return base_lr / (1 + self.decay_rate * t)

    def _chain(self, lr, base_lr, t):
        return lr * (1 + self.decay_rate * (t - 1)) / (1 + self.decay_rate * t) if t > 0 else lr


class ReduceLROnPlateau:
    """Multiply the rate by ``factor`` when a metric has stopped improving for more than
    ``patience`` epochs: call ``step(metric)`` after each validation.

    Improvement (mode 'min'; 'max' mirrors it): metric < best (1 - threshold) for
    threshold_mode 'rel', metric < best - threshold for 'abs'. After a reduction, ``cooldown``
    epochs pass before bad epochs count again. Rates never drop below min_lr (one value, or one
    per group), and a reduction smaller than eps is skipped.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        _check_optimizer(optimizer, "ReduceLROnPlateau")
        if not 0 <= factor < 1:
            raise ValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor}")
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got "
                             f"{threshold_mode!r}")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"ReduceLROnPlateau: expected {n} min_lr values, got "
                                 f"{len(min_lr)}")
            self.min_lrs = [float(v) for v in min_lr]
        else:
            self.min_lrs = [float(min_lr)] * n
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            limit = self.best * (1 - self.threshold) if self.threshold_mode == "rel" \
                else self.best - self.threshold
            return value < limit
        limit = self.best * (1 + self.threshold) if self.threshold_mode == "rel" \
            else self.best + self.threshold
        return value > limit

    def step(self, metrics) -> None:
        value = float(metrics)
        self.last_epoch += 1
        if self._is_better(value):
            self.best = value
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def state_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        self.__dict__.update(state_dict)
