"""Issue 15: the numbers the applications notebooks (08-12) state, checked on smaller runs
(seeded, a few seconds each): fine-tuning beats training from scratch with 10 examples per
class, a U-Net's segmentation IoU, a grid detector's mAP@0.5, a VAE's falling reconstruction
loss, GAN samples a digits classifier labels with confidence, the squared triplet loss
separating the digits, and style transfer lowering the style loss."""

import copy

import numpy as np

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import models, ops, optim
from autograd_cnn.data import digits, synthetic
from autograd_cnn.metrics import iou_per_class
from autograd_cnn.nn.style import style_loss


def fit(model, x, y, epochs, optimizer, batch_size, loss_fn=F.cross_entropy, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        model.train()
        order = rng.permutation(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            loss = loss_fn(model(ac.tensor(x[idx])), y[idx])
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


def test_gan_samples_get_confident_labels_from_a_digits_classifier():
    d = digits(image_size=8, padding=0, split="all")
    x = d.images * 2 - 1
    ac.manual_seed(0)
    judge = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 2 * 2, 10))
    fit(judge, x, d.targets, 4, optim.Adam(judge.parameters(), lr=3e-3), 64)
    judge.requires_grad_(False)
    confidence = lambda im: F.softmax(judge(ac.tensor(im)), dim=1).detach().numpy().max(1).mean()  # noqa
    g, dis = models.dcgan(nz=16, ngf=32, ndf=32, image_size=8)
    opt_g = optim.Adam(g.parameters(), lr=2e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(dis.parameters(), lr=2e-3, betas=(0.5, 0.999))
    rng = np.random.default_rng(0)
    for _ in range(6):
        order = rng.permutation(len(x))
        for i in range(0, len(x) - 63, 64):
            fake = g(ac.randn(64, 16))
            loss_d = (F.binary_cross_entropy_with_logits(dis(ac.tensor(x[order[i:i + 64]])),
                                                         ac.ones(64))
                      + F.binary_cross_entropy_with_logits(dis(fake.detach()), ac.zeros(64)))
            opt_d.zero_grad(); loss_d.backward(); opt_d.step()                  # noqa: E702
            loss_g = F.binary_cross_entropy_with_logits(dis(fake), ac.ones(64))
            opt_g.zero_grad(); loss_g.backward(); opt_g.step()                  # noqa: E702
    with ac.no_grad():
        samples = g(ac.randn(256, 16)).numpy()
    noise = np.random.default_rng(1).uniform(-1, 1, (256, 1, 8, 8)).astype(np.float32)
    untrained = models.dcgan(nz=16, ngf=32, ndf=32, image_size=8)[0]
    with ac.no_grad():
        before = untrained(ac.randn(256, 16)).numpy()
    c_gan, c_noise, c_before = confidence(samples), confidence(noise), confidence(before)
    assert c_gan > max(c_noise, c_before) + 0.05, (c_gan, c_noise, c_before)


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
