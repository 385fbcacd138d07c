"""A YOLO-style grid detector's targets, loss and decoding (Redmon et al. 2016, "You only look
once", version 1 with one box per cell), for the lecture's picture of an S x S grid where the
cell holding an object's centre is responsible for it.

Layout of a prediction or target map, (N, 5 + K, S, S) for K classes, per cell (i, j):

    channel 0      objectness  (target 1 if an object's centre is in the cell, else 0)
    channels 1, 2  the centre's offset inside the cell, (x, y) in [0, 1)
    channels 3, 4  the box's width and height as fractions of the image
    channels 5...  class scores (target: one-hot)

Predictions are raw network outputs: objectness and class channels are logits, the box channels
go through a sigmoid. If two objects' centres fall into one cell, the first keeps it (one box per
cell, as YOLOv1).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.base import constant
from ..tensor import Tensor
from .boxes import batched_nms

__all__ = ["yolo_encode", "yolo_decode", "yolo_loss"]


def _get(d, key):
    v = d[key]
    return np.asarray(v._data if isinstance(v, Tensor) else v)


def yolo_encode(targets, grid_size: int, num_classes: int, image_size: int) -> np.ndarray:
    """Targets (one dict {'boxes' (G, 4) x1y1x2y2 pixels, 'labels' (G,)} per image) -> the
    (N, 5 + K, S, S) float32 target map described in the module docstring."""
    s, k = int(grid_size), int(num_classes)
    out = np.zeros((len(targets), 5 + k, s, s), np.float32)
    cell = image_size / s
    for n, t in enumerate(targets):
        boxes, labels = _get(t, "boxes").reshape(-1, 4), _get(t, "labels").reshape(-1)
        for (x1, y1, x2, y2), c in zip(boxes, labels):
            if not 0 <= c < k:
                raise ValueError(f"yolo_encode: label {c} of image {n} is outside [0, {k})")
            cx, cy = (x1 + x2) / 2 / cell, (y1 + y2) / 2 / cell      # in cell units
            j, i = min(int(cx), s - 1), min(int(cy), s - 1)
            if out[n, 0, i, j]:
                continue                                             # the cell is taken
            out[n, :5, i, j] = (1.0, cx - j, cy - i, (x2 - x1) / image_size,
                                (y2 - y1) / image_size)
            out[n, 5 + int(c), i, j] = 1.0
    return out


def yolo_loss(pred, target, lambda_coord: float = 5.0, lambda_noobj: float = 0.5) -> Tensor:
    """YOLOv1's weighted sum, per image (summed over cells, averaged over the batch):

        lambda_coord * sum_obj [(x - x^)^2 + (y - y^)^2 + (sqrt w - sqrt w^)^2 + (sqrt h - sqrt h^)^2]
      + sum_obj BCE(o, 1) + lambda_noobj * sum_noobj BCE(o, 0)
      + sum_obj CE(class scores, class)

    x, y, w, h = sigmoid of the box channels; o = the objectness logit. Differences from the
    paper, for stabler training of a small model: binary cross-entropy on the objectness logit
    instead of a squared error on a confidence, softmax cross-entropy instead of squared errors
    on class probabilities. pred: (N, 5 + K, S, S) raw outputs; target: ``yolo_encode``'s map."""
    t = target._data if isinstance(target, Tensor) else np.asarray(target, np.float32)
    if tuple(pred.shape) != t.shape:
        raise ValueError(f"yolo_loss: prediction shape {pred.shape} differs from target shape "
                         f"{t.shape} (both (N, 5 + K, S, S))")
    n = pred.shape[0]
    obj = t[:, 0:1]                                                   # (N, 1, S, S)
    box = pred[:, 1:5].sigmoid()
    tb = t[:, 1:5].copy()
    tb[:, 2:] = np.sqrt(tb[:, 2:])
    pb = F.cat([box[:, 0:2], (box[:, 2:4] + 1e-6) ** 0.5], dim=1)
    coord = (((pb - constant(tb.astype(pred.dtype))) ** 2) * constant(obj.astype(pred.dtype))).sum()
    weight = np.where(obj > 0, 1.0, lambda_noobj).astype(pred.dtype)
    objness = F.binary_cross_entropy_with_logits(pred[:, 0:1], constant(obj.astype(pred.dtype)),
                                                 weight=constant(weight), reduction="sum")
    logp = F.log_softmax(pred[:, 5:], dim=1)
    cls = -(logp * constant((t[:, 5:] * obj).astype(pred.dtype))).sum()
    return (lambda_coord * coord + objness + cls) / float(max(n, 1))


def yolo_decode(pred, image_size: int, score_threshold: float = 0.3,
                iou_threshold: float = 0.5) -> list:
    """Raw (N, 5 + K, S, S) predictions -> per image a dict {'boxes' (D, 4) x1y1x2y2 pixels,
    'scores' (D,), 'labels' (D,)} (numpy arrays), keeping cells whose score = sigmoid(o) *
    max class probability reaches ``score_threshold``, then per-class NMS at ``iou_threshold``.
    Sorted by score, highest first."""
    p = pred._data if isinstance(pred, Tensor) else np.asarray(pred)
    n, ch, s, _ = p.shape
    cell = image_size / s
    sig = lambda z: 1.0 / (1.0 + np.exp(-z))                           # noqa: E731
    obj = sig(p[:, 0])                                                 # (N, S, S)
    box = sig(p[:, 1:5])
    cls = p[:, 5:] - p[:, 5:].max(axis=1, keepdims=True)
    prob = np.exp(cls) / np.exp(cls).sum(axis=1, keepdims=True)        # (N, K, S, S)
    labels, best = prob.argmax(axis=1), prob.max(axis=1)
    scores = obj * best
    jj, ii = np.meshgrid(np.arange(s), np.arange(s))
    cx, cy = (jj + box[:, 0]) * cell, (ii + box[:, 1]) * cell          # (N, S, S) pixels
    w, h = box[:, 2] * image_size, box[:, 3] * image_size
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    out = []
    for b in range(n):
        keep = scores[b] >= score_threshold
        bx, sc, lb = boxes[b][keep], scores[b][keep], labels[b][keep]
        if len(sc):
            idx = batched_nms(bx, sc, lb, iou_threshold)._data
            bx, sc, lb = bx[idx], sc[idx], lb[idx]
        out.append({"boxes": bx.reshape(-1, 4).astype(np.float32),
                    "scores": sc.astype(np.float32), "labels": lb.astype(np.int64)})
    return out
