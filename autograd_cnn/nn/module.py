"""``Module``: the base class of layers and models, with PyTorch's API.

A Module registers what is assigned to its attributes: a ``Parameter`` becomes a parameter, a
Module a submodule, and ``register_buffer`` adds state that is not learned (BatchNorm's running
statistics). From these it derives everything else recursively, with dotted names
(``features.0.weight``): ``parameters()``, ``named_modules()``, ``state_dict()``,
``load_state_dict()``, ``train()/eval()``, ``zero_grad()``, ``double()/float()``,
``requires_grad_()`` and the printed tree (``repr``).

Calling a module runs its forward pre-hooks, ``forward`` and its forward hooks; the hook
registrations return handles whose ``remove()`` takes the hook off again.
"""

from __future__ import annotations

import difflib
import itertools
from collections import OrderedDict
from typing import Iterator, NamedTuple

import numpy as np

from ..capture import structure_changed
from ..devices import check_device, parse_to_args
from ..engine import no_grad
from ..tensor import Tensor, zero_grad
from .parameter import Parameter

__all__ = ["Module", "RemovableHandle", "IncompatibleKeys", "StateDictError"]


class StateDictError(RuntimeError, ValueError):
    """``load_state_dict`` found missing, unexpected or mismatched entries (nothing was loaded).
    A RuntimeError as in PyTorch, and a ValueError because the state dict is a bad value."""


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: the model's keys absent from the state dict, and the
    state dict's keys the model does not have."""

    missing_keys: list
    unexpected_keys: list


class RemovableHandle:
    """Returned by the ``register_*_hook`` methods: ``handle.remove()`` unregisters the hook.
    Also a context manager: ``with model.register_forward_hook(fn): ...``."""

    _ids = itertools.count()

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def _check_name(name, kind: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")


def _indent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    return lines[0] if len(lines) == 1 else \
        lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


class Module:
    """Base class of every layer and model: subclass it, create parameters and submodules in
    ``__init__`` (after ``super().__init__()``), compute in ``forward``, and call the module
    (``model(x)``), not ``forward``, so that hooks run."""

    training: bool
    # buffers a state dict may lack without being "missing" (they keep their current value):
    # BatchNorm's num_batches_tracked, absent from checkpoints written before it existed
    _optional_buffers: tuple = ()

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    def forward(self, *args, **kwargs):
        raise NotImplementedError(
            f'Module [{type(self).__name__}] is missing the required "forward" function: '
            "define forward(self, ...) in the subclass"
        )

    # ---- calling -------------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in list(self._forward_pre_hooks.values()):
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in list(self._forward_hooks.values()):
                result = hook(self, args, out)
                if result is not None:
                    out = result
        return out

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs, output)`` runs after every forward; a non-None return value
        replaces the output. ``inputs`` is the tuple of positional arguments."""
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        return handle

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs)`` runs before every forward; a non-None return value (a tuple,
        or a single value) replaces the positional arguments."""
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        return handle

    # ---- registration --------------------------------------------------------------------------

    def _need_init(self, what: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {what} before Module.__init__() call: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )

    def register_parameter(self, name: str, param) -> None:
        """Add ``param`` (a Parameter, or None for an absent one such as a disabled bias)."""
        self._need_init("parameters")
        _check_name(name, "parameter")
        if hasattr(type(self), name) or (name in self.__dict__):
            raise KeyError(f"attribute '{name}' already exists on {type(self).__name__}")
        if name in self._buffers or name in self._modules:
            raise KeyError(f"'{name}' is already a buffer or submodule of "
                           f"{type(self).__name__}")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign a {type(param).__name__} as parameter '{name}' "
                            "(nn.Parameter or None expected); wrap it: nn.Parameter(t)")
        self._parameters[name] = param
        structure_changed()

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add state that is not a parameter (saved in ``state_dict`` unless persistent=False,
        converted by ``double()``/``float()``, never returned by ``parameters()``)."""
        self._need_init("buffers")
        _check_name(name, "buffer")
        if (hasattr(type(self), name) or name in self.__dict__ or name in self._parameters
                or name in self._modules):
            raise KeyError(f"attribute '{name}' already exists on {type(self).__name__}")
        if isinstance(tensor, np.ndarray):
            tensor = Tensor(tensor)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign a {type(tensor).__name__} as buffer '{name}' "
                            "(Tensor, numpy array or None expected)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module) -> None:
        """Add a submodule (or None) under ``name``."""
        self._need_init("submodules")
        _check_name(name, "module")
        if hasattr(type(self), name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists on {type(self).__name__}")
        if module is not None and not isinstance(module, Module):
            if isinstance(module, type) and issubclass(module, Module):
                raise TypeError(f"submodule '{name}' is the class {module.__name__}, not an "
                                f"instance: write {module.__name__}(...)")
            raise TypeError(f"submodule '{name}' must be a Module or None, got "
                            f"{type(module).__name__}")
        self._modules[name] = module
        structure_changed()

    register_module = add_module

    def __setattr__(self, name: str, value) -> None:
        d = self.__dict__
        params, buffers, modules = d.get("_parameters"), d.get("_buffers"), d.get("_modules")
        if isinstance(value, Parameter):
            self._need_init("parameters")
            for store in (d, buffers, modules):
                store.pop(name, None)
            self._parameters[name] = value
            structure_changed()
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as parameter "
                                f"'{name}' (nn.Parameter or None expected)")
            params[name] = None
        elif isinstance(value, Module):
            self._need_init("submodules")
            for store in (d, params, buffers):
                store.pop(name, None)
            modules[name] = value
            structure_changed()
        elif modules is not None and name in modules:
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} as submodule "
                                f"'{name}' (Module or None expected)")
            modules[name] = None
        elif buffers is not None and name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign a {type(value).__name__} as buffer '{name}' "
                                "(Tensor or None expected)")
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        # called only when normal lookup fails: look in the registries
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            registry = d.get(store)
            if registry is not None and name in registry:
                return registry[name]
        known = [k for store in ("_parameters", "_buffers", "_modules")
                 for k in d.get(store, ())]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'{hint}")

    def __delattr__(self, name: str) -> None:
        for store in ("_parameters", "_buffers", "_modules"):
            registry = self.__dict__.get(store)
            if registry is not None and name in registry:
                del registry[name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self):
        names = set(super().__dir__())
        for store in ("_parameters", "_buffers", "_modules"):
            names.update(self.__dict__.get(store, ()))
        return sorted(names)

    # ---- walking the tree ----------------------------------------------------------------------

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module ('' or ``prefix``) and every descendant,
        depth first in registration order; a module reachable twice is listed once."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            yield from child.named_modules(memo, prefix + ("." if prefix else "") + name,
                                           remove_duplicate)

    def modules(self) -> Iterator["Module"]:
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator["Module"]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, store: str, prefix: str, recurse: bool, remove_duplicate: bool):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for name, value in getattr(mod, store).items():
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield mod_prefix + ("." if mod_prefix else "") + name, value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two layers appears once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> "Module":
        """The submodule at a dotted path ('' is this module): ``model.get_submodule('layer1.0')``."""
        mod = self
        if target == "":
            return mod
        walked = []
        for part in target.split("."):
            child = mod._modules.get(part)
            if not isinstance(child, Module):
                where = ".".join(walked) or type(self).__name__
                raise AttributeError(f"{where} has no submodule '{part}' (looking up "
                                     f"'{target}'); it has: {list(mod._modules)}")
            walked.append(part)
            mod = child
        return mod

    def apply(self, fn) -> "Module":
        """Call ``fn(m)`` on every submodule (children first) and on this module; returns self.
        Typical use: custom initialisation."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- modes and gradients -------------------------------------------------------------------

    def train(self, mode: bool = True) -> "Module":
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for this module and all
        its descendants; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train(): mode must be a bool, got {type(mode).__name__} ({mode!r})")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> "Module":
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Set requires_grad on every parameter (False freezes them: transfer learning)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every parameter (None, or zeros with set_to_none=False)."""
        for p in self.parameters():
            zero_grad(p, set_to_none)

    # ---- dtype conversion ----------------------------------------------------------------------

    def _cast_floats(self, dtype) -> "Module":
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"can only convert a module to a floating dtype, got {dtype}")
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    if t is None or t.dtype.kind != "f" or t.dtype == dtype:
                        continue
                    # in place on the same object: optimisers and hooks keep their references
                    t._data = t._data.astype(dtype)
                    t._bump_version()
                    if t.grad is not None:      # the same tensor, as for the parameter
                        t.grad._data = t.grad._data.astype(dtype)
                        t.grad._bump_version()
        return self

    def double(self) -> "Module":
        """Parameters and floating buffers to float64 (in place; returns self)."""
        return self._cast_floats(np.float64)

    def float(self) -> "Module":
        """Parameters and floating buffers to float32 (in place; returns self)."""
        return self._cast_floats(np.float32)

    def to(self, *args, **kwargs) -> "Module":
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)`` or ``to(tensor)``: floating
        parameters and buffers to the dtype (in place; returns self). This library runs on the
        CPU only: another device raises ``DeviceError`` (see ``devices.py``)."""
        dtype, _ = parse_to_args(args, kwargs, "Module.to()")
        return self if dtype is None else self._cast_floats(dtype)

    def cpu(self) -> "Module":
        return self

    def cuda(self, device=None) -> "Module":
        """Always refused: autograd_cnn has no GPU."""
        check_device("cuda" if device is None else device, "Module.cuda()")

    # ---- state dict ----------------------------------------------------------------------------

    def state_dict(self, destination=None, prefix: str = "", keep_vars: bool = False):
        """An OrderedDict from dotted names to the parameters and persistent buffers (each
        module's parameters, then its buffers, then its children's entries). The values share
        memory with the model (detached unless keep_vars=True): copy them to keep a snapshot."""
        if destination is None:
            destination = OrderedDict()
        for name, p in self._parameters.items():
            if p is not None:
                destination[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent_buffers:
                destination[prefix + name] = b if keep_vars else b.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(destination, prefix + name + ".", keep_vars)
        return destination

    def load_state_dict(self, state_dict, strict: bool = True) -> IncompatibleKeys:
        """Copy values (Tensors or numpy arrays) into the parameters and buffers, in place.

        Everything is checked first: with strict=True missing or unexpected keys are errors;
        a wrong shape, a dtype that cannot be cast (float into an int buffer) or a value that is
        not an array is always an error. On any error a StateDictError listing ALL problems is
        raised and nothing is changed (PyTorch writes some entries before it raises). Returns
        ``(missing_keys, unexpected_keys)``."""
        if not hasattr(state_dict, "keys") or not hasattr(state_dict, "__getitem__"):
            raise TypeError(f"load_state_dict: expected a dict, got {type(state_dict).__name__}")
        expected = self.state_dict(keep_vars=True)
        optional = {f"{prefix}{'.' if prefix else ''}{name}"
                    for prefix, m in self.named_modules(remove_duplicate=False)
                    for name in m._optional_buffers}
        missing = [k for k in expected if k not in state_dict and k not in optional]
        unexpected = [k for k in state_dict.keys() if k not in expected]
        problems, plan = [], []
        for key, target in expected.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, Tensor):
                arr = value._data
            elif isinstance(value, (np.ndarray, np.generic, int, float, bool)):
                arr = np.asarray(value)
            else:
                problems.append(f"{key}: expected a Tensor or numpy array, got "
                                f"{type(value).__name__}")
                continue
            if arr.shape != target.shape:
                problems.append(f"size mismatch for {key}: copying a param with shape "
                                f"{arr.shape} from the state dict, the shape in the current "
                                f"model is {target.shape}")
            elif not np.can_cast(arr.dtype, target.dtype, "same_kind"):
                problems.append(f"dtype mismatch for {key}: the state dict holds {arr.dtype}, "
                                f"which cannot be cast to the model's {target.dtype}")
            else:
                plan.append((target, arr))
        if problems or (strict and (missing or unexpected)):
            lines = []
            if strict and unexpected:
                lines.append("Unexpected key(s) in state_dict: "
                             + ", ".join(f'"{k}"' for k in unexpected) + ".")
            if strict and missing:
                lines.append("Missing key(s) in state_dict: "
                             + ", ".join(f'"{k}"' for k in missing) + ".")
            lines.extend(problems)
            raise StateDictError(
                f"Error(s) in loading state_dict for {type(self).__name__} (nothing was "
                "loaded):\n\t" + "\n\t".join(lines)
            )
        with no_grad():
            for target, arr in plan:
                np.copyto(target._data, arr, casting="same_kind")
                target._bump_version()
        return IncompatibleKeys(missing, unexpected)

    # ---- printing ------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The configuration printed inside the parentheses (layers override it)."""
        return ""

    def __repr__(self) -> str:
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = [f"({name}): {_indent(repr(m), 2)}" for name, m in self._modules.items()]
        lines = extra_lines + child_lines
        text = type(self).__name__ + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                text += extra_lines[0]
            else:
                text += "\n  " + "\n  ".join(lines) + "\n"
        return text + ")"
