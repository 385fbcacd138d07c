"""Neural-network building blocks with PyTorch's API: ``Module`` and ``Parameter``, the
containers, layers, losses as modules, ``nn.init`` and ``nn.utils``.

    import autograd_cnn.nn as nn
    import autograd_cnn.nn.functional as F     # the same object as autograd_cnn.functional

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = nn.CrossEntropyLoss()(model(x), y)

Files: module.py (Module), parameter.py, containers.py, linear.py (Linear, Flatten, Identity),
conv.py, pooling.py (also Upsample), activation.py, dropout.py, normalization.py, loss.py,
init.py, utils.py (gradient clipping, freeze_except_last), style.py (Gram matrix, style and
content losses of neural style transfer).
"""

import sys as _sys

from .. import functional
from . import init, style, utils
from .activation import (ELU, Hardtanh, LeakyReLU, LogSoftmax, PReLU, ReLU, Sigmoid, Softmax,
                         Softplus, Step, Tanh)
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv2d, ConvTranspose2d
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, MultiMarginLoss, MulticlassSVMLoss, NLLLoss, SmoothL1Loss,
                   TripletMarginLoss, SquaredTripletLoss, DiceLoss)
from .module import IncompatibleKeys, Module, RemovableHandle, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, LocalResponseNorm
from .parameter import Parameter
from .pooling import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, MaxUnpool2d,
                      Upsample)

# `import autograd_cnn.nn.functional as F` finds the one functional package
_sys.modules[__name__ + ".functional"] = functional

__all__ = [
    "Module", "Parameter", "RemovableHandle", "IncompatibleKeys", "StateDictError",
    "Sequential", "ModuleList", "ModuleDict",
    "Identity", "Linear", "Flatten", "Unflatten", "Conv2d", "ConvTranspose2d",
    "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "MaxUnpool2d", "Upsample",
    "Dropout", "Dropout2d", "BatchNorm1d", "BatchNorm2d", "LocalResponseNorm",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Hardtanh", "Softmax",
    "LogSoftmax", "Step",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
    "BCEWithLogitsLoss", "MultiMarginLoss", "MulticlassSVMLoss", "TripletMarginLoss",
    "SquaredTripletLoss", "DiceLoss",
    "KLDivLoss",
    "functional", "init", "style", "utils",
]
