"""torchvision.models: the zoo of ``autograd_cnn.models`` with torchvision's constructors,
``resnet18(*, weights=None, progress=True, **kwargs)``.

``weights`` is None (random initialisation, as torchvision's default), a state dict, or the path
of a file the user brings: a PyTorch ``.pth`` (read without torch and without running pickled
code, ``ac.load_torch``) or a file saved by ``ac.save``. The models whose torchvision namesake
exists (alexnet, vgg*, resnet*) have its state_dict keys, so torchvision's ImageNet files load
as they are. Nothing is downloaded: a weights *name* (``'IMAGENET1K_V1'``, ``'DEFAULT'``,
``ResNet18_Weights.DEFAULT``, ``pretrained=True``) raises a ValueError saying to pass a path.
Other keyword arguments (``num_classes``, ...) go to the builder.
"""

from __future__ import annotations

import os
import zipfile

from ... import models as _zoo
from ...models import __all__ as _zoo_all
from ...serialization import load as _load
from ...torch_format import load_torch as _load_torch

_TORCHVISION = {
    # constructor name: (weights enum name, its members)
    "alexnet": ("AlexNet_Weights", ("IMAGENET1K_V1",)),
    "googlenet": ("GoogLeNet_Weights", ("IMAGENET1K_V1",)),
    "resnet18": ("ResNet18_Weights", ("IMAGENET1K_V1",)),
    "resnet34": ("ResNet34_Weights", ("IMAGENET1K_V1",)),
    "resnet50": ("ResNet50_Weights", ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    "resnet101": ("ResNet101_Weights", ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    "resnet152": ("ResNet152_Weights", ("IMAGENET1K_V1", "IMAGENET1K_V2")),
    **{f"vgg{d}{bn}": (f"VGG{d}{bn.upper()}_Weights", ("IMAGENET1K_V1",))
       for d in (11, 13, 16, 19) for bn in ("", "_bn")},
}


class WeightsName(str):
    """A member of a torchvision weights enum (``ResNet18_Weights.IMAGENET1K_V1``): only a
    name here, since nothing is downloaded; passing it as ``weights=`` explains that."""

    def __new__(cls, enum: str, member: str):
        obj = super().__new__(cls, f"{enum}.{member}")
        obj.name = member
        return obj


def _weights_enum(enum: str, members) -> type:
    attrs = {m: WeightsName(enum, m) for m in members}
    attrs["DEFAULT"] = attrs[members[-1]]
    attrs["__doc__"] = (f"torchvision's {enum} names (not downloadable here): pass a path to a "
                        "weights file you brought instead")
    return type(enum, (), attrs)


def _is_weights_name(value: str) -> bool:
    """'IMAGENET1K_V1', 'DEFAULT', 'ResNet18_Weights.IMAGENET1K_V1' (not a file name)."""
    last = value.rsplit(".", 1)[-1]
    return (isinstance(value, WeightsName) or (last.isupper() or last == "DEFAULT")
            and "/" not in value and os.sep not in value)


def _no_download(name: str, weights) -> ValueError:
    return ValueError(
        f"{name}: weights={str(weights)!r} names torchvision's pretrained weights, and nothing "
        "is downloaded here; fetch the .pth file yourself (the URLs are in torchvision's "
        f"model docs) and pass weights='path/to/{name}.pth', or pass a state dict")


def load_weights(model, weights, name: str = "model"):
    """Load ``weights`` (a state dict, or the path of a .pth / ac.save file) into ``model``."""
    if isinstance(weights, (str, os.PathLike)):
        path = os.fspath(weights)
        if not os.path.exists(path):
            if _is_weights_name(path):
                raise _no_download(name, weights)
            raise FileNotFoundError(f"{name}: weights file {path!r} does not exist")
        state = _load_torch(path) if zipfile.is_zipfile(path) else _load(path)
    elif isinstance(weights, dict):
        state = weights
    else:
        raise TypeError(f"{name}: weights must be None, a state dict or the path of a weights "
                        f"file, got {type(weights).__name__}")
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]                 # a training checkpoint wrapping the weights
    model.load_state_dict(state)
    return model


def _make_constructor(name: str):
    builder = getattr(_zoo, name)

    def constructor(*, weights=None, progress: bool = True, **kwargs):
        if "pretrained" in kwargs:                  # torchvision's deprecated spelling
            if kwargs.pop("pretrained"):
                raise _no_download(name, "pretrained=True")
        model = builder(**kwargs)
        if weights is not None:
            load_weights(model, weights, name)
        return model

    constructor.__name__ = constructor.__qualname__ = name
    constructor.__doc__ = (f"torchvision's ``{name}(*, weights=None, progress=True, **kwargs)``: "
                           f"``autograd_cnn.models.{name}(**kwargs)``, then ``weights`` (None, a "
                           "state dict or a file path) loaded into it.\n\n"
                           + (builder.__doc__ or ""))
    return constructor


# the library's classes and builders (LeNet5, ResNet, BasicBlock, resnet20, ...) under their names
globals().update({n: getattr(_zoo, n) for n in _zoo_all})
for _name, (_enum, _members) in _TORCHVISION.items():
    globals()[_name] = _make_constructor(_name)
    globals()[_enum] = _weights_enum(_enum, _members)


def list_models() -> list[str]:
    """The names of the torchvision constructors provided here."""
    return sorted(_TORCHVISION)


def get_model(name: str, **config):
    """``get_model('resnet18', weights=None, num_classes=10)``."""
    if name not in _TORCHVISION:
        raise ValueError(f"get_model: unknown model {name!r}; available: {list_models()}")
    return globals()[name](**config)


__all__ = sorted(set(_zoo_all) | set(_TORCHVISION) | {e for e, _ in _TORCHVISION.values()}
                 | {"list_models", "get_model", "load_weights", "WeightsName"})
