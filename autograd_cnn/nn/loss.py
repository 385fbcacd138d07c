"""Losses as modules: each holds its options and calls the functional loss of the same name
(see ``autograd_cnn/functional/loss.py`` for the formulas). Called as ``loss_fn(input, target)``.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..functional.loss import _check_reduction
from ..tensor import Tensor
from .module import Module

__all__ = ["CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
           "BCELoss", "BCEWithLogitsLoss", "MultiMarginLoss", "MulticlassSVMLoss",
           "TripletMarginLoss", "SquaredTripletLoss", "DiceLoss", "KLDivLoss"]


class _Loss(Module):
    _reductions = ("mean", "sum", "none")

    def __init__(self, reduction: str = "mean"):
        super().__init__()
        _check_reduction(reduction, type(self).__name__, self._reductions)
        self.reduction = reduction

    def _weight_buffer(self, name: str, weight) -> None:
        # class weights are buffers: saved in state_dict, converted by double()/float()
        if weight is not None:
            weight = weight if isinstance(weight, Tensor) else Tensor(np.asarray(weight))
        self.register_buffer(name, weight)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}" if self.reduction != "mean" else ""


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy of logits (N, C[, ...]) against class indices (N[, ...]) or class
    probabilities; ``weight`` per class, ``ignore_index``, ``label_smoothing`` as in PyTorch."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index, self.label_smoothing = int(ignore_index), float(label_smoothing)

    def forward(self, input, target):
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing)


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (use after LogSoftmax(dim=1))."""

    def __init__(self, weight=None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(_Loss):
    """Mean squared error (x - y)^2."""

    def forward(self, input, target):
        return F.mse_loss(input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error |x - y|."""

    def forward(self, input, target):
        return F.l1_loss(input, target, self.reduction)


class SmoothL1Loss(_Loss):
    """Quadratic for |x - y| < beta, linear beyond."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0):
        super().__init__(reduction)
        self.beta = float(beta)

    def forward(self, input, target):
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)


class HuberLoss(_Loss):
    """0.5 d^2 for |d| < delta, delta (|d| - delta/2) beyond."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction)
        self.delta = float(delta)

    def forward(self, input, target):
        return F.huber_loss(input, target, self.reduction, self.delta)


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities in [0, 1] (after a Sigmoid)."""

    def __init__(self, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)

    def forward(self, input, target):
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits (sigmoid included, numerically stable); ``pos_weight``
    weighs the positive term per class."""

    def __init__(self, weight=None, reduction: str = "mean", pos_weight=None):
        super().__init__(reduction)
        self._weight_buffer("weight", weight)
        self._weight_buffer("pos_weight", pos_weight)

    def forward(self, input, target):
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction,
                                                  self.pos_weight)


class MultiMarginLoss(_Loss):
    """PyTorch's multi-class hinge loss (divides by the number of classes)."""

    def __init__(self, p: int = 1, margin: float = 1.0, weight=None, reduction: str = "mean"):
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: p must be 1 or 2, got {p!r}")
        self.p, self.margin = p, float(margin)
        self._weight_buffer("weight", weight)

    def forward(self, input, target):
        return F.multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                   self.reduction)


class MulticlassSVMLoss(_Loss):
    """The lecture notes' multiclass SVM loss: sum over j != y of max(0, s_j - s_y + margin)."""

    def __init__(self, margin: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin = float(margin)

    def forward(self, input, target):
        return F.multiclass_svm_loss(input, target, self.margin, self.reduction)

    def extra_repr(self) -> str:
        return f"margin={self.margin}" + (f", {super().extra_repr()}"
                                          if self.reduction != "mean" else "")


class TripletMarginLoss(_Loss):
    """max(0, d(a, p) - d(a, n) + margin) with the p-norm distance."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6,
                 swap: bool = False, reduction: str = "mean"):
        super().__init__(reduction)
        self.margin, self.p, self.eps, self.swap = float(margin), p, float(eps), bool(swap)

    def forward(self, anchor, positive, negative):
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps,
                                     self.swap, self.reduction)


class SquaredTripletLoss(_Loss):
    """max(0, ||f(A) - f(P)||^2 - ||f(A) - f(N)||^2 + alpha): the lecture's form (not in
    PyTorch; see ``F.squared_triplet_loss``)."""

    def __init__(self, alpha: float = 0.2, reduction: str = "mean"):
        super().__init__(reduction)
        self.alpha = float(alpha)

    def forward(self, anchor, positive, negative):
        return F.squared_triplet_loss(anchor, positive, negative, self.alpha, self.reduction)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class DiceLoss(_Loss):
    """Soft multi-class Dice loss, 1 - mean over classes of dice (not in PyTorch; see
    ``F.dice_loss``). Input (N, C, H, W) logits, target (N, H, W) labels."""

    def __init__(self, smooth: float = 1.0, reduction: str = "mean"):
        super().__init__(reduction)
        self.smooth = float(smooth)

    def forward(self, input, target):
        return F.dice_loss(input, target, self.smooth, self.reduction)

    def extra_repr(self) -> str:
        return f"smooth={self.smooth}"


class KLDivLoss(_Loss):
    """KL divergence of log-probabilities (input) from a target distribution; use
    reduction='batchmean' for the mathematical KL per sample."""

    _reductions = ("mean", "batchmean", "sum", "none")

    def __init__(self, reduction: str = "mean", log_target: bool = False):
        super().__init__(reduction)
        self.log_target = bool(log_target)

    def forward(self, input, target):
        return F.kl_div(input, target, self.reduction, self.log_target)
