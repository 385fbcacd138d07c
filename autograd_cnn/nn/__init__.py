"""Neural-network building blocks with PyTorch's API: ``Module`` and ``Parameter``, the
containers, layers, losses as modules, ``nn.init`` and ``nn.utils``.

    import autograd_cnn.nn as nn
    import autograd_cnn.nn.functional as F     # the same object as autograd_cnn.functional

    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 2))
    loss = nn.CrossEntropyLoss()(model(x), y)

Files: module.py (Module), parameter.py, containers.py, linear.py (Linear, Flatten, Identity),
conv.py, pooling.py (also Upsample, PixelShuffle), padding.py, distance.py (CosineSimilarity,
PairwiseDistance), activation.py, dropout.py, normalization.py,
sparse.py (Embedding), loss.py, init.py, utils.py (gradient clipping, freeze_except_last),
style.py (Gram matrix, style and content losses of neural style transfer).
"""

import sys as _sys

from .. import functional
from . import init, style, utils
from .activation import (ELU, GELU, Hardsigmoid, Hardswish, Hardtanh, LeakyReLU, LogSigmoid,
                         LogSoftmax, Mish, PReLU, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Softplus,
                         Softsign, Step, Tanh)
from .containers import ModuleDict, ModuleList, ParameterDict, ParameterList, Sequential
from .conv import Conv1d, Conv2d, ConvTranspose2d
from .distance import CosineSimilarity, PairwiseDistance
from .dropout import Dropout, Dropout2d
from .linear import Flatten, Identity, Linear, Unflatten
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, HuberLoss, KLDivLoss, L1Loss,
                   MSELoss, MultiMarginLoss, MulticlassSVMLoss, NLLLoss, SmoothL1Loss,
                   TripletMarginLoss, SquaredTripletLoss, DiceLoss)
from .module import IncompatibleKeys, Module, RemovableHandle, StateDictError
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm, LocalResponseNorm
from .padding import (CircularPad2d, ConstantPad2d, ReflectionPad2d, ReplicationPad2d,
                      ZeroPad2d)
from .parameter import Parameter
from .pooling import (AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d, MaxPool1d,
                      MaxPool2d, MaxUnpool2d, PixelShuffle, PixelUnshuffle, Upsample)
from .sparse import Embedding

# `import autograd_cnn.nn.functional as F` finds the one functional package
_sys.modules[__name__ + ".functional"] = functional

__all__ = [
    "Module", "Parameter", "RemovableHandle", "IncompatibleKeys", "StateDictError",
    "Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict",
    "Identity", "Linear", "Flatten", "Unflatten", "Conv1d", "Conv2d", "ConvTranspose2d",
    "MaxPool1d", "AvgPool1d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d",
    "MaxUnpool2d", "Upsample", "PixelShuffle", "PixelUnshuffle", "Embedding",
    "Dropout", "Dropout2d", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm",
    "LocalResponseNorm", "ZeroPad2d", "ConstantPad2d", "ReflectionPad2d", "ReplicationPad2d",
    "CircularPad2d", "CosineSimilarity", "PairwiseDistance",
    "ReLU", "LeakyReLU", "PReLU", "ELU", "Sigmoid", "Tanh", "Softplus", "Hardtanh", "Softmax",
    "LogSoftmax", "Step", "GELU", "SiLU", "Mish", "Hardswish", "Hardsigmoid", "ReLU6",
    "LogSigmoid", "Softsign",
    "CrossEntropyLoss", "NLLLoss", "MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss",
    "BCEWithLogitsLoss", "MultiMarginLoss", "MulticlassSVMLoss", "TripletMarginLoss",
    "SquaredTripletLoss", "DiceLoss",
    "KLDivLoss",
    "functional", "init", "style", "utils",
]
