"""``ac.autograd``: custom ops with ``Function``, and PyTorch's autograd entry points.

A custom op is a forward and a backward side by side, the lecture notes' "gate":

    class MultiplyGate(ac.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):            # runs without recording a graph
            ctx.save_for_backward(x, y)
            return x * y
        @staticmethod
        def backward(ctx, g):              # g = dL/d(out); one gradient per forward input
            x, y = ctx.saved_tensors
            return g * y, g * x            # None for an input that needs none (or a non-tensor)

    z = MultiplyGate.apply(x, y)

``ctx`` keeps whatever backward needs: ``save_for_backward`` / ``saved_tensors`` for tensors,
plain attributes for the rest, ``needs_input_grad`` (one bool per forward argument) to skip work,
``mark_non_differentiable`` for outputs such as indices. A forward may return several tensors:
backward then receives one gradient per output (zeros for an output the loss does not use).

How it sits in the engine: a single-output Function is one node whose backward rule calls
``backward``. With several outputs, one hidden node holds the Function (its parents are the
inputs) and each output is a node on top of it whose rule places its gradient in a flat array
(one slice per output); the engine adds those arrays up, so backward runs once with all of them.

Also here: ``grad``, ``backward``, ``gradcheck`` (PyTorch's signatures), ``Variable`` (old code),
and ``Tensor.grad_fn``: a view of a tensor's node with ``name()`` and ``next_functions``.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np

from . import engine
from .engine import detect_anomaly, enable_grad, graph_rule, no_grad, set_grad_enabled
from .functional.base import constant, linear_map
from .tensor import Tensor, grad, leaf
from .testing import GradcheckError
from .testing import gradcheck as _gradcheck

__all__ = ["Function", "FunctionCtx", "grad", "backward", "gradcheck", "GradcheckError",
           "Variable", "Node", "no_grad", "enable_grad", "set_grad_enabled", "detect_anomaly"]


class FunctionCtx:
    """The ``ctx`` a Function's forward fills in and its backward reads."""

    def __init__(self, fn_cls, needs_input_grad: tuple):
        self._fn_cls = fn_cls
        self.needs_input_grad = needs_input_grad
        self._saved_tensors = ()
        self._saved_outputs = {}        # position in saved_tensors -> weakref to the output
        self._non_differentiable = set()

    def save_for_backward(self, *tensors) -> None:
        """Keep tensors (or None) for backward, read back as ``ctx.saved_tensors``."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward: argument {i} is a {type(t).__name__}; only "
                                "tensors (or None) are saved this way, keep other values as "
                                "attributes of ctx (ctx.k = k)")
        self._saved_tensors = tensors

    @property
    def saved_tensors(self) -> tuple:
        if not self._saved_outputs:
            return self._saved_tensors
        # a saved output reads as the recorded output (so backward(create_graph=True) records
        # through it); held weakly, as the output holds this ctx
        out = list(self._saved_tensors)
        for i, ref in self._saved_outputs.items():
            recorded = ref()
            if recorded is not None:
                out[i] = recorded
        return tuple(out)

    def mark_non_differentiable(self, *tensors) -> None:
        """Outputs (returned by forward) that carry no gradient, such as indices."""
        self._non_differentiable.update(id(t) for t in tensors)


class Function:
    """Base class of custom differentiable ops: define static ``forward(ctx, *args)`` and
    ``backward(ctx, *grads)``, call ``YourFunction.apply(*args)``.

    forward runs under ``no_grad()`` and returns a tensor or a tuple (tensors, and other values
    passed through). backward receives one gradient per tensor output and returns one gradient
    per forward argument: a tensor (or array) of that input's shape, or of a shape it
    broadcasts to (summed back), or None. The PyTorch 2 style, ``forward(*args)`` plus
    ``setup_context(ctx, inputs, output)``, works too.
    """

    def __init__(self, *args, **kwargs):
        raise RuntimeError(f"{type(self).__name__}: autograd Functions are not instantiated; "
                           f"call {type(self).__name__}.apply(...)")

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define a static forward(ctx, ...)")

    @staticmethod
    def backward(ctx, *grads):
        raise NotImplementedError("a Function subclass must define a static backward(ctx, ...) "
                                  "to be differentiated")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError

    @classmethod
    def apply(cls, *args):
        ctx = FunctionCtx(cls, tuple(isinstance(a, Tensor) and a.requires_grad for a in args))
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                result = cls.forward(*args)
                cls.setup_context(ctx, args, result)
            else:
                result = cls.forward(ctx, *args)
        inputs = tuple(a for a in args if isinstance(a, Tensor))
        ctx._arg_is_tensor = tuple(isinstance(a, Tensor) for a in args)
        ctx._input_shapes = tuple(t._data.shape for t in inputs)
        single = not isinstance(result, tuple)
        outputs = (result,) if single else result
        record = engine._state.grad_enabled and any(t.requires_grad for t in inputs)
        if not record:
            return result
        wrapped = _record(cls, ctx, inputs, outputs)
        return wrapped[0] if single else wrapped


class FunctionSaved(NamedTuple):
    """What a single-output Function's node keeps: the ctx its forward filled in."""
    ctx: FunctionCtx


class FunctionPackedSaved(NamedTuple):
    """What a multi-output Function's hidden node keeps: the ctx, and the offsets of each
    output's slice in the flat gradient (len(outputs) + 1 of them)."""
    ctx: FunctionCtx
    offsets: np.ndarray


class FunctionOutputSaved(NamedTuple):
    """What output ``index`` of a multi-output Function keeps: its position among the tensor
    outputs and its slice [start, stop) of the hidden node's flat gradient."""
    index: int
    start: int
    stop: int


def _differentiable(ctx, out) -> bool:
    return isinstance(out, Tensor) and out.dtype.kind == "f" and \
        id(out) not in ctx._non_differentiable


def _record(cls, ctx, inputs: tuple, outputs: tuple) -> tuple:
    """The outputs as graph nodes over ``inputs`` (see the module docstring)."""
    tensors = [o for o in outputs if isinstance(o, Tensor)]
    ctx._output_meta = tuple((o._data.shape, o.dtype) for o in tensors)
    name = cls.__name__
    if len(tensors) == 1 and _differentiable(ctx, tensors[0]):
        out = Tensor._from_op(tensors[0]._data, inputs, name, _single_rule, FunctionSaved(ctx))
        _link_saved_outputs(ctx, {id(tensors[0]): out})
        return tuple(out if o is tensors[0] else o for o in outputs)
    sizes = [o._data.size if _differentiable(ctx, o) else 0 for o in tensors]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    dtype = np.result_type(*[o.dtype for o, n in zip(tensors, sizes) if n] or [np.float64])
    # the hidden node: its "data" only gives the flat gradient its shape (a zero-stride view)
    packed = np.broadcast_to(np.zeros((), dtype), (int(offsets[-1]),))
    hidden = Tensor._from_op(packed, inputs, name, _packed_rule,
                            FunctionPackedSaved(ctx, offsets))
    wrapped, recorded, k = [], {}, 0
    for o in outputs:
        if isinstance(o, Tensor):
            if sizes[k]:
                recorded[id(o)] = Tensor._from_op(o._data, (hidden,), f"{name}[{k}]",
                                                  _output_rule,
                                                  FunctionOutputSaved(k, int(offsets[k]),
                                                                      int(offsets[k + 1])))
                o = recorded[id(o)]
            else:
                o = leaf(o._data)
            k += 1
        wrapped.append(o)
    _link_saved_outputs(ctx, recorded)
    return tuple(wrapped)


def _link_saved_outputs(ctx, recorded: dict) -> None:
    for i, t in enumerate(ctx._saved_tensors):
        if t is not None and id(t) in recorded:
            ctx._saved_outputs[i] = weakref.ref(recorded[id(t)])


def _output_rule(node, g):
    # output k of a multi-output Function: its gradient goes to slice k of the flat array
    start, stop = node._saved.start, node._saved.stop
    flat = np.zeros(node._parents[0]._data.shape, dtype=node._parents[0].dtype)
    flat[start:stop] = np.ravel(g)
    return (flat,)


def _single_rule(node, g):
    return _call_backward(node._saved.ctx, (g,))


def _packed_rule(node, flat):
    ctx, offsets = node._saved.ctx, node._saved.offsets
    grads = []
    for k, (shape, dtype) in enumerate(ctx._output_meta):
        if offsets[k + 1] > offsets[k]:
            grads.append(flat[offsets[k]:offsets[k + 1]].reshape(shape).astype(dtype, copy=False))
        else:
            grads.append(np.zeros(shape, dtype))    # non-differentiable output: zeros
    return _call_backward(ctx, grads)


# backward(create_graph=True): the same three rules with recorded ops; the user's backward then
# runs with grad mode on, on recorded gradients, so what it returns can be differentiated again


@graph_rule(_output_rule)
def _output_graph(node, g):
    start, stop = node._saved.start, node._saved.stop
    n, shape = node._parents[0]._data.shape[0], node._data.shape

    def place(a):
        flat = np.zeros(n, dtype=a.dtype)
        flat[start:stop] = np.ravel(a)
        return flat

    return (linear_map(g, place, lambda a: a[start:stop].reshape(shape),
                       f"{node._op}_backward"),)


@graph_rule(_single_rule)
def _single_graph(node, g):
    return _call_backward(node._saved.ctx, (g,), create_graph=True)


@graph_rule(_packed_rule)
def _packed_graph(node, flat):
    ctx, offsets = node._saved.ctx, node._saved.offsets
    grads = []
    for k, (shape, dtype) in enumerate(ctx._output_meta):
        start, stop = int(offsets[k]), int(offsets[k + 1])
        grads.append(flat[start:stop].reshape(shape) if stop > start else
                     constant(np.zeros(shape, dtype)))
    return _call_backward(ctx, grads, create_graph=True)


def _call_backward(ctx, grads, create_graph: bool = False) -> tuple:
    """Run the user's backward; check and return one gradient per tensor input (arrays, or
    recorded tensors with ``create_graph``)."""
    cls = ctx._fn_cls
    where = f"{cls.__name__}.backward"
    if cls.backward is Function.backward:
        raise NotImplementedError(f"{cls.__name__}: define a static backward(ctx, *grads) to "
                                  "differentiate this Function")
    if create_graph:
        result = cls.backward(ctx, *grads)
    else:
        with no_grad():
            result = cls.backward(ctx, *[leaf(np.asarray(g)) for g in grads])
    result = result if isinstance(result, tuple) else (result,)
    n_args = len(ctx._arg_is_tensor)
    if len(result) != n_args:
        raise RuntimeError(f"{where} returned {len(result)} gradient(s) but forward took "
                           f"{n_args} argument(s); return one per argument (None for those "
                           "without a gradient)")
    out, shapes = [], iter(ctx._input_shapes)
    for i, (g, is_tensor) in enumerate(zip(result, ctx._arg_is_tensor)):
        if not is_tensor:
            if g is not None:
                raise RuntimeError(f"{where} returned a gradient at position {i}, but forward's "
                                   f"argument {i} is not a tensor; return None there")
            continue
        shape = next(shapes)
        if g is None:
            out.append(None)
            continue
        if create_graph:
            g = g if isinstance(g, Tensor) else constant(np.asarray(g))
        else:
            g = np.asarray(g._data if isinstance(g, Tensor) else g)
        try:
            fits = np.broadcast_shapes(g.shape, shape) == g.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(f"{where} returned a gradient of shape {tuple(g.shape)} at "
                               f"position {i}, but that input has shape {shape}")
        out.append(g)
    return tuple(out)


# ---- PyTorch's entry points ---------------------------------------------------------------------


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph: bool = False,
             inputs=None) -> None:
    """``ac.autograd.backward(loss)``: ``Tensor.backward`` for several tensors at once. The
    gradients of ``tensors`` (weighted by ``grad_tensors``, which may be omitted for
    one-element tensors) accumulate into the leaves' ``.grad``, or with ``inputs=`` into those
    tensors only; ``create_graph=True`` records the backward pass (see ``Tensor.backward``)."""
    tensors = list(tensors) if isinstance(tensors, (list, tuple)) else [tensors]
    if grad_tensors is None:
        grad_tensors = [None] * len(tensors)
    elif not isinstance(grad_tensors, (list, tuple)):
        grad_tensors = [grad_tensors]
    if len(grad_tensors) != len(tensors):
        raise ValueError(f"backward: {len(grad_tensors)} grad_tensors for {len(tensors)} tensors")
    seeds = []
    for i, (t, g) in enumerate(zip(tensors, grad_tensors)):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"backward: tensor {i} does not require grad (it has no graph)")
        if g is None and t._data.size != 1:
            raise RuntimeError(f"backward: tensor {i} has shape {tuple(t.shape)}; pass "
                               "grad_tensors for tensors with more than one element")
        seed = np.ones(t.shape, t.dtype) if g is None else np.asarray(
            g._data if isinstance(g, Tensor) else g, dtype=t.dtype)
        if seed.shape != t._data.shape:
            raise ValueError(f"backward: grad_tensors[{i}] has shape {seed.shape} but "
                             f"tensor {i} has shape {tuple(t.shape)}")
        if create_graph:
            seed = g if isinstance(g, Tensor) and g.shape == t.shape else leaf(seed)
        seeds.append(seed)
    retain_graph = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is None:
        engine.run_backward(tensors, seeds, retain_graph=retain_graph,
                            create_graph=create_graph)
        return
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    found = engine.run_backward(tensors, seeds, retain_graph=retain_graph, inputs=inputs,
                                create_graph=create_graph)
    for t, g in zip(inputs, found):             # accumulated as Tensor.backward(inputs=) does
        if g is not None:
            t._receive_grad(g if create_graph else np.asarray(g), True)


def gradcheck(func, inputs, *, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              raise_exception: bool = True, seed: int = 0) -> bool:
    """PyTorch's signature for ``autograd_cnn.testing.gradcheck``: True when ``func``'s
    gradients match central differences; otherwise GradcheckError, or False with
    ``raise_exception=False``. Inputs that require grad must be float64."""
    try:
        return _gradcheck(func, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def Variable(data, requires_grad: bool = False) -> Tensor:
    """Old PyTorch code's ``Variable(x, requires_grad=True)``: the tensor itself (a new tensor
    sharing ``data`` when ``requires_grad`` changes), as in PyTorch since 0.4."""
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable: expected a Tensor, got {type(data).__name__}")
    if requires_grad and not data.requires_grad:
        return data.detach().requires_grad_(True)
    return data


# ---- grad_fn --------------------------------------------------------------------------------------


def _camel(label: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in label.split("_"))


class Node:
    """A recorded op as PyTorch's ``tensor.grad_fn`` shows it (a view of the engine's node):
    ``name()`` ('MulBackward0' for the op 'mul'; 'MyFunctionBackward' for a Function) and
    ``next_functions``, one ``(node, output_index)`` per input: the input's grad_fn, an
    ``AccumulateGrad`` for a leaf that requires grad, or None (also after backward freed the
    graph: the freed nodes' records keep its shape)."""

    __slots__ = ("_tensor",)

    def __init__(self, tensor: Tensor):
        self._tensor = tensor

    def name(self) -> str:
        op = self._tensor._op
        if _is_function_node(self._tensor):
            return f"{op.partition('[')[0]}Backward"     # 'Two[1]' (output 1 of Two) too
        return f"{_camel(op)}Backward0"

    @property
    def next_functions(self) -> tuple:
        return tuple(_edge(p) for p in self._tensor._parents)

    def __eq__(self, other):
        return type(other) is type(self) and other._tensor is self._tensor

    def __hash__(self):
        return id(self._tensor)

    def __repr__(self):
        return f"<{self.name()} object at {id(self._tensor):#x}>"


class AccumulateGrad:
    """The end of a path in ``next_functions``: a leaf that requires grad (``variable``)."""

    __slots__ = ("variable",)

    def __init__(self, variable: Tensor):
        self.variable = variable

    def name(self) -> str:
        return "torch::autograd::AccumulateGrad"

    next_functions = ()

    def __eq__(self, other):
        return type(other) is type(self) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self.variable):#x}>"


def _is_function_node(t: Tensor) -> bool:
    # a Function's node is labelled with its class name; the library's ops are lower-case
    return t._op[:1].isupper()


def _edge(p: Tensor) -> tuple:
    if p._backward is _output_rule:             # output k of a multi-output Function
        return Node(p._parents[0]), p._saved.index
    if p._backward is not None:
        return Node(p), 0
    if p._op:                                   # the NodeRecord left by a freed node
        return Node(p), 0
    if p.requires_grad:
        return AccumulateGrad(p), 0
    return None, 0


def _grad_fn(self):
    """The node that produced this tensor (None for a leaf)."""
    if self._backward is None:
        return None
    if self._backward is _output_rule:
        return Node(self._parents[0]) if self._parents else Node(self)
    return Node(self)

