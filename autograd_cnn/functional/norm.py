"""Normalisation: batch, layer and group normalisation, and local response normalisation
(AlexNet's LRN).

Shapes: both take (N, C, *) inputs (batch_norm also (N, C)) and return the input's shape; the
statistics of batch_norm are per channel (dim 1), over the batch and every spatial position.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import backend
from ..errors import ShapeError
from .activation import relu_grad
from .base import Tensor, constant, ensure_tensor, float_input, graph_rule, linear_map, make

__all__ = ["batch_norm", "batch_norm_relu", "batch_norm_add_relu", "local_response_norm",
           "layer_norm", "group_norm", "normalize"]


def _stat_array(t, name: str, c: int):
    if t is None:
        return None
    arr = t._data if isinstance(t, Tensor) else t
    if not isinstance(arr, np.ndarray):
        raise TypeError(f"batch_norm: {name} must be a Tensor or numpy array, "
                        f"got {type(t).__name__}")
    if arr.shape != (c,):
        raise ValueError(f"batch_norm: {name} has shape {arr.shape}, expected ({c},) "
                         "(one entry per channel)")
    return arr


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """y = (x - mean) / sqrt(var + eps) * weight + bias, per channel c = dim 1.

    training=True: mean and var are the batch's (var biased, over N and every spatial
    position, n values per channel); the running statistics, when given, are updated in place:
        running_mean <- (1 - momentum) running_mean + momentum mean
        running_var  <- (1 - momentum) running_var  + momentum var * n / (n - 1)   (unbiased)
    training=False: mean and var are running_mean and running_var (nothing is updated).

    Derivative, with sigma = sqrt(var + eps), xh = (x - mean) / sigma, and sums and means over
    the n values of a channel:
        training:  dx = weight / sigma * (g - mean(g) - xh * mean(g * xh))
        eval:      dx = weight / sigma * g
        dweight = sum(g * xh),  dbias = sum(g)
    The arithmetic runs in kernels/norm.py (two passes over the data each way).
    Shapes: input (N, C) or (N, C, *); running stats, weight, bias (C,).
    """
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       False)


def batch_norm_relu(input, running_mean, running_var, weight=None, bias=None,
                    training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """relu(batch_norm(...)) as one op: the same arguments, values, running-statistics update
    and gradients as the two calls, in fewer passes (the clip is part of the affine pass; the
    backward reads ReLU's mask from the output inside batch norm's two passes) and without
    storing the pre-ReLU activation. Not a PyTorch function: an extra of this library, which
    the zoo's ResNets use for their ``relu(bn(conv(x)))``.
    Derivative: batch_norm's, applied to gm = g where the output is > 0, else 0.
    Shapes: as batch_norm."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       True)


def batch_norm_add_relu(input, residual, running_mean, running_var, weight=None, bias=None,
                        training: bool = False, momentum: float = 0.1,
                        eps: float = 1e-5) -> Tensor:
    """relu(batch_norm(input, ...) + residual) as one op: a residual block's end, ResNet's
    ``relu(bn2(conv2(out)) + identity)``. The same values, statistics update and gradients as
    the three calls, in one pass forward, and neither the normalised activation nor the sum is
    stored. Not a PyTorch function: an extra of this library (the zoo's ResNets call it).
    Derivative: with gm = g where the output is > 0, else 0: d/dresidual = gm, and batch_norm's
    derivative applied to gm. Shapes: residual has the input's shape; the rest as batch_norm."""
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                       True, residual)


class BatchNormSaved(NamedTuple):
    """What a batch_norm node (and its fused ReLU forms) keeps: the input as contiguous
    (N, C, L), the per-channel mean and 1/sqrt(var + eps) it normalised with, the per-channel
    scale (weight * invstd), which optional parents it has, the mode, and eps."""
    x: np.ndarray
    mean: np.ndarray
    invstd: np.ndarray
    scale: np.ndarray
    has_weight: bool
    has_bias: bool
    training: bool
    eps: float


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps,
                relu: bool, residual=None) -> Tensor:
    x = ensure_tensor(input, "batch_norm")
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected an input of shape (N, C) or (N, C, ...), got "
                         f"shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: input must be floating point, got dtype {x.dtype}")
    c = x.shape[1]
    rm = _stat_array(running_mean, "running_mean", c)
    rv = _stat_array(running_var, "running_var", c)
    if (rm is None) != (rv is None):
        raise ValueError("batch_norm: give both running_mean and running_var, or neither")
    parents = [x]
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            t = ensure_tensor(t, "batch_norm")
            if t.shape != (c,):
                raise ValueError(f"batch_norm: {name} has shape {t.shape}, expected ({c},) "
                                 "(one entry per channel)")
            if t.dtype != x.dtype:
                raise TypeError(f"batch_norm: input is {x.dtype} but {name} is {t.dtype}; "
                                "convert one (model.double() or x.float()) so both match")
            parents.append(t)
    label = "batch_norm_add_relu" if residual is not None else \
        "batch_norm_relu" if relu else "batch_norm"
    if residual is not None:
        r = ensure_tensor(residual, label)
        if r.shape != x.shape or r.dtype != x.dtype:
            raise ValueError(f"{label}: residual has shape {r.shape} and dtype {r.dtype}, "
                             f"expected the input's, {x.shape} and {x.dtype}")
        parents.append(r)
    if x._data.size == 0:
        # an empty batch (PyTorch returns an empty result and leaves the statistics alone)
        return make(np.zeros(x.shape, x.dtype), tuple(parents), label, _empty_backward)
    x3 = np.ascontiguousarray(x._data).reshape(x.shape[0], c, -1)      # (N, C, *) -> (N, C, L)
    n = x3.shape[0] * x3.shape[2]
    if training:
        if n <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input shape {x.shape}; use a larger batch or "
                             "call .eval()")
        mean, var = backend.batch_norm_stats(x3)
        if rm is not None:
            _update_running(running_mean, rm, mean, momentum)
            _update_running(running_var, rv, var * (n / (n - 1)), momentum)
    else:
        if rm is None:
            raise ValueError("batch_norm: training=False needs running_mean and running_var "
                             "(or pass training=True to use the batch statistics)")
        mean, var = rm.astype(np.float64), rv.astype(np.float64)
    invstd = 1.0 / np.sqrt(var + eps)
    w = parents[1]._data.astype(np.float64) if weight is not None else None
    scale = invstd if w is None else invstd * w
    shift = parents[1 + (weight is not None)]._data.astype(np.float64) if bias is not None \
        else np.zeros(c)
    if residual is not None:
        r3 = np.ascontiguousarray(parents[-1]._data).reshape(x3.shape)
        out = backend.get_kernel("norm", "bn_add_relu_apply")(x3, mean, scale, shift, r3)
        rule = _batch_norm_add_relu_backward
    elif relu:
        out = backend.get_kernel("norm", "bn_relu_apply")(x3, mean, scale, shift)
        rule = _batch_norm_relu_backward
    else:
        out = backend.batch_norm_apply(x3, mean, scale, shift)
        rule = _batch_norm_backward
    return make(out.reshape(x.shape), tuple(parents), label, rule,
                BatchNormSaved(x3, mean, invstd, scale, weight is not None, bias is not None,
                               bool(training), eps))


def _empty_backward(node, g):
    return tuple(np.zeros(p.shape, p.dtype) for p in node._parents)


graph_rule(_empty_backward)(lambda node, g: tuple(p * 0 for p in node._parents))


def _update_running(t, arr: np.ndarray, value: np.ndarray, momentum: float) -> None:
    arr *= (1 - momentum)
    arr += (momentum * value).astype(arr.dtype)
    if isinstance(t, Tensor):
        t._bump_version()


def _batch_norm_backward(node, g):
    return _bn_backward(node, g, None)


def _batch_norm_relu_backward(node, g):
    return _bn_backward(node, g, node._data)


def _batch_norm_add_relu_backward(node, g):
    r = node._parents[-1]
    gr = relu_grad(np.ascontiguousarray(g, dtype=r.dtype), node._data) if r.requires_grad \
        else None
    return _bn_backward(node, g, node._data) + (gr,)


def _bn_backward(node, g, y):
    """batch_norm's backward; with y (batch_norm_relu's output) first through ReLU's: the
    training-mode passes read the mask from y themselves, eval mode masks g first."""
    sv = node._saved
    x3, mean, invstd, scale = sv.x, sv.mean, sv.invstd, sv.scale
    has_w, has_b, training = sv.has_weight, sv.has_bias, sv.training
    parents = node._parents
    x = parents[0]
    w = parents[1] if has_w else None
    b = parents[1 + has_w] if has_b else None
    g3 = np.ascontiguousarray(g, dtype=x3.dtype).reshape(x3.shape)
    fused = y is not None and training
    if y is not None:
        y3 = y.reshape(x3.shape)
        if not training:
            g3 = relu_grad(g3, y3)
    # the sums feed dweight, dbias and the training-mode dx; a frozen layer in eval needs none
    if ((training and x.requires_grad) or (has_w and w.requires_grad)
            or (has_b and b.requires_grad)):
        if fused:
            sum_g, sum_gx = backend.get_kernel("norm", "bn_relu_backward_sums")(g3, y3, x3, mean)
        else:
            sum_g, sum_gx = backend.batch_norm_backward_sums(g3, x3, mean)
    gx = None
    if x.requires_grad:
        if training:
            count = x3.shape[0] * x3.shape[2]
            k_0, k_x = scale * sum_g / count, scale * invstd ** 2 * sum_gx / count
            if fused:
                gx = backend.get_kernel("norm", "bn_relu_backward_input")(g3, y3, x3, mean,
                                                                         scale, k_0, k_x)
            else:
                gx = backend.batch_norm_backward_input(g3, x3, mean, scale, k_0, k_x)
        else:
            zero = np.zeros_like(mean)
            gx = backend.batch_norm_apply(g3, zero, scale, zero)
        gx = gx.reshape(x.shape)
    grads = [gx]
    if has_w:
        grads.append((sum_gx * invstd).astype(w.dtype) if w.requires_grad else None)
    if has_b:
        grads.append(sum_g.astype(b.dtype) if b.requires_grad else None)
    return tuple(grads)


def _window_sum(a: np.ndarray, before: int, after: int) -> np.ndarray:
    """s[:, c] = sum of a[:, c - before .. c + after] along dim 1, clipped to the channels."""
    c = a.shape[1]
    s = np.zeros_like(a)
    for off in range(-before, after + 1):
        lo, hi = max(0, -off), min(c, c - off)           # channels whose neighbour c+off exists
        if lo < hi:
            s[:, lo:hi] += a[:, lo + off:hi + off]
    return s


class LocalResponseNormSaved(NamedTuple):
    """What a local_response_norm node keeps: D and D^-beta per element, the window's reach
    before and after each channel, and alpha, beta, size."""
    denom: np.ndarray
    scale: np.ndarray
    before: int
    after: int
    alpha: float
    beta: float
    size: int


def local_response_norm(input, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalisation across channels (AlexNet, section 3.3), PyTorch's form:

        y_c = x_c / D_c^beta,   D_c = k + (alpha / size) sum_{c' in W(c)} x_{c'}^2,
        W(c) = channels c - size//2 .. c + (size-1)//2 (clipped at the edges)

    (the paper writes alpha for alpha / size). Derivative:
        dx_j = g_j D_j^-beta - (2 alpha beta / size) x_j sum_{c: j in W(c)} g_c x_c D_c^(-beta-1)
    Shapes: (N, C, *) -> (N, C, *)."""
    x = ensure_tensor(input, "local_response_norm")
    if x.ndim < 3:
        raise ValueError(f"local_response_norm: expected an input of shape (N, C, ...) with at "
                         f"least 3 dims, got shape {x.shape}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"local_response_norm: size must be a positive int, got {size!r}")
    d = x._data
    before, after = size // 2, (size - 1) // 2
    dt = d.dtype
    denom = np.asarray(k, dt) + np.asarray(alpha / size, dt) * _window_sum(d * d, before, after)
    scale = denom ** np.asarray(-beta, dt)                      # D^-beta
    return make(d * scale, (x,), "local_response_norm", _lrn_backward,
                LocalResponseNormSaved(denom, scale, before, after, alpha, beta, size))


def _lrn_backward(node, g):
    sv = node._saved
    denom, scale, before, after = sv.denom, sv.scale, sv.before, sv.after
    alpha, beta, size = sv.alpha, sv.beta, sv.size
    x = node._parents[0]._data
    dt = x.dtype
    inner = g * x * scale / denom                               # g_c x_c D_c^(-beta-1)
    # the channels c whose window contains j are j - after .. j + before: the window transposed
    spread = _window_sum(inner, after, before)
    return (g * scale - np.asarray(2 * alpha * beta / size, dt) * x * spread,)


def _window_op(t: Tensor, before: int, after: int) -> Tensor:
    """``_window_sum`` recorded (it is linear; its transpose swaps before and after)."""
    return linear_map(t, lambda a: _window_sum(a, before, after),
                      lambda h: _window_sum(h, after, before), "lrn_window")


@graph_rule(_lrn_backward)
def _lrn_graph(node, g):
    """The docstring's derivative in recorded ops; D is rebuilt from x so that its own
    dependence on x is recorded (the constant k is folded into the constant part)."""
    sv = node._saved
    denom, before, after = sv.denom, sv.before, sv.after
    alpha, beta, size = sv.alpha, sv.beta, sv.size
    x = node._parents[0]
    xd = x._data
    a = alpha / size
    d = constant(denom - a * _window_sum(xd * xd, before, after)) + a * _window_op(x * x, before,
                                                                                  after)
    spread = _window_op(g * x * d ** (-beta - 1), after, before)
    return (g * d ** (-beta) - (2 * alpha * beta / size) * x * spread,)


# ---- layer norm and group norm: per-sample statistics, written with differentiable ops --------


def _normalise(x: Tensor, dims: tuple, eps: float) -> Tensor:
    """(x - mean) / sqrt(var + eps) over ``dims`` (the biased variance, as every norm layer)."""
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, keepdim=True, correction=0)
    return (x - mu) / (var + eps).sqrt()


def layer_norm(input, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, the statistics taken over the last
    len(normalized_shape) dims of each sample (Ba et al. 2016).
    Shapes: x (*, *normalized_shape); weight, bias normalized_shape."""
    x = float_input(input, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.shape[x.ndim - k:] != tuple(shape) or x.ndim < k:
        raise ShapeError(f"layer_norm: normalized_shape {shape} must match the last dims of "
                         f"the input, got input shape {x.shape}")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != shape:
            raise ShapeError(f"layer_norm: {name} has shape {tuple(p.shape)}, expected {shape}")
    y = _normalise(x, tuple(range(x.ndim - k, x.ndim)), eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def group_norm(input, num_groups: int, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample's channels in ``num_groups`` groups (Wu & He 2018), then scale
    and shift per channel. Shapes: x (N, C, *), C divisible by num_groups; weight, bias (C,)."""
    x = float_input(input, "group_norm")
    if x.ndim < 2:
        raise ShapeError(f"group_norm: expected an input of shape (N, C, *), got {x.shape}")
    n, c = x.shape[:2]
    if num_groups < 1 or c % num_groups:
        raise ShapeError(f"group_norm: {c} channels cannot be split into num_groups="
                         f"{num_groups} groups (channels must be divisible by it)")
    for name, p in (("weight", weight), ("bias", bias)):
        if p is not None and tuple(p.shape) != (c,):
            raise ShapeError(f"group_norm: {name} has shape {tuple(p.shape)}, expected ({c},)")
    # (N, C, *) -> (N, G, C/G * prod(*)) -> normalise each group -> back
    y = _normalise(x.reshape(n, num_groups, -1), (2,), eps).reshape(x.shape)
    per_channel = (1, c) + (1,) * (x.ndim - 2)
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


# ---- the rule in recorded ops, for backward(create_graph=True) ----------------------------------


@graph_rule(_batch_norm_backward)
def _batch_norm_graph(node, g):
    """The formulas of batch_norm's docstring with tensors: xh is recomputed from x so that the
    batch statistics' dependence on x is recorded too (training mode)."""
    sv = node._saved
    mean, invstd, eps = sv.mean, sv.invstd, sv.eps
    has_w, has_b, training = sv.has_weight, sv.has_bias, sv.training
    parents = node._parents
    x = parents[0]
    w = parents[1] if has_w else None
    b = parents[1 + has_w] if has_b else None
    n, c = x.shape[0], x.shape[1]
    dims = (0, 2)
    x3t = x.reshape(n, c, -1)
    g3 = g.reshape(n, c, -1)
    if training:
        centred = x3t - x3t.mean(dim=dims, keepdim=True)
        sigma_inv = ((centred * centred).mean(dim=dims, keepdim=True) + eps) ** -0.5
        xh = centred * sigma_inv
    else:
        sigma_inv = constant(invstd.reshape(1, c, 1).astype(x.dtype))
        xh = (x3t - constant(mean.reshape(1, c, 1).astype(x.dtype))) * sigma_inv
    wt = w.reshape(1, c, 1) if has_w else 1.0
    gx = None
    if x.requires_grad:
        if training:
            gx = wt * sigma_inv * (g3 - g3.mean(dim=dims, keepdim=True)
                                   - xh * (g3 * xh).mean(dim=dims, keepdim=True))
        else:
            gx = g3 * wt * sigma_inv
        gx = gx.reshape(x.shape)
    grads = [gx]
    if has_w:
        grads.append((g3 * xh).sum(dim=dims) if w.requires_grad else None)
    if has_b:
        grads.append(g3.sum(dim=dims) if b.requires_grad else None)
    return tuple(grads)


@graph_rule(_batch_norm_relu_backward)
def _batch_norm_relu_graph(node, g):
    """ReLU's recorded rule (g times its constant mask: the mask's derivative is zero almost
    everywhere), then batch_norm's."""
    mask = relu_grad(np.ones(node.shape, g.dtype), node._data)
    return _batch_norm_graph(node, g * constant(mask))


@graph_rule(_batch_norm_add_relu_backward)
def _batch_norm_add_relu_graph(node, g):
    gm = g * constant(relu_grad(np.ones(node.shape, g.dtype), node._data))
    return _batch_norm_graph(node, gm) + ((gm if node._parents[-1].requires_grad else None),)


def normalize(input, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out=None) -> Tensor:
    """input / max(||input||_p, eps) along ``dim`` (unit vectors; PyTorch's F.normalize).  The
    gradient follows from the ops: (g - v (v . g)) / ||input|| for p = 2 away from eps."""
    if out is not None:
        raise TypeError("normalize: out= is not supported; use the returned tensor")
    x = float_input(input, "normalize")
    return x / x.norm(p=p, dim=dim, keepdim=True).clamp_min(eps)
