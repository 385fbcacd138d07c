"""autograd_cnn: a readable reverse-mode autograd engine with a CNN layer zoo.

    import autograd_cnn as ac
    x = ac.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()
    x.grad            # tensor([[2., 4.]])

The scalar ``Value`` graph and the array ``Tensor`` graph share one engine (``engine.py``).
"""

__version__ = "0.1.0"

from . import engine
from .errors import DTypeError, ShapeError
from .dual import Dual
from .engine import (
    detect_anomaly, enable_grad, inference_mode, is_anomaly_enabled, is_grad_enabled,
    is_inference_mode_enabled, no_grad, set_grad_enabled,
)
from .random import Generator, manual_seed
from .tensor import (
    Size, Tensor, arange, as_tensor, bernoulli, bool_, empty, empty_like, eye, float32, float64,
    from_numpy, full, full_like, get_default_dtype, grad, int32, int64, linspace, normal, ones,
    ones_like, rand, rand_like, randint, randn, randn_like, randperm, set_default_dtype, tensor,
    zeros, zeros_like,
)
from .value import Value
from . import functional
from .functional import cat, einsum, hstack, maximum, minimum, stack, vstack, where
from .toplevel import *  # noqa: F401,F403  (ac.max(x, 1), ac.flatten(x), ac.float, ac.long, ...)
from . import devices
from .devices import (
    DeviceError, accelerator, backends, cuda, device, get_default_device, set_default_device,
)

# device= on every constructor (the CPU, or a DeviceError): the exported ones are wrapped
for _name in devices.CONSTRUCTORS:
    globals()[_name] = devices.accept_device(globals()[_name])
del _name
from .testing import GradcheckError, gradcheck, gradgradcheck
from . import autograd
from . import nn, optim
from .serialization import CheckpointError, load, save
from .torch_format import load_torch
from . import data, metrics, models, ops, utils
from .summary import summary
from .backend import configure
from . import tuning
from .capture import compile  # noqa: A001  (torch.compile's name)

# Loaded on first use (PEP 562): graph drawing needs graphviz, which a training script never
# touches; ``ac.viz`` works as before.
_LAZY = ("viz",)


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'autograd_cnn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
