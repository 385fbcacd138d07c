"""Neural style transfer's losses (Gatys, Ecker & Bethge 2015): the Gram matrix of a layer's
feature maps, the style loss that compares Gram matrices, and the content loss that compares
the maps themselves. PyTorch has none of these; they are a few lines of tensor algebra.

    G = gram_matrix(features)                       # (N, C, H, W) -> (N, C, C)
    J = content_weight * content_loss(f_gen, f_content) + style_weight * style_loss(
            [f1_gen, f2_gen], [f1_style, f2_style])

Style transfer optimises the *image* (a tensor with requires_grad=True) against these losses,
with the network's weights fixed.
"""

from __future__ import annotations

from .. import functional as F
from ..functional.base import ensure_tensor
from ..tensor import Tensor

__all__ = ["gram_matrix", "style_loss", "content_loss"]


def gram_matrix(features, normalize: bool = True) -> Tensor:
    """G[n, c, c'] = sum_{h,w} F[n, c, h, w] F[n, c', h, w]  (divided by C*H*W when normalize):
    how strongly channels c and c' fire together, wherever in the image. Shape: (N, C, H, W) ->
    (N, C, C); a (C, H, W) input gives (C, C)."""
    x = ensure_tensor(features, "gram_matrix")
    if x.ndim not in (3, 4):
        raise ValueError(f"gram_matrix: expected (N, C, H, W) or (C, H, W) feature maps, got "
                         f"shape {x.shape}")
    single = x.ndim == 3
    if single:
        x = x.reshape(1, *x.shape)
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)                                   # (N, C, HW)
    g = F.bmm(flat, flat.transpose(1, 2))                           # (N, C, C)
    if normalize:
        g = g / float(c * h * w)
    return g[0] if single else g


def content_loss(generated, target) -> Tensor:
    """J_content = mean over elements of (a_G - a_C)^2 at one layer (the notes' 1/2 sum up to a
    constant factor). The target is detached: only the generated image learns."""
    g = ensure_tensor(generated, "content_loss")
    t = ensure_tensor(target, "content_loss").detach()
    if g.shape != t.shape:
        raise ValueError(f"content_loss: generated shape {g.shape} differs from target shape "
                         f"{t.shape}")
    return F.mse_loss(g, t)


def style_loss(generated, target, weights=None) -> Tensor:
    """J_style = sum_l w_l * sum_{c,c'} (G_l(gen) - G_l(style))^2  with the normalised Gram
    matrices (``gram_matrix``), summed over the matrix entries and averaged over the batch.

    ``generated`` and ``target``: one (N, C, H, W) feature map each, or equal-length lists of
    them (one per layer; the style image may have its own H, W: only the Gram matrices, (C, C),
    are compared). ``weights``: per-layer w_l (default 1 each). The target is detached."""
    gens = list(generated) if isinstance(generated, (list, tuple)) else [generated]
    tgts = list(target) if isinstance(target, (list, tuple)) else [target]
    if len(gens) != len(tgts):
        raise ValueError(f"style_loss: {len(gens)} generated feature maps but {len(tgts)} "
                         "target ones (one per layer each)")
    weights = [1.0] * len(gens) if weights is None else [float(w) for w in weights]
    if len(weights) != len(gens):
        raise ValueError(f"style_loss: {len(weights)} weights for {len(gens)} layers")
    total = None
    for w, g, t in zip(weights, gens, tgts):
        gg, gt = gram_matrix(g), gram_matrix(t).detach()
        if gg.shape[-1] != gt.shape[-1]:
            raise ValueError(f"style_loss: generated features have {gg.shape[-1]} channels but "
                             f"the target's have {gt.shape[-1]}")
        diff = gg - gt                      # the style image's Gram broadcasts over the batch
        term = (diff * diff).sum() / float(g.shape[0] if g.ndim == 4 else 1) * w
        total = term if total is None else total + term
    return total
