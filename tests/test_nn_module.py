"""nn.Module, Parameter and the containers: registration, names, state dicts, modes, hooks,
dtype conversion, printing."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn

pytestmark = pytest.mark.nojit


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.BatchNorm1d(4))
        self.head = nn.Linear(4, 2)
        self.scale = nn.Parameter(ac.ones(1))
        self.register_buffer("steps", ac.zeros(1))
        self.register_buffer("scratch", ac.zeros(2), persistent=False)

    def forward(self, x):
        return self.head(self.features(x)) * self.scale


def params_snapshot(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


def test_public_names():
    import autograd_cnn.nn.functional as F
    import autograd_cnn.optim as optim
    assert F is ac.functional and nn.functional is ac.functional
    assert ac.nn is nn and ac.optim is optim and optim.lr_scheduler.StepLR
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    assert callable(ac.save) and callable(ac.load) and issubclass(ac.CheckpointError, ValueError)


# ---- registration and names --------------------------------------------------------------------


def test_named_parameters_buffers_modules_use_dotted_names():
    net = Net()
    assert [n for n, _ in net.named_parameters()] == [
        "scale", "features.0.weight", "features.0.bias", "features.2.weight", "features.2.bias",
        "head.weight", "head.bias"]
    assert [n for n, _ in net.named_buffers()] == [
        "steps", "scratch", "features.2.running_mean", "features.2.running_var",
        "features.2.num_batches_tracked"]
    assert [n for n, _ in net.named_modules()] == [
        "", "features", "features.0", "features.1", "features.2", "head"]
    assert [n for n, _ in net.named_children()] == ["features", "head"]
    assert list(net.children()) == [net.features, net.head]
    assert len(list(net.parameters())) == 7
    assert all(isinstance(p, nn.Parameter) for p in net.parameters())
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]


def test_state_dict_keys_order_and_non_persistent_buffers():
    net = Net()
    assert list(net.state_dict()) == [
        "scale", "steps", "features.0.weight", "features.0.bias", "features.2.weight",
        "features.2.bias", "features.2.running_mean", "features.2.running_var",
        "features.2.num_batches_tracked", "head.weight", "head.bias"]
    sd = net.state_dict()
    assert not sd["head.weight"].requires_grad            # detached ...
    assert np.shares_memory(sd["head.weight"]._data, net.head.weight._data)  # ... but shared
    assert net.state_dict(keep_vars=True)["head.weight"] is net.head.weight


def test_shared_parameter_listed_once_but_stored_under_both_names():
    a = nn.Linear(3, 3)
    b = nn.Linear(3, 3)
    b.weight = a.weight
    model = nn.Sequential(a, b)
    assert len(list(model.parameters())) == 3
    assert {"0.weight", "1.weight"} <= set(model.state_dict())


def test_unknown_attribute_raises_attribute_error_naming_class_and_attribute():
    net = Net()
    with pytest.raises(AttributeError, match=r"'Net' object has no attribute 'nope'"):
        net.nope
    with pytest.raises(AttributeError, match=r"'Linear' object has no attribute 'wieght'.*"
                                             r"did you mean 'weight'"):
        net.head.wieght
    assert getattr(net, "nope", None) is None    # hasattr/getattr with default keep working


def test_assignment_rules():
    net = Net()
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = ac.ones(1)                       # a plain tensor is not a Parameter
    net.scale = None                                 # allowed: an absent parameter
    assert "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="buffer 'steps'"):
        net.steps = 3.0
    net.steps = ac.ones(1)
    assert net.steps._data[0] == 1
    net.extra = nn.Linear(1, 1)                      # registers a new submodule
    assert "extra.weight" in net.state_dict()
    del net.extra
    assert "extra.weight" not in net.state_dict()
    with pytest.raises(TypeError, match="class Linear, not an instance"):
        nn.Sequential(nn.Linear)


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_forward_missing_is_reported():
    class NoForward(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="NoForward.*forward"):
        NoForward()(ac.ones(1))


def test_get_submodule_and_apply():
    net = Net()
    assert net.get_submodule("features.2") is net.features[2]
    with pytest.raises(AttributeError, match="no submodule 'x'"):
        net.get_submodule("features.x")
    seen = []
    net.apply(lambda m: seen.append(type(m).__name__))
    assert seen == ["Linear", "ReLU", "BatchNorm1d", "Sequential", "Linear", "Net"]


# ---- load_state_dict ---------------------------------------------------------------------------


def test_load_state_dict_round_trip_between_two_models():
    a, b = Net(), Net()
    with ac.no_grad():
        a.features[2].running_mean.add_(1.5)
    b.load_state_dict(a.state_dict())
    for (k, va), vb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(va._data, vb._data, err_msg=k)


def test_load_state_dict_accepts_numpy_arrays_and_keeps_parameter_identity():
    net = Net()
    weight = net.head.weight
    sd = {k: v._data.copy() + (1 if v.dtype.kind == "f" else 0) for k, v in
          net.state_dict().items()}
    net.load_state_dict(sd)
    assert net.head.weight is weight                  # same object: optimisers keep working
    np.testing.assert_array_equal(net.head.weight._data, sd["head.weight"])
    assert net.head.weight.dtype == np.float32


def test_strict_load_lists_every_problem_and_changes_nothing():
    net = Net()
    before = params_snapshot(net)
    sd = {k: v._data + 7 if v.dtype.kind == "f" else v._data for k, v in net.state_dict().items()}
    del sd["head.bias"]                                              # missing
    del sd["features.2.running_var"]                                 # missing
    sd["bogus.weight"] = np.zeros(3, np.float32)                     # unexpected
    sd["head.weight"] = np.zeros((5, 4), np.float32)                 # wrong shape
    sd["features.0.weight"] = np.zeros((3, 4), np.float32)           # wrong shape
    sd["features.2.num_batches_tracked"] = np.array(1.5)             # float into int buffer
    with pytest.raises(nn.StateDictError) as info:
        net.load_state_dict(sd)
    msg = str(info.value)
    for needle in ('"head.bias"', '"features.2.running_var"', '"bogus.weight"',
                   "size mismatch for head.weight", "size mismatch for features.0.weight",
                   "(5, 4)", "(2, 4)", "dtype mismatch for features.2.num_batches_tracked"):
        assert needle in msg
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    after = params_snapshot(net)
    for k in before:
        assert before[k].tobytes() == after[k].tobytes(), k   # bit-identical: nothing written


def test_non_strict_load_returns_missing_and_unexpected_but_still_refuses_bad_shapes():
    net = Net()
    sd = {"head.weight": np.ones((2, 4), np.float32), "other": np.zeros(1)}
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert unexpected == ["other"]
    assert "head.bias" in missing and "head.weight" not in missing
    np.testing.assert_array_equal(net.head.weight._data, 1)
    before = params_snapshot(net)
    with pytest.raises(nn.StateDictError, match="size mismatch for head.weight"):
        net.load_state_dict({"head.weight": np.ones((3, 3)), "head.bias": np.zeros(2)},
                            strict=False)
    assert params_snapshot(net)["head.bias"].tobytes() == before["head.bias"].tobytes()


def test_checkpoints_without_num_batches_tracked_still_load():
    net = Net()
    with ac.no_grad():
        net.features[2].num_batches_tracked.fill_(5)
    sd = {k: v for k, v in Net().state_dict().items() if "num_batches_tracked" not in k}
    missing, unexpected = net.load_state_dict(sd)       # strict: still no error
    assert missing == [] and unexpected == []
    assert int(net.features[2].num_batches_tracked.item()) == 5      # kept


def test_load_state_dict_rejects_non_arrays():
    with pytest.raises(nn.StateDictError, match="head.weight: expected a Tensor or numpy array"):
        Net().load_state_dict({**Net().state_dict(), "head.weight": "weights"})
    with pytest.raises(TypeError, match="expected a dict"):
        Net().load_state_dict([1, 2])


# ---- modes, gradients, dtypes ------------------------------------------------------------------


def test_train_eval_are_recursive():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="mode must be a bool"):
        net.train("no")


def test_zero_grad_and_requires_grad_freezing():
    net = Net()
    x = ac.randn(5, 3)
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad._data == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.features.requires_grad_(False)              # freeze the feature extractor
    net(x).sum().backward()
    assert all(p.grad is None for p in net.features.parameters())
    assert net.head.weight.grad is not None


def test_double_and_float_convert_parameters_and_floating_buffers_in_place():
    net = Net()
    weight = net.head.weight
    net(ac.randn(4, 3)).sum().backward()
    assert net.double() is net
    assert net.head.weight is weight
    assert all(p.dtype == np.float64 for p in net.parameters())
    assert all(p.grad.dtype == np.float64 for p in net.parameters())
    assert net.features[2].running_mean.dtype == np.float64
    assert net.features[2].num_batches_tracked.dtype == np.int64     # not floating: unchanged
    assert net(ac.randn(4, 3, dtype="float64")).dtype == np.float64
    net.float()
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.to("cpu") is net and net.to(np.float64).head.weight.dtype == np.float64
    with pytest.raises(ac.DeviceError, match="CPU only"):     # more in tests/test_devices.py
        net.to("cuda")


def test_deepcopy_gives_an_independent_model():
    net = Net()
    twin = copy.deepcopy(net)
    with ac.no_grad():
        twin.head.weight.fill_(0.0)
    assert not np.all(net.head.weight._data == 0)
    assert isinstance(twin.head.weight, nn.Parameter)


# ---- hooks -------------------------------------------------------------------------------------


def test_forward_hooks_see_input_and_output_and_can_be_removed():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    shapes = []
    handles = [m.register_forward_hook(lambda m, i, o: shapes.append((type(m).__name__,
                                                                      i[0].shape, o.shape)))
               for m in model]
    model(ac.randn(5, 3))
    assert shapes == [("Linear", (5, 3), (5, 4)), ("ReLU", (5, 4), (5, 4)),
                      ("Linear", (5, 4), (5, 2))]
    for h in handles:
        h.remove()
    shapes.clear()
    model(ac.randn(5, 3))
    assert shapes == []


def test_hooks_can_replace_input_and_output():
    lin = nn.Linear(2, 2)
    x = ac.randn(1, 2)
    with lin.register_forward_pre_hook(lambda m, inputs: inputs[0] * 0):
        np.testing.assert_allclose(lin(x)._data, lin.bias._data[None])
    with lin.register_forward_hook(lambda m, i, o: o + 1):
        np.testing.assert_allclose(lin(x)._data, (x._data @ lin.weight._data.T + lin.bias._data) + 1,
                                   rtol=1e-6)
    np.testing.assert_allclose(lin(x)._data, x._data @ lin.weight._data.T + lin.bias._data,
                               rtol=1e-6)


# ---- printing ----------------------------------------------------------------------------------


def test_repr_like_pytorch():
    model = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Sequential(nn.Linear(4, 2, bias=False)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))\n"
        "  (1): ReLU()\n"
        "  (2): Sequential(\n"
        "    (0): Linear(in_features=4, out_features=2, bias=False)\n"
        "  )\n"
        ")")
    assert repr(nn.Parameter(ac.ones(2))).startswith("Parameter containing:\ntensor(")


# ---- containers --------------------------------------------------------------------------------


def test_sequential_indexing_slicing_and_editing():
    layers = [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and seq[0] is layers[0] and seq[-1] is layers[2]
    head = seq[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]
    assert list(head.state_dict()) == ["2.weight", "2.bias"]     # PyTorch keeps the names
    with pytest.raises(IndexError, match="index 3 is out of range for 3"):
        seq[3]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["0"]
    x = ac.randn(4, 2)
    np.testing.assert_allclose(seq(x)._data, seq[2](seq[1](seq[0](x)))._data)
    seq.append(nn.Sigmoid())
    del seq[1]
    assert [type(m).__name__ for m in seq] == ["Linear", "Linear", "Sigmoid"]
    assert list(seq._modules) == ["0", "1", "2"]
    seq.insert(1, nn.Tanh())
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear", "Sigmoid"]
    named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 2), act=nn.ReLU()))
    assert list(named.state_dict()) == ["fc.weight", "fc.bias"] and named.act is named[1]


def test_module_list_and_module_dict_register_their_modules():
    ml = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)])
    ml.append(nn.Linear(1, 2))
    assert len(ml) == 4 and len(list(ml.parameters())) == 8
    assert isinstance(ml[1:3], nn.ModuleList) and len(ml[1:3]) == 2
    ml += [nn.ReLU()]
    assert isinstance(ml[-1], nn.ReLU)
    md = nn.ModuleDict({"enc": nn.Linear(2, 2), "dec": nn.Linear(2, 2)})
    assert list(md) == ["enc", "dec"] and "enc" in md and len(md) == 2
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    md["act"] = nn.ReLU()
    assert list(md.keys())[-1] == "act"
    with pytest.raises(KeyError, match="no key 'x'"):
        md["x"]
    md.pop("enc")
    assert list(md) == ["dec", "act"]
