"""The registry of Tensor op cases: one entry per op (and per interesting variant).

Each case names the op, how to call it on Tensors, a numpy reference for the forward, the input
shapes to try, and the input domain (so inputs stay away from kinks: ReLU at 0, max ties, log of
negatives). ``tests/test_tensor_ops.py`` turns every entry into a forward test against numpy and a
float64 gradcheck with a random projection loss; a new op gets its checks by adding an entry here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import autograd_cnn as ac
import autograd_cnn.functional as F


@dataclass
class OpCase:
    name: str
    fn: Callable                    # on Tensors
    ref: Callable                   # on numpy arrays
    shapes: list                    # list of tuples of input shapes
    domain: str = "any"             # any | positive | nonzero | unit (in (-1, 1))
    grad: bool = True
    tol: float = 1e-5
    ids: list = field(default_factory=list)
    # the same computation spelled as PyTorch accepts it, for the parity suite (tests/parity/),
    # where this library accepts more (e.g. prod over several dims); None: ``fn`` as it is
    torch_fn: Callable | None = None


BROADCAST_PAIRS = [((3,), (2, 3)), ((1, 3), (2, 3)), ((), (5, 4)), ((4, 1), (1, 4)),
                   ((2, 1, 3), (3,)), ((2, 3), (2, 3))]
UNARY_SHAPES = [((),), ((5,),), ((2, 3),), ((2, 1, 3),)]
REDUCE_SHAPE = (2, 3, 4)
REDUCE_DIMS = [None, 0, 1, -1, -2, (0, 2), (-1, 0), (0, 1, 2)]


def make_inputs(shapes, domain: str, rng, dtype=np.float64):
    """Random inputs for a case, kept away from the kinks of its domain: |x| >= 0.3, so ReLU-like
    kinks at 0 are far compared with the finite-difference step; continuous draws make ties in
    max/min vanishingly unlikely."""
    out = []
    for shape in shapes:
        x = rng.uniform(0.3, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)
        if domain == "positive":
            x = np.abs(x)
        elif domain == "unit":
            x = rng.uniform(-0.9, 0.9, size=shape)
        out.append(np.asarray(x, dtype=dtype))
    return out


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_var(x, dim, keepdim, ddof=1):
    axis = tuple(dim) if isinstance(dim, tuple) else dim
    return np.var(x, axis=axis, ddof=ddof, keepdims=keepdim)


def _axis(dim):
    return tuple(dim) if isinstance(dim, tuple) else dim


def _prod_one_dim_at_a_time(a, dim, keepdim):
    """prod over several dims as PyTorch spells it (its prod takes one dim)."""
    dims = range(a.ndim) if dim is None else [d % a.ndim for d in dim]
    for d in sorted(dims, reverse=True):
        a = a.prod(dim=d, keepdim=keepdim)
    return a


def _softmax(x, dim):
    e = np.exp(x - x.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


CASES: list[OpCase] = []


def case(*args, **kwargs):
    CASES.append(OpCase(*args, **kwargs))


# ---- elementwise binary (with broadcasting) ----------------------------------------------------
case("add", lambda a, b: a + b, np.add, BROADCAST_PAIRS)
case("sub", lambda a, b: a - b, np.subtract, BROADCAST_PAIRS)
case("mul", lambda a, b: a * b, np.multiply, BROADCAST_PAIRS)
case("div", lambda a, b: a / b, np.divide, BROADCAST_PAIRS, domain="nonzero")
case("pow", lambda a, b: a ** b, np.power, BROADCAST_PAIRS, domain="positive")
case("maximum", lambda a, b: F.maximum(a, b), np.maximum, BROADCAST_PAIRS)
case("minimum", lambda a, b: F.minimum(a, b), np.minimum, BROADCAST_PAIRS)
case("radd_scalar", lambda a: 2.5 + a, lambda a: 2.5 + a, UNARY_SHAPES)
case("rsub_scalar", lambda a: 2.5 - a, lambda a: 2.5 - a, UNARY_SHAPES)
case("rdiv_scalar", lambda a: 2.5 / a, lambda a: 2.5 / a, UNARY_SHAPES, domain="nonzero")
case("rpow_scalar", lambda a: 2.0 ** a, lambda a: 2.0 ** a, UNARY_SHAPES)
case("pow_scalar", lambda a: a ** 3, lambda a: a ** 3, UNARY_SHAPES)
case("where", lambda a, b: F.where(a.detach() > 0, a, b),
     lambda a, b: np.where(a > 0, a, b), BROADCAST_PAIRS)

# ---- elementwise unary -------------------------------------------------------------------------
case("neg", lambda a: -a, np.negative, UNARY_SHAPES)
case("abs", lambda a: a.abs(), np.abs, UNARY_SHAPES)
case("exp", lambda a: a.exp(), np.exp, UNARY_SHAPES)
case("log", lambda a: a.log(), np.log, UNARY_SHAPES, domain="positive")
case("sqrt", lambda a: a.sqrt(), np.sqrt, UNARY_SHAPES, domain="positive")
case("sin", lambda a: a.sin(), np.sin, UNARY_SHAPES)
case("cos", lambda a: a.cos(), np.cos, UNARY_SHAPES)
case("square", lambda a: a.square(), np.square, UNARY_SHAPES)
case("tanh", lambda a: a.tanh(), np.tanh, UNARY_SHAPES)
case("sigmoid", lambda a: a.sigmoid(), _sigmoid, UNARY_SHAPES)
case("relu", lambda a: a.relu(), lambda a: np.maximum(a, 0), UNARY_SHAPES)
case("leaky_relu", lambda a: F.leaky_relu(a, 0.1), lambda a: np.where(a > 0, a, 0.1 * a),
     UNARY_SHAPES)
case("elu", lambda a: F.elu(a, 0.7), lambda a: np.where(a > 0, a, 0.7 * np.expm1(a)),
     UNARY_SHAPES)
case("softplus", lambda a: F.softplus(a, beta=2.0), lambda a: np.log1p(np.exp(2 * a)) / 2,
     UNARY_SHAPES)
case("hardtanh", lambda a: F.hardtanh(a, -1.0, 1.0), lambda a: np.clip(a, -1, 1), UNARY_SHAPES)
case("clip", lambda a: a.clip(-1.0, 1.0), lambda a: np.clip(a, -1, 1), UNARY_SHAPES)
case("clip_min", lambda a: a.clip(min=0.5), lambda a: np.clip(a, 0.5, None), UNARY_SHAPES)
case("prelu_shared", lambda a, w: F.prelu(a, w), lambda a, w: np.where(a > 0, a, w * a),
     [((2, 3, 4), (1,))])
case("prelu_channels", lambda a, w: F.prelu(a, w),
     lambda a, w: np.where(a > 0, a, w.reshape(1, 3, 1) * a), [((2, 3, 4), (3,))])

# ---- reductions over every kind of dim, with and without keepdim -------------------------------
for keepdim in (False, True):
    for dim in REDUCE_DIMS:
        tag = f"dim={dim},keepdim={keepdim}"
        case(f"sum[{tag}]", lambda a, d=dim, k=keepdim: a.sum(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.sum(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)])
        case(f"mean[{tag}]", lambda a, d=dim, k=keepdim: a.mean(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.mean(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)])
        case(f"var[{tag}]", lambda a, d=dim, k=keepdim: a.var(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: _np_var(a, d, k), [(REDUCE_SHAPE,)])
        case(f"std[{tag}]", lambda a, d=dim, k=keepdim: a.std(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.sqrt(_np_var(a, d, k)), [(REDUCE_SHAPE,)])
        case(f"logsumexp[{tag}]", lambda a, d=dim, k=keepdim: a.logsumexp(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.log(np.sum(np.exp(a), axis=_axis(d), keepdims=k)),
             [(REDUCE_SHAPE,)],                # PyTorch's logsumexp needs the dims named:
             torch_fn=None if dim is not None else
             (lambda a, k=keepdim: a.logsumexp(dim=(0, 1, 2), keepdim=k)))
        case(f"amax[{tag}]", lambda a, d=dim, k=keepdim: a.amax(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.max(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)])
        case(f"prod[{tag}]", lambda a, d=dim, k=keepdim: a.prod(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.prod(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)],
             torch_fn=None if isinstance(dim, int) else
             (lambda a, d=dim, k=keepdim: _prod_one_dim_at_a_time(a, d, k)))
    for dim in (None, 0, 1, -1):
        tag = f"dim={dim},keepdim={keepdim}"
        if dim is None:
            case(f"max[{tag}]", lambda a: a.max(), np.max, [(REDUCE_SHAPE,)])
            case(f"min[{tag}]", lambda a: a.min(), np.min, [(REDUCE_SHAPE,)])
        else:
            case(f"max[{tag}]", lambda a, d=dim, k=keepdim: a.max(dim=d, keepdim=k).values,
                 lambda a, d=dim, k=keepdim: np.max(a, axis=d, keepdims=k), [(REDUCE_SHAPE,)])
            case(f"min[{tag}]", lambda a, d=dim, k=keepdim: a.min(dim=d, keepdim=k)[0],
                 lambda a, d=dim, k=keepdim: np.min(a, axis=d, keepdims=k), [(REDUCE_SHAPE,)])
case("var_biased", lambda a: a.var(dim=1, unbiased=False), lambda a: np.var(a, axis=1),
     [((3, 4),)])
case("norm2", lambda a: a.norm(dim=1), lambda a: np.linalg.norm(a, axis=1), [((3, 4),)])
case("softmax", lambda a: F.softmax(a, dim=1), lambda a: _softmax(a, 1), [((2, 5),), ((2, 3, 4),)])
case("softmax_dim0", lambda a: F.softmax(a, dim=0), lambda a: _softmax(a, 0), [((3, 4),)])
case("log_softmax", lambda a: F.log_softmax(a, dim=-1), lambda a: np.log(_softmax(a, -1)),
     [((2, 5),), ((2, 3, 4),)])

# ---- products ----------------------------------------------------------------------------------
MATMUL_SHAPES = [((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3), (3,)), ((3,), (3,)),
                 ((5, 2, 3), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)),
                 ((2, 1, 2, 3), (4, 3, 2))]
case("matmul", lambda a, b: a @ b, np.matmul, MATMUL_SHAPES)
case("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w.T + b,
     [((4, 3), (5, 3), (5,)), ((2, 4, 3), (5, 3), (5,))])
case("linear_nobias", lambda x, w: F.linear(x, w), lambda x, w: x @ w.T, [((4, 3), (5, 3))])

# ---- shape ops ---------------------------------------------------------------------------------
S = [((2, 3, 4),)]
case("reshape", lambda a: a.reshape(4, -1), lambda a: a.reshape(4, -1), S)
case("view", lambda a: a.view((6, 4)), lambda a: a.reshape(6, 4), S)
case("transpose", lambda a: a.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2), S)
case("permute", lambda a: a.permute(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1)), S)
case("T", lambda a: a.T, lambda a: a.T, [((3, 4),)])
case("flatten", lambda a: a.flatten(1), lambda a: a.reshape(2, 12), S)
case("squeeze", lambda a: a.squeeze(), lambda a: a.squeeze(), [((2, 1, 3, 1),)])
case("squeeze_dim", lambda a: a.squeeze(1), lambda a: a.squeeze(1), [((2, 1, 3, 1),)])
case("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a[..., None], S)
case("expand", lambda a: a.expand(2, -1, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
     [((1, 3, 1),)])
case("broadcast_to", lambda a: a.broadcast_to((2, 3)), lambda a: np.broadcast_to(a, (2, 3)),
     [((3,),)])
case("getitem_slices", lambda a: a[1:, ::2, -1], lambda a: a[1:, ::2, -1], S)
case("getitem_int_slice_array", lambda a: a[0, :, [1, 3]], lambda a: a[0][:, [1, 3]], S)
case("getitem_tuple_index", lambda a: a[(0, 1), (2, 0)], lambda a: a[[0, 1], [2, 0]],
     [((3, 4),)])
case("getitem_int_array", lambda a: a[[0, 2, 2, 1]], lambda a: a[[0, 2, 2, 1]], [((3, 4),)])
case("getitem_mask", lambda a: a[a.detach() > 0], lambda a: a[a > 0], [((3, 4),)])
case("getitem_pairs", lambda a: a[[0, 1, 1], [2, 0, 0]], lambda a: a[[0, 1, 1], [2, 0, 0]],
     [((3, 4),)])
case("getitem_ellipsis_none", lambda a: a[..., None, 1], lambda a: a[..., None, 1], S)
case("gather", lambda a: F.gather(a, 1, np.array([[0, 3], [2, 2], [1, 0]])),
     lambda a: np.take_along_axis(a, np.array([[0, 3], [2, 2], [1, 0]]), 1), [((3, 4),)])
case("cat", lambda a, b: F.cat([a, b, a], dim=1), lambda a, b: np.concatenate([a, b, a], 1),
     [((2, 3), (2, 1))])
case("stack", lambda a, b: F.stack([a, b], dim=-1), lambda a, b: np.stack([a, b], -1),
     [((2, 3), (2, 3))])
case("split", lambda a: F.split(a, 2, dim=1)[1], lambda a: a[:, 2:4], [((3, 5),)])
case("split_sizes", lambda a: F.split(a, [1, 4], dim=1)[1], lambda a: a[:, 1:], [((3, 5),)])
case("chunk", lambda a: F.chunk(a, 2, dim=0)[0], lambda a: a[:2], [((3, 5),)])
case("pad", lambda a: F.pad(a, (1, 2, 0, 1), value=0.5),
     lambda a: np.pad(a, ((0, 0), (0, 1), (1, 2)), constant_values=0.5), S)
case("repeat", lambda a: a.repeat(2, 1, 3), lambda a: np.tile(a, (2, 1, 3)), [((2, 3),)])
case("flip", lambda a: a.flip((0, 2)), lambda a: a[::-1, :, ::-1], S)
case("clone", lambda a: a.clone() * 2, lambda a: a * 2, S)

# ---- issue 19: rounding division and remainders (gradients of the rounded quotients are 0) ----
case("floor_divide", lambda a, b: a // b, np.floor_divide, BROADCAST_PAIRS, domain="nonzero",
     grad=False)
case("div_floor", lambda a, b: F.div(a, b, rounding_mode="floor"), np.floor_divide,
     BROADCAST_PAIRS, domain="nonzero")
case("div_trunc", lambda a, b: F.div(a, b, rounding_mode="trunc"),
     lambda a, b: np.trunc(a / b), BROADCAST_PAIRS, domain="nonzero")
case("remainder", lambda a, b: a % b, lambda a, b: a - np.floor(a / b) * b, BROADCAST_PAIRS,
     domain="nonzero")
case("rmod_scalar", lambda a: 2.5 % a, lambda a: np.remainder(2.5, a), UNARY_SHAPES,
     domain="nonzero")
case("fmod", lambda a, b: F.fmod(a, b), lambda a, b: a - np.trunc(a / b) * b, BROADCAST_PAIRS,
     domain="nonzero")
for _name in ("floor", "ceil", "trunc"):
    case(_name, lambda a, n=_name: getattr(a * 3, n)(), lambda a, n=_name: getattr(np, n)(a * 3),
         UNARY_SHAPES)
case("round", lambda a: (a * 3).round(), lambda a: np.round(a * 3), UNARY_SHAPES)
case("round_decimals", lambda a: (a * 3).round(decimals=1), lambda a: np.round(a * 3, 1),
     UNARY_SHAPES)

# ---- logarithms, exponentials, erf -------------------------------------------------------------
_erf = np.vectorize(math.erf, otypes=[np.float64])
case("log2", lambda a: a.log2(), np.log2, UNARY_SHAPES, domain="positive")
case("exp2", lambda a: a.exp2(), np.exp2, UNARY_SHAPES)
case("log1p", lambda a: a.log1p(), np.log1p, UNARY_SHAPES, domain="positive")
case("expm1", lambda a: a.expm1(), np.expm1, UNARY_SHAPES)
case("erf", lambda a: a.erf(), _erf, UNARY_SHAPES)

# ---- activations (inputs scaled so the linear pieces of the hard ones are reached) -----------
_phi = lambda x: 0.5 * (1 + _erf(x / math.sqrt(2)))  # noqa: E731
case("gelu", lambda a: F.gelu(a * 2), lambda a: 2 * a * _phi(2 * a), UNARY_SHAPES)
case("gelu_tanh", lambda a: F.gelu(a * 2, approximate="tanh"),
     lambda a: a * (1 + np.tanh(math.sqrt(2 / math.pi) * (2 * a + 0.044715 * (2 * a) ** 3))),
     UNARY_SHAPES)
case("silu", lambda a: F.silu(a), lambda a: a * _sigmoid(a), UNARY_SHAPES)
case("mish", lambda a: F.mish(a), lambda a: a * np.tanh(np.log1p(np.exp(a))), UNARY_SHAPES)
case("hardswish", lambda a: F.hardswish(a * 2.5),
     lambda a: 2.5 * a * np.clip(2.5 * a + 3, 0, 6) / 6, UNARY_SHAPES)
case("hardsigmoid", lambda a: F.hardsigmoid(a * 2.5), lambda a: np.clip(2.5 * a + 3, 0, 6) / 6,
     UNARY_SHAPES)
case("relu6", lambda a: F.relu6(a * 4), lambda a: np.clip(a * 4, 0, 6), UNARY_SHAPES)
case("logsigmoid", lambda a: F.logsigmoid(a * 3), lambda a: np.log(_sigmoid(3 * a)),
     UNARY_SHAPES)
case("softsign", lambda a: F.softsign(a), lambda a: a / (1 + np.abs(a)), UNARY_SHAPES)

# ---- along one dim ---------------------------------------------------------------------------
for _d in (0, 1, -1):
    case(f"cumsum[dim={_d}]", lambda a, d=_d: a.cumsum(d), lambda a, d=_d: np.cumsum(a, d),
         [(REDUCE_SHAPE,)])
    case(f"cumprod[dim={_d}]", lambda a, d=_d: a.cumprod(d), lambda a, d=_d: np.cumprod(a, d),
         [(REDUCE_SHAPE,)])
case("cumsum_0d", lambda a: a.cumsum(0), lambda a: a, [((),)])
case("cumprod_with_zeros", lambda a: (a * ac.tensor([1.0, 0.0, 1.0, 0.0, 1.0])).cumprod(0),
     lambda a: np.cumprod(a * np.array([1.0, 0, 1, 0, 1]), 0), [((5,),)])
case("sort", lambda a: a.sort(dim=1).values, lambda a: np.sort(a, 1), [((3, 4),)])
case("sort_descending", lambda a: a.sort(dim=0, descending=True)[0],
     lambda a: -np.sort(-a, 0), [((3, 4),)])
case("topk", lambda a: a.topk(2).values, lambda a: -np.sort(-a, -1)[..., :2], [((3, 4),)])
case("topk_smallest_dim0", lambda a: a.topk(2, dim=0, largest=False).values,
     lambda a: np.sort(a, 0)[:2], [((3, 4),)])
case("tril", lambda a: a.tril(), np.tril, [((3, 4),), ((2, 3, 3),)])
case("triu_1", lambda a: a.triu(1), lambda a: np.triu(a, 1), [((3, 4),)])
case("tril_-1", lambda a: a.tril(-1), lambda a: np.tril(a, -1), [((4, 3),)])

# ---- einsum ------------------------------------------------------------------------------------
EINSUM = [("ij,jk->ik", [(2, 3), (3, 4)]), ("bij,bjk->bik", [(2, 2, 3), (2, 3, 4)]),
          ("i,i->", [(3,), (3,)]), ("ij->ji", [(2, 3)]), ("ii->i", [(3, 3)]), ("ii", [(3, 3)]),
          ("ij,j->i", [(2, 3), (3,)]), ("bi,bj->bij", [(2, 3), (2, 4)]),
          ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]), ("ij,k->ij", [(2, 3), (4,)]),
          ("ij,kj", [(2, 3), (4, 3)]), ("i j , j -> i", [(2, 3), (3,)])]
for _eq, _shapes in EINSUM:
    case(f"einsum[{_eq}]", lambda *t, e=_eq: F.einsum(e, *t),
         lambda *t, e=_eq: np.einsum(e.replace(" ", ""), *t), [tuple(_shapes)])

# ---- index ops (PyTorch's rules: int64 indices in [0, size)) ------------------------------------
_IDX = np.array([[0, 3], [2, 2], [1, 0]])


def _scatter_ref(x, src, idx=_IDX):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] = src[i, j]
    return out


def _scatter_add_ref(x, src, idx=_IDX):
    out = x.copy()
    for i in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            out[i, idx[i, j]] += src[i, j]
    return out


_SCATTER_IDX = np.array([[0, 3], [2, 1], [1, 0]])     # no repeats within a row: a defined result
case("scatter", lambda a, s: F.scatter(a, 1, _SCATTER_IDX, s),
     lambda a, s: _scatter_ref(a, s, _SCATTER_IDX), [((3, 4), (3, 2))])
case("scatter_src_larger", lambda a, s: F.scatter(a, 1, _SCATTER_IDX, s),
     lambda a, s: _scatter_ref(a, s, _SCATTER_IDX), [((3, 4), (3, 3))])
case("scatter_value", lambda a: F.scatter(a, 1, _SCATTER_IDX, 0.5),
     lambda a: _scatter_ref(a, np.full((3, 2), 0.5), _SCATTER_IDX), [((3, 4),)])
case("scatter_add", lambda a, s: F.scatter_add(a, 1, _IDX, s), _scatter_add_ref,
     [((3, 4), (3, 2))])
case("scatter_add_src_larger", lambda a, s: F.scatter_add(a, 1, _IDX, s), _scatter_add_ref,
     [((3, 4), (4, 3))])
case("index_select", lambda a: F.index_select(a, 1, np.array([3, 0, 3])),
     lambda a: a[:, [3, 0, 3]], [((3, 4),)])
case("index_select_dim0", lambda a: F.index_select(a, 0, np.array([2, 2, 0, 1])),
     lambda a: a[[2, 2, 0, 1]], [((3, 4),)])
_MASK = np.array([True, False, True, False])
case("masked_fill", lambda a: F.masked_fill(a, _MASK, -1.5),
     lambda a: np.where(_MASK, -1.5, a), [((3, 4),)])
case("masked_fill_tensor_value", lambda a, v: F.masked_fill(a, _MASK, v),
     lambda a, v: np.where(_MASK, v, a), [((3, 4), ())])
case("roll", lambda a: a.roll(1), lambda a: np.roll(a, 1), S)
case("roll_dims", lambda a: a.roll((1, -1), (0, 2)), lambda a: np.roll(a, (1, -1), (0, 2)), S)
case("repeat_interleave", lambda a: a.repeat_interleave(2), lambda a: np.repeat(a, 2),
     [((2, 3),)])
case("repeat_interleave_dim", lambda a: F.repeat_interleave(a, np.array([1, 0, 2]), dim=1),
     lambda a: np.repeat(a, [1, 0, 2], axis=1), [((2, 3),)])
case("embedding", lambda w: F.embedding(np.array([[0, 2], [1, 1]]), w),
     lambda w: w[np.array([[0, 2], [1, 1]])], [((3, 4),)])

# ---- padding modes and cropping ----------------------------------------------------------------
_NP_MODE = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}
for _mode, _np in _NP_MODE.items():
    case(f"pad_{_mode}", lambda a, m=_mode: F.pad(a, (2, 1), mode=m),
         lambda a, m=_np: np.pad(a, ((0, 0), (0, 0), (2, 1)), mode=m), S)
    case(f"pad_{_mode}_2d", lambda a, m=_mode: F.pad(a, (1, 1, 2, 0), mode=m),
         lambda a, m=_np: np.pad(a, ((0, 0), (0, 0), (2, 0), (1, 1)), mode=m), [((1, 2, 3, 4),)])
    case(f"pad_{_mode}_crop", lambda a, m=_mode: F.pad(a, (-1, 2), mode=m),
         lambda a, m=_np: np.pad(a[..., 1:], ((0, 0), (0, 0), (0, 2)), mode=m), S)
case("pad_negative", lambda a: F.pad(a, (-1, 2, 0, -1)),
     lambda a: np.pad(a[:, :-1, 1:], ((0, 0), (0, 0), (0, 2))), S)

# ---- 1-D convolution and pooling (references as plain loops) ----------------------------------


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1):
    n, c, length = x.shape
    k_out, _, k = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding)))
    lo = (length + 2 * padding - dilation * (k - 1) - 1) // stride + 1
    out = np.zeros((n, k_out, lo))
    for i in range(lo):
        window = xp[:, :, i * stride: i * stride + dilation * (k - 1) + 1: dilation]
        out[:, :, i] = np.einsum("ncj,kcj->nk", window, w)
    return out + (0 if b is None else b[None, :, None])


def _pool1d_ref(x, k, s, reduce):
    lo = (x.shape[-1] - k) // s + 1
    return np.stack([reduce(x[..., i * s: i * s + k], -1) for i in range(lo)], -1)


case("conv1d", lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
     lambda x, w, b: _conv1d_ref(x, w, b, 2, 1), [((2, 3, 7), (4, 3, 3), (4,))])
case("conv1d_dilated", lambda x, w: F.conv1d(x, w, dilation=2),
     lambda x, w: _conv1d_ref(x, w, dilation=2), [((1, 2, 8), (3, 2, 3))])
case("max_pool1d", lambda x: F.max_pool1d(x, 3, 2), lambda x: _pool1d_ref(x, 3, 2, np.max),
     [((2, 3, 8),)])
case("avg_pool1d", lambda x: F.avg_pool1d(x, 2), lambda x: _pool1d_ref(x, 2, 2, np.mean),
     [((2, 3, 7),)])

# ---- interpolation: the separable modes (references as per-output loops, PyTorch's rules) -----


def _cubic(t, a=-0.75):
    t = abs(t)
    if t <= 1:
        return ((a + 2) * t - (a + 3)) * t * t + 1
    return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a if t < 2 else 0.0


def _resize_ref(x, out_sizes, mode, align=False):
    """Loop reference over output positions of each resized dim, applied dim by dim."""
    for axis, n_out in zip(range(2, 2 + len(out_sizes)), out_sizes):
        n_in = x.shape[axis]
        cols = []
        for i in range(n_out):
            if mode == "nearest-exact":
                w = {min(int(np.floor((i + 0.5) * n_in / n_out)), n_in - 1): 1.0}
            elif mode == "nearest":
                w = {min(int(np.floor(i * n_in / n_out)), n_in - 1): 1.0}
            else:
                src = i * (n_in - 1) / (n_out - 1) if align else (i + 0.5) * n_in / n_out - 0.5
                w = {}
                if mode == "linear":
                    src = max(src, 0.0)
                    lo = min(int(np.floor(src)), n_in - 1)
                    w[lo] = w.get(lo, 0) + 1 - (src - lo)
                    w[min(lo + 1, n_in - 1)] = w.get(min(lo + 1, n_in - 1), 0) + src - lo
                else:
                    lo = int(np.floor(src))
                    for k in range(-1, 3):
                        j = min(max(lo + k, 0), n_in - 1)
                        w[j] = w.get(j, 0) + _cubic(src - (lo + k))
            cols.append(sum(wt * np.take(x, j, axis=axis) for j, wt in w.items()))
        x = np.stack(cols, axis=axis)
    return x


case("interpolate_nearest_exact", lambda x: F.interpolate(x, size=(5, 3), mode="nearest-exact"),
     lambda x: _resize_ref(x, (5, 3), "nearest-exact"), [((1, 2, 3, 4),)])
case("interpolate_bicubic", lambda x: F.interpolate(x, size=(5, 7), mode="bicubic"),
     lambda x: _resize_ref(x, (5, 7), "bicubic"), [((1, 2, 3, 4),)])
case("interpolate_bicubic_corners",
     lambda x: F.interpolate(x, size=(2, 6), mode="bicubic", align_corners=True),
     lambda x: _resize_ref(x, (2, 6), "bicubic", True), [((1, 1, 4, 4),)])
case("interpolate_linear_1d", lambda x: F.interpolate(x, size=7, mode="linear"),
     lambda x: _resize_ref(x, (7,), "linear"), [((2, 3, 4),)])
case("interpolate_linear_1d_corners",
     lambda x: F.interpolate(x, size=3, mode="linear", align_corners=True),
     lambda x: _resize_ref(x, (3,), "linear", True), [((2, 3, 5),)])
case("interpolate_nearest_1d", lambda x: F.interpolate(x, size=6, mode="nearest"),
     lambda x: _resize_ref(x, (6,), "nearest"), [((2, 3, 4),)])
case("interpolate_nearest_exact_1d", lambda x: F.interpolate(x, size=3, mode="nearest-exact"),
     lambda x: _resize_ref(x, (3,), "nearest-exact"), [((2, 3, 5),)])

# ---- per-sample normalisation and rearrangements -----------------------------------------------


def _norm_ref(x, axes, eps=1e-5):
    mu = x.mean(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


case("layer_norm", lambda x, w, b: F.layer_norm(x, (4,), w, b),
     lambda x, w, b: _norm_ref(x, -1) * w + b, [((2, 3, 4), (4,), (4,))])
case("layer_norm_2d", lambda x: F.layer_norm(x, (3, 4)), lambda x: _norm_ref(x, (1, 2)), S)
case("group_norm", lambda x, w, b: F.group_norm(x, 2, w, b),
     lambda x, w, b: _norm_ref(x.reshape(2, 2, -1), 2).reshape(x.shape) * w[:, None, None]
     + b[:, None, None], [((2, 4, 3, 2), (4,), (4,))])


def _pixel_shuffle_ref(x, r):
    n, c, h, w = x.shape
    out = np.zeros((n, c // (r * r), h * r, w * r))
    for ch in range(c // (r * r)):
        for i in range(r):
            for j in range(r):
                out[:, ch, i::r, j::r] = x[:, ch * r * r + i * r + j]
    return out


case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), lambda x: _pixel_shuffle_ref(x, 2),
     [((1, 8, 2, 3),)])
case("pixel_unshuffle", lambda x: F.pixel_unshuffle(F.pixel_shuffle(x, 2), 2), lambda x: x,
     [((1, 8, 2, 3),)])
case("t", lambda a: a.t(), lambda a: a.T, [((3, 4),), ((3,),)])
case("expand_as", lambda a: a.expand_as(ac.zeros(2, 3, 4)),
     lambda a: np.broadcast_to(a, (2, 3, 4)), [((3, 1),)])
case("view_as", lambda a: a.view_as(ac.zeros(4, 6)), lambda a: a.reshape(4, 6), S)

# ---- names PyTorch scripts call by habit (compositions of the ops above) -----------------------


def _lerp_ref(a, b, w):
    return np.where(np.abs(w) < 0.5, a + w * (b - a), b - (b - a) * (1 - w))


case("reciprocal", lambda a: a.reciprocal(), lambda a: 1 / a, UNARY_SHAPES, domain="nonzero")
case("rsqrt", lambda a: ac.rsqrt(a), lambda a: 1 / np.sqrt(a), UNARY_SHAPES, domain="positive")
case("lerp", lambda a, b, w: ac.lerp(a, b, w), _lerp_ref, [((2, 3), (2, 3), (2, 3))])
case("lerp_scalar", lambda a, b: a.lerp(b, 0.75), lambda a, b: b - (b - a) * 0.25,
     [((2, 3), (3,))])
case("clamp_min", lambda a: a.clamp_min(0.0), lambda a: np.maximum(a, 0.0), UNARY_SHAPES)
case("clamp_max", lambda a: ac.clamp_max(a, 0.0), lambda a: np.minimum(a, 0.0), UNARY_SHAPES)
case("unbind", lambda a: ac.stack(a.unbind(1)[::-1], 1), lambda a: a[:, ::-1],
     [((2, 3, 4),)])
case("tile", lambda a: a.tile((2, 1, 3)), lambda a: np.tile(a, (2, 1, 3)), [((2, 3),)])
case("movedim", lambda a: a.movedim((0, 1), (2, 0)),
     lambda a: np.moveaxis(a, (0, 1), (2, 0)), [((2, 3, 4),)])
case("diag_vector", lambda a: ac.diag(a, 1), lambda a: np.diag(a, 1), [((3,),)])
case("diag_matrix", lambda a: a.diag(-1), lambda a: np.diag(a, -1), [((3, 4),)])
case("trace", lambda a: ac.trace(a), lambda a: np.trace(a), [((3, 4),)])
case("hstack", lambda a, b: ac.hstack([a, b]), lambda a, b: np.hstack([a, b]),
     [((2, 3), (2, 1))])
case("vstack", lambda a, b: ac.vstack([a, b]), lambda a, b: np.vstack([a, b]),
     [((3,), (2, 3))])
case("normalize", lambda a: F.normalize(a, dim=1),
     lambda a: a / np.linalg.norm(a, axis=1, keepdims=True), [((4, 3),), ((2, 3, 2),)])
case("cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=-1),
     lambda a, b: (a * b).sum(-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)),
     [((4, 3), (4, 3)), ((2, 4, 3), (4, 3))])
case("add_alpha", lambda a, b: a.add(b, alpha=2.5), lambda a, b: a + 2.5 * b, BROADCAST_PAIRS[:3])
case("sub_alpha", lambda a, b: ac.sub(a, b, alpha=-0.5), lambda a, b: a + 0.5 * b,
     BROADCAST_PAIRS[:3])
case("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), lambda a, b, c: a + 0.5 * b * c,
     [((2, 3), (2, 3), (3,))])
case("addcdiv", lambda a, b, c: ac.addcdiv(a, b, c, value=-2.0), lambda a, b, c: a - 2 * b / c,
     [((2, 3), (2, 3), (2, 3))], domain="nonzero")
case("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), S)
case("median", lambda a: a.median(), lambda a: np.sort(a, axis=None)[(a.size - 1) // 2],
     [((5,),), ((2, 3),)])
case("median_dim", lambda a: a.median(1).values,
     lambda a: np.take(np.sort(a, axis=1), (a.shape[1] - 1) // 2, axis=1), [((3, 4),), ((2, 5, 3),)])
case("median_keepdim", lambda a: ac.median(a, -1, keepdim=True)[0],
     lambda a: np.sort(a, axis=-1)[..., [(a.shape[-1] - 1) // 2]], [((2, 4),)])
