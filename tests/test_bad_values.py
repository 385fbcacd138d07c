"""Bad values in, clear answers out (issue 12 items 7 and 8): NaN and inf stay where they belong,
gradcheck fails on them, optimisers refuse impossible hyperparameters, non-numeric arrays are
refused, and operators hand unknown operands back to Python."""

import math
import re

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn.functional as F

CONVS = [  # (n, c, k, size, groups, stride, padding)
    (2, 3, 4, 8, 1, 1, 0), (2, 3, 4, 8, 1, 2, 1), (2, 8, 8, 8, 8, 1, 1), (2, 8, 8, 8, 8, 2, 1),
    (2, 16, 16, 12, 4, 1, 1), (4, 32, 64, 16, 1, 1, 1), (8, 64, 64, 16, 1, 2, 1),
]


@pytest.mark.parametrize("n,c,k,size,groups,stride,padding", CONVS)
def test_a_nan_in_the_input_of_conv_poisons_only_what_it_touches(n, c, k, size, groups, stride,
                                                                 padding):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, c, size, size)).astype(np.float32)
    w = rng.standard_normal((k, c // groups, 3, 3)).astype(np.float32)
    x[0, 1, 4, 4] = np.nan
    xt, wt = ac.tensor(x, requires_grad=True), ac.tensor(w, requires_grad=True)
    b = ac.zeros(k, requires_grad=True)
    y = F.conv2d(xt, wt, b, stride=stride, padding=padding, groups=groups)
    y.backward(ac.ones(*y.shape))
    # where the NaN may go: the entries an indicator of its position reaches
    ind = np.zeros_like(x)
    ind[0, 1, 4, 4] = 1
    iw = ac.tensor(ind, requires_grad=False)
    reach_y = F.conv2d(iw, ac.tensor(np.abs(w) + 1), stride=stride, padding=padding,
                       groups=groups).numpy() != 0
    wi = ac.tensor(np.ones_like(w), requires_grad=True)
    F.conv2d(iw, wi, stride=stride, padding=padding, groups=groups).sum().backward()
    reach_w = wi.grad.numpy() != 0
    np.testing.assert_array_equal(np.isnan(y.detach().numpy()), reach_y)
    np.testing.assert_array_equal(np.isnan(wt.grad.numpy()), reach_w)
    assert np.isfinite(xt.grad.numpy()).all() and np.isfinite(b.grad.numpy()).all()


def test_a_nan_in_the_gradient_of_conv_poisons_only_its_receptive_field():
    x = ac.randn(2, 3, 8, 8, requires_grad=True)
    w = ac.randn(4, 3, 3, 3, requires_grad=True)
    y = F.conv2d(x, w, padding=1)
    g = np.ones(y.shape, np.float32)
    g[1, 2, 2, 2] = np.nan
    y.backward(ac.tensor(g))
    gx = np.isnan(x.grad.numpy())
    assert gx.sum() == 27 and gx[1, :, 1:4, 1:4].all()      # 3 channels x its 3x3 window
    gw = np.isnan(w.grad.numpy())
    assert gw.sum() == 27 and gw[2].all()                   # the weights of output channel 2


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_gradcheck_fails_on_non_finite_gradients(bad):
    def fn(t):                      # both the analytic and the numeric gradient are bad
        return (t * bad).sum()
    with pytest.raises(ac.GradcheckError, match="not finite"):
        ac.gradcheck(fn, [ac.tensor([1.0, 2.0], dtype="float64", requires_grad=True)])


@pytest.mark.parametrize("make", [
    lambda p: ac.optim.SGD(p, lr=math.nan), lambda p: ac.optim.SGD(p, lr=math.inf),
    lambda p: ac.optim.SGD(p, lr=-0.1), lambda p: ac.optim.SGD(p, lr=0.1, momentum=math.nan),
    lambda p: ac.optim.Adam(p, lr=math.inf), lambda p: ac.optim.Adam(p, betas=(math.nan, 0.9)),
    lambda p: ac.optim.AdamW(p, weight_decay=-1.0), lambda p: ac.optim.RMSprop(p, eps=math.nan),
])
def test_optimisers_refuse_nan_inf_and_negative_hyperparameters(make):
    with pytest.raises(ValueError, match="invalid"):
        make([ac.nn.Parameter(ac.zeros(2))])


def test_narrow_takes_a_negative_start():
    x = ac.arange(5.0)
    assert x.narrow(0, -2, 2).tolist() == [3.0, 4.0]
    with pytest.raises(RuntimeError, match="exceeds"):
        x.narrow(0, 3, 3)
    with pytest.raises(IndexError):
        x.narrow(0, -6, 1)


@pytest.mark.parametrize("array", [np.array(["a"]), np.array([object()]), np.array([1j]),
                                   np.array(["2020-01-01"], dtype="datetime64[D]")])
def test_from_numpy_refuses_non_numeric_arrays(array):
    with pytest.raises(TypeError, match=re.escape(f"dtype {array.dtype}")):
        ac.from_numpy(array)


def test_operators_return_notimplemented_for_unknown_operands():
    t = ac.tensor([1.0, 2.0])
    assert t == pytest.approx([1.0, 2.0])
    assert (t == None) is False                 # noqa: E711  (PyTorch: False)
    assert (t != None) is True                  # noqa: E711
    with pytest.raises(TypeError):
        t + "a"


def test_numpy_functions_read_tensors_and_arrays_defer_to_tensor_operators():
    t = ac.tensor([1.0, 2.0])
    np.testing.assert_allclose(np.exp(t), np.exp([1.0, 2.0]), rtol=1e-6)
    r = np.ones(2) + t
    assert isinstance(r, ac.Tensor) and r.dtype == np.float64     # as PyTorch
    with pytest.raises(RuntimeError, match="detach"):
        np.asarray(ac.tensor([1.0], requires_grad=True))


@pytest.mark.parametrize("make", [
    lambda: ac.nn.Conv2d(3, 4, 3), lambda: ac.nn.Conv2d(3, 4, 3, stride=2, padding=1, groups=1),
    lambda: ac.nn.BatchNorm2d(3), lambda: ac.nn.BatchNorm2d(3).eval(),
    lambda: ac.nn.Sequential(ac.nn.Conv2d(3, 4, 3), ac.nn.BatchNorm2d(4), ac.nn.ReLU(),
                             ac.nn.MaxPool2d(2)),
])
def test_an_empty_batch_goes_through_forward_and_backward(make):
    layer = make()
    x = ac.randn(0, 3, 6, 6, requires_grad=True)
    y = layer(x)
    assert y.shape[0] == 0
    y.sum().backward()
    assert x.grad.shape == x.shape
    for p in layer.parameters():
        assert p.grad is not None and not p.grad.numpy().any()     # zero, as PyTorch


def test_a_hook_that_changes_the_gradient_shape_is_a_clear_error():
    x = ac.randn(3, requires_grad=True)
    y = x * 2
    y.register_hook(lambda g: ac.ones(4))
    with pytest.raises(RuntimeError, match=r"changed the size of the gradient from shape \(3,\)"):
        y.sum().backward()
    leaf = ac.randn(3, requires_grad=True)
    leaf.register_hook(lambda g: ac.ones(2, 3))
    with pytest.raises(RuntimeError, match="changed the size"):
        (leaf * 2).sum().backward()
