"""Second-order gradients (issue 19): ``create_graph=True`` records the backward pass, so
gradients can be differentiated again: gradgradcheck on every op case and on the CNN ops, a
Hessian-vector product of a small CNN's loss against finite differences of its gradient, and a
WGAN-GP gradient-penalty step."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from op_cases import CASES, make_inputs

PARAMS = [pytest.param(c, shapes, id=f"{c.name}-{'x'.join(map(str, shapes))}")
          for c in CASES if c.grad for shapes in c.shapes]


def t64(shape, seed=0, positive=False):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.3, 2.0, size=shape) * (1 if positive else rng.choice([-1, 1], size=shape))
    return ac.tensor(a, dtype="float64", requires_grad=True)


@pytest.mark.parametrize("case,shapes", PARAMS)
def test_gradgradcheck_of_every_op_case(case, shapes):
    rng = np.random.default_rng(1)
    tensors = [ac.tensor(a, requires_grad=True) for a in make_inputs(shapes, case.domain, rng)]
    assert ac.gradgradcheck(case.fn, tensors, atol=1e-5, rtol=1e-4)


CNN_OPS = {
    "conv2d": (lambda x, w, b: F.conv2d(x, w, b), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)]),
    "conv2d_stride_pad": (lambda x, w: F.conv2d(x, w, stride=2, padding=1),
                          [(1, 2, 6, 5), (3, 2, 3, 3)]),
    "conv2d_dilation_groups": (lambda x, w: F.conv2d(x, w, dilation=2, groups=2, padding=2),
                               [(1, 4, 6, 6), (4, 2, 3, 3)]),
    "conv2d_same_even": (lambda x, w: F.conv2d(x, w, padding="same"), [(1, 2, 5, 5),
                                                                      (2, 2, 2, 2)]),
    "conv2d_unbatched": (lambda x, w: F.conv2d(x, w), [(2, 4, 4), (3, 2, 2, 2)]),
    "conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1,
                                                           output_padding=1),
                         [(1, 3, 3, 3), (3, 2, 3, 3), (2,)]),
    "max_pool2d": (lambda x: F.max_pool2d(x * x.sum(), 2), [(1, 2, 4, 4)]),
    "max_pool2d_overlap": (lambda x: F.max_pool2d(x, 3, stride=1, padding=1) ** 2,
                           [(1, 1, 4, 4)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2, padding=1) ** 2, [(1, 2, 4, 5)]),
    "adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 3)) ** 2, [(2, 1, 5, 7)]),
    "cross_entropy": (lambda x: F.cross_entropy(x, ac.tensor([1, 0, 2])), [(3, 4)]),
    "cross_entropy_weight_smoothing": (
        lambda x: F.cross_entropy(x, ac.tensor([1, 0, 2]), weight=ac.tensor(
            [0.5, 1.0, 2.0, 1.5], dtype="float64"), label_smoothing=0.1), [(3, 4)]),
    "cross_entropy_probs": (lambda x, p: F.cross_entropy(x, p.softmax(1)), [(3, 4), (3, 4)]),
    "nll_loss": (lambda x: F.nll_loss(x.log_softmax(1), ac.tensor([2, 1])), [(2, 3)]),
    "mse_loss": (lambda x, y: F.mse_loss(x.tanh(), y), [(2, 3), (2, 3)]),
    "logsumexp_max": (lambda x: x.logsumexp(1) * x.max(1)[0] + x.amax(0).sum(), [(3, 4)]),
    "std_var": (lambda x: x.std(0) * x.var(1).sum(), [(3, 4)]),
    "prod": (lambda x: x.prod(1), [(2, 3)]),
    "batch_norm_train": (lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True) ** 2,
                         [(3, 2, 2, 2), (2,), (2,)]),
    "batch_norm_eval": (lambda x, w: F.batch_norm(x, ac.tensor([0.1, -0.2], dtype="float64"),
                                                  ac.tensor([1.5, 0.7], dtype="float64"), w,
                                                  training=False) ** 2, [(2, 2, 3), (2,)]),
    "dropout": (lambda x: F.dropout(x, 0.3, generator=np.random.default_rng(0)) ** 2, [(3, 4)]),
    "local_response_norm": (lambda x: F.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=2.0),
                            [(2, 5, 2, 2)]),
    "interpolate_nearest": (lambda x: F.interpolate(x, scale_factor=2) ** 2, [(1, 2, 3, 3)]),
    "interpolate_bilinear": (lambda x: F.interpolate(x, size=(5, 4), mode="bilinear",
                                                     align_corners=False) ** 2,
                             [(1, 1, 3, 3)]),
    "max_unpool2d": (lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2) ** 2,
                     [(1, 2, 4, 4)]),
    "binary_cross_entropy": (lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
                             [(2, 3), (2, 3)]),
    "bce_with_logits": (lambda x, y: F.binary_cross_entropy_with_logits(
        x, y.sigmoid(), weight=ac.tensor([0.5, 1.0, 2.0], dtype="float64"),
        pos_weight=ac.tensor([1.5, 0.7, 1.0], dtype="float64")), [(2, 3), (2, 3)]),
}


@pytest.mark.parametrize("name", sorted(CNN_OPS))
def test_gradgradcheck_of_the_cnn_ops_and_losses(name):
    fn, shapes = CNN_OPS[name]
    assert ac.gradgradcheck(fn, [t64(s, seed=i) for i, s in enumerate(shapes)],
                            atol=1e-5, rtol=1e-4)


def _small_cnn():
    ac.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh(), nn.MaxPool2d(2),
                         nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 2 * 2, 3)).double()


def test_hessian_vector_product_of_a_small_cnn_matches_finite_differences():
    model = _small_cnn()
    params = list(model.parameters())
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal((5, 1, 8, 8)))
    y = ac.tensor([0, 2, 1, 1, 0])
    vs = [rng.standard_normal(p.shape) for p in params]

    def gradient():
        loss = F.cross_entropy(model(x), y)
        return ac.grad(loss, params, create_graph=True)

    grads = gradient()
    dot = sum((g * ac.tensor(v)).sum() for g, v in zip(grads, vs))
    hvp = ac.grad(dot, params)
    # finite differences of the gradient along v: (g(p + eps v) - g(p - eps v)) / (2 eps)
    eps = 1e-5
    with ac.no_grad():
        for p, v in zip(params, vs):
            p += eps * ac.tensor(v)
    up = [g.detach().numpy().copy() for g in gradient()]
    with ac.no_grad():
        for p, v in zip(params, vs):
            p -= 2 * eps * ac.tensor(v)
    down = [g.detach().numpy().copy() for g in gradient()]
    for h, u, d in zip(hvp, up, down):
        np.testing.assert_allclose(h.numpy(), (u - d) / (2 * eps), rtol=1e-4, atol=1e-7)


def test_backward_with_create_graph_keeps_a_differentiable_grad():
    x = ac.tensor([0.5, -1.0, 2.0], dtype="float64", requires_grad=True)
    (x ** 3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.detach().numpy(), 3 * np.array([0.5, -1.0, 2.0]) ** 2)
    first = x.grad
    x.grad = None
    first.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * np.array([0.5, -1.0, 2.0]))


def test_wgan_gp_gradient_penalty_step():
    ac.manual_seed(0)
    critic = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1)).double()
    opt = ac.optim.Adam(critic.parameters(), lr=1e-3, betas=(0.5, 0.9))
    rng = np.random.default_rng(0)
    real = ac.tensor(rng.standard_normal((6, 4)))
    fake = ac.tensor(rng.standard_normal((6, 4)) + 1)
    before = [p.detach().numpy().copy() for p in critic.parameters()]
    for _ in range(3):
        alpha = ac.tensor(rng.uniform(size=(6, 1)))
        mixed = (alpha * real + (1 - alpha) * fake).requires_grad_()
        score = critic(mixed)
        g, = ac.grad(score.sum(), mixed, create_graph=True)
        penalty = ((g.norm(2, dim=1) - 1) ** 2).mean()
        loss = critic(fake).mean() - critic(real).mean() + 10 * penalty
        opt.zero_grad()
        loss.backward()
        assert all(p.grad is not None and np.isfinite(p.grad.numpy()).all()
                   for p in critic.parameters())
        opt.step()
    assert any(not np.allclose(b, p.detach().numpy())
               for b, p in zip(before, critic.parameters()))
    # the penalty's gradient with respect to the critic's weights is second-order: check it
    w = critic[0].weight

    def penalty_of(weight):
        h = F.leaky_relu(F.linear(mixed.detach().requires_grad_(), weight, critic[0].bias), 0.2)
        return h

    assert ac.gradgradcheck(penalty_of, [w.detach().clone().requires_grad_()],
                            atol=1e-5, rtol=1e-4)


def test_an_op_without_a_recorded_rule_says_so():
    from autograd_cnn import engine
    from autograd_cnn.functional.base import make

    def _plain_rule(node, g):               # a rule with no recorded form registered
        return (g * 2,)

    x = t64((3,))
    y = make(x._data * 2, (x,), "doubled", _plain_rule).sum()
    assert _plain_rule not in engine.graph_rules
    with pytest.raises(RuntimeError, match="'doubled' has no differentiable backward rule"):
        ac.grad(y, x, create_graph=True)


def test_value_graphs_differentiate_twice():
    def f(x, y):
        return (x * y).tanh() + x ** 3 * y.exp() + (x / y).sigmoid() + (x - y).relu() * x.sin()

    def first(a, b):            # the ordinary backward, as a function of the point
        x, y = ac.Value(a), ac.Value(b)
        f(x, y).backward()
        return x.grad, y.grad

    x, y = ac.Value(0.7), ac.Value(-1.3)
    f(x, y).backward(create_graph=True)
    gx = x.grad
    assert isinstance(gx, ac.Value) and gx.data == pytest.approx(first(0.7, -1.3)[0], rel=1e-12)
    x.grad = y.grad = 0.0
    gx.backward()
    eps = 1e-6
    dxx = (first(0.7 + eps, -1.3)[0] - first(0.7 - eps, -1.3)[0]) / (2 * eps)
    dxy = (first(0.7, -1.3 + eps)[0] - first(0.7, -1.3 - eps)[0]) / (2 * eps)
    assert x.grad == pytest.approx(dxx, rel=1e-6) and y.grad == pytest.approx(dxy, rel=1e-6)
