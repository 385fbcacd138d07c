"""The model zoo: parameter counts from the papers, torchvision's state_dict keys and shapes
(checked-in lists, no torch needed), the architectures' structure, initialisation, errors, and one
training step of every model at a reduced size. The full-size forward+backward runs are marked
slow (they still run in CI)."""

import json
from pathlib import Path

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import models as M
from autograd_cnn.models.lenet import (C3_TABLE, DIGIT_BITMAPS, ConnectionTableConv2d,
                                       ScaledTanh, Subsampling)
from autograd_cnn.models.resnet import ShortcutA

TORCHVISION = json.loads((Path(__file__).parent / "data" /
                          "torchvision_state_dicts.json").read_text())


def n_params(model, trainable=None) -> int:
    return sum(p.numel() for p in model.parameters()
               if trainable is None or p.requires_grad == trainable)


# ---- torchvision's keys and shapes, and the papers' parameter counts -------------------------

# name -> (builder, parameter count given by the issue / the papers)
TORCHVISION_MODELS = {
    "alexnet": (M.alexnet, 61_100_840),
    "vgg11": (lambda: M.vgg11(), 132_863_336),
    "vgg13": (lambda: M.vgg13(), 133_047_848),
    "vgg16": (lambda: M.vgg16(), 138_357_544),
    "vgg19": (lambda: M.vgg19(), 143_667_240),
    "vgg11_bn": (lambda: M.vgg11(batch_norm=True), 132_868_840),
    "vgg13_bn": (lambda: M.vgg13(batch_norm=True), 133_053_736),
    "vgg16_bn": (lambda: M.vgg16(batch_norm=True), 138_365_992),
    "vgg19_bn": (lambda: M.vgg19(batch_norm=True), 143_678_248),
    "resnet18": (M.resnet18, 11_689_512),
    "resnet34": (M.resnet34, 21_797_672),
    "resnet50": (M.resnet50, 25_557_032),
    "resnet101": (M.resnet101, 44_549_160),
    "resnet152": (M.resnet152, 60_192_808),
}


def test_every_checked_in_torchvision_model_is_covered():
    assert set(TORCHVISION) - {"_source"} == set(TORCHVISION_MODELS)


@pytest.mark.parametrize("name", sorted(TORCHVISION_MODELS))
def test_state_dict_keys_shapes_and_count_equal_torchvision(name):
    build, expected = TORCHVISION_MODELS[name]
    model = build()
    ours = [[k, list(v.shape)] for k, v in model.state_dict().items()]
    assert ours == TORCHVISION[name]["keys"]            # same keys, same order, same shapes
    assert n_params(model) == expected == TORCHVISION[name]["params"]


def test_resnet_stride_in_1x1_keeps_the_keys_and_moves_the_stride():
    tv, paper = M.resnet50(), M.resnet50(stride_in_1x1=True)
    assert [(k, v.shape) for k, v in tv.state_dict().items()] == \
        [(k, v.shape) for k, v in paper.state_dict().items()]
    for stage in ("layer2", "layer3", "layer4"):
        a, b = tv.get_submodule(stage + ".0"), paper.get_submodule(stage + ".0")
        assert (a.conv1.stride, a.conv2.stride) == ((1, 1), (2, 2))          # torchvision
        assert (b.conv1.stride, b.conv2.stride) == ((2, 2), (1, 1))          # the paper
        assert a.downsample[0].stride == b.downsample[0].stride == (2, 2)
    assert paper.layer1[0].conv1.stride == (1, 1)


PAPER_COUNTS = [
    ("lenet5", lambda: M.lenet5(), 61_706),
    ("lenet5 modern", lambda: M.lenet5(modern=True), 61_706),
    ("alexnet_paper", lambda: M.alexnet_paper(), 60_965_224),
    ("zfnet", lambda: M.zfnet(), 62_357_608),
    ("vgg A-LRN", lambda: M.vgg("A-LRN"), 132_863_336),
    ("vgg C", lambda: M.vgg("C"), 133_638_952),
    ("googlenet", lambda: M.googlenet(), 6_998_552),
    ("googlenet aux", lambda: M.googlenet(aux_logits=True), 6_998_552 + 3_188_840 + 3_190_888),
    ("resnet20", lambda: M.resnet20(), 269_722),
    ("resnet32", lambda: M.resnet32(), 464_154),
    ("resnet44", lambda: M.resnet44(), 658_586),
    ("resnet56", lambda: M.resnet56(), 853_018),
    ("resnet110", lambda: M.resnet110(), 1_727_962),
]


@pytest.mark.parametrize("name,build,expected", PAPER_COUNTS, ids=[c[0] for c in PAPER_COUNTS])
def test_parameter_counts_of_the_papers(name, build, expected):
    assert n_params(build()) == expected


def test_vgg_configurations_a_and_a_lrn_differ_only_by_the_lrn():
    a, lrn = M.vgg("A", width_mult=1 / 16), M.vgg("a-lrn", width_mult=1 / 16)
    kinds = [type(m).__name__ for m in lrn.features]
    assert kinds[:4] == ["Conv2d", "ReLU", "LocalResponseNorm", "MaxPool2d"]
    assert [type(m).__name__ for m in a.features] == kinds[:2] + kinds[3:]


def test_vgg_configuration_c_has_1x1_convolutions_where_d_has_3x3():
    c, d = M.vgg("C", width_mult=1 / 16), M.vgg("D", width_mult=1 / 16)
    kc = [m.kernel_size for m in c.features if isinstance(m, nn.Conv2d)]
    kd = [m.kernel_size for m in d.features if isinstance(m, nn.Conv2d)]
    assert len(kc) == len(kd) == 13
    ones = [i for i, k in enumerate(kc) if k == (1, 1)]
    assert ones == [6, 9, 12]                       # the last conv of stages 3, 4, 5
    assert all(k == (3, 3) for k in kd)
    assert [m.padding for m in c.features if isinstance(m, nn.Conv2d)][6] == (0, 0)


def test_vgg_weight_layers_per_configuration():
    depth = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}
    for config, layers in depth.items():
        model = M.vgg(config, width_mult=1 / 32)
        assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules()) == layers


# ---- LeNet-5 -------------------------------------------------------------------------------------

def test_lenet5_1998_has_the_papers_per_layer_counts_and_60000_trainable():
    model = M.lenet5_1998()
    per_layer = {name: sum(p.numel() for p in m.parameters())
                 for name, m in model.named_children() if list(m.parameters())}
    assert per_layer == {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120,
                         "f6": 10_164, "output": 840}
    assert n_params(model, trainable=True) == 60_000
    assert n_params(model, trainable=False) == 840          # the fixed RBF codes
    assert model.output.weight.requires_grad is False


def test_lenet5_1998_c3_connection_table_is_the_papers():
    assert len(C3_TABLE) == 16 and sum(len(r) for r in C3_TABLE) == 60
    assert [len(r) for r in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    # Table I: map 0 reads 0,1,2; map 4 reads 0,4,5 (wrapping); map 14 reads 0,2,3,5
    assert C3_TABLE[0] == (0, 1, 2) and C3_TABLE[4] == (0, 4, 5) and C3_TABLE[14] == (0, 2, 3, 5)
    # each S2 map feeds exactly 10 C3 maps (the table's row sums)
    assert [sum(c in r for r in C3_TABLE) for c in range(6)] == [10] * 6


@pytest.mark.nojit
def test_connection_table_conv_reads_only_the_listed_maps():
    conv = ConnectionTableConv2d(C3_TABLE, 5).double()
    x = ac.randn(1, 6, 9, 9, dtype=ac.float64, requires_grad=True)
    out = conv(x)
    assert out.shape == (1, 16, 5, 5)
    for k, inputs in enumerate(C3_TABLE):
        (g,) = ac.grad(out[:, k].sum(), [x], retain_graph=True)
        reads = [c for c in range(6) if np.abs(g._data[0, c]).sum() > 0]
        assert reads == sorted(inputs), f"map {k}"


@pytest.mark.nojit
def test_subsampling_is_coefficient_times_window_sum_plus_bias_and_gradchecks():
    s = Subsampling(3).double()
    with ac.no_grad():
        s.weight.copy_(np.array([0.5, -1.0, 2.0]))
        s.bias.copy_(np.array([0.1, 0.2, 0.3]))
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 6))
    sums = x.reshape(2, 3, 2, 2, 3, 2).sum(axis=(3, 5))
    expected = sums * s.weight._data[:, None, None] + s.bias._data[:, None, None]
    np.testing.assert_allclose(s(ac.tensor(x)).detach().numpy(), expected, rtol=1e-12)
    # gradcheck perturbs the parameters in place, so the module sees every perturbation
    xt = ac.tensor(x, requires_grad=True)
    assert ac.gradcheck(lambda x, w, b: s(x), [xt, s.weight, s.bias])


def test_scaled_tanh_maps_plus_minus_one_to_itself():
    f = ScaledTanh()
    y = f(ac.tensor([-1.0, 0.0, 1.0], dtype=ac.float64)).numpy()
    np.testing.assert_allclose(y, [-1.0, 0.0, 1.0], atol=2e-4)     # 1.7159 tanh(2/3) = 1.00002
    assert ac.gradcheck(lambda x: f(x), [ac.randn(5, dtype=ac.float64, requires_grad=True)])


def test_rbf_codes_are_the_digit_bitmaps_and_stay_fixed_in_training():
    assert len(DIGIT_BITMAPS) == 10
    assert all(len(d) == 12 and all(len(row) == 7 for row in d) for d in DIGIT_BITMAPS)
    model = M.lenet5_1998()
    codes = model.output.weight._data.copy()
    assert codes.shape == (10, 84) and set(np.unique(codes)) == {-1.0, 1.0}
    assert len({c.tobytes() for c in codes}) == 10                  # ten different codes
    opt = ac.optim.SGD(model.parameters(), lr=0.1)
    loss = F.cross_entropy(model(ac.randn(4, 1, 32, 32)), ac.tensor([0, 1, 2, 3]))
    loss.backward()
    opt.step()
    np.testing.assert_array_equal(model.output.weight._data, codes)
    assert model.output.weight.grad is None


def test_lenet5_1998_scores_are_negated_rbf_penalties():
    model = M.lenet5_1998().eval()
    x = ac.randn(3, 1, 32, 32)
    with ac.no_grad():
        penalties = model.penalties(x).numpy()
        scores = model(x).numpy()
    assert (penalties >= 0).all()
    np.testing.assert_allclose(scores, -penalties)


def test_lenet5_textbook_and_modern_layers():
    kinds = [type(m).__name__ for m in M.lenet5().features]
    assert kinds == ["Conv2d", "Tanh", "AvgPool2d", "Conv2d", "Tanh", "AvgPool2d"]
    kinds = [type(m).__name__ for m in M.lenet5(modern=True).features]
    assert kinds == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d"]
    assert M.lenet5(num_classes=26, in_channels=3).features[0].weight.shape == (6, 3, 5, 5)


# ---- AlexNet, ZFNet, GoogLeNet -------------------------------------------------------------------

def test_alexnet_paper_towers():
    model = M.alexnet_paper()
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.groups for c in convs] == [1, 2, 1, 2, 2]          # conv3 crosses the towers
    assert [tuple(c.weight.shape) for c in convs] == [
        (96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3), (256, 192, 3, 3)]
    lrn = [i for i, m in enumerate(model.features) if isinstance(m, nn.LocalResponseNorm)]
    assert len(lrn) == 2 and model.features[lrn[0]].k == 2.0
    # paper init: biases 1 in conv2, conv4, conv5 and the hidden fc layers, 0 in conv1, conv3
    assert [float(c.bias._data.mean()) for c in convs] == [0.0, 1.0, 0.0, 1.0, 1.0]
    fcs = [m for m in model.classifier if isinstance(m, nn.Linear)]
    assert [float(f.bias._data.mean()) for f in fcs] == [1.0, 1.0, 0.0]
    assert abs(float(fcs[0].weight._data.std()) - 0.01) < 1e-4


def test_zfnet_first_layer_is_7x7_stride_2():
    model = M.zfnet(width_mult=1 / 16)
    conv1 = model.features[0]
    assert conv1.kernel_size == (7, 7) and conv1.stride == (2, 2)
    assert model.features[4].stride == (2, 2)                    # conv2 at stride 2


def test_googlenet_inception_widths_follow_table_1():
    model = M.googlenet()
    outs = [getattr(model, "inception" + n).out_channels
            for n in ("3a", "3b", "4a", "4b", "4c", "4d", "4e", "5a", "5b")]
    assert outs == [256, 480, 512, 512, 512, 528, 832, 832, 1024]
    m = model.inception3a
    assert m.branch3[1][0].kernel_size == (5, 5)                 # a real 5x5 branch
    assert m.branch4[0].stride == (1, 1) and m.branch4[1][0].kernel_size == (1, 1)
    assert not any(isinstance(x, nn.BatchNorm2d) for x in model.modules())
    assert model.aux1 is None and model.aux2 is None


def test_inception_module_on_its_own():
    m = M.Inception(192, 64, 96, 128, 16, 32, 32)
    assert m.out_channels == 256
    assert m(ac.randn(1, 192, 7, 7)).shape == (1, 256, 7, 7)


def test_googlenet_aux_heads_only_in_training():
    model = M.googlenet(num_classes=7, aux_logits=True, width_mult=1 / 16, dropout=0.0,
                        dropout_aux=0.0)
    out = model(ac.randn(1, 3, 224, 224))
    assert isinstance(out, M.GoogLeNetOutputs)
    assert [o.shape for o in out] == [(1, 7)] * 3
    model.eval()
    assert model(ac.randn(1, 3, 224, 224)).shape == (1, 7)


# ---- ResNets -------------------------------------------------------------------------------------

def test_resnet_init_as_torchvision():
    model = M.resnet18()
    w = model.layer4[0].conv2.weight._data                     # 512 x 512 x 3 x 3
    assert abs(float(w.std()) - np.sqrt(2 / (512 * 9))) < 0.01 * np.sqrt(2 / (512 * 9))
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert (m.weight._data == 1).all() and (m.bias._data == 0).all()
    zero = M.resnet50(zero_init_residual=True, width_mult=1 / 8)
    assert all((b.bn3.weight._data == 0).all() for b in zero.modules()
               if isinstance(b, M.Bottleneck))
    zero = M.resnet18(zero_init_residual=True, width_mult=1 / 8)
    assert all((b.bn2.weight._data == 0).all() for b in zero.modules()
               if isinstance(b, M.BasicBlock))


def test_vgg_init_as_torchvision():
    model = M.vgg11(width_mult=1 / 8)
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert (m.bias._data == 0).all()
    fc = model.classifier[3]
    assert abs(float(fc.weight._data.std()) - 0.01) < 5e-4


def test_cifar_resnets_have_6n_plus_2_layers_and_parameter_free_shortcuts():
    for depth, build in ((20, M.resnet20), (32, M.resnet32), (44, M.resnet44),
                         (56, M.resnet56), (110, M.resnet110)):
        model = build()
        assert sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules()) == depth
        shortcuts = [m for m in model.modules() if isinstance(m, ShortcutA)]
        assert len(shortcuts) == 2 and all(not list(s.parameters()) for s in shortcuts)


@pytest.mark.nojit
def test_option_a_shortcut_subsamples_and_zero_pads():
    x = ac.randn(2, 3, 5, 5)
    y = ShortcutA(3, 8, 2)(x)
    assert y.shape == (2, 8, 3, 3)
    np.testing.assert_array_equal(y.numpy()[:, :3], x.numpy()[:, :, ::2, ::2])
    assert (y.numpy()[:, 3:] == 0).all()


def test_cifar_resnet_output_and_stage_sizes():
    model = M.resnet20()
    x = model.relu(model.bn1(model.conv1(ac.randn(2, 3, 32, 32))))
    sizes = []
    for stage in (model.layer1, model.layer2, model.layer3):
        x = stage(x)
        sizes.append(x.shape[1:])
    assert sizes == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]


# ---- blocks and U-Net ----------------------------------------------------------------------------

def test_depthwise_separable_parameter_counts():
    block = M.DepthwiseSeparableConv2d(3, 256, 5, padding=0, batch_norm=False,
                                       activation=False, bias=False)
    assert block.depthwise.weight.shape == (3, 1, 5, 5)
    assert block.pointwise.weight.shape == (256, 3, 1, 1)
    assert n_params(block) == 3 * 25 + 256 * 3                 # vs 256 * 3 * 25 for one conv
    assert block(ac.randn(1, 3, 12, 12)).shape == (1, 256, 8, 8)
    mobile = M.DepthwiseSeparableConv2d(8, 16)
    assert mobile.depthwise.bias is None and isinstance(mobile.bn1, nn.BatchNorm2d)
    assert mobile(ac.randn(2, 8, 6, 6)).shape == (2, 16, 6, 6)


def test_1x1_convolution_is_the_lectures_pixelwise_scaling():
    # the notes' example: a 4x4 map convolved with the 1x1 kernel [2] doubles every value
    image = np.array([[6, 5, 3, 2], [4, 1, 9, 5], [5, 8, 2, 4], [0, 3, 6, 1]], np.float32)
    conv = M.conv1x1(1, 1, bias=False)
    with ac.no_grad():
        conv.weight.fill_(2.0)
    out = conv(ac.tensor(image[None, None])).detach()
    np.testing.assert_array_equal(out.numpy()[0, 0], [[12, 10, 6, 4], [8, 2, 18, 10],
                                                      [10, 16, 4, 8], [0, 6, 12, 2]])


def test_nin_block_is_a_conv_and_two_1x1_convs():
    block = M.NiNBlock(3, 16, kernel_size=5, padding=2)
    convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(5, 5), (1, 1), (1, 1)]
    assert sum(isinstance(m, nn.ReLU) for m in block.modules()) == 3
    assert block(ac.randn(1, 3, 8, 8)).shape == (1, 16, 8, 8)


def test_unet_keeps_the_size_and_concatenates_skips():
    model = M.unet(in_channels=3, num_classes=4, base_channels=4, depth=3)
    assert len(model.upsample) == 3
    assert all(isinstance(m, nn.ConvTranspose2d) for m in model.upsample)
    # each decoder block takes the upsampled maps and the skip side by side: 2C channels
    assert [b.block[0].in_channels for b in model.up] == [32, 16, 8]
    assert model(ac.randn(2, 3, 16, 24)).shape == (2, 4, 16, 24)


# ---- errors --------------------------------------------------------------------------------------

@pytest.mark.nojit
def test_bad_arguments_raise_clear_errors():
    with pytest.raises(ValueError, match="num_classes must be at least 1"):
        M.resnet18(num_classes=0)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        M.lenet5(num_classes=10.0)
    with pytest.raises(ValueError, match="unknown configuration 'F'"):
        M.vgg("F")
    with pytest.raises(ValueError, match="6n \\+ 2"):
        M.CifarResNet(21)
    with pytest.raises(ValueError, match="width_mult must be positive"):
        M.vgg16(width_mult=0)
    with pytest.raises(ValueError, match="dropout must be a probability"):
        M.alexnet(dropout=1.5)
    with pytest.raises(ValueError, match="4 stages"):
        M.ResNet(M.BasicBlock, [2, 2, 2])
    with pytest.raises(TypeError, match="BasicBlock or Bottleneck"):
        M.ResNet(nn.Linear, [2, 2, 2, 2])
    with pytest.raises(ValueError, match="cannot drop channels"):
        ShortcutA(8, 4)
    with pytest.raises(ValueError, match="distinct input maps"):
        ConnectionTableConv2d([(0, 0)], 3)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="divisible by 2\\^depth = 4"):
        M.unet(depth=2)(ac.randn(1, 1, 10, 12))
    aux = M.InceptionAux(512, 10)
    with pytest.raises(ValueError, match="14, 14"):
        aux(ac.randn(1, 512, 7, 7))
    with pytest.raises(ValueError, match="expected an input of shape \\(N, 6, H, W\\)"):
        ConnectionTableConv2d(C3_TABLE, 5)(ac.randn(1, 5, 14, 14))


# ---- one training step of every model at a reduced size ------------------------------------------

SMALL = [pytest.param(*case[:4], id=case[0], marks=case[4:]) for case in [
    ("lenet5", lambda: M.lenet5(), (4, 1, 32, 32), 10, pytest.mark.nojit),
    ("lenet5_modern", lambda: M.lenet5(modern=True), (4, 1, 32, 32), 10),
    ("lenet5_1998", lambda: M.lenet5_1998(), (4, 1, 32, 32), 10),
    ("alexnet", lambda: M.alexnet(5, dropout=0.0, width_mult=1 / 16), (2, 3, 64, 64), 5),
    ("alexnet_paper", lambda: M.alexnet_paper(5, dropout=0.0, width_mult=1 / 16),
     (2, 3, 67, 67), 5),
    ("zfnet", lambda: M.zfnet(5, dropout=0.0, width_mult=1 / 16), (2, 3, 64, 64), 5),
    ("vgg_A_LRN", lambda: M.vgg("A-LRN", num_classes=5, dropout=0.0, width_mult=1 / 16),
     (2, 3, 32, 32), 5),
    ("vgg_C", lambda: M.vgg("C", num_classes=5, dropout=0.0, width_mult=1 / 16),
     (2, 3, 32, 32), 5),
    ("vgg19_bn", lambda: M.vgg19(True, num_classes=5, dropout=0.0, width_mult=1 / 16),
     (2, 3, 32, 32), 5),
    ("googlenet", lambda: M.googlenet(5, dropout=0.0, width_mult=1 / 8), (2, 3, 64, 64), 5),
    ("googlenet_aux", lambda: M.googlenet(5, aux_logits=True, dropout=0.0, dropout_aux=0.0,
                                          width_mult=1 / 16), (2, 3, 224, 224), 5),
    ("resnet18", lambda: M.resnet18(5, width_mult=1 / 8), (2, 3, 64, 64), 5),
    ("resnet34", lambda: M.resnet34(5, width_mult=1 / 8), (2, 3, 32, 32), 5),
    ("resnet50", lambda: M.resnet50(5, stride_in_1x1=True, width_mult=1 / 8), (2, 3, 32, 32), 5),
    ("resnet101", lambda: M.resnet101(5, width_mult=1 / 16), (2, 3, 32, 32), 5),
    ("resnet152", lambda: M.resnet152(5, width_mult=1 / 16), (2, 3, 32, 32), 5),
    ("resnet20", lambda: M.resnet20(), (2, 3, 32, 32), 10),
    ("resnet56", lambda: M.resnet56(width_mult=0.5), (2, 3, 16, 16), 10),
    ("resnet110", lambda: M.resnet110(width_mult=0.25), (2, 3, 8, 8), 10),
    ("unet", lambda: M.unet(3, 3, base_channels=4, depth=2), (2, 3, 16, 16), 3),
]]


def _loss(out, target):
    if isinstance(out, tuple):                     # GoogLeNet with its auxiliary heads
        return F.cross_entropy(out[0], target) + 0.3 * (
            F.cross_entropy(out[1], target) + F.cross_entropy(out[2], target))
    return F.cross_entropy(out, target)


@pytest.mark.parametrize("name,build,shape,classes", SMALL)
def test_every_model_trains_one_step(name, build, shape, classes):
    ac.manual_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    x = ac.tensor(rng.standard_normal(shape).astype(np.float32))
    target_shape = (shape[0],) + (shape[2:] if name == "unet" else ())
    target = ac.tensor(rng.integers(0, classes, target_shape))
    params = [p for p in model.parameters() if p.requires_grad]
    before = [p._data.copy() for p in params]
    opt = ac.optim.SGD(params, lr=0.01)
    loss = _loss(model(x), target)
    assert np.isfinite(loss.item())
    opt.zero_grad()
    loss.backward()
    for (pname, p) in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and np.isfinite(p.grad._data).all(), pname
    opt.step()
    changed = sum(not np.array_equal(b, p._data) for b, p in zip(before, params))
    assert changed >= 0.9 * len(params)            # a few (dead ReLU) gradients may be 0
    # a small gradient step on the same batch lowers the loss (no dropout: same function)
    after = _loss(model(x), target).item()
    assert after < loss.item()


# ---- full size (slow: still run in CI) --------------------------------------------------------

FULL = [
    ("resnet50", lambda: M.resnet50(), (2, 3, 224, 224)),
    ("vgg16", lambda: M.vgg16(), (1, 3, 224, 224)),
    ("googlenet", lambda: M.googlenet(aux_logits=True), (2, 3, 224, 224)),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,build,shape", FULL, ids=[f[0] for f in FULL])
def test_full_size_forward_and_backward(name, build, shape):
    ac.manual_seed(0)
    model = build()
    x = ac.randn(*shape)
    target = ac.tensor(np.arange(shape[0]) % 1000)
    out = model(x)
    loss = _loss(out, target)
    assert np.isfinite(loss.item())
    loss.backward()
    grads = [p.grad for p in model.parameters()]
    assert all(g is not None and np.isfinite(g._data).all() for g in grads)
    assert (model.fc if hasattr(model, "fc") else model.classifier[-1]).weight.grad._data.any()
