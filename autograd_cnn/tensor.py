"""``Tensor``: a numpy array that is a node of the computational graph.

A Tensor holds ``data`` (a numpy array) and, when it is the result of a recorded op, its parents,
the op's label and the op's backward rule, the same node protocol ``Value`` uses
(see ``engine.py``). ``backward()`` hands the graph to the shared engine.

This file holds the class, its constructors and the node protocol. The differentiable ops live in
``autograd_cnn/functional/``; Tensor inherits its operators and methods from ``TensorMethods``
(``tensor_methods.py``), each a one-line call of its op, so ``a + b``, ``x.sum(dim=1)`` and
``F.add(a, b)`` run the same code, and ``from autograd_cnn.tensor import Tensor`` is complete.

Semantics follow PyTorch: float32 by default (float64 when given or asked for), ``.grad`` is set
on leaves only (and on non-leaves that called ``retain_grad()``), a graph is freed by backward
unless ``retain_graph=True``.

In-place ops (``add_``, ``x += y``, ``x[i] = v``, ``zero_``, ...) write into the tensor's storage
and bump its *version counter*. Views (basic indexing, reshape/view, transpose/permute, squeeze,
unsqueeze, expand, flatten) and ``detach()``/``.data`` share storage and that one counter with
the tensor they came from, so a write through any of them is seen by every op that recorded one
of them: such an op refuses to run its backward instead of returning a wrong gradient. With grad
mode on, an in-place op on a leaf that requires grad raises (as in PyTorch); on a non-leaf (or
with an operand that requires grad) it is recorded: the tensor keeps its identity and becomes the
result of the op, whose input is the tensor's previous value (``functional/inplace.py``).
"""

from __future__ import annotations

import math
import weakref

import numpy as np

from . import engine
from .engine import freed_rule
from .random import resolve as _resolve_generator
from .tensor_methods import TensorMethods

__all__ = [
    "Tensor",
    "Size",
    "tensor",
    "as_tensor",
    "from_numpy",
    "zeros",
    "ones",
    "full",
    "empty",
    "rand",
    "randn",
    "randint",
    "arange",
    "linspace",
    "eye",
    "zeros_like",
    "ones_like",
    "full_like",
    "rand_like",
    "randn_like",
    "empty_like",
    "randperm",
    "grad",
    "float32",
    "float64",
    "int64",
    "int32",
    "bool_",
    "get_default_dtype",
    "set_default_dtype",
]

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int64 = np.dtype(np.int64)
int32 = np.dtype(np.int32)
bool_ = np.dtype(np.bool_)

_default_dtype = float32


def get_default_dtype() -> np.dtype:
    """The floating dtype of tensors made from Python floats (float32 unless changed)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: expected a floating dtype, got {dtype}")
    _default_dtype = dtype


def _check_float_for_grad(dtype: np.dtype, where: str) -> None:
    if dtype.kind != "f":
        raise TypeError(
            f"{where}: only floating-point tensors can require gradients, got dtype {dtype}; "
            "integer and bool tensors hold labels, indices and masks "
            "(convert with .float() or .double() first)"
        )


class Size(tuple):
    """A tensor's shape, as ``x.shape`` and ``x.size()`` return it: a tuple of ints that prints
    as PyTorch's (``print(x.shape)``: ``torch.Size([2, 3])``); in an f-string it reads as the
    tuple, ``(2, 3)``, the form the library's messages use.
    Slicing it, adding a tuple to it or repeating it gives a Size again; ``numel()`` is the
    product of the sizes."""

    __slots__ = ()

    def __new__(cls, sizes=()):
        sizes = tuple(sizes)
        for i, n in enumerate(sizes):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
                raise TypeError(f"Size: expected an iterable of ints, item {i} is "
                                f"{type(n).__name__} ({n!r})")
        return tuple.__new__(cls, (int(n) for n in sizes))

    def __repr__(self) -> str:
        return f"torch.Size({list(self)})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        # f-strings (and so every error message of the library) show the plain tuple, (2, 3);
        # print(), str() and repr() show PyTorch's torch.Size([2, 3])
        return format(tuple.__repr__(self), spec)

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Size(item) if isinstance(key, slice) else item

    def __add__(self, other):
        return Size(tuple(self) + tuple(other))

    def __radd__(self, other):
        return Size(tuple(other) + tuple(self))

    def __mul__(self, n):
        return Size(tuple(self) * n)

    __rmul__ = __mul__

    def numel(self) -> int:
        return int(np.prod(self, dtype=np.int64))


class _HookHandle:
    """Returned by ``register_hook``; ``remove()`` takes the hook off again."""

    __slots__ = ("_hooks", "_fn")

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self) -> None:
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


class _VersionCounter:
    """How many times one storage was written in place. Shared by a tensor and its views and
    detached aliases; an op records the sum of its operands' counts and compares at backward."""

    __slots__ = ("value", "shared", "external")

    def __init__(self, value: int = 0, external: bool = True):
        self.value = value
        self.shared = False     # set once a view or alias of the storage exists
        # the storage came from outside the graph (a leaf: the user may hold numpy views of
        # it), so a recorded in-place op must write into it rather than replace it
        self.external = external


class NodeRecord:
    """What stays of a tensor's node once backward has freed the graph: enough to draw it.

    Backward frees each op's saved arrays and, by dropping the links to the op's inputs, the
    intermediate activations. A freed node keeps one ``NodeRecord`` per input instead (shape,
    dtype, op label, parents, gradient summary: a few hundred bytes, never an activation), so the
    graph can still be drawn with every node's gradient. Leaves that require grad (parameters)
    are kept as themselves: their owner holds them anyway, and their ``.grad`` is the picture.

    grad: the gradient the node received in the last backward: the array when it has at most
          ``SMALL`` elements, else its 2-norm (a float); None before any backward reached it
    ref:  a weak reference to the tensor (its data, while someone still holds it)

    Small leaves that need no grad (scalar constants) are kept as themselves too: they hold no
    activation, and drawings fold them into their op's label.
    """

    __slots__ = ("shape", "dtype", "_op", "_parents", "grad", "ref")
    SMALL = 16
    # the engine walks no further than a record: a second backward stops with freed_rule at the
    # freed node above it, before any record is reached
    requires_grad = False
    _backward = None

    def __init__(self, t: "Tensor"):
        d = t._data
        self.shape = d.shape
        self.dtype = d.dtype
        self._op = t._op                # "" for a leaf (an input or a big constant)
        self._parents = t._parents if t._backward is freed_rule else ()  # else set at release
        self.grad = None
        self.ref = weakref.ref(t)

    @property
    def needs_grad(self) -> bool:
        """Records stand for freed op results (which required grad) or leaves that need none."""
        return bool(self._op)


def _record_of(t: "Tensor") -> NodeRecord:
    rec = t._record
    if rec is None:
        rec = t._record = NodeRecord(t)
    return rec


def grad_summary(g):
    """The array itself when small, else its 2-norm (one BLAS dot: cheap next to the op's rule)."""
    if g.size <= 16:                    # NodeRecord.SMALL, spelled out: this runs per node
        return g
    r = g.reshape(-1)
    return math.sqrt(abs(float(np.dot(r, r))))      # math's sqrt: 0.5 us less than numpy's


class Tensor(TensorMethods):
    """An n-dimensional array with reverse-mode autograd.

    data:          numpy.ndarray
    grad:          Tensor or None: d(loss)/d(this tensor) after ``loss.backward()`` (leaves only)
    requires_grad: whether ops on it are recorded
    """

    __slots__ = (
        "_data", "grad", "requires_grad", "_parents", "_op", "_backward", "_saved",
        "_vc", "_vsum", "_hooks", "_retains_grad", "_trace", "_record", "__weakref__",
    )
    # ndarray + Tensor defers to Tensor.__radd__ (a Tensor, as in PyTorch), while numpy
    # functions (np.exp(t), np.asarray(t)) read the values through __array__
    __array_priority__ = 1000

    def __init__(self, *data, dtype=None, requires_grad: bool = False):
        """PyTorch's legacy constructor: ``Tensor(3, 4)`` (or ``Tensor(size)``) an
        uninitialised float32 tensor of that shape, ``Tensor()`` an empty one, ``Tensor([1, 2])``
        nested Python numbers in the default dtype (float32, also from ints). A numpy array
        keeps its dtype (PyTorch's converts it to float32: see the README's differences) and
        a tensor its values; use ``ac.tensor`` for PyTorch's dtype-inferring factory."""
        if len(data) == 1 and not _is_size(data[0]):
            data = data[0]
            if dtype is None and not isinstance(data, (np.ndarray, Tensor, np.generic)):
                dtype = _default_dtype         # Python data: the default dtype, as PyTorch
            arr = _to_array(data, dtype)
        else:
            shape = _legacy_shape(data)
            arr = np.empty(shape, np.dtype(dtype) if dtype is not None else _default_dtype)
        self._data = arr
        self.grad = None
        self._parents = ()
        self._op = ""
        self._backward = None
        self._saved = None
        self._vc = _VersionCounter()
        self._vsum = None
        self._hooks = None
        self._retains_grad = False
        self._trace = None
        self._record = None
        if requires_grad:
            _check_float_for_grad(arr.dtype, "tensor(requires_grad=True)")
        self.requires_grad = bool(requires_grad)

    # ---- construction of op results (the one place ops create tensors) -----------------------

    @classmethod
    def _from_op(cls, data: np.ndarray, parents: tuple, op: str, rule, saved=None,
                 differentiable: bool = True) -> "Tensor":
        """The result of an op: records ``parents``, ``op``, ``rule`` (and ``saved``, whatever the
        rule needs) when grad mode is on and some parent requires grad; a plain tensor otherwise.
        ``differentiable=False`` for ops whose output carries no gradient (argmax, comparisons)."""
        out = Tensor.__new__(Tensor)
        # numpy returns scalars (read-only, not arrays) for ops on 0-d arrays: keep arrays
        out._data = data if type(data) is np.ndarray else np.asarray(data)
        out.grad = None
        out._vc = _VersionCounter(0, False)
        out._hooks = None
        out._retains_grad = False
        out._record = None
        if differentiable and engine._state.grad_enabled and _any_requires_grad(parents):
            out.requires_grad = True
            out._parents = parents
            out._op = op
            out._backward = rule
            out._saved = saved
            out._vsum = _version_sum(parents)
            out._trace = engine.creation_site() if engine._state.anomaly else None
        else:
            out.requires_grad = False
            out._parents = ()
            out._op = ""
            out._backward = None
            out._saved = None
            out._vsum = None
            out._trace = None
        return out

    # ---- properties ----------------------------------------------------------------------------

    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def is_leaf(self) -> bool:
        return self._backward is None

    @property
    def op(self) -> str:
        """Label of the op that produced this tensor ('' for a leaf)."""
        return self._op

    @property
    def data(self) -> "Tensor":
        """As in PyTorch: a tensor sharing this one's storage, outside the graph
        (``p.data.sub_(lr * p.grad)``, ``p.data.norm()``). The library's own code reads the
        numpy array as ``t._data``; users get it with ``t.detach().numpy()``."""
        return self.detach()

    @data.setter
    def data(self, value) -> None:
        # ``p.data = new`` swaps the storage (shape and dtype may change), as PyTorch allows
        self._data = value._data if isinstance(value, Tensor) else np.asarray(value)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's storage has had (PyTorch's ``t._version``)."""
        return self._vc.value

    def _bump_version(self) -> None:
        """Record an in-place write done outside the in-place methods (optimisers' kernels)."""
        self._vc.value += 1

    @property
    def T(self) -> "Tensor":
        return self.permute(*reversed(range(self.ndim)))

    def size(self, dim: int | None = None):
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        return self._data.shape[_norm_dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return self._data.size

    nelement = numel
    ndimension = dim

    def element_size(self) -> int:
        """Bytes per element."""
        return self._data.itemsize

    def is_contiguous(self) -> bool:
        """Whether the storage is C-contiguous (row-major without gaps)."""
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self._data.dtype.kind == "f"

    def type_as(self, other) -> "Tensor":
        """This tensor in ``other``'s dtype (``.to(other.dtype)``)."""
        return self.to(other.dtype)

    @property
    def mT(self) -> "Tensor":
        """The last two dims swapped (a batch of matrices transposed)."""
        if self.ndim < 2:
            raise RuntimeError(f"tensor.mT is only supported on matrices or batches of "
                               f"matrices; got a {self.ndim}-D tensor")
        return self.transpose(-2, -1)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    # ---- conversion ----------------------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied). Like PyTorch, refused while the tensor
        requires grad: call ``.detach().numpy()`` to say you leave the graph."""
        if self.requires_grad:
            raise RuntimeError(
                "numpy(): this tensor requires grad; use tensor.detach().numpy() to get its "
                "values outside the graph"
            )
        return self._data

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise RuntimeError(
                "numpy: this tensor requires grad, so numpy cannot read it (np.asarray, np.exp, "
                "...); use tensor.detach() first, as in PyTorch")
        data = self._data if dtype is None else self._data.astype(dtype)
        return data.copy() if copy else data

    def item(self):
        if self._data.size != 1:
            raise ValueError(
                f"item(): only a one-element tensor converts to a Python number, "
                f"got shape {self.shape}"
            )
        return self._data.reshape(()).item()

    def tolist(self):
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise ValueError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self._data.reshape(()))

    def __format__(self, spec: str) -> str:
        # as PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}"); any other tensor only
        # with an empty spec (its str)
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        if spec:
            raise TypeError(f"unsupported format string {spec!r} passed to Tensor.__format__: only "
                            f"0-d tensors format as numbers, this one has shape "
                            f"{tuple(self.shape)} (use .item() on a one-element tensor)")
        return str(self)

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError(f"only one-element integer tensors can be used as an index, got "
                            f"dtype {self.dtype} with shape {self.shape}")
        return int(self.item())

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data and version counter, outside the graph: an
        in-place write through it is seen by the ops that recorded this tensor."""
        out = leaf(self._data)
        share_version(out, self)
        return out

    def clone(self) -> "Tensor":
        """A copy of the data that stays in the graph (gradient flows through unchanged)."""
        return Tensor._from_op(self._data.copy(), (self,), "clone", _clone_rule)

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", threshold=60,
                               edgeitems=3, prefix="tensor(")
        extra = []
        if self.dtype != _default_dtype and self.dtype != int64 and self.dtype != bool_:
            extra.append(f"dtype={self.dtype}")
        elif self.dtype == bool_ or (self.dtype == int64 and self._data.size == 0):
            extra.append(f"dtype={self.dtype}")
        if self._op:
            extra.append(f"op={self._op!r}")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ---- the engine's node protocol ----------------------------------------------------------

    def _receive_grad(self, grad, store: bool):
        if self._vsum is not None and _version_sum(self._parents) + self._vc.value != self._vsum:
            _raise_modified(self)
        if self._backward is not None:      # non-leaves keep a summary for drawings
            rec = self._record
            if rec is None:
                rec = self._record = NodeRecord(self)
            # grad_summary, inlined: this runs for every node of every backward
            g = grad._data if isinstance(grad, Tensor) else grad
            if g.size <= 16:
                rec.grad = g
            else:
                r = g.reshape(-1)
                rec.grad = math.sqrt(abs(float(np.dot(r, r))))
        if isinstance(grad, Tensor):
            return self._receive_graph_grad(grad, store)
        if self._hooks:
            for hook in list(self._hooks):
                result = hook(Tensor(np.asarray(grad), dtype=None))
                if result is not None:
                    new = result._data if isinstance(result, Tensor) else np.asarray(result)
                    _check_hook_result(hook, np.shape(grad), new.shape)
                    grad = new
        if store and (self._backward is None or self._retains_grad):
            g = np.asarray(grad, dtype=self._data.dtype)
            if g.shape != self._data.shape:
                g = g.reshape(self._data.shape)
            if self.grad is None:
                # a copy: one array may flow to several leaves, and optimisers edit .grad in place
                self.grad = Tensor(np.array(g, copy=True))
            elif self._backward is None and accumulates_in_place(self.grad, self._data):
                # a leaf's .grad takes the sum in place, as PyTorch's AccumulateGrad does outside
                # create_graph: whoever holds that tensor (a reference kept from the last
                # backward, an optimiser, a bucket) sees the sum, and no array is allocated
                np.add(self.grad._data, g, out=self.grad._data)
                self.grad._vc.value += 1
            else:
                # a retained non-leaf gradient is replaced by the sum (PyTorch's retain_grad)
                self.grad = Tensor(self.grad._data + g)
        return grad

    def _receive_graph_grad(self, grad: "Tensor", store: bool) -> "Tensor":
        # backward(create_graph=True): the gradient is a recorded tensor; .grad keeps its graph
        if self._hooks:
            for hook in list(self._hooks):
                result = hook(grad)
                if result is not None:
                    new = result if isinstance(result, Tensor) else Tensor(np.asarray(result))
                    _check_hook_result(hook, grad.shape, new.shape)
                    grad = new
        if store and (self._backward is None or self._retains_grad):
            g = grad
            if g.dtype != self.dtype:
                g = g.to(self.dtype)
            if g.shape != self.shape:
                g = g.reshape(self.shape)
            self.grad = g if self.grad is None else self.grad + g
        return grad

    def _fit_grad(self, grad):
        """A gradient an op sent to this tensor, summed back to its shape where the op
        broadcast it (once per edge, for the engine: rules return broadcast-shaped gradients)."""
        shape = self._data.shape
        if isinstance(grad, (np.ndarray, np.generic)):
            return grad if grad.shape == shape else engine.sum_to_shape(grad, shape)
        if isinstance(grad, Tensor) and grad._data.shape != shape:
            return _graph_sum_to_shape(grad, shape)            # a recorded gradient
        return grad

    def _release(self) -> None:
        # Drop saved values and replace the inputs by NodeRecords so intermediate arrays are
        # freed while backward is still running (lower peak memory) but the graph can still be
        # drawn; a second backward meets freed_rule. Leaves that hold nothing big (parameters,
        # scalar constants) stay themselves: keeping them costs no memory.
        if self._backward is None or self._backward is freed_rule:
            return
        self._saved = None
        self._vsum = None
        self._backward = freed_rule
        kept = []
        for p in self._parents:
            if p._backward is None and (p.requires_grad or p._data.size <= 16):
                kept.append(p)
            else:
                kept.append(p._record or _record_of(p))
        self._parents = kept = tuple(kept)
        if self._record is not None:
            self._record._parents = kept

    # ---- autograd ------------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs=None) -> None:
        """Accumulate d(self)/d(leaf), weighted by ``gradient``, into ``.grad`` of every leaf that
        requires grad. ``gradient`` may be omitted only for a one-element tensor (it is 1).
        ``create_graph=True`` records the backward pass itself, so ``.grad`` can be
        differentiated again (it keeps the graph, as ``retain_graph`` then defaults to True).
        ``inputs``: accumulate only into these tensors' ``.grad``."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph: no input of the "
                "computation had requires_grad=True (or it was computed under no_grad())"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward(): gradient can be omitted only for a one-element output, this "
                    f"one has shape {self.shape}; pass gradient= with that shape "
                    "(or reduce the output, e.g. .sum(), first)"
                )
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = np.asarray(gradient._data if isinstance(gradient, Tensor) else gradient,
                              dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward(): gradient has shape {seed.shape} but the tensor has shape "
                    f"{self.shape}"
                )
        if retain_graph is None:
            retain_graph = create_graph
        if create_graph:
            seed = gradient if isinstance(gradient, Tensor) and gradient.shape == self.shape \
                else leaf(seed)
        if inputs is not None:
            inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
            found = engine.run_backward([self], [seed], retain_graph=retain_graph,
                                        inputs=inputs, create_graph=create_graph)
            for t, g in zip(inputs, found):
                if g is not None:
                    t._receive_grad(g if create_graph else np.asarray(g), True)
            return
        engine.run_backward([self], [seed], retain_graph=retain_graph,
                            create_graph=create_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad(): the tensor does not require grad")
        self._retains_grad = True

    def register_hook(self, hook) -> _HookHandle:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose ``remove()`` unregisters it."""
        if not self.requires_grad:
            raise RuntimeError("register_hook(): the tensor does not require grad")
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(hook)
        return _HookHandle(self._hooks, hook)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if not self.is_leaf:
            if requires_grad:
                return self     # a recorded result already requires grad (PyTorch: a no-op)
            raise RuntimeError(
                "requires_grad_(False): only leaf tensors can change requires_grad; "
                "use .detach() to leave the graph"
            )
        if requires_grad:
            _check_float_for_grad(self.dtype, "requires_grad_()")
        self.requires_grad = bool(requires_grad)
        return self

    # ---- in-place writes that take no operand (the others: functional/inplace.py) ------------

    def _inplace(self, name: str) -> np.ndarray:
        """The storage, for an in-place write that is never recorded (fills, random draws).
        Refused on a tensor that requires grad while grad mode is on."""
        if self.requires_grad and engine._state.grad_enabled:
            what = "a leaf tensor" if self._backward is None else "a tensor"
            raise RuntimeError(
                f"{name}: {what} that requires grad is being used in an in-place operation. "
                f"Wrap the update in `with ac.no_grad():` (as initialisers and optimisers do), "
                "or use an out-of-place op"
            )
        self._vc.value += 1
        return self._data

    def zero_(self) -> "Tensor":
        self._inplace("zero_").fill(0)
        return self

    def fill_(self, value) -> "Tensor":
        self._inplace("fill_").fill(value.item() if isinstance(value, Tensor) else value)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator=None) -> "Tensor":
        rng = _resolve_generator(generator)
        data = self._inplace("uniform_")
        if _draws_in_place(data):       # no float64 temporary: 5x faster on float32 weights
            rng.random(out=data, dtype=data.dtype)
            data *= data.dtype.type(b - a)
            data += data.dtype.type(a)
        else:
            data[...] = rng.uniform(a, b, self.shape)
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator=None) -> "Tensor":
        rng = _resolve_generator(generator)
        data = self._inplace("normal_")
        if _draws_in_place(data):
            rng.standard_normal(out=data, dtype=data.dtype)
            data *= data.dtype.type(std)
            data += data.dtype.type(mean)
        else:
            data[...] = rng.normal(mean, std, self.shape)
        return self


def accumulates_in_place(grad: Tensor, data: np.ndarray) -> bool:
    """Whether ``grad``, the ``.grad`` of a leaf holding ``data``, can take a new gradient in
    place (``+=``, or a write of the reduced values in data-parallel training): a tensor outside
    any graph (not the recorded result of a ``create_graph`` backward) of the leaf's shape and
    dtype, over writeable storage. Otherwise ``.grad`` is replaced by a new tensor."""
    d = grad._data
    return (not grad.requires_grad and d.shape == data.shape and d.dtype == data.dtype
            and d.flags.writeable)


def set_grad(t: Tensor, values: np.ndarray) -> None:
    """Make ``t.grad`` hold ``values`` (a copy): written into the existing ``.grad`` when it
    ``accumulates_in_place``, so references to it stay valid as in PyTorch (zero_grad with
    set_to_none=False, gradients averaged over ranks); else a new tensor."""
    values = np.asarray(values).reshape(t._data.shape)
    if t.grad is not None and accumulates_in_place(t.grad, t._data):
        t.grad._data[...] = values
        t.grad._vc.value += 1
    else:
        t.grad = Tensor(np.array(values, dtype=t._data.dtype, copy=True))


def zero_grad(t: Tensor, set_to_none: bool) -> None:
    """``zero_grad`` of one parameter, as PyTorch's: ``.grad`` becomes None, or is filled with
    zeros in place (the same tensor: references to it stay valid) when it
    ``accumulates_in_place``, else replaced by zeros outside any graph."""
    if t.grad is None:
        return
    if set_to_none:
        t.grad = None
    elif accumulates_in_place(t.grad, t._data):
        t.grad._data.fill(0)
        t.grad._vc.value += 1
    else:
        t.grad = Tensor(np.zeros_like(t._data))


def _check_hook_result(hook, before: tuple, after: tuple) -> None:
    if tuple(after) != tuple(before):
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(f"hook {name!r} changed the size of the gradient from shape "
                           f"{tuple(before)} to {tuple(after)}; a hook must return None or a "
                           "tensor of the gradient's shape")


def _draws_in_place(data: np.ndarray) -> bool:
    """numpy's generators can fill a C-contiguous float32/float64 array directly."""
    return data.dtype in (np.float32, np.float64) and data.flags.c_contiguous and data.size > 0


def leaf(data: np.ndarray) -> Tensor:
    """A tensor around ``data`` without checks or copies (for ops wrapping constants)."""
    out = Tensor.__new__(Tensor)
    out._data = data if type(data) is np.ndarray else np.asarray(data)
    out.grad = None
    out.requires_grad = False
    out._parents = ()
    out._op = ""
    out._backward = None
    out._saved = None
    out._vc = _VersionCounter()
    out._vsum = None
    out._hooks = None
    out._retains_grad = False
    out._trace = None
    out._record = None
    return out


def share_version(view: Tensor, base: Tensor) -> Tensor:
    """Make ``view`` (a tensor over ``base``'s storage) share ``base``'s version counter, so a
    write through either is seen by the ops that recorded the other."""
    vc = base._vc
    vc.shared = True
    view._vc = vc
    if view._vsum is not None:
        view._vsum = _version_sum(view._parents) + vc.value
    return view


def _graph_sum_to_shape(g: Tensor, shape: tuple) -> Tensor:
    """``engine.sum_to_shape`` in recorded ops (create_graph): undo broadcasting of a recorded
    gradient, so the sum is differentiable too."""
    lead = g.ndim - len(shape)
    if lead > 0:
        g = g.sum(dim=tuple(range(lead)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(dim=stretched, keepdim=True)
    return g.reshape(shape) if g.shape != shape else g


def _clone_rule(node, g):
    return (g,)


engine.graph_rules[_clone_rule] = _clone_rule      # the identity is its own recorded form


def _any_requires_grad(parents) -> bool:
    for p in parents:
        if p.requires_grad:
            return True
    return False


def _version_sum(tensors) -> int:
    # a sum, not a tuple of versions: this runs for every recorded op (a tuple cost ~0.5 us)
    total = 0
    for t in tensors:
        total += t._vc.value
    return total


def _raise_modified(node) -> None:
    # the versions are summed, so which operand changed after the op recorded it is not kept;
    # the candidates are those written at some time (usually there is one)
    changed = [p for p in node._parents if p._vc.value]
    if not changed:
        what = "its output"
    else:
        what = ("its input" if len(changed) == 1 else "one of its inputs or its output") + \
            " (" + ", ".join(f"the result of '{p._op}'" if p._op else "a leaf tensor"
                             for p in changed) + ")"
    raise RuntimeError(
        f"backward of '{node._op}': {what} was modified by an in-place operation "
        "after the op recorded it, so its gradient would be wrong (autograd_cnn refuses as "
        "soon as an op's input or output changed, even if the op saved no value). Do the "
        "in-place update after backward (e.g. optimizer.step() after loss.backward()), or "
        "use an out-of-place op"
    )


def _norm_dim(dim, ndim: int, where: str) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{where}: dim must be an int, got {type(dim).__name__} ({dim!r})")
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(
            f"{where}: dim {dim} is out of range for a tensor with {ndim} dimension(s) "
            f"(expected {-max(ndim, 1)} .. {max(ndim, 1) - 1})"
        )
    return dim % max(ndim, 1)


# ---- constructors --------------------------------------------------------------------------


def _is_size(x) -> bool:
    """Whether ``Tensor(x)`` means a shape: a Python int or a ``Size`` (a plain tuple is data)."""
    return isinstance(x, Size) or (isinstance(x, int) and not isinstance(x, bool))


def _legacy_shape(sizes: tuple) -> tuple:
    if len(sizes) == 1 and isinstance(sizes[0], Size):
        sizes = tuple(sizes[0])
    if not sizes:
        return (0,)
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0
               for n in sizes):
        raise TypeError(f"Tensor(*sizes): expected non-negative ints as the sizes, got "
                        f"{sizes!r} (for values, pass one nested list: Tensor([1, 2]))")
    return tuple(int(n) for n in sizes)


def _to_array(data, dtype=None) -> np.ndarray:
    """numpy array for ``data``: Python floats -> default dtype (float32), ints -> int64,
    bools -> bool, numpy arrays keep their dtype unless ``dtype`` is given."""
    if isinstance(data, Tensor):
        data = data._data
    if dtype is not None:
        dtype = np.dtype(dtype)
    if isinstance(data, np.ndarray):
        if data.dtype.kind not in "biuf":
            raise TypeError(
                f"tensor: can't make a tensor from a numpy array of dtype {data.dtype} "
                "(supported: bool, integers, float16/32/64; convert with .astype(...) first)")
        return data if dtype is None or data.dtype == dtype else data.astype(dtype)
    if isinstance(data, (str, bytes)) or data is None:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} ({data!r})")
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as err:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: {err}") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise TypeError(
            f"tensor: expected numbers (nested lists/tuples of int, float or bool, or an "
            f"array), got elements of type {type(arr.flat[0]).__name__ if arr.size else 'object'}"
        )
    if dtype is not None:
        return arr.astype(dtype)
    if arr.dtype.kind == "f" and not isinstance(data, (np.generic,)):
        return arr.astype(_default_dtype)   # Python floats
    if arr.dtype.kind in "iu" and not isinstance(data, np.generic):
        return arr.astype(np.int64)
    return arr


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, numpy arrays, tensors)."""
    if isinstance(data, Tensor):
        data = data._data
    arr = _to_array(data, dtype)
    if arr is data:
        arr = arr.copy()
    return Tensor(arr, requires_grad=requires_grad)


def as_tensor(data, dtype=None) -> Tensor:
    """``data`` itself if it is a Tensor of that dtype, else a tensor sharing memory where it can."""
    if isinstance(data, Tensor) and (dtype is None or data.dtype == np.dtype(dtype)):
        return data
    return Tensor(_to_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing ``array``'s memory and dtype."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def _shape(size) -> tuple:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for n in size:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
            raise ValueError(f"size must be non-negative ints, got {tuple(size)!r}")
    return tuple(int(n) for n in size)


def _float_dtype(dtype):
    return _default_dtype if dtype is None else np.dtype(dtype)


def zeros(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.zeros(_shape(size), _float_dtype(dtype)), requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.ones(_shape(size), _float_dtype(dtype)), requires_grad=requires_grad)


def empty(*size, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.empty(_shape(size), _float_dtype(dtype)), requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False) -> Tensor:
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(np.full(_shape(size), fill_value, np.dtype(dtype)), requires_grad=requires_grad)


def rand(*size, dtype=None, requires_grad=False, generator=None) -> Tensor:
    """Uniform on [0, 1)."""
    rng = _resolve_generator(generator)
    data = rng.random(_shape(size)).astype(_float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad=False, generator=None) -> Tensor:
    """Standard normal."""
    rng = _resolve_generator(generator)
    data = rng.standard_normal(_shape(size)).astype(_float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def bernoulli(input, p=None, *, generator=None) -> Tensor:
    """0/1 draws, 1 with probability ``input`` (elementwise, in [0, 1]; or ``p`` for all),
    in input's dtype.  No gradient."""
    probs = input._data if isinstance(input, Tensor) else np.asarray(input)
    if p is not None:
        probs = np.full(probs.shape, float(p))
    if probs.size and not (np.all(probs >= 0) and np.all(probs <= 1)):
        raise ValueError("bernoulli: the probabilities must lie in [0, 1]")
    dtype = probs.dtype if probs.dtype.kind == "f" else _default_dtype
    draws = _resolve_generator(generator).random(probs.shape) < probs
    return Tensor(draws.astype(dtype))


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None,
           requires_grad=False) -> Tensor:
    """Draws from N(mean, std^2): ``mean`` and ``std`` tensors or numbers (broadcast together),
    or numbers with ``size``.  No gradient flows to mean or std (as in PyTorch)."""
    m = mean._data if isinstance(mean, Tensor) else np.asarray(mean, dtype=np.float64)
    sd = std._data if isinstance(std, Tensor) else np.asarray(std, dtype=np.float64)
    if np.any(sd < 0):
        raise ValueError("normal: std must be non-negative")
    shape = _shape(size if isinstance(size, (tuple, list)) else (size,)) if size is not None \
        else np.broadcast_shapes(m.shape, sd.shape)
    out_dtype = np.dtype(dtype) if dtype is not None else next(
        (a.dtype for a in (m, sd) if isinstance(a, np.ndarray) and a.dtype.kind == "f" and
         (isinstance(mean, Tensor) or isinstance(std, Tensor))), _default_dtype)
    draws = m + sd * _resolve_generator(generator).standard_normal(shape)
    return Tensor(np.asarray(draws, dtype=out_dtype), requires_grad=requires_grad)


def randint(low: int, high=None, size=None, dtype=None, generator=None) -> Tensor:
    """Integers uniform on [low, high); ``randint(high, size)`` draws from [0, high), as
    PyTorch's two-argument form."""
    if size is None:
        if high is None:
            raise TypeError("randint: expected (high, size) or (low, high, size)")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    rng = _resolve_generator(generator)
    size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    return Tensor(rng.integers(low, high, _shape(size)).astype(dtype or np.int64))


def arange(start, end=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else _default_dtype
    return Tensor(np.arange(start, end, step, dtype=np.dtype(dtype)), requires_grad=requires_grad)


def linspace(start, end, steps: int, dtype=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive. An integer dtype truncates
    toward zero, as PyTorch does (numpy floors: -6.67 -> -7 where PyTorch gives -6)."""
    dtype = _float_dtype(dtype)
    data = np.linspace(start, end, steps, dtype=np.float64)
    data = np.trunc(data).astype(dtype) if dtype.kind in "biu" else data.astype(dtype)
    return Tensor(data, requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad=requires_grad)


def _like(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def zeros_like(x, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.zeros_like(_like(x), dtype=dtype), requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.ones_like(_like(x), dtype=dtype), requires_grad=requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.full_like(_like(x), fill_value, dtype=dtype), requires_grad=requires_grad)


def rand_like(x, dtype=None, requires_grad=False, generator=None) -> Tensor:
    a = _like(x)
    return rand(*a.shape, dtype=dtype or a.dtype, requires_grad=requires_grad,
                generator=generator)


def randn_like(x, dtype=None, requires_grad=False, generator=None) -> Tensor:
    a = _like(x)
    return randn(*a.shape, dtype=dtype or a.dtype, requires_grad=requires_grad,
                 generator=generator)


def empty_like(x, dtype=None, requires_grad=False) -> Tensor:
    return Tensor(np.empty_like(_like(x), dtype=dtype), requires_grad=requires_grad)


def randperm(n: int, dtype=None, requires_grad=False, generator=None) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype`` says otherwise)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"randperm: n must be a non-negative int, got {n!r}")
    data = _resolve_generator(generator).permutation(int(n)).astype(dtype or np.int64)
    return Tensor(data, requires_grad=requires_grad)



def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph: bool = False,
         allow_unused: bool = False):
    """Gradients of ``outputs`` with respect to ``inputs``, returned as a tuple of tensors,
    without touching any ``.grad``. ``grad_outputs`` weights each output (required for outputs
    with more than one element). An input the outputs do not depend on raises unless
    ``allow_unused=True`` (its gradient is then None). The graph is freed unless
    ``retain_graph=True``. ``create_graph=True`` records the backward pass, so the returned
    gradients can be differentiated again (gradient penalties, Hessian-vector products)."""
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    single = not isinstance(inputs, (list, tuple))
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    seeds = []
    for i, (out, go) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(out, Tensor):
            raise TypeError(f"grad: output {i} is a {type(out).__name__}, expected a Tensor")
        if not out.requires_grad:
            raise RuntimeError(f"grad: output {i} does not require grad (it has no graph)")
        if go is None:
            if out._data.size != 1:
                raise RuntimeError(f"grad: output {i} has shape {out.shape}; pass grad_outputs "
                                   "for outputs with more than one element")
            seeds.append(np.ones(out.shape, dtype=out.dtype))
        else:
            seed = np.asarray(go._data if isinstance(go, Tensor) else go, dtype=out.dtype)
            if seed.shape != out.shape:
                raise ValueError(f"grad: grad_outputs[{i}] has shape {seed.shape} but output "
                                 f"{i} has shape {out.shape}")
            seeds.append(seed)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t.requires_grad:
            raise RuntimeError(f"grad: input {i} is not a tensor that requires grad")
    if create_graph:
        seeds = [go if isinstance(go, Tensor) and go.shape == s.shape else leaf(s)
                 for go, s in zip(grad_outputs, seeds)]
    retain = create_graph if retain_graph is None else bool(retain_graph)
    found = engine.run_backward(outputs, seeds, retain_graph=retain, inputs=inputs,
                                create_graph=create_graph)
    result = []
    for i, (t, g) in enumerate(zip(inputs, found)):
        if g is None:
            if not allow_unused:
                raise RuntimeError(f"grad: input {i} (shape {t.shape}) is not used in the "
                                   "graph of the outputs; pass allow_unused=True to get None")
            result.append(None)
        elif isinstance(g, Tensor):
            if g.dtype != t.dtype:
                g = g.to(t.dtype)
            result.append(g.reshape(t.shape) if g.shape != t.shape else g)
        else:
            g = np.array(g, dtype=t.dtype)   # a copy: gradients may share arrays
            result.append(Tensor(g.reshape(t.shape) if g.shape != t.shape else g))
    return tuple(result)
