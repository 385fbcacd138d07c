"""Matrix products.

matmul(a, b) follows numpy/PyTorch: 1-D operands are promoted to a row (a) or a column (b) and the
added dim removed again; leading (batch) dims broadcast. For C = A B:
    dL/dA = dL/dC B^T,   dL/dB = A^T dL/dC
(summed over broadcast batch dims by the engine).

2-D products (matmul of matrices, and every product inside ``linear``) run through
``backend.gemm`` once this file has checked the operands: BLAS through numpy, always on one BLAS
thread (products from tuning 'serial_blas_work' up are split over the conv threads), or a Numba
GEMM where tuning 'numba_gemm_work' sends it. Batched and 1-D products use numpy's matmul.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from .base import ShapeError, Tensor, ensure_tensor, graph_rule, make

__all__ = ["matmul", "mm", "bmm", "linear", "dot", "outer"]


def _matmul_error(a_shape, b_shape, why: str):
    return ShapeError(f"matmul: shapes {a_shape} and {b_shape} cannot be multiplied ({why})")


def _check_matmul(a: Tensor, b: Tensor) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise _matmul_error(a.shape, b.shape, "both operands need at least one dim")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise _matmul_error(a.shape, b.shape, f"{k_a} != {k_b}")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise _matmul_error(a.shape, b.shape,
                                f"batch dims {a.shape[:-2]} and {b.shape[:-2]} do not "
                                "broadcast") from None


def matmul(a, b) -> Tensor:
    """a @ b.  Shapes: (..., n, k) @ (..., k, m) -> (..., n, m); (k,) @ (k, m) -> (m,);
    (n, k) @ (k,) -> (n,); (k,) @ (k,) -> ()."""
    a = ensure_tensor(a, "matmul")
    b = ensure_tensor(b, "matmul")
    _check_matmul(a, b)
    if _two_matrices(a._data, b._data):
        out = backend.gemm(a._data, b._data, False, False)
    else:
        out = np.asarray(np.matmul(a._data, b._data))
    return make(out, (a, b), "matmul", _matmul_backward)


def _two_matrices(a: np.ndarray, b: np.ndarray) -> bool:
    """Both 2-D with one float dtype: the case the backend's GEMM handles."""
    return (a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype
            and a.dtype in backend.FLOAT_DTYPES)


def _matmul_backward(node, g):
    a, b = node._parents
    ad, bd = a._data, b._data
    # promote 1-D operands (and the gradient) to matrices, as the forward did
    g = np.asarray(g)
    if ad.ndim == 1 and bd.ndim == 1:       # (k,) @ (k,) -> (): g is a scalar
        ad, bd, g = ad[None, :], bd[:, None], g.reshape(1, 1)
    elif ad.ndim == 1:                      # (k,) @ (..., k, m) -> (..., m)
        ad, g = ad[None, :], g[..., None, :]
    elif bd.ndim == 1:                      # (..., n, k) @ (k,) -> (..., n)
        bd, g = bd[:, None], g[..., None]
    ga = gb = None
    if a.ndim == 2 and b.ndim == 2 and _two_matrices(ad, bd):
        # dL/dA = G B^T,  dL/dB = A^T G
        g = g.astype(ad.dtype, copy=False)
        ga = backend.gemm(g, bd, False, True) if a.requires_grad else None
        gb = backend.gemm(ad, g, True, False) if b.requires_grad else None
        return ga, gb
    if a.requires_grad:
        ga = np.matmul(g, np.swapaxes(bd, -1, -2))
        if a.ndim == 1:
            ga = ga.reshape(ga.shape[:-2] + (ga.shape[-1],))
    if b.requires_grad:
        gb = np.matmul(np.swapaxes(ad, -1, -2), g)
        if b.ndim == 1:
            gb = gb.reshape(gb.shape[:-2] + (gb.shape[-2],))
    return ga, gb


def mm(a, b) -> Tensor:
    """Matrix product of two 2-D tensors."""
    a = ensure_tensor(a, "mm")
    b = ensure_tensor(b, "mm")
    if a.ndim != 2 or b.ndim != 2:
        raise ShapeError(f"mm: expected two 2-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def bmm(a, b) -> Tensor:
    """Batched matrix product of two 3-D tensors: (B, n, k) @ (B, k, m) -> (B, n, m)."""
    a = ensure_tensor(a, "bmm")
    b = ensure_tensor(b, "bmm")
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise ShapeError(f"bmm: expected (B, n, k) and (B, k, m), got {a.shape} and {b.shape}")
    return matmul(a, b)


def dot(a, b) -> Tensor:
    """Inner product of two 1-D tensors."""
    a = ensure_tensor(a, "dot")
    b = ensure_tensor(b, "dot")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"dot: expected two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def outer(a, b) -> Tensor:
    """Outer product of two 1-D tensors: (n,), (m,) -> (n, m)."""
    a = ensure_tensor(a, "outer")
    b = ensure_tensor(b, "outer")
    if a.ndim != 1 or b.ndim != 1:
        raise ShapeError(f"outer: expected two 1-D tensors, got shapes {a.shape} and {b.shape}")
    return a.reshape(-1, 1) * b.reshape(1, -1)


def linear(x, weight, bias=None) -> Tensor:
    """y = x W^T + b, as one op.
    Shapes: x (..., in), W (out, in), b (out,) -> y (..., out).
    dL/dx = g W,  dL/dW = g^T x (summed over the leading dims),  dL/db = sum of g."""
    x = ensure_tensor(x, "linear")
    weight = ensure_tensor(weight, "linear")
    if weight.ndim != 2:
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), "
                         f"got shape {weight.shape}")
    if x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ShapeError(
            f"linear: input has {x.shape[-1] if x.ndim else 0} features (shape {x.shape}) but "
            f"weight expects {weight.shape[1]} (weight shape {weight.shape})"
        )
    if x.dtype != weight.dtype:
        # as in PyTorch (and conv2d): no silent float64 copies of a float32 model
        raise TypeError(f"linear: input is {x.dtype} but weight is {weight.dtype}; convert one "
                        "(model.double() or x.float()) so both match")
    # (..., in) -> (..., out): one 2-D product x2 W^T over the flattened leading dims
    x2 = x._data.reshape(-1, x.shape[-1])
    if _two_matrices(x2, weight._data):
        out = backend.gemm(x2, weight._data, False, True)
    else:
        out = x2 @ weight._data.T
    out = out.reshape(x.shape[:-1] + (weight.shape[0],))
    if bias is None:
        return make(out, (x, weight), "linear", _linear_backward)
    bias = ensure_tensor(bias, "linear")
    if bias.shape != (weight.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    if bias.dtype != weight.dtype:
        raise TypeError(f"linear: bias is {bias.dtype} but weight is {weight.dtype}")
    out += bias._data
    return make(out, (x, weight, bias), "linear", _linear_backward)


def _mm(a, b, transpose_a=False, transpose_b=False):
    """op(a) @ op(b) through the backend when it can, numpy otherwise (mixed dtypes)."""
    if _two_matrices(a, b):
        return backend.gemm(a, b, bool(transpose_a), bool(transpose_b))
    return (a.T if transpose_a else a) @ (b.T if transpose_b else b)


def _linear_backward(node, g):
    x, w = node._parents[0], node._parents[1]
    g2 = g.reshape(-1, g.shape[-1])                       # (..., out) -> (M, out)
    gx = gw = None
    if x.requires_grad:
        gx = _mm(g2, w._data).reshape(x.shape)             # dL/dx = g W
    if w.requires_grad:
        gw = _mm(g2, x._data.reshape(-1, x.shape[-1]), transpose_a=True)    # dL/dW = g^T x
    if len(node._parents) == 2:
        return gx, gw
    b = node._parents[2]
    gb = g2.sum(axis=0) if b.requires_grad else None
    return gx, gw, gb


# ---- the rules in recorded ops, for backward(create_graph=True) ---------------------------------


@graph_rule(_matmul_backward)
def _matmul_graph(node, g):
    """dA = G B^T, dB = A^T G, with 1-D operands promoted as in the forward (the engine sums
    broadcast batch dims back)."""
    a, b = node._parents
    ga = gb = None
    if a.ndim == 1 and b.ndim == 1:
        return (g * b if a.requires_grad else None, g * a if b.requires_grad else None)
    if a.ndim == 1:                              # (k,) @ (..., k, m) -> (..., m)
        g2 = g.unsqueeze(-2)
        if a.requires_grad:
            ga = matmul(g2, b.transpose(-1, -2)).squeeze(-2)
        if b.requires_grad:
            gb = matmul(a.unsqueeze(-1), g2)
        return ga, gb
    if b.ndim == 1:                              # (..., n, k) @ (k,) -> (..., n)
        g2 = g.unsqueeze(-1)
        if a.requires_grad:
            ga = matmul(g2, b.unsqueeze(-2))
        if b.requires_grad:
            gb = matmul(a.transpose(-1, -2), g2).squeeze(-1)
        return ga, gb
    if a.requires_grad:
        ga = matmul(g, b.transpose(-1, -2))
    if b.requires_grad:
        gb = matmul(a.transpose(-1, -2), g)
    return ga, gb


@graph_rule(_linear_backward)
def _linear_graph(node, g):
    x, w = node._parents[0], node._parents[1]
    g2 = g.reshape(-1, g.shape[-1])                        # (..., out) -> (M, out)
    gx = matmul(g2, w).reshape(x.shape) if x.requires_grad else None
    gw = matmul(g2.transpose(0, 1), x.reshape(-1, x.shape[-1])) if w.requires_grad else None
    if len(node._parents) == 2:
        return gx, gw
    b = node._parents[2]
    return gx, gw, (g2.sum(dim=0) if b.requires_grad else None)
