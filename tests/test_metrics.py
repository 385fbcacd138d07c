"""Metrics against examples computed by hand."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.metrics import (ConfusionMatrix, accuracy, classification_report,
                                  confusion_matrix, precision_recall_f1, top_k_accuracy)

# Eight samples, three classes. By hand:
#   target 0 0 0 1 1 2 2 2
#   pred   0 1 0 1 2 2 2 0
TARGET = np.array([0, 0, 0, 1, 1, 2, 2, 2])
PRED = np.array([0, 1, 0, 1, 2, 2, 2, 0])


def test_accuracy_from_labels_scores_and_tensors():
    assert accuracy(PRED, TARGET) == 5 / 8
    scores = np.eye(3)[PRED] * 2.0 - 0.5                   # argmax = PRED
    assert accuracy(scores, TARGET) == 5 / 8
    assert accuracy(ac.tensor(scores), ac.tensor(TARGET)) == 5 / 8
    assert accuracy([1, 2], [1, 2]) == 1.0


def test_confusion_matrix_by_hand():
    cm = confusion_matrix(PRED, TARGET)
    # rows: true class, columns: predicted class
    np.testing.assert_array_equal(cm, [[2, 1, 0],
                                       [0, 1, 1],
                                       [1, 0, 2]])
    assert cm.dtype == np.int64
    np.testing.assert_array_equal(confusion_matrix(PRED, TARGET, num_classes=4)[3], [0, 0, 0, 0])
    with pytest.raises(ValueError, match="out of range for num_classes=2"):
        confusion_matrix(PRED, TARGET, num_classes=2)


def test_precision_recall_f1_by_hand():
    r = precision_recall_f1(PRED, TARGET)
    # class 0: TP 2, FP 1 (sample 7), FN 1 -> P 2/3, R 2/3, F1 2/3
    # class 1: TP 1, FP 1 (sample 1), FN 1 -> P 1/2, R 1/2, F1 1/2
    # class 2: TP 2, FP 1 (sample 4), FN 1 -> P 2/3, R 2/3, F1 2/3
    np.testing.assert_allclose(r["precision"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r["recall"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_allclose(r["f1"], [2 / 3, 1 / 2, 2 / 3])
    np.testing.assert_array_equal(r["support"], [3, 2, 3])
    assert r["macro"]["f1"] == pytest.approx((2 / 3 + 1 / 2 + 2 / 3) / 3)
    assert r["accuracy"] == 5 / 8


def test_unequal_precision_and_recall_by_hand():
    target = np.array([0, 0, 0, 0, 1, 1])
    pred = np.array([0, 1, 1, 1, 1, 1])
    r = precision_recall_f1(pred, target)
    # class 0: TP 1, FP 0, FN 3 -> P 1, R 1/4, F1 = 2PR / (P + R) = 0.4
    # class 1: TP 2, FP 3, FN 0 -> P 2/5, R 1, F1 = 2 * 0.4 / 1.4 = 4/7
    np.testing.assert_allclose(r["precision"], [1.0, 0.4])
    np.testing.assert_allclose(r["recall"], [0.25, 1.0])
    np.testing.assert_allclose(r["f1"], [0.4, 4 / 7])
    assert r["macro"]["precision"] == pytest.approx(0.7)
    assert r["macro"]["recall"] == pytest.approx(0.625)


def test_zero_division_is_explicit():
    # class 2 is never predicted (precision 0/0) and class 3 appears nowhere (everything 0/0)
    target = np.array([0, 1, 2])
    pred = np.array([0, 1, 1])
    r = precision_recall_f1(pred, target, num_classes=4)
    np.testing.assert_allclose(r["precision"], [1.0, 0.5, 0.0, 0.0])
    np.testing.assert_allclose(r["recall"], [1.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(r["f1"], [1.0, 2 / 3, 0.0, 0.0])
    assert r["macro"]["precision"] == pytest.approx(1.5 / 4)
    r1 = precision_recall_f1(pred, target, num_classes=4, zero_division=1.0)
    np.testing.assert_allclose(r1["precision"], [1.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(r1["recall"], [1.0, 1.0, 0.0, 1.0])  # class 2 has support: 0/1
    rn = precision_recall_f1(pred, target, num_classes=4, zero_division=float("nan"))
    assert math.isnan(rn["precision"][2]) and math.isnan(rn["f1"][3])
    assert rn["macro"]["precision"] == pytest.approx(0.75)          # NaNs left out: (1 + 0.5) / 2
    assert rn["macro"]["recall"] == pytest.approx((1 + 1 + 0) / 3)


def test_top_k_by_hand_and_ties():
    scores = np.array([[0.1, 0.5, 0.4],      # target 2: second best
                       [0.7, 0.2, 0.1],      # target 0: best
                       [0.3, 0.3, 0.4],      # target 1: tied second with class 0
                       [0.5, 0.3, 0.2]])     # target 2: third
    target = np.array([2, 0, 1, 2])
    assert top_k_accuracy(scores, target, k=1) == 0.25
    assert top_k_accuracy(scores, target, k=2) == 0.75          # the tie counts for the target
    assert top_k_accuracy(scores, target, k=3) == 1.0
    with pytest.raises(ValueError, match=r"k must be an int in \[1, 3\]"):
        top_k_accuracy(scores, target, k=4)
    with pytest.raises(ValueError, match="scores"):
        top_k_accuracy(np.array([0, 1]), np.array([0, 1]), k=1)


def test_confusion_matrix_accumulator_and_report():
    cm = ConfusionMatrix(3)
    cm.update(PRED[:4], TARGET[:4]).update(np.eye(3)[PRED[4:]], ac.tensor(TARGET[4:]))
    np.testing.assert_array_equal(cm.matrix, confusion_matrix(PRED, TARGET))
    assert cm.count == 8 and cm.accuracy() == 5 / 8
    np.testing.assert_allclose(cm.precision_recall_f1()["f1"], [2 / 3, 1 / 2, 2 / 3])
    text = cm.report(["zero", "one", "two"])
    assert "one" in text and "0.5000" in text and "macro avg" in text and "0.6250" in text
    assert classification_report(PRED, TARGET, class_names=["a", "b", "c"]).splitlines()[2].split()[0] == "b"
    cm.reset()
    assert cm.count == 0
    with pytest.raises(ValueError, match="no samples yet"):
        cm.accuracy()


def test_metric_errors():
    with pytest.raises(ValueError, match="3 samples but target has 2"):
        accuracy(np.array([0, 1, 2]), np.array([0, 1]))
    with pytest.raises(TypeError, match="1-D integer class labels"):
        accuracy(np.array([0, 1]), np.array([0.0, 1.0]))
    with pytest.raises(TypeError, match=r"scores \(N, K\) or integer labels"):
        accuracy(np.array([0.2, 0.8]), np.array([0, 1]))
    with pytest.raises(ValueError, match="out of range for scores of 2 classes"):
        accuracy(np.zeros((2, 2)), np.array([0, 2]))
    with pytest.raises(ValueError, match="no samples"):
        accuracy(np.zeros((0, 3)), np.zeros(0, np.int64))
    with pytest.raises(ValueError, match="non-negative"):
        confusion_matrix(np.array([0, 1]), np.array([0, -1]))
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        ConfusionMatrix(0)
