"""Issue 15 items 2-6, the library pieces: transfer-learning helpers, Dice loss and segmentation
metrics, the U-Net variants and the FCN, YOLO-style targets/loss/decoding, DCGAN and the VAE,
the style-transfer losses and the squared triplet loss. Values computed by hand in comments."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import models, ops, optim
from autograd_cnn.data import synthetic
from autograd_cnn.metrics import iou_per_class, mean_iou, pixel_accuracy
from autograd_cnn.nn.style import content_loss, gram_matrix, style_loss


def small_net():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(),
                         nn.Linear(2 * 2 * 2, 3))


# ---- transfer learning -------------------------------------------------------------------------


def test_layers_are_modules_owning_parameters_in_registration_order():
    names = [n for n, _ in nn.utils.layers_with_parameters(small_net())]
    assert names == ["0", "1", "4"]                     # ReLU and Flatten own no parameters


@pytest.mark.parametrize("k, trainable", [(0, []), (1, ["4"]), (2, ["1", "4"]),
                                          (3, ["0", "1", "4"]), (9, ["0", "1", "4"])])
def test_freeze_except_last(k, trainable):
    model = small_net()
    assert nn.utils.freeze_except_last(model, k) == trainable
    for name, p in model.named_parameters():
        assert p.requires_grad == (name.split(".")[0] in trainable), name


@pytest.mark.parametrize("k", [-1, 1.5, True, "1"])
def test_freeze_except_last_rejects_bad_k(k):
    with pytest.raises(ValueError, match="k must be a non-negative int"):
        nn.utils.freeze_except_last(small_net(), k)


def test_frozen_backbone_new_head_and_per_group_learning_rates():
    """requires_grad_(False) freezes; a replaced head is trainable (new Parameters); parameters
    with no gradient are skipped by the optimiser; each group uses its own lr (as PyTorch)."""
    ac.manual_seed(0)
    model = small_net()
    model.requires_grad_(False)
    model[4] = nn.Linear(8, 2)                                        # the new head
    assert [n for n, p in model.named_parameters() if p.requires_grad] == ["4.weight", "4.bias"]
    frozen = {n: p.detach().numpy().copy() for n, p in model.named_parameters()}
    opt = optim.SGD([{"params": [model[4].weight], "lr": 0.5},
                     {"params": [model[4].bias]},
                     {"params": list(model[0].parameters())}], lr=0.1)
    x = ac.randn(4, 1, 4, 4)
    F.cross_entropy(model(x), np.array([0, 1, 1, 0])).backward()
    assert model[0].weight.grad is None                              # frozen: no gradient
    gw, gb = model[4].weight.grad.detach().numpy().copy(), model[4].bias.grad.detach().numpy().copy()
    opt.step()
    np.testing.assert_allclose(model[4].weight.detach().numpy(), frozen["4.weight"] - 0.5 * gw, rtol=1e-6)
    np.testing.assert_allclose(model[4].bias.detach().numpy(), frozen["4.bias"] - 0.1 * gb, rtol=1e-6)
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), frozen["0.weight"])


# ---- Dice loss and segmentation metrics --------------------------------------------------------


def test_dice_loss_hand_computed():
    # zero logits: p = 1/2 everywhere. target [[0, 0], [0, 1]]:
    # class 0: inter 1.5, sum p 2, sum t 3 -> (3 + 1) / (5 + 1) = 2/3
    # class 1: inter 0.5, sum p 2, sum t 1 -> (1 + 1) / (3 + 1) = 1/2
    x = ac.zeros(1, 2, 2, 2)
    t = np.array([[[0, 0], [0, 1]]])
    np.testing.assert_allclose(F.dice_loss(x, t, reduction="none").detach().numpy(), [1 / 3, 1 / 2],
                               rtol=1e-6)
    assert F.dice_loss(x, t).item() == pytest.approx(5 / 12, rel=1e-6)
    assert nn.DiceLoss(reduction="sum")(x, t).item() == pytest.approx(5 / 6, rel=1e-6)
    # smooth=0, confident right answer: dice -> 1, loss -> 0
    big = ac.tensor(np.where(np.arange(2)[None, :, None, None] == t[:, None], 30.0, -30.0))
    assert F.dice_loss(big, t, smooth=0.0).item() == pytest.approx(0.0, abs=1e-6)


def test_dice_loss_gradient():
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.normal(size=(2, 3, 2, 3)), requires_grad=True)
    t = rng.integers(0, 3, (2, 2, 3))
    ac.gradcheck(lambda x: F.dice_loss(x, t, reduction="none") * ac.tensor([0.3, -1.2, 0.7]),
                 (x,))


@pytest.mark.parametrize("target, err, msg", [
    (np.zeros((1, 2, 3), np.int64), ValueError, "target shape"),
    (np.full((1, 2, 2), 2), ValueError, r"in \[0, 2\)"),
    (np.zeros((1, 2, 2), np.float32), TypeError, "integer class labels"),
])
def test_dice_loss_errors(target, err, msg):
    with pytest.raises(err, match=msg):
        F.dice_loss(ac.zeros(1, 2, 2, 2), target)


def test_segmentation_metrics_hand_computed():
    pred = np.array([[[0, 1], [1, 1]]])
    target = np.array([[[0, 0], [1, 1]]])
    assert pixel_accuracy(pred, target) == 0.75
    # class 0: inter 1, union 2; class 1: inter 2, union 3; class 2 absent from both: nan
    iou = iou_per_class(pred, target, 3)
    np.testing.assert_allclose(iou[:2], [0.5, 2 / 3])
    assert math.isnan(iou[2])
    assert mean_iou(pred, target, 3) == pytest.approx((0.5 + 2 / 3) / 2)
    scores = np.stack([pred == 0, pred == 1], axis=1).astype(np.float32)   # (N, C, H, W)
    assert pixel_accuracy(ac.tensor(scores), target) == 0.75


def test_segmentation_metric_errors():
    with pytest.raises(ValueError, match="shape"):
        pixel_accuracy(np.zeros((1, 2, 3), np.int64), np.zeros((1, 2, 2), np.int64))
    with pytest.raises(ValueError, match=r"in \[0, 2\)"):
        iou_per_class(np.full((1, 2, 2), 2), np.zeros((1, 2, 2), np.int64), 2)


# ---- segmentation models -----------------------------------------------------------------------


def test_unet_valid_is_the_papers_572_to_388():
    assert models.unet(1, 2, 2, 4, False, "valid").output_size(572) == 388
    assert models.unet(depth=4).output_size(572) == 572
    with pytest.raises(ValueError, match="even"):
        models.unet(1, 2, 2, 4, False, "valid").output_size(570)
    with pytest.raises(ValueError, match="padding must be 'same'"):
        models.unet(padding="reflect")


def test_unet_valid_forward_crops_the_skips():
    ac.manual_seed(0)
    net = models.unet(1, 3, 2, 1, True, "valid")
    # 20 -4-> 16 /2-> 8 -4-> 4 x2-> 8 -4-> 4
    assert net.output_size(20) == 4
    assert net(ac.randn(2, 1, 20, 20)).shape == (2, 3, 4, 4)
    with pytest.raises(ValueError, match="before pooling 1"):
        net(ac.randn(1, 1, 19, 19))


def test_fcn_shapes_and_errors():
    net = models.fcn(1, 3, 4, 3)
    assert net(ac.randn(2, 1, 16, 8)).shape == (2, 3, 16, 8)
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 8"):
        net(ac.randn(1, 1, 12, 12))


# ---- synthetic data ----------------------------------------------------------------------------


def test_digit_segmentation_masks_mark_the_bright_strokes():
    x, m = synthetic.digit_segmentation(6, image_size=24, digit_size=10, seed=1)
    assert x.shape == (6, 1, 24, 24) and m.shape == (6, 24, 24) and x.dtype == np.float32
    assert set(np.unique(m)) == {0, 1}
    assert x[:, 0][m == 1].mean() > x[:, 0][m == 0].mean() + 0.2
    x2, m2 = synthetic.digit_segmentation(6, image_size=24, digit_size=10, seed=1)
    np.testing.assert_array_equal(x, x2)


def test_digit_scenes_boxes_fit_the_digits():
    x, targets = synthetic.digit_scenes(5, image_size=32, digit_size=12, max_objects=3,
                                        digits=(1, 7), seed=0)
    assert x.shape == (5, 1, 32, 32) and len(targets) == 5
    for t in targets:
        assert 1 <= len(t["boxes"]) <= 3 and set(t["labels"]) <= {1, 7}
        b = t["boxes"]
        assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
        assert b.min() >= 0 and b.max() <= 32 and (b[:, 2] - b[:, 0]).max() <= 12
        if len(b) > 1:                                   # non-overlapping placements
            assert ops.box_iou(b, b).detach().numpy()[~np.eye(len(b), dtype=bool)].max() == 0
    with pytest.raises(ValueError, match="no bundled digit"):
        synthetic.digit_scenes(1, digits=(11,))


# ---- YOLO-style detection ----------------------------------------------------------------------


def test_yolo_encode_hand_computed():
    # 32x32 image, 4x4 grid (8 px cells); box (4, 4)-(12, 20): centre (8, 12) = cell units
    # (1, 1.5) -> cell row 1, column 1, offset (0, 0.5); size 8/32, 16/32
    t = ops.yolo_encode([{"boxes": [[4, 4, 12, 20]], "labels": [2]}], 4, 3, 32)
    assert t.shape == (1, 8, 4, 4)
    np.testing.assert_allclose(t[0, :, 1, 1], [1, 0, 0.5, 0.25, 0.5, 0, 0, 1])
    assert t[0, 0].sum() == 1
    with pytest.raises(ValueError, match="label 3 of image 0 is outside"):
        ops.yolo_encode([{"boxes": [[0, 0, 2, 2]], "labels": [3]}], 4, 3, 32)


def test_yolo_decode_inverts_encode():
    targets = [{"boxes": np.array([[4, 4, 12, 20], [20, 18, 30, 30]], np.float32),
                "labels": np.array([2, 0])}]
    t = ops.yolo_encode(targets, 4, 3, 32)
    logit = lambda p: np.log(np.clip(p, 1e-6, 1 - 1e-6) / (1 - np.clip(p, 1e-6, 1 - 1e-6)))  # noqa
    pred = np.concatenate([logit(t[:, :1]) * 1.0, logit(t[:, 1:5]), 20 * t[:, 5:]], axis=1)
    det = ops.yolo_decode(pred, 32, score_threshold=0.5)[0]
    order = np.argsort(det["labels"])
    np.testing.assert_allclose(det["boxes"][order], targets[0]["boxes"][[1, 0]], atol=1e-3)
    np.testing.assert_array_equal(det["labels"][order], [0, 2])
    assert ops.mean_average_precision([det], targets) == pytest.approx(1.0)


def test_yolo_loss_hand_computed_and_gradient():
    # one cell, one class, zero prediction: sigmoid(0) = 1/2 for every box channel;
    # target offset (1/2, 1/2), size (1/4, 1/4) -> sqrt 1/2.
    # coord = 5 * 2 * (sqrt(1/2 + 1e-6) - 1/2)^2; objectness BCE(0, 1) = log 2; class CE = 0
    t = np.array([1, 0.5, 0.5, 0.25, 0.25, 1], np.float32).reshape(1, 6, 1, 1)
    expected = 5 * 2 * (math.sqrt(0.5 + 1e-6) - 0.5) ** 2 + math.log(2)
    assert ops.yolo_loss(ac.zeros(1, 6, 1, 1), t).item() == pytest.approx(expected, rel=1e-5)
    # an empty cell costs lambda_noobj * log 2 (and nothing else)
    assert ops.yolo_loss(ac.zeros(1, 6, 1, 1), np.zeros_like(t)).item() == pytest.approx(
        0.5 * math.log(2), rel=1e-6)
    rng = np.random.default_rng(0)
    tt = ops.yolo_encode([{"boxes": [[1, 1, 5, 7]], "labels": [1]}], 2, 2, 8).astype(np.float64)
    x = ac.tensor(rng.normal(size=(1, 7, 2, 2)), requires_grad=True)
    ac.gradcheck(lambda x: ops.yolo_loss(x, tt), (x,))
    with pytest.raises(ValueError, match="differs from target shape"):
        ops.yolo_loss(ac.zeros(1, 6, 2, 2), t)


# ---- generative models -------------------------------------------------------------------------


@pytest.mark.parametrize("size", [8, 16, 32])
def test_dcgan_shapes_follow_the_guidelines(size):
    g, d = models.dcgan(nz=4, ngf=4, ndf=4, image_size=size)
    x = g(ac.randn(3, 4))
    assert x.shape == (3, 1, size, size) and np.abs(x.detach().numpy()).max() <= 1
    assert d(x).shape == (3,)
    mods = list(g.modules()) + list(d.modules())
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.Linear)) for m in mods)
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert all(m.stride == (2, 2) for m in convs[:-1])
    assert isinstance(d.main[1], nn.LeakyReLU)                  # no BatchNorm on the input
    assert isinstance(g.main[-1], nn.Tanh) and isinstance(g.main[-2], nn.ConvTranspose2d)


def test_dcgan_init_and_errors():
    g, _ = models.dcgan(nz=8, ngf=64, image_size=16)
    w = g.main[0].weight.detach().numpy()
    assert abs(w.std() - 0.02) < 0.002 and abs(w.mean()) < 0.002
    with pytest.raises(ValueError, match="power of two"):
        models.DCGANGenerator(image_size=12)
    with pytest.raises(ValueError, match=r"expected z of shape \(N, 8\)"):
        g(ac.randn(2, 5))


def test_vae_loss_hand_computed():
    # mu = 0, logvar = 0: KL = 0; zero logits: BCE = log 2 per pixel, 16 * 16 per image
    x = ac.rand(2, 1, 16, 16)
    total, rec, kl = models.vae_loss(ac.zeros(2, 1, 16, 16), x, ac.zeros(2, 8), ac.zeros(2, 8))
    assert rec.item() == pytest.approx(256 * math.log(2), rel=1e-5) and kl.item() == 0
    # mu = 1, logvar = 0 in 8 dims: KL = 1/2 * 8 per image
    _, _, kl = models.vae_loss(ac.zeros(2, 1, 16, 16), x, ac.ones(2, 8), ac.zeros(2, 8))
    assert kl.item() == pytest.approx(4.0)
    vae = models.conv_vae(latent_dim=3)
    recon, mu, logvar = vae(x)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, 3)
    vae.eval()
    np.testing.assert_array_equal(vae(x)[0].detach().numpy(), vae(x)[0].detach().numpy())   # eval: z = mu
    with pytest.raises(ValueError, match="divisible by 4"):
        models.conv_vae(image_size=10)


# ---- style transfer and the squared triplet loss -----------------------------------------------


def test_gram_matrix_hand_computed():
    f = ac.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])            # (1, 2, 1, 2)
    # F F^T = [[5, 11], [11, 25]], / (C H W = 4)
    np.testing.assert_allclose(gram_matrix(f).detach().numpy(), [[[1.25, 2.75], [2.75, 6.25]]])
    np.testing.assert_allclose(gram_matrix(f[0], normalize=False).detach().numpy(), [[5, 11], [11, 25]])
    with pytest.raises(ValueError, match="feature maps"):
        gram_matrix(ac.zeros(2, 3))


def test_style_and_content_loss_hand_computed():
    f = ac.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]], requires_grad=True)
    s = ac.tensor([[[[1.0, 0.0, 0.0]], [[0.0, 2.0, 0.0]]]])   # other width: only Grams compared
    # G(s) = [[1, 0], [0, 4]] / 6; difference from G(f) squared and summed
    gs = np.array([[1, 0], [0, 4]]) / 6
    gf = np.array([[1.25, 2.75], [2.75, 6.25]])
    assert style_loss(f, s).item() == pytest.approx(((gf - gs) ** 2).sum(), rel=1e-6)
    assert style_loss([f, f], [s, f], weights=[2.0, 1.0]).item() == pytest.approx(
        2 * ((gf - gs) ** 2).sum(), rel=1e-6)
    assert content_loss(f, f * 0).item() == pytest.approx((1 + 4 + 9 + 16) / 4)
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.normal(size=(1, 2, 2, 2)), requires_grad=True)
    sd = ac.tensor(rng.normal(size=(1, 2, 3, 3)))
    ac.gradcheck(lambda x: style_loss(x, sd) + content_loss(x, sd[:, :, :2, :2]), (x,))
    with pytest.raises(ValueError, match="2 generated feature maps but 1"):
        style_loss([f, f], [s])


def test_squared_triplet_loss_hand_computed():
    a = ac.tensor([[0.0, 0.0], [0.0, 0.0]])
    p = ac.tensor([[1.0, 0.0], [1.0, 1.0]])
    n = ac.tensor([[0.0, 2.0], [0.0, 1.0]])
    # row 0: 1 - 4 + 0.2 < 0 -> 0; row 1: 2 - 1 + 0.2 = 1.2
    np.testing.assert_allclose(F.squared_triplet_loss(a, p, n, reduction="none").detach().numpy(),
                               [0.0, 1.2], rtol=1e-6)
    assert nn.SquaredTripletLoss()(a, p, n).item() == pytest.approx(0.6)
    assert F.squared_triplet_loss(a, p, n, alpha=4.0, reduction="sum").item() == \
        pytest.approx(1.0 + 5.0)
    # PyTorch's (unsquared, eps 1e-6) beside it: row 1: sqrt(2) - 1 + 1, row 0: max(0, 1 - 2 + 1)
    assert F.triplet_margin_loss(a, p, n, reduction="none").detach().numpy() == pytest.approx(
        [0.0, math.sqrt(2)], abs=1e-5)
    with pytest.raises(ValueError, match="negative shape"):
        F.squared_triplet_loss(a, p, n[:, :1])


def test_squared_triplet_and_dice_match_the_pytorch_oracle():
    # values from torch 2.13: the squared form built from torch ops (torch has no such loss),
    # F.triplet_margin_loss itself, and Dice from torch.softmax / one_hot (`make parity` runs
    # these against torch live, with gradients: tests/parity/test_applications_parity.py)
    a = ac.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -0.5]])
    p = ac.tensor([[0.0, -1.5, 1.0], [0.5, 0.5, 0.0]])
    n = ac.tensor([[1.0, 0.0, 2.5], [1.5, -1.0, -0.5]])
    np.testing.assert_allclose(F.squared_triplet_loss(a, p, n, reduction="none").detach().numpy(),
                               [0.2, 0.0], atol=1e-6)
    np.testing.assert_allclose(F.triplet_margin_loss(a, p, n, reduction="none").detach().numpy(),
                               [1.0000032186508179, 0.7479903697967529], rtol=1e-5)
    x = ac.tensor(np.arange(12.0, dtype=np.float32).reshape(1, 3, 2, 2) / 10)
    t = np.array([[[0, 1], [2, 1]]])
    np.testing.assert_allclose(F.dice_loss(x, t, reduction="none").detach().numpy(),
                               [0.5, 0.46893709897994995, 0.5], rtol=1e-5)
