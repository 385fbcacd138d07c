"""Boxes as (x1, y1, x2, y2) corners (torchvision's convention, x2 > x1, y2 > y1), arrays of
shape (N, 4): area, format conversion, intersection over union, non-max suppression, the
anchor-relative encoding of R-CNN/YOLO-style regressors, and mean average precision.

The lecture's rules: a detection counts as correct when IoU >= 0.5; when several boxes claim the
same object, non-max suppression keeps the one with the highest score and drops the rest that
overlap it by more than a threshold.
"""

from __future__ import annotations

import numpy as np

from ..functional import maximum, minimum, stack
from ..functional.base import ensure_tensor
from ..tensor import Tensor

__all__ = ["box_area", "box_convert", "box_iou", "nms", "batched_nms", "encode_boxes",
           "decode_boxes", "average_precision", "mean_average_precision"]


def _boxes(x, name: str, where: str) -> Tensor:
    t = ensure_tensor(x, where)
    if t.ndim != 2 or t.shape[1] != 4:
        raise ValueError(f"{where}: {name} must have shape (N, 4) as (x1, y1, x2, y2), got "
                         f"{t.shape}")
    if t.dtype.kind != "f":
        t = Tensor(t._data.astype(np.float32))
    return t


def _array(x, name: str, where: str, ndim: int = 1) -> np.ndarray:
    a = x._data if isinstance(x, Tensor) else np.asarray(x)
    if a.ndim != ndim:
        raise ValueError(f"{where}: {name} must have {ndim} dim(s), got shape {a.shape}")
    return a


def box_area(boxes) -> Tensor:
    """(x2 - x1) (y2 - y1) per box.  Shape: (N, 4) -> (N,)."""
    b = _boxes(boxes, "boxes", "box_area")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_convert(boxes, in_fmt: str, out_fmt: str) -> Tensor:
    """Convert between 'xyxy' (corners), 'xywh' (corner, size) and 'cxcywh' (centre, size).
    Shape: (N, 4) -> (N, 4). Differentiable (a linear map)."""
    fmts = ("xyxy", "xywh", "cxcywh")
    for f in (in_fmt, out_fmt):
        if f not in fmts:
            raise ValueError(f"box_convert: unknown format {f!r}; expected one of {fmts}")
    b = _boxes(boxes, "boxes", "box_convert")
    a, c, d, e = (b[:, i] for i in range(4))
    if in_fmt == "xywh":
        a, c, d, e = a, c, a + d, c + e
    elif in_fmt == "cxcywh":
        a, c, d, e = a - d / 2, c - e / 2, a + d / 2, c + e / 2
    # now corners x1, y1, x2, y2
    if out_fmt == "xywh":
        a, c, d, e = a, c, d - a, e - c
    elif out_fmt == "cxcywh":
        a, c, d, e = (a + d) / 2, (c + e) / 2, d - a, e - c
    return stack([a, c, d, e], dim=1)


def box_iou(boxes1, boxes2) -> Tensor:
    """IoU = |A n B| / |A u B| = inter / (area1 + area2 - inter) for every pair.
    Shapes: (N, 4), (M, 4) -> (N, M). Built from differentiable ops (so an IoU-based loss
    back-propagates into the boxes); the gradient is zero where boxes do not overlap."""
    b1 = _boxes(boxes1, "boxes1", "box_iou")
    b2 = _boxes(boxes2, "boxes2", "box_iou")
    area1, area2 = box_area(b1), box_area(b2)
    lt = maximum(b1[:, None, :2], b2[None, :, :2])            # (N, M, 2) top-left of overlap
    rb = minimum(b1[:, None, 2:], b2[None, :, 2:])            # (N, M, 2) bottom-right
    wh = (rb - lt).clip(min=0.0)
    inter = wh[:, :, 0] * wh[:, :, 1]
    return inter / (area1[:, None] + area2[None, :] - inter)


def _iou_np(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], others[:, :2])
    rb = np.minimum(box[2:], others[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=1)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])   # noqa: E731
    return inter / (area(box) + area(others) - inter)


def nms(boxes, scores, iou_threshold: float) -> Tensor:
    """Greedy non-max suppression: repeatedly keep the highest-scoring box left and discard the
    boxes whose IoU with it is greater than ``iou_threshold``. Returns the kept indices (int64)
    in decreasing score order, as torchvision.ops.nms. Shapes: (N, 4), (N,) -> (K,)."""
    b = _boxes(boxes, "boxes", "nms")._data
    s = _array(scores, "scores", "nms")
    if s.shape[0] != b.shape[0]:
        raise ValueError(f"nms: {b.shape[0]} boxes but {s.shape[0]} scores")
    order = np.argsort(-s, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[_iou_np(b[i], b[rest]) <= iou_threshold]
    return Tensor(np.array(keep, dtype=np.int64))


def batched_nms(boxes, scores, idxs, iou_threshold: float) -> Tensor:
    """NMS within each category ``idxs`` (boxes of different categories never suppress each
    other): every category's boxes are shifted by an offset larger than all coordinates, so
    they cannot overlap, and one nms runs. Shapes: (N, 4), (N,), (N,) -> (K,)."""
    b = _boxes(boxes, "boxes", "batched_nms")._data
    cats = _array(idxs, "idxs", "batched_nms")
    if cats.shape[0] != b.shape[0]:
        raise ValueError(f"batched_nms: {b.shape[0]} boxes but {cats.shape[0]} idxs")
    if b.size == 0:
        return Tensor(np.zeros(0, np.int64))
    offsets = cats.astype(b.dtype) * (b.max() - b.min() + 1)
    return nms(b + offsets[:, None], scores, iou_threshold)


def _centre_size(b: np.ndarray):
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    return b[:, 0] + 0.5 * w, b[:, 1] + 0.5 * h, w, h


def encode_boxes(boxes, anchors, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """R-CNN box deltas of ``boxes`` relative to ``anchors`` (both xyxy), torchvision's BoxCoder:
        dx = wx (x - xa) / wa,  dy = wy (y - ya) / ha,  dw = ww log(w / wa),  dh = wh log(h / ha)
    with (x, y) centres and (w, h) sizes. Shapes: (N, 4), (N, 4) -> (N, 4)."""
    g = _boxes(boxes, "boxes", "encode_boxes")._data
    a = _boxes(anchors, "anchors", "encode_boxes")._data
    if g.shape != a.shape:
        raise ValueError(f"encode_boxes: boxes {g.shape} and anchors {a.shape} must match")
    (gx, gy, gw, gh), (ax, ay, aw, ah) = _centre_size(g), _centre_size(a)
    wx, wy, ww, wh = weights
    return Tensor(np.stack([wx * (gx - ax) / aw, wy * (gy - ay) / ah,
                            ww * np.log(gw / aw), wh * np.log(gh / ah)], axis=1))


def decode_boxes(deltas, anchors, weights=(1.0, 1.0, 1.0, 1.0)) -> Tensor:
    """The inverse of ``encode_boxes``: x = xa + wa dx / wx, w = wa exp(dw / ww), ... back to
    corners. Shapes: (N, 4), (N, 4) -> (N, 4)."""
    d = _boxes(deltas, "deltas", "decode_boxes")._data
    a = _boxes(anchors, "anchors", "decode_boxes")._data
    if d.shape != a.shape:
        raise ValueError(f"decode_boxes: deltas {d.shape} and anchors {a.shape} must match")
    ax, ay, aw, ah = _centre_size(a)
    wx, wy, ww, wh = weights
    x, y = ax + aw * d[:, 0] / wx, ay + ah * d[:, 1] / wy
    w, h = aw * np.exp(d[:, 2] / ww), ah * np.exp(d[:, 3] / wh)
    return Tensor(np.stack([x - w / 2, y - h / 2, x + w / 2, y + h / 2], axis=1))


def average_precision(scores, is_true_positive, num_ground_truth: int) -> float:
    """Area under the precision-recall curve of a ranked list of detections (all-point
    interpolation, as PASCAL VOC >= 2010): sort by score, precision_k = TP_k / k, recall_k =
    TP_k / num_ground_truth, make precision non-increasing from the right, and sum
    precision x recall steps. 0.0 when there is no ground truth."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    tp = np.asarray(is_true_positive, dtype=bool).reshape(-1)
    if s.shape != tp.shape:
        raise ValueError(f"average_precision: {s.size} scores but {tp.size} flags")
    if num_ground_truth <= 0:
        return 0.0
    tp = tp[np.argsort(-s, kind="stable")]
    ctp = np.cumsum(tp)
    precision = ctp / np.arange(1, tp.size + 1)
    recall = ctp / num_ground_truth
    precision = np.concatenate([[0.0], precision, [0.0]])
    recall = np.concatenate([[0.0], recall, [recall[-1] if recall.size else 0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


def mean_average_precision(predictions, targets, iou_threshold: float = 0.5) -> float:
    """mAP at one IoU threshold (mAP@0.5 by default), over images and classes.

    ``predictions``: a list (one per image) of dicts {'boxes' (K, 4), 'scores' (K,),
    'labels' (K,)}; ``targets``: a list of dicts {'boxes' (G, 4), 'labels' (G,)} (the
    torchmetrics layout). Per class, detections of all images are ranked by score; each is a
    true positive if it overlaps a not-yet-matched ground-truth box of its class and image with
    IoU >= threshold (the best such box), else a false positive. AP per class as
    ``average_precision``; the mean runs over classes that have ground truth."""
    if len(predictions) != len(targets):
        raise ValueError(f"mean_average_precision: {len(predictions)} predictions but "
                         f"{len(targets)} targets (one dict per image each)")
    get = lambda d, k: np.asarray(d[k]._data if isinstance(d[k], Tensor) else d[k])  # noqa
    classes = set()
    for t in targets:
        classes.update(get(t, "labels").reshape(-1).tolist())
    aps = []
    for c in sorted(classes):
        records, n_gt = [], 0
        for img, (p, t) in enumerate(zip(predictions, targets)):
            gt = get(t, "boxes").reshape(-1, 4)[get(t, "labels").reshape(-1) == c]
            n_gt += len(gt)
            mask = get(p, "labels").reshape(-1) == c
            for box, score in zip(get(p, "boxes").reshape(-1, 4)[mask],
                                  get(p, "scores").reshape(-1)[mask]):
                records.append((float(score), img, box))
        records.sort(key=lambda r: -r[0])
        matched: dict = {}
        flags = []
        for score, img, box in records:
            t = targets[img]
            gt = get(t, "boxes").reshape(-1, 4)[get(t, "labels").reshape(-1) == c]
            used = matched.setdefault(img, np.zeros(len(gt), bool))
            ok = False
            if len(gt):
                ious = np.where(used, -1.0, _iou_np(np.asarray(box, np.float64), gt))
                j = int(np.argmax(ious))
                if ious[j] >= iou_threshold:
                    used[j] = ok = True
            flags.append(ok)
        aps.append(average_precision([r[0] for r in records], flags, n_gt))
    return float(np.mean(aps)) if aps else 0.0
