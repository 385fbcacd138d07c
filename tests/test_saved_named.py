"""Every op names what it saves (issue 13): a node's ``_saved`` is None or a NamedTuple
(``<Op>Saved``, defined next to the op), never a positional tuple or a bare value.

The graphs of a broad sample of ops are walked through the public API: every entry of the op
registry (tests/op_cases.py), the CNN ops and losses that it leaves out, custom Functions, the
in-place forms, and the recorded rules of ``backward(create_graph=True)``. A source scan backs
them up: every ``make(...)``/``Tensor._from_op(...)`` in the package that passes a saved value
passes a ``...Saved(...)`` record, so an op that no graph here reaches cannot slip either."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import engine
from autograd_cnn.distributed import sync_batchnorm
from op_cases import CASES, make_inputs

PACKAGE = Path(ac.__file__).resolve().parent


def is_named_record(saved) -> bool:
    """None, or an instance of a NamedTuple class (a tuple subclass with ``_fields``)."""
    if saved is None:
        return True
    return isinstance(saved, tuple) and type(saved) is not tuple and \
        isinstance(getattr(type(saved), "_fields", None), tuple)


def _tensors(out):
    """The tensors in an op's result (a tensor, a (values, indices) pair, a list of pieces)."""
    if isinstance(out, ac.Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _tensors(o)


def unnamed_nodes(out) -> list:
    """(op label, type of _saved) for every node under ``out`` whose saved context is neither
    None nor a named record; also asserts that there was a graph to walk."""
    roots = [t for t in _tensors(out) if t._backward is not None]
    assert roots, "the op recorded no graph: nothing was checked"
    bad = []
    for node in engine.topological_order(roots):
        if node._backward is not None and not is_named_record(node._saved):
            bad.append((node._op, type(node._saved).__name__, node._saved))
    return bad


def t64(*shape, seed=0, positive=False, grad=True):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0.3, 2.0, size=shape)
    if not positive:
        a = a * rng.choice([-1.0, 1.0], size=shape)
    return ac.tensor(a, dtype="float64", requires_grad=grad)


def test_the_check_tells_a_record_from_a_plain_tuple_or_value():
    from autograd_cnn.functional.conv import ConvSaved
    assert is_named_record(None)
    assert is_named_record(ConvSaved(None, np.zeros(1), np.zeros(1)))
    assert not is_named_record((1, 2))
    assert not is_named_record(3)
    assert not is_named_record(np.zeros(2))


# ---- every entry of the op registry ----------------------------------------------------------

REGISTRY = [pytest.param(c, c.shapes[-1], id=c.name) for c in CASES if c.grad]


@pytest.mark.parametrize("case,shapes", REGISTRY)
def test_every_registry_op_saves_a_named_record(case, shapes):
    rng = np.random.default_rng(0)
    tensors = [ac.tensor(a, requires_grad=True) for a in make_inputs(shapes, case.domain, rng)]
    assert unnamed_nodes(case.fn(*tensors)) == []


# ---- the ops the registry leaves out: convolution, pooling, norms, losses, ... ---------------


def _idx():
    return ac.tensor(np.array([2, 0, 1, 2]))


class _Square(ac.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 2 * x * g


class _SplitTwo(ac.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return 2 * g1 + 3 * g2


def _inplace(x):
    y = x * 1.0
    y.add_(x)
    y.mul_(2.0)
    y[0] = x[1] * 3
    return y


class _FakeComm:
    """One rank, without MPI: the collectives are copies."""
    def Get_size(self):
        return 1

    def Allgather(self, send, recv):
        recv[...] = send

    def Allreduce(self, _in_place, buf, op=None):
        pass


class _FakeMPI:
    IN_PLACE, SUM = object(), object()


def _sync_bn(x, w, b):
    return sync_batchnorm.sync_batch_norm(x, None, None, w, b, 0.1, 1e-5, _FakeComm())


EXTRA = {
    "conv2d": lambda: F.conv2d(t64(2, 3, 5, 5), t64(4, 3, 3, 3, seed=1), t64(4, seed=2),
                               padding=1),
    "conv2d_same_groups": lambda: F.conv2d(t64(1, 4, 6, 6), t64(4, 2, 2, 2, seed=1),
                                           padding="same", groups=2),
    "conv2d_relu": lambda: F.conv2d_relu(t64(2, 3, 5, 5), t64(4, 3, 3, 3, seed=1),
                                         t64(4, seed=2), padding=1),
    "conv_transpose2d": lambda: F.conv_transpose2d(t64(1, 3, 4, 4), t64(3, 2, 3, 3, seed=1),
                                                   t64(2, seed=2), stride=2, padding=1),
    "max_pool2d": lambda: F.max_pool2d(t64(1, 2, 6, 6), 2),
    "max_pool2d_unpool": lambda: F.max_unpool2d(*F.max_pool2d(t64(1, 2, 6, 6), 2,
                                                              return_indices=True), 2),
    "adaptive_max_pool2d": lambda: F.adaptive_max_pool2d(t64(1, 2, 7, 5), (3, 2)),
    "avg_pool2d": lambda: F.avg_pool2d(t64(1, 2, 6, 6), 3, stride=2, padding=1,
                                       count_include_pad=False),
    "avg_pool2d_divisor": lambda: F.avg_pool2d(t64(1, 2, 6, 6), 2, divisor_override=3),
    "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(t64(1, 2, 7, 5), 2),
    "interpolate_nearest": lambda: F.interpolate(t64(1, 2, 3, 4), scale_factor=2),
    "interpolate_bilinear": lambda: F.interpolate(t64(1, 2, 3, 4), size=(5, 7),
                                                  mode="bilinear", align_corners=True),
    "batch_norm_train": lambda: F.batch_norm(t64(4, 3, 2, 2), None, None, t64(3, seed=1),
                                             t64(3, seed=2), training=True),
    "batch_norm_eval": lambda: F.batch_norm(t64(4, 3), ac.zeros(3, dtype="float64"),
                                            ac.ones(3, dtype="float64"), t64(3, seed=1)),
    "batch_norm_relu": lambda: F.batch_norm_relu(t64(4, 3, 2, 2), None, None, training=True),
    "batch_norm_add_relu": lambda: F.batch_norm_add_relu(t64(4, 3, 2, 2), t64(4, 3, 2, 2, seed=3),
                                                         None, None, training=True),
    "sync_batch_norm": lambda: _sync_bn(t64(4, 3, 2), t64(3, seed=1), t64(3, seed=2)),
    "local_response_norm": lambda: F.local_response_norm(t64(2, 5, 3, 3), 3),
    "dropout": lambda: F.dropout(t64(3, 4), 0.5, generator=0),
    "dropout2d": lambda: F.dropout2d(t64(2, 3, 2, 2), 0.5, generator=0),
    "cross_entropy": lambda: F.cross_entropy(t64(4, 3), _idx()),
    "cross_entropy_weight_ignore": lambda: F.cross_entropy(t64(4, 3), _idx(),
                                                           weight=t64(3, positive=True,
                                                                      grad=False),
                                                           ignore_index=0),
    "cross_entropy_probs": lambda: F.cross_entropy(t64(4, 3), F.softmax(t64(4, 3, seed=1), 1)),
    "cross_entropy_smoothing": lambda: F.cross_entropy(t64(4, 3), _idx(), label_smoothing=0.1),
    "nll_loss": lambda: F.nll_loss(F.log_softmax(t64(4, 3), 1), _idx()),
    "binary_cross_entropy": lambda: F.binary_cross_entropy(
        F.sigmoid(t64(4, 2)), t64(4, 2, positive=True, seed=1) / 2,
        weight=t64(2, positive=True, grad=False)),
    "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(
        t64(4, 2), t64(4, 2, positive=True, seed=1) / 2, pos_weight=t64(2, positive=True,
                                                                       grad=False)),
    "mse_l1_huber_smooth_l1": lambda: (F.mse_loss(t64(3, 2), t64(3, 2, seed=1)),
                                       F.l1_loss(t64(3, 2), t64(3, 2, seed=1)),
                                       F.huber_loss(t64(3, 2), t64(3, 2, seed=1)),
                                       F.smooth_l1_loss(t64(3, 2), t64(3, 2, seed=1))),
    "kl_div": lambda: F.kl_div(F.log_softmax(t64(3, 4), 1), F.softmax(t64(3, 4, seed=1), 1)),
    "margin_losses": lambda: (F.multi_margin_loss(t64(4, 3), _idx()),
                              F.multiclass_svm_loss(t64(4, 3), _idx())),
    "triplet_dice": lambda: (F.triplet_margin_loss(t64(3, 4), t64(3, 4, seed=1),
                                                   t64(3, 4, seed=2)),
                             F.dice_loss(t64(2, 3, 3, 3),
                                         ac.tensor(np.arange(18).reshape(2, 3, 3) % 3))),
    "reductions": lambda: (t64(2, 3).sum(1), t64(2, 3).mean(), t64(2, 3).max(),
                           t64(2, 3).max(1), t64(2, 3).min(0, keepdim=True),
                           F.amax(t64(2, 3), 1), F.amin(t64(2, 3), (0, 1)), t64(2, 3).var(0),
                           t64(2, 3).std(), F.logsumexp(t64(2, 3), 1), F.prod(t64(2, 3), 1),
                           t64(2, 3).norm(3, dim=1), t64(2, 3).norm()),
    "scans": lambda: (F.cumsum(t64(2, 3), 1), F.cumprod(t64(2, 3), 0),
                      F.sort(t64(2, 3), 1), F.topk(t64(2, 5), 2)),
    "einsum": lambda: F.einsum("bij,bjk->bik", t64(2, 2, 3), t64(2, 3, 4, seed=1)),
    "embedding": lambda: F.embedding(ac.tensor(np.array([[0, 2], [2, 3]])), t64(4, 3),
                                     padding_idx=3, scale_grad_by_freq=True),
    "clamp_tensor_bounds": lambda: F.clip(t64(2, 3), min=t64(3, grad=False) * 0.1),
    "inplace": lambda: _inplace(t64(3, 2)),
    "function_single": lambda: _Square.apply(t64(3)),
    "function_multi": lambda: _SplitTwo.apply(t64(3)),
    "cast": lambda: t64(3).float() * 2,
}


@pytest.mark.parametrize("name", sorted(EXTRA))
def test_the_cnn_ops_losses_functions_and_inplace_forms_save_named_records(name, monkeypatch):
    monkeypatch.setattr(sync_batchnorm, "_import_mpi", lambda: _FakeMPI)
    assert unnamed_nodes(EXTRA[name]()) == []


# ---- the recorded rules of backward(create_graph=True) ---------------------------------------

SECOND_ORDER = ["conv2d", "conv2d_relu", "conv_transpose2d", "max_pool2d", "max_pool2d_unpool", "avg_pool2d",
                "adaptive_avg_pool2d", "interpolate_nearest", "interpolate_bilinear",
                "batch_norm_train", "local_response_norm", "cross_entropy",
                "cross_entropy_probs", "bce_with_logits", "reductions", "scans", "einsum",
                "embedding", "function_single", "function_multi"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_the_nodes_that_recorded_rules_create_save_named_records(name, monkeypatch):
    monkeypatch.setattr(sync_batchnorm, "_import_mpi", lambda: _FakeMPI)
    out = [t for t in _tensors(EXTRA[name]()) if t._backward is not None]
    leaves = [n for n in engine.topological_order(out)
              if n._backward is None and n.requires_grad]
    rng = np.random.default_rng(5)
    # o * o: the gradient reaching each op depends on the leaves, so its rule records ops
    loss = sum((o * o * ac.tensor(rng.standard_normal(o.shape), dtype=o.dtype)).sum()
               for o in out)
    grads = ac.grad(loss, leaves, create_graph=True, allow_unused=True)
    grads = [g for g in grads if g is not None and g._backward is not None]
    assert grads, "nothing was recorded by the create_graph backward"
    assert unnamed_nodes(grads) == []


def test_a_second_op_path_of_a_graph_rule_saves_named_records_too():
    """linear_map's adjoint node (differentiating a recorded pooling rule once more)."""
    x = t64(1, 1, 4, 4)
    y = F.max_pool2d(x, 2)
    (g,) = ac.grad((y * y).sum(), [x], create_graph=True)
    (gg,) = ac.grad((g * g).sum(), [x], create_graph=True)
    assert unnamed_nodes([g, gg]) == []


# ---- the source scan: every saved value passed to make/_from_op is a ...Saved(...) record -----


def _saved_argument(call: ast.Call):
    for kw in call.keywords:
        if kw.arg == "saved":
            return kw.value
    return call.args[4] if len(call.args) >= 5 else None


def _is_record_expr(node) -> bool:
    if isinstance(node, ast.Constant) and node.value is None:
        return True
    if isinstance(node, ast.IfExp):
        return _is_record_expr(node.body) and _is_record_expr(node.orelse)
    if isinstance(node, ast.Call):
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
        return name.endswith("Saved")
    return False


def test_every_make_call_in_the_package_passes_a_named_record():
    bad, records = [], set()
    for path in sorted(PACKAGE.rglob("*.py")):
        src = path.read_text()
        for node in ast.walk(ast.parse(src)):
            if isinstance(node, ast.ClassDef) and node.name.endswith("Saved"):
                bases = [ast.get_source_segment(src, b) for b in node.bases]
                assert bases == ["NamedTuple"], f"{path.name}: {node.name} is not a NamedTuple"
                records.add(node.name)
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name not in ("make", "_from_op"):
                continue
            arg = _saved_argument(node)
            if arg is not None and not _is_record_expr(arg):
                bad.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: "
                           f"{ast.get_source_segment(src, arg)}")
    assert bad == [], "saved values that are not <Op>Saved records:\n" + "\n".join(bad)
    assert len(records) >= 60
