"""Tensor basics and autograd semantics (PyTorch's, see DESIGN.md)."""

import gc
import sys
import weakref

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
import autograd_cnn.nn.functional as NF


# ---- construction and dtypes -------------------------------------------------------------------


def test_default_dtypes():
    assert ac.tensor([1.0, 2.0]).dtype == np.float32
    assert ac.tensor([1, 2]).dtype == np.int64
    assert ac.tensor([True]).dtype == np.bool_
    assert ac.tensor(np.zeros(2)).dtype == np.float64          # given float64 stays float64
    assert ac.tensor([1.0], dtype=ac.float64).dtype == np.float64
    assert ac.zeros(2, 3).dtype == np.float32 and ac.zeros(2, 3).shape == (2, 3)
    assert ac.ones((2, 3), dtype="float64").dtype == np.float64
    assert ac.arange(5).dtype == np.int64 and ac.arange(0.0, 1.0, 0.25).shape == (4,)
    assert ac.eye(3)._data.trace() == 3
    assert ac.full((2,), 7.0).tolist() == [7.0, 7.0]


def test_tensor_copies_from_numpy_shares():
    a = np.zeros(3)
    t, s = ac.tensor(a), ac.from_numpy(a)
    a[0] = 5
    assert t._data[0] == 0 and s._data[0] == 5


def test_like_constructors_and_seeded_random():
    x = ac.tensor(np.ones((2, 3), dtype=np.float64))
    assert ac.zeros_like(x).dtype == np.float64 and ac.ones_like(x).shape == (2, 3)
    ac.manual_seed(7)
    a = ac.randn(3, 4)
    ac.manual_seed(7)
    b = ac.randn(3, 4)
    np.testing.assert_array_equal(a._data, b._data)
    assert a.dtype == np.float32
    r = ac.rand(1000)
    assert 0 <= r._data.min() and r._data.max() < 1


def test_properties():
    x = ac.randn(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.size() == (2, 3, 4) and x.size(-1) == 4
    assert x.numel() == 24 and len(x) == 2
    assert x.T.shape == (4, 3, 2)
    assert ac.tensor([[3.5]]).item() == 3.5
    assert x.is_leaf and not x.requires_grad


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        ac.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating"):
        ac.tensor([1, 2]).requires_grad_()


def test_bad_data_is_type_error():
    with pytest.raises(TypeError, match="str"):
        ac.tensor("abc")
    with pytest.raises(TypeError):
        ac.tensor([1.0, "a"])


def test_repr_is_readable():
    assert repr(ac.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    r = repr(ac.tensor([1.0], requires_grad=True) * 2)
    assert "op='mul'" in r
    assert "dtype=float64" in repr(ac.tensor(np.zeros(2)))
    big = repr(ac.zeros(1000))
    assert "..." in big and len(big) < 200


def test_numpy_refused_while_requiring_grad():
    x = ac.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    assert x.detach().numpy()[0] == 1.0


def test_functional_is_nn_functional():
    assert F is NF


# ---- autograd semantics ------------------------------------------------------------------------


def test_implicit_gradient_only_for_one_element():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"one-element.*\(2,\)"):
        (x * 2).backward()
    (x * 2).backward(ac.tensor([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad._data, [2.0, 20.0])


def test_backward_on_tensor_without_graph():
    with pytest.raises(RuntimeError, match="does not require grad"):
        ac.tensor([1.0]).sum().backward()


def test_gradient_shape_checked():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        (x * 2).backward(np.ones(3))


def test_grads_accumulate_across_calls_and_only_on_leaves():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    (h * h).sum().backward()
    np.testing.assert_allclose(x.grad._data, 18 * x._data)
    assert h.grad is None
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad._data, 18 * x._data + 3)


def test_retain_grad_on_non_leaf():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad._data, 2 * h._data)


def test_second_backward_through_freed_graph_says_retain_graph():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(x.grad._data, 2 * np.exp(x._data) * 3, rtol=1e-6)


def test_saved_arrays_released_after_backward():
    x = ac.tensor(np.linspace(-1, 1, 6), requires_grad=True)
    y = x.var()             # saves the centred input, an array nobody else holds
    centred = y._saved[2]
    ref = weakref.ref(centred)
    del centred
    gc.collect()
    assert ref() is not None          # alive while the graph may still need it
    y.backward()
    gc.collect()
    assert ref() is None              # freed by backward
    # the link to a leaf stays (a parameter holds no activation), so the graph can be drawn
    assert y._saved is None and len(y._parents) == 1 and y._parents[0] is x


def test_intermediate_activations_freed_during_backward():
    x = ac.tensor(np.ones(4), requires_grad=True)
    h = x * 2
    ref = weakref.ref(h._data)
    y = h.exp().sum()
    del h
    gc.collect()
    assert ref() is not None
    y.backward()
    gc.collect()
    assert ref() is None


def test_no_grad_outputs_hold_no_parents():
    x = ac.tensor([1.0], requires_grad=True)
    with ac.no_grad():
        y = x * 2 + 1
    assert not y.requires_grad and y._parents == () and y.is_leaf


def test_ac_grad_leaves_dot_grad_untouched():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    w = ac.tensor([3.0, 4.0], requires_grad=True)
    y = (x * w).sum()
    gx, gw = ac.grad(y, [x, w])
    np.testing.assert_array_equal(gx._data, [3.0, 4.0])
    np.testing.assert_array_equal(gw._data, [1.0, 2.0])
    assert x.grad is None and w.grad is None


def test_ac_grad_grad_outputs_and_unused():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    unused = ac.tensor([1.0], requires_grad=True)
    y = x * x
    (g,) = ac.grad(y, x, grad_outputs=ac.tensor([1.0, -1.0]), retain_graph=True)
    np.testing.assert_array_equal(g._data, [2.0, -4.0])
    with pytest.raises(RuntimeError, match="not used"):
        ac.grad(y.sum(), [x, unused], retain_graph=True)
    gx, gu = ac.grad(y.sum(), [x, unused], allow_unused=True)
    assert gu is None


def test_inplace_on_tensor_requiring_grad_refused():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="add_.*requires grad.*no_grad"):
        x.add_(1.0)
    with ac.no_grad():
        x.add_(1.0)
    np.testing.assert_array_equal(x._data, [2.0, 3.0])


def test_inplace_change_of_saved_input_detected_naming_op():
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    x = ac.tensor([3.0, 4.0])
    y = (w * x).sum()
    x.mul_(10)                       # x is needed by mul's backward (dL/dw = x)
    with pytest.raises(RuntimeError, match="'mul'.*modified by an in-place"):
        y.backward()


def test_inplace_change_of_an_ops_saved_output_detected_naming_op():
    # exp's backward multiplies by its own output: changing that output would silently give
    # 2x the gradient
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    with ac.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="'exp': its output was modified by an in-place"):
        y.backward(ac.ones(2))
    assert x.grad is None
    # a later op that read y names y's own op as the one that changed
    y = x.exp()
    s = y.sum()
    with ac.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"'sum': its input \(the result of 'exp'\) was "
                                           r"modified"):
        s.backward()


def test_optimizer_style_update_between_forward_and_backward_detected():
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with ac.no_grad():
        w.sub_(0.1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_setitem_is_inplace_with_rules():
    x = ac.zeros(3)
    x[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]
    y = ac.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="requires grad"):
        y[0] = 1.0


def test_register_hook_sees_and_replaces_gradient():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x * 2
    h.register_hook(lambda g: seen.append(g._data.copy()))
    handle = x.register_hook(lambda g: g * 10)
    (h * 1.5).sum().backward()
    np.testing.assert_array_equal(seen[0], [1.5, 1.5])
    np.testing.assert_array_equal(x.grad._data, [30.0, 30.0])
    handle.remove()
    x.grad = None
    (x * 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad._data, [1.0, 1.0])


def test_hundred_thousand_op_chain_at_default_recursion_limit():
    assert sys.getrecursionlimit() <= 10_000
    x = ac.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    y.sum().backward()
    assert x.grad.item() == 1.0 and y.item() == 100_001.0


def test_python_scalars_on_either_side():
    x = ac.tensor([2.0], requires_grad=True)
    y = 2.0 ** x + 3 - x / 4 + 1 / x + 2 * x
    y.backward()
    expected = np.log(2) * 4 - 0.25 - 1 / 4 + 2
    np.testing.assert_allclose(x.grad._data, [expected], rtol=1e-6)
    assert (2.0 ** x).dtype == np.float32


def test_numpy_on_the_left_defers_to_tensor():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, ac.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 4.0])


def test_max_with_dim_returns_values_and_indices():
    x = ac.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[0, 1, 0], [1, 0, 0]])


def test_whole_max_shares_gradient_among_ties():
    x = ac.tensor([3.0, 1.0, 3.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad._data, [0.5, 0.0, 0.5])


def test_var_std_unbiased_by_default():
    x = ac.tensor([1.0, 2.0, 3.0, 4.0])
    assert np.isclose(x.var().item(), np.var(x._data, ddof=1))
    assert np.isclose(x.std(unbiased=False).item(), np.std(x._data))
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert np.isnan(ac.tensor([1.0]).var().item())     # as PyTorch


def test_argmax_argmin():
    x = ac.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    assert x.argmax().item() == 3 and x.argmax(dim=1).tolist() == [1, 0]
    assert x.argmin(dim=0, keepdim=True).tolist() == [[0, 1, 0]]


def test_getitem_repeated_indices_accumulate():
    x = ac.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[[0, 0, 2, 0]].sum().backward()
    np.testing.assert_array_equal(x.grad._data, [3.0, 0.0, 1.0])


def test_index_with_int_tensor_and_bool_mask():
    x = ac.tensor([[1.0, -2.0], [3.0, -4.0]], requires_grad=True)
    picked = x[ac.tensor([1, 0])]
    assert picked.tolist() == [[3.0, -4.0], [1.0, -2.0]]
    masked = x[x > 0]
    assert masked.tolist() == [1.0, 3.0]
    masked.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [[1, 0], [1, 0]])


def test_split_and_cat_roundtrip_gradients():
    x = ac.tensor(np.arange(10.0), requires_grad=True)
    parts = x.split(3)
    assert [p.shape for p in parts] == [(3,), (3,), (3,), (1,)]
    y = ac.cat([parts[3], parts[0] * 2])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, [2, 2, 2, 0, 0, 0, 0, 0, 0, 1])


def test_log_softmax_is_exact_for_huge_logits():
    out = F.log_softmax(ac.tensor([[1000.0, -1000.0, 0.0]]), dim=1)
    assert out.tolist() == [[0.0, -2000.0, -1000.0]]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cross_entropy_style_on_enormous_logits_stays_finite(dtype):
    logits = ac.tensor([[1e30, -1e30, 0.0], [-1e30, 1e30, 5.0]], dtype=dtype,
                       requires_grad=True)
    target = ac.tensor([[0], [2]])
    logp = F.log_softmax(logits, dim=1)
    loss = -F.gather(logp, 1, target).mean()
    loss.backward()
    assert np.isfinite(loss.item())
    assert np.all(np.isfinite(logits.grad._data))
    np.testing.assert_allclose(logits.grad._data[0], [0.0, 0.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(logits.grad._data[1], [0.0, 0.5, -0.5], atol=1e-12)


def test_sigmoid_and_softplus_do_not_overflow():
    x = ac.tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    s = x.sigmoid()
    np.testing.assert_allclose(s._data, [0.0, 0.5, 1.0])
    (s.sum() + F.softplus(x).sum()).backward()
    assert np.all(np.isfinite(x.grad._data))


def test_error_messages_name_both_shapes():
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) cannot be "
                                         r"multiplied \(3 != 4\)"):
        ac.zeros(2, 3) @ ac.zeros(4, 5)
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(7,\)"):
        ac.zeros(2, 3).reshape(7)
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(2, 4\)"):
        ac.cat([ac.zeros(2, 3), ac.zeros(2, 4)], dim=0)
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        ac.zeros(2, 3).sum(dim=3)
    with pytest.raises(ValueError, match="broadcast"):
        ac.zeros(2, 3, 4) @ ac.zeros(5, 4, 2)


def test_binary_op_with_unsupported_type():
    with pytest.raises(TypeError, match="str"):
        ac.zeros(2) + "a"


def test_cast_differentiable_between_float_dtypes():
    x = ac.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad._data, [3.0, 3.0])
    assert x.long().dtype == np.int64 and not x.long().requires_grad


def test_detach_and_clone():
    x = ac.tensor([1.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d._data is x._data
    c = x.clone()
    assert c._data is not x._data
    (c * 2).sum().backward()
    assert x.grad.item() == 2.0
