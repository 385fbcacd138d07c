"""The graph machinery shared by the scalar ``Value`` and the array ``Tensor``.

Every result of a recorded op is a *node*. The engine knows nothing about what a node holds; it
relies on this protocol:

    node._parents     tuple of input nodes, in argument order (empty for a leaf)
    node._op          short label of the op that made the node ("" for a leaf)
    node._backward    the op's backward rule: rule(node, grad) -> one gradient per parent
                      (None for a parent that gets none); None for a leaf
    node.requires_grad
    node._receive_grad(grad, store) -> grad
                      called once with the node's total gradient; stores it (``.grad``) when
                      ``store`` is true, runs hooks, returns the gradient that flows on
    node._release()   drops what only backward needed (saved arrays); called unless retain_graph

Backward is the chain rule applied in reverse topological order: a node's rule runs only after
every path from the output has delivered its contribution, and contributions meeting at a branch
are added. Ops may broadcast their inputs; their rules return gradients in the broadcast shape and
the engine sums them back to each input's shape, here and only here.

Nothing in this file recurses over the graph: a chain of a million nodes walks as fast as a short
one and never meets Python's recursion limit. Nodes are tracked by identity (``id``), never by
value equality, so two leaves holding the same number stay two leaves.
"""

from __future__ import annotations

import functools
import gc
import traceback

import numpy as np

__all__ = [
    "topological_order",
    "run_backward",
    "is_grad_enabled",
    "no_grad",
    "enable_grad",
    "set_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "sum_to_shape",
    "freed_rule",
]


# ---------------------------------------------------------------------------------------------
# grad mode


class _State:
    """Process-wide switches (the engine is single-threaded, like the teaching code it serves)."""

    grad_enabled = True
    anomaly = False


_state = _State()


def is_grad_enabled() -> bool:
    """True when new ops record the graph (the default)."""
    return _state.grad_enabled


class _GradMode:
    """Context manager and decorator that sets grad mode and restores the previous mode on exit,
    also when the body raises. Nesting works because each instance remembers what it replaced."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_state.grad_enabled)
        _state.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self._saved.pop()
        return False

    def __call__(self, fn):
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(mode):
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """``with no_grad():`` or ``@no_grad()``: ops inside record no graph (outputs have no parents)."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    """``with enable_grad():`` or ``@enable_grad()``: turns recording back on inside ``no_grad``."""

    def __init__(self):
        super().__init__(True)


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(flag):`` sets grad mode to ``flag`` for the block."""


# ---------------------------------------------------------------------------------------------
# anomaly mode


def is_anomaly_enabled() -> bool:
    return _state.anomaly


class detect_anomaly:
    """``with detect_anomaly():`` records where each op was created and makes the first backward
    rule that produces a NaN or Inf raise a RuntimeError naming the op and that source line.
    It slows every op down (a stack capture each): use it to find a bug, not to train."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self._saved: list[bool] = []

    def __enter__(self):
        self._saved.append(_state.anomaly)
        _state.anomaly = self.enabled
        return self

    def __exit__(self, *exc):
        _state.anomaly = self._saved.pop()
        return False


def creation_site() -> str:
    """The innermost stack frame outside this package, as 'file:line: code' (for anomaly mode)."""
    for frame in reversed(traceback.extract_stack()[:-1]):
        if "/autograd_cnn/" not in frame.filename.replace("\\", "/"):
            code = (frame.line or "").strip()
            return f"{frame.filename}:{frame.lineno}: {code}"
    return "<unknown>"


def _check_finite(node, grads) -> None:
    for i, g in enumerate(grads):
        if g is None:
            continue
        if not np.all(np.isfinite(g)):
            bad = "nan" if np.any(np.isnan(g)) else "inf"
            site = getattr(node, "_trace", None) or "<created outside detect_anomaly()>"
            raise RuntimeError(
                f"detect_anomaly: backward of '{node._op}' produced {bad} values in the "
                f"gradient of its input {i}; the op was created at {site}"
            )


# ---------------------------------------------------------------------------------------------
# graph walking


def topological_order(roots) -> list:
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
    the result has ``shape``. (3,)+(2,3): sum over axis 0; (4,1)*(1,4): sum axis 1 with keepdims."""
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


def freed_rule(node, grad):
    """Backward rule left on a node whose graph was freed by an earlier backward."""
    raise RuntimeError(
        f"Trying to backward through the graph a second time (at op '{node._op}'): its saved "
        "values were freed by the first backward. Call .backward(retain_graph=True) the first "
        "time if you need to run backward twice."
    )


def run_backward(roots, seeds, retain_graph: bool = False, inputs=None, on_step=None):
    """Propagate ``seeds`` (the gradients of ``roots``) to every node the roots depend on.

    roots, seeds: sequences of equal length; each seed has its root's shape (a float for Values).
    retain_graph: keep saved values so backward can run again (otherwise every rule is freed).
    inputs: when given (a sequence of nodes), nothing is stored in ``.grad``; the gradients of
            these nodes are returned instead, in order (None where a node got no gradient).
    on_step: when given, called once per node processed, in order, as
            ``on_step(node, grad, sent)``: the node's total gradient and what its rule sent to
            each parent (a list aligned with ``node._parents``, None where nothing was sent;
            empty for a leaf). ``viz.backprop_steps`` draws these steps.
    """
    order = topological_order(roots)
    grads: dict[int, object] = {}
    for root, seed in zip(roots, seeds):
        if root.requires_grad:
            key = id(root)
            grads[key] = grads[key] + seed if key in grads else seed

    store = inputs is None
    wanted = {} if store else {id(n): i for i, n in enumerate(inputs)}
    captured = [None] * (0 if store else len(inputs))
    anomaly = _state.anomaly

    # The cyclic collector, not arithmetic, dominates walks over big graphs of small objects;
    # nothing here creates cycles, so it is paused for the walk.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for node in reversed(order):
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            grad = node._receive_grad(grad, store)
            if not store and id(node) in wanted:
                captured[wanted[id(node)]] = grad
            rule = node._backward
            if rule is None:
                if on_step is not None:
                    on_step(node, grad, [])
                continue
            if anomaly:
                # numpy's own warnings are silenced: the check below names the op instead
                with np.errstate(all="ignore"):
                    parent_grads = rule(node, grad)
                _check_finite(node, parent_grads)
            else:
                parent_grads = rule(node, grad)
            sent = [] if on_step is not None else None
            for parent, pgrad in zip(node._parents, parent_grads):
                if pgrad is None or not parent.requires_grad:
                    if sent is not None:
                        sent.append(None)
                    continue
                if isinstance(pgrad, (np.ndarray, np.generic)) and pgrad.shape != parent.shape:
                    pgrad = sum_to_shape(pgrad, parent.shape)
                if sent is not None:
                    sent.append(pgrad)
                key = id(parent)
                if key in grads:
                    grads[key] = grads[key] + pgrad
                else:
                    grads[key] = pgrad
            if sent is not None:
                on_step(node, grad, sent)
            if not retain_graph:
                node._release()
    finally:
        if gc_was_enabled:
            gc.enable()
    return None if store else captured
