"""Losses: the lecture notes' worked examples, hand-computed values, PyTorch's formulas
(cross_entropy with class weights, label smoothing and ignore_index), float64 gradchecks, and
the errors for bad targets."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F

pytestmark = pytest.mark.nojit


def randn(*shape, seed=0, requires_grad=True):
    rng = np.random.default_rng(seed)
    return ac.tensor(rng.standard_normal(shape), dtype="float64", requires_grad=requires_grad)


# ---- the lecture notes' examples ---------------------------------------------------------------

# Notes 000, "Multiclass SVM loss": three images (cat, car, frog), one column of scores each.
SCORES = np.array([[3.2, 5.1, -1.7],     # the cat image: scores for cat, car, frog
                   [1.3, 4.9, 2.0],      # the car image
                   [2.2, 2.5, -3.1]])    # the frog image
LABELS = np.array([0, 1, 2])


def test_lecture_multiclass_svm_example():
    losses = F.multiclass_svm_loss(ac.tensor(SCORES, dtype="float64"), LABELS, reduction="none")
    # cat: max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0 = 2.9
    # car: max(0, 1.3 - 4.9 + 1) + max(0, 2.0 - 4.9 + 1) = 0 + 0 = 0
    # frog: max(0, 2.2 + 3.1 + 1) + max(0, 2.5 + 3.1 + 1) = 6.3 + 6.6 = 12.9.
    # The slide (and the notes' extraction) says 10.9, writing 5.3 + 5.6: it dropped the "+ 1"
    # margin from both terms. We trust the computation: 12.9.
    np.testing.assert_allclose(losses._data, [2.9, 0.0, 12.9], rtol=1e-12)
    mean = F.multiclass_svm_loss(ac.tensor(SCORES, dtype="float64"), LABELS)
    np.testing.assert_allclose(mean.item(), (2.9 + 0 + 12.9) / 3, rtol=1e-12)   # L = 5.27
    module = nn.MulticlassSVMLoss()(ac.tensor(SCORES, dtype="float64"), LABELS)
    assert module.item() == mean.item()


def test_lecture_softmax_cross_entropy_example():
    # Notes 000, "Softmax Classifier": the cat image's scores 3.2, 5.1, -1.7.
    s = ac.tensor([3.2, 5.1, -1.7], dtype="float64")
    p = F.softmax(s, 0)._data
    np.testing.assert_allclose(np.exp([3.2, 5.1, -1.7]), [24.5, 164.0, 0.18], atol=0.05)
    np.testing.assert_allclose(p, [0.13, 0.87, 0.00], atol=5e-3)
    loss = F.cross_entropy(s, np.array(0))                    # unbatched: (C,) with a 0-d target
    np.testing.assert_allclose(loss.item(), -math.log(p[0]), rtol=1e-12)
    assert round(loss.item(), 2) == 2.04                      # L_i = -ln 0.13


def test_lecture_softmax_activation_example():
    # Notes 003, "Softmax activation": z = (5, 2, -1, 3), t = e^z = (148.4, 7.4, 0.4, 20.1),
    # sum 176.3, a = t / 176.3 = (0.842, 0.042, 0.002, 0.114). (The extracted slide shows 0.02 and
    # 0.14 for the last two, but its own "11.4% prob it's a baby chick" confirms 0.114.)
    z = ac.tensor([5.0, 2.0, -1.0, 3.0], dtype="float64")
    np.testing.assert_allclose(np.exp(z._data), [148.4, 7.4, 0.4, 20.1], atol=0.05)
    np.testing.assert_allclose(np.exp(z._data).sum(), 176.3, atol=0.05)
    np.testing.assert_allclose(nn.Softmax(dim=0)(z)._data, [0.842, 0.042, 0.002, 0.114],
                               atol=5e-4)


# ---- cross-entropy: PyTorch's formula ----------------------------------------------------------

X = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0], [0.3, 0.3, 0.3], [2.0, 1.0, 0.0]])
T = np.array([1, 2, -100, 0])
W = np.array([0.2, 1.0, 3.0])


def reference_cross_entropy(x, t, w, eps, ignore_index=-100):
    """The formula of the docstring, element by element."""
    n, c = x.shape
    losses, denominator = np.zeros(n), 0.0
    for i in range(n):
        if t[i] == ignore_index:
            continue
        logp = x[i] - np.log(np.exp(x[i]).sum())
        losses[i] = -(1 - eps) * w[t[i]] * logp[t[i]] - eps / c * sum(w[k] * logp[k]
                                                                      for k in range(c))
        denominator += w[t[i]]
    return losses, denominator


@pytest.mark.parametrize("weight", [None, W])
@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_weights_smoothing_ignore_index_formula(weight, eps):
    losses, denominator = reference_cross_entropy(X, T, np.ones(3) if weight is None else weight,
                                                  eps)
    x = ac.tensor(X, dtype="float64")
    kw = dict(weight=weight, label_smoothing=eps)
    np.testing.assert_allclose(F.cross_entropy(x, T, reduction="none", **kw)._data, losses,
                               rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, T, reduction="sum", **kw).item(),
                               losses.sum(), rtol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(x, T, **kw).item(), losses.sum() / denominator,
                               rtol=1e-12)


def test_cross_entropy_matches_values_computed_by_pytorch():
    # torch.nn.functional.cross_entropy (PyTorch 2.13, float64) on X, T, W above
    x = ac.tensor(X, dtype="float64")
    cases = [
        (dict(weight=W, label_smoothing=0.1), 0.3886457261510031),
        (dict(weight=W, label_smoothing=0.1, reduction="sum"), 1.632312049834213),
        (dict(), 0.35125307804714617),
        (dict(label_smoothing=0.1), 0.46680863360270175),
        (dict(weight=W), 0.2598198651819431),
    ]
    for kw, expected in cases:
        np.testing.assert_allclose(F.cross_entropy(x, T, **kw).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(
        F.cross_entropy(x, T, weight=W, label_smoothing=0.1, reduction="none")._data,
        [0.6396102021389294, 0.6289346057397487, 0.0, 0.363767241955535], rtol=1e-12)
    probs = np.array([[0.2, 0.5, 0.3], [0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3], [0.9, 0.1, 0.0]])
    np.testing.assert_allclose(F.cross_entropy(x, probs, weight=W, label_smoothing=0.1).item(),
                               1.181151730479077, rtol=1e-12)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    x = randn(3, 4)
    t = np.array([2, 0, 3])
    F.cross_entropy(x, t, reduction="sum").backward()
    p = np.exp(x._data) / np.exp(x._data).sum(1, keepdims=True)
    np.testing.assert_allclose(x.grad._data, p - np.eye(4)[t], rtol=1e-12)


def test_cross_entropy_per_pixel_and_unbatched_forms():
    x = randn(2, 3, 4, 5)
    t = np.random.default_rng(1).integers(0, 3, (2, 4, 5))
    flat = F.cross_entropy(x.permute(0, 2, 3, 1).reshape(-1, 3), t.reshape(-1))
    np.testing.assert_allclose(F.cross_entropy(x, t).item(), flat.item(), rtol=1e-12)
    assert F.cross_entropy(x, t, reduction="none").shape == (2, 4, 5)
    single = F.cross_entropy(x[0, :, 0, 0], t[0, 0, 0])
    np.testing.assert_allclose(single.item(),
                               F.cross_entropy(x[:1, :, 0, 0], t[:1, 0, 0]).item(), rtol=1e-12)


def test_cross_entropy_is_stable_and_all_ignored_gives_nan():
    x = ac.tensor([[1e4, 0.0, -1e4]], dtype="float32", requires_grad=True)
    loss = F.cross_entropy(x, [1])
    loss.backward()
    np.testing.assert_allclose(loss.item(), 1e4, rtol=1e-6)
    assert np.all(np.isfinite(x.grad._data)) and loss.dtype == np.float32
    assert math.isnan(F.cross_entropy(ac.tensor(X), [-100] * 4).item())   # 0 / 0, as PyTorch
    masked = ac.tensor([[0.0, -math.inf, 1.0]], requires_grad=True)      # a class masked out
    loss = F.cross_entropy(masked, [2])
    loss.backward()
    assert math.isfinite(loss.item()) and np.all(np.isfinite(masked.grad._data))
    assert masked.grad._data[0, 1] == 0
    ignored = ac.tensor([[-math.inf, 1.0], [0.5, 0.2]])   # the ignored sample's class 0 is -inf
    assert math.isfinite(F.cross_entropy(ignored, [-100, 1]).item())


def test_nll_loss_of_log_softmax_equals_cross_entropy():
    x = ac.tensor(X, dtype="float64")
    for t, kw in ((T, dict()), (T, dict(weight=W)), (T, dict(reduction="none")),
                  (np.array([1, 2, 0, 0]), dict(ignore_index=0, weight=W))):
        np.testing.assert_allclose(F.nll_loss(F.log_softmax(x, 1), t, **kw)._data,
                                   F.cross_entropy(x, t, **kw)._data, rtol=1e-12)
    logp = nn.LogSoftmax(dim=1)(x)
    assert nn.NLLLoss(weight=W)(logp, T).item() == F.nll_loss(logp, T, weight=W).item()


# ---- other losses: hand-computed values --------------------------------------------------------


def test_regression_losses_by_hand():
    x = ac.tensor([1.0, -2.0, 0.5, 3.0], dtype="float64")
    y = [1.5, 0.0, 0.5, 1.0]                               # d = -0.5, -2, 0, 2
    assert F.mse_loss(x, y).item() == pytest.approx((0.25 + 4 + 0 + 4) / 4)
    assert F.l1_loss(x, y, reduction="sum").item() == pytest.approx(4.5)
    # smooth L1, beta 1: 0.5 * 0.25, 2 - 0.5, 0, 2 - 0.5
    assert F.smooth_l1_loss(x, y).item() == pytest.approx((0.125 + 1.5 + 0 + 1.5) / 4)
    assert F.smooth_l1_loss(x, y, beta=0).item() == F.l1_loss(x, y).item()
    # Huber, delta 1.5: 0.5 * 0.25, 1.5 * (2 - 0.75), 0, 1.5 * (2 - 0.75)
    assert F.huber_loss(x, y, delta=1.5).item() == pytest.approx((0.125 + 1.875 * 2) / 4)
    np.testing.assert_allclose(nn.MSELoss(reduction="none")(x, y)._data, [0.25, 4, 0, 4])


def test_binary_cross_entropies_by_hand():
    p = ac.tensor([0.9, 0.2, 0.5], dtype="float64")
    y = [1.0, 0.0, 1.0]
    expected = -(math.log(0.9) + math.log(0.8) + math.log(0.5)) / 3
    assert F.binary_cross_entropy(p, y).item() == pytest.approx(expected, rel=1e-12)
    logits = ac.tensor(np.log(p._data / (1 - p._data)))        # sigmoid(logits) = p
    assert F.binary_cross_entropy_with_logits(logits, y).item() == pytest.approx(expected,
                                                                                rel=1e-12)
    pw = [2.0, 2.0, 2.0]        # doubles the positive terms
    expected_pw = -(2 * math.log(0.9) + math.log(0.8) + 2 * math.log(0.5)) / 3
    assert F.binary_cross_entropy_with_logits(logits, y, pos_weight=pw).item() == \
        pytest.approx(expected_pw, rel=1e-12)
    big = ac.tensor([100.0, -100.0], dtype="float32")          # stable far from 0
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(big, [0.0, 1.0],
                                                                  reduction="none")._data,
                               [100.0, 100.0], rtol=1e-6)
    np.testing.assert_allclose(F.binary_cross_entropy(ac.tensor([0.0, 1.0]), [1.0, 0.0],
                                                      reduction="none")._data, [100.0, 100.0])


def test_multi_margin_loss_pytorch_docs_example_and_weights():
    # torch.nn.MultiMarginLoss docs: x = [0.1, 0.2, 0.4, 0.8], y = 3 ->
    # (1/4) ((1 - (0.8 - 0.1)) + (1 - (0.8 - 0.2)) + (1 - (0.8 - 0.4))) = 0.3250
    x = ac.tensor([[0.1, 0.2, 0.4, 0.8]], dtype="float64")
    assert nn.MultiMarginLoss()(x, [3]).item() == pytest.approx(0.325, rel=1e-12)
    assert F.multi_margin_loss(x, [3], p=2).item() == pytest.approx(
        (0.3 ** 2 + 0.4 ** 2 + 0.6 ** 2) / 4, rel=1e-12)
    assert F.multi_margin_loss(x, [3], weight=[1, 1, 1, 2.0]).item() == pytest.approx(0.65)
    # relation to the lecture's SVM: PyTorch's divides by the number of classes
    s = ac.tensor(SCORES, dtype="float64")
    np.testing.assert_allclose(F.multi_margin_loss(s, LABELS, reduction="none")._data * 3,
                               F.multiclass_svm_loss(s, LABELS, reduction="none")._data)


def test_kl_div_and_triplet_by_hand():
    p = np.array([[0.5, 0.5, 0.0]])
    q = np.array([[0.25, 0.5, 0.25]])
    kl = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(1.0)         # the p = 0 term is 0
    logq = ac.tensor(np.log(q))
    assert F.kl_div(logq, p, reduction="batchmean").item() == pytest.approx(kl)
    assert F.kl_div(logq, p, reduction="sum").item() == pytest.approx(kl)
    assert F.kl_div(logq, p).item() == pytest.approx(kl / 3)        # mean over elements
    assert F.kl_div(logq, np.log(p + 1e-300), log_target=True, reduction="sum").item() == \
        pytest.approx(kl)
    a = ac.tensor([[0.0, 0.0]], dtype="float64")
    pos = ac.tensor([[3.0, 4.0]], dtype="float64")                  # distance 5
    neg = ac.tensor([[0.0, 1.0]], dtype="float64")                  # distance 1
    assert F.triplet_margin_loss(a, pos, neg, eps=0).item() == pytest.approx(5 - 1 + 1)
    assert F.triplet_margin_loss(a, neg, pos, eps=0).item() == 0.0
    assert F.triplet_margin_loss(a, pos, neg, p=1, eps=0).item() == pytest.approx(7 - 1 + 1)


def test_regularisers():
    model = nn.Linear(3, 2).double()
    l2 = F.l2_penalty(model)
    w, b = model.weight._data, model.bias._data
    assert l2.item() == pytest.approx((w ** 2).sum() + (b ** 2).sum())
    assert F.l1_penalty([model.weight]).item() == pytest.approx(np.abs(w).sum())
    l2.backward()
    np.testing.assert_allclose(model.weight.grad._data, 2 * w)
    with pytest.raises(ValueError, match="got no parameters"):
        F.l2_penalty([])


# ---- gradients ---------------------------------------------------------------------------------


def _cases():
    rng = np.random.default_rng(5)
    t = np.array([1, 0, 2, 1])
    probs = rng.random((4, 3))
    probs /= probs.sum(1, keepdims=True)
    w = np.array([0.5, 2.0, 1.5])
    target = randn(4, 3, seed=9)
    unit = ac.tensor(rng.random((4, 3)) * 0.8 + 0.1, dtype="float64", requires_grad=True)
    yes_no = ac.tensor(rng.random((4, 3)), dtype="float64", requires_grad=True)
    logq = ac.tensor(np.log(probs), dtype="float64", requires_grad=True)
    pt = ac.tensor(probs[::-1].copy(), dtype="float64", requires_grad=True)
    return {
        "cross_entropy": (lambda x: F.cross_entropy(x, t), [randn(4, 3)]),
        "cross_entropy weighted smoothed ignored": (
            lambda x: F.cross_entropy(x, np.array([1, -100, 2, 0]), weight=w,
                                      label_smoothing=0.2, reduction="none"), [randn(4, 3)]),
        "cross_entropy per pixel": (
            lambda x: F.cross_entropy(x, np.array([[[0, 2], [1, 1]]]), weight=w), [randn(1, 3, 2, 2)]),
        "cross_entropy soft targets": (
            lambda x, p: F.cross_entropy(x, p, weight=w, label_smoothing=0.1), [randn(4, 3), pt]),
        "nll_loss": (lambda x: F.nll_loss(x, t, weight=w), [randn(4, 3)]),
        "mse_loss": (lambda x, y: F.mse_loss(x, y, reduction="none"), [randn(4, 3), target]),
        "l1_loss": (lambda x, y: F.l1_loss(x, y), [randn(4, 3), target]),
        "smooth_l1_loss": (lambda x, y: F.smooth_l1_loss(x, y, beta=0.7, reduction="sum"),
                           [randn(4, 3), target]),
        "huber_loss": (lambda x, y: F.huber_loss(x, y, delta=0.7), [randn(4, 3), target]),
        "binary_cross_entropy": (lambda p, y: F.binary_cross_entropy(p, y, weight=w),
                                 [unit, yes_no]),
        "binary_cross_entropy_with_logits": (
            lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=w[::-1]
                                                            .copy(), reduction="none"),
            [randn(4, 3), yes_no]),
        "multi_margin_loss p=1": (lambda x: F.multi_margin_loss(x, t, margin=0.5, weight=w),
                                  [randn(4, 3)]),
        "multi_margin_loss p=2": (lambda x: F.multi_margin_loss(x, t, p=2), [randn(4, 3)]),
        "multiclass_svm_loss": (lambda x: F.multiclass_svm_loss(x, t, reduction="none"),
                                [randn(4, 3)]),
        "triplet_margin_loss": (lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0,
                                                                       swap=True),
                                [randn(4, 3), randn(4, 3, seed=1), randn(4, 3, seed=2)]),
        "kl_div": (lambda lq, p: F.kl_div(lq, p, reduction="batchmean"), [logq, pt]),
        "kl_div log_target": (lambda lq, lp: F.kl_div(lq, lp, log_target=True, reduction="sum"),
                              [logq, randn(4, 3, seed=3)]),
        "l2_penalty": (lambda a, b: F.l2_penalty([a, b]), [randn(2, 3), randn(3)]),
        "l1_penalty": (lambda a, b: F.l1_penalty([a, b]), [randn(2, 3), randn(3)]),
    }


CASES = _cases()


@pytest.mark.parametrize("name", list(CASES))
def test_loss_gradcheck(name):
    fn, inputs = CASES[name]
    assert ac.gradcheck(fn, inputs)


@pytest.mark.parametrize("module,functional,args", [
    (nn.CrossEntropyLoss(weight=W, label_smoothing=0.1), F.cross_entropy,
     dict(weight=W, label_smoothing=0.1)),
    (nn.BCEWithLogitsLoss(pos_weight=[1.0, 2.0, 3.0]), F.binary_cross_entropy_with_logits,
     dict(pos_weight=np.array([1.0, 2.0, 3.0]))),
    (nn.SmoothL1Loss(beta=0.5), F.smooth_l1_loss, dict(beta=0.5)),
    (nn.KLDivLoss(reduction="batchmean"), F.kl_div, dict(reduction="batchmean")),
])
def test_loss_modules_call_their_functional(module, functional, args):
    x = ac.tensor(X, dtype="float64")
    y = T[[0, 1, 3, 3]] if functional is F.cross_entropy else np.abs(X) / 3
    if functional is F.cross_entropy:
        y = np.array([1, 2, 0, 0])
    assert module.double()(x, y).item() == functional(x, y, **args).item()
    if getattr(module, "weight", None) is not None:
        assert "weight" in module.state_dict()


# ---- errors ------------------------------------------------------------------------------------


def test_target_out_of_range_raises_index_error_naming_the_value():
    x = ac.randn(3, 4)
    for fn in (F.cross_entropy, F.nll_loss, F.multiclass_svm_loss, F.multi_margin_loss):
        with pytest.raises(IndexError, match=r"target 7 is out of range for 4 classes"):
            fn(x, [0, 7, 1])
        with pytest.raises(IndexError, match=r"target -1 is out of range"):
            fn(x, [0, -1, 1])
    F.cross_entropy(x, [0, -100, 1])             # the ignore_index itself is fine
    with pytest.raises(IndexError, match="target 4 is out of range"):
        F.cross_entropy(ac.randn(1, 4, 2, 2), np.array([[[0, 1], [4, 1]]]))


def test_batch_size_mismatch_raises_value_error_naming_both_sizes():
    x = ac.randn(3, 4)
    for fn in (F.cross_entropy, F.nll_loss, F.multiclass_svm_loss, F.multi_margin_loss):
        with pytest.raises(ValueError, match="input batch size 3 does not match target batch "
                                             "size 5"):
            fn(x, [0, 1, 2, 3, 0])
    for fn in (F.mse_loss, F.l1_loss, F.binary_cross_entropy_with_logits, F.smooth_l1_loss):
        with pytest.raises(ValueError, match="input batch size 3 does not match target batch "
                                             "size 2"):
            fn(x, np.zeros((2, 4)))
    with pytest.raises(ValueError, match="anchor batch size 3 does not match positive batch "
                                         "size 2"):
        F.triplet_margin_loss(x, ac.randn(2, 4), ac.randn(3, 4))


def test_other_loss_errors_are_clear():
    x = ac.randn(3, 4)
    with pytest.raises(TypeError, match="integer class indices, got dtype float32"):
        F.cross_entropy(x, ac.tensor([0.0, 1.0, 2.0]))
    with pytest.raises(ValueError, match=r"target shape \(3, 2\) does not fit input shape"):
        F.cross_entropy(x, np.zeros((3, 2), int))
    with pytest.raises(ValueError, match=r"weight must have one entry per class, shape \(4,\)"):
        F.cross_entropy(x, [0, 1, 2], weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.cross_entropy(x, [0, 1, 2], reduction="avg")
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 1\]"):
        F.cross_entropy(x, [0, 1, 2], label_smoothing=1.5)
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\].*with_logits"):
        F.binary_cross_entropy(x, np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"target shape \(3, 5\) differs from input shape"):
        F.mse_loss(x, np.zeros((3, 5)))
    with pytest.raises(TypeError, match="input must be floating point"):
        F.cross_entropy(ac.tensor([[1, 2]]), [0])
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        F.multi_margin_loss(x, [0, 1, 2], p=3)
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="batchmean")
