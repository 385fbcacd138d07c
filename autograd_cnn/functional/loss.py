"""Loss functions, with PyTorch's names, arguments and formulas, and the lecture notes' multiclass
SVM.

Every loss takes ``reduction``: 'none' returns the per-sample (or per-element) losses l_n, 'sum'
their sum, 'mean' their mean, where a loss with class weights divides by the sum of the weights of
the counted samples instead of their number (as PyTorch does). ``kl_div`` also takes 'batchmean'.

Shapes. Classification losses take scores ``(N, C)`` with integer targets ``(N,)`` (or ``(N, C, d1,
..)`` with targets ``(N, d1, ..)``, one class per pixel; or an unbatched ``(C,)`` with a 0-d
target); the class dim is dim 1. Regression losses take input and target of the same shape.
Targets out of range raise IndexError naming the value; a batch-size mismatch raises ValueError
naming both sizes.

Most losses here are compositions of differentiable ops (their gradients come from those ops);
cross_entropy and the two binary cross-entropies are single ops with their textbook derivative,
because the composition would be slower and less stable.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .activation import _sigmoid, log_softmax, sigmoid, softmax, softplus
from .base import Tensor, constant, ensure_tensor, graph_rule, leaf, make
from .elementwise import cast, maximum, where

__all__ = [
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "multi_margin_loss",
    "multiclass_svm_loss", "triplet_margin_loss", "squared_triplet_loss", "pairwise_distance", "cosine_similarity",
    "kl_div", "dice_loss",
    "l1_penalty", "l2_penalty",
]


# ---- shared checks -----------------------------------------------------------------------------


def _check_reduction(reduction, where_: str, allowed=("mean", "sum", "none")) -> None:
    if reduction not in allowed:
        raise ValueError(f"{where_}: reduction must be one of {', '.join(map(repr, allowed))}, "
                         f"got {reduction!r}")


def _reduce(loss: Tensor, reduction: str, denominator=None, counted=None) -> Tensor:
    """'none' -> loss, 'sum' -> sum, 'mean' -> sum / denominator (default: number of elements).
    A zero denominator (every target ignored, or every counted target of weight 0) gives nan,
    as in PyTorch, whose gradient is nan only for the elements ``counted`` (the samples not
    ignored) and 0 for the others: an all-ignored batch (a segmentation crop of void pixels)
    leaves the weights as they were instead of turning them to nan."""
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    if denominator is None:
        denominator = loss._data.size
    denominator = float(denominator)
    if denominator != 0:
        # multiply by the reciprocal: 0/0 would warn, nan * x does not
        return loss.sum() * (1.0 / denominator)
    mask = np.ones(loss.shape, bool) if counted is None else np.broadcast_to(counted, loss.shape)
    per_element = leaf(np.where(mask, np.nan, 0).astype(loss.dtype))
    return (loss * per_element).sum() + float("nan")


def _batch_error(where_: str, input_shape, target_shape) -> ValueError:
    return ValueError(
        f"{where_}: input batch size {input_shape[0]} does not match target batch size "
        f"{target_shape[0]} (input shape {tuple(input_shape)}, target shape "
        f"{tuple(target_shape)}); pass one target per sample"
    )


def _float_target(target, input: Tensor, where_: str) -> Tensor:
    """The target of a regression-style loss: same shape as the input, in the input's dtype."""
    if not isinstance(target, Tensor):
        target = ensure_tensor(np.asarray(target) if isinstance(target, (list, tuple)) else target,
                               where_)
    if target.shape != input.shape:
        if target.ndim and input.ndim and target.shape[0] != input.shape[0]:
            raise _batch_error(where_, input.shape, target.shape)
        raise ValueError(f"{where_}: target shape {target.shape} differs from input shape "
                         f"{input.shape}; they must be equal (reshape one of them)")
    if target.dtype != input.dtype:
        if target.requires_grad:
            return cast(target, input.dtype)
        return leaf(target._data.astype(input.dtype))
    return target


def _float_input(input, where_: str) -> Tensor:
    input = ensure_tensor(input, where_)
    if input.dtype.kind != "f":
        raise TypeError(f"{where_}: input must be floating point (scores, logits or "
                        f"predictions), got dtype {input.dtype}; convert with .float()")
    return input


def _class_targets(input: Tensor, target, where_: str, ignore_index=None):
    """Check integer class targets against scores ``input``: (N, C, *) with target (N, *), or
    (C,) with a 0-d target. Returns (target as int64 array, class dim, number of classes)."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind not in "iu":
        raise TypeError(
            f"{where_}: target must hold integer class indices, got dtype {t.dtype}"
            + (f" (class probabilities would need the input's shape {input.shape})"
               if t.dtype.kind == "f" and where_ == "cross_entropy" else "")
        )
    if input.ndim == 0:
        raise ValueError(f"{where_}: input must have a class dim, got a 0-d tensor")
    cdim = 0 if input.ndim == 1 else 1
    expected = () if input.ndim == 1 else (input.shape[0],) + input.shape[2:]
    if t.shape != expected:
        if t.ndim and input.ndim > 1 and t.shape[0] != input.shape[0]:
            raise _batch_error(where_, input.shape, t.shape)
        raise ValueError(f"{where_}: target shape {t.shape} does not fit input shape "
                         f"{input.shape}: expected target shape {expected} (one class index "
                         f"per sample{' and position' if input.ndim > 2 else ''})")
    n_classes = input.shape[cdim]
    counted = t if ignore_index is None else t[t != ignore_index]
    bad = counted[(counted < 0) | (counted >= n_classes)]
    if bad.size:
        extra = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise IndexError(f"{where_}: target {int(bad.flat[0])} is out of range for {n_classes} "
                         f"classes (expected 0..{n_classes - 1}{extra})")
    return t.astype(np.int64, copy=False), cdim, n_classes


def _class_weight(weight, n_classes: int, dtype, where_: str):
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (n_classes,):
        raise ValueError(f"{where_}: weight must have one entry per class, shape "
                         f"({n_classes},), got shape {w.shape}")
    return w.astype(dtype, copy=False)


def _bcast_class(a: np.ndarray, ndim: int, cdim: int) -> np.ndarray:
    """A per-class vector (C,) shaped to broadcast along the class dim of an ndim-d tensor."""
    shape = [1] * ndim
    shape[cdim] = a.shape[0]
    return a.reshape(shape)


# ---- cross-entropy family ----------------------------------------------------------------------


def cross_entropy(input, target, weight=None, ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of scores (logits) against class indices or class probabilities.

    With p = softmax(x) over the class dim, eps = label_smoothing, w = weight (all ones if None)
    and C classes, the loss of sample n with class index y_n is

        l_n = -(1 - eps) w[y_n] log p[n, y_n]  -  (eps / C) sum_c w[c] log p[n, c]

    (0 for samples with y_n == ignore_index). 'mean' divides sum_n l_n by sum_n w[y_n] over the
    samples not ignored (by their count when w is None), exactly as PyTorch. With a target of
    class probabilities t (same shape as the input) the loss is
    l_n = -sum_c w[c] t'[n, c] log p[n, c] with t' = (1 - eps) t + eps / C, and 'mean' divides by
    the number of samples.

    Both cases are l_n = -sum_c A[n, c] log p[n, c] for a coefficient array A, and
        dl_n/dx[n, j] = p[n, j] sum_c A[n, c] - A[n, j]
    (softmax minus the one-hot target, in the plain case).

    Shapes: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or () of integers,
    or the input's shape (probabilities). Output: a scalar, or (N, d1, ...) for 'none'.
    """
    where_ = "cross_entropy"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    eps = float(label_smoothing)
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"{where_}: label_smoothing must be in [0, 1], got {label_smoothing}")
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if t.dtype.kind == "f" and t.shape == input.shape:
        return _cross_entropy_probs(input, target, weight, reduction, eps)
    t, cdim, n_classes = _class_targets(input, target, where_, ignore_index)
    dtype = input.dtype
    w = _class_weight(weight, n_classes, dtype, where_)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked_w = (w[safe] if w is not None else np.ones(safe.shape, dtype)) * valid
    if eps == 0:        # the common case: A is w[y_n] at y_n only, no dense array needed
        loss = _picked_cross_entropy(input, np.expand_dims(safe, cdim), picked_w, cdim)
        return _reduce(loss, reduction, picked_w.sum(), valid)
    # A[n, c] = (1 - eps) w[y_n] [c == y_n] + (eps / C) w[c], zero on ignored samples
    coef = np.zeros(input.shape, dtype)
    np.put_along_axis(coef, np.expand_dims(safe, cdim),
                      np.expand_dims((1 - eps) * picked_w, cdim).astype(dtype), axis=cdim)
    if eps > 0:
        wc = _bcast_class(w if w is not None else np.ones(n_classes, dtype), input.ndim, cdim)
        coef += (eps / n_classes) * wc * np.expand_dims(valid, cdim)
    loss = _coef_cross_entropy(input, leaf(coef), cdim, None)
    return _reduce(loss, reduction, picked_w.sum(), valid)


class CrossEntropySaved(NamedTuple):
    """What a cross_entropy node with class-index targets keeps: e^(x - max), its sum over
    the classes, the target indices (with the class dim kept, size 1), each sample's class
    weight (0 for ignored samples) and the class dim."""
    exp_shifted: np.ndarray
    total: np.ndarray
    indices: np.ndarray
    picked_weight: np.ndarray
    class_dim: int


def picked_log_softmax_loss(d: np.ndarray, idx: np.ndarray, picked_w: np.ndarray, cdim: int):
    """(loss, e, total): l = -w_y log softmax(d)_y with y = idx along cdim (idx keeps cdim as a
    size-1 dim), where log softmax(d)_y = d_y - m - log sum_c e^(d_c - m), m the max; e =
    e^(d - m) and total = its sum over cdim, which the gradient reuses. The arithmetic of
    cross_entropy's common case, shared with its captured replay (functional/replay.py)."""
    m = d.max(axis=cdim, keepdims=True)
    e = d - m
    np.exp(e, out=e)
    total = e.sum(axis=cdim, keepdims=True)
    logp_y = np.take_along_axis(d, idx, cdim) - m - np.log(total)
    with np.errstate(invalid="ignore"):      # an ignored sample may pick a -inf logit
        loss = np.where(picked_w != 0, -(picked_w.astype(d.dtype) * logp_y.squeeze(cdim)), 0)
    return np.asarray(loss), e, total


def picked_log_softmax_grad(g, e: np.ndarray, total: np.ndarray, idx: np.ndarray,
                            picked_w: np.ndarray, cdim: int) -> np.ndarray:
    """dL/dd for L = sum g * l of ``picked_log_softmax_loss``: g w_y (softmax(d) - onehot(y))."""
    gw = np.expand_dims(g * picked_w, cdim).astype(e.dtype)   # (N, 1, ...)
    gx = e * (gw / total)                                     # g w_y softmax(d)
    np.put_along_axis(gx, idx, np.take_along_axis(gx, idx, cdim) - gw, cdim)
    return gx


def _picked_cross_entropy(x: Tensor, idx: np.ndarray, picked_w: np.ndarray, cdim: int) -> Tensor:
    """l = -w_y log softmax(x)_y (``picked_log_softmax_loss``); dl/dx = w_y (softmax(x) -
    onehot(y))."""
    loss, e, total = picked_log_softmax_loss(x._data, idx, picked_w, cdim)
    return make(loss, (x,), "cross_entropy", _picked_cross_entropy_backward,
                CrossEntropySaved(e, total, idx, picked_w, cdim))


def _picked_cross_entropy_backward(node, g):
    sv = node._saved
    return (picked_log_softmax_grad(g, sv.exp_shifted, sv.total, sv.indices, sv.picked_weight,
                                    sv.class_dim),)


def _cross_entropy_probs(input, target, weight, reduction, eps):
    where_ = "cross_entropy"
    target = _float_target(target, input, where_)
    if input.ndim == 0:
        raise ValueError(f"{where_}: input must have a class dim, got a 0-d tensor")
    cdim = 0 if input.ndim == 1 else 1
    n_classes = input.shape[cdim]
    w = _class_weight(weight, n_classes, input.dtype, where_)
    scale = np.asarray(1 - eps, input.dtype)
    if w is not None:
        scale = scale * _bcast_class(w, input.ndim, cdim)
    offset = np.zeros((), input.dtype) if eps == 0 else \
        (eps / n_classes) * (_bcast_class(w, input.ndim, cdim) if w is not None else 1)
    coef = target._data * scale + offset
    loss = _coef_cross_entropy(input, leaf(np.asarray(coef, input.dtype)), cdim,
                               target if target.requires_grad else None, scale)
    return _reduce(loss, reduction, input._data.size // n_classes)


class SoftCrossEntropySaved(NamedTuple):
    """What a cross_entropy node with per-class coefficients (probability targets, label
    smoothing) keeps: log softmax(x), the coefficients A, the class dim, and dA/dtarget (None
    when the target is not a parent)."""
    log_probs: np.ndarray
    coef: np.ndarray
    class_dim: int
    scale: np.ndarray | None


def _coef_cross_entropy(x: Tensor, coef: Tensor, cdim: int, target, scale=None) -> Tensor:
    """l = -sum_c A_c log softmax(x)_c along cdim (A = coef._data). ``target``, when given, is
    the tensor A was made from as A = target * scale + offset (so dA/dtarget = scale)."""
    d = x._data
    shifted = d - d.max(axis=cdim, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=cdim, keepdims=True))
    with np.errstate(invalid="ignore"):
        # a class masked out with a -inf logit has log p = -inf: it counts only if A_c != 0
        terms = np.where(coef._data == 0, 0, coef._data * logp)
    loss = -terms.sum(axis=cdim)
    parents = (x,) if target is None else (x, target)
    return make(np.asarray(loss), parents, "cross_entropy", _coef_cross_entropy_backward,
                SoftCrossEntropySaved(logp, coef._data, cdim, scale))


def _coef_cross_entropy_backward(node, g):
    sv = node._saved
    logp, coef, cdim, scale = sv.log_probs, sv.coef, sv.class_dim, sv.scale
    g = np.expand_dims(g, cdim)
    x = node._parents[0]
    gx = g * (np.exp(logp) * coef.sum(axis=cdim, keepdims=True) - coef) \
        if x.requires_grad else None
    if len(node._parents) == 1:
        return (gx,)
    return gx, -g * logp * scale


def nll_loss(input, target, weight=None, ignore_index: int = -100,
             reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities: l_n = -w[y_n] input[n, y_n] (0 where
    y_n == ignore_index); 'mean' divides by sum_n w[y_n] over the counted samples.
    d l_n / d input[n, y_n] = -w[y_n].  ``cross_entropy(x, y) == nll_loss(log_softmax(x, 1), y)``.
    Shapes as in cross_entropy (class indices only)."""
    where_ = "nll_loss"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    t, cdim, n_classes = _class_targets(input, target, where_, ignore_index)
    w = _class_weight(weight, n_classes, input.dtype, where_)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked_w = (w[safe] if w is not None else np.ones(safe.shape, input.dtype)) * valid
    picked = input.gather(cdim, np.expand_dims(safe, cdim)).squeeze(cdim)
    loss = picked * (-picked_w.astype(input.dtype))
    return _reduce(loss, reduction, picked_w.sum(), valid)


class BinaryCrossEntropySaved(NamedTuple):
    """What a binary_cross_entropy node keeps: log x and log(1 - x) (clamped at -100) and the
    weight (None: unweighted)."""
    log_x: np.ndarray
    log_1mx: np.ndarray
    weight: np.ndarray | None


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities x in [0, 1] against targets y in [0, 1]:

        l = -w [y log x + (1 - y) log(1 - x)],   each log clamped at -100 (as PyTorch)
        dl/dx = w (x - y) / max(x (1 - x), 1e-12),   dl/dy = -w (log x - log(1 - x))

    Shapes: input, target and the result (for 'none') of one shape; weight broadcasts to it.
    Given logits, use binary_cross_entropy_with_logits (stable, and faster)."""
    where_ = "binary_cross_entropy"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    target = _float_target(target, input, where_)
    x = input._data
    if x.size and (np.nanmin(x) < 0 or np.nanmax(x) > 1):
        raise ValueError(f"{where_}: input must hold probabilities in [0, 1], got values from "
                         f"{np.nanmin(x):.4g} to {np.nanmax(x):.4g}; pass logits to "
                         "binary_cross_entropy_with_logits instead")
    w = _elementwise_weight(weight, input, where_, "weight")
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100)
        log_1mx = np.maximum(np.log1p(-x), -100)
    y = target._data
    loss = -(y * log_x + (1 - y) * log_1mx)
    if w is not None:
        loss = loss * w
    out = make(np.asarray(loss, x.dtype), (input, target), "binary_cross_entropy",
               _bce_backward, BinaryCrossEntropySaved(log_x, log_1mx, w))
    return _reduce(out, reduction)


def _bce_backward(node, g):
    x, y = node._parents
    sv = node._saved
    log_x, log_1mx, w = sv.log_x, sv.log_1mx, sv.weight
    if w is not None:
        g = g * w
    gx = gy = None
    if x.requires_grad:
        xd = x._data
        gx = g * (xd - y._data) / np.maximum(xd * (1 - xd), np.asarray(1e-12, xd.dtype))
    if y.requires_grad:
        gy = -g * (log_x - log_1mx)
    return gx, gy


def _elementwise_weight(weight, input: Tensor, where_: str, name: str):
    if weight is None:
        return None
    w = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    try:
        np.broadcast_shapes(w.shape, input.shape)
    except ValueError:
        raise ValueError(f"{where_}: {name} of shape {w.shape} does not broadcast to the input "
                         f"shape {input.shape}") from None
    return w.astype(input.dtype, copy=False)


def _softplus(z: np.ndarray) -> np.ndarray:
    """log(1 + e^z) without overflow."""
    return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))


class BCEWithLogitsSaved(NamedTuple):
    """What a binary_cross_entropy_with_logits node keeps: the weight and pos_weight (None:
    not given), softplus(-x) and softplus(x)."""
    weight: np.ndarray | None
    pos_weight: np.ndarray | None
    softplus_neg: np.ndarray
    softplus_pos: np.ndarray


def binary_cross_entropy_with_logits(input, target, weight=None, reduction: str = "mean",
                                     pos_weight=None) -> Tensor:
    """Binary cross-entropy of logits x (sigma = sigmoid), stable for any x:

        l = w [p y log(1 + e^-x) + (1 - y) log(1 + e^x)]
          = -w [p y log sigma(x) + (1 - y) log(1 - sigma(x))]
        dl/dx = w [(1 - y) sigma(x) - p y (1 - sigma(x))]   (= w (sigma(x) - y) when p = 1)
        dl/dy = w [p log(1 + e^-x) - log(1 + e^x)]

    w = weight (broadcasts to the input), p = pos_weight (broadcasts along the last dim: one
    weight per class of a multi-label problem). Shapes: input and target of one shape."""
    where_ = "binary_cross_entropy_with_logits"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    target = _float_target(target, input, where_)
    w = _elementwise_weight(weight, input, where_, "weight")
    pw = _elementwise_weight(pos_weight, input, where_, "pos_weight")
    x, y = input._data, target._data
    sp_neg, sp_pos = _softplus(-x), _softplus(x)
    pos_term = y * sp_neg if pw is None else pw * y * sp_neg
    loss = pos_term + (1 - y) * sp_pos
    if w is not None:
        loss = loss * w
    out = make(np.asarray(loss, x.dtype), (input, target), "binary_cross_entropy_with_logits",
               _bce_logits_backward, BCEWithLogitsSaved(w, pw, sp_neg, sp_pos))
    return _reduce(out, reduction)


def _bce_logits_backward(node, g):
    x, y = node._parents
    sv = node._saved
    w, pw, sp_neg, sp_pos = sv.weight, sv.pos_weight, sv.softplus_neg, sv.softplus_pos
    if w is not None:
        g = g * w
    gx = gy = None
    if x.requires_grad:
        s = _sigmoid(x._data)
        yd = y._data
        gx = g * ((1 - yd) * s - (yd if pw is None else pw * yd) * (1 - s))
    if y.requires_grad:
        gy = g * ((sp_neg if pw is None else pw * sp_neg) - sp_pos)
    return gx, gy


# ---- margin losses -----------------------------------------------------------------------------


def _margins(input: Tensor, t: np.ndarray, cdim: int, margin: float):
    """(s_j - s_y + margin) for every class j, and the mask of j != y."""
    idx = np.expand_dims(t, cdim)
    s_y = input.gather(cdim, idx)                       # (N, 1) or (1,)
    not_y = np.ones(input.shape, dtype=bool)
    np.put_along_axis(not_y, idx, False, axis=cdim)
    return input - s_y + margin, not_y


def multiclass_svm_loss(scores, target, margin: float = 1.0, reduction: str = "mean") -> Tensor:
    """The multiclass SVM (hinge) loss of the lecture notes (cs231n's form):

        L_i = sum_{j != y_i} max(0, s_j - s_{y_i} + margin),     L = (1/N) sum_i L_i

    dL_i/ds_j = 1[s_j - s_y + margin > 0] for j != y,  dL_i/ds_y = -(number of such j).
    Unlike PyTorch's multi_margin_loss it does not divide by the number of classes.
    Shapes: scores (N, C) or (C,), target (N,) or () -> a scalar, or (N,) for 'none'."""
    where_ = "multiclass_svm_loss"
    scores = _float_input(scores, where_)
    _check_reduction(reduction, where_)
    if scores.ndim not in (1, 2):
        raise ValueError(f"{where_}: scores must be (N, C) or (C,), got shape {scores.shape}")
    t, cdim, _ = _class_targets(scores, target, where_)
    m, not_y = _margins(scores, t, cdim, margin)
    loss = (m.relu() * not_y.astype(scores.dtype)).sum(dim=cdim)
    return _reduce(loss, reduction)


def multi_margin_loss(input, target, p: int = 1, margin: float = 1.0, weight=None,
                      reduction: str = "mean") -> Tensor:
    """PyTorch's multi-class hinge loss:

        l_n = (1/C) sum_{j != y_n} w[y_n] max(0, margin - x[n, y_n] + x[n, j])^p,   p in {1, 2}

    (the weight multiplies after the power, as PyTorch's kernel does); 'mean' averages over N.
    Shapes: input (N, C) or (C,), target (N,) or ()."""
    where_ = "multi_margin_loss"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    if p not in (1, 2):
        raise ValueError(f"{where_}: p must be 1 or 2, got {p!r}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{where_}: input must be (N, C) or (C,), got shape {input.shape}")
    t, cdim, n_classes = _class_targets(input, target, where_)
    m, not_y = _margins(input, t, cdim, margin)
    h = m.relu() * not_y.astype(input.dtype)
    if p == 2:
        h = h * h
    loss = h.sum(dim=cdim) * (1.0 / n_classes)
    w = _class_weight(weight, n_classes, input.dtype, where_)
    if w is not None:
        loss = loss * w[t]
    return _reduce(loss, reduction)


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last dim (eps keeps the gradient finite at x1 == x2)."""
    x1 = ensure_tensor(x1, "pairwise_distance")
    x2 = ensure_tensor(x2, "pairwise_distance")
    return (x1 - x2 + eps).norm(p=p, dim=-1, keepdim=keepdim)


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """sum_dim (x1 / max(||x1||, eps)) (x2 / max(||x2||, eps)) along ``dim``, PyTorch's way
    (each input divided by its clamped 2-norm first). x1 and x2 broadcast together; the result
    has ``dim`` removed.  The gradient follows from the ops."""
    x1 = _float_input(x1, "cosine_similarity")
    x2 = _float_input(x2, "cosine_similarity")
    a = x1 / x1.norm(dim=dim, keepdim=True).clamp_min(eps)
    b = x2 / x2.norm(dim=dim, keepdim=True).clamp_min(eps)
    return (a * b).sum(dim=dim)


def triplet_margin_loss(anchor, positive, negative, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False,
                        reduction: str = "mean") -> Tensor:
    """l_n = max(0, d(a_n, p_n) - d(a_n, n_n) + margin), d = pairwise_distance (p-norm);
    with swap=True d(a, n) is replaced by min(d(a, n), d(p, n)).
    Shapes: anchor, positive, negative (N, D) or (D,) -> a scalar, or (N,) for 'none'."""
    where_ = "triplet_margin_loss"
    _check_reduction(reduction, where_)
    a = _float_input(anchor, where_)
    pos = _float_input(positive, where_)
    neg = _float_input(negative, where_)
    for name, t in (("positive", pos), ("negative", neg)):
        if t.shape != a.shape:
            if t.ndim and a.ndim and t.shape[0] != a.shape[0]:
                raise ValueError(f"{where_}: anchor batch size {a.shape[0]} does not match "
                                 f"{name} batch size {t.shape[0]}")
            raise ValueError(f"{where_}: {name} shape {t.shape} differs from anchor shape "
                             f"{a.shape}")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_pos - d_neg + margin).relu(), reduction)


def squared_triplet_loss(anchor, positive, negative, alpha: float = 0.2,
                         reduction: str = "mean") -> Tensor:
    """The lecture notes' (FaceNet's) triplet loss with squared Euclidean distances:

        l_n = max(0, ||a_n - p_n||^2 - ||a_n - n_n||^2 + alpha)

    Beside PyTorch's ``triplet_margin_loss``, which uses the unsquared distance (plus an eps).
    Shapes: anchor, positive, negative (N, D) or (D,) -> a scalar, or (N,) for 'none'."""
    where_ = "squared_triplet_loss"
    _check_reduction(reduction, where_)
    a = _float_input(anchor, where_)
    pos = _float_input(positive, where_)
    neg = _float_input(negative, where_)
    for name, t in (("positive", pos), ("negative", neg)):
        if t.shape != a.shape:
            raise ValueError(f"{where_}: {name} shape {t.shape} differs from anchor shape "
                             f"{a.shape}")
    d_pos = ((a - pos) ** 2).sum(dim=-1)
    d_neg = ((a - neg) ** 2).sum(dim=-1)
    return _reduce((d_pos - d_neg + float(alpha)).relu(), reduction)


def dice_loss(input, target, smooth: float = 1.0, reduction: str = "mean") -> Tensor:
    """Soft multi-class Dice loss for segmentation (Milletari et al. 2016, V-Net); not in PyTorch.

        p = softmax(input, dim=1),  t = one_hot(target) (N, C, H, W)
        dice_c = (2 sum_{n,h,w} p t + smooth) / (sum p + sum t + smooth)   per class c
        loss = 1 - mean_c dice_c            ('mean'; 'sum' gives sum_c (1 - dice_c),
                                             'none' the (C,) vector 1 - dice_c)

    input: (N, C, *) scores (logits); target: (N, *) integer labels in [0, C). ``smooth``
    keeps a class absent from both prediction and target at dice 1 (no 0/0)."""
    where_ = "dice_loss"
    _check_reduction(reduction, where_)
    input = _float_input(input, where_)
    t = target._data if isinstance(target, Tensor) else np.asarray(target)
    if input.ndim < 2:
        raise ValueError(f"{where_}: input must be (N, C, ...) scores, got shape {input.shape}")
    n, c = input.shape[0], input.shape[1]
    if t.dtype.kind not in "iu":
        raise TypeError(f"{where_}: target must be integer class labels, got dtype {t.dtype}")
    if t.shape != (n, *input.shape[2:]):
        raise ValueError(f"{where_}: target shape {t.shape} does not match input shape "
                         f"{input.shape} (expected {(n, *input.shape[2:])})")
    if t.size and (t.min() < 0 or t.max() >= c):
        raise ValueError(f"{where_}: target labels must be in [0, {c}), got values in "
                         f"[{t.min()}, {t.max()}]")
    one_hot = (t[:, None] == np.arange(c).reshape((1, c) + (1,) * (t.ndim - 1)))
    one_hot = constant(one_hot.astype(input.dtype))                     # (N, C, *)
    p = softmax(input, dim=1)
    dims = (0, *range(2, input.ndim))
    inter = (p * one_hot).sum(dim=dims)                                  # (C,)
    denom = p.sum(dim=dims) + one_hot.sum(dim=dims)
    loss = 1.0 - (2.0 * inter + smooth) / (denom + smooth)
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# ---- regression losses -------------------------------------------------------------------------


def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """l = (x - y)^2 elementwise.  dl/dx = 2 (x - y).  Shapes: input and target equal."""
    input = _float_input(input, "mse_loss")
    _check_reduction(reduction, "mse_loss")
    d = input - _float_target(target, input, "mse_loss")
    return _reduce(d * d, reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """l = |x - y| elementwise.  dl/dx = sign(x - y).  Shapes: input and target equal."""
    input = _float_input(input, "l1_loss")
    _check_reduction(reduction, "l1_loss")
    return _reduce((input - _float_target(target, input, "l1_loss")).abs(), reduction)


def smooth_l1_loss(input, target, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """l = 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = x - y);
    dl/dx = d / beta inside, sign(d) outside. beta = 0 is the L1 loss."""
    where_ = "smooth_l1_loss"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    if beta < 0:
        raise ValueError(f"{where_}: beta must be non-negative, got {beta}")
    d = input - _float_target(target, input, where_)
    if beta == 0:
        return _reduce(d.abs(), reduction)
    ad = d.abs()
    loss = where((ad < beta)._data, d * d * (0.5 / beta), ad - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """l = 0.5 d^2 where |d| < delta, delta (|d| - 0.5 delta) elsewhere (= delta * smooth_l1
    with beta = delta)."""
    where_ = "huber_loss"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_)
    if delta <= 0:
        raise ValueError(f"{where_}: delta must be positive, got {delta}")
    d = input - _float_target(target, input, where_)
    ad = d.abs()
    loss = where((ad < delta)._data, d * d * 0.5, (ad - 0.5 * delta) * delta)
    return _reduce(loss, reduction)


def kl_div(input, target, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """Kullback-Leibler divergence with ``input`` = log q (log-probabilities) and ``target`` = p:

        l = p (log p - log q)   (0 where p = 0);   with log_target: l = e^t (t - log q)
        dl/d(log q) = -p

    reduction 'batchmean' (sum / N) gives the true KL divergence per sample; 'mean' divides by
    the number of elements (PyTorch's default, kept for compatibility)."""
    where_ = "kl_div"
    input = _float_input(input, where_)
    _check_reduction(reduction, where_, ("mean", "batchmean", "sum", "none"))
    target = _float_target(target, input, where_)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        positive = (target._data > 0)
        safe = where(positive, target, 1.0)             # log 1 = 0 where p = 0
        loss = where(positive, target * (safe.log() - input), 0.0)
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return _reduce(loss, "mean", n)
    return _reduce(loss, reduction)


# ---- regularisers ------------------------------------------------------------------------------


def _param_list(parameters, where_: str) -> list:
    if hasattr(parameters, "parameters") and callable(parameters.parameters):
        parameters = parameters.parameters()
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where_}: expected tensors (or a Module), item {i} is a "
                            f"{type(p).__name__}")
    if not params:
        raise ValueError(f"{where_}: got no parameters")
    return params


def l1_penalty(parameters) -> Tensor:
    """R(W) = sum over all given tensors of sum |w|  (L1 regularisation; d/dw = sign(w)).
    ``parameters``: a Module (all its parameters) or an iterable of tensors; choose e.g.
    ``[p for n, p in model.named_parameters() if n.endswith('weight')]`` to skip biases."""
    params = _param_list(parameters, "l1_penalty")
    total = params[0].abs().sum()
    for p in params[1:]:
        total = total + p.abs().sum()
    return total


def l2_penalty(parameters) -> Tensor:
    """R(W) = sum over all given tensors of sum w^2  (the lecture notes' L2 regulariser;
    d/dw = 2w). Adding (lambda / 2) * l2_penalty to the loss is SGD's weight_decay=lambda."""
    params = _param_list(parameters, "l2_penalty")
    total = (params[0] * params[0]).sum()
    for p in params[1:]:
        total = total + (p * p).sum()
    return total


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


@graph_rule(_picked_cross_entropy_backward)
def _picked_cross_entropy_graph(node, g):
    sv = node._saved
    idx, picked_w, cdim = sv.indices, sv.picked_weight, sv.class_dim
    x = node._parents[0]
    onehot = np.zeros(x.shape, x.dtype)
    np.put_along_axis(onehot, idx, 1, cdim)
    gw = (g * constant(picked_w.astype(x.dtype))).unsqueeze(cdim)      # (N, 1, ...)
    return ((softmax(x, cdim) - constant(onehot)) * gw,)


@graph_rule(_coef_cross_entropy_backward)
def _coef_cross_entropy_graph(node, g):
    coef, cdim, scale = node._saved.coef, node._saved.class_dim, node._saved.scale
    x = node._parents[0]
    g = g.unsqueeze(cdim)
    if len(node._parents) == 2:
        # A = target * scale + offset depends on the target: keep that dependence recorded
        target = node._parents[1]
        a = target * constant(scale) + constant(coef - target._data * scale)
    else:
        a = constant(coef)
    gx = g * (softmax(x, cdim) * a.sum(dim=cdim, keepdim=True) - a) if x.requires_grad else None
    if len(node._parents) == 1:
        return (gx,)
    return gx, -g * log_softmax(x, cdim) * constant(scale)


@graph_rule(_bce_backward)
def _bce_graph(node, g):
    x, y = node._parents
    w = node._saved.weight
    if w is not None:
        g = g * constant(w)
    gx = gy = None
    if x.requires_grad:
        gx = g * (x - y) / maximum(x * (1 - x), 1e-12)
    if y.requires_grad:
        gy = -g * (maximum(x.log(), -100.0) - maximum((1 - x).log(), -100.0))
    return gx, gy


@graph_rule(_bce_logits_backward)
def _bce_logits_graph(node, g):
    # l = pw y softplus(-x) + (1 - y) softplus(x), times w
    x, y = node._parents
    w, pw = node._saved.weight, node._saved.pos_weight
    if w is not None:
        g = g * constant(w)
    pwy = y if pw is None else constant(pw) * y
    gx = gy = None
    if x.requires_grad:
        s = sigmoid(x)
        gx = g * ((1 - y) * s - pwy * (1 - s))
    if y.requires_grad:
        sp_neg = softplus(-x)
        gy = g * ((sp_neg if pw is None else constant(pw) * sp_neg) - softplus(x))
    return gx, gy
