"""autograd_cnn.interpret: gradient flow, saliency, occlusion, CAM / Grad-CAM, deconvnet,
activation maximisation, top-k patches, penultimate features, PCA / t-SNE. Constructed cases
with known answers: a network that only sees one quadrant, linear models, known filters."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import interpret, models
from autograd_cnn.interpret import GradientFlow


# ---- gradient flow ---------------------------------------------------------------------------

def _digits_batch(n=32, size=16):
    from autograd_cnn.data import digits
    data = digits(image_size=size, split="train")
    x = np.stack([data[i][0] for i in range(n)])
    y = np.array([data[i][1] for i in range(n)])
    return ac.tensor(x), ac.tensor(y)


def _first_layer_grad(residual, activation="sigmoid"):
    ac.manual_seed(0)
    model = models.deep_cnn(20, activation=activation, residual=residual)
    x, y = _digits_batch()
    with GradientFlow(model) as flow:
        F.cross_entropy(model(x), y).backward()
    return flow.grad_norms()["stem.0"], flow


def test_plain_20_layer_net_vanishes_residual_does_not():
    plain, flow = _first_layer_grad(residual=False)
    residual, _ = _first_layer_grad(residual=True)
    assert len(flow.layers) == 20 and flow.layers[0] == "stem.0" and flow.layers[-1] == "fc"
    assert plain > 0
    assert residual >= 100 * plain, (plain, residual)
    # the plain net's norms shrink from the classifier back to the input
    norms = list(flow.grad_norms().values())
    assert norms[0] < 1e-6 * norms[-1]


def test_recorded_norms_and_statistics_equal_direct_computation():
    ac.manual_seed(1)
    model = models.deep_cnn(5, width=4, activation="relu", init="he")
    x, y = _digits_batch(8, size=8)
    seen = {}
    model.stem[1].register_forward_hook(
        lambda m, i, o: seen.__setitem__("a", o.detach().numpy().copy()))
    conv_out = {}
    model.blocks[0].conv.register_forward_hook(lambda m, i, o: conv_out.__setitem__("y", o))
    flow = GradientFlow(model)
    out = model(x)
    conv_out["y"].retain_grad()
    F.cross_entropy(out, y).backward()
    for name, module in model.named_modules():
        if name in flow.layers:
            assert flow.grad_norms()[name] == pytest.approx(
                np.linalg.norm(module.weight.grad.numpy().astype(np.float64)), rel=1e-6)
    assert flow.output_grad_norms()["blocks.0.conv"] == pytest.approx(
        np.linalg.norm(conv_out["y"].grad.numpy().astype(np.float64)), rel=1e-6)
    a = seen["a"].astype(np.float64)
    stats = flow.activation_stats()["stem.1"]
    assert stats["mean"] == pytest.approx(a.mean(), rel=1e-6)
    assert stats["std"] == pytest.approx(a.std(), rel=1e-5)
    assert stats["zeros"] == pytest.approx(np.mean(a == 0))
    assert 0.2 < stats["zeros"] < 0.8                         # ReLU zeroes about half


def test_steps_history_no_grad_forwards_and_remove():
    ac.manual_seed(2)
    model = models.deep_cnn(4, width=4, activation="tanh")
    opt = ac.optim.SGD(model.parameters(), lr=0.1)
    x, y = _digits_batch(8, size=8)
    flow = GradientFlow(model)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
        with ac.no_grad():                                    # validation: not a step
            model(x)
    assert len(flow.steps) == 3
    hist = flow.history("grad_norm")
    assert list(hist) == flow.layers and all(h.shape == (3,) for h in hist.values())
    assert np.all(np.isfinite(hist["fc"])) and hist["fc"][0] != hist["fc"][2]
    assert flow.history("zeros")["stem.1"].shape == (3,)
    assert "3 steps" in repr(flow)
    flow.remove()
    F.cross_entropy(model(x), y).backward()
    assert len(flow.steps) == 3
    assert not model._forward_hooks and not model._forward_pre_hooks
    assert not model.stem[0].weight._hooks and not model.stem[0]._forward_hooks


def test_module_called_twice_adds_up():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x):
            return self.fc(self.fc(x))

    ac.manual_seed(3)
    model = Twice()
    flow = GradientFlow(model)
    model(ac.randn(2, 3)).sum().backward()
    assert flow.grad_norms()["fc"] == pytest.approx(np.linalg.norm(model.fc.weight.grad.numpy()),
                                                    rel=1e-6)


def test_gradient_flow_errors():
    with pytest.raises(TypeError, match="expected an nn.Module, got int"):
        GradientFlow(3)
    with pytest.raises(ValueError, match="no layer of the types"):
        GradientFlow(nn.ReLU())
    flow = GradientFlow(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="nothing recorded yet"):
        flow.grad_norms()
    flow.model(ac.randn(1, 2)).sum().backward()
    with pytest.raises(IndexError, match="step 5 out of range for 1 recorded steps"):
        flow.grad_norms(5)
    with pytest.raises(ValueError, match="key must be .* got 'norm'"):
        flow.history("norm")


def test_gradient_flow_plot_is_a_figure(tmp_path):
    _, flow = _first_layer_grad(residual=False)
    fig = flow.plot(path=tmp_path / "flow.png")
    assert (tmp_path / "flow.png").stat().st_size > 1000
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:3] == ["gradient norm per layer (step 1 of 1)", "activations",
                          "gradient norms over steps"]
    assert list(fig.axes[2].get_xticks()) == [1]                  # whole steps only
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[0].patches) == 20


# ---- a network that only sees the top-left quadrant ------------------------------------------

class QuadrantNet(nn.Module):
    """x * mask(top-left 8x8 of 16x16) -> conv 3x3 (4 maps, positive weights, no bias) -> ReLU
    -> global average pool -> linear (class 0 positive weights). Nothing outside the quadrant
    can change the output."""

    def __init__(self):
        super().__init__()
        mask = np.zeros((1, 1, 16, 16), dtype=np.float32)
        mask[..., :8, :8] = 1
        self.register_buffer("mask", ac.tensor(mask))
        self.conv = nn.Conv2d(1, 4, 3, padding=1, bias=False)
        self.relu = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(4, 2)
        rng = np.random.default_rng(0)
        self.conv.weight._data[...] = rng.uniform(0.1, 1.0, (4, 1, 3, 3))
        self.fc.weight._data[...] = np.array([[1.0, 2.0, 0.5, 1.5], [-1.0, -0.5, -2.0, -1.0]])
        self.fc.bias._data[...] = np.array([0.1, -0.1])

    def forward(self, x):
        return self.fc(self.flatten(self.pool(self.relu(self.conv(x * self.mask)))))


def _images(n=3):
    return np.random.default_rng(5).uniform(0.2, 1.0, (n, 1, 16, 16)).astype(np.float32)


def _outside(m, edge=8):
    inside = np.zeros(m.shape[-2:], dtype=bool)
    inside[:edge, :edge] = True
    return np.abs(m[..., ~inside]), np.abs(m[..., inside])


def test_saliency_lights_up_only_the_quadrant():
    s = interpret.saliency(QuadrantNet(), _images(), target=0)
    assert s.shape == (3, 16, 16)
    out, inside = _outside(s)
    assert out.max() == 0.0 and inside.min() > 0


def test_saliency_of_a_linear_model_is_its_weights():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 4))
    s = interpret.saliency(model, _images(1)[0, :, :3, :3].repeat(2, axis=0), target=2)
    expected = np.abs(model[1].weight.detach().numpy()[2].reshape(2, 3, 3)).max(axis=0)
    np.testing.assert_allclose(s, expected, rtol=1e-6)


def test_grad_cam_and_cam_light_up_the_quadrant():
    model = QuadrantNet()
    g = interpret.grad_cam(model, _images(), "relu", target=0)
    c = interpret.class_activation_map(model, _images(), "relu", target=0)
    for m in (g, c):
        assert m.shape == (3, 16, 16)
        out, inside = _outside(m, edge=9)                 # the conv reaches one pixel further
        assert out.max() < 1e-12 and inside.mean() > 0


def test_cam_mean_is_the_score_and_grad_cam_is_cam_scaled():
    model = QuadrantNet()
    x = _images(2)
    cam = interpret.class_activation_map(model, x, "relu", target=[0, 1], upsample=False)
    scores = model(ac.tensor(x)).detach().numpy()
    np.testing.assert_allclose(cam.mean(axis=(1, 2)) + model.fc.bias.detach().numpy()[[0, 1]],
                               scores[[0, 1], [0, 1]], rtol=1e-5)
    g = interpret.grad_cam(model, x, model.relu, target=[0, 1], upsample=False, relu=False)
    np.testing.assert_allclose(g, cam / (16 * 16), rtol=1e-5, atol=1e-9)


def test_occlusion_lights_up_the_quadrant():
    model = QuadrantNet()
    m = interpret.occlusion(model, _images(2), target=0, patch=4, stride=4)
    out, inside = _outside(m)
    assert out.max() == 0.0 and inside.min() > 0          # hiding evidence lowers p(class 0)
    m2 = interpret.occlusion(model, _images(1)[0], patch=4, stride=2)   # predicted class, 1 image
    assert m2.shape == (16, 16)
    out2, inside2 = _outside(m2, edge=10)
    assert out2.max() == 0.0 and inside2.sum() > 0


def test_attribution_leaves_the_model_as_found_and_checks_arguments():
    model = QuadrantNet()
    model.train()
    interpret.saliency(model, _images(1))
    interpret.grad_cam(model, _images(1), "conv")
    assert model.training and model.conv.weight.grad is None
    with pytest.raises(ValueError, match=r"expected an image \(C, H, W\) or a batch"):
        interpret.saliency(model, np.zeros((16, 16)))
    with pytest.raises(ValueError, match=r"target must be a class in \[0, 2\)"):
        interpret.saliency(model, _images(1), target=2)
    with pytest.raises(ValueError, match="has no layer 'conv9'; its layers are"):
        interpret.grad_cam(model, _images(1), "conv9")
    with pytest.raises(ValueError, match="K = fc's in_features"):
        interpret.class_activation_map(model, _images(1), "pool", fc=nn.Linear(3, 2))
    with pytest.raises(ValueError, match="patch and stride must be >= 1"):
        interpret.occlusion(model, _images(1), patch=0)


# ---- deconvnet -------------------------------------------------------------------------------

def test_deconvnet_puts_the_filter_at_the_switch():
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, (1, 6, 6)).astype(np.float32)
    conv = nn.Conv2d(1, 1, 3, bias=False)
    w = rng.normal(size=(3, 3)).astype(np.float32)
    conv.weight._data[...] = w
    layers = nn.Sequential(conv, nn.MaxPool2d(2))
    r = interpret.deconvnet(layers, image, layer_index=1, unit=0)
    # by hand: the conv map (4x4), its 2x2 max pool, the strongest pooled unit's switch (p, q)
    fmap = np.array([[np.sum(image[0, i:i + 3, j:j + 3] * w) for j in range(4)] for i in range(4)])
    pooled = fmap.reshape(2, 2, 2, 2).max(axis=(1, 3))
    bi, bj = np.unravel_index(pooled.argmax(), pooled.shape)
    win = fmap[2 * bi:2 * bi + 2, 2 * bj:2 * bj + 2]
    p, q = np.unravel_index(win.argmax(), win.shape)
    p, q = 2 * bi + p, 2 * bj + q
    expected = np.zeros((6, 6))
    expected[p:p + 3, q:q + 3] = fmap[p, q] * w
    np.testing.assert_allclose(r[0], expected, rtol=1e-5, atol=1e-6)


def test_deconvnet_on_lenet_features_and_errors():
    ac.manual_seed(0)
    model = models.lenet5(modern=True)
    image = _images(1)[0, :, :16, :16].repeat(2, axis=1).repeat(2, axis=2)   # (1, 32, 32)
    pooled = dict(interpret.feature_maps(model, image, layer_types=("MaxPool2d",)))
    unit = int(pooled["features.5"].sum(axis=(1, 2)).argmax())     # a unit that fired
    r = interpret.deconvnet(model.features, image, layer_index=5, unit=unit, position="all")
    assert r.shape == (1, 32, 32) and np.abs(r).sum() > 0
    with pytest.raises(TypeError, match="cannot invert a Tanh layer"):
        interpret.deconvnet(models.lenet5().features, image, 1, 0)
    with pytest.raises(ValueError, match=r"unit must be a channel in \[0, 16\)"):
        interpret.deconvnet(model.features, image, 5, 16)
    with pytest.raises(ValueError, match=r"layer_index must be in \[0, 6\)"):
        interpret.deconvnet(model.features, image, 6, 0)


# ---- activation maximisation -----------------------------------------------------------------

def test_activation_maximization_of_a_linear_unit_is_w_over_2_lambda():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 4, 3))
    # maximise w.x - l2 |x|^2: the optimum is x* = w / (2 l2)
    x, hist = interpret.activation_maximization(model, (2, 4, 4), unit=1, steps=60, lr=0.5,
                                                l2=0.5, blur_every=0)
    np.testing.assert_allclose(x, model[1].weight.detach().numpy()[1].reshape(2, 4, 4), rtol=1e-5,
                               atol=1e-6)
    assert hist[-1] > hist[0] and np.all(np.diff(hist) >= -1e-6)


def test_activation_maximization_of_a_channel_with_blur_and_clip():
    ac.manual_seed(0)
    model = models.lenet5(modern=True)
    x, hist = interpret.activation_maximization(model, (1, 32, 32), unit=2, layer="features.0",
                                                steps=10, lr=1.0, clip=(0, 1))
    assert x.shape == (1, 32, 32) and x.min() >= 0 and x.max() <= 1
    assert hist[-1] > hist[0]
    with pytest.raises(ValueError, match=r"unit must be in \[0, 6\)"):
        interpret.activation_maximization(model, (1, 32, 32), unit=6, layer="features.0")
    with pytest.raises(ValueError, match=r"input_shape must be \(C, H, W\)"):
        interpret.activation_maximization(model, (32, 32), unit=0)


def test_gaussian_blur_keeps_the_mean_and_smooths():
    x = np.zeros((1, 9, 9))
    x[0, 4, 4] = 1.0
    b = interpret.gaussian_blur(x, 1.0)
    assert b.sum() == pytest.approx(1.0) and b.max() < 0.2 and b[0, 4, 4] == b.max()
    np.testing.assert_allclose(b[0], b[0].T)
    assert interpret.gaussian_blur(x, 0) is x


# ---- features --------------------------------------------------------------------------------

def test_top_k_patches_find_the_bright_spots():
    conv = nn.Conv2d(1, 1, 3, bias=False)
    conv.weight._data[...] = 1.0
    model = nn.Sequential(conv, nn.ReLU())
    images = np.zeros((4, 1, 10, 10), dtype=np.float32)
    spots = [(1, 1, 0.5), (5, 2, 2.0), (3, 6, 1.0), (6, 6, 0.1)]    # (row, col, brightness)
    for n, (i, j, v) in enumerate(spots):
        images[n, 0, i:i + 3, j:j + 3] = v
    top = interpret.top_k_patches(model, "0", images, unit=0, k=3)
    assert [t["index"] for t in top] == [1, 2, 0]
    assert top[0]["score"] == pytest.approx(9 * 2.0)
    assert top[0]["position"] == (5, 2) and top[0]["box"] == (5, 8, 2, 5)
    np.testing.assert_array_equal(top[0]["patch"], np.full((1, 3, 3), 2.0, dtype=np.float32))
    with pytest.raises(ValueError, match="unit must be a channel"):
        interpret.top_k_patches(model, "0", images, unit=1)


def test_receptive_field_of_lenet_and_padded_strided_layers():
    lenet = models.lenet5(modern=True)
    # conv5: 5; pool2: 6, jump 2; conv5: 6 + 4 x 2 = 14; pool2: 16, jump 4
    assert interpret.receptive_field(lenet, lenet.features[3], (1, 32, 32)) == \
        ((14, 14), (2, 2), (0, 0))
    assert interpret.receptive_field(lenet, "features.5", (1, 32, 32)) == ((16, 16), (4, 4), (0, 0))
    net = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.Conv2d(2, 2, 3, padding=2,
                                                                        dilation=2))
    # 3 (offset -1, jump 2); dilated 3x3 spans 5: 3 + 4 x 2 = 11, offset -1 - 2 x 2 = -5
    assert interpret.receptive_field(net, net[1], (1, 9, 9)) == ((11, 11), (2, 2), (-5, -5))
    top = interpret.top_k_patches(lenet, "features.3", np.random.default_rng(0).random(
        (3, 1, 32, 32)).astype(np.float32), unit=0, k=3)
    assert all(t["patch"].shape == (1, 14, 14) for t in top)


def test_feature_maps_and_penultimate_features():
    model = QuadrantNet()
    maps = interpret.feature_maps(model, _images(1)[0], layer_types=("Conv2d", "ReLU"))
    assert [(n, m.shape) for n, m in maps] == [("conv", (4, 16, 16)), ("relu", (4, 16, 16))]
    x = _images(5)
    feats = interpret.penultimate_features(model, x, batch_size=2)
    expected = np.maximum(F.conv2d(ac.tensor(x * model.mask.numpy()), model.conv.weight,
                                   padding=1).detach().numpy(), 0).mean(axis=(2, 3))
    np.testing.assert_allclose(feats, expected, rtol=1e-5)


def test_pca_recovers_a_line_and_the_covariance_spectrum():
    rng = np.random.default_rng(0)
    t = rng.normal(size=200)
    x = np.outer(t, [3.0, -4.0, 0.0]) + 0.01 * rng.normal(size=(200, 3)) + 7
    scores, comps, ratio = interpret.pca(x, k=2)
    assert scores.shape == (200, 2) and comps.shape == (2, 3)
    np.testing.assert_allclose(np.abs(comps[0]), [0.6, 0.8, 0.0], atol=1e-3)
    assert comps[0, np.abs(comps[0]).argmax()] > 0           # the sign convention
    assert ratio[0] > 0.9999
    eig = np.sort(np.linalg.eigvalsh(np.cov(x.T)))[::-1][:2]
    np.testing.assert_allclose(scores.var(axis=0, ddof=1), eig, rtol=1e-8)
    with pytest.raises(ValueError, match="1 <= k <= min"):
        interpret.pca(x, k=4)


def test_tsne_keeps_two_clusters_apart():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (30, 5)), rng.normal(20, 1, (30, 5))])
    y = interpret.tsne(x, perplexity=10)
    assert y.shape == (60, 2)
    a, b = y[:30].mean(axis=0), y[30:].mean(axis=0)
    spread = max(y[:30].std(axis=0).max(), y[30:].std(axis=0).max())
    assert np.linalg.norm(a - b) > 3 * spread
    with pytest.raises(ValueError, match="N > perplexity"):
        interpret.tsne(x[:5])
