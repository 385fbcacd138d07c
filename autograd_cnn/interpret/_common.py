"""Helpers shared by the interpretation methods: batches in, layers by name, eval mode, one
class score per image, and layer outputs captured with forward hooks."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np

from ..tensor import Tensor


def model_dtype(model):
    """The dtype of the model's first floating parameter (float32 when it has none)."""
    for p in model.parameters():
        if p._data.dtype.kind == "f":
            return p._data.dtype
    return np.dtype(np.float32)


def as_batch(x, where: str, model=None) -> tuple[np.ndarray, bool]:
    """(C, H, W) or (N, C, H, W) (array or Tensor) -> (N, C, H, W) in the model's dtype and
    whether one image was given (results are then returned without the batch axis)."""
    a = np.asarray(getattr(x, "_data", x))
    if a.ndim not in (3, 4):
        raise ValueError(f"{where}: expected an image (C, H, W) or a batch (N, C, H, W), "
                         f"got shape {a.shape}")
    single = a.ndim == 3
    a = a[None] if single else a
    dtype = model_dtype(model) if model is not None else np.float32
    return np.ascontiguousarray(a, dtype=dtype), single


def get_layer(model, layer, where: str):
    """A submodule given as itself or by its ``named_modules`` name ('features.3')."""
    if isinstance(layer, str):
        try:
            return model.get_submodule(layer)
        except AttributeError:
            names = [n for n, _ in model.named_modules() if n]
            raise ValueError(f"{where}: the model has no layer {layer!r}; its layers are "
                             f"{names}") from None
    if layer is None or not hasattr(layer, "register_forward_hook"):
        raise TypeError(f"{where}: layer must be a module of the model or its name, "
                        f"got {layer!r}")
    return layer


@contextmanager
def evaluating(model):
    """Run in eval mode (dropout off, batch norm on running statistics) and leave the model as
    found: its training flag and its parameters' ``.grad`` (the backward passes of saliency and
    the like must not add to a training step's gradients)."""
    was_training = model.training
    params = list(model.parameters())
    grads = [p.grad for p in params]
    for p in params:
        # detached, not only restored after: backward adds into an existing .grad in place
        p.grad = None
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
        for p, g in zip(params, grads):
            p.grad = g


@contextmanager
def capture(layer, store: dict, key: str = "out"):
    """Put ``layer``'s output Tensor into ``store[key]``, a copy of its values (a later in-place
    op may overwrite them) into ``store[key + '_data']`` and its inputs into
    ``store[key + '_inputs']``, at every forward."""
    def hook(module, inputs, out):
        store[key] = out
        store[key + "_data"] = np.array(out._data, copy=True)
        store[key + "_inputs"] = inputs
    handle = layer.register_forward_hook(hook)
    try:
        yield store
    finally:
        handle.remove()


def targets(scores: np.ndarray, target, where: str) -> np.ndarray:
    """The class per image: ``target`` (int or one per image) or, when None, the predicted one."""
    n, k = scores.shape
    if target is None:
        return scores.argmax(axis=1)
    t = np.broadcast_to(np.asarray(target, dtype=np.int64), (n,)) if np.ndim(target) == 0 \
        else np.asarray(target, dtype=np.int64)
    if t.shape != (n,) or t.min() < 0 or t.max() >= k:
        raise ValueError(f"{where}: target must be a class in [0, {k}) or one per image "
                         f"({n}), got {target!r}")
    return t


def class_score(out: Tensor, t: np.ndarray) -> Tensor:
    """sum_n out[n, t_n]: its gradient w.r.t. anything is the per-image score's gradient
    (the images of a batch do not interact in eval mode)."""
    onehot = np.zeros(out.shape, dtype=out._data.dtype)
    onehot[np.arange(len(t)), t] = 1.0
    return (out * Tensor(onehot)).sum()


def resize(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of (N, h, w) maps to (N, H, W) (align_corners=False, as F.interpolate)."""
    from ..functional import interpolate
    from ..engine import no_grad
    with no_grad():
        out = interpolate(Tensor(np.ascontiguousarray(maps[:, None], dtype=np.float64)),
                          size=tuple(size), mode="bilinear", align_corners=False)
    return out._data[:, 0]
