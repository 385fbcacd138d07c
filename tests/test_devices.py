"""Devices as no-ops on the CPU (autograd_cnn/devices.py): the device lines of PyTorch code run
unchanged; using a device other than the CPU raises DeviceError. Reprs and results are PyTorch's
(torch 2.13 on a CPU-only machine)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn


# ---- ac.device -----------------------------------------------------------------------------------


def test_device_repr_str_and_fields_as_pytorch():
    d = ac.device("cpu")
    assert repr(d) == "device(type='cpu')" and str(d) == "cpu"
    assert d.type == "cpu" and d.index is None
    assert repr(ac.device("cpu", 0)) == "device(type='cpu', index=0)"
    assert repr(ac.device("cpu:0")) == "device(type='cpu', index=0)"
    assert repr(ac.device("cuda")) == "device(type='cuda')"            # naming is allowed
    assert repr(ac.device("cuda:1")) == "device(type='cuda', index=1)" and str(ac.device("cuda:1")) == "cuda:1"
    assert repr(ac.device(type="cpu")) == "device(type='cpu')"
    assert ac.device(ac.device("cuda:1")) == ac.device("cuda", 1)


def test_device_equality_hash_and_pickle():
    assert ac.device("cpu") == ac.device("cpu")
    assert ac.device("cpu") != ac.device("cpu:0")                      # as in PyTorch
    assert ac.device("cpu") != "cpu"                                    # not equal to a string
    assert {ac.device("cpu"): 1}[ac.device("cpu")] == 1
    assert pickle.loads(pickle.dumps(ac.device("cuda:2"))) == ac.device("cuda:2")


def test_device_construction_errors():
    with pytest.raises(ValueError, match="unknown device type 'gpu' in 'gpu'"):
        ac.device("gpu")
    with pytest.raises(ValueError, match="invalid device string 'cuda:x'"):
        ac.device("cuda:x")
    with pytest.raises(ValueError, match="index must be a non-negative int, got -1"):
        ac.device("cpu", -1)
    with pytest.raises(ValueError, match="already has an index"):
        ac.device("cpu:0", 1)
    with pytest.raises(TypeError, match="expected a string such as 'cpu'.*got float"):
        ac.device(1.5)
    with pytest.raises(ac.DeviceError, match="accelerator .* index.*CPU only"):
        ac.device(0)                     # PyTorch: an int is an accelerator index


def test_device_error_is_caught_as_runtime_and_assertion_error():
    # PyTorch without CUDA raises AssertionError for 'cuda', RuntimeError for 'mps'
    assert issubclass(ac.DeviceError, RuntimeError) and issubclass(ac.DeviceError, AssertionError)


# ---- what scripts ask: ac.cuda, ac.accelerator, ac.backends ----------------------------------------


def test_cuda_namespace_reports_no_gpu():
    assert ac.cuda.is_available() is False and ac.cuda.device_count() == 0
    assert ac.cuda.is_initialized() is False
    assert ac.cuda.manual_seed(0) is None and ac.cuda.manual_seed_all(0) is None
    assert ac.cuda.empty_cache() is None
    assert ac.cuda.memory_allocated() == ac.cuda.max_memory_allocated() == 0
    assert ac.cuda.memory_reserved(0) == 0
    for fn in (ac.cuda.synchronize, ac.cuda.current_device, lambda: ac.cuda.get_device_name(0)):
        with pytest.raises(ac.DeviceError, match="no CUDA device.*CPU only"):
            fn()


def test_usual_device_line_picks_the_cpu():
    device = ac.device("cuda" if ac.cuda.is_available() else "cpu")
    assert device == ac.device("cpu")
    assert ac.get_default_device() == ac.device("cpu")
    ac.set_default_device("cpu")
    with pytest.raises(ac.DeviceError, match="set_default_device\\(\\): device 'cuda'"):
        ac.set_default_device("cuda")


def test_accelerator_and_backends():
    assert ac.accelerator.current_accelerator() is None
    assert ac.accelerator.is_available() is False and ac.accelerator.device_count() == 0
    cudnn = ac.backends.cudnn
    assert (cudnn.enabled, cudnn.benchmark, cudnn.deterministic) == (True, False, False)
    assert cudnn.is_available() is False
    assert ac.backends.mps.is_available() is False and ac.backends.mps.is_built() is False
    assert ac.backends.cuda.matmul.allow_tf32 is False


def test_backend_flags_are_settable_and_importable_as_modules():
    # `import torch.backends.cudnn as cudnn; cudnn.benchmark = True` is in many scripts
    code = ("import autograd_cnn.backends.cudnn as cudnn, autograd_cnn as ac; "
            "from autograd_cnn.backends import mps; import autograd_cnn.cuda; "
            "cudnn.benchmark = True; cudnn.deterministic = True; "
            "assert ac.backends.cudnn.benchmark and ac.backends.cudnn.deterministic; "
            "assert mps.is_available() is False and autograd_cnn.cuda.device_count() == 0")
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- tensors ------------------------------------------------------------------------------------------


def test_tensor_device_properties():
    x = ac.zeros(2, 3)
    assert x.device == ac.device("cpu") and repr(x.device) == "device(type='cpu')"
    assert str(x.device) == "cpu" and x.is_cuda is False
    assert x.cpu() is x


@pytest.mark.parametrize("make", [
    lambda d: ac.tensor([1.0, 2.0], device=d),
    lambda d: ac.as_tensor([1.0], device=d),
    lambda d: ac.zeros(2, 3, device=d),
    lambda d: ac.ones(2, device=d),
    lambda d: ac.full((2,), 3.0, device=d),
    lambda d: ac.empty(2, device=d),
    lambda d: ac.rand(2, device=d),
    lambda d: ac.randn(2, device=d),
    lambda d: ac.randint(0, 5, (3,), device=d),
    lambda d: ac.randperm(4, device=d),
    lambda d: ac.arange(5, device=d),
    lambda d: ac.linspace(0, 1, 5, device=d),
    lambda d: ac.eye(3, device=d),
    lambda d: ac.zeros_like(ac.ones(2), device=d),
    lambda d: ac.ones_like(ac.ones(2), device=d),
    lambda d: ac.full_like(ac.ones(2), 7.0, device=d),
    lambda d: ac.empty_like(ac.ones(2), device=d),
    lambda d: ac.rand_like(ac.ones(2), device=d),
    lambda d: ac.randn_like(ac.ones(2), device=d),
])
def test_every_constructor_takes_device(make):
    for d in ("cpu", "cpu:0", ac.device("cpu"), None):
        assert make(d).device == ac.device("cpu")
    with pytest.raises(ac.DeviceError, match=r"\(\): device 'cuda' is not available: autograd_cnn "
                                             "runs on the CPU only"):
        make("cuda")
    with pytest.raises(ac.DeviceError, match="device 'mps' is not available"):
        make(ac.device("mps"))


def test_constructor_errors_name_the_constructor_and_signature_shows_device():
    import inspect
    with pytest.raises(ac.DeviceError, match=r"^zeros\(\): device 'cuda:1'"):
        ac.zeros(2, device="cuda:1")
    assert "device=None" in str(inspect.signature(ac.zeros))
    assert ac.randn.__doc__ == "Standard normal." and ac.randn.__name__ == "randn"  # docs kept


def test_randperm_and_empty_like():
    ac.manual_seed(0)
    p = ac.randperm(6)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(6))
    assert ac.empty_like(ac.ones(2, 3, dtype=ac.float64)).shape == (2, 3)
    assert ac.empty_like(ac.ones(2, 3, dtype=ac.float64)).dtype == np.float64
    with pytest.raises(ValueError, match="randperm: n must be a non-negative int, got -1"):
        ac.randperm(-1)


def test_tensor_to_forms_as_pytorch():
    x = ac.zeros(2, 3)
    assert x.to("cpu") is x and x.to(ac.device("cpu")) is x         # nothing changes: itself
    assert x.to(ac.float32) is x
    assert x.to(ac.float64).dtype == np.float64
    assert x.to("cpu", ac.float64).dtype == np.float64
    assert x.to(device="cpu", dtype=ac.float16).dtype == np.float16
    assert x.to(ac.ones(1, dtype=ac.int64)).dtype == np.int64        # another tensor's dtype
    assert x.to(ac.device("cpu"), non_blocking=True) is x
    assert x.to(ac.float32, copy=True) is not x
    assert x.to("cpu", ac.float64, True, True).dtype == np.float64   # non_blocking, copy


def test_tensor_to_stays_in_the_graph():
    w = ac.tensor([1.0, 2.0], requires_grad=True)
    (w.to("cpu", ac.float64) * ac.tensor([3.0, 4.0], dtype=ac.float64)).sum().backward()
    assert w.grad.dtype == np.float32 and w.grad.tolist() == [3.0, 4.0]


def test_tensor_to_errors():
    x = ac.zeros(2)
    with pytest.raises(ac.DeviceError, match="^to\\(\\): device 'cuda' is not available: "
                                             "autograd_cnn runs on the CPU only; "
                                             "ac.cuda.is_available\\(\\) is False"):
        x.to("cuda")
    with pytest.raises(ac.DeviceError, match="device 'mps'"):
        x.to(ac.device("mps"), ac.float64)
    with pytest.raises(ac.DeviceError, match="accelerator"):
        x.to(3)
    with pytest.raises(TypeError, match="expected a dtype after the device, got the device "
                                        "string 'cpu'"):
        x.to("cpu", "cpu")
    with pytest.raises(TypeError, match="expected a device or a dtype, got list"):
        x.to([1])
    with pytest.raises(TypeError, match="unexpected keyword argument\\(s\\) devise"):
        x.to(devise="cpu")


def test_tensor_cuda_is_refused():
    x = ac.ones(2)
    with pytest.raises(ac.DeviceError, match="^cuda\\(\\): device 'cuda' is not available"):
        x.cuda()
    with pytest.raises(ac.DeviceError, match="device 'cuda:1'"):
        x.cuda(1)


# ---- modules ---------------------------------------------------------------------------------------


def test_module_to_and_cpu():
    net = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    assert net.to("cpu") is net and net.cpu() is net and net.to(ac.device("cpu")) is net
    assert net.to(ac.device("cpu"), ac.float64) is net
    assert net[0].weight.dtype == np.float64 and net[1].running_mean.dtype == np.float64
    assert net[1].num_batches_tracked.dtype == np.int64             # not floating: unchanged
    net.to(ac.zeros(1))                                             # a tensor's dtype
    assert net[0].weight.dtype == np.float32
    net.to(dtype=ac.double, device="cpu")
    assert net[0].weight.dtype == np.float64


def test_module_to_other_devices_is_refused():
    net = nn.Linear(3, 2)
    with pytest.raises(ac.DeviceError, match="^Module.to\\(\\): device 'cuda'"):
        net.to("cuda")
    with pytest.raises(ac.DeviceError, match="device 'cuda:0'"):
        net.to(ac.device("cuda", 0))
    with pytest.raises(ac.DeviceError, match="^Module.cuda\\(\\): device 'cuda'"):
        net.cuda()
    with pytest.raises(TypeError, match="floating dtype"):
        net.to(ac.int64)


def test_a_ported_training_step_with_device_lines():
    device = ac.device("cuda" if ac.cuda.is_available() else "cpu")
    ac.backends.cudnn.benchmark = True
    try:
        ac.manual_seed(0)
        model = nn.Linear(4, 3).to(device)
        x = ac.randn(8, 4, device=device)
        y = ac.randint(0, 3, (8,)).to(device)
        loss = nn.functional.cross_entropy(model(x.to(device)), y)
        loss.backward()
        assert model.weight.grad.shape == (3, 4)
        assert f"{loss.cpu().item():.4f}" == f"{loss:.4f}"
    finally:
        ac.backends.cudnn.benchmark = False
