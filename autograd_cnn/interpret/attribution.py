"""Which input pixels a class score depends on: saliency, occlusion sensitivity, class activation
maps (CAM) and Grad-CAM. Each takes an image (C, H, W) or a batch (N, C, H, W) and returns one
(H, W) map per image ((H, W) for one image, (N, H, W) for a batch); ``target`` is the class
(an int, one per image, or None for the predicted class).
"""

from __future__ import annotations

import numpy as np

from ..engine import no_grad
from ..tensor import Tensor
from ._common import as_batch, capture, class_score, evaluating, get_layer, resize, targets

__all__ = ["saliency", "occlusion", "class_activation_map", "grad_cam"]


def _out(maps: np.ndarray, single: bool) -> np.ndarray:
    return maps[0] if single else maps


def saliency(model, x, target=None) -> np.ndarray:
    """Simonyan, Vedaldi & Zisserman 2014: S[i, j] = max_c |d score_t / d x[c, i, j]|, how much
    a small change of each pixel changes the class score (the logit, before the softmax)."""
    xb, single = as_batch(x, "saliency", model)
    inp = Tensor(xb, requires_grad=True)
    with evaluating(model):
        out = model(inp)                                       # (N, K) class scores
        class_score(out, targets(out._data, target, "saliency")).backward()
    return _out(np.abs(inp.grad._data).max(axis=1), single)    # (N, C, H, W) -> (N, H, W)


def occlusion(model, x, target=None, patch: int = 4, stride: int = 2, baseline: float = 0.0,
              batch_size: int = 64) -> np.ndarray:
    """Zeiler & Fergus 2014: slide a ``patch`` x ``patch`` square of ``baseline`` over the image
    (step ``stride``) and record how much the target class's probability drops:

        M[i, j] = mean over the squares covering (i, j) of p_t(x) - p_t(x with the square)

    Large where the evidence is; negative where hiding a pixel helps the class."""
    from ..functional import softmax
    xb, single = as_batch(x, "occlusion", model)
    if patch < 1 or stride < 1:
        raise ValueError(f"occlusion: patch and stride must be >= 1, got {patch} and {stride}")
    n, c, h, w = xb.shape
    rows = list(range(0, max(h - patch, 0) + 1, stride))
    cols = list(range(0, max(w - patch, 0) + 1, stride))
    if rows[-1] + patch < h:                          # the last square reaches the border
        rows.append(h - patch)
    if cols[-1] + patch < w:
        cols.append(w - patch)
    squares = [(i, j) for i in rows for j in cols]
    maps = np.zeros((n, h, w))
    with evaluating(model), no_grad():
        probs = softmax(model(Tensor(xb)), dim=1)._data
        t = targets(probs, target, "occlusion")
        for k in range(n):
            base = probs[k, t[k]]
            drop, cover = np.zeros((h, w)), np.zeros((h, w))
            for s in range(0, len(squares), batch_size):
                chunk = squares[s:s + batch_size]
                batch = np.repeat(xb[k:k + 1], len(chunk), axis=0)
                for b, (i, j) in enumerate(chunk):
                    batch[b, :, i:i + patch, j:j + patch] = baseline
                p = softmax(model(Tensor(batch)), dim=1)._data[:, t[k]]
                for b, (i, j) in enumerate(chunk):
                    drop[i:i + patch, j:j + patch] += base - p[b]
                    cover[i:i + patch, j:j + patch] += 1
            maps[k] = drop / np.maximum(cover, 1)
    return _out(maps, single)


def _last_linear(model):
    from ..nn import Linear
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    if not linears:
        raise ValueError("class_activation_map: the model has no Linear layer; pass fc=")
    return linears[-1]


def class_activation_map(model, x, layer, target=None, fc=None, upsample: bool = True):
    """Zhou et al. 2016, for networks ending in global average pooling and one linear layer:
    the class score is y_t = sum_k w[t, k] mean_ij A_k[i, j] + b_t, so

        CAM_t[i, j] = sum_k w[t, k] A_k[i, j]          (A: ``layer``'s output (K, h, w))

    is the map whose mean is the score (minus the bias). ``fc`` (default the model's last
    Linear) must take the K pooled channels. Returned at the input's size (bilinear) unless
    ``upsample=False``."""
    xb, single = as_batch(x, "class_activation_map", model)
    layer = get_layer(model, layer, "class_activation_map")
    fc = _last_linear(model) if fc is None else get_layer(model, fc, "class_activation_map")
    store = {}
    with evaluating(model), no_grad(), capture(layer, store):
        out = model(Tensor(xb))
    a = store["out_data"]                                    # (N, K, h, w)
    weight = fc.weight._data                                 # (classes, K)
    if a.ndim != 4 or weight.shape[1] != a.shape[1]:
        raise ValueError(f"class_activation_map: the layer's output {a.shape} must be (N, K, h, "
                         f"w) with K = fc's in_features ({weight.shape[1]}): CAM needs global "
                         "average pooling of that layer followed by the linear layer")
    t = targets(out._data, target, "class_activation_map")
    cam = np.einsum("nk,nkhw->nhw", weight[t].astype(np.float64), a)
    if upsample:
        cam = resize(cam, xb.shape[2:])
    return _out(cam, single)


def grad_cam(model, x, layer, target=None, upsample: bool = True, relu: bool = True):
    """Selvaraju et al. 2017, for any network: weight each channel of ``layer``'s output A by
    the average gradient of the class score over it,

        alpha_k = mean_ij d y_t / d A_k[i, j],   Grad-CAM = relu(sum_k alpha_k A_k)

    (for a GAP + linear head alpha_k = w[t, k] / (h w): CAM up to scale). Returned at the
    input's size (bilinear) unless ``upsample=False``; ``relu=False`` keeps negative evidence."""
    xb, single = as_batch(x, "grad_cam", model)
    layer = get_layer(model, layer, "grad_cam")
    store, grads = {}, {}

    def keep_grad(module, inputs, out):
        store["out"] = np.array(out._data, copy=True)
        out.register_hook(lambda g: grads.__setitem__("a", g._data))

    handle = layer.register_forward_hook(keep_grad)
    try:
        with evaluating(model):
            out = model(Tensor(xb, requires_grad=True))
            class_score(out, targets(out._data, target, "grad_cam")).backward()
    finally:
        handle.remove()
    a = store["out"]                                         # (N, K, h, w)
    if a.ndim != 4:
        raise ValueError(f"grad_cam: the layer's output must be a feature map (N, K, h, w), "
                         f"got shape {a.shape}")
    g = grads.get("a", np.zeros_like(a))                     # no path to the score: all zero
    alpha = g.mean(axis=(2, 3))                              # (N, K)
    cam = np.einsum("nk,nkhw->nhw", alpha.astype(np.float64), a)
    if relu:
        cam = np.maximum(cam, 0.0)
    if upsample:
        cam = resize(cam, xb.shape[2:])
    return _out(cam, single)
