"""ops: box IoU, NMS, box coding, mAP, and the sliding window as a convolution, on hand-computed
cases (the lecture's rules: IoU >= 0.5 counts as correct; NMS keeps the highest P_c)."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import nn, ops


def test_box_iou_hand_cases():
    a = [[0, 0, 2, 2], [1, 1, 3, 3]]
    b = [[1, 1, 2, 2], [0, 0, 2, 2], [10, 10, 11, 11], [2, 0, 4, 2]]
    iou = ops.box_iou(a, b).numpy()
    # [0,0,2,2] vs [1,1,2,2]: inter 1, union 4 + 1 - 1 = 4; vs itself 1; disjoint 0; touching 0
    # [1,1,3,3] vs [1,1,2,2]: 1 / 4; vs [0,0,2,2]: inter 1, union 4 + 4 - 1 = 7;
    #           vs [2,0,4,2]: inter [2,1,3,2] = 1, union 7
    np.testing.assert_allclose(iou, [[0.25, 1.0, 0.0, 0.0], [0.25, 1 / 7, 0.0, 1 / 7]])
    assert ops.box_iou(np.zeros((0, 4)), b).shape == (0, 4)


def test_box_iou_gradient():
    rng = np.random.default_rng(0)
    b1 = ac.tensor(np.array([[0.0, 0.1, 2.0, 2.2], [0.5, 0.4, 3.1, 2.9]]), requires_grad=True)
    b2 = ac.tensor(np.array([[1.0, 1.1, 2.5, 3.3], [0.2, 0.3, 1.7, 1.6]]), requires_grad=True)
    proj = ac.tensor(rng.standard_normal((2, 2)))
    ac.gradcheck(lambda x, y: (ops.box_iou(x, y) * proj).sum(), (b1, b2))


def test_box_iou_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(N, 4\)"):
        ops.box_iou([[0, 0, 1]], [[0, 0, 1, 1]])


def test_box_area_and_convert():
    np.testing.assert_allclose(ops.box_area([[1, 2, 4, 6], [0, 0, 1, 1]]).numpy(), [12, 1])
    xyxy = np.array([[1.0, 2.0, 4.0, 6.0]])
    np.testing.assert_allclose(ops.box_convert(xyxy, "xyxy", "cxcywh").numpy(), [[2.5, 4, 3, 4]])
    np.testing.assert_allclose(ops.box_convert(xyxy, "xyxy", "xywh").numpy(), [[1, 2, 3, 4]])
    for fmt in ("xywh", "cxcywh"):
        there = ops.box_convert(xyxy, "xyxy", fmt)
        np.testing.assert_allclose(ops.box_convert(there, fmt, "xyxy").numpy(), xyxy)
    with pytest.raises(ValueError, match="unknown format 'yxyx'"):
        ops.box_convert(xyxy, "yxyx", "xyxy")


def test_nms_keeps_the_highest_score_per_object():
    # car A: three overlapping boxes (0.9, 0.8, 0.7); car B: two (0.6, 0.85); a lone box (0.3)
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [0, 1, 10, 11],
             [20, 20, 30, 30], [21, 20, 31, 30], [50, 50, 52, 52]]
    scores = [0.9, 0.8, 0.7, 0.6, 0.85, 0.3]
    keep = ops.nms(boxes, scores, 0.5)
    assert keep.dtype == np.int64
    assert keep.numpy().tolist() == [0, 4, 5]
    # a stricter threshold keeps more: IoU(A0, A1) = 81 / 119 = 0.68, IoU(A0, A2) = 0.818
    assert ops.nms(boxes, scores, 0.7).numpy().tolist() == [0, 4, 1, 5]


def test_nms_threshold_is_strict_and_edge_cases():
    boxes = [[0, 0, 2, 2], [1, 1, 3, 3]]                      # IoU exactly 1/7
    assert ops.nms(boxes, [0.5, 0.4], 1 / 7).numpy().tolist() == [0, 1]   # not > threshold
    assert ops.nms(boxes, [0.5, 0.4], 0.14).numpy().tolist() == [0]
    assert ops.nms(np.zeros((0, 4)), np.zeros(0), 0.5).shape == (0,)
    with pytest.raises(ValueError, match="2 boxes but 1 scores"):
        ops.nms(boxes, [0.5], 0.5)


def test_nms_matches_a_brute_force_reference():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 20, (40, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(2, 8, (40, 2))], axis=1)
    scores = rng.permutation(40) / 40.0
    iou = ops.box_iou(boxes, boxes).numpy()
    alive, keep = np.ones(40, bool), []
    for i in np.argsort(-scores):
        if alive[i]:
            keep.append(i)
            alive &= ~(iou[i] > 0.3)
    assert ops.nms(boxes, scores, 0.3).numpy().tolist() == keep


def test_batched_nms_separates_categories():
    boxes = [[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10]]
    scores = [0.9, 0.8, 0.7]
    assert ops.batched_nms(boxes, scores, [0, 0, 1], 0.5).numpy().tolist() == [0, 2]
    assert ops.batched_nms(boxes, scores, [0, 0, 0], 0.5).numpy().tolist() == [0]


def test_encode_decode_boxes():
    anchors = np.array([[0.0, 0.0, 10.0, 10.0], [2.0, 2.0, 6.0, 4.0]])
    boxes = np.array([[5.0, 5.0, 25.0, 15.0], [2.0, 2.0, 6.0, 4.0]])
    deltas = ops.encode_boxes(boxes, anchors).numpy()
    # centre (5, 5) size 10 x 10 -> centre (15, 10) size 20 x 10
    np.testing.assert_allclose(deltas, [[1.0, 0.5, np.log(2.0), 0.0], [0, 0, 0, 0]], atol=1e-12)
    w = (10.0, 10.0, 5.0, 5.0)
    np.testing.assert_allclose(ops.encode_boxes(boxes, anchors, w).numpy()[0],
                               [10.0, 5.0, 5 * np.log(2.0), 0.0])
    np.testing.assert_allclose(ops.decode_boxes(ops.encode_boxes(boxes, anchors, w), anchors,
                                                w).numpy(), boxes)


def test_average_precision_hand_case():
    # ranked: TP, FP, TP with 2 ground-truth boxes: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1;
    # all-point interpolation: 1/2 * 1 + 1/2 * 2/3 = 5/6
    assert ops.average_precision([0.9, 0.8, 0.7], [True, False, True], 2) == pytest.approx(5 / 6)
    assert ops.average_precision([0.7, 0.9, 0.8], [True, True, False], 2) == pytest.approx(5 / 6)
    assert ops.average_precision([0.5], [True], 4) == pytest.approx(0.25)
    assert ops.average_precision([], [], 0) == 0.0


def test_mean_average_precision_two_images_two_classes():
    targets = [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 1]},
               {"boxes": [[0, 0, 10, 10]], "labels": [0]}]
    predictions = [
        {"boxes": [[0, 0, 10, 9], [0, 0, 10, 10], [20, 20, 30, 30]],      # a duplicate of gt 0
         "scores": [0.9, 0.8, 0.7], "labels": [0, 0, 1]},
        {"boxes": [[5, 5, 15, 15]], "scores": [0.6], "labels": [0]},       # IoU 25/175: a miss
    ]
    # class 0: ranked TP (0.9), FP duplicate (0.8), FP miss (0.6), 2 gt -> AP 1/2
    # class 1: TP, 1 gt -> AP 1;  mAP = 3/4
    assert ops.mean_average_precision(predictions, targets) == pytest.approx(0.75)
    # at IoU 0.1 the miss (0.143) becomes a TP for image 1: class 0 precision 1, 1/2, 2/3
    assert ops.mean_average_precision(predictions, targets, 0.1) == pytest.approx((5 / 6 + 1) / 2)


def test_sliding_window_as_convolution_equals_cropping():
    ac.manual_seed(0)
    clf = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 6, 3),
                        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 2 * 2, 8),
                        nn.ReLU(), nn.Linear(8, 3)).double()
    clf.eval()
    fcn = ops.convolutionalize(clf, (1, 14, 14))
    assert isinstance(fcn[-1], nn.Conv2d) and fcn[-1].kernel_size == (1, 1)
    assert sum(isinstance(m, nn.Linear) for m in fcn.modules()) == 0
    crop = ac.randn(2, 1, 14, 14, dtype=ac.float64)
    with ac.no_grad():
        np.testing.assert_allclose(fcn(crop).numpy()[:, :, 0, 0], clf(crop).numpy(), rtol=1e-10)
        image = ac.randn(2, 1, 22, 26, dtype=ac.float64)
        grid = fcn(image)                                         # one pass: every window
    assert grid.shape == (2, 3, 3, 4)                           # stride 4 = the two 2x2 pools
    naive = ops.sliding_window_scores(clf, image, 14, 4)
    np.testing.assert_allclose(grid.numpy(), naive.numpy(), rtol=1e-10)


def test_fc_to_conv_checks_sizes():
    with pytest.raises(ValueError, match="4 channels x 2 x 2 = 16 inputs, but the Linear takes 10"):
        ops.fc_to_conv(nn.Linear(10, 2), 4, 2)
    with pytest.raises(TypeError, match="expected an nn.Linear"):
        ops.fc_to_conv(nn.ReLU(), 4, 2)
