"""Captured steps (``ac.compile``, ``Trainer(capture=True)``): a replay gives the eager results
bit for bit, and every call it could get wrong runs eagerly instead, saying why."""

import sys
import threading
import warnings

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.functional as F
from autograd_cnn import models, nn, optim
from autograd_cnn.capture import Compiled
from autograd_cnn.train import Trainer


def _batches(shape, n, seed=0, classes=10):
    rng = np.random.default_rng(seed)
    return [(ac.tensor(rng.standard_normal(shape).astype(np.float32)),
             ac.tensor(rng.integers(0, classes, shape[0]))) for _ in range(n)]


def _grads(model):
    return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]


def _same(a, b):
    assert a.shape == b.shape and a.dtype == b.dtype
    assert a.tobytes() == b.tobytes(), np.abs(a - b).max()


def _run(model, fn, batches, loss=F.cross_entropy):
    """Per batch: the output and every parameter's gradient."""
    out = []
    for x, y in batches:
        model.zero_grad()
        o = fn(x)
        loss(o, y).backward()
        out.append((o.detach().numpy().copy(), _grads(model)))
    return out


class _Custom(nn.Module):
    """A forward written with functional calls, methods and operators (not only modules)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 4 * 4, 5)
        self.skip = nn.Linear(4 * 4 * 4, 5, bias=False)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.conv(x)), 2)
        h = h.view(h.shape[0], -1)
        return self.fc(h) * 0.5 + self.skip(F.sigmoid(h)) - 1.0


@pytest.mark.parametrize("make, shape", [
    (lambda: models.lenet5(), (6, 1, 32, 32)),
    (lambda: models.lenet5(modern=True), (5, 1, 32, 32)),
    (lambda: nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.Tanh(), nn.Linear(16, 10)),
     (7, 3, 2, 2)),
    (_Custom, (4, 3, 8, 8)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_replay_matches_eager_bit_for_bit(make, shape, dtype):
    ac.manual_seed(0)
    model = make().to(dtype=dtype) if dtype == np.float64 else make()
    batches = [(x.to(dtype=dtype), y) for x, y in _batches(shape, 5, classes=5)]
    compiled = ac.compile(model)
    replayed = _run(model, compiled, batches)
    assert compiled.stats == {"captures": 1, "replays": 3, "eager": 1}, compiled.explain()
    for (o1, g1), (o2, g2) in zip(replayed, _run(model, model, batches)):
        _same(o1, o2)
        for a, b in zip(g1, g2):
            _same(a, b)


def test_a_replayed_call_is_one_node_whose_parents_are_the_inputs():
    model = models.lenet5()
    compiled = ac.compile(model)
    x = ac.randn(2, 1, 32, 32)
    for _ in range(3):
        out = compiled(x)
    assert out._op == "compiled LeNet5"
    assert out._parents[0] is x
    assert {id(p) for p in out._parents[1:]} == {id(p) for p in model.parameters()}
    assert compiled.explain() == ["inputs [(2, 1, 32, 32)]: replayed (12 ops)"]


def test_training_with_capture_ends_with_the_eager_weights():
    def train(capture):
        ac.manual_seed(0)
        model = models.lenet5(modern=True)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        fn = ac.compile(model) if capture else model
        for x, y in _batches((8, 1, 32, 32), 6) * 2:
            opt.zero_grad()
            F.cross_entropy(fn(x), y).backward()
            opt.step()
        return [p.detach().numpy().copy() for p in model.parameters()], fn
    eager, _ = train(False)
    captured, fn = train(True)
    assert fn.stats["replays"] == 10
    for a, b in zip(eager, captured):
        _same(a, b)


def test_new_shapes_grad_mode_and_train_eval_get_plans_of_their_own():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))
    compiled = ac.compile(model)
    model.eval()                        # dropout is the identity: capturable
    for n in (5, 5, 5, 3, 3, 3):
        out = compiled(ac.randn(n, 3))
        assert out.shape == (n, 2)
    with ac.no_grad():
        for _ in range(3):
            out = compiled(ac.randn(5, 3))
    assert not out.requires_grad and out._op == ""
    model.train()                       # now dropout draws a mask: that plan must not be used
    with pytest.warns(RuntimeWarning, match="'dropout' has no replay"):
        out = compiled(ac.randn(5, 3))
    ac.manual_seed(1)
    a = compiled(ac.ones(5, 3))
    ac.manual_seed(1)
    b = model(ac.ones(5, 3))
    _same(a.detach().numpy(), b.detach().numpy())
    model.eval()
    compiled(ac.randn(5, 3))
    assert compiled.stats["replays"] == 1 + 1 + 1 + 1     # (5,), (3,), no_grad, eval again
    assert any("eager: op 'dropout'" in line for line in compiled.explain())


def test_frozen_and_replaced_parameters_are_seen():
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    compiled = ac.compile(model)
    x = ac.randn(6, 3)
    for _ in range(3):
        compiled(x).sum().backward()
    model[0].weight.requires_grad_(False)
    model.zero_grad()
    for _ in range(3):
        model.zero_grad()
        compiled(x).sum().backward()
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    model[2] = nn.Linear(4, 7)          # a new layer: the old plan would use the old weights
    out = compiled(x)
    assert out.shape == (6, 7)
    for _ in range(2):
        out = compiled(x)
    _same(out.detach().numpy(), model(x).detach().numpy())


def test_parameter_updates_and_loaded_weights_are_read_at_each_replay():
    model = nn.Sequential(nn.Linear(3, 2))
    compiled = ac.compile(model)
    x = ac.randn(4, 3)
    for _ in range(3):
        compiled(x)
    with ac.no_grad():
        model[0].weight.mul_(2.0)
    _same(compiled(x).detach().numpy(), model(x).detach().numpy())
    model.load_state_dict({"0.weight": np.ones((2, 3), np.float32),
                           "0.bias": np.zeros(2, np.float32)})
    _same(compiled(x).detach().numpy(), x.numpy().sum(axis=1, keepdims=True).repeat(2, 1))


def _eager_reason(fn, *args):
    compiled = ac.compile(fn)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            compiled(*args)
    assert compiled.stats["replays"] == 0
    assert len(caught) == 1 and issubclass(caught[0].category, RuntimeWarning)
    return str(caught[0].message), compiled


def test_what_a_replay_would_get_wrong_runs_eagerly_and_says_why():
    x = ac.randn(3, 4)
    lin = nn.Linear(4, 4)
    cases = [
        (lambda t: F.gelu(lin(t)), "op 'gelu' has no replay"),
        (lambda t: lin(t) * float(lin(t).sum().item()), "has no replay"),
        (lambda t: lin(t) * float(t.max().item()), "has no replay"),
        (lambda t: lin(t) + ac.randn(3, 4), "made a tensor"),
        (lambda t: lin(t.detach()), "detached"),
        (lambda t: lin(t) if bool(t[0, 0] > -100) else t, "has no replay"),
        (lambda t: lin(t.add_(0.0)), "in place"),
        (lambda t: (lin(t), 3), "not a tensor"),
        (lambda t: t, "not computed by a replayed op"),
    ]
    for fn, reason in cases:
        message, _ = _eager_reason(fn, x)
        assert reason in message, (reason, message)


def test_a_write_by_a_kernel_is_refused_naming_the_writer():
    # batch norm's running statistics and an optimiser step write through kernels, not ops
    bn = nn.BatchNorm1d(4)
    message, _ = _eager_reason(lambda t: bn(t), ac.randn(3, 4))
    assert "wrote into a tensor in place (batch norm's running statistics)" in message
    lin = nn.Linear(4, 4)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    for p in lin.parameters():
        p.grad = ac.ones_like(p)

    def step(t):
        opt.step()
        return lin(t)
    message, _ = _eager_reason(step, ac.randn(3, 4))
    assert "(an optimiser step)" in message
    # a writer without a name of its own is named by its module and function
    vec = ac.zeros(sum(p.numel() for p in lin.parameters()))

    def load(t):
        ac.nn.utils.vector_to_parameters(vec, lin.parameters())
        return lin(t)
    message, _ = _eager_reason(load, ac.randn(3, 4))
    assert "(utils.vector_to_parameters)" in message


def test_values_read_into_python_are_refused():
    x = ac.randn(3, 4)
    lin = nn.Linear(4, 4)
    scale = ac.tensor(2.0)
    message, _ = _eager_reason(lambda t: lin(t) * float(scale), x)
    assert "read tensor values into Python (Tensor.__float__)" in message


def test_module_hooks_run_eagerly():
    model = nn.Sequential(nn.Linear(4, 2))
    seen = []
    model[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    message, _ = _eager_reason(model, ac.randn(3, 4))
    assert "forward hooks" in message and len(seen) == 3
    # a hook added after capture: the plan's guard notices it
    model2 = nn.Sequential(nn.Linear(4, 2))
    compiled = ac.compile(model2)
    for _ in range(3):
        compiled(ac.randn(3, 4))
    model2[0].register_forward_hook(lambda m, i, o: seen.append("late"))
    with pytest.warns(RuntimeWarning, match="forward hooks"):
        compiled(ac.randn(3, 4))
    assert seen[-1] == "late"


def test_a_replay_that_would_differ_is_caught_by_the_check():
    state = {"scale": 1.0}
    lin = nn.Linear(4, 4)

    def fn(t):
        state["scale"] += 1.0            # a Python value the ops depend on
        return lin(t) * state["scale"]
    x = ac.randn(3, 4)
    message, compiled = _eager_reason(fn, x)
    assert "did not reproduce the eager outputs" in message
    _same(compiled(x).detach().numpy(), (lin(x) * (state["scale"])).detach().numpy())


def test_arguments_that_cannot_be_keyed_run_eagerly():
    lin = nn.Linear(4, 4)
    message, _ = _eager_reason(lambda ts: lin(ts[0]), [ac.randn(3, 4)])
    assert "holds tensors inside a container" in message
    message, _ = _eager_reason(lambda t, a: lin(t), ac.randn(3, 4), np.zeros(2))
    assert "not a tensor or a hashable constant" in message


def test_constants_are_part_of_the_signature():
    lin = nn.Linear(4, 4)
    compiled = ac.compile(lambda t, k: lin(t) * k)
    x = ac.randn(3, 4)
    for k in (2.0, 2.0, 2.0, 3.0, 3.0, 3.0):
        out = compiled(x, k)
        _same(out.detach().numpy(), (lin(x) * k).detach().numpy())
    assert compiled.stats == {"captures": 2, "replays": 2, "eager": 2}


def test_fullgraph_raises_instead_of_running_eagerly():
    compiled = ac.compile(lambda t: F.gelu(t), fullgraph=True)
    with pytest.raises(RuntimeError, match="fullgraph=True.*'gelu' has no replay"):
        compiled(ac.randn(2))


def test_decorator_forms_and_disable():
    @ac.compile
    def f(t):
        return F.relu(t)

    @ac.compile(fullgraph=True, mode="reduce-overhead", dynamic=False)
    def g(t):
        return F.tanh(t)
    x = ac.randn(4)
    for _ in range(3):
        f(x), g(x)
    assert isinstance(f, Compiled) and f.stats["replays"] == 1 and g.stats["replays"] == 1
    model = nn.Linear(2, 2)
    assert ac.compile(model, disable=True) is model
    with pytest.raises(TypeError, match="expected a function or a Module, got int"):
        ac.compile(3)


def test_a_compiled_module_keeps_the_module_api():
    model = models.lenet5()
    compiled = ac.compile(model)
    assert list(compiled.parameters()) == list(model.parameters())
    compiled.eval()
    assert not model.training
    assert compiled.state_dict().keys() == model.state_dict().keys()


def test_double_backward_through_a_replay_raises():
    lin = nn.Linear(3, 1)
    compiled = ac.compile(lambda t: F.tanh(lin(t)))
    x = ac.randn(2, 3, requires_grad=True)
    for _ in range(3):
        out = compiled(x)
    with pytest.raises(RuntimeError, match="'compiled <lambda>' has no differentiable"):
        ac.grad(out.sum(), x, create_graph=True)
    gx, = ac.grad(compiled(x).sum(), x)         # first-order gradients work
    ref, = ac.grad(F.tanh(lin(x)).sum(), x)
    _same(gx.numpy(), ref.numpy())


def test_an_input_that_requires_grad_gets_its_gradient_and_others_do_not():
    w = ac.randn(4, 3, requires_grad=True)
    compiled = ac.compile(lambda a, b: F.relu(F.linear(a, w)) * b)
    a, b = ac.randn(5, 3, requires_grad=True), ac.randn(5, 4)
    for _ in range(3):
        a.grad = w.grad = None
        compiled(a, b).sum().backward()
    ga, gw = a.grad.numpy().copy(), w.grad.numpy().copy()
    a.grad = w.grad = None
    (F.relu(F.linear(a, w)) * b).sum().backward()
    _same(ga, a.grad.numpy())
    _same(gw, w.grad.numpy())
    assert b.grad is None


def test_a_running_profiler_is_left_alone():
    compiled = ac.compile(lambda t: F.relu(t))
    calls = []
    sys.setprofile(lambda *a: calls.append(1))
    try:
        with pytest.warns(RuntimeWarning, match="a profiler is running"):
            compiled(ac.randn(3))
        assert sys.getprofile() is not None
    finally:
        sys.setprofile(None)
    assert calls


def test_threads_replay_one_plan_concurrently():
    model = models.lenet5(modern=True)
    compiled = ac.compile(model)
    batches = _batches((4, 1, 32, 32), 8)
    for x, _ in batches[:3]:
        compiled(x)
    expected = [model(x).detach().numpy() for x, _ in batches]
    errors = []

    def work(i):
        try:
            for _ in range(5):
                _same(compiled(batches[i][0]).detach().numpy(), expected[i])
        except Exception as e:              # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_out_of_range_targets_still_raise_in_a_replayed_loss():
    lin = nn.Linear(4, 3)
    compiled = ac.compile(lambda t, y: F.cross_entropy(lin(t), y))
    x = ac.randn(5, 4)
    for _ in range(3):
        compiled(x, ac.tensor([0, 1, 2, 0, 1]))
    with pytest.raises(IndexError, match="target 3 is out of range for 3 classes"):
        compiled(x, ac.tensor([0, 1, 3, 0, 1]))
    loss = compiled(x, ac.tensor([0, -100, 2, -100, 1]))       # ignore_index counts
    ref = F.cross_entropy(lin(x), ac.tensor([0, -100, 2, -100, 1]))
    _same(loss.detach().numpy(), ref.detach().numpy())


def test_trainer_capture_trains_like_the_eager_trainer():
    def fit(capture):
        ac.manual_seed(0)
        model = models.lenet5()
        trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05), nn.CrossEntropyLoss(),
                          capture=capture, progress=False)
        data = _batches((8, 1, 32, 32), 4, seed=1) + _batches((3, 1, 32, 32), 1, seed=2)
        history = trainer.fit(data, data, epochs=3)
        return trainer, history, [p.detach().numpy().copy() for p in model.parameters()]
    t_eager, h_eager, w_eager = fit(False)
    t_capt, h_capt, w_capt = fit(True)
    for a, b in zip(w_eager, w_capt):
        _same(a, b)
    assert [r["train_loss"] for r in h_eager.rows] == [r["train_loss"] for r in h_capt.rows]
    assert t_eager.forward is t_eager.model
    assert t_capt.forward.stats["replays"] > 0


def test_trainer_capture_auto_trains_a_model_without_replays_eagerly_and_quietly():
    # batch norm has no replay: "auto" (the command line's default) trains eagerly, warns
    # nothing and says why in explain(); capture=True warns
    def fit(capture):
        ac.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
                              nn.Linear(4 * 6 * 6, 3))
        trainer = Trainer(model, optim.SGD(model.parameters(), lr=0.05), nn.CrossEntropyLoss(),
                          capture=capture, progress=False)
        data = _batches((8, 1, 8, 8), 3, seed=1, classes=3)
        trainer.fit(data, epochs=2)
        return trainer, [p.detach().numpy().copy() for p in model.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer, weights = fit("auto")
    assert trainer.forward.stats["replays"] == 0 and trainer.forward.stats["eager"] > 0
    assert any("eager: wrote into a tensor in place (batch norm's running statistics)" in line
               for line in trainer.forward.explain())
    _, eager = fit(False)
    for a, b in zip(eager, weights):
        _same(a, b)
    with pytest.warns(RuntimeWarning, match="runs eagerly"):
        fit(True)


@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_trainer_capture_takes_true_false_or_auto(bad):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="capture must be True, False or 'auto'"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), nn.CrossEntropyLoss(),
                capture=bad)
