"""``Optimizer``: the base class. It keeps parameter groups (each a dict of 'params' and its own
hyperparameters), per-parameter state, ``zero_grad``, ``step`` and ``state_dict`` in PyTorch's
format: ``{'state': {index: {...}}, 'param_groups': [{..., 'params': [index, ...]}]}``, where
parameters are numbered in the order the groups list them.

A subclass sets its defaults, checks a group's hyperparameters in ``_check_group`` and updates
one parameter in ``_update(p, grad, state, group)``, in place on ``p._data`` (SGD and Adam/AdamW
through fused kernels, ``kernels/optim.py``; the others as numpy expressions). ``step`` runs the
updates under ``no_grad`` (they never build a graph) and bumps each parameter's version counter,
so a graph recorded before the step refuses a stale backward.
"""

from __future__ import annotations

import numpy as np

from ..engine import enable_grad, no_grad
from ..tensor import Tensor, zero_grad

__all__ = ["Optimizer"]


def _check_range(group: dict, name: str, owner: str, low=0.0, high=None,
                 high_open=False) -> None:
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{owner}: {name} must be a number, got {type(value).__name__}")
    if not np.isfinite(value) or value < low or \
            (high is not None and (value >= high if high_open else value > high)):
        bracket = ")" if high_open else "]"
        expected = f"a finite number >= {low}" if high is None else \
            f"in [{low}, {high}{bracket}"
        raise ValueError(f"{owner}: invalid {name} {value!r}, expected {expected}")


class Optimizer:
    """Base class of the optimisers: ``Optimizer(params, defaults)`` where params is an iterable
    of tensors or of dicts ``{'params': [...], 'lr': ..., ...}`` (parameter groups, each with
    its own options; missing options take the defaults)."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list = []
        owner = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{owner}: params must be an iterable of tensors or of dicts, got a "
                            "single Tensor; pass [tensor] or model.parameters()")
        if isinstance(params, (set, frozenset)):
            raise TypeError(f"{owner}: params must be an ordered iterable (a list), not a set: "
                            "the state dict numbers parameters by their order")
        params = list(params)
        if not params:
            raise ValueError(f"{owner} got an empty parameter list")
        if not isinstance(params[0], dict):
            params = [{"params": params}]
        for group in params:
            self.add_param_group(group)

    def _implementation(self, foreach=None, fused=None, capturable=False,
                        differentiable=False) -> None:
        """PyTorch's implementation switches (``foreach=``, ``fused=``, ``capturable=``): the
        same update whichever is asked, so they are accepted and change nothing here (the
        update is one fused kernel per parameter anyway). ``differentiable=True`` (a step
        recorded for autograd) is refused."""
        owner = type(self).__name__
        for name, value in (("foreach", foreach), ("fused", fused)):
            if value is not None and not isinstance(value, bool):
                raise TypeError(f"{owner}: {name} must be None, True or False, got {value!r}")
        if not isinstance(capturable, bool):
            raise TypeError(f"{owner}: capturable must be True or False, got {capturable!r}")
        if differentiable:
            raise ValueError(f"{owner}: differentiable=True (an optimiser step recorded for "
                             "autograd) is not supported; the step runs under no_grad")

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyperparameters (subclasses extend this)."""
        _check_range(group, "lr", type(self).__name__)

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own options (e.g. a new layer when fine-tuning)."""
        owner = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{owner}: a parameter group must be a dict, got "
                            f"{type(param_group).__name__}")
        if "params" not in param_group:
            raise ValueError(f"{owner}: a parameter group needs a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{owner}: a group's params must be a list, not a set")
        params = list(params)
        names = None
        if params and all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str)
                          for p in params):
            # model.named_parameters(): PyTorch keeps the names in the group's 'param_names'
            names = [n for n, _ in params]
            params = [p for _, p in params]
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        ids = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{owner} can only optimize Tensors, but parameter {i} is a "
                                f"{type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{owner}: can't optimize a non-leaf Tensor (parameter {i}, "
                                 f"op {p.op!r}); optimise the leaf it was computed from")
            if p.dtype.kind != "f":
                raise TypeError(f"{owner}: parameter {i} has dtype {p.dtype}; only floating "
                                "tensors can be optimised")
            if id(p) in seen:
                raise ValueError(f"{owner}: some parameters appear in more than one parameter "
                                 f"group (parameter {i} of shape {p.shape})")
            if id(p) in ids:
                raise ValueError(f"{owner}: parameter {i} (shape {p.shape}) appears twice in "
                                 "one group; it would be updated twice per step")
            ids.add(id(p))
        # extra keys (a group's 'name', a scheduler's 'initial_lr') are kept, as in PyTorch
        group = {**self.defaults, **param_group, "params": params}
        if names is not None:
            group["param_names"] = names
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (None, or zeros with set_to_none=False) before the next
        backward: backward accumulates into ``.grad``."""
        for group in self.param_groups:
            for p in group["params"]:
                zero_grad(p, set_to_none)

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) recomputes
        and returns the loss (with gradients); its value is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self._update(p, p.grad._data, self.state.setdefault(p, {}), group)
                    p._bump_version()
        return loss

    def _update(self, p: Tensor, grad: np.ndarray, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define _update")

    # ---- state dict ----------------------------------------------------------------------------

    def state_dict(self) -> dict:
        """{'state': {index: per-parameter state}, 'param_groups': [options + 'params' indices]}.
        Arrays are the live state (not copies), as in PyTorch; ac.save writes them out."""
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = dict(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore state and hyperparameters saved by ``state_dict``, for an optimiser built on
        parameters of the same shapes in the same order. Everything is checked before anything
        is changed; floating state is cast to each parameter's dtype."""
        owner = type(self).__name__
        if not isinstance(state_dict, dict) or set(state_dict) != {"state", "param_groups"}:
            raise ValueError(f"{owner}.load_state_dict: expected a dict with keys 'state' and "
                             "'param_groups' (from optimizer.state_dict())")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{owner}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (saved, own) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(f"{owner}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameters in the state dict and "
                                 f"{len(own['params'])} in this optimizer")
            for idx, p in zip(saved["params"], own["params"]):
                by_index[int(idx)] = p
        new_state = {}
        for key, entry in state_dict["state"].items():
            try:
                p = by_index[int(key)]
            except (KeyError, ValueError):
                raise ValueError(f"{owner}.load_state_dict: state for parameter {key!r}, which "
                                 "no parameter group lists") from None
            new_state[p] = {name: self._restore(value, p, key, name)
                            for name, value in entry.items()}
        # all checked: now write
        self.state = new_state
        for saved, own in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    own[k] = tuple(v) if isinstance(own.get(k), tuple) else v

    def _restore(self, value, p: Tensor, key, name: str):
        if isinstance(value, Tensor):
            value = value._data
        if isinstance(value, np.ndarray):
            if value.ndim and value.shape != p.shape:
                raise ValueError(f"{type(self).__name__}.load_state_dict: state '{name}' of "
                                 f"parameter {key} has shape {value.shape}, but the parameter "
                                 f"has shape {p.shape}")
            return value.astype(p.dtype) if value.dtype.kind == "f" else value.copy()
        return value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        return "\n".join(lines) + "\n)"
