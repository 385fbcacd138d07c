"""Checking gradients: finite differences (``gradcheck``) and the two engines against each other
(``ValueArray``, ``compare_engines``).

gradcheck compares the gradient the engine computes (reverse mode) with central differences,

    dL/dx_i ~ (L(x + eps e_i) - L(x - eps e_i)) / (2 eps),

where L is a random projection of the function's output, L = sum(R * f(x)) with a fixed random R:
a backward rule that ignores (or mis-routes) its incoming gradient then fails, which a plain
``.sum()`` of the output would hide.

ValueArray rebuilds a small tensor computation element by element from scalar ``Value`` nodes, so
the same function run on Tensors and on ValueArrays must give the same gradients: an oracle
independent of every Tensor backward rule.
"""

from __future__ import annotations

import numpy as np

from . import engine
from .engine import enable_grad, no_grad
from .tensor import Tensor, grad as _tensor_grad
from .value import Value

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "ValueArray", "compare_engines"]


class GradcheckError(AssertionError):
    """The analytic gradient disagrees with finite differences; the message says where."""


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _report(i, index, shape, analytic, numeric, atol, rtol):
    nonfinite = ~(np.isfinite(analytic) & np.isfinite(numeric))
    if nonfinite.any():
        # a NaN compares false with every tolerance: it must fail, not pass
        worst = int(np.argmax(nonfinite))
        pos = np.unravel_index(worst, shape) if shape else ()
        return (f"gradcheck: gradient of input {i} is not finite at index "
                f"{tuple(int(p) for p in pos)}: analytic {analytic.flat[worst]:.10g}, numeric "
                f"{numeric.flat[worst]:.10g}; {int(nonfinite.sum())} of {nonfinite.size} "
                "element(s) are nan or inf")
    err = np.abs(analytic - numeric)
    allowed = atol + rtol * np.abs(numeric)
    bad = err > allowed
    if not bad.any():
        return None
    worst = int(np.argmax(err - allowed))
    pos = np.unravel_index(worst, shape) if shape else ()
    return (
        f"gradcheck: gradient of input {i} is wrong at index {tuple(int(p) for p in pos)}: "
        f"analytic {analytic.flat[worst]:.10g}, numeric {numeric.flat[worst]:.10g} "
        f"(abs error {err.flat[worst]:.3g} > allowed {allowed.flat[worst]:.3g} = "
        f"atol {atol:g} + rtol {rtol:g} * |numeric|); {int(bad.sum())} of {bad.size} "
        f"element(s) out of tolerance, worst abs error {err.max():.3g}"
    )


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check ``fn``'s gradients with respect to ``inputs`` against central differences.

    fn:     a function of the inputs returning a Value, a Tensor, or a tuple/list of them
    inputs: a Value/Tensor or a sequence of them; Tensors that require grad are checked (they
            must be float64), the others are passed through unchanged
    Returns True, or raises GradcheckError naming the input, the index, the analytic and the
    numeric value and the worst error.
    """
    inputs = _as_list(inputs)
    if inputs and all(isinstance(v, Value) for v in inputs):
        return _gradcheck_values(fn, inputs, eps, atol, rtol, seed)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad (pass tensors with "
                         "requires_grad=True, or Values)")
    for i, t in enumerate(inputs):
        if isinstance(t, Tensor) and t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; finite differences need "
                            "float64 inputs (use .double() or dtype=float64)")
    return _gradcheck_tensors(fn, inputs, eps, atol, rtol, seed)


def _projections(outputs, rng):
    return [rng.standard_normal(o.shape) if o.dtype.kind == "f" else None for o in outputs]


def _project(outputs, weights) -> float:
    total = 0.0
    for o, w in zip(outputs, weights):
        if w is not None:
            total += float(np.sum(o._data * w))
    return total


def _gradcheck_tensors(fn, inputs, eps, atol, rtol, seed):
    rng = np.random.default_rng(seed)
    outputs = _as_list(fn(*inputs))
    for k, o in enumerate(outputs):
        if not isinstance(o, Tensor):
            raise TypeError(f"gradcheck: output {k} is a {type(o).__name__}, expected a Tensor")
    weights = _projections(outputs, rng)
    pairs = [(o, w) for o, w in zip(outputs, weights) if w is not None and o.requires_grad]
    checked = [(i, t) for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if pairs:
        analytic = _tensor_grad([o for o, _ in pairs], [t for _, t in checked],
                                grad_outputs=[w for _, w in pairs], allow_unused=True)
    else:
        analytic = [None] * len(checked)
    for (i, t), a in zip(checked, analytic):
        a = np.zeros(t.shape) if a is None else a._data
        flat = t._data.reshape(-1)
        if not np.shares_memory(flat, t._data):
            raise ValueError(f"gradcheck: input {i} is not contiguous; pass a contiguous copy")
        numeric = np.empty(flat.size)
        with no_grad():
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                up = _project(_as_list(fn(*inputs)), weights)
                flat[j] = orig - eps
                down = _project(_as_list(fn(*inputs)), weights)
                flat[j] = orig
                numeric[j] = (up - down) / (2 * eps)
        msg = _report(i, None, t.shape, a.reshape(-1), numeric, atol, rtol)
        if msg:
            raise GradcheckError(msg)
    return True


def _gradcheck_values(fn, inputs, eps, atol, rtol, seed):
    rng = np.random.default_rng(seed)
    outputs = _as_list(fn(*inputs))
    weights = rng.standard_normal(len(outputs)) if len(outputs) > 1 else np.ones(1)
    analytic = engine.run_backward(outputs, [float(w) for w in weights], inputs=inputs)
    numeric = []
    for v in inputs:
        orig = v.data
        v.data = orig + eps
        up = sum(float(w) * o.data for w, o in zip(weights, _as_list(fn(*inputs))))
        v.data = orig - eps
        down = sum(float(w) * o.data for w, o in zip(weights, _as_list(fn(*inputs))))
        v.data = orig
        numeric.append((up - down) / (2 * eps))
    for i, (a, n) in enumerate(zip(analytic, numeric)):
        a = np.array([0.0 if a is None else a])
        msg = _report(i, None, (), a, np.array([n]), atol, rtol)
        if msg:
            raise GradcheckError(msg)
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives: the gradient of a random projection of fn's outputs,
    taken with ``create_graph=True``, is itself checked by ``gradcheck`` (its analytic gradient
    is the backward of the backward; its numeric one, central differences of the gradient).
    Inputs as for ``gradcheck`` (float64 tensors that require grad). Returns True or raises
    GradcheckError."""
    inputs = _as_list(inputs)
    checked = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradgradcheck: no input requires grad")
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outputs = _as_list(fn(*inputs))
    weights = [rng.standard_normal(o.shape).astype(o.dtype) for o in outputs]

    def first_derivatives(*args):
        with enable_grad():
            outs = _as_list(fn(*args))
            found = _tensor_grad(outs, [a for a in args if isinstance(a, Tensor) and a.requires_grad],
                         grad_outputs=[Tensor(w) for w in weights], create_graph=True,
                         allow_unused=True)
        # an input that does not reach the outputs has a zero gradient (and no second one)
        return tuple(g if g is not None else a * 0 for g, a in
                     zip(found, [a for a in args if isinstance(a, Tensor) and a.requires_grad]))

    return gradcheck(first_derivatives, inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)


# ---- the scalar engine as an oracle for the tensor engine -------------------------------------


_vfunc = {name: np.frompyfunc(lambda v, n=name: getattr(v, n)(), 1, 1)
          for name in ("exp", "log", "sqrt", "tanh", "sigmoid", "relu", "sin", "cos", "abs")}


class ValueArray:
    """A numpy object array of ``Value``s with the Tensor methods tests need: elementwise
    arithmetic and functions, reductions over ``dim`` with ``keepdim``, matmul, indexing and
    reshapes. Each op is built from scalar Value ops, so its gradients come from the scalar
    engine and owe nothing to the Tensor rules."""

    __array_ufunc__ = None

    def __init__(self, values: np.ndarray):
        self.v = values

    @classmethod
    def from_numpy(cls, array) -> "ValueArray":
        arr = np.asarray(array, dtype=np.float64)
        out = np.empty(arr.shape, dtype=object)
        for idx in np.ndindex(arr.shape):
            out[idx] = Value(float(arr[idx]))
        return cls(out)

    @staticmethod
    def _wrap(x):
        if isinstance(x, np.ndarray):
            return ValueArray(x)
        return ValueArray(np.array(x, dtype=object).reshape(()))

    @staticmethod
    def _raw(x):
        return x.v if isinstance(x, ValueArray) else x

    @property
    def shape(self):
        return self.v.shape

    @property
    def ndim(self):
        return self.v.ndim

    def numpy(self) -> np.ndarray:
        return np.vectorize(lambda v: v.data if isinstance(v, Value) else float(v),
                            otypes=[float])(self.v)

    # arithmetic
    def __add__(self, o): return self._wrap(self.v + self._raw(o))
    def __radd__(self, o): return self._wrap(self._raw(o) + self.v)
    def __sub__(self, o): return self._wrap(self.v - self._raw(o))
    def __rsub__(self, o): return self._wrap(self._raw(o) - self.v)
    def __mul__(self, o): return self._wrap(self.v * self._raw(o))
    def __rmul__(self, o): return self._wrap(self._raw(o) * self.v)
    def __truediv__(self, o): return self._wrap(self.v / self._raw(o))
    def __rtruediv__(self, o): return self._wrap(self._raw(o) / self.v)
    def __pow__(self, o): return self._wrap(self.v ** self._raw(o))
    def __neg__(self): return self._wrap(-self.v)
    def __matmul__(self, o): return self._wrap(np.matmul(self.v, self._raw(o)))
    def __getitem__(self, key):
        key = tuple(k._data if isinstance(k, Tensor) else k for k in key) \
            if isinstance(key, tuple) else (key._data if isinstance(key, Tensor) else key)
        return self._wrap(self.v[key])

    def __getattr__(self, name):
        if name in _vfunc:
            fn = _vfunc[name]
            return lambda: self._wrap(fn(self.v))
        raise AttributeError(name)

    # reductions
    @staticmethod
    def _axis(dim):
        return tuple(dim) if isinstance(dim, (list, tuple)) else dim

    def sum(self, dim=None, keepdim=False):
        return self._wrap(np.sum(self.v, axis=self._axis(dim), keepdims=keepdim))

    def mean(self, dim=None, keepdim=False):
        total = np.sum(self.v, axis=self._axis(dim), keepdims=keepdim)
        count = self.v.size // max(np.size(total), 1)
        return self._wrap(total / count)

    def _extreme(self, dim, keepdim, pick):
        if dim is None:
            flat = list(self.v.reshape(-1))
            return self._wrap(pick(flat, key=lambda v: v.data))
        moved = np.moveaxis(self.v, dim, -1)
        out = np.empty(moved.shape[:-1], dtype=object)
        for idx in np.ndindex(out.shape):
            out[idx] = pick(list(moved[idx]), key=lambda v: v.data)
        if keepdim:
            out = np.expand_dims(out, dim)
        return self._wrap(out), None     # (values, indices) like Tensor.max(dim)

    def max(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, max)

    def min(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, min)

    def logsumexp(self, dim=None, keepdim=False):
        return self.exp().sum(dim, keepdim).log()

    def var(self, dim=None, keepdim=False):
        mean = self.mean(dim, keepdim=True)
        centred = self - mean
        total = (centred * centred).sum(dim, keepdim)
        n = self.v.size // max(np.size(total.v), 1)
        return total / (n - 1)

    # shape
    def reshape(self, *shape): return self._wrap(self.v.reshape(*shape))
    def transpose(self, a=0, b=1): return self._wrap(np.swapaxes(self.v, a, b))
    def permute(self, *dims): return self._wrap(np.transpose(self.v, dims))

    @property
    def T(self):
        return self._wrap(self.v.T)


def _leaves(values: np.ndarray) -> list:
    return list(values.reshape(-1))


def compare_engines(fn, *arrays, seed: int = 0, rtol: float = 1e-9, atol: float = 1e-12):
    """Run ``fn`` on float64 Tensors and on ValueArrays built from ``arrays``; check that the
    outputs and the gradients of a random projection of the output agree. Returns the Tensor
    gradients; raises AssertionError naming the first disagreement."""
    tensors = [Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    varrays = [ValueArray.from_numpy(a) for a in arrays]
    t_out = fn(*tensors)
    v_out = fn(*varrays)
    proj = np.random.default_rng(seed).standard_normal(t_out.shape)
    np.testing.assert_allclose(v_out.numpy(), t_out._data, rtol=rtol, atol=atol,
                               err_msg="compare_engines: forward values differ")
    t_out.backward(proj)
    loss = Value(0.0)
    for w, v in zip(proj.reshape(-1), v_out.v.reshape(-1)):
        loss = loss + float(w) * v
    loss.backward()
    grads = []
    for k, (t, va) in enumerate(zip(tensors, varrays)):
        v_grad = np.array([v.grad for v in _leaves(va.v)]).reshape(va.shape)
        t_grad = np.zeros(t.shape) if t.grad is None else t.grad._data
        np.testing.assert_allclose(t_grad, v_grad, rtol=rtol, atol=atol,
                                   err_msg=f"compare_engines: gradients of input {k} differ")
        grads.append(t_grad)
    return grads
