"""Which module call produced each tensor of a forward pass: ``trace_modules(model)`` records it
with forward hooks, ``ModuleScopes`` answers it (for the boxes and module nodes of ``draw_graph``).
"""

from __future__ import annotations

import weakref
from contextlib import contextmanager

__all__ = ["ModuleScopes", "ModuleCall", "trace_modules", "scopes_for", "resolve"]


def resolve(node):
    """The tensor a ``NodeRecord`` stands for, while it is alive; any other node itself."""
    ref = getattr(node, "ref", None)
    if ref is not None and not hasattr(node, "_data"):
        live = ref()
        return live if live is not None else node
    return node


class ModuleCall:
    """One call of one module: its dotted path, type, input/output shapes, parameter count."""

    __slots__ = ("path", "type", "depth", "leaf", "in_shapes", "out_shapes", "n_params")

    def __init__(self, path, type_name, leaf, in_shapes, out_shapes, n_params):
        self.path, self.type, self.leaf = path, type_name, leaf
        self.depth = len(path.split(".")) if path else 0
        self.in_shapes, self.out_shapes, self.n_params = in_shapes, out_shapes, n_params


class ModuleScopes:
    """Which module call produced each tensor of a forward pass (see ``trace_modules``).

    After each module's forward, its forward hook walks the graph back from the module's
    output(s) to its inputs and claims every tensor on the way that no inner module claimed
    first (hooks of inner modules run first), so a tensor belongs to the innermost module whose
    call made it: a convolution's output to the Conv2d, a residual addition to its block, a
    concatenation to its Inception module. Parameters belong to the module that owns them.
    """

    def __init__(self, model):
        self.model = model
        self.types = {name: type(m).__name__ for name, m in model.named_modules()}
        self.params = dict(model.named_parameters())
        self._paths = {id(m): name for name, m in model.named_modules()}
        self._leaf = {id(m): not any(True for _ in m.children()) for _, m in model.named_modules()}
        # id(tensor) -> (tensor, module path, [ids of the calls whose walk met it, inner first])
        self._owner: dict[int, tuple] = {}
        self.calls: list[ModuleCall] = []
        for name, p in self.params.items():
            self._owner[id(p)] = (p, name.rpartition(".")[0], [])

    def _claim(self, module, args, out) -> None:
        path = self._paths.get(id(module))
        if path is None:
            return
        ins, outs = _flat(args), _flat(out)
        call = len(self.calls)
        self.calls.append(ModuleCall(path, type(module).__name__, self._leaf[id(module)],
                                     [tuple(t.shape) for t in ins],
                                     [tuple(t.shape) for t in outs],
                                     sum(p._data.size for p in module.parameters())))
        stop = {id(a) for a in ins}
        stack = [t for t in outs if hasattr(t, "_parents")]
        seen = set()
        while stack:
            t = stack.pop()
            if id(t) in seen or id(t) in stop:
                continue
            seen.add(id(t))
            entry = self._owner.setdefault(id(t), (t, path, []))
            if entry[0] is t:
                entry[2].append(call)
            stack.extend(t._parents)

    def _entry(self, tensor):
        tensor = resolve(tensor)
        entry = self._owner.get(id(tensor))
        return entry if entry is not None and entry[0] is tensor else None

    def scope(self, tensor, depth: int | None = None):
        """The dotted path of the module that made ``tensor`` ('' = the traced module itself),
        cut to ``depth`` levels below the traced module; None if no traced call made it."""
        entry = self._entry(tensor)
        if entry is None:
            return None
        path = entry[1]
        if depth is not None and path:
            path = ".".join(path.split(".")[:depth])
        return path

    def collapsed(self, tensor, depth: int | None):
        """The call drawn as one node that ``tensor`` is inside (its id), or None: the
        outermost call around it that is deeper than ``depth`` or a leaf module (a layer)."""
        entry = self._entry(tensor)
        if entry is None:
            return None
        best = None
        for call in entry[2]:                   # inner first: stop at the first box
            c = self.calls[call]
            if c.leaf or (depth is not None and c.depth > depth):
                best = call
            else:
                break
        return best


def _flat(obj) -> list:
    if isinstance(obj, (tuple, list)):
        return [t for o in obj for t in _flat(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _flat(o)]
    return [obj] if hasattr(obj, "_parents") else []


_traced: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def scopes_for(model, root):
    """The scopes of the last ``trace_modules(model)`` that recorded ``root``, or None."""
    scopes = _traced.get(model)
    if scopes is not None and scopes._entry(root) is not None:
        return scopes
    return None


@contextmanager
def trace_modules(model):
    """Record which module call produces each tensor while the block runs:

        with trace_modules(model) as scopes:
            out = model(x)
        draw_graph(out, modules=scopes)      # or: draw_graph(out, group_by_module=True,
                                             #              model=model)

    The graph is recorded only where something requires grad (a model's parameters do)."""
    if not hasattr(model, "named_modules") or not hasattr(model, "register_forward_hook"):
        raise TypeError(f"trace_modules: expected an nn.Module, got {type(model).__name__}")
    scopes = ModuleScopes(model)
    _traced[model] = scopes          # draw_graph(out, group_by_module=True, model=model) finds it
    handles = [m.register_forward_hook(scopes._claim) for _, m in model.named_modules()]
    try:
        yield scopes
    finally:
        for h in handles:
            h.remove()


