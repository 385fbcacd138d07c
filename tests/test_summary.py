"""``ac.summary``: the lecture's VGG-16 table, the ResNet paper's FLOPs row, receptive fields and
jumps, what counts as a MAC and as memory, frozen parameters, and errors."""

import math

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import models as M
from autograd_cnn.summary import LayerInfo, ModelSummary


def quiet(model, size, **kwargs) -> ModelSummary:
    return ac.summary(model, size, verbose=False, **kwargs)


@pytest.fixture(scope="module")
def vgg16_summary():
    return quiet(M.vgg16(), (1, 3, 224, 224))


# ---- VGG-16: the lecture notes' memory/weights table (notes 004, "Memory Management") --------

LECTURE_WEIGHTS = [1_728, 36_864, 73_728, 147_456, 294_912, 589_824, 589_824, 1_179_648,
                   2_359_296, 2_359_296, 2_359_296, 2_359_296, 2_359_296,
                   102_760_448, 16_777_216, 4_096_000]
# the memory column (values per image): INPUT, then every CONV/POOL/FC row of the table
LECTURE_MEMORY = [224 * 224 * 3,
                  224 * 224 * 64, 224 * 224 * 64, 112 * 112 * 64,
                  112 * 112 * 128, 112 * 112 * 128, 56 * 56 * 128,
                  56 * 56 * 256, 56 * 56 * 256, 56 * 56 * 256, 28 * 28 * 256,
                  28 * 28 * 512, 28 * 28 * 512, 28 * 28 * 512, 14 * 14 * 512,
                  14 * 14 * 512, 14 * 14 * 512, 14 * 14 * 512, 7 * 7 * 512,
                  4096, 4096, 1000]


def test_vgg16_reproduces_the_lectures_weights_column(vgg16_summary):
    rows = [r for r in vgg16_summary.layers if r.type in ("Conv2d", "Linear")]
    # the table counts weights without biases: a row's parameters minus its output channels
    weights = [r.params - r.output_shape[1] for r in rows]
    assert weights == LECTURE_WEIGHTS
    assert vgg16_summary.total_params == 138_357_544          # "TOTAL params: 138M"


def test_vgg16_reproduces_the_lectures_memory_column(vgg16_summary):
    rows = [r for r in vgg16_summary.layers
            if r.type in ("Input", "Conv2d", "MaxPool2d", "Linear")]
    assert [r.memory_bytes // 4 for r in rows] == LECTURE_MEMORY
    # the column adds up to 15.2 M values (61 MB in float32); the slide's total "24M * 4 bytes
    # ~= 93MB" does not follow from its own rows (a known slip of the cs231n slide). This
    # library also keeps every ReLU output (13.5 M more values), so its forward allocates 28.8 M
    assert sum(LECTURE_MEMORY) == 15_237_608
    relu = sum(r.memory_bytes for r in vgg16_summary.layers if r.type == "ReLU") // 4
    assert relu == 13_547_520 + 2 * 4096
    avgpool = 7 * 7 * 512           # the adaptive pool: the identity at 224, but a new array
    assert vgg16_summary.activation_bytes == 4 * (15_237_608 + relu + avgpool)
    assert round(vgg16_summary.activation_bytes / 1e6, 1) == 115.3


def test_vgg16_macs_and_receptive_fields(vgg16_summary):
    assert vgg16_summary.total_macs == 15_470_264_320           # the well-known 15.5 G
    assert vgg16_summary.flops == 2 * vgg16_summary.total_macs
    convs = [r for r in vgg16_summary.layers if r.type == "Conv2d"]
    # receptive fields of the 13 convolutions: +2 jump each, the jump doubling after a pool
    assert [r.receptive_field[0] for r in convs] == [3, 5, 10, 14, 24, 32, 40, 60, 76, 92,
                                                     132, 164, 196]
    assert [r.jump[0] for r in convs] == [1, 1, 2, 2, 4, 4, 4, 8, 8, 8, 16, 16, 16]
    pool5 = [r for r in vgg16_summary.layers if r.type == "MaxPool2d"][-1]
    assert pool5.receptive_field == (212, 212) and pool5.jump == (32, 32)
    assert vgg16_summary.layers[1].stride == (1, 1)


def test_table_text_says_macs_and_defines_flops(vgg16_summary):
    text = str(vgg16_summary)
    assert repr(vgg16_summary).startswith("ModelSummary(VGG") and "\n" not in repr(vgg16_summary)
    for word in ("features.0 (Conv2d)", "MACs", "138,357,544", "15,470,264,320", "212x212"):
        assert word in text
    # "FLOPs" never appears without its definition
    assert text.count("FLOPs") == text.count("FLOPs = 2 x MACs") == 1


# ---- ResNets: the paper's FLOPs row (multiply-adds) ------------------------------------------

RESNET_MACS = [("resnet18", M.resnet18, {}, 1.8), ("resnet34", M.resnet34, {}, 3.6),
               ("resnet50", M.resnet50, {"stride_in_1x1": True}, 3.8),
               ("resnet101", M.resnet101, {"stride_in_1x1": True}, 7.6),
               ("resnet152", M.resnet152, {"stride_in_1x1": True}, 11.3)]


def within_papers_rounding(value: float, paper: float) -> bool:
    """The paper's one-decimal figures are rounded (7.57 -> 7.6) or cut (3.66 -> 3.6)."""
    return round(value, 1) == paper or math.floor(value * 10) / 10 == paper


@pytest.mark.parametrize("name,build,kwargs,paper", RESNET_MACS,
                         ids=[r[0] for r in RESNET_MACS])
def test_resnet_macs_reproduce_the_papers_flops_row(name, build, kwargs, paper):
    s = quiet(build(**kwargs), (1, 3, 224, 224))
    assert within_papers_rounding(s.total_macs / 1e9, paper), s.total_macs
    assert s.layers[-1].output_shape == (1, 1000)
    # every parameter sits in a layer this forward called
    assert sum(r.params for r in s.layers) == s.total_params and s.uncalled_params == 0


def test_torchvision_resnet50_costs_more_than_the_papers():
    s = quiet(M.resnet50(), (1, 3, 224, 224))
    assert round(s.total_macs / 1e9, 2) == 4.09               # torchvision's published 4.09


def test_within_papers_rounding_is_strict():
    assert within_papers_rounding(3.66, 3.6) and within_papers_rounding(7.57, 7.6)
    assert not within_papers_rounding(3.71, 3.6) and not within_papers_rounding(3.55, 3.6)


def test_resnet_rows_include_the_residual_additions():
    s = quiet(M.resnet18(width_mult=1 / 8), (1, 3, 64, 64))
    adds = [r for r in s.layers if r.type == "functional"]
    assert [r.name for r in adds] == [f"layer{i}.{j}" for i in range(1, 5) for j in range(2)]
    assert all(r.memory_bytes == 4 * np.prod(r.output_shape) for r in adds)
    # the addition sees what its widest input sees: the block's second conv
    blocks = {r.name: r for r in s.layers if r.name.endswith("bn2")}
    for r in adds:
        assert r.receptive_field == blocks[r.name + ".bn2"].receptive_field


# ---- other papers' numbers -----------------------------------------------------------------------

def test_googlenet_output_sizes_and_macs_follow_the_paper():
    s = quiet(M.googlenet(), (1, 3, 224, 224))
    shape = {r.name: r.output_shape for r in s.layers}
    cats = {r.name: r.output_shape for r in s.layers if r.type == "functional"}
    assert shape["conv1.1"] == (1, 64, 112, 112) and shape["maxpool1"] == (1, 64, 56, 56)
    assert shape["conv3.1"] == (1, 192, 56, 56) and shape["maxpool2"] == (1, 192, 28, 28)
    assert cats == {"inception3a": (1, 256, 28, 28), "inception3b": (1, 480, 28, 28),
                    "inception4a": (1, 512, 14, 14), "inception4b": (1, 512, 14, 14),
                    "inception4c": (1, 512, 14, 14), "inception4d": (1, 528, 14, 14),
                    "inception4e": (1, 832, 14, 14), "inception5a": (1, 832, 7, 7),
                    "inception5b": (1, 1024, 7, 7)}
    # "a computational budget of 1.5 billion multiply-adds at inference time"
    assert 1.5e9 <= s.total_macs < 1.6e9
    assert s.total_params == 6_998_552


def test_alexnet_paper_and_zfnet_map_sizes():
    s = quiet(M.alexnet_paper(), (1, 3, 227, 227))
    sizes = [r.output_shape[2] for r in s.layers if r.type in ("Conv2d", "MaxPool2d")]
    assert sizes == [55, 27, 27, 13, 13, 13, 13, 6]
    s = quiet(M.zfnet(), (1, 3, 224, 224))
    sizes = [r.output_shape[2] for r in s.layers if r.type in ("Conv2d", "MaxPool2d")]
    assert sizes == [110, 55, 26, 13, 13, 13, 13, 6]           # the paper's Figure 3


def test_alexnet_receptive_field_is_195():
    s = quiet(M.alexnet(width_mult=1 / 16), (1, 3, 224, 224))
    pool5 = [r for r in s.layers if r.type == "MaxPool2d"][-1]
    assert pool5.receptive_field == (195, 195) and pool5.jump == (32, 32)


def test_lenet5_1998_reports_its_frozen_rbf_codes():
    s = quiet(M.lenet5_1998(), (1, 1, 32, 32))
    assert (s.total_params, s.trainable_params, s.frozen_params) == (60_840, 60_000, 840)
    out = [r for r in s.layers if r.type == "RBFOutput"][0]
    assert out.frozen_params == 840 and out.macs == 840
    c5 = [r for r in s.layers if r.name == "c5"][0]
    assert c5.receptive_field == (32, 32) and c5.output_shape == (1, 120, 1, 1)
    assert "840 frozen" in str(s) and "Frozen params:     840" in str(s)


def test_freezing_layers_shows_in_the_totals():
    model = M.lenet5()
    model.features.requires_grad_(False)
    s = quiet(model, (1, 1, 32, 32))
    assert s.frozen_params == 156 + 2_416 and s.trainable_params == 61_706 - 2_572


# ---- receptive field and jump --------------------------------------------------------------------

def test_three_stacked_3x3_convolutions_see_7x7_like_one_7x7():
    c = 64
    three = nn.Sequential(*[nn.Conv2d(c, c, 3, padding=1, bias=False) for _ in range(3)])
    one = nn.Conv2d(c, c, 7, padding=3, bias=False)
    s3, s1 = quiet(three, (1, c, 16, 16)), quiet(one, (1, c, 16, 16))
    assert [r.receptive_field for r in s3.layers[1:]] == [(3, 3), (5, 5), (7, 7)]
    assert s1.layers[-1].receptive_field == (7, 7)
    assert s3.total_params == 3 * 9 * c * c == 110_592 < s1.total_params == 49 * c * c


def test_receptive_field_with_stride_dilation_and_pooling():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Conv2d(2, 2, 3, dilation=2),
                          nn.MaxPool2d(2), nn.Conv2d(2, 2, 1))
    s = quiet(model, (1, 1, 33, 33))
    assert [(r.receptive_field, r.jump) for r in s.layers[1:]] == [
        ((3, 3), (2, 2)),
        ((11, 11), (2, 2)),        # dilated 3x3 spans 5 positions, 2 pixels apart: 3 + 4 * 2
        ((13, 13), (4, 4)),
        ((13, 13), (4, 4))]
    assert [r.output_shape[-1] for r in s.layers[1:]] == [16, 12, 6, 6]


def test_inception_takes_its_widest_branch():
    s = quiet(M.Inception(8, 2, 2, 3, 1, 2, 2), (1, 8, 10, 10))
    cat = s.layers[-1]
    assert cat.type == "functional" and cat.output_shape == (1, 9, 10, 10)
    assert cat.receptive_field == (5, 5)                        # the 5x5 branch


def test_unet_receptive_field_through_transposed_convolutions():
    s = quiet(M.unet(1, 2, base_channels=2, depth=2), (1, 1, 16, 16))
    ups = [r for r in s.layers if r.type == "ConvTranspose2d"]
    assert [r.jump for r in ups] == [(2, 2), (1, 1)]
    assert s.layers[-1].receptive_field == (44, 44) and s.layers[-1].jump == (1, 1)
    assert s.layers[-1].output_shape == (1, 2, 16, 16)


def test_flattened_outputs_have_no_receptive_field():
    s = quiet(M.lenet5(), (2, 1, 32, 32))
    fc = [r for r in s.layers if r.type == "Linear"]
    assert all(r.receptive_field is None and r.jump is None for r in fc)


# ---- what counts as a MAC and as memory ----------------------------------------------------------

def test_macs_of_conv_linear_grouped_and_transposed():
    s = quiet(nn.Linear(20, 7), (3, 20))
    assert s.total_macs == 3 * 7 * 20
    s = quiet(nn.Conv2d(8, 6, 3, groups=2, padding=1), (2, 8, 5, 5))
    assert s.total_macs == 2 * 6 * 5 * 5 * (8 // 2) * 9
    s = quiet(nn.ConvTranspose2d(4, 6, 2, stride=2), (1, 4, 3, 3))
    assert s.total_macs == 1 * 4 * 3 * 3 * 6 * 4
    s = quiet(nn.Sequential(nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2)), (1, 3, 4, 4))
    assert s.total_macs == 0                                   # documented: not counted


def test_depthwise_separable_macs_are_the_lectures():
    # notes 002: 256 5x5 kernels over a 12x12x3 input, 8x8 output
    full = quiet(nn.Conv2d(3, 256, 5, bias=False), (1, 3, 12, 12))
    separable = quiet(M.DepthwiseSeparableConv2d(3, 256, 5, padding=0, batch_norm=False,
                                                 activation=False, bias=False),
                      (1, 3, 12, 12))
    assert full.total_macs == 1_228_800
    assert [r.macs for r in separable.layers if r.macs] == [4_800, 49_152]
    assert separable.total_macs == 53_952


def test_1x1_channel_reduction_macs():
    s = quiet(M.conv1x1(192, 32), (1, 192, 28, 28))
    assert s.total_macs == 28 * 28 * 192 * 32 == 4_816_896


def test_memory_counts_new_arrays_only():
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Dropout(0.5), nn.Identity(),
                          nn.Linear(4 * 6 * 6, 3))
    s = quiet(model, (2, 1, 8, 8))
    mem = {r.type: r.memory_bytes for r in s.layers}
    assert mem["Input"] == 2 * 64 * 4 and mem["Conv2d"] == 2 * 4 * 36 * 4
    assert mem["Flatten"] == mem["Dropout"] == mem["Identity"] == 0    # views / eval identity
    assert mem["Linear"] == 2 * 3 * 4
    assert s.activation_bytes == sum(mem.values())
    s64 = quiet(model.double(), (2, 1, 8, 8), dtypes=ac.float64)
    assert s64.activation_bytes == 2 * s.activation_bytes


def test_several_inputs():
    class Pair(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 2), nn.Linear(5, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y)

    s = quiet(Pair(), [(4, 3), (4, 5)])
    assert [r.type for r in s.layers] == ["Input", "Input", "Linear", "Linear", "functional"]
    assert [r.name for r in s.layers[:2]] == ["input0", "input1"]
    assert s.total_macs == 4 * 2 * 3 + 4 * 2 * 5 and s.total_params == 8 + 12


# ---- the model is left as it was ----------------------------------------------------------------

def test_summary_restores_mode_buffers_and_hooks():
    model = M.resnet20()
    model.train()
    before = {k: v._data.copy() for k, v in model.state_dict().items()}
    quiet(model, (4, 3, 32, 32), training=True)
    assert model.training
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v._data, before[k], err_msg=k)
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    model.eval()
    quiet(model, (1, 3, 32, 32))
    assert not model.training


def test_summary_runs_in_eval_mode_by_default():
    model = M.googlenet(aux_logits=True, width_mult=1 / 16)
    s = quiet(model, (1, 3, 224, 224))
    assert not any(r.name.startswith("aux") for r in s.layers)
    assert s.uncalled_params == sum(p.numel() for p in model.aux1.parameters()) + \
        sum(p.numel() for p in model.aux2.parameters())
    assert "did not call" in str(s)
    t = quiet(model, (1, 3, 224, 224), training=True)
    assert any(r.name.startswith("aux1") for r in t.layers) and t.uncalled_params == 0


def test_summary_prints_by_default(capsys):
    s = ac.summary(nn.Linear(2, 3), (1, 2))
    assert capsys.readouterr().out.strip() == str(s)
    assert isinstance(s.layers[1], LayerInfo)


# ---- errors --------------------------------------------------------------------------------------

def test_bad_arguments():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        ac.summary(lambda x: x, (1, 2))
    with pytest.raises(TypeError, match="input_size must be a shape"):
        ac.summary(nn.Linear(2, 3), 2)
    with pytest.raises(ValueError, match="positive int"):
        ac.summary(nn.Linear(2, 3), (0, 2))
    with pytest.raises(ValueError, match="2 dtypes for 1 input"):
        ac.summary(nn.Linear(2, 3), (1, 2), dtypes=[ac.float32, ac.float64])
    with pytest.raises(TypeError, match="not a dtype"):
        ac.summary(nn.Linear(2, 3), (1, 2), dtypes="no such dtype")


def test_a_failing_forward_names_the_layer():
    model = M.lenet5()
    with pytest.raises(ValueError) as info:
        ac.summary(model, (1, 3, 32, 32), verbose=False)
    assert any("features.0 (Conv2d)" in note for note in getattr(info.value, "__notes__", []))
    assert all(not m._forward_hooks for m in model.modules())
    with pytest.raises(ValueError) as info:           # the batch dimension forgotten
        ac.summary(M.resnet20(), (3, 32, 32), verbose=False)
    assert any("did you mean (1, 3, 32, 32)?" in note for note in info.value.__notes__)
