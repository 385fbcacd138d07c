"""einsum: sums of products named by subscripts, ``einsum('bij,bjk->bik', a, b)``.

Forward: ``np.einsum``. Backward, for operand i with subscripts s_i and the output's s_out:

    dL/dA_i = einsum(s_out, s_others... -> s_i)(g, other operands)

a contraction of the incoming gradient with every other operand. Two details:
a subscript that appears only in A_i (summed away by the forward) has a gradient that is
constant along it (the einsum result is broadcast along that axis); a subscript repeated in A_i
('ii->i', a diagonal) receives the gradient on that diagonal only.

Also accepted as in PyTorch: '...' for broadcast dims, the implicit output (no '->': the
subscripts that appear once, in alphabetical order), operands as a list, spaces.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..errors import ShapeError
from .base import Tensor, cast_to, ensure_tensor, graph_rule, linear_map, make, result_dtype

__all__ = ["einsum"]

_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse(equation: str, ndims: list) -> tuple[list, str]:
    """Explicit subscripts per operand and the output, with '...' spelled out in letters that
    the equation does not use."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != len(ndims):
        raise ValueError(f"einsum: the equation {equation!r} names {len(ins)} operands but "
                         f"{len(ndims)} were given")
    spare = [c for c in _LETTERS if c not in eq]
    ell = max((n - len(s.replace("...", "")) for s, n in zip(ins, ndims) if "..." in s),
              default=0)
    ell_letters = "".join(spare[:ell])
    subs = []
    for s, n in zip(ins, ndims):
        if "..." in s:
            k = n - len(s.replace("...", ""))
            s = s.replace("...", ell_letters[ell - k:] if k else "")
        if len(s) != n or not all(c in _LETTERS for c in s):
            raise ShapeError(f"einsum: subscripts {s!r} do not fit an operand with {n} dims "
                             f"(equation {equation!r})")
        subs.append(s)
    if arrow:
        out = out.replace("...", ell_letters)
    else:
        counts = {c: "".join(subs).count(c) for c in "".join(subs)}
        out = ell_letters + "".join(sorted(c for c, n in counts.items()
                                           if n == 1 and c not in ell_letters))
    return subs, out


class EinsumSaved(NamedTuple):
    """What an einsum node keeps: the explicit subscripts of each operand and of the output
    ('...' spelled out in letters)."""
    subscripts: list
    out_subscripts: str


def einsum(equation: str, *operands) -> Tensor:
    """The sum over the subscripts missing from the output of the products of the operands'
    elements, e.g. 'ij,jk->ik' is matmul, 'bi,bi->b' a batched dot, 'ii' a trace.
    Operands are promoted to one dtype (PyTorch's rules)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    ts = [ensure_tensor(t, "einsum") for t in operands]
    if not ts:
        raise ValueError("einsum: expected at least one operand")
    dt = result_dtype(*ts)
    ts = [cast_to(t, dt) for t in ts]
    subs, out_sub = _parse(equation, [t.ndim for t in ts])
    spec = ",".join(subs) + "->" + out_sub
    try:
        out = np.einsum(spec, *[t._data for t in ts], optimize=len(ts) > 2)
    except ValueError as err:
        raise ShapeError(f"einsum: {equation!r} does not fit the operand shapes "
                         f"{[tuple(t.shape) for t in ts]}: {err}") from None
    return make(np.asarray(out, dtype=dt), tuple(ts), "einsum", _einsum_backward,
                EinsumSaved(subs, out_sub))


def _grad_plan(subs, out_sub, i):
    """How dL/dA_i is contracted: (spec, other operands' indices, A_i's distinct subscripts,
    those the contraction yields, the positions of the others). dL/dA_i = einsum(out, the other
    operands -> A_i's subscripts); a subscript of A_i found nowhere else is broadcast back."""
    others = [j for j in range(len(subs)) if j != i]
    known = set(out_sub).union(*[set(subs[j]) for j in others])
    full = "".join(dict.fromkeys(subs[i]))               # A_i's subscripts, each once
    kept = "".join(c for c in full if c in known)
    spec = ",".join([out_sub] + [subs[j] for j in others]) + "->" + kept
    missing = [k for k, c in enumerate(full) if c not in known]
    return spec, others, full, kept, missing


def _einsum_backward(node, g):
    subs, out_sub = node._saved.subscripts, node._saved.out_subscripts
    ops = node._parents
    grads = []
    for i, (t, s) in enumerate(zip(ops, subs)):
        if not t.requires_grad:
            grads.append(None)
            continue
        spec, others, full, kept, missing = _grad_plan(subs, out_sub, i)
        gk = np.einsum(spec, g, *[ops[j]._data for j in others], optimize=len(others) > 1)
        # a size-1 (broadcast) dim of A_i takes the other side's size; the engine sums it back
        size = dict(zip(s, t.shape))
        size.update(zip(kept, gk.shape))
        gf = np.broadcast_to(np.expand_dims(gk, missing), [size[c] for c in full]) \
            if missing else gk
        if len(full) < len(s):                  # a repeated subscript: only its diagonal
            gx = np.zeros([size[c] for c in s], g.dtype)
            grid = np.indices([size[c] for c in full], sparse=True)
            gx[tuple(grid[full.index(c)] for c in s)] = gf
            gf = gx
        grads.append(np.ascontiguousarray(gf, dtype=g.dtype))
    return tuple(grads)


# ---- the rule in recorded ops, for backward(create_graph=True) ----------------------------------


@graph_rule(_einsum_backward)
def _einsum_graph(node, g):
    """The same contractions as ``_einsum_backward``, recorded with ``einsum`` itself."""
    subs, out_sub = node._saved.subscripts, node._saved.out_subscripts
    ops = node._parents
    grads = []
    for i, (t, s) in enumerate(zip(ops, subs)):
        if not t.requires_grad:
            grads.append(None)
            continue
        spec, others, full, kept, missing = _grad_plan(subs, out_sub, i)
        gk = einsum(spec, g, *[ops[j] for j in others])
        size = dict(zip(s, t.shape))
        size.update(zip(kept, gk.shape))
        if missing:
            shape = [1 if k in missing else size[c] for k, c in enumerate(full)]
            gk = gk.reshape(shape).expand(*[size[c] for c in full])
        if len(full) < len(s):
            sizes = [size[c] for c in s]
            grid = np.indices([size[c] for c in full], sparse=True)
            key = tuple(grid[full.index(c)] for c in s)

            def place(a, key=key, sizes=sizes):
                out = np.zeros(sizes, a.dtype)
                out[key] = a
                return out
            gk = linear_map(gk, place, lambda h, key=key: h[key], "einsum_diagonal")
        grads.append(gk)
    return tuple(grads)
