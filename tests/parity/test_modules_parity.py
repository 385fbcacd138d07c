"""Layers, losses and optimisers against PyTorch 2.13 on the same weights and inputs, in float64
and float32: layer outputs, input and parameter gradients, updated buffers (BatchNorm's running
statistics); loss values and gradients for every reduction; parameters after a few optimiser
steps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.functional as F

DTYPES = [pytest.param(np.float64, id="float64"), pytest.param(np.float32, id="float32")]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=1e-4, atol=2e-5)}
TNN = torch.nn


class _TorchLeNet5Modern(TNN.Module):
    """lenet5(modern=True) written in PyTorch with our state_dict keys: its conv + ReLU pairs run
    through F.conv2d_relu on our side (models/_utils.run_sequential), PyTorch's as two ops."""

    def __init__(self):
        super().__init__()
        self.features = TNN.Sequential(TNN.Conv2d(1, 6, 5), TNN.ReLU(), TNN.MaxPool2d(2),
                                       TNN.Conv2d(6, 16, 5), TNN.ReLU(), TNN.MaxPool2d(2))
        self.flatten = TNN.Flatten()
        self.classifier = TNN.Sequential(TNN.Linear(400, 120), TNN.ReLU(), TNN.Linear(120, 84),
                                         TNN.ReLU(), TNN.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.flatten(self.features(x)))


def _t(a, requires_grad=False):
    return torch.tensor(np.asarray(a), requires_grad=requires_grad)


def _copy_state(ours, theirs, dtype):
    """PyTorch module <- our module's parameters and buffers (same names, same shapes)."""
    state = {k: torch.from_numpy(np.array(v.numpy() if not v.requires_grad else
                                          v.detach().numpy()))
             for k, v in ours.state_dict().items()}
    theirs.to(torch.float64 if dtype == np.float64 else torch.float32)
    theirs.load_state_dict(state)


LAYERS = [
    ("Linear", lambda: nn.Linear(5, 3), lambda: TNN.Linear(5, 3), (4, 5)),
    ("Conv2d", lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1),
     lambda: TNN.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 6)),
    ("Conv2d_groups_dilation", lambda: nn.Conv2d(4, 6, 3, groups=2, dilation=2, bias=False),
     lambda: TNN.Conv2d(4, 6, 3, groups=2, dilation=2, bias=False), (1, 4, 8, 8)),
    ("Conv2d_same", lambda: nn.Conv2d(2, 3, 4, padding="same"),
     lambda: TNN.Conv2d(2, 3, 4, padding="same"), (1, 2, 5, 6)),
    ("ConvTranspose2d", lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                   output_padding=1),
     lambda: TNN.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    ("Conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1),
     lambda: TNN.Conv1d(3, 4, 3, stride=2, padding=1), (2, 3, 9)),
    ("MaxPool2d", lambda: nn.MaxPool2d(3, 2, 1), lambda: TNN.MaxPool2d(3, 2, 1), (2, 3, 7, 7)),
    ("MaxPool2d_ceil", lambda: nn.MaxPool2d(2, ceil_mode=True),
     lambda: TNN.MaxPool2d(2, ceil_mode=True), (1, 2, 5, 5)),
    ("AvgPool2d", lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
     lambda: TNN.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 3, 7, 6)),
    ("AdaptiveAvgPool2d", lambda: nn.AdaptiveAvgPool2d((3, 2)),
     lambda: TNN.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5)),
    ("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d(3), lambda: TNN.AdaptiveMaxPool2d(3),
     (2, 3, 7, 5)),
    ("MaxPool1d", lambda: nn.MaxPool1d(3, 2), lambda: TNN.MaxPool1d(3, 2), (2, 3, 9)),
    ("AvgPool1d", lambda: nn.AvgPool1d(2), lambda: TNN.AvgPool1d(2), (2, 3, 9)),
    ("BatchNorm1d", lambda: nn.BatchNorm1d(4), lambda: TNN.BatchNorm1d(4), (5, 4)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(3), lambda: TNN.BatchNorm2d(3), (4, 3, 3, 2)),
    ("LayerNorm", lambda: nn.LayerNorm((3, 4)), lambda: TNN.LayerNorm((3, 4)), (2, 3, 4)),
    ("GroupNorm", lambda: nn.GroupNorm(2, 4), lambda: TNN.GroupNorm(2, 4), (3, 4, 2, 3)),
    ("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), lambda: TNN.LocalResponseNorm(3),
     (2, 5, 3, 3)),
    ("PReLU", lambda: nn.PReLU(3), lambda: TNN.PReLU(3), (2, 3, 4)),
    ("Upsample_nearest", lambda: nn.Upsample(scale_factor=2),
     lambda: TNN.Upsample(scale_factor=2), (1, 2, 3, 4)),
    ("Upsample_bilinear", lambda: nn.Upsample(size=(5, 7), mode="bilinear"),
     lambda: TNN.Upsample(size=(5, 7), mode="bilinear"), (1, 2, 3, 4)),
    ("Upsample_bicubic", lambda: nn.Upsample(scale_factor=1.5, mode="bicubic"),
     lambda: TNN.Upsample(scale_factor=1.5, mode="bicubic"), (1, 2, 3, 4)),
    ("Upsample_linear", lambda: nn.Upsample(scale_factor=2.5, mode="linear",
                                            align_corners=True),
     lambda: TNN.Upsample(scale_factor=2.5, mode="linear", align_corners=True), (1, 2, 5)),
    ("PixelShuffle", lambda: nn.PixelShuffle(2), lambda: TNN.PixelShuffle(2), (1, 8, 2, 3)),
    ("Flatten", lambda: nn.Flatten(), lambda: TNN.Flatten(), (2, 3, 4)),
    ("Softmax", lambda: nn.Softmax(dim=1), lambda: TNN.Softmax(dim=1), (2, 5)),
    ("LogSoftmax", lambda: nn.LogSoftmax(dim=-1), lambda: TNN.LogSoftmax(dim=-1), (2, 5)),
    ("GELU", lambda: nn.GELU(), lambda: TNN.GELU(), (3, 4)),
    ("SiLU", lambda: nn.SiLU(), lambda: TNN.SiLU(), (3, 4)),
    ("Mish", lambda: nn.Mish(), lambda: TNN.Mish(), (3, 4)),
    ("ELU", lambda: nn.ELU(0.5), lambda: TNN.ELU(0.5), (3, 4)),
    ("Softplus", lambda: nn.Softplus(beta=2), lambda: TNN.Softplus(beta=2), (3, 4)),
    ("LeNet5_modern_fused_conv_relu", lambda: ac.models.lenet5(modern=True), _TorchLeNet5Modern,
     (3, 1, 32, 32)),
    ("Sequential", lambda: nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.ReLU(),
                                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 2)),
     lambda: TNN.Sequential(TNN.Conv2d(2, 3, 3), TNN.BatchNorm2d(3), TNN.ReLU(),
                            TNN.MaxPool2d(2), TNN.Flatten(), TNN.Linear(12, 2)), (2, 2, 6, 6)),
]


@pytest.mark.parametrize("train", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours_fn,theirs_fn,shape", LAYERS, ids=[s[0] for s in LAYERS])
def test_layer_matches_pytorch(name, ours_fn, theirs_fn, shape, dtype, train):
    ac.manual_seed(0)
    ours = ours_fn()
    if dtype == np.float64:
        ours.double()
    theirs = theirs_fn()
    _copy_state(ours, theirs, dtype)
    ours.train(train)
    theirs.train(train)
    rng = np.random.default_rng(5)
    x = rng.standard_normal(shape).astype(dtype)
    xo, xt = ac.tensor(x, requires_grad=True), _t(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    tol = TOL[dtype]
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy(), **tol,
                               err_msg=f"{name}: output")
    proj = rng.standard_normal(yo.shape).astype(dtype)
    yo.backward(ac.tensor(proj))
    yt.backward(torch.from_numpy(proj))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **tol,
                               err_msg=f"{name}: input gradient")
    tp = dict(theirs.named_parameters())
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tp[k].grad.numpy(), **tol,
                                   err_msg=f"{name}: gradient of {k}")
    tb = dict(theirs.named_buffers())
    for k, b in ours.named_buffers():
        np.testing.assert_allclose(b.numpy(), tb[k].numpy(), **tol, err_msg=f"{name}: {k}")


def test_embedding_matches_pytorch():
    ac.manual_seed(0)
    ours = nn.Embedding(6, 3, padding_idx=2).double()
    theirs = TNN.Embedding(6, 3, padding_idx=2)
    _copy_state(ours, theirs, np.float64)
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    yo, yt = ours(ac.tensor(idx)), theirs(torch.from_numpy(idx))
    np.testing.assert_allclose(yo.detach().numpy(), yt.detach().numpy())
    proj = np.random.default_rng(0).standard_normal(yo.shape)
    yo.backward(ac.tensor(proj))
    yt.backward(torch.from_numpy(proj))
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-12)


# ---- losses ----------------------------------------------------------------------------------

N, C = 5, 4
_rng = np.random.default_rng(7)
LOGITS = _rng.standard_normal((N, C))
CLASSES = np.array([0, 3, 1, 1, 2])
PROBS = np.exp(LOGITS[::-1]) / np.exp(LOGITS[::-1]).sum(1, keepdims=True)
REAL = _rng.standard_normal((N, C))
UNIT = _rng.uniform(0.05, 0.95, (N, C))
BINARY = (_rng.uniform(size=(N, C)) > 0.5).astype(np.float64)
CW = np.array([1.0, 2.0, 0.5, 1.5])
IMG_LOGITS = _rng.standard_normal((2, C, 3, 2))
IMG_CLASSES = np.array([[[0, 1], [3, 3], [2, 0]], [[1, 1], [0, 2], [3, -100]]])

# name, ours(input, *targets), theirs(input, *targets), input, targets (numpy; float targets
# take the input's dtype)
LOSSES = [
    ("cross_entropy", F.cross_entropy, TNN.functional.cross_entropy, LOGITS, (CLASSES,), {}),
    ("cross_entropy_weight_smoothing", F.cross_entropy, TNN.functional.cross_entropy, LOGITS,
     (CLASSES,), dict(weight=CW, label_smoothing=0.1)),
    ("cross_entropy_probs", F.cross_entropy, TNN.functional.cross_entropy, LOGITS, (PROBS,),
     {}),
    ("cross_entropy_2d_ignore", F.cross_entropy, TNN.functional.cross_entropy, IMG_LOGITS,
     (IMG_CLASSES,), dict(weight=CW)),
    ("nll_loss", F.nll_loss, TNN.functional.nll_loss, LOGITS, (CLASSES,), dict(weight=CW)),
    ("mse_loss", F.mse_loss, TNN.functional.mse_loss, REAL, (LOGITS,), {}),
    ("l1_loss", F.l1_loss, TNN.functional.l1_loss, REAL, (LOGITS,), {}),
    ("smooth_l1_loss", F.smooth_l1_loss, TNN.functional.smooth_l1_loss, REAL, (LOGITS,),
     dict(beta=0.5)),
    ("huber_loss", F.huber_loss, TNN.functional.huber_loss, REAL, (LOGITS,), dict(delta=0.7)),
    ("binary_cross_entropy", F.binary_cross_entropy, TNN.functional.binary_cross_entropy, UNIT,
     (BINARY,), {}),
    ("bce_with_logits", F.binary_cross_entropy_with_logits,
     TNN.functional.binary_cross_entropy_with_logits, REAL, (UNIT,),
     dict(pos_weight=CW)),
    ("multi_margin_loss", F.multi_margin_loss, TNN.functional.multi_margin_loss, LOGITS,
     (CLASSES,), dict(margin=0.8)),
    ("multi_margin_loss_p2", F.multi_margin_loss, TNN.functional.multi_margin_loss, LOGITS,
     (CLASSES,), dict(p=2, weight=CW)),
    ("kl_div", F.kl_div, TNN.functional.kl_div, np.log(PROBS), (UNIT,), {}),
    ("kl_div_log_target", F.kl_div, TNN.functional.kl_div, np.log(PROBS), (np.log(UNIT),),
     dict(log_target=True)),
    ("triplet_margin_loss", F.triplet_margin_loss, TNN.functional.triplet_margin_loss, REAL,
     (LOGITS, UNIT), dict(margin=0.5)),
]


def _target(t, dtype):
    return t.astype(dtype) if t.dtype.kind == "f" else t


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,ours_fn,theirs_fn,x,targets,kwargs", LOSSES,
                         ids=[s[0] for s in LOSSES])
def test_loss_matches_pytorch(name, ours_fn, theirs_fn, x, targets, kwargs, dtype, reduction):
    if name.startswith("kl_div") and reduction == "mean":
        reduction = "batchmean"              # PyTorch warns on 'mean' (the sum / numel)
    x = x.astype(dtype)
    tg = [_target(t, dtype) for t in targets]
    kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    xo, xt = ac.tensor(x, requires_grad=True), _t(x, requires_grad=True)
    lo = ours_fn(xo, *[ac.tensor(t) for t in tg], reduction=reduction,
                 **{k: ac.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    lt = theirs_fn(xt, *[_t(t) for t in tg], reduction=reduction,
                   **{k: _t(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    tol = TOL[dtype]
    np.testing.assert_allclose(lo.detach().numpy(), lt.detach().numpy(), **tol,
                               err_msg=f"{name}: value")
    proj = np.random.default_rng(1).standard_normal(lo.shape).astype(dtype)
    lo.backward(ac.tensor(proj))
    lt.backward(torch.from_numpy(proj))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **tol,
                               err_msg=f"{name}: gradient")


# ---- optimisers: a few steps on the same model and data ----------------------------------------

OPTIMISERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=1e-2)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.1, amsgrad=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name,kwargs", OPTIMISERS,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}"
                              for n, kw in OPTIMISERS])
def test_optimiser_matches_pytorch(name, kwargs, dtype):
    ac.manual_seed(0)
    ours = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
    if dtype == np.float64:
        ours.double()
    theirs = TNN.Sequential(TNN.Linear(4, 6), TNN.Tanh(), TNN.Linear(6, 3))
    _copy_state(ours, theirs, dtype)
    opt_o = getattr(ac.optim, name)(ours.parameters(), **kwargs)
    opt_t = getattr(torch.optim, name)(theirs.parameters(), **kwargs)
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = rng.standard_normal((8, 4)).astype(dtype)
        y = rng.integers(0, 3, 8)
        opt_o.zero_grad()
        F.cross_entropy(ours(ac.tensor(x)), ac.tensor(y)).backward()
        opt_o.step()
        opt_t.zero_grad()
        TNN.functional.cross_entropy(theirs(_t(x)), _t(y)).backward()
        opt_t.step()
    tp = dict(theirs.named_parameters())
    for k, p in ours.named_parameters():
        np.testing.assert_allclose(p.detach().numpy(), tp[k].detach().numpy(), **TOL[dtype],
                                   err_msg=f"{name}: {k} after 5 steps")
