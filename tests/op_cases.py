"""The registry of Tensor op cases: one entry per op (and per interesting variant).

Each case names the op, how to call it on Tensors, a numpy reference for the forward, the input
shapes to try, and the input domain (so inputs stay away from kinks: ReLU at 0, max ties, log of
negatives). ``tests/test_tensor_ops.py`` turns every entry into a forward test against numpy and a
float64 gradcheck with a random projection loss; a new op gets its checks by adding an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

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
case("maximum", F.maximum, np.maximum, BROADCAST_PAIRS)
case("minimum", F.minimum, np.minimum, BROADCAST_PAIRS)
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
             [(REDUCE_SHAPE,)])
        case(f"amax[{tag}]", lambda a, d=dim, k=keepdim: a.amax(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.max(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)])
        case(f"prod[{tag}]", lambda a, d=dim, k=keepdim: a.prod(dim=d, keepdim=k),
             lambda a, d=dim, k=keepdim: np.prod(a, axis=_axis(d), keepdims=k), [(REDUCE_SHAPE,)])
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
case("broadcast_to", lambda a: a.broadcast_to(2, 3), lambda a: np.broadcast_to(a, (2, 3)),
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
