"""The ResNet paper's plain baselines (shortcut=False) and models.deep_cnn (the 20-layer plain or
residual CNN of the vanishing-gradient notebook)."""

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import models
from autograd_cnn.models.resnet import BasicBlock, Bottleneck


def _keys(model):
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_resnet18_shortcut_true_keeps_keys_and_false_drops_the_projections():
    with_shortcut = models.resnet18(shortcut=True)
    assert _keys(with_shortcut) == _keys(models.resnet18())
    assert "layer2.0.downsample.0.weight" in _keys(with_shortcut)
    plain = models.resnet18(shortcut=False)
    assert not [k for k in _keys(plain) if "downsample" in k]
    assert set(_keys(plain)) < set(_keys(with_shortcut))
    # 11,689,512 less the three projections: 1x1 convs 64*128 + 128*256 + 256*512 = 172,032
    # weights and their BatchNorms 2 * (128 + 256 + 512) = 1,792
    assert sum(p.numel() for p in plain.parameters()) == 11_689_512 - 172_032 - 1_792


def test_plain_block_has_no_identity_path():
    ac.manual_seed(0)
    x = ac.rand(2, 4, 5, 5)
    for shortcut, expected in ((True, np.maximum(x.numpy(), 0)), (False, np.zeros((2, 4, 5, 5)))):
        block = BasicBlock(4, 4, shortcut=shortcut)
        nn.init.zeros_(block.bn2.weight)              # the residual branch outputs 0
        block.eval()
        np.testing.assert_allclose(block(x).detach().numpy(), expected, atol=1e-7)
    out = Bottleneck(8, 2, stride=2, shortcut=False)(ac.rand(1, 8, 6, 6))
    assert out.shape == (1, 8, 3, 3)


def test_cifar_plain_resnet_has_the_same_parameters():
    ac.manual_seed(0)
    plain, residual = models.resnet20(shortcut=False), models.resnet20()
    assert _keys(plain) == _keys(residual)
    assert sum(p.numel() for p in plain.parameters()) == 269_722     # option A: no parameters
    plain.load_state_dict(residual.state_dict())
    x = ac.rand(2, 3, 32, 32)
    plain.eval(), residual.eval()
    a, b = plain(x).detach().numpy(), residual(x).detach().numpy()
    assert a.shape == (2, 10) and not np.allclose(a, b)
    assert models.resnet50(shortcut=False).layer1[0].downsample is None


def test_shortcut_errors():
    with pytest.raises(ValueError, match="shortcut=False has no shortcut to downsample"):
        BasicBlock(4, 8, downsample=nn.Identity(), shortcut=False)
    with pytest.raises(TypeError, match="shortcut must be True or False, got 'no'"):
        models.resnet20(shortcut="no")


def test_deep_cnn_plain_and_residual_share_parameters():
    ac.manual_seed(0)
    plain = models.deep_cnn(20)
    residual = models.deep_cnn(20, residual=True)
    assert _keys(plain) == _keys(residual)
    # stem 1*8*9 + 8, 18 blocks of 8*8*9 + 8, fc 8*10 + 10
    assert sum(p.numel() for p in plain.parameters()) == 80 + 18 * 584 + 90
    assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in plain.modules()) == 20
    residual.load_state_dict(plain.state_dict())
    x = ac.rand(2, 1, 8, 8)
    assert plain(x).shape == (2, 10) and not np.allclose(plain(x).detach().numpy(),
                                                         residual(x).detach().numpy())


@pytest.mark.parametrize("init, std", [("naive", 0.01), ("xavier", np.sqrt(2 / 144)),
                                       ("he", np.sqrt(2 / 72))])
def test_deep_cnn_initialisations(init, std):
    ac.manual_seed(0)
    model = models.deep_cnn(20, init=init)
    w = np.concatenate([b.conv.weight.detach().numpy().ravel() for b in model.blocks])
    assert w.std() == pytest.approx(std, rel=0.05)
    assert all(np.all(b.conv.bias.detach().numpy() == 0) for b in model.blocks)


def test_deep_cnn_errors():
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'sigmoid', "
                                         r"'tanh'\], got 'gelu'"):
        models.deep_cnn(activation="gelu")
    with pytest.raises(ValueError, match="init must be one of .* got 'orthogonal'"):
        models.deep_cnn(init="orthogonal")
    with pytest.raises(ValueError, match="depth"):
        models.deep_cnn(depth=2)
