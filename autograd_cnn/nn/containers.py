"""Containers: ``Sequential`` (a chain: each module's output is the next one's input),
``ModuleList`` and ``ModuleDict`` (hold submodules so they are registered; you write the
forward), ``ParameterList`` and ``ParameterDict`` (the same for Parameters)."""

from __future__ import annotations

import operator
from collections import OrderedDict

from .module import Module
from .parameter import Parameter

__all__ = ["Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"]


def _index(idx, n: int, owner: str) -> int:
    try:
        idx = operator.index(idx)
    except TypeError:
        raise TypeError(f"{owner} indices must be integers or slices, got "
                        f"{type(idx).__name__}") from None
    if not -n <= idx < n:
        raise IndexError(f"{owner} index {idx} is out of range for {n} module(s)")
    return idx % n


class _IndexedModules(Module):
    """What Sequential and ModuleList share: modules under the keys '0', '1', ... (Sequential
    may also use names), indexable with ints (negative too) and slices."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def _key(self, idx) -> str:
        return list(self._modules)[_index(idx, len(self._modules), type(self).__name__)]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)._from_items(list(self._modules.items())[idx])
        return self._modules[self._key(idx)]

    def __setitem__(self, idx, module) -> None:
        self.add_module(self._key(idx), module)

    def __delitem__(self, idx) -> None:
        if isinstance(idx, slice):
            for key in list(self._modules)[idx]:
                del self._modules[key]
        else:
            del self._modules[self._key(idx)]
        self._renumber()

    def _renumber(self) -> None:
        # keep '0', '1', ... contiguous after a deletion or insertion (PyTorch does the same)
        if all(k.isdigit() for k in self._modules):
            items = list(self._modules.values())
            self._modules.clear()
            for i, m in enumerate(items):
                self._modules[str(i)] = m

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def insert(self, index: int, module) -> None:
        n = len(self._modules)
        index = max(0, min(n, index + n if index < 0 else index))
        items = list(self._modules.values())
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def pop(self, index: int = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_IndexedModules):
    """Modules applied one after the other: ``Sequential(Linear(2, 8), ReLU(), Linear(8, 1))``
    or ``Sequential(OrderedDict(fc=..., act=...))`` for named entries. ``seq[1]`` is a module,
    ``seq[1:]`` a Sequential of the same modules (shared, not copied)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, m in modules[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(modules):
                self.add_module(str(i), m)

    @classmethod
    def _from_items(cls, items) -> "Sequential":
        return cls(OrderedDict(items))

    def __add__(self, other: "Sequential") -> "Sequential":
        if not isinstance(other, Sequential):
            raise TypeError(f"can only add a Sequential to a Sequential, got "
                            f"{type(other).__name__}")
        return Sequential(*self, *other)

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(_IndexedModules):
    """A list of submodules, registered so that ``parameters()`` and ``state_dict()`` see them.
    It has no forward: iterate over it in yours."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @classmethod
    def _from_items(cls, items) -> "ModuleList":
        return cls([m for _, m in items])

    def __iadd__(self, modules) -> "ModuleList":
        return self.extend(modules)

    def __add__(self, other) -> "ModuleList":
        return ModuleList(list(self) + list(other))


class ModuleDict(Module):
    """A dict of submodules (insertion order kept), registered under their keys."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict has no key {key!r}; keys: {list(self._modules)}")
        return self._modules[key]

    def __setitem__(self, key: str, module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def pop(self, key: str) -> Module:
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        self._modules.clear()

    def update(self, modules) -> None:
        items = modules.items() if hasattr(modules, "items") else modules
        for i, item in enumerate(items):
            if not isinstance(item, (tuple, list)) or len(item) != 2:
                raise TypeError(f"ModuleDict.update: element {i} is not a (key, module) pair")
            self[item[0]] = item[1]


class ParameterList(Module):
    """A list of Parameters, registered under the keys '0', '1', ... (plain tensors and arrays
    are wrapped as Parameters, as in PyTorch), so ``parameters()`` and ``state_dict()`` see
    them."""

    def __init__(self, values=None):
        super().__init__()
        self._size = 0
        for v in values or ():
            self.append(v)

    def __len__(self) -> int:
        return self._size

    def __iter__(self):
        return iter(self._parameters[str(i)] for i in range(self._size))

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList([self[i] for i in range(self._size)[idx]])
        return self._parameters[str(_index(idx, self._size, "ParameterList"))]

    def __setitem__(self, idx, param) -> None:
        self.register_parameter(str(_index(idx, self._size, "ParameterList")), _as_param(param))

    def append(self, param) -> "ParameterList":
        self.register_parameter(str(self._size), _as_param(param))
        self._size += 1
        return self

    def extend(self, params) -> "ParameterList":
        for p in params:
            self.append(p)
        return self

    def __iadd__(self, params) -> "ParameterList":
        return self.extend(params)

    def extra_repr(self) -> str:
        return "\n".join(f"({i}): Parameter containing: shape {tuple(p.shape)}, dtype {p.dtype}"
                         for i, p in enumerate(self))


class ParameterDict(Module):
    """A dict of Parameters by name (insertion-ordered), registered so ``parameters()`` and
    ``state_dict()`` see them; plain tensors are wrapped as Parameters."""

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str):
        if key not in self._parameters:
            raise KeyError(f"ParameterDict has no parameter {key!r}; it has "
                           f"{list(self._parameters)}")
        return self._parameters[key]

    def __setitem__(self, key: str, param) -> None:
        self.register_parameter(key, _as_param(param))

    def __delitem__(self, key: str) -> None:
        del self._parameters[key]

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters)

    def __contains__(self, key) -> bool:
        return key in self._parameters

    def keys(self):
        return self._parameters.keys()

    def values(self):
        return self._parameters.values()

    def items(self):
        return self._parameters.items()

    def get(self, key: str, default=None):
        return self._parameters.get(key, default)

    def pop(self, key: str):
        p = self[key]
        del self._parameters[key]
        return p

    def clear(self) -> None:
        self._parameters.clear()

    def update(self, parameters) -> None:
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for k, v in items:
            self[k] = v

    def extra_repr(self) -> str:
        return "\n".join(f"({k}): Parameter containing: shape {tuple(p.shape)}, dtype {p.dtype}"
                         for k, p in self.items())


def _as_param(value):
    """A Parameter as it is; a tensor or array wrapped as one (sharing its memory)."""
    return value if value is None or isinstance(value, Parameter) else Parameter(value)
