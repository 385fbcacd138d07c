"""PyTorch semantics that code moved from PyTorch relies on without thinking (issue 11):
augmented assignment in place, recorded in-place ops, views and detach sharing one version
counter, PyTorch's indexing rules, dtype promotion and edge cases of reductions.

Every expected number below was computed with PyTorch 2.13 (float64) and written in by hand."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn.errors import DTypeError, ShapeError


def f64(values, requires_grad=False):
    return ac.tensor(values, dtype="float64", requires_grad=requires_grad)


# ---- 1. augmented assignment is in place -------------------------------------------------------


def test_manual_sgd_loop_of_the_pytorch_tutorial_updates_the_parameters():
    # "Learning PyTorch with examples": a cubic fitted to sin(x) with a hand-written SGD step
    x = ac.linspace(-math.pi, math.pi, 200, dtype="float64")
    y = ac.sin(x)
    a, b, c, d = (f64(v, requires_grad=True) for v in (0.1, 0.2, -0.1, 0.05))
    params = [a, b, c, d]
    lr = 1e-5
    for _ in range(50):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        loss.backward()
        with ac.no_grad():
            a -= lr * a.grad
            b -= lr * b.grad
            c -= lr * c.grad
            d -= lr * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    assert all(p is q for p, q in zip([a, b, c, d], params))      # updated, not rebound
    assert all(p.is_leaf and p.requires_grad for p in params)
    np.testing.assert_allclose([p.item() for p in params] + [loss.item()],
                               SGD_TORCH, rtol=1e-12)


SGD_TORCH = [0.10414807622054421, 0.2585737628172921, -0.018964460532456387, -0.008803950307062158, 39.81883936160618]


@pytest.mark.parametrize("op", ["+=", "-=", "*=", "/=", "**="])
def test_augmented_assignment_keeps_the_object_and_bumps_its_version(op):
    x = f64([1.0, 2.0, 4.0])
    alias, before = x, x._version
    exec(f"x {op} 2", {}, ns := {"x": x})
    assert ns["x"] is alias
    assert alias._version == before + 1
    expected = {"+=": [3, 4, 6], "-=": [-1, 0, 2], "*=": [2, 4, 8], "/=": [0.5, 1, 2],
                "**=": [1, 4, 16]}[op]
    np.testing.assert_allclose(alias.numpy(), expected)


def test_in_place_on_a_leaf_that_requires_grad_raises_outside_no_grad():
    w = f64([1.0, 2.0], requires_grad=True)
    for update in (lambda: w.add_(1), lambda: w.mul_(2), lambda: w.__iadd__(1),
                   lambda: w.__setitem__(0, 5.0), lambda: w.zero_(), lambda: w.relu_()):
        with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
            update()
    np.testing.assert_array_equal(w.detach().numpy(), [1.0, 2.0])
    with ac.no_grad():
        w += 1                                   # the optimiser's way
    np.testing.assert_array_equal(w.detach().numpy(), [2.0, 3.0])


def test_in_place_ops_on_non_leaves_are_recorded_as_in_pytorch():
    x = f64([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    h = x * 2
    h += 1
    h[0] = x[1] * 3
    h[[1, 3]] = x[2] * 2
    h -= 0.5
    h *= x
    g = x - 1
    g.relu_()
    g = g + 2
    h = h + g
    (h * f64([0.3, -0.7, 1.1, 0.4])).sum().backward()
    np.testing.assert_allclose(h.detach().numpy(), [0.25, -1.5, 12.0, 7.75], rtol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), [-1.05, -1.9999999999999998, 13.05, 1.8000000000000003], rtol=1e-12)


def test_an_op_that_used_a_tensor_before_it_was_changed_in_place_refuses_backward():
    # PyTorch knows which ops saved values; autograd_cnn refuses for every op that used the
    # tensor (README, Differences from PyTorch): never a wrong gradient, sometimes an error
    x = f64([0.5, -1.0, 2.0, 1.5], requires_grad=True)
    h = x * 2
    h[[1, 3]] += x[2]                            # reads h[[1, 3]] (recorded), then writes h
    with pytest.raises(RuntimeError, match="'getitem'.*modified by an in-place operation"):
        h.sum().backward()


def test_a_buffer_filled_from_the_graph_by_setitem():
    w = f64([1.0, 2.0, -0.5], requires_grad=True)
    buf = ac.zeros(2, 3, dtype="float64")
    alias = buf.numpy()                          # a leaf's storage is written in place
    buf[0] = w * 2
    buf[1, 1:] = w[:2] ** 2
    buf += 1
    (buf * ac.arange(6, dtype="float64").reshape(2, 3)).sum().backward()
    np.testing.assert_allclose(buf.detach().numpy(), [[3.0, 5.0, 0.0], [1.0, 2.0, 5.0]])
    np.testing.assert_allclose(alias, [[3.0, 5.0, 0.0], [1.0, 2.0, 5.0]])
    np.testing.assert_allclose(w.grad.numpy(), [8.0, 22.0, 4.0])


def test_in_place_results_keep_shape_and_dtype_as_in_pytorch():
    x = ac.zeros(3)
    with pytest.raises(ShapeError, match="cannot grow"):
        x += ac.ones(2, 3)
    with pytest.raises(RuntimeError):
        x += ac.ones(2, 3)                       # what PyTorch code catches
    i = ac.tensor([1, 2, 3])
    with pytest.raises(DTypeError, match="int64"):
        i += 0.5
    with pytest.raises(RuntimeError):
        i /= 2
    i += 2                                       # int + int stays int
    np.testing.assert_array_equal(i.numpy(), [3, 4, 5])
    f = ac.zeros(2)
    f += ac.tensor([1, 2])                       # an int operand into a float tensor
    assert f.dtype == np.float32 and f.tolist() == [1.0, 2.0]
    e = ac.ones(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="read-only"):
        e.add_(1)


def test_in_place_through_a_view_of_a_recorded_tensor_is_refused_while_recording():
    x = f64([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2
    v = h[1:]
    with pytest.raises(RuntimeError, match="view"):
        v.mul_(2)
    with pytest.raises(RuntimeError, match="view"):
        h.add_(1)                                # h has a view now


# ---- 2. views and detach share the version counter ---------------------------------------------


VIEWS = {
    "slice": lambda w: w[0:2],
    "int": lambda w: w[1],
    "reshape": lambda w: w.reshape(-1),
    "view": lambda w: w.view(6),
    "transpose": lambda w: w.transpose(0, 1),
    "T": lambda w: w.T,
    "permute": lambda w: w.permute(1, 0),
    "unsqueeze": lambda w: w.unsqueeze(0),
    "squeeze": lambda w: w.unsqueeze(0).squeeze(0),
    "flatten": lambda w: w.flatten(),
    "detach": lambda w: w.detach(),
    "data": lambda w: w.data,
    "narrow": lambda w: w.narrow(1, 0, 2),
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_writing_through_a_view_after_an_op_recorded_the_base_makes_backward_raise(name):
    w = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    x = f64([0.5, -1.0, 2.0], requires_grad=True)
    y = w @ x                                    # saves w for the gradient of x
    view = VIEWS[name](w)
    with ac.no_grad():
        view.mul_(2)
    assert np.shares_memory(view.numpy(), w.numpy())
    assert w._version == 1 and view._version == 1
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.sum().backward()


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_writing_to_the_base_after_an_op_recorded_a_view_makes_backward_raise(name):
    w = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    base = w.detach()
    view = VIEWS[name](base)
    y = (view.double() * w.sum()).sum() if name in ("detach", "data") else \
        (view * w.sum()).sum()                  # saves the view
    base[0, 0] = 10.0
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_detach_then_mul_of_the_input_of_exp():
    x = f64([0.1, 0.2], requires_grad=True)
    y = x.exp()
    x.detach().mul_(2)
    with pytest.raises(RuntimeError, match="'exp'"):
        y.sum().backward()


def test_copies_do_not_share_the_counter():
    w = f64([[1.0, 2.0], [3.0, 4.0]])
    for copy in (w.clone(), w.flip(0), w[[0, 1]], w.T.reshape(-1), w.contiguous() + 0):
        assert not np.shares_memory(copy.numpy(), w.numpy())
        copy.add_(1)
    assert w._version == 0


def test_view_refuses_what_needs_a_copy_and_reshape_copies():
    w = f64([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]).T
    with pytest.raises(RuntimeError, match="reshape"):
        w.view(6)
    r = w.reshape(6)
    np.testing.assert_array_equal(r.numpy(), [1, 4, 2, 5, 3, 6])
    r.add_(1)
    assert w._version == 0


def test_x_of_an_int_is_a_0d_view():
    x = f64([1.0, 2.0])
    x[1].mul_(10)
    np.testing.assert_array_equal(x.numpy(), [1.0, 20.0])


# ---- 3. indexing follows PyTorch -----------------------------------------------------------------

MASK = [True, False, True]
INDEX_TORCH = {
    "int_slice_list": ((0, slice(None), [1, 2]), (3, 2), [1.0, 2.0, 5.0, 6.0, 9.0, 10.0], {1: 1.0, 2: 2.0, 5: 3.0, 6: 4.0, 9: 5.0, 10: 6.0}),
    "list_slice_int": (([0, 1], slice(None), 0), (2, 3), [0.0, 4.0, 8.0, 12.0, 16.0, 20.0], {0: 1.0, 4: 2.0, 8: 3.0, 12: 4.0, 16: 5.0, 20: 6.0}),
    "slice_int_list": ((slice(None), 0, [1, 2]), (2, 2), [1.0, 2.0, 13.0, 14.0], {1: 1.0, 2: 2.0, 13: 3.0, 14: 4.0}),
    "int_mask": ((0, MASK), (2, 4), [0.0, 1.0, 2.0, 3.0, 8.0, 9.0, 10.0, 11.0], {0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0, 8: 5.0, 9: 6.0, 10: 7.0, 11: 8.0}),
    "int_mask_int": ((0, MASK, 1), (2,), [1.0, 9.0], {1: 1.0, 9: 2.0}),
    "slice_mask_list": ((slice(None), MASK, [0, 3]), (2, 2), [0.0, 11.0, 12.0, 23.0], {0: 1.0, 11: 2.0, 12: 3.0, 23: 4.0}),
    "tuples": (([0, 1], (1, 2)), (2, 4), [4.0, 5.0, 6.0, 7.0, 20.0, 21.0, 22.0, 23.0], {4: 1.0, 5: 2.0, 6: 3.0, 7: 4.0, 20: 5.0, 21: 6.0, 22: 7.0, 23: 8.0}),
    "none_int_list": ((None, 0, [1, 2]), (1, 2, 4), [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0], {4: 1.0, 5: 2.0, 6: 3.0, 7: 4.0, 8: 5.0, 9: 6.0, 10: 7.0, 11: 8.0}),
    "int_ellipsis_list": ((0, Ellipsis, [0, 1]), (3, 2), [0.0, 1.0, 4.0, 5.0, 8.0, 9.0], {0: 1.0, 1: 2.0, 4: 3.0, 5: 4.0, 8: 5.0, 9: 6.0}),
    "list_none_list": (([0, 1], None, [1, 2]), (2, 1, 4), [4.0, 5.0, 6.0, 7.0, 20.0, 21.0, 22.0, 23.0], {4: 1.0, 5: 2.0, 6: 3.0, 7: 4.0, 20: 5.0, 21: 6.0, 22: 7.0, 23: 8.0}),
    "repeat_int_list": ((1, [0, 0, 2]), (3, 4), [12.0, 13.0, 14.0, 15.0, 12.0, 13.0, 14.0, 15.0, 20.0, 21.0, 22.0, 23.0], {12: 6.0, 13: 8.0, 14: 10.0, 15: 12.0, 20: 9.0, 21: 10.0, 22: 11.0, 23: 12.0}),
}


@pytest.mark.parametrize("name", sorted(INDEX_TORCH))
def test_indexing_matches_pytorch_values_and_gradients(name):
    key, shape, values, grad = INDEX_TORCH[name]
    key = tuple(ac.tensor(k) if k is MASK else k for k in key)
    x = ac.arange(24, dtype="float64").reshape(2, 3, 4).requires_grad_()
    r = x[key]
    assert r.shape == shape
    np.testing.assert_array_equal(r.detach().numpy().ravel(), values)
    proj = ac.arange(r.numel(), dtype="float64").reshape(r.shape) + 1
    (r * proj).sum().backward()
    expected = np.zeros(24)
    expected[list(grad)] = list(grad.values())
    np.testing.assert_array_equal(x.grad.numpy().ravel(), expected)


def test_setitem_uses_the_same_rules():
    x = ac.zeros(2, 3, 4)
    x[0, :, [1, 2]] = ac.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(x.numpy()[0][:, [1, 2]], np.arange(6.0).reshape(3, 2))
    assert x.numpy().sum() == 15


def test_negative_steps_and_bad_indices_are_refused_as_pytorch_refuses_them():
    x = ac.arange(6.0)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        x[::-1]
    with pytest.raises(IndexError, match="integer or bool"):
        x[ac.tensor([0.0, 1.0])]
    with pytest.raises(IndexError, match="out of bounds|invalid"):
        x[10]
    assert x[ac.tensor(2)].item() == 2.0 and x[range(1, 3)].tolist() == [1.0, 2.0]


# ---- 4. dtypes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [lambda t: t.exp(), lambda t: t.log(), lambda t: t.sqrt(),
                                lambda t: t.sin(), lambda t: t.sigmoid(), lambda t: t.tanh(),
                                lambda t: t.logsumexp(0), lambda t: t / 2,
                                lambda t: t.softmax(0), lambda t: ac.nn.functional.leaky_relu(t),
                                lambda t: t ** 0.5, lambda t: t.clamp(0, 1.5)])
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_float_ops_on_integer_and_bool_tensors_give_float32(fn, dtype):
    with np.errstate(divide="ignore"):
        assert fn(ac.tensor([1, 0, 1], dtype=dtype)).dtype == np.float32


PROMOTION = [   # (a, b, the dtype PyTorch gives a + b)
    (lambda: ac.tensor([1, 2]), lambda: f64(1.5), "float64"),
    (lambda: ac.tensor([1.0, 2.0]), lambda: f64(1.5), "float32"),
    (lambda: ac.tensor([1, 2], dtype="int32"), lambda: ac.tensor(3), "int32"),
    (lambda: ac.tensor([True]), lambda: 3, "int64"),
    (lambda: ac.tensor([True]), lambda: 2.5, "float32"),
    (lambda: ac.tensor([1], dtype="uint8"), lambda: 3, "uint8"),
    (lambda: ac.tensor([1]), lambda: 2.5, "float32"),
    (lambda: ac.tensor([1], dtype="uint8"), lambda: ac.tensor([1], dtype="int8"), "int16"),
    (lambda: ac.tensor(1), lambda: f64(2.0), "float64"),
    (lambda: ac.tensor([True]), lambda: ac.tensor(1, dtype="int32"), "int32"),
    (lambda: ac.tensor([True]), lambda: True, "bool"),
    (lambda: ac.tensor([1.0]), lambda: np.float64(2.0), "float32"),
    (lambda: ac.tensor([1]), lambda: np.float64(2.0), "float32"),
]


@pytest.mark.parametrize("case", range(len(PROMOTION)))
def test_binary_promotion_follows_pytorch(case):
    a, b, expected = PROMOTION[case]
    assert (a() + b()).dtype == np.dtype(expected)
    assert (b() + a()).dtype == np.dtype(expected)


def test_a_0d_float64_tensor_keeps_float32_gradients_float32():
    w = ac.randn(3, requires_grad=True)
    loss = (w * f64(2.0)).sum()
    assert loss.dtype == np.float32
    loss.backward()
    assert w.grad.dtype == np.float32


def test_invert_is_bitwise_on_integers_and_logical_on_bool():
    assert (~ac.tensor([1, 2], dtype="uint8")).tolist() == [254, 253]
    assert (~ac.tensor([1, -3])).tolist() == [-2, 2]
    assert (~ac.tensor([True, False])).tolist() == [False, True]
    with pytest.raises(TypeError):
        ~ac.tensor([1.0])


def test_sum_and_mean_take_a_dtype():
    assert ac.tensor([1, 2], dtype="uint8").sum().dtype == np.int64
    assert ac.tensor([True, True]).sum().item() == 2
    assert ac.tensor([1.0, 2.0]).sum(dtype="float64").dtype == np.float64
    assert ac.tensor([1, 2]).mean(dtype="float32").item() == 1.5
    with pytest.raises(RuntimeError, match="floating"):
        ac.tensor([1, 2]).mean()


# ---- 5. edges ------------------------------------------------------------------------------------


def test_reductions_of_0d_tensors_take_dim_0_and_minus_1():
    s = ac.tensor(3.0)
    for dim in (0, -1):
        assert s.sum(dim).item() == 3.0 and s.mean(dim).item() == 3.0
        assert s.amax(dim).item() == 3.0 and s.argmax(dim).item() == 0
        values, indices = s.max(dim)
        assert values.item() == 3.0 and indices.item() == 0 and values.ndim == 0
    with pytest.raises(IndexError):
        s.sum(1)


def test_empty_dim_tuple_reduces_everything():
    x = ac.arange(6.0).reshape(2, 3)
    assert x.sum(dim=()).item() == 15.0 and x.mean(dim=()).item() == 2.5


def test_var_and_std_without_degrees_of_freedom_are_nan_with_a_warning():
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isnan(ac.tensor([1.0]).var().item())
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert math.isinf(ac.tensor([1.0, 2.0]).std(dim=0, correction=2).item())


def test_std_gradient_of_a_constant_is_zero():
    x = f64([2.0, 2.0, 2.0], requires_grad=True)
    x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 0.0])


def test_clamp_with_min_above_max_gives_max_everywhere():
    np.testing.assert_array_equal(ac.tensor([1.0, 5.0]).clamp(min=3, max=2).numpy(), [2, 2])


def test_where_with_two_scalars():
    cond = ac.tensor([True, False])
    r = ac.nn.functional.where(cond, 1.0, 0.0)
    assert r.dtype == np.float32 and r.tolist() == [1.0, 0.0]
    assert ac.nn.functional.where(cond, 1, 0).dtype == np.int64


def test_integer_linspace_truncates_toward_zero():
    assert ac.linspace(-10, 0, 4, dtype="int64").tolist() == [-10, -6, -3, 0]
    assert ac.linspace(0, 10, 4, dtype="int64").tolist() == [0, 3, 6, 10]


@pytest.mark.parametrize("p,expected", [(0, 2.0), (1, 7.0), (2, 5.0), (3, 4.497941445275415),
                                        (0.5, 13.928203230275509), (math.inf, 4.0),
                                        (-math.inf, 0.0)])
def test_norm_with_any_p(p, expected):
    assert ac.tensor([3.0, -4.0, 0.0]).norm(p).item() == pytest.approx(expected, rel=1e-6)


def test_norm_gradient_at_zero_is_zero_and_gradchecks_elsewhere():
    z = f64([0.0, 0.0], requires_grad=True)
    z.norm().backward()
    np.testing.assert_array_equal(z.grad.numpy(), [0.0, 0.0])
    for p in (2, 3, 1.5):
        ac.gradcheck(lambda t: t.norm(p, dim=1), [f64([[0.3, -0.8], [1.2, 0.4]], True)])


def test_max_takes_an_int_dim_and_amax_a_tuple():
    x = ac.arange(6.0).reshape(2, 3)
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))
    assert x.amax(dim=(0, 1)).item() == 5.0


def test_requires_grad_on_a_non_leaf():
    y = ac.randn(2, requires_grad=True) * 2
    assert y.requires_grad_() is y
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


@pytest.mark.parametrize("bad", [lambda: ac.ones(2, 3) @ ac.ones(2, 3),
                                 lambda: ac.ones(2, 3).reshape(4),
                                 lambda: ac.ones(2, 3).permute(0),
                                 lambda: ac.nn.functional.cat([ac.ones(2, 3), ac.ones(3, 2)]),
                                 lambda: ac.ones(2, 3) + ac.ones(4),
                                 lambda: ac.nn.functional.conv2d(ac.ones(1, 3, 5, 5),
                                                                 ac.ones(2, 4, 3, 3))])
def test_shape_errors_are_runtime_errors_too(bad):
    with pytest.raises(RuntimeError):
        bad()
    with pytest.raises(ValueError):
        bad()


def test_in_place_after_an_op_that_saved_its_output_still_gives_the_right_gradient():
    # PyTorch refuses this (exp saved its output); here the output keeps its own storage
    x = f64([0.1, 0.2], requires_grad=True)
    y = x.exp()
    y += 1
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.1, 0.2]), rtol=1e-15)


def test_inplace_flags_of_activation_layers_compute_out_of_place():
    x = ac.tensor([-1.0, 2.0])
    y = ac.nn.ReLU(inplace=True)(x)
    assert y.tolist() == [0.0, 2.0] and x.tolist() == [-1.0, 2.0]
    x.relu_()
    assert x.tolist() == [0.0, 2.0]


def test_generator_objects_as_in_pytorch():
    g = ac.Generator().manual_seed(0)
    assert g.initial_seed() == 0 and g.device == "cpu"
    a = ac.rand(3, generator=g)
    b = ac.rand(3, generator=ac.Generator().manual_seed(0))
    assert a.tolist() == b.tolist()
    import autograd_cnn.utils.data as data
    dataset = data.TensorDataset(ac.arange(10))
    order = [int(x) for (x,) in data.DataLoader(dataset, shuffle=True,
                                                generator=ac.Generator().manual_seed(1))]
    again = [int(x) for (x,) in data.DataLoader(dataset, shuffle=True,
                                                generator=ac.Generator().manual_seed(1))]
    assert order == again and sorted(order) == list(range(10))
    state = g.get_state()
    first = ac.rand(2, generator=g).tolist()
    g.set_state(state)
    assert ac.rand(2, generator=g).tolist() == first
    with pytest.raises(ValueError, match="CPU only"):
        ac.Generator(device="cuda")


def test_a_running_total_started_from_a_python_number_accumulates_in_place():
    # the tutorials' `running_corrects = 0; running_corrects += torch.sum(preds == labels)`
    total = 0
    for _ in range(3):
        total += ac.tensor([True, False, True]).sum()
    assert isinstance(total, ac.Tensor) and total.item() == 6 and total.dtype == np.int64
    assert (total.double() / 4).item() == 1.5
    y = ac.tensor(2.0) * 3
    y += 1                                       # a 0-d op result is writable storage
    assert y.item() == 7.0


# ---- a leaf's .grad is accumulated in place (PyTorch's AccumulateGrad) -------------------------


def test_a_second_backward_adds_into_the_same_grad_tensor_that_a_reference_sees():
    w = f64([1.0, 2.0, 3.0], requires_grad=True)
    (w * 2).sum().backward()
    kept = w.grad
    version = kept._version
    (w * w).sum().backward()
    # PyTorch 2.13: kept is w.grad and holds 2 + 2w
    assert kept is w.grad
    assert kept.tolist() == [4.0, 6.0, 8.0]
    assert kept._version > version               # an in-place write, seen by saved tensors


def test_zero_grad_without_set_to_none_zeros_the_same_tensor_and_accumulation_starts_over():
    model = ac.nn.Linear(3, 2).double()
    opt = ac.optim.SGD(model.parameters(), lr=0.1)
    x = ac.randn(4, 3, dtype="float64")
    model(x).sum().backward()
    kept = [p.grad for p in model.parameters()]
    for zero in (opt.zero_grad, model.zero_grad):
        zero(set_to_none=False)
        assert all(p.grad is g and not g.numpy().any() for p, g in zip(model.parameters(), kept))
        model(x).sum().backward()
        assert all(p.grad is g for p, g in zip(model.parameters(), kept))
    assert np.allclose(model.bias.grad.numpy(), [4.0, 4.0])
    opt.zero_grad()                              # set_to_none=True, PyTorch's default
    assert all(p.grad is None for p in model.parameters())


def test_a_recorded_grad_or_a_retained_non_leaf_grad_is_replaced_not_written_into():
    # create_graph=True makes .grad a recorded tensor: PyTorch replaces it by the sum
    w = f64([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward(create_graph=True)
    first = w.grad
    assert first.requires_grad
    (w * w).sum().backward(create_graph=True)
    assert w.grad is not first and first.tolist() == [2.0, 4.0]
    assert w.grad.tolist() == [4.0, 8.0]
    # retain_grad on a non-leaf: PyTorch's hook stores grad + new, a new tensor
    x = f64([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    y.sum().backward(retain_graph=True)
    kept = y.grad
    y.sum().backward()
    assert y.grad is not kept and kept.tolist() == [1.0, 1.0] and y.grad.tolist() == [2.0, 2.0]


def test_a_grad_over_read_only_or_other_dtype_storage_is_replaced_by_the_sum():
    w = f64([1.0, 2.0], requires_grad=True)
    frozen = np.array([10.0, 10.0])
    frozen.flags.writeable = False
    w.grad = ac.tensor(frozen, dtype="float64")
    (w * 2).sum().backward()
    assert w.grad.tolist() == [12.0, 12.0] and frozen.tolist() == [10.0, 10.0]


def test_an_interpretation_backward_leaves_the_training_gradients_untouched():
    from autograd_cnn.interpret import saliency
    ac.manual_seed(0)
    model = ac.nn.Sequential(ac.nn.Flatten(), ac.nn.Linear(12, 3)).double()
    x = ac.randn(1, 1, 3, 4, dtype="float64")
    model(x).sum().backward()
    kept = [(p.grad, p.grad.numpy().copy()) for p in model.parameters()]
    saliency(model, x, target=1)
    for p, (g, values) in zip(model.parameters(), kept):
        assert p.grad is g and np.array_equal(g.numpy(), values)


# ---- DataLoader collation: PyTorch's default_collate structure ---------------------------------


class _Samples(ac.data.Dataset):
    """A dataset whose samples are whatever ``make(i)`` builds."""

    def __init__(self, make, n=4):
        self.make, self.n = make, n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return self.make(i)


def test_a_multi_target_sample_is_collated_position_by_position():
    # PyTorch 2.13: y1 = tensor([0, 1]), y2 = tensor([0, 1]) for the first batch
    ds = _Samples(lambda i: (ac.ones(2) * i, (i % 2, i % 3)))
    for workers in (0, 1):
        batches = list(ac.data.DataLoader(ds, batch_size=2, num_workers=workers))
        (x, (y1, y2)), (_, (z1, z2)) = batches
        assert x.shape == (2, 2) and x.dtype == np.float32
        assert y1.tolist() == [0, 1] and y2.tolist() == [0, 1]
        assert z1.tolist() == [0, 1] and z2.tolist() == [2, 0]
        assert y1.dtype == np.int64
    x, labels = next(iter(ac.data.DataLoader(_Samples(lambda i: (ac.ones(2), [i, 10 * i])),
                                             batch_size=4)))
    assert isinstance(labels, list) and [t.tolist() for t in labels] == [[0, 1, 2, 3],
                                                                         [0, 10, 20, 30]]


def test_a_dataset_of_bare_tensors_gives_tensor_batches():
    ds = _Samples(lambda i: ac.ones(2) * i, n=3)
    x = next(iter(ac.data.DataLoader(ds, batch_size=3)))
    assert isinstance(x, ac.Tensor) and x.shape == (3, 2) and len(x) == 3
    assert ac.nn.Linear(2, 1)(x).shape == (3, 1)
    seen = []
    ac.data.DataLoader(ds, batch_size=3, collate_fn=seen.extend).__iter__().__next__()
    assert all(isinstance(s, ac.Tensor) and s.shape == (2,) for s in seen)   # not 1-tuples
    doubled = next(iter(ac.data.DataLoader(ds, batch_size=3, transform=lambda t: t * 2)))
    assert doubled[:, 0].tolist() == [0.0, 2.0, 4.0]


def test_dict_namedtuple_and_string_samples_keep_their_structure():
    from collections import namedtuple
    Pair = namedtuple("Pair", "image label")
    batch = next(iter(ac.data.DataLoader(
        _Samples(lambda i: {"image": np.full((1, 2), i, np.float32), "name": f"s{i}",
                            "meta": {"id": i}}), batch_size=2)))
    assert set(batch) == {"image", "name", "meta"}
    assert batch["image"].shape == (2, 1, 2) and batch["name"] == ["s0", "s1"]
    assert batch["meta"]["id"].tolist() == [0, 1]
    pairs = next(iter(ac.data.DataLoader(_Samples(lambda i: Pair(np.zeros(3), i)),
                                         batch_size=4)))
    assert type(pairs) is Pair and pairs.image.shape == (4, 3) and pairs.label.tolist() == [0, 1, 2, 3]
    with pytest.raises(TypeError, match="cannot batch the samples of type object"):
        next(iter(ac.data.DataLoader(_Samples(lambda i: object()), batch_size=2)))


def test_default_collate_gives_tensors_with_pytorchs_dtypes():
    # PyTorch 2.13: Python floats -> float64, ints -> int64, bools -> bool; arrays keep theirs
    x, y, flag, f16 = ac.data.default_collate(
        [(0.5, 1, True, np.zeros(2, np.float16)), (1.5, 2, False, np.ones(2, np.float16))])
    assert all(isinstance(t, ac.Tensor) for t in (x, y, flag, f16))
    assert (x.dtype, y.dtype, flag.dtype, f16.dtype) == (np.float64, np.int64, np.bool_,
                                                         np.float16)
    with pytest.raises(ValueError, match=r"field 0 of the samples have different shapes"):
        ac.data.default_collate([(np.zeros(2),), (np.zeros(3),)])


def test_an_op_given_a_tuple_of_tensors_refuses_it_instead_of_stacking_it():
    # PyTorch: "linear(): argument 'input' must be Tensor, not tuple"
    x = ac.ones(3, 2)
    with pytest.raises(TypeError, match="tuple of 1 element.*holding tensors"):
        ac.nn.Linear(2, 1)((x,))
    with pytest.raises(TypeError, match="list of 2 element.*holding tensors"):
        ac.exp([x, x])
    assert ac.exp([0.0, 0.0]).tolist() == [1.0, 1.0]   # numbers in a list: still a tensor


# ---- a batch whose every target is ignored ------------------------------------------------------


@pytest.mark.parametrize("loss_fn", [
    lambda x, y: ac.nn.functional.cross_entropy(x, y, ignore_index=255),
    lambda x, y: ac.nn.functional.cross_entropy(x, y, ignore_index=255, label_smoothing=0.1),
    lambda x, y: ac.nn.functional.nll_loss(x.log_softmax(1), y, ignore_index=255),
], ids=["cross_entropy", "label_smoothing", "nll_loss"])
def test_an_all_ignored_batch_has_a_nan_loss_and_zero_gradients(loss_fn):
    # PyTorch 2.13: loss nan, gradient 0 everywhere, so an SGD step changes nothing
    ac.manual_seed(0)
    model = ac.nn.Linear(3, 4).double()
    before = [p.detach().numpy().copy() for p in model.parameters()]
    opt = ac.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss = loss_fn(model(ac.randn(5, 3, dtype="float64")), ac.tensor([255] * 5))
    assert math.isnan(loss.item())
    loss.backward()
    assert all(not p.grad.numpy().any() for p in model.parameters())
    opt.step()
    assert all(np.array_equal(p.detach().numpy(), b) for p, b in zip(model.parameters(), before))


def test_all_counted_targets_of_weight_zero_give_nan_gradients_as_pytorch():
    x = f64(np.linspace(-1, 1, 12).reshape(3, 4), requires_grad=True)
    w = f64([1.0, 0.0, 0.0, 0.0])
    loss = ac.nn.functional.cross_entropy(x, ac.tensor([1, 2, 255]), weight=w, ignore_index=255)
    loss.backward()
    # PyTorch 2.13: nan for the two counted samples (0 / 0), 0 for the ignored one
    assert np.isnan(x.grad.numpy()[:2]).all() and not x.grad.numpy()[2].any()


def test_a_captured_loss_gives_zero_gradients_for_an_all_ignored_batch_too():
    model = ac.nn.Linear(3, 4)
    step = ac.compile(lambda x, y: ac.nn.functional.cross_entropy(model(x), y, ignore_index=9),
                      fullgraph=True)
    x = ac.randn(5, 3)
    for _ in range(3):                            # record, check, then replay
        step(x, ac.tensor([0, 1, 2, 3, 0])).backward()
    model.zero_grad()
    loss = step(x, ac.tensor([9] * 5))
    assert math.isnan(loss.item())
    loss.backward()
    assert all(not p.grad.numpy().any() for p in model.parameters())


def test_cat_and_stack_promote_dtypes_as_pytorch():
    # PyTorch 2.13: int64 with float32 -> float32 (numpy's concatenate gives float64)
    i64, f32 = ac.tensor([1, 2]), ac.tensor([0.5], dtype="float32", requires_grad=True)
    out = ac.cat([i64, f32])
    assert out.dtype == np.float32 and out.tolist() == [1.0, 2.0, 0.5]
    assert ac.stack([ac.tensor(1), ac.tensor(2.5, dtype="float64")]).dtype == np.float64
    assert ac.cat([ac.tensor([1], dtype="int32"), ac.tensor([2], dtype="uint8")]).dtype == np.int32
    assert ac.cat([ac.tensor([True]), ac.tensor([2])]).dtype == np.int64
    assert ac.cat([ac.tensor([1.0], dtype="float16"), ac.tensor([2])]).dtype == np.float16
    w = f64([1.0, 2.0], requires_grad=True)
    mixed = ac.stack([w, ac.tensor([3.0, 4.0], dtype="float32", requires_grad=True)])
    assert mixed.dtype == np.float64
    (mixed * f64([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert w.grad.tolist() == [1.0, 2.0]
    (out * 2).sum().backward()
    assert f32.grad.dtype == np.float32 and f32.grad.tolist() == [2.0]


# ---- the legacy constructor ac.Tensor(...) ------------------------------------------------------


def test_the_legacy_tensor_constructor_takes_sizes_and_gives_float32_from_python_data():
    # PyTorch 2.13: torch.Tensor([1, 2]) is float32; torch.Tensor(3, 4) an uninitialised 3x4
    assert ac.Tensor([1, 2]).dtype == np.float32 and ac.Tensor([1, 2]).tolist() == [1.0, 2.0]
    assert ac.Tensor([True, False]).tolist() == [1.0, 0.0]
    assert ac.Tensor((2, 3)).tolist() == [2.0, 3.0]          # a plain tuple is data
    t = ac.Tensor(3, 4)
    assert t.shape == (3, 4) and t.dtype == np.float32
    assert ac.Tensor(ac.Size([2, 5])).shape == (2, 5) and ac.Tensor().shape == (0,)
    assert ac.Tensor(2, 3, dtype="float64").dtype == np.float64
    # the custom-layer idiom of many tutorials
    weight = ac.nn.Parameter(ac.Tensor(8, 4))
    ac.nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
    assert weight.shape == (8, 4) and np.isfinite(weight.detach().numpy()).all()
    # a numpy array keeps its dtype (a difference from PyTorch, in the README)
    assert ac.Tensor(np.arange(3)).dtype == np.int64
    with pytest.raises(TypeError, match="non-negative ints as the sizes"):
        ac.Tensor(2, -1)
    with pytest.raises(TypeError, match="non-negative ints as the sizes"):
        ac.Tensor([1], [2])


# ---- names PyTorch scripts call by habit --------------------------------------------------------


def test_value_tests_logical_ops_and_counts_as_pytorch():
    x = ac.tensor([[1.0, float("nan")], [float("inf"), 0.0]])
    assert ac.isnan(x).tolist() == [[False, True], [False, False]]
    assert x.isinf().tolist() == [[False, False], [True, False]]
    assert ac.isfinite(x).tolist() == [[True, False], [False, True]]
    assert bool(ac.isnan(ac.tensor(float("nan"))))            # the loss check of many loops
    assert ac.logical_and(ac.tensor([1, 0, 2]), ac.tensor([True, True, False])).tolist() == \
        [True, False, False]
    assert ac.logical_or(ac.tensor([0, 0]), 1).tolist() == [True, True]
    assert ac.logical_xor(ac.tensor([1, 0]), ac.tensor([1, 1])).tolist() == [False, True]
    m = ac.tensor([[0, 1], [2, 0]])
    # PyTorch 2.13: tensor([[0, 1], [1, 0]]), and (tensor([0, 1]), tensor([1, 0]))
    assert m.nonzero().tolist() == [[0, 1], [1, 0]] and m.nonzero().dtype == np.int64
    assert [t.tolist() for t in ac.nonzero(m, as_tuple=True)] == [[0, 1], [1, 0]]
    assert ac.count_nonzero(m).item() == 2 and m.count_nonzero(dim=0).tolist() == [1, 1]
    assert ac.finfo(ac.float32).eps == np.float32(2 ** -23) and ac.iinfo(ac.int64).max == 2 ** 63 - 1


def test_tensor_introspection_methods_as_pytorch():
    x = ac.ones(2, 3, dtype="float64")
    assert x.is_floating_point() and not ac.tensor([1]).is_floating_point()
    assert x.nelement() == 6 and x.ndimension() == 2 and x.element_size() == 8
    assert x.is_contiguous() and not x.t().is_contiguous()
    assert ac.tensor([1, 2]).type_as(x).dtype == np.float64
    assert ac.ones(4, 2, 3).mT.shape == (4, 3, 2)
    with pytest.raises(RuntimeError, match="only supported on matrices"):
        ac.ones(3).mT


def test_padding_and_distance_modules_as_pytorch():
    x = ac.tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    # PyTorch 2.13: ZeroPad2d((1, 0, 0, 1)) -> [[0, 0, 1, 2], [0, 3, 4, 5], [0, 0, 0, 0]]
    assert ac.nn.ZeroPad2d((1, 0, 0, 1))(x)[0, 0].tolist() == [[0, 0, 1, 2], [0, 3, 4, 5],
                                                                [0, 0, 0, 0]]
    assert ac.nn.ReflectionPad2d((1, 1, 0, 0))(x)[0, 0].tolist() == [[1, 0, 1, 2, 1],
                                                                     [4, 3, 4, 5, 4]]
    assert ac.nn.ReplicationPad2d((0, 1, 1, 0))(x)[0, 0].tolist() == [[0, 1, 2, 2], [0, 1, 2, 2],
                                                                      [3, 4, 5, 5]]
    assert ac.nn.ConstantPad2d(1, -1.0)(x).shape == (1, 1, 4, 5)
    assert repr(ac.nn.ZeroPad2d(2)) == "ZeroPad2d((2, 2, 2, 2))"
    with pytest.raises(TypeError, match="left, right, top, bottom"):
        ac.nn.ZeroPad2d((1, 2))
    cos = ac.nn.CosineSimilarity(dim=1)(ac.tensor([[1.0, 0.0], [1.0, 1.0]]),
                                        ac.tensor([[0.0, 2.0], [2.0, 2.0]]))
    assert np.allclose(cos.numpy(), [0.0, 1.0])
    d = ac.nn.PairwiseDistance()(ac.tensor([[0.0, 0.0]]), ac.tensor([[3.0, 4.0]]))
    assert np.allclose(d.numpy(), [5.0], atol=1e-5)


def test_trunc_normal_and_orthogonal_initialisers():
    ac.manual_seed(0)
    w = ac.nn.Parameter(ac.Tensor(400, 50))
    ac.nn.init.trunc_normal_(w, std=0.02, a=-0.04, b=0.04)
    v = w.detach().numpy()
    assert v.min() >= -0.04 and v.max() <= 0.04
    assert abs(v.std() - 0.0176) < 0.001            # the std of N(0, 0.02^2) cut at 2 sigma
    q = ac.nn.Parameter(ac.Tensor(3, 2, 4))
    ac.nn.init.orthogonal_(q, gain=2.0)
    m = q.detach().numpy().reshape(3, 8)
    assert np.allclose(m @ m.T, 4 * np.eye(3), atol=1e-5)
    with pytest.raises(ValueError, match="2 or more dims"):
        ac.nn.init.orthogonal_(ac.nn.Parameter(ac.Tensor(3)))
    with pytest.raises(ValueError, match="must be less than"):
        ac.nn.init.trunc_normal_(w, a=1.0, b=0.0)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_modes_pad_the_input_as_pytorch(mode):
    # PyTorch: F.pad(x, reversed padding twice, mode) then the convolution without padding
    ac.manual_seed(0)
    conv = ac.nn.Conv2d(2, 3, (3, 4), padding=(2, 1), padding_mode=mode).double()
    x = ac.randn(2, 2, 6, 7, dtype="float64", requires_grad=True)
    want = ac.nn.functional.conv2d(ac.nn.functional.pad(x, (1, 1, 2, 2), mode=mode),
                                   conv.weight, conv.bias)
    assert np.allclose(conv(x).detach().numpy(), want.detach().numpy(), rtol=0, atol=1e-12)
    assert f"padding_mode={mode}" in repr(conv)
    same = ac.nn.Conv2d(2, 3, (3, 4), padding="same", padding_mode=mode).double()
    assert same(x).shape == (2, 3, 6, 7)
    ac.gradcheck(lambda t: conv(t).sum(), (x,))
    assert ac.nn.Conv1d(2, 3, 3, padding=1, padding_mode=mode)(ac.randn(1, 2, 5)).shape == \
        (1, 3, 5)


def test_a_hand_written_adam_step_with_pytorchs_in_place_calls():
    # the update of many tutorials: exp_avg.mul_(b1).add_(g, alpha=1 - b1);
    # exp_avg_sq.mul_(b2).addcmul_(g, g, value=1 - b2); p.addcdiv_(exp_avg, denom, value=-lr)
    p = f64([1.0, -2.0], requires_grad=True)
    g = f64([0.5, 0.25])
    m, v = ac.zeros(2, dtype="float64"), ac.zeros(2, dtype="float64")
    with ac.no_grad():
        m.mul_(0.9).add_(g, alpha=0.1)
        v.mul_(0.999).addcmul_(g, g, value=0.001)
        denom = (v.sqrt() / math.sqrt(0.001)).add_(1e-8)
        p.addcdiv_(m, denom, value=-0.01 / 0.1)
    assert np.allclose(p.detach().numpy(), [0.99, -2.01], atol=1e-7)
    x = f64([0.0, 4.0])
    assert x.clone().lerp_(f64([2.0, 0.0]), 0.25).tolist() == [0.5, 3.0]
    assert x.clone().clamp_min_(1.0).tolist() == [1.0, 4.0]
    assert ac.add(x, x, alpha=3).tolist() == [0.0, 16.0]


def test_axis_randint_where_bernoulli_normal_and_var_mean_as_pytorch():
    x = f64([[1.0, 2.0], [3.0, 5.0]])
    assert x.sum(axis=0).tolist() == [4.0, 7.0] and x.mean(axis=1).tolist() == [1.5, 4.0]
    with pytest.raises(TypeError, match="both dim= and axis="):
        x.sum(dim=0, axis=0)
    r = ac.randint(3, (50,))                     # torch.randint(high, size)
    assert r.dtype == np.int64 and r.min().item() >= 0 and r.max().item() < 3
    rows, cols = ac.where(x > 2)                 # torch.where(cond): nonzero(as_tuple=True)
    assert rows.tolist() == [1, 1] and cols.tolist() == [0, 1]
    ac.manual_seed(0)
    b = ac.bernoulli(ac.full((1000,), 0.3))
    assert b.dtype == np.float32 and set(np.unique(b.numpy())) <= {0.0, 1.0}
    assert 0.25 < b.mean().item() < 0.35
    assert ac.normal(2.0, 0.5, size=(3, 4)).shape == (3, 4)
    n = ac.normal(ac.zeros(1000, dtype="float64"), 2.0)
    assert n.dtype == np.float64 and 1.8 < n.std().item() < 2.2
    var, mean = ac.var_mean(f64([1.0, 2.0, 4.0]))
    assert np.isclose(var.item(), 7 / 3) and np.isclose(mean.item(), 7 / 3)


def test_optimisers_take_pytorchs_implementation_switches_and_named_parameters():
    model = ac.nn.Linear(3, 2)
    for opt in (ac.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, foreach=True),
                ac.optim.Adam(model.parameters(), fused=True, capturable=False),
                ac.optim.AdamW(model.parameters(), foreach=False, fused=None),
                ac.optim.RMSprop(model.parameters(), foreach=None)):
        model(ac.ones(4, 3)).sum().backward()
        opt.step()
        opt.zero_grad()
    with pytest.raises(ValueError, match="differentiable=True"):
        ac.optim.Adam(model.parameters(), differentiable=True)
    with pytest.raises(TypeError, match="fused must be None, True or False"):
        ac.optim.SGD(model.parameters(), lr=0.1, fused="yes")
    # PyTorch 2.x: named_parameters() as the params, the names kept in 'param_names'
    opt = ac.optim.SGD(model.named_parameters(), lr=0.1)
    assert opt.param_groups[0]["param_names"] == ["weight", "bias"]
    assert opt.param_groups[0]["params"][0] is model.weight


def test_a_parameter_listed_twice_in_one_group_is_refused():
    # PyTorch warns and then updates it twice per step; here it is an error
    w = ac.nn.Parameter(ac.ones(2))
    with pytest.raises(ValueError, match="appears twice in one group"):
        ac.optim.SGD([w, w], lr=0.1)


def test_median_is_the_lower_median_with_nan_first_as_pytorch():
    # PyTorch 2.13: median of [3, 1, 2, 4] is 2 (no average); a row with NaN gives NaN and the
    # NaN's index
    assert ac.tensor([3.0, 1.0, 2.0, 4.0]).median().item() == 2.0
    values, indices = ac.tensor([[5.0, 1.0, 3.0, 2.0], [float("nan"), 0.0, 1.0, 2.0]]).median(1)
    assert values.tolist()[0] == 2.0 and math.isnan(values.tolist()[1])
    assert indices.tolist() == [3, 0]
    with pytest.raises(ac.ShapeError, match="empty"):
        ac.zeros(0).median()
