"""What PyTorch code calls on the package itself (autograd_cnn/toplevel.py): torch.X(t, ...)
functions, dtype aliases, Size, format() of 0-d tensors, range/0-d indices, grad_fn.
Expected values are PyTorch's (torch 2.13), written in."""

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import toplevel

A = np.arange(12.0).reshape(3, 4)


def a():
    return ac.tensor(A, dtype=ac.float32)


# ---- top-level functions ---------------------------------------------------------------------------


def test_every_listed_function_calls_the_tensor_method():
    for name in toplevel.FUNCTIONS:
        fn = getattr(ac, name)
        assert fn.__wrapped__ is getattr(ac.Tensor, name) and fn.__name__ == name, name
        assert fn.__doc__ == getattr(ac.Tensor, name).__doc__


def test_out_argument_as_pytorch():
    a_ = ac.tensor([[1.0, 5.0], [3.0, 2.0]])
    o = ac.empty(2, 2)
    assert ac.matmul(a_, a_, out=o) is o and o.tolist() == [[16.0, 15.0], [9.0, 19.0]]
    v, i = ac.empty(2), ac.empty(2, dtype=ac.long)
    ac.max(a_, 1, out=(v, i))
    assert v.tolist() == [5.0, 3.0] and i.tolist() == [1, 0]
    assert ac.sum(a_, 1, out=ac.empty(2)).tolist() == [6.0, 5.0]
    with ac.no_grad():                            # allowed without recording
        w = ac.ones(2, requires_grad=True)
        assert ac.mul(w, 2, out=ac.empty(2)).tolist() == [2.0, 2.0]


def test_out_argument_errors():
    a_ = ac.tensor([[1.0, 5.0], [3.0, 2.0]])
    with pytest.raises(ac.DTypeError, match=r"matmul\(\): the result has dtype float32, which "
                                            "out= of dtype int64 cannot hold"):
        ac.matmul(a_, a_, out=ac.empty(2, 2, dtype=ac.long))
    with pytest.raises(RuntimeError, match=r"mul\(\): out= does not support automatic "
                                           "differentiation and an input requires grad"):
        ac.mul(ac.ones(2, 2, requires_grad=True), 2, out=ac.empty(2, 2))
    with pytest.raises(ac.ShapeError, match=r"exp\(\): out= has shape \(3,\) but the result "
                                            r"has shape \(2,\)"):
        ac.exp(ac.zeros(2), out=ac.empty(3))
    with pytest.raises(TypeError, match=r"max\(\): out= must be 2 tensor\(s\) for this call, "
                                        "got Tensor"):
        ac.max(a_, 1, out=ac.empty(2))


CASES = [
    # (call, expected value) from PyTorch
    (lambda: ac.max(a()), 11.0),
    (lambda: ac.min(a(), 0).values, [0.0, 1.0, 2.0, 3.0]),
    (lambda: ac.min(a(), 0).indices, [0, 0, 0, 0]),
    (lambda: ac.max(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 1)[1], [1, 0]),
    (lambda: ac.max(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), ac.tensor([2.0, 2.0])),
     [[2.0, 5.0], [3.0, 2.0]]),
    (lambda: ac.tensor([[1.0, 5.0], [3.0, 2.0]]).max(ac.tensor(2.0)), [[2.0, 5.0], [3.0, 2.0]]),
    (lambda: ac.min(ac.tensor([1.0, 5.0]), ac.tensor([2.0, 2.0])), [1.0, 2.0]),
    (lambda: ac.amax(a(), 1), [3.0, 7.0, 11.0]),
    (lambda: ac.sum(a(), 1), [6.0, 22.0, 38.0]),
    (lambda: ac.mean(a(), dim=0), [4.0, 5.0, 6.0, 7.0]),
    (lambda: ac.var(a()), 13.0),
    (lambda: ac.std(a(), 1), [1.2910, 1.2910, 1.2910]),
    (lambda: ac.logsumexp(a(), 1), [3.4402, 7.4402, 11.4402]),
    (lambda: ac.prod(ac.tensor([1.0, 2.0, 3.0])), 6.0),
    (lambda: ac.norm(a()), 22.4944),
    (lambda: ac.all(a() > -1), True),
    (lambda: ac.any(a() > 10), True),
    (lambda: ac.argmax(a()), 11),
    (lambda: ac.argmax(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 1), [1, 0]),
    (lambda: ac.argmin(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 0), [0, 1]),
    (lambda: ac.flatten(ac.tensor([[1.0, 5.0], [3.0, 2.0]])), [1.0, 5.0, 3.0, 2.0]),
    (lambda: ac.reshape(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), (4,)), [1.0, 5.0, 3.0, 2.0]),
    (lambda: ac.permute(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), (1, 0)), [[1.0, 3.0], [5.0, 2.0]]),
    (lambda: ac.transpose(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 0, 1), [[1.0, 3.0], [5.0, 2.0]]),
    (lambda: ac.squeeze(ac.zeros(1, 2, 1)).shape, (2,)),
    (lambda: ac.t(ac.arange(6).reshape(2, 3)), [[0, 3], [1, 4], [2, 5]]),
    (lambda: ac.arange(6).reshape(2, 3).t().shape, (3, 2)),
    (lambda: ac.t(ac.tensor([1, 2])), [1, 2]),
    (lambda: ac.unsqueeze(ac.zeros(2, 2), 0).shape, (1, 2, 2)),
    (lambda: ac.split(a(), 2, 1)[1], [[2.0, 3.0], [6.0, 7.0], [10.0, 11.0]]),
    (lambda: ac.chunk(a(), 3)[2], [[8.0, 9.0, 10.0, 11.0]]),
    (lambda: ac.narrow(a(), 1, 1, 2), [[1.0, 2.0], [5.0, 6.0], [9.0, 10.0]]),
    (lambda: ac.flip(a(), (0,))[0], [8.0, 9.0, 10.0, 11.0]),
    (lambda: ac.gather(a(), 1, ac.tensor([[0], [1], [2]])), [[0.0], [5.0], [10.0]]),
    (lambda: ac.unflatten(ac.arange(6), 0, (2, 3)), [[0, 1, 2], [3, 4, 5]]),
    (lambda: ac.broadcast_to(ac.tensor([1, 2]), (2, 2)), [[1, 2], [1, 2]]),
    (lambda: ac.mm(a()[:2, :2], a()[:2, :2]), [[4.0, 5.0], [20.0, 29.0]]),
    (lambda: ac.bmm(a().reshape(1, 3, 4), a().reshape(1, 4, 3)).shape, (1, 3, 3)),
    (lambda: ac.dot(a()[0], a()[1]), 38.0),
    (lambda: ac.matmul(a(), a().T).shape, (3, 3)),
    (lambda: ac.clamp(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 2, 4), [[2.0, 4.0], [3.0, 2.0]]),
    (lambda: ac.clip(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), min=2), [[2.0, 5.0], [3.0, 2.0]]),
    (lambda: ac.softmax(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), 1), [[0.0180, 0.9820],
                                                                  [0.7311, 0.2689]]),
    (lambda: ac.softmax(ac.tensor([[1.0, 5.0], [3.0, 2.0]]), dim=0), [[0.1192, 0.9526],
                                                                      [0.8808, 0.0474]]),
    (lambda: ac.log_softmax(ac.tensor([0.0, 0.0]), 0), [-0.6931, -0.6931]),
    (lambda: ac.pow(ac.tensor([1.0, 5.0]), 2), [1.0, 25.0]),
    (lambda: ac.pow(2, ac.tensor([1.0, 5.0])), [2.0, 32.0]),
    (lambda: ac.exp(ac.tensor(0.0)), 1.0),
    (lambda: ac.log(ac.tensor(1.0)), 0.0),
    (lambda: ac.sin(ac.tensor(0.0)), 0.0),
    (lambda: ac.cos(ac.tensor(0.0)), 1.0),
    (lambda: ac.sqrt(ac.tensor(4.0)), 2.0),
    (lambda: ac.abs(ac.tensor(-2.0)), 2.0),
    (lambda: ac.sigmoid(ac.tensor(0.0)), 0.5),
    (lambda: ac.tanh(ac.tensor(0.0)), 0.0),
    (lambda: ac.relu(ac.tensor(-1.0)), 0.0),
    (lambda: ac.square(ac.tensor(3.0)), 9.0),
    (lambda: ac.sign(ac.tensor(-3.0)), -1.0),
    (lambda: ac.neg(ac.tensor(1.0)), -1.0),
    (lambda: ac.add(ac.tensor(1.0), 2), 3.0),
    (lambda: ac.sub(ac.tensor(1.0), 2), -1.0),
    (lambda: ac.mul(ac.tensor(2.0), 3), 6.0),
    (lambda: ac.div(ac.tensor(1.0), 4), 0.25),
    (lambda: ac.eq(ac.tensor(1), 1), True),
    (lambda: ac.gt(ac.tensor(2.0), 1), True),
    (lambda: ac.isclose(ac.tensor([1.0, 2.0]), ac.tensor([1.0, 2.1])), [True, False]),
    (lambda: ac.numel(a()), 12),
    (lambda: ac.logical_not(ac.tensor([True, False])), [False, True]),
    (lambda: ac.bitwise_not(ac.tensor([1, 2])), [-2, -3]),
    (lambda: ac.relu_(ac.tensor([-1.0, 2.0])), [0.0, 2.0]),
    (lambda: ac.clamp_(ac.tensor([-1.0, 2.0]), 0, 1), [0.0, 1.0]),
    (lambda: ac.clone(a()).shape, (3, 4)),
    (lambda: ac.detach(a()).shape, (3, 4)),
    (lambda: ac.where(a() > 5, a(), 0.0)[1], [0.0, 0.0, 6.0, 7.0]),
]


@pytest.mark.parametrize("call, expected", CASES)
def test_toplevel_function_values_as_pytorch(call, expected):
    got = call()
    got = got.tolist() if isinstance(got, ac.Tensor) else got
    if isinstance(expected, tuple):
        assert tuple(got) == expected
    else:
        np.testing.assert_allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float),
                                   atol=1e-4)


def test_allclose_and_equal():
    assert ac.allclose(ac.tensor([1.0, 2.0]), ac.tensor([1.0, 2.000001])) is True
    assert ac.allclose(ac.tensor([1.0, 2.0]), ac.tensor([1.0, 2.1])) is False
    assert ac.allclose(ac.tensor([1.0, 2.0]), ac.tensor([[1.0, 2.0], [1.0, 2.0]]))  # broadcasts
    nan = ac.tensor([float("nan")])
    assert not ac.allclose(nan, nan) and ac.allclose(nan, nan, equal_nan=True)
    assert ac.equal(ac.tensor([1, 2]), ac.tensor([1.0, 2.0])) is True   # dtypes promote
    assert ac.equal(ac.tensor([1, 2]), ac.tensor([[1, 2]])) is False    # shapes differ
    assert a().allclose(a()) and a().equal(a())


def test_is_tensor_and_is_floating_point():
    assert ac.is_tensor(a()) and not ac.is_tensor(1.0) and not ac.is_tensor(A)
    assert ac.is_floating_point(a()) and not ac.is_floating_point(ac.tensor(1))


# ---- sort, argsort, topk ----------------------------------------------------------------------------


def test_sort_values_indices_and_gradient_as_pytorch():
    x = ac.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    w = ac.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    v, i = ac.sort(x, 1, descending=True)
    (v * w).sum().backward()
    assert v.tolist() == [[3.0, 2.0, 1.0], [5.0, 4.0, 0.0]]
    assert i.tolist() == [[0, 2, 1], [1, 2, 0]] and i.dtype == np.int64
    assert x.grad.tolist() == [[1.0, 3.0, 2.0], [6.0, 4.0, 5.0]]


def test_topk_values_indices_and_gradient_as_pytorch():
    x = ac.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]], requires_grad=True)
    v, i = ac.topk(x, 2, dim=0, largest=False)
    (v * ac.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).sum().backward()
    assert v.tolist() == [[0.0, 1.0, 2.0], [3.0, 5.0, 4.0]] and i.tolist() == [[1, 0, 0], [0, 1, 1]]
    assert x.grad.tolist() == [[4.0, 2.0, 3.0], [1.0, 5.0, 6.0]]
    v, i = ac.topk(ac.tensor([1.0, 5.0, 3.0, 5.0]), 2)
    assert v.tolist() == [5.0, 5.0] and i.tolist() == [1, 3]          # ties: first index first
    v, i = ac.topk(ac.tensor(3.0), 1)
    assert v.shape == () and v.item() == 3.0 and i.item() == 0


def test_sort_order_rules_as_pytorch_stable():
    v, i = ac.sort(ac.tensor([1.0, float("nan"), 2.0, 1.0]), descending=True)
    assert np.isnan(v.tolist()[0]) and v.tolist()[1:] == [2.0, 1.0, 1.0] and i.tolist() == [1, 2, 0, 3]
    v, i = ac.sort(ac.tensor([1.0, float("nan"), 2.0]))
    assert i.tolist() == [0, 2, 1]                                     # NaN is the largest
    assert ac.sort(ac.tensor([3, 1, 2, 1])).indices.tolist() == [1, 3, 2, 0]
    assert ac.argsort(ac.tensor([2, 0, 1, 0]), descending=True).tolist() == [0, 2, 1, 3]
    v, i = ac.sort(ac.tensor([True, False, True]), descending=True)
    assert v.tolist() == [True, True, False] and i.tolist() == [0, 2, 1]
    v, i = ac.sort(ac.tensor(np.array([2, 0, 1], np.uint8)), descending=True)
    assert v.tolist() == [2, 1, 0] and v.dtype == np.uint8 and i.tolist() == [0, 2, 1]


def test_sort_and_topk_gradcheck():
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.permutation(12).reshape(3, 4) + rng.uniform(0, 0.5, (3, 4)),
                  requires_grad=True)
    assert ac.gradcheck(lambda t: t.sort(0)[0], [x])
    assert ac.gradcheck(lambda t: t.topk(3, 1, largest=False).values, [x])
    assert ac.gradgradcheck(lambda t: t.sort(1, descending=True)[0] ** 2, [x])
    assert ac.gradgradcheck(lambda t: t.topk(2, 0).values ** 3, [x])
    assert ac.gradgradcheck(lambda t: ac.sort(t.sum())[0] ** 2, [x])       # 0-d


def test_t_of_more_than_two_dims_is_refused():
    with pytest.raises(ac.ShapeError, match=r"t: expects a tensor with <= 2 dims, got shape "
                                            r"\(2, 2, 2\)"):
        ac.zeros(2, 2, 2).t()


def test_topk_errors():
    with pytest.raises(ac.ShapeError, match=r"topk: k must be an int in 0 \.\. 2 \(the size of dim "
                                         r"-1\), got 3"):
        ac.topk(ac.tensor([1.0, 2.0]), 3)
    with pytest.raises(TypeError, match=r"topk: k must be an int, got float \(1.0\)"):
        ac.topk(ac.tensor([1.0, 2.0]), 1.0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        ac.sort(ac.zeros(2, 2), 2)


# ---- dtype aliases ----------------------------------------------------------------------------------


def test_dtype_aliases_as_pytorch():
    assert ac.float == ac.float32 == np.float32 and ac.double == ac.float64 == np.float64
    assert ac.half == ac.float16 == np.float16
    assert ac.long == ac.int64 == np.int64 and ac.int == ac.int32 == np.int32
    assert ac.short == ac.int16 == np.int16 and ac.int8 == np.int8 and ac.uint8 == np.uint8
    assert ac.bool == ac.bool_ == np.bool_
    assert ac.tensor([1, 2], dtype=ac.float).dtype == np.float32
    assert ac.zeros(2, dtype=ac.long).dtype == np.int64
    assert ac.ones(2).to(ac.half).dtype == np.float16


def test_half_tensors_compute_and_kernels_refuse_them_clearly():
    x = ac.ones(2, 3, dtype=ac.half, requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad.dtype == np.float16 and x.grad.tolist() == [[2.0] * 3] * 2
    conv = ac.nn.Conv2d(1, 1, 3)
    with pytest.raises(TypeError, match="conv2d: input has dtype float16; convolution needs "
                                        "float32 or float64"):
        conv(ac.ones(1, 1, 5, 5, dtype=ac.half))


# ---- Size ---------------------------------------------------------------------------------------------


def test_shape_is_a_size_printing_as_pytorch():
    s = ac.zeros(2, 3).shape
    assert isinstance(s, ac.Size) and isinstance(s, tuple)
    assert repr(s) == "torch.Size([2, 3])" and str(s) == "torch.Size([2, 3])"
    assert ac.zeros(2, 3).size() == s and isinstance(ac.zeros(2, 3).size(), ac.Size)
    assert ac.zeros(2, 3).size(1) == 3 and type(ac.zeros(2, 3).size(1)) is int
    assert s == (2, 3) and hash(s) == hash((2, 3)) and s.numel() == 6
    assert repr(ac.tensor(1.0).shape) == "torch.Size([])" and repr(ac.Size()) == "torch.Size([])"
    # a difference from PyTorch (README): in an f-string a shape reads as a tuple
    assert f"{s}" == "(2, 3)" and f"{ac.Size([4])}" == "(4,)" and f"{s:>8}" == "  (2, 3)"
    assert "%s" % (s,) == "torch.Size([2, 3])"


def test_size_operations_keep_the_type():
    s = ac.Size([2, 3])
    for t, expected in ((s[1:], "torch.Size([3])"), (s + (4,), "torch.Size([2, 3, 4])"),
                        ((4,) + s, "torch.Size([4, 2, 3])"), (s * 2, "torch.Size([2, 3, 2, 3])")):
        assert type(t) is ac.Size and repr(t) == expected
    assert s[0] == 2 and type(s[0]) is int
    assert ac.zeros(*s).shape == (2, 3) and np.zeros(s).shape == (2, 3)
    with pytest.raises(TypeError, match="Size: expected an iterable of ints, item 0 is float"):
        ac.Size([2.0])


# ---- format() of 0-d tensors ---------------------------------------------------------------------


def test_zero_dim_tensors_format_as_numbers():
    loss = ac.tensor(1.23456)
    assert f"{loss:.4f}" == "1.2346"
    assert f"{loss}" == format(np.float32(1.23456).item(), "") == "1.2345600128173828"
    assert f"{ac.tensor(3):d}" == "3" and f"{ac.tensor(3):5}" == "    3"
    assert f"{ac.tensor([1.0, 2.0])}" == str(ac.tensor([1.0, 2.0]))   # empty spec: str
    with pytest.raises(TypeError, match="unsupported format string '.2f' passed to "
                                        "Tensor.__format__: only 0-d tensors"):
        f"{ac.tensor([1.0]):.2f}"


# ---- range and 0-d tensors as indices -------------------------------------------------------------


def test_range_and_zero_dim_tensors_index():
    x = ac.arange(10)
    assert x[range(3)].tolist() == [0, 1, 2]
    assert x[range(1, 8, 2)].tolist() == [1, 3, 5, 7]
    assert ac.arange(12).reshape(3, 4)[range(2), range(2)].tolist() == [0, 5]
    assert x[ac.tensor(2)].tolist() == 2 and x[ac.tensor(2)].shape == ()
    assert [10, 20, 30][ac.tensor(1)] == 20 and list(range(ac.tensor(3))) == [0, 1, 2]
    w = ac.arange(5.0, requires_grad=True)
    w[range(1, 3)].sum().backward()
    assert w.grad.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    with pytest.raises(TypeError, match="only one-element integer tensors can be used as an index"):
        [1, 2][ac.tensor(1.0)]


# ---- grad_fn ------------------------------------------------------------------------------------------


def test_grad_fn_names_and_next_functions_as_pytorch():
    a_ = ac.tensor([1.0, 2.0], requires_grad=True)
    b_ = ac.tensor([3.0, 4.0], requires_grad=True)
    c = (a_ * b_).sum()
    assert a_.grad_fn is None
    assert c.grad_fn.name() == "SumBackward0"
    assert repr(c.grad_fn).startswith("<SumBackward0 object at 0x")
    ((mul, k),) = c.grad_fn.next_functions
    assert mul.name() == "MulBackward0" and k == 0
    (acc_a, _), (acc_b, _) = mul.next_functions
    assert acc_a.name() == "torch::autograd::AccumulateGrad" and acc_a.variable is a_
    assert acc_b.variable is b_ and acc_a.next_functions == ()
    assert repr(acc_a).startswith("<AccumulateGrad object at 0x")
    assert (a_ * 2).grad_fn.next_functions[1] == (None, 0)          # a constant: no function
    assert c.grad_fn == c.grad_fn and c.grad_fn.next_functions[0][0] == mul
    names = [(a_ + 1).grad_fn.name(), a_.exp().grad_fn.name(), a_.relu().grad_fn.name(),
             ac.softmax(a_, 0).grad_fn.name(), ac.log_softmax(a_, 0).grad_fn.name()]
    assert names == ["AddBackward0", "ExpBackward0", "ReluBackward0", "SoftmaxBackward0",
                     "LogSoftmaxBackward0"]
    assert ac.tensor([1.0]).exp().grad_fn is None                    # no graph recorded


# ---- ac.utils.data: torch.utils.data's name for ac.data ------------------------------------------


def test_utils_data_is_the_data_package_under_pytorchs_name():
    import autograd_cnn.data as data
    from autograd_cnn.utils.data import DataLoader, Dataset, Subset, TensorDataset, random_split
    assert (DataLoader, Dataset, Subset, TensorDataset, random_split) == (
        data.DataLoader, data.Dataset, data.Subset, data.TensorDataset, data.random_split)
    assert ac.utils.data.DataLoader is data.DataLoader
    assert set(ac.utils.data.__all__) == set(data.__all__)
    for name in data.__all__:
        assert getattr(ac.utils.data, name) is getattr(data, name), name


def test_tensor_dataset_slices_and_index_lists_as_pytorch():
    x = ac.arange(10.0).reshape(5, 2)
    y = ac.arange(5)
    ds = ac.utils.data.TensorDataset(x, y)
    xb, yb = ds[1:3]
    assert xb.tolist() == [[2.0, 3.0], [4.0, 5.0]] and yb.tolist() == [1, 2]
    assert ds[[4, 0]][1].tolist() == [4, 0] and ds[range(2)][1].tolist() == [0, 1]
    assert ds[ac.tensor([3, 1])][1].tolist() == [3, 1]
    assert ds[ac.tensor([True, False, False, False, True])][1].tolist() == [0, 4]
    xi, yi = ds[ac.tensor(2)]                       # a 0-d index tensor is one sample
    assert xi.tolist() == [4.0, 5.0] and yi.shape == () and yi.item() == 2
    assert ds.tensors[0].tolist() == x.tolist() and len(ds.tensors) == 2
    with pytest.raises(IndexError, match="index 7 is out of range for a dataset of 5 samples"):
        ds[7]


def test_grad_fn_after_backward_keeps_names_and_next_functions():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    c = (x * 3).sum()
    c.backward()
    ((mul, _),) = c.grad_fn.next_functions
    assert c.grad_fn.name() == "SumBackward0" and mul.name() == "MulBackward0"
    assert mul.next_functions[0][0].variable is x
