"""Module nodes: draw_graph(group_by_module=True, depth=k, model=m) (a box per module down to
depth k, one node per deeper module and per layer) and draw_model(model, input_size), the model
view of LeNet-5, VGG-16, ResNet-18/50 and GoogLeNet."""

import re
import shutil
import struct
import time

import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import models as M
from autograd_cnn.viz import INSTALL_HINT, draw_graph, draw_model, trace_modules


def cluster_labels(src: str) -> list:
    found = re.findall(r"subgraph cluster_\d+ \{\n[^\n]*label=(?:\"([^\"]*)\"|(\S+))", src)
    return [quoted or plain for quoted, plain in found]


def module_nodes(src: str) -> dict:
    """module-node name -> its label's text."""
    return {name: re.sub(r"<[^>]*>", " ", html).split()
            for name, html in re.findall(r"^\s*(m\d+) \[label=<(.*)> shape=plain", src, re.M)}


def in_edges(src: str, node: str) -> list:
    return re.findall(rf"^\s*(\w+) -> {node}\b", src, re.M)


def width_px(g) -> int:
    if shutil.which("dot") is None:
        pytest.fail(INSTALL_HINT)
    return struct.unpack(">II", g.pipe(format="png")[16:24])[0]


def test_resnet18_grouped_at_block_depth_has_one_box_per_residual_block():
    model = M.resnet18(num_classes=10).eval()
    with trace_modules(model):
        out = model(ac.randn(1, 3, 32, 32))
    src = draw_graph(out, group_by_module=True, depth=2, model=model, show_data=False,
                     max_nodes=5000).source
    labels = cluster_labels(src)
    assert sorted(labels) == sorted(["ResNet"] + [f"layer{i}: Sequential" for i in (1, 2, 3, 4)]
                                    + ["0: BasicBlock", "1: BasicBlock"] * 4)
    nodes = module_nodes(src)
    types = sorted(t[t.index(":") + 1] for t in nodes.values())
    assert types.count("Conv2d") == 17 and types.count("Sequential") == 3    # downsample: 1 node
    assert types.count("BatchNorm2d") == 17 and types.count("ReLU") == 17    # relu called twice
    stem = next(t for t in nodes.values() if t[:2] == ["conv1", ":"] and "1×3×32×32" in t)
    assert " ".join(stem) == "conv1 : Conv2d 1×3×32×32 → 1×64×16×16 9,408 params"
    assert "conv2d" not in src                       # every op is inside a module node
    assert src.count("[label=add ") == 8             # the shortcut additions, in their blocks


def test_group_by_module_needs_a_traced_forward():
    lin = nn.Linear(3, 2)
    out = lin(ac.randn(2, 3))
    with pytest.raises(ValueError, match=r"trace_modules\(model\)"):
        draw_graph(out, group_by_module=True, model=lin)
    with pytest.raises(TypeError, match="needs model="):
        draw_graph(out, group_by_module=True)
    with pytest.raises(ValueError, match="depth= goes with group_by_module=True"):
        draw_graph(out, depth=1)
    with trace_modules(lin):
        out = lin(ac.randn(2, 3))
    src = draw_graph(out, group_by_module=True, model=lin).source
    assert "Linear" in src and "8 params" in src


def test_googlenet_concatenates_four_branches():
    g = draw_model(M.googlenet(num_classes=10), (1, 3, 64, 64))
    src = g.source
    cats = re.findall(r"^\s*(n\d+op) \[label=cat ", src, re.M)
    assert len(cats) == 9                             # one per Inception module
    assert all(len(in_edges(src, c)) == 4 for c in cats)
    assert cluster_labels(src).count("inception3a: Inception") == 1
    assert '"1×256×8×8"' in src                      # shapes on the edges
    assert width_px(g) < 1400


def test_resnet18_model_view_shows_the_skip_connections():
    model = M.resnet18(num_classes=10)
    g = draw_model(model, (1, 3, 32, 32))
    assert model.training                             # the mode is restored
    adds = re.findall(r"^\s*(n\d+op) \[label=add ", g.source, re.M)
    assert len(adds) == 8 and all(len(in_edges(g.source, a)) == 2 for a in adds)
    assert width_px(g) < 1000


def test_lenet_and_vgg16_one_node_per_layer():
    lenet = draw_model(M.lenet5(), (1, 1, 32, 32))
    nodes = module_nodes(lenet.source)
    assert len(nodes) == 12                           # 2 conv, 3 linear, 4 tanh... and flatten
    assert sum(t[2] == "Conv2d" for t in nodes.values()) == 2
    assert '"1×6×28×28"' in lenet.source and "48,120 params" in lenet.source
    assert width_px(lenet) < 1000
    vgg = draw_model(M.vgg16(num_classes=10), (1, 3, 32, 32))
    assert sum(t[2] == "Conv2d" for t in module_nodes(vgg.source).values()) == 13
    assert width_px(vgg) < 1000


def test_resnet50_draws_in_seconds():
    t0 = time.perf_counter()
    g = draw_model(M.resnet50(num_classes=10), (1, 3, 64, 64))
    assert g.source.count("[label=add ") == 16
    assert time.perf_counter() - t0 < 20


def test_draw_model_errors():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        draw_model(lambda x: x, (1, 3))
    with pytest.raises(ValueError, match=r"input_size must be a tuple of positive ints.*got \(0, 3\)"):
        draw_model(nn.Linear(3, 2), (0, 3))
