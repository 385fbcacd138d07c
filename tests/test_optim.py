"""Optimisers against hand-computed updates, parameter groups and state dicts, learning-rate
schedules against hand-computed sequences, gradient clipping. (Training end to end:
tests/test_training.py.)"""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import optim
from autograd_cnn.optim import lr_scheduler as L

pytestmark = pytest.mark.nojit


def param(*values):
    return nn.Parameter(ac.tensor(list(values), dtype="float64"))


def run(opt, p, grads):
    """Apply ``opt.step()`` with the given gradients; the parameter values after each step."""
    out = []
    for g in grads:
        p.grad = ac.tensor([g], dtype="float64")
        opt.step()
        out.append(p._data[0])
    return out


# ---- SGD ---------------------------------------------------------------------------------------


def test_sgd_plain():
    p = param(1.0)
    assert run(optim.SGD([p], lr=0.1), p, [2.0, -1.0]) == pytest.approx([0.8, 0.9])


def test_sgd_momentum_by_hand():
    p = param(1.0)
    # b1 = g1 = 2;            p = 1 - 0.1 * 2 = 0.8
    # b2 = 0.9 * 2 + 1 = 2.8; p = 0.8 - 0.28 = 0.52
    # b3 = 0.9 * 2.8 - 1 = 1.52; p = 0.52 - 0.152 = 0.368
    got = run(optim.SGD([p], lr=0.1, momentum=0.9), p, [2.0, 1.0, -1.0])
    assert got == pytest.approx([0.8, 0.52, 0.368], abs=1e-15)


def test_sgd_dampening_by_hand():
    p = param(1.0)
    # b1 = g1 = 2 (no dampening at the first step); b2 = 0.9 * 2 + (1 - 0.5) * 1 = 2.3
    got = run(optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5), p, [2.0, 1.0])
    assert got == pytest.approx([0.8, 0.8 - 0.23], abs=1e-15)


def test_sgd_nesterov_with_weight_decay_by_hand():
    p = param(1.0)
    # step 1: g = 2 + 0.1 * 1 = 2.1; b = 2.1; g' = 2.1 + 0.9 * 2.1 = 3.99; p = 1 - 0.399 = 0.601
    # step 2: g = 1 + 0.1 * 0.601 = 1.0601; b = 0.9 * 2.1 + 1.0601 = 2.9501
    #         g' = 1.0601 + 0.9 * 2.9501 = 3.71519; p = 0.601 - 0.371519 = 0.229481
    got = run(optim.SGD([p], lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1), p,
              [2.0, 1.0])
    assert got == pytest.approx([0.601, 0.229481], abs=1e-14)


def test_sgd_weight_decay_is_the_gradient_of_half_l2_penalty():
    a, b = nn.Linear(3, 2).double(), nn.Linear(3, 2).double()
    b.load_state_dict(a.state_dict())
    x = ac.randn(4, 3, dtype="float64")
    opt_a = optim.SGD(a.parameters(), lr=0.1, weight_decay=0.01)
    opt_b = optim.SGD(b.parameters(), lr=0.1)
    a(x).sum().backward()
    (b(x).sum() + 0.01 / 2 * F.l2_penalty(b)).backward()
    opt_a.step()
    opt_b.step()
    np.testing.assert_allclose(a.weight._data, b.weight._data, rtol=1e-13)


def test_sgd_maximize_ascends():
    p = param(1.0)
    assert run(optim.SGD([p], lr=0.1, maximize=True), p, [2.0]) == pytest.approx([1.2])


# ---- adaptive methods --------------------------------------------------------------------------


def test_adam_bias_correction_by_hand():
    p = param(1.0)
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    got = run(optim.Adam([p], lr=lr), p, [2.0, -1.0])
    # step 1: m = 0.2, v = 0.004; m_hat = 2, v_hat = 4: the first step has size lr (bias
    # correction undoes the zero initialisation exactly)
    p1 = 1 - lr * 2 / (2 + eps)
    # step 2: m = 0.9 * 0.2 - 0.1 = 0.08, v = 0.999 * 0.004 + 0.001 = 0.004996
    m, v = 0.08, 0.004996
    p2 = p1 - (lr / (1 - b1 ** 2)) * m / (math.sqrt(v) / math.sqrt(1 - b2 ** 2) + eps)
    assert got == pytest.approx([p1, p2], abs=1e-15)


def test_adamw_decays_decoupled_from_the_gradient():
    # zero gradient: Adam's step is 0, AdamW still shrinks p by lr * weight_decay
    p = param(1.0)
    assert run(optim.AdamW([p], lr=0.1, weight_decay=0.1), p, [0.0]) == pytest.approx([0.99])
    # Adam's weight decay goes through the gradient and is normalised: a full step of lr
    q = param(1.0)
    assert run(optim.Adam([q], lr=0.1, weight_decay=0.1), q, [0.0]) == pytest.approx(
        [1 - 0.1 * 0.1 / (0.1 + 1e-8)])
    # with a gradient: shrink first, then the same Adam step as without decay
    r, s = param(2.0), param(2.0)
    got_r = run(optim.AdamW([r], lr=0.1, weight_decay=0.5), r, [3.0])
    got_s = run(optim.Adam([s], lr=0.1), s, [3.0])
    assert got_r[0] == pytest.approx(2 * (1 - 0.05) + (got_s[0] - 2), abs=1e-15)
    assert optim.AdamW([param(0.0)]).defaults["weight_decay"] == 0.01


def test_amsgrad_uses_the_running_maximum():
    p = param(0.0)
    opt = optim.Adam([p], lr=0.1, amsgrad=True)
    run(opt, p, [5.0, 0.1])
    st = opt.state[p]
    assert st["max_exp_avg_sq"][0] == pytest.approx(0.001 * 25)
    assert st["exp_avg_sq"][0] < st["max_exp_avg_sq"][0]


def test_rmsprop_by_hand():
    p = param(1.0)
    # v = 0.01 * 4 = 0.04; p = 1 - 0.01 * 2 / (0.2 + 1e-8)
    got = run(optim.RMSprop([p], lr=0.01), p, [2.0])
    assert got == pytest.approx([1 - 0.01 * 2 / (0.2 + 1e-8)], abs=1e-15)
    assert optim.RMSprop([param(0.0)]).defaults["alpha"] == 0.99
    q = param(1.0)
    # centered: m = 0.01 * 2 = 0.02, d = sqrt(0.04 - 0.0004) + eps; momentum 0.5: b = 2 / d
    got = run(optim.RMSprop([q], lr=0.01, centered=True, momentum=0.5), q, [2.0])
    assert got == pytest.approx([1 - 0.01 * 2 / (math.sqrt(0.0396) + 1e-8)], abs=1e-15)


def test_adagrad_by_hand():
    p = param(1.0)
    # s = 0.1 + 4; p = 1 - 0.5 * 2 / (sqrt(4.1) + eps)
    # step 2: lr_t = 0.5 / (1 + 0.1); s = 4.1 + 1; p -= lr_t * 1 / sqrt(5.1)
    got = run(optim.Adagrad([p], lr=0.5, lr_decay=0.1, initial_accumulator_value=0.1), p,
              [2.0, 1.0])
    p1 = 1 - 0.5 * 2 / (math.sqrt(4.1) + 1e-10)
    p2 = p1 - 0.5 / 1.1 * 1 / (math.sqrt(5.1) + 1e-10)
    assert got == pytest.approx([p1, p2], abs=1e-15)


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
    lambda ps: optim.Adam(ps), lambda ps: optim.AdamW(ps), lambda ps: optim.RMSprop(ps),
    lambda ps: optim.Adagrad(ps), lambda ps: optim.Adadelta(ps), lambda ps: optim.Adamax(ps),
    lambda ps: optim.NAdam(ps, weight_decay=0.1), lambda ps: optim.RAdam(ps)])
def test_updates_stay_float32_in_place_and_record_no_graph(make):
    model = nn.Linear(3, 2)
    weight, data = model.weight, model.weight._data
    opt = make(model.parameters())
    y = model(ac.randn(4, 3)).sum()
    y.backward(retain_graph=True)
    before = weight._version
    opt.step()
    assert model.weight is weight and model.weight._data is data       # updated in place
    assert weight.dtype == np.float32 and weight.is_leaf and weight.requires_grad
    assert weight._version == before + 1
    for st in opt.state.values():
        for v in st.values():
            assert not isinstance(v, np.ndarray) or v.dtype == np.float32
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()          # the graph recorded before the step is stale


# ---- Adadelta, Adamax, NAdam, RAdam against PyTorch -----------------------------------------
# Trajectories from torch 2.13 (float64): the loss sum(c (p - t)^2) + 0.1 sum(p^3), 8 steps from
# p0; the values after steps 1, 4 and 8. The cubic term makes the gradient depend on p, so a
# wrong update shows in every later step.

TORCH_TRAJECTORIES = [
    ("Adadelta", {},
     [[0.303162242751548, -0.703162277107137, 1.203162260786255, 0.096837765823525], [0.312988364527456, -0.713027940864492, 1.213099342696847, 0.087319736910976], [0.326389622353807, -0.726614313123514, 1.227019725819416, 0.075328869016195]]),
    ("Adadelta", {'lr': 0.5, 'rho': 0.8, 'eps': 0.0001, 'weight_decay': 0.1},
     [[0.31117358560252, -0.711180239514944, 1.211176455013783, 0.088827091004076], [0.346782164700199, -0.747416802673161, 1.248322811410789, 0.057318975684635], [0.395075441826798, -0.798751403565042, 1.304133403797406, 0.027548916993321]]),
    ("Adamax", {},
     [[0.301999999970282, -0.70199999999626, 1.201999999979339, 0.098000000033168], [0.307989316452072, -0.708003357099548, 1.20798546111637, 0.092117426521983], [0.31594538007869, -0.716013901289515, 1.215936207334297, 0.084569183763497]]),
    ("Adamax", {'lr': 0.05, 'betas': (0.8, 0.9), 'weight_decay': 0.1, 'maximize': True},
     [[0.250000000711238, -0.650000000092302, 1.150000000459559, 0.14999999915683], [0.107796049293461, -0.50377153781907, 0.989907499428246, 0.271369678567946], [-0.07362826057336, -0.314538424168664, 0.747074794845028, 0.423186423064039]]),
    ("NAdam", {},
     [[0.302112903525316, -0.702112903552759, 1.202112903534883, 0.097887096478329], [0.306595451842794, -0.706602490416272, 1.206615296434516, 0.093459443350671], [0.312773052477021, -0.712801839868641, 1.212853788476924, 0.087453988490429]]),
    ("NAdam", {'lr': 0.05, 'betas': (0.8, 0.9), 'weight_decay': 0.1, 'momentum_decay': 0.01},
     [[0.354766902025245, -0.754766902773201, 1.254766902231149, 0.045233098016439], [0.472705128145222, -0.879814869175234, 1.388258632328028, -0.007215074377705], [0.61404054699493, -1.050738638860703, 1.583852589358076, -0.002817480750696]]),
    ("NAdam", {'lr': 0.05, 'weight_decay': 0.1, 'decoupled_weight_decay': True},
     [[0.351322588132887, -0.74932258881898, 1.246822588372081, 0.046677411958227], [0.450192015671577, -0.847390882193824, 1.344168964767296, -0.002532009079208], [0.569597265524446, -0.977119750777242, 1.482992883272681, -0.006057008567749]]),
    ("RAdam", {},
     [[0.300673, -0.705347, 1.200968, 0.099397], [0.302689436642472, -0.721326322104717, 1.203875998776158, 0.097599776350783], [0.303457937583003, -0.726728335004049, 1.204944080312972, 0.096907750243297]]),
    ("RAdam", {'lr': 0.05, 'betas': (0.8, 0.9), 'weight_decay': 0.1},
     [[0.33215, -0.96385, 1.2424, 0.06935], [0.421467988970775, -1.601023615435452, 1.378247353445882, 0.007453856846387], [0.495535768236893, -1.806461553058264, 1.47639195382345, -0.022415959332817]]),
    ("RAdam", {'lr': 0.05, 'weight_decay': 0.1, 'decoupled_weight_decay': True},
     [[0.33215, -0.96385, 1.2424, 0.06935], [0.421547809314942, -1.608121403170616, 1.377004812843439, 0.005870874786566], [0.446961638335876, -1.756634379798915, 1.408149489007543, -0.009503528858427]]),
]


@pytest.mark.parametrize("name, options, expected", TORCH_TRAJECTORIES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(TORCH_TRAJECTORIES)])
def test_adam_variants_and_adadelta_follow_pytorch(name, options, expected):
    c = ac.tensor([0.5, 2.0, -1.0, 3.0], dtype="float64")
    t = ac.tensor([1.0, -2.0, 0.5, 0.0], dtype="float64")
    p = nn.Parameter(ac.tensor([0.3, -0.7, 1.2, 0.1], dtype="float64"))
    opt = getattr(optim, name)([p], **options)
    seen = []
    for step in range(8):
        opt.zero_grad()
        loss = (c * (p - t) ** 2).sum() + (p ** 3).sum() * 0.1
        loss.backward()
        opt.step()
        if step in (0, 3, 7):
            seen.append(p.detach().numpy().copy())
    np.testing.assert_allclose(seen, expected, rtol=1e-10, atol=1e-12)


def test_adam_variants_defaults_state_and_errors():
    p = param(1.0, 2.0)
    assert optim.Adadelta([p]).defaults == dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0,
                                                maximize=False)
    assert optim.Adamax([p]).defaults["lr"] == 2e-3
    nadam = optim.NAdam([p])
    assert (nadam.defaults["lr"], nadam.defaults["momentum_decay"]) == (2e-3, 4e-3)
    assert optim.RAdam([p]).defaults["lr"] == 1e-3
    p.grad = ac.tensor([0.5, -1.0], dtype="float64")
    nadam.step()
    # PyTorch's state names, so state dicts carry over
    assert set(nadam.state[p]) == {"step", "mu_product", "exp_avg", "exp_avg_sq"}
    q = param(1.0, 2.0)
    again = optim.NAdam([q])
    again.load_state_dict(nadam.state_dict())
    assert again.state[q]["mu_product"] == nadam.state[p]["mu_product"]
    with pytest.raises(ValueError, match=r"Adadelta: invalid rho 1.5"):
        optim.Adadelta([p], rho=1.5)
    with pytest.raises(ValueError, match=r"Adamax: invalid beta parameter at index 1"):
        optim.Adamax([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match=r"NAdam: invalid momentum_decay -1"):
        optim.NAdam([p], momentum_decay=-1)
    with pytest.raises(ValueError, match=r"RAdam: invalid eps -1"):
        optim.RAdam([p], eps=-1)


@pytest.mark.parametrize("make", [
    lambda p: optim.Adadelta(p, lr=math.nan), lambda p: optim.Adadelta(p, rho=math.inf),
    lambda p: optim.Adamax(p, eps=math.inf), lambda p: optim.Adamax(p, betas=(math.nan, 0.9)),
    lambda p: optim.NAdam(p, momentum_decay=math.nan), lambda p: optim.NAdam(p, lr=-1.0),
    lambda p: optim.RAdam(p, weight_decay=math.inf), lambda p: optim.RAdam(p, betas=(0.9, 1.0)),
])
def test_adam_variants_refuse_nan_inf_and_out_of_range_hyperparameters(make):
    with pytest.raises(ValueError, match="invalid"):
        make([param(1.0)])


# ---- the Optimizer API -------------------------------------------------------------------------


def test_param_groups_with_their_own_options():
    base, head = nn.Linear(2, 2), nn.Linear(2, 1)
    opt = optim.SGD([{"params": base.parameters()},
                     {"params": head.parameters(), "lr": 1.0, "name": "head"}],
                    lr=0.01, momentum=0.9)
    assert [g["lr"] for g in opt.param_groups] == [0.01, 1.0]
    assert opt.param_groups[1]["momentum"] == 0.9 and opt.param_groups[1]["name"] == "head"
    extra = nn.Parameter(ac.zeros(3))
    opt.add_param_group({"params": extra, "lr": 0.5})
    assert opt.param_groups[2]["params"] == [extra]
    x = ac.randn(3, 2)
    w0, h0 = base.weight._data.copy(), head.weight._data.copy()
    head(base(x)).sum().backward()
    opt.step()
    np.testing.assert_allclose(base.weight._data, w0 - 0.01 * base.weight.grad._data, rtol=1e-6)
    np.testing.assert_allclose(head.weight._data, h0 - 1.0 * head.weight.grad._data, rtol=1e-6)
    assert "Parameter Group 1" in repr(opt)


def test_optimizer_argument_errors():
    p = nn.Parameter(ac.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.Adam({p})
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="invalid lr -1"):
        optim.SGD([p], lr=-1)
    with pytest.raises(ValueError, match="nesterov momentum requires"):
        optim.SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="beta parameter at index 1"):
        optim.Adam([p], betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="invalid alpha"):
        optim.RMSprop([p], alpha=1.5)
    with pytest.raises(ValueError, match="invalid lr"):
        optim.SGD([{"params": [p], "lr": -0.5}], lr=0.1)        # groups are checked too


def test_step_skips_parameters_without_gradients_and_closure_is_called():
    a, b = param(1.0), param(2.0)
    opt = optim.SGD([a, b], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (a * 3).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 3.0
    assert a._data[0] == pytest.approx(0.7) and b._data[0] == 2.0
    assert b not in opt.state or not opt.state[b]
    opt.zero_grad()
    assert a.grad is None


def test_optimizer_state_dict_round_trip_and_checks():
    model = nn.Linear(2, 2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(ac.randn(3, 2)).sum().backward()
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["state"][0]["step"] == 1 and sd["state"][0]["exp_avg"].shape == (2, 2)
    twin = nn.Linear(2, 2)
    opt2 = optim.Adam(twin.parameters(), lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["params"][0] is twin.weight
    np.testing.assert_array_equal(opt2.state[twin.weight]["exp_avg"], opt.state[model.weight]["exp_avg"])
    assert opt2.state[twin.weight]["exp_avg"] is not opt.state[model.weight]["exp_avg"]
    bad = optim.Adam([nn.Parameter(ac.zeros(3, 3)), nn.Parameter(ac.zeros(2))], lr=0.5)
    with pytest.raises(ValueError, match=r"has shape \(2, 2\), but the parameter has shape "
                                         r"\(3, 3\)"):
        bad.load_state_dict(sd)
    assert bad.state == {} and bad.param_groups[0]["lr"] == 0.5      # nothing changed
    with pytest.raises(ValueError, match="1 parameters in the state dict and 2"):
        optim.Adam([nn.Parameter(ac.zeros(2, 2)), nn.Parameter(ac.zeros(2))]).load_state_dict(
            {"state": {}, "param_groups": [{**sd["param_groups"][0], "params": [0]}]})


# ---- schedulers --------------------------------------------------------------------------------


def lrs(scheduler_class, epochs=10, lr=1.0, **kw):
    opt = optim.SGD([param(0.0)], lr=lr)
    sched = scheduler_class(opt, **kw)
    out = [opt.param_groups[0]["lr"]]
    for _ in range(epochs - 1):
        opt.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def test_step_and_multistep_lr():
    assert lrs(L.StepLR, 7, step_size=3, gamma=0.5) == \
        pytest.approx([1, 1, 1, 0.5, 0.5, 0.5, 0.25])
    assert lrs(L.MultiStepLR, 8, milestones=[2, 5], gamma=0.1) == \
        pytest.approx([1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01])


def test_exponential_lambda_cosine_inverse_time_lr():
    assert lrs(L.ExponentialLR, 4, lr=0.2, gamma=0.5) == pytest.approx([0.2, 0.1, 0.05, 0.025])
    assert lrs(L.LambdaLR, 4, lr_lambda=lambda t: min(1.0, (t + 1) / 3)) == \
        pytest.approx([1 / 3, 2 / 3, 1, 1])
    # T_max 4 from 1 to 0.2: 0.2 + 0.8 (1 + cos(pi t / 4)) / 2
    assert lrs(L.CosineAnnealingLR, 5, T_max=4, eta_min=0.2) == pytest.approx(
        [1.0, 0.2 + 0.4 * (1 + math.sqrt(0.5)), 0.6, 0.2 + 0.4 * (1 - math.sqrt(0.5)), 0.2])
    # the lecture notes: alpha = alpha_0 / (1 + decay_rate * epoch)
    assert lrs(L.InverseTimeLR, 4, lr=0.3, decay_rate=0.5) == pytest.approx(
        [0.3, 0.2, 0.15, 0.12])


def test_schedulers_step_from_the_current_rate_and_compose():
    # a rate changed by hand is carried forward, as in PyTorch (not reset to the closed form)
    opt = optim.SGD([param(0.0)], lr=1.0)
    sched = L.StepLR(opt, step_size=3, gamma=0.5)
    sched.step()
    opt.param_groups[0]["lr"] = 0.1
    got = []
    for _ in range(4):
        sched.step()
        got.append(opt.param_groups[0]["lr"])
    assert got == pytest.approx([0.1, 0.05, 0.05, 0.05])
    # two schedulers on one optimizer multiply: 0.9^8 (every epoch) x 0.5^2 (epochs 3 and 6)
    opt = optim.SGD([param(0.0)], lr=0.1)
    exp, step = L.ExponentialLR(opt, 0.9), L.StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(8):
        exp.step()
        step.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.9 ** 8 * 0.5 ** 2, rel=1e-12)
    # ReduceLROnPlateau's cut survives the next StepLR step
    opt = optim.SGD([param(0.0)], lr=1.0)
    step, plateau = L.StepLR(opt, step_size=10), L.ReduceLROnPlateau(opt, patience=0)
    plateau.step(1.0)
    plateau.step(2.0)                               # worse: cut to 0.1
    step.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)


@pytest.mark.parametrize("make", [
    lambda o: L.StepLR(o, step_size=3, gamma=0.5),
    lambda o: L.MultiStepLR(o, milestones=[2, 5, 5], gamma=0.3),
    lambda o: L.ExponentialLR(o, 0.9),
    lambda o: L.CosineAnnealingLR(o, T_max=4, eta_min=0.01),   # 25 epochs: down, up, down...
    lambda o: L.InverseTimeLR(o, 0.5)])
def test_stepwise_rates_equal_the_closed_form_when_left_alone(make):
    opt = optim.SGD([param(0.0)], lr=0.2)
    sched = make(opt)
    for t in range(1, 25):
        sched.step()
        assert opt.param_groups[0]["lr"] == pytest.approx(sched.get_lr()[0], rel=1e-9, abs=1e-12)
    sched.step(3)                                   # a jump: the closed form at epoch 3
    assert sched.last_epoch == 3 and sched.get_last_lr() == pytest.approx(sched.get_lr())


def test_lambda_lr_one_function_per_group_and_state_dict():
    opt = optim.SGD([{"params": [param(0.0)]}, {"params": [param(0.0)], "lr": 2.0}], lr=1.0)
    sched = L.LambdaLR(opt, [lambda t: 0.5 ** t, lambda t: 1 / (t + 1)])
    sched.step()
    sched.step()
    assert sched.get_last_lr() == pytest.approx([0.25, 2 / 3])
    state = sched.state_dict()
    assert "lr_lambdas" not in state and state["last_epoch"] == 2
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        L.LambdaLR(opt, [lambda t: 1.0])


def test_scheduler_resumes_from_its_state_dict():
    opt = optim.SGD([param(0.0)], lr=1.0)
    sched = L.StepLR(opt, step_size=2, gamma=0.5)
    for _ in range(3):
        sched.step()
    opt2 = optim.SGD([param(0.0)], lr=1.0)
    sched2 = L.StepLR(opt2, step_size=2, gamma=0.5)
    sched2.load_state_dict(sched.state_dict())
    opt2.load_state_dict(opt.state_dict())
    sched.step()
    sched2.step()
    assert sched2.get_last_lr() == sched.get_last_lr() == [0.25]


def test_reduce_lr_on_plateau():
    opt = optim.SGD([param(0.0)], lr=1.0)
    sched = L.ReduceLROnPlateau(opt, patience=1, factor=0.5, cooldown=1, min_lr=0.2)
    got = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        sched.step(metric)
        got.append(opt.param_groups[0]["lr"])
    # bad epochs: 0.95 x2 -> halve (epoch 4); cooldown 1 epoch; 2 more bad -> halve (epoch 8);
    # then the floor min_lr = 0.2 holds
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]
    opt2 = optim.SGD([param(0.0)], lr=1.0)
    maxi = L.ReduceLROnPlateau(opt2, mode="max", patience=0, threshold=0.1,
                               threshold_mode="abs")
    for metric in [0.5, 0.55, 0.7]:        # 0.55 is not 0.1 better than 0.5
        maxi.step(metric)
    assert maxi.get_last_lr() == [0.1]
    with pytest.raises(ValueError, match=r"factor must be in \[0, 1\)"):
        L.ReduceLROnPlateau(opt, factor=1.0)


# ---- gradient clipping -------------------------------------------------------------------------


def test_clip_grad_norm():
    a, b = param(0.0, 0.0), param(0.0)
    a.grad, b.grad = ac.tensor([3.0, 0.0], dtype="float64"), ac.tensor([4.0], dtype="float64")
    total = nn.utils.clip_grad_norm_([a, b], max_norm=1.0)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(np.r_[a.grad._data, b.grad._data], [0.6, 0, 0.8], rtol=1e-6)
    assert optim.clip_grad_norm_([a, b], 10.0).item() == pytest.approx(1.0, rel=1e-5)  # no-op
    np.testing.assert_allclose(np.r_[a.grad._data, b.grad._data], [0.6, 0, 0.8], rtol=1e-6)
    a.grad = ac.tensor([-3.0, 1.0], dtype="float64")
    assert nn.utils.clip_grad_norm_([a], 1.0, norm_type=float("inf")).item() == 3.0
    np.testing.assert_allclose(a.grad._data, [-1.0, 1 / 3], rtol=1e-6)
    a.grad = ac.tensor([float("nan"), 1.0], dtype="float64")
    with pytest.raises(RuntimeError, match="non-finite|is nan"):
        nn.utils.clip_grad_norm_([a], 1.0, error_if_nonfinite=True)
    assert np.isnan(nn.utils.clip_grad_norm_([a], 1.0).item())


def test_clip_grad_value():
    a = param(0.0, 0.0, 0.0)
    a.grad = ac.tensor([-3.0, 0.5, 2.0], dtype="float64")
    optim.clip_grad_value_([a], 1.0)
    np.testing.assert_array_equal(a.grad._data, [-1.0, 0.5, 1.0])
