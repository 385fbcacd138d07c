"""Classification metrics in numpy: accuracy, top-k accuracy, confusion matrix, per-class
precision / recall / F1 with macro averages; for segmentation, per-pixel ``pixel_accuracy``,
``iou_per_class`` (Jaccard index) and ``mean_iou``.

Arguments follow the loss functions' order, ``metric(output, target)``:

    output: scores (N, K) (logits or probabilities: the predicted class is the argmax) or
            predicted labels (N,) of integers
    target: true labels (N,) of integers in [0, K)

Tensors and numpy arrays (or lists) are accepted; results are Python floats or numpy arrays.

    cm = ConfusionMatrix(10)
    for x, y in loader:
        cm.update(model(x), y)
    cm.accuracy(), cm.report()
"""

from __future__ import annotations

import numbers

import numpy as np

from .tensor import Tensor

__all__ = ["accuracy", "top_k_accuracy", "confusion_matrix", "precision_recall_f1",
           "classification_report", "ConfusionMatrix", "pixel_accuracy", "iou_per_class",
           "mean_iou"]


def _array(x, name: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    arr = np.asarray(x)
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"{name}: expected a numeric array or Tensor, got {type(x).__name__}")
    return arr


def _target(target, name: str) -> np.ndarray:
    t = _array(target, name)
    if t.ndim != 1 or (t.size and t.dtype.kind not in "iu"):
        raise TypeError(f"{name}: target must be 1-D integer class labels, got dtype {t.dtype} "
                        f"and shape {t.shape}")
    if t.size and t.min() < 0:
        raise ValueError(f"{name}: target labels must be non-negative, got {t.min()}")
    return t.astype(np.int64, copy=False)


def _labels(output, target, name: str) -> tuple[np.ndarray, np.ndarray, int | None]:
    """(predicted labels, true labels, K from the scores or None)."""
    out = _array(output, name)
    t = _target(target, name)
    if out.ndim == 2:
        k = out.shape[1]
        if k == 0:
            raise ValueError(f"{name}: scores have no classes (shape {out.shape})")
        pred = out.argmax(axis=1)
    elif out.ndim == 1 and (out.size == 0 or out.dtype.kind in "iu"):
        k, pred = None, out.astype(np.int64, copy=False)
        if pred.size and pred.min() < 0:
            raise ValueError(f"{name}: predicted labels must be non-negative, got {pred.min()}")
    else:
        raise TypeError(f"{name}: output must be scores (N, K) or integer labels (N,), got dtype "
                        f"{out.dtype} and shape {out.shape}")
    if len(pred) != len(t):
        raise ValueError(f"{name}: output has {len(pred)} samples but target has {len(t)}")
    if k is not None and t.size and t.max() >= k:
        raise ValueError(f"{name}: target label {t.max()} is out of range for scores of {k} classes")
    return pred, t, k


def accuracy(output, target) -> float:
    """Fraction of samples whose predicted class equals the target. Raises on zero samples."""
    pred, t, _ = _labels(output, target, "accuracy")
    if len(t) == 0:
        raise ValueError("accuracy: no samples")
    return float(np.mean(pred == t))


def top_k_accuracy(output, target, k: int = 5) -> float:
    """Fraction of samples whose target is among the k highest scores. output: scores (N, K).

    A sample counts as correct when fewer than k classes score strictly higher than its target,
    so ties are resolved in the target's favour (deterministic, unlike an arbitrary top-k pick)."""
    scores = _array(output, "top_k_accuracy")
    if scores.ndim != 2:
        raise ValueError(f"top_k_accuracy: output must be scores (N, K), got shape {scores.shape}")
    t = _target(target, "top_k_accuracy")
    n, num = scores.shape
    if isinstance(k, bool) or not isinstance(k, (numbers.Integral, np.integer)) or not 1 <= k <= num:
        raise ValueError(f"top_k_accuracy: k must be an int in [1, {num}] for {num} classes, got {k!r}")
    if len(t) != n:
        raise ValueError(f"top_k_accuracy: output has {n} samples but target has {len(t)}")
    if n == 0:
        raise ValueError("top_k_accuracy: no samples")
    if t.max() >= num:
        raise ValueError(f"top_k_accuracy: target label {t.max()} is out of range for {num} classes")
    target_score = scores[np.arange(n), t]                              # (N,)
    higher = (scores > target_score[:, None]).sum(axis=1)              # (N,) classes that beat it
    return float(np.mean(higher < k))


def _num_classes(num_classes, *label_arrays) -> int:
    seen = max((int(a.max()) + 1 for a in label_arrays if a.size), default=0)
    if num_classes is None:
        return seen
    if isinstance(num_classes, bool) or not isinstance(num_classes, (numbers.Integral, np.integer)) \
            or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if seen > num_classes:
        raise ValueError(f"label {seen - 1} is out of range for num_classes={num_classes}")
    return int(num_classes)


def confusion_matrix(output, target, num_classes: int | None = None) -> np.ndarray:
    """C (K, K) int64 with C[i, j] = number of samples of true class i predicted as j
    (rows: true class, columns: predicted). K = ``num_classes``, else the score width, else the
    largest label seen + 1."""
    pred, t, k = _labels(output, target, "confusion_matrix")
    k = _num_classes(num_classes if num_classes is not None else k, pred, t)
    return np.bincount(t * k + pred, minlength=k * k).reshape(k, k)


def _safe_divide(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division), dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _scores_from_matrix(cm: np.ndarray, zero_division: float) -> dict:
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0)          # TP + FP
    support = cm.sum(axis=1)            # TP + FN
    precision = _safe_divide(tp, predicted, zero_division)
    recall = _safe_divide(tp, support, zero_division)
    f1 = _safe_divide(2 * tp, predicted + support, zero_division)      # 2TP / (2TP + FP + FN)

    def macro(v):
        if np.isnan(zero_division):
            v = v[~np.isnan(v)]
            return float(v.mean()) if v.size else float("nan")
        return float(v.mean()) if v.size else float(zero_division)

    return {"precision": precision, "recall": recall, "f1": f1, "support": support,
            "macro": {"precision": macro(precision), "recall": macro(recall), "f1": macro(f1)},
            "accuracy": float(tp.sum() / cm.sum()) if cm.sum() else float("nan")}


def precision_recall_f1(output, target, num_classes: int | None = None,
                        zero_division: float = 0.0) -> dict:
    """Per-class precision TP / (TP + FP), recall TP / (TP + FN), F1 = 2TP / (2TP + FP + FN)
    (the harmonic mean of the two), support TP + FN, and their unweighted (macro) means.

    Zero division: a class never predicted has no precision, a class absent from the targets no
    recall, and one in neither no F1. Those entries are set to ``zero_division`` (0.0 by default,
    as scikit-learn does) and count as such in the macro mean; with ``zero_division=float('nan')``
    they are NaN and left out of the macro mean instead.

    Returns {'precision': (K,), 'recall': (K,), 'f1': (K,), 'support': (K,) int, 'accuracy': float,
    'macro': {'precision', 'recall', 'f1'}}.
    """
    return _scores_from_matrix(confusion_matrix(output, target, num_classes), zero_division)


def _report(cm: np.ndarray, class_names, zero_division: float) -> str:
    s = _scores_from_matrix(cm, zero_division)
    names = [str(c) for c in class_names] if class_names is not None else \
        [str(i) for i in range(len(cm))]
    if len(names) != len(cm):
        raise ValueError(f"classification_report: {len(names)} class names for {len(cm)} classes")
    w = max(12, *(len(n) for n in names))
    lines = [f"{'class':>{w}}  precision  recall     f1  support"]
    for i, name in enumerate(names):
        lines.append(f"{name:>{w}}  {s['precision'][i]:9.4f}  {s['recall'][i]:6.4f}  "
                     f"{s['f1'][i]:5.4f}  {s['support'][i]:7d}")
    m = s["macro"]
    lines.append(f"{'macro avg':>{w}}  {m['precision']:9.4f}  {m['recall']:6.4f}  "
                 f"{m['f1']:5.4f}  {int(cm.sum()):7d}")
    lines.append(f"{'accuracy':>{w}}  {s['accuracy']:9.4f}")
    return "\n".join(lines)


def classification_report(output, target, class_names=None, num_classes: int | None = None,
                          zero_division: float = 0.0) -> str:
    """A text table of per-class precision, recall, F1 and support, the macro averages and the
    accuracy."""
    if num_classes is None and class_names is not None:
        num_classes = len(class_names)
    return _report(confusion_matrix(output, target, num_classes), class_names, zero_division)


class ConfusionMatrix:
    """A confusion matrix accumulated batch by batch, and the metrics derived from it.

        cm = ConfusionMatrix(num_classes=10)
        cm.update(logits, y)       # any number of times
        cm.matrix, cm.accuracy(), cm.precision_recall_f1(), cm.report(class_names)
    """

    def __init__(self, num_classes: int):
        self.num_classes = _num_classes(num_classes)
        self.matrix = np.zeros((self.num_classes, self.num_classes), dtype=np.int64)

    def reset(self) -> None:
        self.matrix[...] = 0

    def update(self, output, target) -> "ConfusionMatrix":
        self.matrix += confusion_matrix(output, target, self.num_classes)
        return self

    @property
    def count(self) -> int:
        return int(self.matrix.sum())

    def accuracy(self) -> float:
        if self.count == 0:
            raise ValueError("ConfusionMatrix.accuracy: no samples yet (call update first)")
        return float(np.trace(self.matrix) / self.count)

    def precision_recall_f1(self, zero_division: float = 0.0) -> dict:
        return _scores_from_matrix(self.matrix, zero_division)

    def report(self, class_names=None, zero_division: float = 0.0) -> str:
        return _report(self.matrix, class_names, zero_division)

    def __repr__(self) -> str:
        return f"ConfusionMatrix(num_classes={self.num_classes}, count={self.count})"


# ---- segmentation ------------------------------------------------------------------------------


def _pixel_labels(output, target, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(predicted, true) per-pixel labels, flattened. output: (N, C, H, W) scores (argmax over
    dim 1) or (N, H, W) integer labels; target: (N, H, W) integer labels."""
    out = _array(output, name)
    t = _array(target, name)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must be integer labels, got dtype {t.dtype}")
    if out.ndim == t.ndim + 1:
        out = out.argmax(axis=1)
    elif out.dtype.kind not in "iu":
        raise TypeError(f"{name}: output of shape {out.shape} must be (N, C, ...) scores or "
                        f"integer labels shaped like the target {t.shape}")
    if out.shape != t.shape:
        raise ValueError(f"{name}: predicted labels have shape {out.shape} but the target has "
                         f"shape {t.shape}")
    return out.reshape(-1).astype(np.int64), t.reshape(-1).astype(np.int64)


def pixel_accuracy(output, target) -> float:
    """Fraction of pixels whose predicted class equals the target's (nan for no pixels)."""
    pred, t = _pixel_labels(output, target, "pixel_accuracy")
    return float(np.mean(pred == t)) if t.size else float("nan")


def iou_per_class(output, target, num_classes: int) -> np.ndarray:
    """IoU_c = |pred == c and target == c| / |pred == c or target == c| for each class c, a
    (num_classes,) float array; nan for a class absent from both (so ``np.nanmean`` skips it)."""
    pred, t = _pixel_labels(output, target, "iou_per_class")
    for arr, what in ((pred, "predicted"), (t, "target")):
        if arr.size and (arr.min() < 0 or arr.max() >= num_classes):
            raise ValueError(f"iou_per_class: {what} labels must be in [0, {num_classes}), got "
                             f"values in [{arr.min()}, {arr.max()}]")
    inter = np.bincount(t[pred == t], minlength=num_classes).astype(np.float64)
    union = (np.bincount(pred, minlength=num_classes) + np.bincount(t, minlength=num_classes)
             - inter)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def mean_iou(output, target, num_classes: int) -> float:
    """The mean of ``iou_per_class`` over the classes present in prediction or target."""
    return float(np.nanmean(iou_per_class(output, target, num_classes)))
