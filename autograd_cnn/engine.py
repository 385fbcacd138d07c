"""The graph machinery shared by the scalar ``Value`` and the array ``Tensor``.

Every result of a recorded op is a *node*. The engine knows nothing about what a node holds; it
relies on the protocol ``Node`` below, and on nothing else (the scalar ``Value`` and the array
``Tensor`` both satisfy it; ``tests/test_engine_protocol.py`` runs a third, minimal node type).

Backward is the chain rule applied in reverse topological order: a node's rule runs only after
every path from the output has delivered its contribution, and contributions meeting at a branch
are added. Ops may broadcast their inputs; their rules return gradients in the broadcast shape and
the receiving node brings each back to its own shape (``Node._fit_grad``: a no-op for scalars,
``sum_to_shape`` for tensors), once per edge, never inside an op.

Nothing in this file recurses over the graph: a chain of a million nodes walks as fast as a short
one and never meets Python's recursion limit. Nodes are tracked by identity (``id``), never by
value equality, so two leaves holding the same number stay two leaves.
"""

from __future__ import annotations

import functools
import gc
import os
import threading
import traceback
from typing import Any, Callable, Iterable, Optional, Protocol, Sequence, runtime_checkable

import numpy as np
from numpy import ndarray

__all__ = [
    "Node",
    "Rule",
    "topological_order",
    "run_backward",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "inference_mode",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "sum_to_shape",
    "freed_rule",
    "graph_rules",
    "graph_rule",
]


# ---------------------------------------------------------------------------------------------
# the node protocol


@runtime_checkable
class Node(Protocol):
    """What the engine needs of a graph node, and all it needs.

    _parents:       the input nodes, in argument order (empty for a leaf)
    _op:            short label of the op that made the node ("" for a leaf)
    _backward:      the op's backward ``Rule``; None for a leaf
    requires_grad:  whether gradients flow into the node (the walk skips nodes without it)
    """

    _parents: tuple
    _op: str
    _backward: Optional[Callable]
    requires_grad: bool

    def _receive_grad(self, grad: Any, store: bool) -> Any:
        """The gradient slot: called once per backward with the node's total gradient. Stores
        it (``.grad``) when ``store`` is true, runs the node's hooks, returns the gradient that
        flows on to its rule."""

    def _fit_grad(self, grad: Any) -> Any:
        """A gradient that one of the node's consumers sent, in this node's shape (undo
        broadcasting). Called once per edge, before contributions are added."""

    def _release(self) -> None:
        """Drop what only backward needed (saved values); a later backward through the node
        meets ``freed_rule``. Called after the node's rule unless ``retain_graph``."""


# rule(node, grad) -> one gradient per parent of node (None for a parent that gets none)
Rule = Callable[[Node, Any], Sequence[Any]]


# ---------------------------------------------------------------------------------------------
# grad mode, inference mode, anomaly mode: per thread


class _State(threading.local):
    """The calling thread's switches, as in PyTorch: a ``no_grad()`` evaluation thread leaves
    recording on in a training thread, and every new thread starts with the defaults below
    (grad mode on, inference mode and anomaly mode off), whatever the thread that started it
    had set.

    ``grad_enabled`` is what the ops read: record the graph or not. It is derived, never set
    directly: grad mode on and inference mode off (inside ``inference_mode()`` an
    ``enable_grad()`` turns grad mode on, as PyTorch reports it, but nothing records)."""

    grad_mode = True
    inference = False
    grad_enabled = True
    anomaly = False

    def set(self, grad_mode: bool, inference: bool) -> None:
        self.grad_mode = grad_mode
        self.inference = inference
        self.grad_enabled = grad_mode and not inference


_state = _State()


def is_grad_enabled() -> bool:
    """True when grad mode is on (the default); off in ``no_grad()`` and ``inference_mode()``."""
    return _state.grad_mode


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()`` (in this thread)."""
    return _state.inference


class _ModeSwitch:
    """Context manager and decorator that sets the thread's (grad mode, inference mode) on entry
    and restores what it replaced on exit, also when the body raises. The replaced values are
    kept per instance and per thread, so one instance can be nested in itself and entered by
    several threads at once. Subclasses say what to switch to in ``_target(grad_mode, inference)``.
    """

    def __init__(self):
        self._saved: dict[int, list] = {}

    def _target(self, grad_mode: bool, inference: bool) -> tuple:
        raise NotImplementedError

    def __enter__(self):
        self._saved.setdefault(threading.get_ident(), []).append(
            (_state.grad_mode, _state.inference))
        _state.set(*self._target(_state.grad_mode, _state.inference))
        return self

    def __exit__(self, *exc):
        key = threading.get_ident()
        stack = self._saved[key]
        _state.set(*stack.pop())
        if not stack:
            del self._saved[key]
        return False

    def _clone(self):
        """A fresh instance with the same target (each decorated call enters its own)."""
        raise NotImplementedError

    def __call__(self, fn):
        if not callable(fn):
            raise TypeError(f"{type(self).__name__}: can decorate a function, got {fn!r}")

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
                return fn(*args, **kwargs)

        return wrapper


def _bare_decorator(cls, fn):
    """``@no_grad`` without parentheses (PyTorch accepts both): decorate ``fn`` right away."""
    if fn is None:
        return None
    if not callable(fn):
        raise TypeError(f"{cls.__name__}() takes no arguments (or a function to decorate), "
                        f"got {fn!r}")
    return cls()(fn)


class _GradMode(_ModeSwitch):
    """Sets grad mode to ``mode``; inference mode stays as it is."""

    def __init__(self, mode: bool):
        super().__init__()
        self.mode = bool(mode)

    def _target(self, grad_mode, inference):
        return self.mode, inference

    def _clone(self):
        return _GradMode(self.mode)


class no_grad(_GradMode):
    """``with no_grad():``, ``@no_grad()`` or ``@no_grad``: ops inside record no graph
    (outputs have no parents). Affects the calling thread only."""

    def __new__(cls, fn=None):
        wrapped = _bare_decorator(cls, fn)
        return wrapped if wrapped is not None else super().__new__(cls)

    def __init__(self, fn=None):
        super().__init__(False)


class enable_grad(_GradMode):
    """``with enable_grad():``, ``@enable_grad()`` or ``@enable_grad``: turns recording back on
    inside ``no_grad`` (not inside ``inference_mode``, as in PyTorch). Calling thread only."""

    def __new__(cls, fn=None):
        wrapped = _bare_decorator(cls, fn)
        return wrapped if wrapped is not None else super().__new__(cls)

    def __init__(self, fn=None):
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """Grad mode ``mode`` for the calling thread. As in PyTorch it takes effect when called:
    ``set_grad_enabled(False)`` alone switches recording off until ``set_grad_enabled(True)``;
    ``with set_grad_enabled(flag):`` sets it for the block and restores the previous mode after.
    """

    def __init__(self, mode: bool):
        if not isinstance(mode, (bool, np.bool_)):
            raise TypeError(f"set_grad_enabled: mode must be a bool, got {mode!r}")
        super().__init__(mode)
        self._before = (_state.grad_mode, _state.inference)
        _state.set(self.mode, _state.inference)

    def __enter__(self):
        # the mode is already set; remember what was there before the call
        self._saved.setdefault(threading.get_ident(), []).append(self._before)
        _state.set(self.mode, _state.inference)
        return self

    def _clone(self):
        return _GradMode(self.mode)

    def __call__(self, fn):
        # used as a decorator: undo the switch the call made, the mode holds inside fn only
        _state.set(*self._before)
        return super().__call__(fn)


class inference_mode(_ModeSwitch):
    """``with inference_mode():``, ``@inference_mode()`` or ``@inference_mode``: like
    ``no_grad`` for evaluation, and ``enable_grad()`` inside does not turn recording back on.
    ``inference_mode(False)`` turns it off inside an outer one (and grad mode on, as PyTorch).
    Calling thread only.

    Difference from PyTorch: tensors made inside are ordinary tensors (PyTorch marks them
    "inference tensors" that autograd refuses later); here they can be used in a graph after
    the block, like tensors made under ``no_grad``. The speed gain PyTorch gets from skipping
    version counters has no counterpart here: both modes cost the same."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, (bool, np.bool_)):
            return cls(True)(mode)                       # @inference_mode without parentheses
        return super().__new__(cls)

    def __init__(self, mode=True):
        super().__init__()
        self.mode = bool(mode)

    def _target(self, grad_mode, inference):
        return not self.mode, self.mode

    def _clone(self):
        return inference_mode(self.mode)


# ---------------------------------------------------------------------------------------------
# anomaly mode


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (in this thread)."""
    return _state.anomaly


class detect_anomaly:
    """``with detect_anomaly():`` records where each op was created and makes the first backward
    rule that produces a NaN or Inf raise a RuntimeError naming the op and that source line.
    It slows every op down (a stack capture each): use it to find a bug, not to train.
    It affects the calling thread only (PyTorch's switch is process-wide; see README)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._saved: dict[int, list] = {}

    def __enter__(self):
        self._saved.setdefault(threading.get_ident(), []).append(_state.anomaly)
        _state.anomaly = self.enabled
        return self

    def __exit__(self, *exc):
        key = threading.get_ident()
        stack = self._saved[key]
        _state.anomaly = stack.pop()
        if not stack:
            del self._saved[key]
        return False


def creation_site() -> str:
    """The innermost stack frame outside this package, as 'file:line: code' (for anomaly mode)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/autograd_cnn/" not in frame.filename.replace("\\", "/"):
            code = (frame.line or "").strip()
            return f"{frame.filename}:{frame.lineno}: {code}"
    return "<unknown>"


def _check_finite(node: Node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        if hasattr(g, "_parents"):          # a recorded gradient (create_graph): its values
            g = g._data if hasattr(g, "_data") else g.data
        if not np.all(np.isfinite(g)):
            bad = "nan" if np.any(np.isnan(g)) else "inf"
            site = getattr(node, "_trace", None) or "<created outside detect_anomaly()>"
            raise RuntimeError(
                f"detect_anomaly: backward of '{node._op}' produced {bad} values in the "
                f"gradient of its input {i}; the op was created at {site}"
            )


# ---------------------------------------------------------------------------------------------
# graph walking


def topological_order(roots: Iterable[Node]) -> list[Node]:
    """Nodes that require grad and are reachable from ``roots``, each after all of its parents.

    Iterative depth-first search: a node is pushed once to be expanded (its parents pushed above
    it) and once more to be emitted, so it is emitted only after everything above it is done.
    """
    order: list = []
    visited: set[int] = set()
    stack: list = []
    for root in roots:
        if id(root) in visited or not root.requires_grad:
            continue
        stack.append((root, False))
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            key = id(node)
            if key in visited:
                continue
            visited.add(key)
            stack.append((node, True))
            for parent in node._parents:
                if parent.requires_grad and id(parent) not in visited:
                    stack.append((parent, False))
    return order


def sum_to_shape(grad, shape: tuple):
    """Undo broadcasting: sum ``grad`` over the axes that broadcasting added or stretched so that
    the result has ``shape``. (3,)+(2,3): sum over axis 0; (4,1)*(1,4): sum axis 1 with keepdims.
    For nodes whose values are arrays (``Tensor._fit_grad``); the walk itself never calls it."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    if lead > 0:
        grad = grad.sum(axis=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


def freed_rule(node: Node, grad):
    """Backward rule left on a node whose graph was freed by an earlier backward."""
    raise RuntimeError(
        f"Trying to backward through the graph a second time (at op '{node._op}'): its saved "
        "values were freed by the first backward. Call .backward(retain_graph=True) the first "
        "time if you need to run backward twice."
    )


# ---------------------------------------------------------------------------------------------
# differentiable backward rules (create_graph=True)
#
# A rule normally computes with plain arrays (or floats) and records nothing. For
# ``backward(create_graph=True)`` an op also provides its rule written with recorded ops, so the
# gradients are themselves nodes of a graph and can be differentiated again (Hessian-vector
# products, gradient penalties). The op files register them here, next to their plain rules.

graph_rules: dict = {}


def graph_rule(rule: Rule):
    """Decorator: register the function as the differentiable form of ``rule``."""
    def register(fn):
        graph_rules[rule] = fn
        return fn
    return register


def _graph_rule_of(node: Node) -> Rule:
    rule = node._backward
    if rule is freed_rule:
        return rule
    found = graph_rules.get(rule)
    if found is None:
        raise RuntimeError(
            f"backward(create_graph=True): the op '{node._op}' has no differentiable backward "
            "rule yet, so its gradient cannot be differentiated again (ops that have one: the "
            "elementwise and activation functions, reductions, shape ops, matmul/linear, "
            "conv2d, pooling and the common losses)")
    return found


def run_backward(roots: Sequence[Node], seeds: Sequence, retain_graph: bool = False,
                 inputs: Optional[Sequence[Node]] = None, create_graph: bool = False,
                 on_step: Optional[Callable[[Node, Any, list], None]] = None):
    """Propagate ``seeds`` (the gradients of ``roots``) to every node the roots depend on.

    roots, seeds: sequences of equal length; each seed has its root's shape (a float for Values).
    retain_graph: keep saved values so backward can run again (otherwise every rule is freed).
    inputs: when given (a sequence of nodes), nothing is stored in ``.grad``; the gradients of
            these nodes are returned instead, in order (None where a node got no gradient).
    create_graph: seeds are nodes, and every rule runs in its recorded form (``graph_rules``):
            the gradients are nodes of a new graph, differentiable again. Implies retain_graph.
    on_step: when given, called once per node processed, in order, as
            ``on_step(node, grad, sent)``: the node's total gradient and what its rule sent to
            each parent (a list aligned with ``node._parents``, None where nothing was sent;
            empty for a leaf). ``viz.backprop_steps`` draws these steps.
    """
    if create_graph:
        # grad mode on for the pass (also under no_grad), as PyTorch; inference mode still
        # records nothing
        with _GradMode(True):
            return _walk(roots, seeds, True, inputs, True, on_step)
    return _walk(roots, seeds, retain_graph, inputs, False, on_step)


def _walk(roots, seeds, retain_graph, inputs, create_graph, on_step):
    """The backward pass itself: pop each node's total gradient in reverse topological order,
    hand it to the node, run the node's rule, add what it sends into the parents' totals.
    Everything optional (capture, recorded or checked rules, steps, freeing) is set up before."""
    capture = None if inputs is None else _Capture(inputs)
    store = capture is None
    run_rule = _rule_runner(create_graph, _state.anomaly, on_step)     # None: rules as they are
    release = not retain_graph
    grads = _seed(roots, seeds)
    order = topological_order(roots)
    _pause_gc()     # the cyclic collector, not arithmetic, dominates walks over small nodes
    try:
        for node in reversed(order):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue                                 # no path from a root delivered one
            grad = node._receive_grad(grad, store)
            if capture is not None:
                capture.take(node, grad)
            rule = node._backward
            if rule is None:                             # a leaf: its paths end here
                if on_step is not None:
                    on_step(node, grad, [])
                continue
            sent = rule(node, grad) if run_rule is None else run_rule(node, grad)
            for parent, g in zip(node._parents, sent):
                if g is None or not parent.requires_grad:
                    continue
                # _fit_grad's test for the common case inlined: an array of the parent's shape
                if type(g) is not ndarray or g.shape != parent._data.shape:
                    g = parent._fit_grad(g)
                key = id(parent)
                grads[key] = grads[key] + g if key in grads else g
            if release:
                node._release()
    finally:
        _resume_gc()
    return None if capture is None else capture.grads


def _seed(roots, seeds) -> dict:
    """The starting totals: each root's seed (added up when a root is given twice)."""
    grads: dict[int, object] = {}
    for root, seed in zip(roots, seeds):
        if root.requires_grad:
            key = id(root)
            grads[key] = grads[key] + seed if key in grads else seed
    return grads


class _Capture:
    """``inputs=`` (``ac.grad``, ``autograd.grad``): the gradients reaching these nodes, kept in
    their order instead of being stored in ``.grad``."""

    def __init__(self, inputs):
        self.where = {id(n): i for i, n in enumerate(inputs)}
        self.grads = [None] * len(inputs)

    def take(self, node, grad) -> None:
        i = self.where.get(id(node))
        if i is not None:
            self.grads[i] = grad


def _rule_runner(create_graph: bool, anomaly: bool, on_step):
    """How each node's rule is run when not simply called: in its recorded form (create_graph),
    with numpy's warnings silenced and the result checked for NaN/Inf (anomaly mode, which
    names the op instead), and reported to ``on_step``. None when none of these is asked."""
    if not (create_graph or anomaly or on_step is not None):
        return None

    def run(node, grad):
        rule = _graph_rule_of(node) if create_graph else node._backward
        if anomaly:
            with np.errstate(all="ignore"):
                sent = rule(node, grad)
            _check_finite(node, sent)
        else:
            sent = rule(node, grad)
        if on_step is not None:
            # what each parent receives, as the walk will add it (None where nothing flows)
            sent = [None if g is None or not p.requires_grad else p._fit_grad(g)
                    for p, g in zip(node._parents, sent)]
            on_step(node, grad, sent)
        return sent

    return run


# The collector switch is process-wide and backward passes may run in several threads at once:
# it is off while any walk runs and back to what it was when the last one ends (a plain
# save/restore per walk could leave it off for good when two walks interleave).
_gc_lock = threading.Lock()
_gc_walks = 0
_gc_was_enabled = False


def _pause_gc() -> None:
    global _gc_walks, _gc_was_enabled
    with _gc_lock:
        if _gc_walks == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_walks += 1


def _resume_gc() -> None:
    global _gc_walks
    with _gc_lock:
        _gc_walks -= 1
        if _gc_walks == 0 and _gc_was_enabled:
            gc.enable()


def _reset_gc_pause_in_child() -> None:
    """After fork: the walks of the parent's other threads do not exist in the child."""
    global _gc_lock, _gc_walks
    _gc_lock = threading.Lock()
    if _gc_walks and _gc_was_enabled:
        gc.enable()
    _gc_walks = 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_gc_pause_in_child)
