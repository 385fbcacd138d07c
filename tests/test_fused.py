"""Elementwise and fused kernels (kernels/elementwise.py, the batch norm + ReLU kernels of
kernels/norm.py, the convolutions' bias + ReLU epilogue) against their numpy twins, the fused
ops F.batch_norm_relu, F.add_relu and F.conv2d_relu against the unfused chains they stand for
(values, gradients in float64 against finite differences, second order, running statistics),
and the zoo's models that call them (ResNets; VGG, AlexNet, LeNet-5 modern) against the same
networks run op by op (a forward hook on a module turns its fusion off)."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn.functional as F
from autograd_cnn import models, tuning
from autograd_cnn.kernels import elementwise as E
from autograd_cnn.kernels import norm as K
from autograd_cnn.testing import gradcheck, gradgradcheck

DTYPES = [np.float64, np.float32]
SIZES = [1, 7, E._BLOCK + 3, 3 * E._BLOCK]


def data(shape, dtype, seed=0):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    x.reshape(-1)[::7] = 0.0              # exact zeros: ReLU's boundary, both sides agree on it
    return x


@pytest.fixture(params=["serial", "split"])
def split(request, monkeypatch):
    """Run each kernel test twice: in the calling thread, and split over threads (cut-offs 0:
    the elementwise loops', and the planes' for the convolutions' epilogue)."""
    if request.param == "split":
        monkeypatch.setitem(tuning._overrides, "elementwise_parallel_min", 0)
        monkeypatch.setitem(tuning._overrides, "planes_parallel_min", 0)
    return request.param


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", SIZES)
def test_elementwise_kernels_match_their_twins(size, dtype, split):
    x, y, g = data(size, dtype), data(size, dtype, 1), data(size, dtype, 2)
    x[1 % size] = np.nan
    r = np.maximum(y, 0)
    cases = {"relu": (x,), "relu_backward": (g, r), "add_relu": (x, y),
             "tanh_backward": (g, np.tanh(y))}
    for name, args in cases.items():
        got, want = getattr(E, name)(*args), E.TWINS[name](*args)
        assert got.dtype == dtype and got.shape == want.shape, name
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize("size", [10, 5000])
def test_the_ops_take_the_kernels_from_their_size_floor(size, monkeypatch):
    # tiny arrays stay with numpy (its call is cheaper), from tuning's floor the one-pass loops
    calls = []
    for name in ("relu", "relu_backward", "add_relu", "tanh_backward"):
        real = getattr(E, name)
        monkeypatch.setattr(E, name, lambda *a, _r=real, _n=name: calls.append(_n) or _r(*a))
    rng = np.random.default_rng(0)
    a = ac.tensor(rng.standard_normal(size).astype(np.float32), requires_grad=True)
    b = ac.tensor(rng.standard_normal(size).astype(np.float32), requires_grad=True)
    c = rng.standard_normal(size).astype(np.float32)   # a dense upstream gradient, as in a net
    ((F.relu(a) + F.add_relu(a, b) + ac.tanh(b)) * ac.tensor(c)).sum().backward()
    big = size >= tuning.get("elementwise_kernel_min")
    assert sorted(set(calls)) == (["add_relu", "relu", "relu_backward", "tanh_backward"]
                                  if big else [])
    x, y = a.detach().numpy(), b.detach().numpy()
    want_a = c * ((x > 0).astype(np.float32) + (x + y > 0))
    want_b = c * ((x + y > 0).astype(np.float32) + (1 - np.tanh(y) ** 2))
    np.testing.assert_allclose(a.grad.numpy(), want_a, rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), want_b, rtol=1e-6)


def test_relu_keeps_nan_and_its_backward_is_pytorchs():
    x = np.array([np.nan, -1.0, 0.0, 2.0], np.float32)
    np.testing.assert_array_equal(E.relu(x), [np.nan, 0, 0, 2])
    # threshold_backward: 0 where the output is <= 0, else g (a NaN output passes g)
    g = np.array([5.0, np.inf, np.nan, 3.0], np.float32)
    np.testing.assert_array_equal(E.relu_backward(g, E.relu(x)), [5, 0, 0, 3])


@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("shape", [(4, 3, 10), (1, 1, 7), (5, 2, 1), (3, 5, 3000)])
def test_bn_relu_kernels_match_their_twins(shape, dtype, tol, split):
    x, g = data(shape, dtype), data(shape, dtype, 1)
    c = shape[1]
    rng = np.random.default_rng(2)
    mean, scale, shift, k0, kx = (rng.standard_normal(c) for _ in range(5))
    y = K.bn_relu_apply(x, mean, scale, shift)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, K.TWINS["bn_relu_apply"](x, mean, scale, shift),
                               rtol=tol, atol=tol * 10)
    r = data(shape, dtype, 3)
    np.testing.assert_allclose(K.bn_add_relu_apply(x, mean, scale, shift, r),
                               K.TWINS["bn_add_relu_apply"](x, mean, scale, shift, r),
                               rtol=tol, atol=tol * 10)
    y = K.TWINS["bn_relu_apply"](x, mean, scale, shift)     # one mask for both sides
    for got, want in zip(K.bn_relu_backward_sums(g, y, x, mean),
                         K.TWINS["bn_relu_backward_sums"](g, y, x, mean)):
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol * x.size)
    got = K.bn_relu_backward_input(g, y, x, mean, scale, k0, kx)
    want = K.TWINS["bn_relu_backward_input"](g, y, x, mean, scale, k0, kx)
    assert got.dtype == dtype
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)


# ---- the fused ops ------------------------------------------------------------------------------


def _leaf(a):
    return ac.tensor(a, requires_grad=True)


def away_from_kinks(shape, seed=0):
    """Inputs whose batch-norm output stays away from ReLU's kink at 0 (finite differences)."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _bn_chain(kind, x, r, rm, rv, w, b, training):
    """(fused, unfused) spellings of the chain ``kind``."""
    args = (rm, rv, w, b, training, 0.1, 1e-5)
    if kind == "bn_relu":
        return F.batch_norm_relu(x, *args), F.relu(F.batch_norm(x, *args))
    return F.batch_norm_add_relu(x, r, *args), F.relu(F.batch_norm(x, *args) + r)


@pytest.mark.parametrize("kind", ["bn_relu", "bn_add_relu"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_fused_batch_norm_equals_the_ops_it_fuses(kind, training, affine):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5, 5)).astype(np.float32) * 2 + 0.5
    r = rng.standard_normal(x.shape).astype(np.float32)
    w, b = (rng.standard_normal(3).astype(np.float32) for _ in range(2))
    p = ac.tensor(rng.standard_normal(x.shape).astype(np.float32))
    results = []
    for fused in (0, 1):
        xs = [_leaf(x), _leaf(r)] + ([_leaf(w), _leaf(b)] if affine else [])
        rm, rv = np.full(3, 0.2, np.float32), np.full(3, 1.5, np.float32)
        out = _bn_chain(kind, xs[0], xs[1], rm, rv, *(xs[2:] if affine else (None, None)),
                        training)[fused]
        (out * p).sum().backward()
        grads = [t.grad.numpy() if t.grad is not None else None for t in xs]
        results.append([out.detach().numpy(), rm, rv] + grads)
    for got, want in zip(*results):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["bn_relu", "bn_add_relu"])
@pytest.mark.parametrize("training", [True, False])
def test_fused_batch_norm_gradcheck_float64(kind, training):
    x = _leaf(away_from_kinks((3, 2, 4, 3)))
    r = _leaf(away_from_kinks((3, 2, 4, 3), 1) * 0.1)
    w = _leaf(np.array([1.3, -0.7]))
    b = _leaf(np.array([0.2, -0.1]))
    rm, rv = np.array([0.1, -0.2]), np.array([1.2, 0.8])

    def fn(x, r, w, b):
        return _bn_chain(kind, x, r, rm.copy(), rv.copy(), w, b, training)[0]
    assert gradcheck(fn, [x, r, w, b])
    assert gradgradcheck(fn, [x, r, w, b])


def test_batch_norm_add_relu_rejects_a_residual_of_another_shape():
    x = ac.tensor(np.ones((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match=r"residual has shape \(2, 3, 1\)"):
        F.batch_norm_add_relu(x, ac.tensor(np.ones((2, 3, 1), np.float32)), None, None,
                              training=True)


def test_add_relu_gradcheck_float64_and_broadcast():
    a, b = _leaf(away_from_kinks((2, 3, 4))), _leaf(away_from_kinks((2, 3, 4), 1))
    assert gradcheck(F.add_relu, [a, b]) and gradgradcheck(F.add_relu, [a, b])
    c = _leaf(away_from_kinks((3, 1), 2))
    assert gradcheck(F.add_relu, [a, c]) and gradgradcheck(F.add_relu, [a, c])
    np.testing.assert_array_equal(F.add_relu(a, c).detach().numpy(),
                                  np.maximum(a.detach().numpy() + c.detach().numpy(), 0))


def test_fused_ops_under_no_grad_and_scalars():
    x = ac.tensor(np.array([[-1.0, 2.0]], np.float32), requires_grad=True)
    with ac.no_grad():
        y = F.add_relu(x, 1.5)
    assert not y.requires_grad and y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [[0.5, 3.5]])


# ---- the zoo's ResNets: fused internally, the same network from the outside ---------------------


def _unfuse(model):
    """Forward hooks that return nothing on every BatchNorm2d and ReLU: the model then runs op
    by op (models/_utils.py fuses only stock modules without hooks)."""
    return [m.register_forward_hook(lambda *a: None) for m in model.modules()
            if isinstance(m, (ac.nn.BatchNorm2d, ac.nn.ReLU))]


def _step(model, x, y):
    model.zero_grad()
    out = model(x)
    F.cross_entropy(out, y).backward()
    return out.detach().numpy(), {k: p.grad.numpy().copy() for k, p in
                                  model.named_parameters()}, \
        {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("build,shape", [
    (lambda: models.resnet18(10, width_mult=0.125), (2, 3, 32, 32)),
    (lambda: models.resnet50(10, width_mult=0.0625), (2, 3, 32, 32)),
    (lambda: models.resnet20(), (2, 3, 16, 16)),
])
def test_resnets_fused_equal_unfused(build, shape):
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ac.tensor(rng.integers(0, 10, shape[0]))
    results = []
    for fused in (True, False):
        ac.manual_seed(0)
        model = build()
        text = repr(model)
        handles = [] if fused else _unfuse(model)
        results.append(_step(model, x, y))
        model.eval()
        with ac.no_grad():
            results[-1] += (model(x).numpy(),)
        for h in handles:
            h.remove()
        results[-1] += (text,)
    (o1, g1, s1, e1, t1), (o2, g2, s2, e2, t2) = results
    assert t1 == t2 and g1.keys() == g2.keys() and s1.keys() == s2.keys()
    np.testing.assert_allclose(o1, o2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(e1, e2, rtol=1e-5, atol=1e-5)
    for k in g1:
        np.testing.assert_allclose(g1[k], g2[k], rtol=1e-4, atol=1e-5, err_msg=k)
    for k in s1:
        np.testing.assert_allclose(s1[k], s2[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_a_hook_on_a_resnet_relu_still_sees_every_call():
    model = models.resnet20()
    seen = []
    model.layer1[0].relu.register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(ac.tensor(np.zeros((1, 3, 8, 8), np.float32)))
    assert seen == [(1, 16, 8, 8)] * 2          # bn1 -> relu, and the residual join


@pytest.mark.parametrize("momentum,nesterov,first", [(0.0, False, False), (0.9, False, True),
                                                     (0.9, True, False)])
def test_sgd_step_split_over_threads_matches_its_twin(monkeypatch, momentum, nesterov, first):
    from autograd_cnn.kernels import optim as O
    from autograd_cnn.kernels import reference as R
    monkeypatch.setitem(tuning._overrides, "sgd_parallel_min", 0)
    monkeypatch.setattr(O, "workers", lambda n: 2)    # split even on a one-thread runner
    n = 3 * O._BLOCK + 5
    p, g, buf = (data(n, np.float32, s) for s in range(3))
    p2, buf2 = p.copy(), buf.copy()
    args = (0.1, momentum, 0.0, 0.01, nesterov, False, first)
    O.sgd_step(p, g, buf if momentum else np.empty(0, np.float32), *args)
    R.sgd_step(p2, g, buf2 if momentum else None, *args)
    np.testing.assert_allclose(p, p2, rtol=1e-6, atol=1e-7)
    if momentum:
        np.testing.assert_allclose(buf, buf2, rtol=1e-6, atol=1e-7)


# ---- conv + bias + ReLU (F.conv2d_relu, kernels/conv.py's epilogue) -----------------------------

CONV_CASES = [  # algorithm, x shape, w shape, stride, padding
    ("winograd", (3, 8, 9, 9), (8, 8, 3, 3), (1, 1), (1, 1)),
    ("im2col", (2, 3, 11, 11), (5, 3, 3, 3), (2, 2), (1, 1)),       # batched layout
    ("im2col", (3, 4, 6, 6), (6, 4, 1, 1), (1, 1), (0, 0)),         # pointwise
    ("im2col", (3, 3, 9, 9), (4, 3, 5, 5), (1, 1), (2, 2)),         # wide layout
    ("shifted", (2, 3, 8, 8), (4, 3, 3, 3), (1, 1), (1, 1)),
    ("direct", (2, 3, 8, 8), (4, 3, 3, 3), (2, 2), (1, 1)),
    ("smallconv", (2, 1, 12, 12), (6, 1, 5, 5), (1, 1), (0, 0)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algo,xs,ws,stride,pad", CONV_CASES)
def test_conv_kernels_relu_and_bias_epilogue_bit_for_bit(algo, xs, ws, stride, pad, dtype,
                                                         split):
    from autograd_cnn.kernels import conv as C
    rng = np.random.default_rng(0)
    x = rng.standard_normal(xs).astype(dtype)
    x.reshape(-1)[3], x.reshape(-1)[8] = np.nan, -0.0
    w, b = rng.standard_normal(ws).astype(dtype), rng.standard_normal(ws[0]).astype(dtype)
    out = tuple((n + 2 * p - k) // s + 1 for n, p, k, s in zip(xs[2:], pad, ws[2:], stride))
    geom = dict(stride=stride, padding=pad, out_size=out, algorithm=algo)
    plain = C.conv2d_forward(x, w, None, **geom)
    with_bias = C.conv2d_forward(x, w, b, **geom)
    if algo not in ("winograd", "smallconv"):     # those two keep the bias in their sums
        # the epilogue's bias add is numpy's y + b, bit for bit
        np.testing.assert_array_equal(with_bias, plain + b.reshape(1, -1, 1, 1))
    # and its ReLU is F.relu's kernel, on the output as the algorithm made it
    for bias, want in ((None, E.relu(plain)), (b, E.relu(with_bias))):
        got = C.conv2d_forward(x, w, bias, relu=True, **geom)
        np.testing.assert_array_equal(got, want)
        assert np.array_equal(np.signbit(got), np.signbit(want)) and np.isnan(got).any()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("has_bias,relu", [(True, True), (True, False), (False, True)])
def test_bias_relu_images_matches_its_twin(dtype, has_bias, relu):
    y = data((4, 3, 10), dtype)
    y[1, 2, 3] = np.nan
    b = data(3, dtype, 1)
    got, want = y.copy(), y.copy()
    E.bias_relu_images(got, b, has_bias, relu, 1, 3)
    E.TWINS["bias_relu_images"](want, b, has_bias, relu, 1, 3)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got[[0, 3]], y[[0, 3]])          # other images untouched


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2, padding=1),
                                    dict(padding="same", groups=2), dict(dilation=2)])
def test_conv2d_relu_equals_relu_of_conv2d(dtype, kwargs):
    rng = np.random.default_rng(1)
    x = ac.tensor(data((2, 4, 9, 9), dtype), requires_grad=True)
    w = ac.tensor(rng.standard_normal((6, 4 // kwargs.get("groups", 1), 3, 3)).astype(dtype),
                  requires_grad=True)
    b = ac.tensor(rng.standard_normal(6).astype(dtype), requires_grad=True)
    fused = F.conv2d_relu(x, w, b, **kwargs)
    chain = F.relu(F.conv2d(x, w, b, **kwargs))
    np.testing.assert_array_equal(fused.detach().numpy(), chain.detach().numpy())
    g = ac.tensor(rng.standard_normal(fused.shape).astype(dtype))
    got = ac.autograd.grad([fused], [x, w, b], [g])
    want = ac.autograd.grad([chain], [x, w, b], [g])
    for a, c in zip(got, want):
        np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert fused.grad_fn.name() == "Conv2dReluBackward0"


def test_conv2d_relu_gradcheck_float64_first_and_second_order_and_unbatched():
    rng = np.random.default_rng(2)
    x = ac.tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    w = ac.tensor(rng.standard_normal((4, 3, 3, 3)), requires_grad=True)
    b = ac.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1), (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.conv2d_relu(x, w, b, padding=1), (x, w, b))
    single = ac.tensor(rng.standard_normal((3, 6, 6)), requires_grad=True)
    assert F.conv2d_relu(single, w).shape == (4, 4, 4)
    assert gradcheck(lambda s, w: F.conv2d_relu(s, w), (single, w))
    with pytest.raises(ValueError, match="conv2d_relu"):
        F.conv2d_relu(x, w, stride=0)


@pytest.mark.parametrize("build,shape", [
    (lambda: models.lenet5(modern=True), (3, 1, 32, 32)),
    (lambda: models.vgg11(num_classes=10, width_mult=0.0625, dropout=0.0), (2, 3, 32, 32)),
    (lambda: models.alexnet(num_classes=10, width_mult=0.0625, dropout=0.0), (2, 3, 67, 67)),
])
def test_conv_relu_stages_of_the_zoo_fused_equal_unfused_bit_for_bit(build, shape):
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal(shape).astype(np.float32))
    y = ac.tensor(rng.integers(0, 10, shape[0]))
    results, ops = [], []
    for fused in (True, False):
        ac.manual_seed(0)
        model = build()
        handles = [] if fused else _unfuse(model)
        out, grads, _ = _step(model, x, y)
        ops.append({n._op for n in ac.engine.topological_order([model(x)])})
        results.append((out, grads))
        for h in handles:
            h.remove()
    (o1, g1), (o2, g2) = results
    np.testing.assert_array_equal(o1, o2)
    assert g1.keys() == g2.keys()
    for k in g1:
        np.testing.assert_array_equal(g1[k], g2[k], err_msg=k)
    assert "conv2d_relu" in ops[0] and "conv2d_relu" not in ops[1]


def test_a_hook_on_a_fused_conv_is_seen_also_by_a_captured_model():
    # the capture records every submodule of the model it ran (the fused pairs are not called),
    # so a hook added after the capture ends the plan and the call runs eagerly, with the hook
    model = models.lenet5(modern=True)
    compiled = ac.compile(model)
    x = ac.tensor(np.random.default_rng(0).standard_normal((2, 1, 32, 32)).astype(np.float32))
    for _ in range(3):
        compiled(x)
    assert compiled.stats["replays"] == 1
    seen = []
    model.features[1].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    with pytest.warns(RuntimeWarning, match="forward hooks"):
        compiled(x)
    assert seen == [(2, 6, 28, 28)]
