"""Devices, as no-ops on the CPU: the device lines of PyTorch code run unchanged.

autograd_cnn computes on the CPU only. Code written for PyTorch still names devices everywhere,

    device = ac.device("cuda" if ac.cuda.is_available() else "cpu")   # -> device(type='cpu')
    model.to(device); x = ac.zeros(3, device=device); x = x.to(device, ac.float64)

so this module provides what those lines touch, each as in PyTorch on a machine without a GPU:

    ac.device(...)                          device(type='cpu'), device(type='cuda', index=1), ...
    ac.cuda.is_available() / device_count()     False / 0 (manual_seed, empty_cache: no-ops)
    ac.accelerator.current_accelerator()        None (is_available() False, device_count() 0)
    ac.backends.cudnn.benchmark / deterministic plain flags; backends.mps.is_available() False
    Tensor.device / .is_cuda / .to(...) / .cpu() / .cuda()
    device=  on every constructor (``accept_device`` wraps them)

Naming a device is always allowed; *using* one other than the CPU (moving a tensor or a module
there, creating a tensor on it) raises ``DeviceError``, which says what was asked for and that
this library is CPU-only. ``ac.cuda``, ``ac.backends`` (with ``cudnn``, ``mps``, ``cuda``) and
``ac.accelerator`` are registered as modules, so ``import autograd_cnn.backends.cudnn as cudnn``
works too.
"""

from __future__ import annotations

import functools
import inspect
import sys
import types

import numpy as np

from .functional.elementwise import cast
from .tensor import Tensor

__all__ = ["device", "DeviceError", "cuda", "backends", "accelerator", "get_default_device",
           "set_default_device", "check_device", "parse_to_args", "accept_device"]

# PyTorch's device types (the string before the optional ':index')
_KNOWN_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")


class DeviceError(RuntimeError, AssertionError):
    """A device other than the CPU was used. PyTorch without CUDA raises AssertionError ("Torch
    not compiled with CUDA enabled") for 'cuda' and RuntimeError for 'mps'; this class is both,
    so either ``except`` catches it."""


class device:
    """Where a tensor lives: ``device('cpu')``, ``device('cuda:1')``, ``device('cuda', 0)``.

    As in PyTorch: ``type`` and ``index`` (None unless given), ``str(d)`` is 'cpu' or 'cuda:1',
    two devices are equal when type and index are, and a device is not equal to a string.
    Constructing any PyTorch device type works; only 'cpu' can hold tensors here.
    """

    __slots__ = ("_type", "_index")

    def __init__(self, type, index=None):
        if isinstance(type, device):
            if index is not None:
                raise TypeError(f"device: got an index ({index!r}) with a device ({type!r})")
            self._type, self._index = type._type, type._index
            return
        if isinstance(type, (int, np.integer)) and not isinstance(type, bool):
            # PyTorch reads a bare int as an accelerator index
            raise DeviceError(f"device({type}): an integer names an accelerator (GPU) index, and "
                              "autograd_cnn has none: it runs on the CPU only (use 'cpu')")
        if not isinstance(type, str):
            raise TypeError(f"device: expected a string such as 'cpu' or 'cuda:0', got "
                            f"{_type_name(type)} ({type!r})")
        name, sep, suffix = type.partition(":")
        if sep:
            if index is not None:
                raise ValueError(f"device: {type!r} already has an index; got index={index!r} too")
            if not suffix.isdigit():
                raise ValueError(f"device: invalid device string {type!r}; expected 'type' or "
                                 "'type:index' with a non-negative integer index, e.g. 'cuda:0'")
            index = int(suffix)
        if name not in _KNOWN_TYPES:
            raise ValueError(f"device: unknown device type {name!r} in {type!r}; expected one of "
                             f"{', '.join(_KNOWN_TYPES)} (autograd_cnn itself runs on 'cpu')")
        if index is not None:
            if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
                raise ValueError(f"device: index must be a non-negative int, got {index!r}")
            index = int(index)
        self._type, self._index = name, index

    @property
    def type(self) -> str:
        return self._type

    @property
    def index(self):
        return self._index

    def __eq__(self, other):
        if not isinstance(other, device):
            return NotImplemented
        return (self._type, self._index) == (other._type, other._index)

    def __hash__(self):
        return hash((self._type, self._index))

    def __str__(self):
        return self._type if self._index is None else f"{self._type}:{self._index}"

    def __repr__(self):
        if self._index is None:
            return f"device(type={self._type!r})"
        return f"device(type={self._type!r}, index={self._index})"

    def __reduce__(self):
        return (device, (self._type, self._index))


_CPU = device("cpu")


def _type_name(x) -> str:
    return type(x).__name__


def _refuse(asked, where: str):
    """Raise DeviceError for the device ``asked`` (a device or a string)."""
    if str(asked).startswith("cuda"):
        hint = ("ac.cuda.is_available() is False, so the usual "
                "`device = ac.device('cuda' if ac.cuda.is_available() else 'cpu')` picks the CPU")
    else:
        hint = "use 'cpu' (or leave the device out)"
    raise DeviceError(f"{where}: device {str(asked)!r} is not available: autograd_cnn runs on "
                      f"the CPU only; {hint}")


def check_device(dev, where: str) -> device:
    """``dev`` (None, a string, a ``device``) as a device; DeviceError unless it is the CPU."""
    if dev is None:
        return _CPU
    d = dev if isinstance(dev, device) else device(dev)
    if d.type != "cpu":
        _refuse(d, where)
    return d


def _is_device_like(a) -> bool:
    if isinstance(a, device):
        return True
    if isinstance(a, str):
        return a.partition(":")[0] in _KNOWN_TYPES
    return isinstance(a, (int, np.integer)) and not isinstance(a, bool)


def parse_to_args(args: tuple, kwargs: dict, where: str):
    """The dtype asked for by ``to(...)`` in any of PyTorch's forms, or None; the device is
    checked (CPU only) and dropped. Forms: ``to(device)``, ``to(dtype)``, ``to(device, dtype)``,
    ``to(tensor)`` (its dtype), and the keywords ``device=``, ``dtype=``, ``non_blocking=``,
    ``copy=`` (returned separately: ``(dtype, copy)``)."""
    kwargs = dict(kwargs)
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"{where}: unexpected keyword argument(s) {', '.join(sorted(kwargs))}; "
                        "expected device=, dtype=, non_blocking=, copy=")
    rest = list(args)
    if rest and isinstance(rest[0], Tensor):
        dtype = rest.pop(0).dtype
    elif rest and _is_device_like(rest[0]):
        dev = rest.pop(0)
    if rest and not isinstance(rest[0], bool):
        if dtype is not None:
            raise TypeError(f"{where}: dtype given twice ({rest[0]!r} and {dtype!r})")
        dtype = rest.pop(0)
    if rest and isinstance(rest[0], bool):      # non_blocking, then copy, as in PyTorch
        rest.pop(0)
        if rest and isinstance(rest[0], bool):
            copy = rest.pop(0)
    if rest:
        raise TypeError(f"{where}: cannot read the arguments {args!r}; expected to(device), "
                        "to(dtype), to(device, dtype) or to(other_tensor)")
    check_device(dev, where)
    if dtype is not None:
        if isinstance(dtype, str) and _is_device_like(dtype):
            raise TypeError(f"{where}: expected a dtype after the device, got the device "
                            f"string {dtype!r}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{where}: expected a device or a dtype, got {_type_name(dtype)} "
                            f"({dtype!r})") from None
    return dtype, copy


# ---- what Tensor.to() and Tensor.cuda() run (tensor_methods.py) -----------------------------


def _tensor_to(self, *args, **kwargs) -> Tensor:
    """``x.to(device)``, ``x.to(dtype)``, ``x.to(device, dtype)``, ``x.to(other)``: ``x`` itself
    when nothing changes (as in PyTorch), else a cast that stays in the graph (differentiable
    between floating dtypes). ``copy=True`` always returns a new tensor."""
    dtype, copy = parse_to_args(args, kwargs, "to()")
    if dtype is None or dtype == self.dtype:
        return self.clone() if copy else self
    return cast(self, dtype)


def _tensor_cuda(self, device=None, non_blocking: bool = False, memory_format=None):
    """Always refused: autograd_cnn has no GPU."""
    _refuse("cuda" if device is None else
            f"cuda:{device}" if isinstance(device, int) else device, "cuda()")


# ---- device= on the constructors --------------------------------------------------------------


def accept_device(fn):
    """``fn`` with a keyword-only ``device=`` argument that must name the CPU (then ignored)."""
    name = fn.__name__

    @functools.wraps(fn)
    def constructor(*args, device=None, **kwargs):
        if device is not None:
            check_device(device, f"{name}()")
        return fn(*args, **kwargs)

    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    extra = inspect.Parameter("device", inspect.Parameter.KEYWORD_ONLY, default=None)
    at = len(params) - (params and params[-1].kind == inspect.Parameter.VAR_KEYWORD)
    constructor.__signature__ = sig.replace(parameters=params[:at] + [extra] + params[at:])
    return constructor


# ---- the namespaces scripts query: ac.cuda, ac.accelerator, ac.backends ----------------------


def _module(name: str, doc: str, **members) -> types.ModuleType:
    """A module object registered under ``autograd_cnn.<name>`` (so ``import`` finds it)."""
    mod = types.ModuleType(f"autograd_cnn.{name}", doc)
    mod.__dict__.update(members)
    sys.modules[mod.__name__] = mod
    return mod


def _no_gpu(what: str):
    def refuse(*args, **kwargs):
        raise DeviceError(f"cuda.{what}(): autograd_cnn has no CUDA device: it runs on the CPU "
                          "only (ac.cuda.is_available() is False)")
    refuse.__name__ = what
    return refuse


def _noop(*args, **kwargs) -> None:
    """Does nothing (as in PyTorch when CUDA is not available)."""


cuda = _module(
    "cuda", "CUDA as PyTorch reports it on a machine without a GPU.",
    is_available=lambda: False,
    device_count=lambda: 0,
    is_initialized=lambda: False,
    manual_seed=_noop, manual_seed_all=_noop, seed=_noop, seed_all=_noop, empty_cache=_noop,
    # memory logging lines in training loops: no CUDA memory is ever allocated
    memory_allocated=lambda device=None: 0, max_memory_allocated=lambda device=None: 0,
    memory_reserved=lambda device=None: 0,
    synchronize=_no_gpu("synchronize"), current_device=_no_gpu("current_device"),
    get_device_name=_no_gpu("get_device_name"), set_device=_no_gpu("set_device"),
    get_device_properties=_no_gpu("get_device_properties"),
)

accelerator = _module(
    "accelerator", "The current accelerator: none (autograd_cnn runs on the CPU).",
    current_accelerator=lambda check_available=False: None,
    is_available=lambda: False,
    device_count=lambda: 0,
)

_cudnn = _module(
    "backends.cudnn", "cuDNN flags: settable, read back, and without effect on the CPU.",
    enabled=True, benchmark=False, deterministic=False, allow_tf32=True,
    is_available=lambda: False, version=lambda: None,
)
_mps = _module("backends.mps", "Apple's Metal backend: not available.",
               is_available=lambda: False, is_built=lambda: False)
_backends_cuda = _module(
    "backends.cuda", "CUDA backend flags (without effect here).",
    matmul=types.SimpleNamespace(allow_tf32=False), is_built=lambda: False,
)
backends = _module("backends", "Backend flags as PyTorch has them (no-ops on the CPU).",
                   cudnn=_cudnn, mps=_mps, cuda=_backends_cuda)


def get_default_device() -> device:
    """The device new tensors are made on: always the CPU."""
    return _CPU


def set_default_device(dev) -> None:
    """Accepts only the CPU (or None), which is already the default."""
    if dev is not None:
        check_device(dev, "set_default_device()")


# the constructors ``autograd_cnn/__init__.py`` exports wrapped with ``accept_device``
CONSTRUCTORS = ("tensor", "as_tensor", "zeros", "ones", "full", "empty", "rand", "randn",
                "randint", "randperm", "arange", "linspace", "eye", "zeros_like", "ones_like",
                "full_like", "empty_like", "rand_like", "randn_like")
