"""Gradient clipping and parameter/vector conversion (``nn.utils`` in PyTorch), and the
transfer-learning helpers ``layers_with_parameters`` / ``freeze_except_last`` (not in PyTorch)."""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters", "layers_with_parameters", "freeze_except_last"]


def _tensors(parameters, where: str) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: expected tensors, item {i} is a {type(p).__name__}")
    return params


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    total = (sum over every gradient element |g|^p)^(1/p)   (max |g| for p = inf)
    every g <- g * min(1, max_norm / (total + 1e-6))

    Returns the total norm before clipping (a 0-d tensor). A non-finite total (a NaN or Inf
    gradient) raises RuntimeError when error_if_nonfinite=True; otherwise the gradients become
    NaN as in PyTorch, which a training loop can detect."""
    params = [p for p in _tensors(parameters, "clip_grad_norm_") if p.grad is not None]
    max_norm, norm_type = float(max_norm), float(norm_type)
    if max_norm < 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be non-negative, got {max_norm}")
    if norm_type <= 0:
        raise ValueError(f"clip_grad_norm_: norm_type must be positive, got {norm_type}")
    if not params:
        return Tensor(np.asarray(0.0, np.float32))
    dtype = params[0].grad.dtype
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isinf(norm_type):
            total = max(float(np.max(np.abs(p.grad._data))) if p.grad._data.size else 0.0
                        for p in params)
        else:
            norms = np.array([np.linalg.norm(p.grad._data.reshape(-1).astype(np.float64),
                                             ord=norm_type) for p in params])
            total = float(np.linalg.norm(norms, ord=norm_type))
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total}, so it cannot be clipped; a NaN or Inf gradient usually means a diverging "
            "learning rate or a log/division of zero. Set error_if_nonfinite=False to clip anyway"
        )
    coef = np.minimum(max_norm / (total + 1e-6), 1.0) if math.isfinite(total) else \
        max_norm / (total + 1e-6)
    if coef != 1.0:
        with np.errstate(invalid="ignore"):
            for p in params:
                p.grad._data *= np.asarray(coef, p.grad.dtype)
    return Tensor(np.asarray(total, dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for p in _tensors(parameters, "clip_grad_value_"):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor (a copy, outside the graph)."""
    params = _tensors(parameters, "parameters_to_vector")
    return Tensor(np.concatenate([p._data.reshape(-1) for p in params]))


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in place."""
    v = vec._data if isinstance(vec, Tensor) else np.asarray(vec)
    params = _tensors(parameters, "vector_to_parameters")
    total = sum(p._data.size for p in params)
    if v.ndim != 1 or v.size != total:
        raise ValueError(f"vector_to_parameters: expected a 1-D vector of {total} elements, "
                         f"got shape {v.shape}")
    start = 0
    for p in params:
        n = p._data.size
        p._data[...] = v[start:start + n].reshape(p.shape)
        p._bump_version()
        start += n


def layers_with_parameters(model) -> list:
    """The model's "layers" as ``freeze_except_last`` counts them: [(name, module)] for every
    module that owns parameters directly (``m.parameters(recurse=False)`` is not empty; in
    practice the leaves: Conv2d, Linear, BatchNorm2d, ...), in registration order (the order of
    ``model.named_modules()``, which for a Sequential is the order of the forward pass)."""
    return [(name, m) for name, m in model.named_modules()
            if next(iter(m.parameters(recurse=False)), None) is not None]


def freeze_except_last(model, k: int) -> list:
    """Freeze every parameter of ``model`` except those of its last ``k`` layers (see
    ``layers_with_parameters``: modules owning parameters, in registration order), in place.

    ``k = 0`` freezes everything; ``k`` >= the number of layers leaves all trainable. Returns
    the names of the layers left trainable. The lecture's recipe for small data ("retrain only
    the last layer") is ``freeze_except_last(model, 1)``, then an optimiser over
    ``[p for p in model.parameters() if p.requires_grad]``. BatchNorm layers in the frozen part
    still update their running statistics in train mode, as in PyTorch; call ``.eval()`` on
    them to fix those too."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"freeze_except_last: k must be a non-negative int (how many of the "
                         f"last layers stay trainable), got {k!r}")
    layers = layers_with_parameters(model)
    model.requires_grad_(False)
    keep = layers[len(layers) - k:] if k else []
    for _, m in keep:
        m.requires_grad_(True)
    return [name for name, _ in keep]
