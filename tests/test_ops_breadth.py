"""The ops of issue 19 beyond what the op registry checks: integer semantics, index rules,
boundary gradients, errors, and values computed by PyTorch 2.13 (written in, torch not needed).
Forward/backward/gradcheck of every differentiable one is in tests/op_cases.py."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
import autograd_cnn.nn as nn

A = [5, -5, 5, -5]
B = [3, 3, -3, -3]


# ---- rounding division, remainders, rounding ---------------------------------------------------


def test_integer_division_and_remainders_follow_pytorch():
    a, b = ac.tensor(A), ac.tensor(B)
    assert (a // b).tolist() == [1, -2, -2, 1] and (a // b).dtype == np.int64
    assert (a % b).tolist() == [2, 1, -1, -2]                      # the divisor's sign
    assert F.fmod(a, b).tolist() == [2, -2, 2, -2]                 # the dividend's sign
    assert F.div(a, b, rounding_mode="trunc").tolist() == [1, -1, -1, 1]
    assert F.div(a, b, rounding_mode="floor").tolist() == [1, -2, -2, 1]
    assert a.div(b).dtype == np.float32                             # true division
    assert (7 // ac.tensor([2, -2])).tolist() == [3, -4] and (7.5 % ac.tensor([2])).tolist() == [1.5]
    assert (ac.tensor([5, 6]) // 2.0).dtype == np.float32


def test_float_division_by_zero_is_ieee_and_integer_division_by_zero_raises():
    x = ac.tensor([5.0, -5.0])
    assert (x // 0).tolist() == [np.inf, -np.inf]
    assert np.isnan((x % 0).numpy()).all() and np.isnan(F.fmod(x, 0).numpy()).all()
    for op in (lambda t: t // 0, lambda t: t % 0, lambda t: F.fmod(t, 0),
               lambda t: F.div(t, 0, rounding_mode="trunc")):
        with pytest.raises(ZeroDivisionError, match="integer division by zero"):
            op(ac.tensor([7, -7]))


def test_rounded_division_rejects_bool_and_unknown_rounding_mode():
    with pytest.raises(TypeError, match="rounded division is not defined for bool tensors"):
        ac.tensor([True]) // ac.tensor([True])
    with pytest.raises(ValueError, match="rounding_mode must be None, 'trunc' or 'floor', got 'x'"):
        F.div(ac.tensor([1.0]), 2, rounding_mode="x")


def test_floor_divide_has_no_derivative_but_div_floor_has_zero_gradient():
    a = ac.tensor([5.5, -5.5], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"floor_divide \(//\): its derivative is not implemented"):
        (a // 2).sum().backward()
    F.div(a, 2, rounding_mode="floor").sum().backward()
    assert a.grad.tolist() == [0.0, 0.0]


def test_remainder_and_fmod_gradients_match_pytorch():
    a = ac.tensor([5.5, -5.5, 3.0], dtype="float64", requires_grad=True)
    b = ac.tensor([2.0, 2.0, -2.0], dtype="float64", requires_grad=True)
    F.fmod(a, b).sum().backward()
    assert a.grad.tolist() == [1, 1, 1] and b.grad.tolist() == [-2, 2, 1]
    a.grad = b.grad = None
    (a % b).sum().backward()
    assert a.grad.tolist() == [1, 1, 1] and b.grad.tolist() == [-2, 3, 2]


def test_rounding_halves_to_even_and_keeps_integer_tensors():
    x = ac.tensor([-2.5, -1.5, 0.5, 1.5, 2.5])
    assert x.round().tolist() == [-2, -2, 0, 2, 2]
    np.testing.assert_allclose(ac.tensor([1.2345, -2.675]).round(decimals=2).numpy(),
                               [1.23, -2.68], rtol=1e-6)
    i = ac.tensor([1, 2])
    for op in ("floor", "ceil", "round", "trunc"):
        out = getattr(i, op)()
        assert out.dtype == np.int64 and out.tolist() == [1, 2]
    assert ac.tensor([-1.5, 1.5]).trunc().tolist() == [-1, 1]
    assert ac.tensor([-1.5, 1.5]).ceil().tolist() == [-1, 2]


def test_inplace_rounding_division_and_bitwise_forms():
    x = ac.tensor([7, -7, 12])
    x //= 2
    assert x.tolist() == [3, -4, 6]
    x %= 4
    assert x.tolist() == [3, 0, 2]
    x &= 6
    assert x.tolist() == [2, 0, 2]
    x |= 1
    assert x.tolist() == [3, 1, 3]
    x ^= 2
    assert x.tolist() == [1, 3, 1]
    y = ac.tensor([1.7, -1.2])
    assert y.floor_().tolist() == [1, -2] and y.tolist() == [1, -2]
    z = ac.tensor([7.0, -7.0])
    z.div_(2, rounding_mode="trunc")
    assert z.tolist() == [3.0, -3.0]
    with pytest.raises(TypeError, match="cannot be stored in place into a tensor of dtype int64"):
        ac.tensor([1, 2]).div_(2)


def test_bitwise_ops_on_int_and_bool_tensors_only():
    assert (ac.tensor([3, 5]) & 1).tolist() == [1, 1]
    assert (ac.tensor([True, False]) | ac.tensor([False, False])).tolist() == [True, False]
    assert (ac.tensor([True, False]) ^ True).dtype == np.bool_
    assert (ac.tensor([3, 5]) ^ True).dtype == np.int64
    assert (6 & ac.tensor([3, 5])).tolist() == [2, 4]
    with pytest.raises(TypeError, match=r"bitwise_and \(&\): expected integer or bool tensors, "
                                        r"got dtype float32"):
        ac.tensor([1.0]) & ac.tensor([1.0])


# ---- special functions and activations (values from PyTorch) ------------------------------------


def test_erf_is_accurate_to_float64():
    x = ac.tensor([-3.0, -0.5, 0.0, 1e-8, 0.7, 2.5], dtype="float64")
    np.testing.assert_allclose(x.erf().numpy(), [-0.9999779095030014, -0.5204998778130465, 0.0,
                                                 1.1283791670955126e-08, 0.6778011938374184,
                                                 0.999593047982555], rtol=1e-15)
    assert ac.tensor([1, 2]).erf().dtype == np.float32


def test_gelu_values_match_pytorch():
    x = ac.tensor([-3.0, -0.5, 0.7, 2.5], dtype="float64")
    np.testing.assert_allclose(F.gelu(x).numpy(), [-0.00404969409489031, -0.15426876936299344,
                                                   0.5306254434438489, 2.4844758366855597],
                               rtol=1e-14)
    np.testing.assert_allclose(F.gelu(x, approximate="tanh").numpy(),
                               [-0.0036373920817729943, -0.15428599017485606,
                                0.5305701347051167, 2.484915733910001], rtol=1e-14)
    # float32: PyTorch gives -0.004050225 at -3 (its float32 erf cancels in 1 + erf); the
    # float64 erf here is closer to the true -0.0040496941
    assert abs(F.gelu(ac.tensor([-3.0])).item() - -0.00404969409489031) < 1e-8
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'erf'"):
        F.gelu(x, approximate="erf")


@pytest.mark.parametrize("fn,values,grads", [
    (F.hardswish, [0.0, 3.0, 0.0, 6.0], [0.0, 1.0, 0.0, 1.0]),
    (F.hardsigmoid, [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]),
    (F.relu6, [0.0, 3.0, 0.0, 6.0], [0.0, 1.0, 0.0, 0.0]),
])
def test_hard_activations_use_pytorchs_boundary_gradients(fn, values, grads):
    a = ac.tensor([-3.0, 3.0, -6.0, 6.0], requires_grad=True)
    y = fn(a)
    y.sum().backward()
    assert y.tolist() == values and a.grad.tolist() == grads


def test_logsigmoid_and_mish_stay_finite_for_large_inputs():
    x = ac.tensor([-1000.0, 1000.0])
    assert F.logsigmoid(x).tolist() == [-1000.0, 0.0]
    assert F.mish(x).tolist() == [-0.0, 1000.0]


@pytest.mark.parametrize("layer,fn", [(nn.SiLU(), F.silu), (nn.Mish(), F.mish),
                                      (nn.Hardswish(), F.hardswish), (nn.ReLU6(), F.relu6),
                                      (nn.Hardsigmoid(), F.hardsigmoid),
                                      (nn.LogSigmoid(), F.logsigmoid),
                                      (nn.Softsign(), F.softsign), (nn.GELU("tanh"),
                                                                    lambda x: F.gelu(x, "tanh"))])
def test_activation_layers_call_their_functional_op(layer, fn):
    x = ac.tensor([-2.0, 0.5, 4.0])
    np.testing.assert_array_equal(layer(x).numpy(), fn(x).numpy())


# ---- cumsum, cumprod, sort, topk --------------------------------------------------------------


def test_cumprod_gradient_is_exact_with_zeros():
    for values, expected in (([2.0, 0.0, 3.0, 0.0, 5.0], [1.0, 22.0, 0.0, 0.0, 0.0]),
                             ([2.0, 0.0, 3.0, 4.0], [1.0, 118.0, 0.0, 0.0])):
        c = ac.tensor(values, dtype="float64", requires_grad=True)
        c.cumprod(0).backward(ac.tensor(np.arange(1.0, len(values) + 1)))
        assert c.grad.tolist() == expected


def test_cumsum_of_integers_is_int64_and_needs_a_dim():
    assert ac.tensor([1, 2], dtype="int32").cumsum(0).dtype == np.int64
    assert ac.tensor([True, True]).cumsum(0).tolist() == [1, 2]
    assert ac.tensor([1.0, 2.0]).cumsum(0, dtype="float64").dtype == np.float64
    with pytest.raises(TypeError):
        ac.tensor([1.0]).cumsum()


def test_sort_is_stable_puts_nan_last_and_returns_named_values_indices():
    v, i = ac.tensor([1, 3, 1, 3, 2]).sort(descending=True, stable=True)
    assert v.tolist() == [3, 3, 2, 1, 1] and i.tolist() == [1, 3, 4, 0, 2]
    s = ac.tensor([1.5, np.nan, -1.0, 2.0]).sort()
    assert s.indices.tolist() == [2, 0, 3, 1] and np.isnan(s.values.numpy()[-1])
    assert ac.tensor([1.5, np.nan, -1.0, 2.0]).sort(descending=True).indices.tolist() == \
        [1, 3, 0, 2]
    assert ac.tensor([3.0, 1.0, 2.0]).argsort().tolist() == [1, 2, 0]
    assert ac.tensor([3.0, 1.0, 2.0]).argsort(descending=True).dtype == np.int64


def test_topk_values_indices_and_range():
    t = ac.tensor([3.0, 1.0, 2.0, 5.0])
    assert t.topk(2).values.tolist() == [5.0, 3.0] and t.topk(2).indices.tolist() == [3, 0]
    assert t.topk(2, largest=False).indices.tolist() == [1, 2]
    with pytest.raises(RuntimeError, match=r"topk: k must be an int in 0 \.\. 4 .*got 5"):
        t.topk(5)


# ---- index ops and PyTorch's index rules ---------------------------------------------------------

X = ac.arange(12.0).reshape(3, 4)


def test_negative_indices_are_out_of_bounds_as_in_pytorch():
    with pytest.raises(IndexError, match=r"gather: index -1 is out of bounds for dimension 1 "
                                         r"with size 4"):
        X.gather(1, ac.tensor([[-1], [0], [0]]))
    with pytest.raises(IndexError, match=r"index_select: index -1 is out of bounds"):
        X.index_select(1, ac.tensor([-1]))
    with pytest.raises(IndexError, match=r"scatter: index 5 is out of bounds for dimension 1"):
        X.scatter(1, ac.tensor([[5]]), 1.0)


def test_index_dtype_and_shape_rules():
    with pytest.raises(TypeError, match="index_select: expected an int64 or int32 index tensor, "
                                        "got dtype float32"):
        X.index_select(1, ac.tensor([1.0]))
    with pytest.raises(IndexError, match=r"index_select: index must be a vector"):
        X.index_select(1, ac.tensor([[1]]))
    assert X.index_select(1, ac.tensor(1)).tolist() == [[1.0], [5.0], [9.0]]
    assert X.index_select(1, ac.tensor([3, 0], dtype="int32")).shape == (3, 2)
    with pytest.raises(ValueError, match=r"scatter: index shape \(2, 3\) must be no larger than "
                                         r"the input \(3, 4\) apart from dimension 1, and no "
                                         r"larger than src \(2, 2\)"):
        X.scatter(1, ac.tensor([[0, 1, 2], [1, 2, 3]]), ac.ones(2, 2))
    with pytest.raises(TypeError, match="scatter: src has dtype float64 but the input has "
                                        "float32"):
        X.scatter(1, ac.tensor([[0]]), ac.ones(1, 1, dtype="float64"))


def test_scatter_forms_match_pytorch():
    z = ac.zeros(3, 5)
    idx = ac.tensor([[0, 4], [1, 2]])
    assert z.scatter(1, idx, ac.arange(1.0, 10.0).reshape(3, 3)).tolist() == \
        [[1, 0, 0, 0, 2], [0, 4, 5, 0, 0], [0, 0, 0, 0, 0]]
    assert z.scatter(1, idx, 2.5).tolist()[1] == [0, 2.5, 2.5, 0, 0]
    assert z.scatter_add(1, ac.tensor([[0, 0], [1, 1], [2, 0]]), ac.ones(3, 2)).tolist() == \
        [[2, 0, 0, 0, 0], [0, 2, 0, 0, 0], [1, 0, 1, 0, 0]]
    assert ac.ones(3, 5).scatter(1, ac.tensor([[0, 0], [1, 1], [2, 0]]), ac.full((3, 2), 2.0),
                                 reduce="multiply").tolist()[2] == [2, 1, 2, 1, 1]
    w = ac.zeros(2, 3)
    w.scatter_(1, ac.tensor([[2], [0]]), 7.0)
    assert w.tolist() == [[0, 0, 7], [7, 0, 0]]


def test_masked_fill_rules():
    mask = ac.tensor([True, False, True, False])
    assert X.masked_fill(mask, ac.tensor(-1.0)).tolist()[0] == [-1, 1, -1, 3]
    assert X.masked_fill(ac.ones(2, 3, 4, dtype="bool"), -1.0).shape == (2, 3, 4)
    assert ac.arange(4).masked_fill(mask, 2.7).tolist() == [2, 1, 2, 3]
    with pytest.raises(TypeError, match="masked_fill: only bool masks are supported, got mask "
                                        "dtype int64"):
        X.masked_fill(ac.tensor([1, 0, 1, 0]), -1.0)
    with pytest.raises(ValueError, match="masked_fill: the value must be a number or a 0-d "
                                         r"tensor, got a tensor of shape \(1,\)"):
        X.masked_fill(mask, ac.tensor([-1.0]))
    v = ac.tensor(2.0, requires_grad=True)
    X.masked_fill(mask, v).sum().backward()
    assert v.grad.item() == 6.0
    m = X.clone()
    m.masked_fill_(mask, 0.0)
    assert m.tolist()[2] == [0, 9, 0, 11]


def test_one_hot():
    assert F.one_hot(ac.tensor([0, 2, 1])).tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert F.one_hot(ac.tensor([[0, 2]]), 4).shape == (1, 2, 4)
    assert F.one_hot(ac.tensor([1])).dtype == np.int64
    with pytest.raises(ValueError, match=r"smaller than num_classes \(4\), got 5"):
        F.one_hot(ac.tensor([0, 5]), 4)
    with pytest.raises(ValueError, match="class values must be non-negative, got -1"):
        F.one_hot(ac.tensor([0, -1]), 4)
    with pytest.raises(TypeError, match="one_hot: expected an int64"):
        F.one_hot(ac.tensor([0.0]), 4)


def test_roll_repeat_interleave_tril_errors_and_forms():
    assert X.roll(1).tolist()[0] == [11, 0, 1, 2]
    with pytest.raises(ValueError, match="roll: shifts and dims must align, got 2 shifts and 1"):
        X.roll((1, 2), (0,))
    assert F.repeat_interleave(ac.tensor([2, 1])).tolist() == [0, 0, 1]
    assert ac.tensor([[1, 2], [3, 4]]).repeat_interleave(ac.tensor([1, 2]), dim=0).tolist() == \
        [[1, 2], [3, 4], [3, 4]]
    with pytest.raises(ValueError, match="repeat_interleave: repeats must have the same size as "
                                         "the input along dim 0, but got 3 repeats for size 2"):
        ac.tensor([[1, 2], [3, 4]]).repeat_interleave(ac.tensor([1, 2, 3]), dim=0)
    with pytest.raises(ValueError, match="tril: input tensor must have at least 2 dimensions"):
        ac.ones(3).tril()
    t = ac.ones(2, 2)
    t.triu_()
    assert t.tolist() == [[1, 1], [0, 1]]


# ---- einsum --------------------------------------------------------------------------------------


def test_einsum_forms_and_errors():
    m = ac.arange(9.0).reshape(3, 3)
    assert F.einsum("ii", m).item() == 12.0
    assert F.einsum("ii->i", m).tolist() == [0, 4, 8]
    assert F.einsum("ij,jk", [m, m]).shape == (3, 3)
    assert F.einsum("ij,jk->ik", ac.ones(2, 3, dtype="int64"), ac.ones(3, 1)).dtype == np.float32
    with pytest.raises(ValueError, match=r"einsum: 'ij,jk->ik' does not fit the operand shapes "
                                         r"\[\(2, 3\), \(4, 2\)\]"):
        F.einsum("ij,jk->ik", ac.ones(2, 3), ac.ones(4, 2))
    with pytest.raises(ValueError, match="names 2 operands but 1 were given"):
        F.einsum("ij,jk->ik", ac.ones(2, 3))
    with pytest.raises(ValueError, match="subscripts 'ijk' do not fit an operand with 2 dims"):
        F.einsum("ijk->i", ac.ones(2, 3))


def test_einsum_gradient_of_a_broadcast_operand_is_summed():
    a = ac.tensor(np.ones((1, 3)), requires_grad=True)
    b = ac.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    F.einsum("...j,...j->...", a, b).sum().backward()
    assert a.grad.tolist() == [[3.0, 5.0, 7.0]] and b.grad.tolist() == [[1, 1, 1], [1, 1, 1]]


# ---- padding modes --------------------------------------------------------------------------------


def test_pad_modes_match_pytorch():
    x = ac.arange(4.0).reshape(1, 1, 4)
    assert F.pad(x, (2, 1), mode="reflect").tolist() == [[[2, 1, 0, 1, 2, 3, 2]]]
    assert F.pad(x, (2, 1), mode="replicate").tolist() == [[[0, 0, 0, 1, 2, 3, 3]]]
    assert F.pad(x, (2, 1), mode="circular").tolist() == [[[2, 3, 0, 1, 2, 3, 0]]]
    assert F.pad(x, (-1, 2), mode="circular").tolist() == [[[1, 2, 3, 1, 2]]]
    assert F.pad(x, (-1, 2), mode="reflect").tolist() == [[[1, 2, 3, 2, 1]]]
    assert F.pad(x, (4, 0), mode="replicate").shape == (1, 1, 8)
    assert F.pad(x, (4, 4), mode="circular").shape == (1, 1, 12)
    assert F.pad(x, (-3, -1)).shape == (1, 1, 0)


def test_pad_mode_errors():
    x = ac.zeros(1, 3, 4)
    with pytest.raises(ValueError, match=r"with mode 'reflect' each pad must be less than the "
                                         r"size of its dim, got padding \(4, 0\)"):
        F.pad(x, (4, 0), mode="reflect")
    with pytest.raises(ValueError, match="pad: mode 'circular' pads the last 1, 2 or 3 dims of "
                                         "a"):
        F.pad(ac.zeros(4), (1, 1), mode="circular")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' does not take a value"):
        F.pad(x, (1, 1), mode="reflect", value=2.0)
    with pytest.raises(ValueError, match="pad: mode must be one of"):
        F.pad(x, (1, 1), mode="foo")


# ---- interpolate (values from PyTorch) -----------------------------------------------------------

IMG = ac.tensor(np.arange(12.0).reshape(1, 1, 3, 4) ** 1.5)
SIG = ac.tensor(np.arange(5.0).reshape(1, 1, 5) ** 2)


def test_interpolate_bicubic_nearest_exact_and_1d_match_pytorch():
    np.testing.assert_allclose(
        F.interpolate(IMG, size=(2, 5), mode="bicubic").numpy().ravel(),
        [1.2100417122950857, 2.105731642757208, 3.722987617736381, 5.904237914283138,
         7.745056592624068, 19.340761416136534, 22.11921316114952, 25.942896949845704,
         29.99855110718384, 33.16573347531766], rtol=1e-12)
    y = F.interpolate(IMG, scale_factor=1.7, mode="bicubic")
    assert y.shape == (1, 1, 5, 6)
    np.testing.assert_allclose(y.numpy().ravel()[:6],
                               [-0.855706273819437, -0.601464486678139, -0.04377235588203298,
                                0.7849015374619308, 2.084324693283581, 3.4247501329568504],
                               rtol=1e-12)
    np.testing.assert_allclose(F.interpolate(IMG, size=(5, 3), mode="nearest-exact").numpy()
                               .ravel()[6:9], [8.0, 14.696938456699069, 18.520259177452136])
    np.testing.assert_allclose(F.interpolate(SIG, size=3, mode="linear").numpy().ravel(),
                               [1 / 3, 4.0, 13.666666666666668], rtol=1e-12)
    np.testing.assert_allclose(F.interpolate(SIG, scale_factor=1.5, mode="linear").numpy()
                               .ravel(), [0.0, 0.5, 1.5, 3.5, 6.5, 10.166666666666666,
                                          14.833333333333332], rtol=1e-12, atol=1e-15)
    assert F.interpolate(SIG, scale_factor=1.5).numpy().ravel().tolist() == \
        [0, 0, 1, 4, 4, 9, 16]


def test_upsample_takes_the_new_modes():
    assert nn.Upsample(scale_factor=2, mode="bicubic")(ac.zeros(1, 1, 3, 3)).shape == (1, 1, 6, 6)
    assert nn.Upsample(size=7, mode="linear")(ac.zeros(1, 2, 3)).shape == (1, 2, 7)
    with pytest.raises(ValueError, match="Upsample: align_corners only applies"):
        nn.Upsample(scale_factor=2, mode="nearest-exact", align_corners=True)


# ---- tensor methods ------------------------------------------------------------------------------


def test_t_new_and_tolist():
    assert ac.tensor([[1, 2], [3, 4]]).t().tolist() == [[1, 3], [2, 4]]
    assert ac.ones(3).t().shape == (3,)
    with pytest.raises(ValueError, match=r"t: expects a tensor with <= 2 dims, got shape "
                                         r"\(2, 2, 2\)"):
        ac.ones(2, 2, 2).t()
    x = ac.ones(2, dtype="float64")
    assert x.new_zeros(3).dtype == np.float64 and x.new_ones((2, 2)).shape == (2, 2)
    assert x.new_full((2,), 3).tolist() == [3.0, 3.0] and x.new_full((2,), 3).dtype == np.float64
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert ac.ones(2, dtype="int32").new_ones(2).dtype == np.int32
    assert ac.tensor([1, 2]).new_tensor([1.5]).tolist() == [1]
    assert x.new_zeros(2, dtype="int64").dtype == np.int64
    assert ac.arange(6).reshape(2, 3).tolist() == [[0, 1, 2], [3, 4, 5]]


# ---- layers ----------------------------------------------------------------------------------------


def test_conv1d_layer_shapes_and_pooling_layers():
    ac.manual_seed(0)
    conv = nn.Conv1d(3, 4, 3, stride=2, padding=1, bias=True)
    assert conv.weight.shape == (4, 3, 3) and conv.kernel_size == (3,)
    assert conv(ac.randn(2, 3, 9)).shape == (2, 4, 5)
    assert nn.Conv1d(2, 2, 3, padding="same")(ac.randn(1, 2, 6)).shape == (1, 2, 6)
    assert "Conv1d(3, 4, kernel_size=(3,), stride=(2,), padding=(1,))" == repr(conv)
    y, idx = nn.MaxPool1d(2, return_indices=True)(ac.tensor([[[1.0, 3.0, 2.0, 0.0]]]))
    assert y.tolist() == [[[3.0, 2.0]]] and idx.tolist() == [[[1, 2]]]
    assert nn.AvgPool1d(2)(ac.tensor([[[1.0, 3.0, 2.0, 0.0]]])).tolist() == [[[2.0, 1.0]]]
    with pytest.raises(ValueError, match=r"conv1d: expected a 3-D \(N, C, L\) or 2-D \(C, L\) "
                                         r"input, got shape \(1, 2, 3, 4\)"):
        F.conv1d(ac.zeros(1, 2, 3, 4), ac.zeros(1, 2, 3))


def test_layer_norm_and_group_norm_layers():
    ln = nn.LayerNorm((3, 4))
    assert ln.weight.shape == (3, 4) and ln.bias.shape == (3, 4)
    assert [n for n, _ in nn.LayerNorm(4, bias=False).named_parameters()] == ["weight"]
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []
    x = ac.randn(2, 3, 4)
    y = ln(x).detach().numpy()
    np.testing.assert_allclose(y.reshape(2, -1).mean(1), 0, atol=1e-6)
    gn = nn.GroupNorm(2, 4)
    assert gn.weight.shape == (4,) and gn(ac.randn(2, 4, 3)).shape == (2, 4, 3)
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(3\) must be divisible by "
                                         r"num_groups \(2\)"):
        nn.GroupNorm(2, 3)
    with pytest.raises(ValueError, match=r"layer_norm: normalized_shape \(5,\) must match the "
                                         r"last dims of the input"):
        F.layer_norm(x, (5,))


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    ac.manual_seed(0)
    e = nn.Embedding(4, 2, padding_idx=1)
    assert e.weight.tolist()[1] == [0.0, 0.0]
    e(ac.tensor([[1, 2, 2]])).sum().backward()
    assert e.weight.grad.tolist() == [[0, 0], [0, 0], [2, 2], [0, 0]]
    with pytest.raises(IndexError, match="embedding: index 4 is out of bounds"):
        e(ac.tensor([4]))
    pre = nn.Embedding.from_pretrained(ac.eye(3))
    assert not pre.weight.requires_grad and pre(ac.tensor([2])).tolist() == [[0, 0, 1]]


def test_pixel_shuffle_layers_and_identity():
    x = ac.arange(8.0).reshape(1, 8, 1, 1)
    y = nn.PixelShuffle(2)(x)
    assert y.shape == (1, 2, 2, 2) and y.tolist()[0][0] == [[0, 1], [2, 3]]
    np.testing.assert_array_equal(nn.PixelUnshuffle(2)(y).numpy(), x.numpy())
    with pytest.raises(ValueError, match="pixel_shuffle: expected"):
        F.pixel_shuffle(ac.zeros(1, 3, 2, 2), 2)
    assert nn.Identity(54, unused="x")(x) is x


def test_parameter_list_and_dict_register_their_parameters():
    m = nn.Module()
    m.pl = nn.ParameterList([ac.randn(2), nn.Parameter(ac.randn(3))])
    m.pl.append(ac.zeros(1))
    m.pd = nn.ParameterDict({"a": ac.randn(2)})
    m.pd["b"] = ac.ones(4)
    assert list(m.state_dict()) == ["pl.0", "pl.1", "pl.2", "pd.a", "pd.b"]
    assert all(isinstance(p, nn.Parameter) for p in m.parameters())
    assert len(m.pl) == 3 and m.pl[-1].shape == (1,) and len(m.pl[:2]) == 2
    assert "b" in m.pd and list(m.pd.keys()) == ["a", "b"] and len(m.pd) == 2
    with pytest.raises(KeyError, match="ParameterDict has no parameter 'c'"):
        m.pd["c"]
    with pytest.raises(IndexError, match="ParameterList index 3 is out of range"):
        m.pl[3]
    assert math.isclose(float(m.pd["b"].sum().item()), 4.0)


# ---- differences from PyTorch kept on purpose (README) ---------------------------------------


def test_remainder_of_a_scalar_by_a_tensor_has_a_gradient():
    x = ac.tensor([1.5, -2.0, 0.7], dtype="float64", requires_grad=True)
    (2.5 % x).sum().backward()
    assert x.grad.tolist() == [-1.0, 2.0, -3.0]            # -floor(2.5 / x)


def test_scatter_with_a_larger_src_backpropagates():
    src = ac.tensor(np.arange(9.0, dtype=np.float32).reshape(3, 3), requires_grad=True)
    out = ac.zeros(3, 4).scatter(1, ac.tensor([[0, 3], [2, 1], [1, 0]]), src)
    out.backward(ac.tensor(np.arange(12.0).reshape(3, 4)))
    assert src.grad.tolist() == [[0, 3, 0], [6, 5, 0], [9, 8, 0]]


def test_embedding_max_norm_scale_grad_by_freq_and_sparse_as_pytorch():
    # values from PyTorch 2.13 (float64)
    w = ac.tensor([[3.0, 4.0], [0.3, 0.4], [1.0, 1.0], [6.0, 8.0]], dtype="float64")
    e = ac.nn.Embedding(4, 2, max_norm=1.0, scale_grad_by_freq=True, sparse=True,
                        _weight=w.clone())
    idx = ac.tensor([[0, 1, 0], [3, 1, 1]])
    out = e(idx)
    (out * ac.arange(12.0, dtype="float64").reshape(2, 3, 2)).sum().backward()
    np.testing.assert_allclose(e.weight.detach().numpy(),
                               [[0.5999999880000002, 0.7999999840000003], [0.3, 0.4], [1.0, 1.0],
                                [0.5999999940000001, 0.7999999920000002]], rtol=1e-12)
    np.testing.assert_allclose(out.detach().numpy()[1, 0], [0.5999999940000001, 0.7999999920000002],
                               rtol=1e-12)
    np.testing.assert_allclose(e.weight.grad.numpy(),
                               [[2.0, 3.0], [20 / 3, 23 / 3], [0.0, 0.0], [6.0, 7.0]], rtol=1e-12)
    assert e.weight._version == 1              # the renormalisation is an in-place write
