"""Captured steps: record the ops of one call once, then replay their kernels without the Python
around them (``ac.compile``, ``Trainer(capture=True)``).

An eager call of ``model(x)`` runs, per op, the argument checks, dtype promotion, the Tensor and
graph bookkeeping, and in backward the engine's topological sort, hooks and version checks: a few
microseconds each, most of a small model's step (LeNet-5 at batch 1 is almost all of it).
``ac.compile(fn)`` runs ``fn`` eagerly once while a profile hook (``sys.setprofile``, this thread
only) watches which functional ops it calls: every op with a *replay* (``functional/replay.py``)
becomes a step of a tape, its arguments checked once, its geometry fixed. Later calls with the
same argument shapes run the tape instead of ``fn``:

    forward:   one kernel call per step, in the recorded order, arrays in and arrays out
    output:    one graph node per output, whose parents are fn's tensor inputs (arguments,
               parameters), so ``loss.backward()`` and the optimisers work as before
    backward:  the steps' gradient kernels in reverse order, summed per input

so the engine sees one node where eager mode made one per op.

When the tape would not repeat ``fn`` the call runs eagerly instead, and ``explain()`` says why:

- ``fn`` called an op without a replay, made a tensor outside one (``ac.randn``, ``.detach()``),
  read values into Python (``.item()``, ``bool(t)``: the ops could depend on them), wrote into
  an input in place, or ran a module with hooks;
- the arguments are not tensors and hashable constants, or the outputs not tensors;
- the second call's replay did not give the eager outputs bit for bit (the ops depend on
  something else: a Python random number, a global). Every plan is checked so once before it
  replaces the eager call.

A plan is kept per signature (argument shapes, dtypes, requires_grad and constants; grad mode)
and guarded by what it read: the training flag of every module it ran (``train()``/``eval()``
pick another plan), the requires_grad, shape and dtype of every parameter, and no module
re-assigned since (``Module.__setattr__`` counts). Parameters are read at each replay, so
optimiser updates and ``load_state_dict`` are seen. Outputs are fresh arrays every call (kernels
allocate their results): a buffer reused across calls would change results the caller still
holds, and the allocation is a small part of a step.

Not captured, on purpose: double backward (``create_graph=True`` through a compiled node raises,
as ``torch.compile``'s does), data-dependent shapes, and ops without a replay (they run eagerly).
"""

from __future__ import annotations

import sys
from pathlib import Path
import threading
import warnings
from typing import Callable, NamedTuple

from . import engine
from .tensor import Tensor, leaf

__all__ = ["compile", "Compiled", "replays", "Replay", "Unsupported", "structure_changed"]


class Unsupported(Exception):
    """A replay builder's refusal: this call of its op is not replayed (the reason says why)."""


class Replay(NamedTuple):
    """One op of a tape, as its replay builder returns it.

    inputs:   the call's tensor operands, in the order forward receives their arrays
    forward:  forward(*arrays) -> (output array, ctx): the op's kernels, no checks
    backward: backward(ctx, g, needs) -> one gradient (or None) per input; ``needs[i]`` says
              whether input i wants one. Gradients have the inputs' shapes."""
    inputs: tuple
    forward: Callable
    backward: Callable


# code object of an op -> builder(args, out) -> Replay; filled by functional/replay.py
_BUILDERS: dict = {}


def replays(op):
    """Register the decorated ``builder(args, out) -> Replay`` as ``op``'s replay. ``args`` is
    the call's arguments by name (defaults filled in), ``out`` what the eager call returned."""
    def register(builder):
        _BUILDERS[op.__code__] = builder
        return builder
    return register


# ---- what a capture refuses: code that makes tensors or reads values outside a replayed op ----

def _refusals() -> dict:
    t = Tensor
    made = "made a tensor outside a replayed op ({})"
    read = "read tensor values into Python ({}): the ops could depend on them"
    from .functional.inplace import _record
    _inplace_record_code = _record.__code__
    out = {t._from_op.__func__.__code__: made.format("an op without a replay"),
           leaf.__code__: made.format("a constant or a detached tensor"),
           t.__init__.__code__: made.format("a new tensor")}
    write = _WRITE
    out[t._inplace.__code__] = write.format("fill_, zero_, a random fill")
    out[t._bump_version.__code__] = write.format("a kernel")     # _written_by names it
    out[t.__setitem__.__code__] = write.format("t[i] = v")
    out[_inplace_record_code] = write.format("an in-place op")
    for name in ("item", "tolist", "numpy", "__array__", "__bool__", "__float__", "__int__",
                 "__index__", "__format__"):
        out[getattr(t, name).__code__] = read.format(f"Tensor.{name}")
    return out


_WRITE = "wrote into a tensor in place ({}), which a replay would not repeat"
# The functions that write into tensors through kernels (Tensor._bump_version), as a refusal
# names them; any other writer is named by its module and function.
_WRITERS = {"_update_running": "batch norm's running statistics",
            "_normalise": "batch norm's num_batches_tracked",
            "sync_batch_norm": "SyncBatchNorm's running statistics",
            "step": "an optimiser step",
            "_renorm_rows": "embedding's max_norm renormalisation",
            "load_state_dict": "load_state_dict"}


def _written_by(caller) -> str:
    """The refusal for a kernel's write into a tensor, naming the function that made it."""
    if caller is None:
        return _WRITE.format("a kernel")
    code = caller.f_code
    what = _WRITERS.get(code.co_name) or f"{Path(code.co_filename).stem}.{code.co_name}"
    return _WRITE.format(what)


_REFUSE: dict = {}
_from_op_code = Tensor._from_op.__func__.__code__
_bump_code = Tensor._bump_version.__code__
_module_call = None            # Module.__call__'s code object (set on first capture)
_structure = [0]               # bumped when a module's parameters or submodules are re-assigned


def structure_changed() -> None:
    """Called by ``Module.__setattr__`` when a parameter or submodule is (re)assigned: every
    plan that ran modules is re-checked against the new structure."""
    _structure[0] += 1


class _Tape:
    """What one eager call did, seen by the profile hook: the replayed ops in order, the tensors
    they read, the modules that ran."""

    def __init__(self, inputs):
        self.slot = {id(t): i for i, t in enumerate(inputs)}   # tensor id -> slot number
        self.keep = list(inputs)            # holds every tensor seen, so ids stay unique
        self.externals = []                 # tensors read that fn did not receive or make
        self.steps = []                     # (Replay, input slots, output slot, op name)
        self.modules = {}                   # id -> module that ran (training flag guard)
        self.stack = []                     # frames of replayed ops being executed
        self.reason = None

    def fail(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason

    def profile(self, frame, event, arg):
        if event == "call":
            code = frame.f_code
            if self.stack:                  # inside a replayed op: its own business
                return
            if code in _BUILDERS:
                self.stack.append((frame, dict(frame.f_locals)))
            elif code in _REFUSE:
                if code is _from_op_code:
                    self.fail(f"op {frame.f_locals.get('op')!r} has no replay "
                              "(functional/replay.py)")
                elif code is _bump_code:
                    self.fail(_written_by(frame.f_back))
                else:
                    self.fail(_REFUSE[code])
            elif code is _module_call:
                # the module and all its submodules: a fused op of the zoo (models/_utils.py)
                # runs stock submodules without calling them, and a hook added to one later
                # must still end the plan
                for m in frame.f_locals.get("self").modules():
                    if id(m) in self.modules:
                        continue
                    self.modules[id(m)] = m
                    if m._forward_hooks or m._forward_pre_hooks:
                        self.fail(f"{type(m).__name__} has forward hooks, which a replay "
                                  "would skip")
        elif event == "return" and self.stack and frame is self.stack[-1][0]:
            _, args = self.stack.pop()
            if not self.stack and self.reason is None:
                self._record(frame.f_code, args, arg)

    def _record(self, code, args, out) -> None:
        name = code.co_name
        if not isinstance(out, Tensor):
            self.fail(f"{name} returned {type(out).__name__}, not a tensor")
            return
        try:
            step = _BUILDERS[code](args, out)
        except Unsupported as e:
            self.fail(f"{name}: {e}")
            return
        if any(t is out for t in step.inputs):      # the op returned its input (a no-op)
            return
        slots = tuple(self._slot_of(t) for t in step.inputs)
        self.slot[id(out)] = len(self.keep)
        self.keep.append(out)
        self.steps.append((step, slots, self.slot[id(out)], name))

    def _slot_of(self, t: Tensor) -> int:
        s = self.slot.get(id(t))
        if s is None:                       # a parameter, a buffer, a tensor made before fn
            s = self.slot[id(t)] = len(self.keep)
            self.keep.append(t)
            self.externals.append(s)
        return s


class _Plan:
    """A tape turned into arrays: slot numbers, the steps, and which slots want a gradient."""

    def __init__(self, tape: _Tape, n_args: int, outputs: list, label: str):
        self.n_args = n_args
        self.externals = [tape.keep[s] for s in tape.externals]
        # slots: arguments 0..n_args-1, then externals, then step outputs; renumbered densely
        order = list(range(n_args)) + tape.externals
        renumber = {s: i for i, s in enumerate(order)}
        for _, _, out_slot, _ in tape.steps:
            renumber[out_slot] = len(renumber)
        self.n_slots = len(renumber)
        self.steps = [(r.forward, r.backward, tuple(renumber[s] for s in ins), renumber[o], nm)
                      for r, ins, o, nm in tape.steps]
        self.outputs = [renumber[tape.slot[id(t)]] for t in outputs]
        self.label = label
        self.modules = [(m, m.training) for m in tape.modules.values()]
        self.external_guards = [(t, t.requires_grad, t._data.shape, t._data.dtype)
                                for t in self.externals]
        self.structure = _structure[0]
        self.verified = False
        self.needs = None                   # per step, set by grad_flags

    def guards_hold(self) -> bool:
        if self.modules and self.structure != _structure[0]:
            return False
        for m, training in self.modules:
            if m.training is not training or m._forward_hooks or m._forward_pre_hooks:
                return False
        for t, rg, shape, dtype in self.external_guards:
            d = t._data
            if t.requires_grad is not rg or d.shape != shape or d.dtype != dtype:
                return False
        return True

    def grad_flags(self, arg_flags: tuple) -> None:
        """Which slots carry a gradient: inputs that require grad and what is computed from them
        (fixed for a plan: argument flags are part of its signature, externals' are guarded)."""
        wants = list(arg_flags) + [t.requires_grad for t in self.externals]
        wants += [False] * (self.n_slots - len(wants))
        needs = []
        for _, _, ins, out, _ in self.steps:
            step_needs = tuple(wants[i] for i in ins)
            wants[out] = any(step_needs)
            needs.append(step_needs)
        self.needs = needs
        self.any_grad = any(wants[o] for o in self.outputs)

    def forward(self, arrays: list, keep: bool):
        slots = arrays + [None] * (self.n_slots - len(arrays))
        ctxs = [] if keep else None
        for fwd, _, ins, out, _ in self.steps:
            y, ctx = fwd(*[slots[i] for i in ins])
            slots[out] = y
            if keep:
                ctxs.append(ctx)
        return [slots[o] for o in self.outputs], ctxs

    def backward(self, ctxs: list, output: int, g):
        """The gradients of the plan's inputs (arguments, then externals) for gradient ``g`` of
        output number ``output``: the steps' rules in reverse order, summed per slot."""
        grads = [None] * self.n_slots
        grads[self.outputs[output]] = g
        for k in range(len(self.steps) - 1, -1, -1):
            _, bwd, ins, out, _ = self.steps[k]
            gk = grads[out]
            needs = self.needs[k]
            if gk is None or not any(needs):
                continue
            grads[out] = None               # free it as soon as it is used
            for i, gi in zip(ins, bwd(ctxs[k], gk, needs)):
                if gi is not None:
                    grads[i] = gi if grads[i] is None else grads[i] + gi
        return tuple(grads[:self.n_args + len(self.externals)])


class _Saved(NamedTuple):
    """What a compiled node keeps: its plan, the replay's saved contexts, its output number."""
    plan: _Plan
    ctxs: list
    output: int


def _compiled_backward(node, g):
    saved = node._saved
    return saved.plan.backward(saved.ctxs, saved.output, g)


class _Eager(NamedTuple):
    """A refusal kept in place of a plan: the reason, and the guards it was found under."""
    reason: str
    plan_guards: object = None

    def guards_hold(self) -> bool:
        return self.plan_guards is None or self.plan_guards.guards_hold()


def _signature(args, kwargs):
    """(key, tensor arguments) of a call, or (None, reason) when it cannot be captured."""
    parts, tensors = [engine._state.grad_enabled], []
    for name, a in list(enumerate(args)) + sorted(kwargs.items()):
        if isinstance(a, Tensor):
            parts.append((name, a._data.shape, a._data.dtype.str, a.requires_grad))
            tensors.append(a)
            continue
        if isinstance(a, (list, tuple, dict, set)) and _holds_tensor(a):
            return None, f"argument {name!r} holds tensors inside a container"
        try:
            hash(a)
        except TypeError:
            return None, f"argument {name!r} ({type(a).__name__}) is not a tensor or a " \
                         "hashable constant"
        parts.append((name, type(a), a))
    return tuple(parts), tensors


def _holds_tensor(a) -> bool:
    items = a.values() if isinstance(a, dict) else a
    return any(isinstance(v, Tensor) or (isinstance(v, (list, tuple, dict)) and _holds_tensor(v))
               for v in items)


def _flatten_outputs(result):
    if isinstance(result, Tensor):
        return [result], None
    if isinstance(result, (tuple, list)) and result and all(isinstance(r, Tensor) for r in result):
        return list(result), type(result)
    return None, None


class Compiled:
    """``fn`` with captured steps (see the module docstring). Call it as ``fn``; attributes of
    a compiled module (``parameters()``, ``train()``, ...) are the module's.

    stats:      {'captures', 'replays', 'eager'}: how the calls ran
    explain():  each signature's state: replayed, waiting for its check, or why it runs eagerly
    reset():    forget every plan (e.g. after changing a layer's stride)

    quiet=True: a call that runs eagerly does not warn (``explain()`` still says why): for
    callers that capture whatever model they are given (``Trainer(capture="auto")``).
    """

    MAX_PLANS = 8               # per signature (train/eval, frozen layers, ...)

    def __init__(self, fn, fullgraph: bool = False, quiet: bool = False):
        if not callable(fn):
            raise TypeError(f"compile: expected a function or a Module, got {type(fn).__name__}")
        self._fn = fn
        self._fullgraph = bool(fullgraph)
        self._quiet = bool(quiet)
        self._plans: dict = {}
        self._lock = threading.Lock()
        self._warned: set = set()
        self.stats = {"captures": 0, "replays": 0, "eager": 0}
        self.__wrapped__ = fn
        self.__name__ = getattr(fn, "__name__", type(fn).__name__)
        self.__doc__ = getattr(fn, "__doc__", None)

    def __getattr__(self, name):
        if name.startswith("__") or name in ("_fn", "_plans"):
            raise AttributeError(name)
        return getattr(self._fn, name)

    def __repr__(self) -> str:
        return f"Compiled({self._fn!r})"

    def reset(self) -> None:
        with self._lock:
            self._plans.clear()

    def explain(self) -> list:
        """One line per signature and plan: 'replayed', 'checking' or 'eager: <reason>'."""
        lines = []
        for key, plans in self._plans.items():
            shapes = [p[1] for p in key[1:] if len(p) == 4]
            mode = "" if key[0] else " (no grad)"
            for p in plans:
                if isinstance(p, _Eager):
                    state = f"eager: {p.reason}"
                else:
                    state = f"replayed ({len(p.steps)} ops)" if p.verified else \
                        f"checking ({len(p.steps)} ops; the next call compares it with eager)"
                lines.append(f"inputs {shapes}{mode}: {state}")
        return lines

    # ---- a call ------------------------------------------------------------------------------

    def __call__(self, *args, **kwargs):
        key, tensors = _signature(args, kwargs)
        if key is None:
            return self._eager(tensors, args, kwargs)
        plans = self._plans.get(key, ())
        for plan in plans:
            if plan.guards_hold():
                if isinstance(plan, _Eager):
                    return self._eager(plan.reason, args, kwargs)
                if plan.verified:
                    self.stats["replays"] += 1
                    return self._replay(plan, tensors)
                return self._check(plan, key, tensors, args, kwargs)
        return self._capture(key, tensors, args, kwargs)

    def _refuse(self, reason: str) -> None:
        """fullgraph=True: raise; otherwise warn once per reason, unless quiet (the call runs
        eagerly)."""
        if self._fullgraph:
            raise RuntimeError(f"compile(fullgraph=True): {self.__name__} cannot be captured: "
                               f"{reason}")
        if not self._quiet and reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"compile: {self.__name__} runs eagerly: {reason}", RuntimeWarning,
                          stacklevel=4)

    def _eager(self, reason, args, kwargs):
        self._refuse(reason)
        self.stats["eager"] += 1
        return self._fn(*args, **kwargs)

    def _keep(self, key, entry) -> None:
        with self._lock:
            plans = [p for p in self._plans.get(key, ()) if p is not entry]
            plans.insert(0, entry)
            self._plans[key] = plans[:self.MAX_PLANS]

    def _capture(self, key, tensors, args, kwargs):
        global _module_call
        if sys.getprofile() is not None:     # a profiler owns the hook: do not steal it
            return self._eager("a profiler is running (sys.getprofile() is set)", args, kwargs)
        if not _REFUSE:
            from .nn.module import Module
            _REFUSE.update(_refusals())
            _module_call = Module.__call__.__code__
        tape = _Tape(tensors)
        versions = [t._vc.value for t in tensors]
        sys.setprofile(tape.profile)
        try:
            result = self._fn(*args, **kwargs)
        finally:
            sys.setprofile(None)
        self.stats["captures"] += 1
        reason = tape.reason
        outputs, kind = _flatten_outputs(result)
        if reason is None and outputs is None:
            reason = f"it returned {type(result).__name__}, not a tensor or a tuple of tensors"
        if reason is None and any(t._vc.value != v for t, v in zip(tensors, versions)):
            reason = "it wrote into an argument in place"
        if reason is None:
            made = {o for _, _, o, _ in tape.steps}
            if any(tape.slot.get(id(t)) not in made for t in outputs):
                reason = "an output is not computed by a replayed op (it is an input, or " \
                         "made by an op without a replay)"
        if reason is not None:
            guards = _Plan(tape, len(tensors), [], "") if tape.modules else None
            self._keep(key, _Eager(reason, guards))
            self._refuse(reason)
            return result
        plan = _Plan(tape, len(tensors), outputs, f"compiled {self.__name__}")
        plan.grad_flags(tuple(t.requires_grad for t in tensors))
        plan.kind = kind
        self._keep(key, plan)
        return result

    def _check(self, plan, key, tensors, args, kwargs):
        """The plan's first use: run fn eagerly and the plan beside it; keep the plan only if
        every output is the same to the bit."""
        result = self._fn(*args, **kwargs)
        self.stats["eager"] += 1
        outputs, _ = _flatten_outputs(result)
        ok = outputs is not None and len(outputs) == len(plan.outputs)
        if ok:
            arrays = [t._data for t in tensors] + [t._data for t in plan.externals]
            replayed, _ = plan.forward(arrays, keep=False)
            ok = all(a.shape == b._data.shape and a.dtype == b._data.dtype and
                     (a.tobytes() == b._data.tobytes()) for a, b in zip(replayed, outputs))
        if ok:
            plan.verified = True
        else:
            self._replace(key, plan, _Eager(
                "the replay did not reproduce the eager outputs bit for bit (its ops depend "
                "on something other than the tensor arguments: a Python value, a global, a "
                "tensor attribute read by identity)", plan))
        return result

    def _replace(self, key, old, new) -> None:
        with self._lock:
            self._plans[key] = [new if p is old else p for p in self._plans.get(key, ())]

    def _replay(self, plan: _Plan, tensors: list):
        parents = tuple(tensors) + tuple(plan.externals)
        keep = plan.any_grad and engine._state.grad_enabled
        outs, ctxs = plan.forward([t._data for t in parents], keep)
        if keep:
            results = [Tensor._from_op(y, parents, plan.label, _compiled_backward,
                                       _Saved(plan, ctxs, j)) for j, y in enumerate(outs)]
        else:
            results = [leaf(y) for y in outs]
        return results[0] if plan.kind is None else plan.kind(results)


def compile(model=None, *, fullgraph: bool = False, dynamic=None, backend=None, mode=None,
            options=None, disable: bool = False):
    """``torch.compile``'s signature: ``fn`` (a function or a Module) with captured steps.

    Usable as ``ac.compile(model)``, ``@ac.compile`` or ``@ac.compile(fullgraph=True)``.
    fullgraph=True raises instead of running eagerly when a call cannot be captured; disable=True
    returns ``model`` itself. ``dynamic``, ``backend``, ``mode`` and ``options`` are accepted for
    PyTorch code and change nothing: there is one backend (the kernels), shapes are always
    static (a new shape is a new capture)."""
    if model is None:
        return lambda fn: compile(fn, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                                  mode=mode, options=options, disable=disable)
    if disable:
        return model
    return Compiled(model, fullgraph=fullgraph)
