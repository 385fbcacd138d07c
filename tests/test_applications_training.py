"""Issue 15: the numbers the applications notebooks (08-12) state, checked on smaller runs
(seeded, a few seconds each): fine-tuning beats training from scratch with 10 examples per
class, a U-Net's segmentation IoU, a grid detector's mAP@0.5, a VAE's falling reconstruction
loss, GAN samples that digit classifiers label with confidence (and an untrained generator's
that they do not), the squared triplet loss separating the digits, and style transfer lowering
the style loss."""

import copy

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import models, ops, optim
from autograd_cnn.data import digits, synthetic
from autograd_cnn.metrics import iou_per_class
from autograd_cnn.nn.style import style_loss


def fit(model, x, y, epochs, optimizer, batch_size, loss_fn=F.cross_entropy, seed=0,
        inputs=ac.tensor):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(inputs(x[idx])), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return loss.item()


def predict(model, x):
    with ac.no_grad():
        return model(ac.tensor(x)).numpy()


def cnn(num_classes, size):
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * (size // 4) ** 2, 128), nn.ReLU(),
                         nn.Linear(128, num_classes))


def test_fine_tuning_the_last_layer_beats_training_from_scratch():
    x_old, y_old = synthetic.placed_digits("train", (0, 1, 2, 3, 4), copies=2, seed=1)
    x_all, y_all = synthetic.placed_digits("train", (5, 6, 7, 8, 9), seed=3)
    x_test, y_test = synthetic.placed_digits("test", (5, 6, 7, 8, 9), seed=4)
    rng = np.random.default_rng(0)
    few = np.concatenate([rng.choice(np.nonzero(y_all == c)[0], 10, replace=False)
                          for c in range(5)])
    ac.manual_seed(0)
    pre = cnn(5, 20)
    fit(pre, x_old, y_old, 4, optim.Adam(pre.parameters(), lr=3e-3), 32)
    tuned = copy.deepcopy(pre)
    tuned[-1] = nn.Linear(128, 5)
    assert nn.utils.freeze_except_last(tuned, 1) == ["9"]
    fit(tuned, x_all[few], y_all[few], 60,
        optim.Adam([p for p in tuned.parameters() if p.requires_grad], lr=3e-2), 50)
    ac.manual_seed(0)
    scratch = cnn(5, 20)
    fit(scratch, x_all[few], y_all[few], 60, optim.Adam(scratch.parameters(), lr=3e-3), 10)
    acc_tuned = (predict(tuned, x_test).argmax(1) == y_test).mean()
    acc_scratch = (predict(scratch, x_test).argmax(1) == y_test).mean()
    assert acc_tuned > acc_scratch + 0.03, (acc_tuned, acc_scratch)


def test_unet_segments_the_generated_digits():
    x, m = synthetic.digit_segmentation(192, image_size=24, digit_size=12, seed=0)
    x_test, m_test = synthetic.digit_segmentation(48, image_size=24, digit_size=12, seed=1)
    ac.manual_seed(0)
    net = models.unet(1, 2, base_channels=8, depth=2)
    fit(net, x, m, 3, optim.Adam(net.parameters(), lr=1e-2), 16,
        loss_fn=lambda s, t: F.cross_entropy(s, t) + F.dice_loss(s, t))
    iou = iou_per_class(predict(net, x_test), m_test, 2)
    assert iou[1] > 0.5 and iou[0] > 0.85, iou


def test_valid_unet_on_mirrored_tiles_segments_the_whole_image():
    # the paper's overlap-tile: 24x24 images mirrored to 40x40 with F.pad's reflect mode; the
    # valid-convolution U-Net (depth 1: 40 -> 24) predicts a mask of the image's own size.
    # One initialisation can stall on this tiny run (digit IoU over seeds 0-5: 0.50-0.75, the
    # low one moving between seeds with the kernels' rounding), so the median of three is
    # judged (0.71-0.74 measured); the notebook's larger run: 0.78
    x, m = synthetic.digit_segmentation(192, image_size=24, digit_size=12, seed=0)
    x_test, m_test = synthetic.digit_segmentation(48, image_size=24, digit_size=12, seed=1)
    mirror = lambda a: F.pad(ac.tensor(a), (8, 8, 8, 8), mode="reflect")    # noqa: E731
    ious = []
    for seed in range(3):
        ac.manual_seed(seed)
        net = models.unet(1, 2, base_channels=8, depth=1, padding="valid")
        fit(net, x, m, 6, optim.Adam(net.parameters(), lr=1e-2), 16,
            loss_fn=lambda s, t: F.cross_entropy(s, t) + F.dice_loss(s, t), inputs=mirror)
        with ac.no_grad():
            scores = net(mirror(x_test)).numpy()
        assert scores.shape == (48, 2, 24, 24)
        ious.append(iou_per_class(scores, m_test, 2))
    iou = np.median(ious, axis=0)
    assert iou[1] > 0.6 and iou[0] > 0.85, ious


def test_grid_detector_reaches_map_at_half():
    def scenes(n, seed):
        x, t = synthetic.digit_scenes(n, 32, 12, 3, digits=(0, 1, 4, 7), seed=seed)
        return x, [{"boxes": d["boxes"], "labels": np.searchsorted((0, 1, 4, 7), d["labels"])}
                   for d in t]
    x, targets = scenes(384, 0)
    x_test, t_test = scenes(60, 1)
    y = ops.yolo_encode(targets, 4, 4, 32)
    block = lambda i, o: [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o),  # noqa
                          nn.ReLU(), nn.MaxPool2d(2)]
    ac.manual_seed(0)
    net = nn.Sequential(*block(1, 16), *block(16, 32), *block(32, 64),
                        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 9, 1))
    fit(net, x, y, 7, optim.Adam(net.parameters(), lr=3e-3), 32, loss_fn=ops.yolo_loss)
    dets = ops.yolo_decode(predict(net, x_test), 32, score_threshold=0.05)
    assert ops.mean_average_precision(dets, t_test) > 0.3


def test_vae_reconstruction_loss_falls():
    x = digits(image_size=16, padding=0, split="train").images
    ac.manual_seed(0)
    vae = models.conv_vae(1, 16, latent_dim=8, base_channels=8)
    opt = optim.Adam(vae.parameters(), lr=2e-3)
    recs = []
    rng = np.random.default_rng(0)
    for _ in range(3):
        order = rng.permutation(len(x))
        for i in range(0, len(x), 64):
            batch = ac.tensor(x[order[i:i + 64]])
            recon, mu, logvar = vae(batch)
            loss, rec, _ = models.vae_loss(recon, batch, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            recs.append(rec.item())
    assert np.mean(recs[-4:]) < 0.75 * np.mean(recs[:2]), (recs[:2], recs[-4:])


# ---- the GAN, judged by digit classifiers ------------------------------------------------------
#
# The judge is an ensemble of five small digit classifiers (their mean softmax). One such net is
# confident on random pixels too: its mean max-softmax on uniform noise ranged 0.42-0.58 over 12
# training seeds, so "samples beat noise" was a seed-dependent margin of 0.05-0.20; the
# ensemble's ranges 0.34-0.44 (ensembles are less over-confident off the data, Lakshminarayanan
# et al. 2017). A generator passes when (1) the judge is more confident on its samples than on
# two controls that are not digits, uniform noise and the samples' own pixels shuffled (the same
# intensities without the strokes' layout), by more than GAN_MARGIN, and (2) its samples are not
# one digit: at least GAN_MIN_DIGITS of the 10 labels each take 3% of them (a generator that
# always draws the same good digit fails here). Measured with this code over GAN seeds 0-13
# (`_train_dcgan(x, seed=s)`): confidence 0.57-0.65 against a control of 0.43-0.45, margin
# 0.12-0.22 (mean 0.18; seed 0, the one tested, is the lowest), 7-10 digits used. An untrained
# generator scores 0.17-0.28, below the control, and fails; 256 real 3s fail on digits (1).

GAN_MARGIN, GAN_MIN_DIGITS = 0.06, 5


def _digit_judges(x, y, k=5):
    judges = []
    for i in range(k):
        ac.manual_seed(100 + i)
        judge = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
        fit(judge, x, y, 4, optim.Adam(judge.parameters(), lr=3e-3), 64, seed=100 + i)
        judges.append(judge.requires_grad_(False))
    return judges


def _judge(judges, images):
    """The judges' mean class probabilities (N, 10) for images in [-1, 1]."""
    with ac.no_grad():
        return np.mean([F.softmax(j(ac.tensor(np.asarray(images, np.float32))), dim=1).numpy()
                        for j in judges], axis=0)


def _gan_check(judges, samples, seed=1):
    """(passed, report) of the two conditions above for samples (N, 1, 8, 8) in [-1, 1]."""
    rng = np.random.default_rng(seed)
    samples = np.asarray(samples, np.float32)
    noise = rng.uniform(-1, 1, samples.shape).astype(np.float32)
    shuffled = np.stack([rng.permutation(s.ravel()).reshape(s.shape) for s in samples])
    p = _judge(judges, samples)
    confidence = float(p.max(1).mean())
    control = max(float(_judge(judges, c).max(1).mean()) for c in (noise, shuffled))
    used = int((np.bincount(p.argmax(1), minlength=10) >= 0.03 * len(p)).sum())
    report = dict(confidence=round(confidence, 3), control=round(control, 3), digits=used)
    return confidence > control + GAN_MARGIN and used >= GAN_MIN_DIGITS, report


def _train_dcgan(x, epochs=20, seed=0):
    ac.manual_seed(seed)
    g, dis = models.dcgan(nz=16, ngf=32, ndf=32, image_size=8)
    opt_g = optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(dis.parameters(), lr=2e-3, betas=(0.5, 0.999))
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for i in range(0, len(x) - 63, 64):
            fake = g(ac.randn(64, 16))
            loss_d = (F.binary_cross_entropy_with_logits(dis(ac.tensor(x[order[i:i + 64]])),
                                                         ac.ones(64))
                      + F.binary_cross_entropy_with_logits(dis(fake.detach()), ac.zeros(64)))
            opt_d.zero_grad(); loss_d.backward(); opt_d.step()                  # noqa: E702
            loss_g = F.binary_cross_entropy_with_logits(dis(fake), ac.ones(64))
            opt_g.zero_grad(); loss_g.backward(); opt_g.step()                  # noqa: E702
    return g.eval()


def _samples(g, n=256):
    with ac.no_grad():
        return g(ac.randn(n, 16)).numpy()


@pytest.fixture(scope="module")
def gan_data():
    d = digits(image_size=8, padding=0, split="all")
    x = (d.images * 2 - 1).astype(np.float32)
    return x, d.targets, _digit_judges(x, d.targets)


def test_gan_samples_get_confident_labels_from_a_digits_classifier(gan_data):
    x, _, judges = gan_data
    g = _train_dcgan(x)
    passed, report = _gan_check(judges, _samples(g))
    assert passed, report


def test_the_gan_check_fails_broken_generators(gan_data):
    x, y, judges = gan_data
    passed, report = _gan_check(judges, x[:256])                  # real digits pass
    assert passed and report["confidence"] > 0.85, report
    ac.manual_seed(0)
    untrained = models.dcgan(nz=16, ngf=32, ndf=32, image_size=8)[0]
    for mode in ("train", "eval"):                               # batch or running statistics
        passed, report = _gan_check(judges, _samples(untrained.train(mode == "train")))
        assert not passed and report["confidence"] < report["control"], (mode, report)
    threes = x[y == 3][:256]                                      # mode collapse: one digit only
    passed, report = _gan_check(judges, np.concatenate([threes, threes])[:256])
    assert not passed and report["digits"] == 1 and report["confidence"] > 0.85, report


def test_squared_triplet_loss_separates_the_digits_in_2d():
    train = digits(image_size=8, padding=0, split="train")
    test = digits(image_size=8, padding=0, split="test")
    by_class = [np.nonzero(train.targets == c)[0] for c in range(10)]
    ac.manual_seed(0)
    embed = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(16 * 4 * 4, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = optim.Adam(embed.parameters(), lr=3e-3)
    rng = np.random.default_rng(0)
    for _ in range(150):
        a_cls = rng.integers(0, 10, 64)
        n_cls = (a_cls + rng.integers(1, 10, 64)) % 10
        idx = ([rng.choice(by_class[c]) for c in a_cls] + [rng.choice(by_class[c]) for c in a_cls]
               + [rng.choice(by_class[c]) for c in n_cls])
        f = embed(ac.tensor(train.images[idx]))
        loss = F.squared_triplet_loss(f[:64], f[64:128], f[128:], alpha=1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    z_train, z_test = predict(embed, train.images), predict(embed, test.images)
    centres = np.stack([z_train[train.targets == c].mean(0) for c in range(10)])
    nearest = ((z_test[:, None] - centres[None]) ** 2).sum(-1).argmin(1)
    assert (nearest == test.targets).mean() > 0.5      # chance: 0.1


def test_style_transfer_lowers_the_style_loss():
    ac.manual_seed(0)
    feats = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU()).requires_grad_(False)
    yy, xx = np.mgrid[0:16, 0:16]
    style = ac.tensor((0.5 + 0.5 * np.sin((xx + yy) * 1.2)).astype(np.float32)[None, None])
    image = ac.tensor(np.random.default_rng(0).uniform(0, 1, (1, 1, 16, 16)).astype(np.float32),
                      requires_grad=True)
    opt = optim.Adam([image], lr=0.05)
    target = feats(style)
    losses = []
    for _ in range(40):
        loss = style_loss(feats(image), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert image.grad is not None and losses[-1] < 0.3 * losses[0], losses[::10]
