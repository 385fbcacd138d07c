"""draw_graph with module grouping: which module call made each tensor, and the nested graphviz
clusters drawn for them (the Inception module and a residual block, as in notebook 05)."""

import re
import shutil

import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
from autograd_cnn import models as M
from autograd_cnn.viz import (INSTALL_HINT, ModuleScopes, draw_graph, draw_module_graph,
                              trace_modules)


def clusters_of(source: str) -> dict:
    """node name -> tuple of the labels of the clusters it is declared in (outermost first)."""
    where, stack, pending = {}, [], False
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("subgraph cluster_"):
            stack.append(None)
            pending = True
        elif line == "}" and stack:
            stack.pop()
        elif pending and " label=" in line and stack and stack[-1] is None:
            m = re.search(r'label=("([^"]*)"|(\S+))', line)
            stack[-1] = m.group(2) if m.group(2) is not None else m.group(3)
            pending = False
        else:
            m = re.match(r"(n\d+(?:op)?) \[", line)
            if m:
                where[m.group(1)] = tuple(stack)
    return where


def op_nodes(source: str, op: str) -> list:
    return re.findall(rf"(n\d+op) \[label={op} ", source)


def test_scopes_of_an_inception_module():
    m = M.Inception(6, 2, 2, 3, 1, 2, 2)
    x = ac.randn(1, 6, 5, 5, requires_grad=True)
    with trace_modules(m) as scopes:
        out = m(x)
    assert isinstance(scopes, ModuleScopes)
    assert scopes.scope(out) == ""                    # the concatenation: the module itself
    assert scopes.scope(out._parents[0]) == "branch1.1"          # relu of branch 1
    assert scopes.scope(out._parents[0], depth=1) == "branch1"
    assert scopes.scope(out._parents[0], depth=0) == ""
    assert scopes.scope(x) is None                    # made outside: not in any box
    assert scopes.scope(m.branch3[1][0].weight) == "branch3.1.0"  # parameters: their owner
    assert all(not mod._forward_hooks for mod in m.modules())     # hooks removed


def test_inception_graph_has_a_box_per_branch():
    m = M.Inception(6, 2, 2, 3, 1, 2, 2)
    g = draw_module_graph(m, ac.randn(1, 6, 5, 5, requires_grad=True), group_depth=1,
                          show_data=False, show_grad=False)
    src = g.source
    where = clusters_of(src)
    assert src.count("subgraph cluster_") == 5                  # Inception + 4 branches
    (cat,) = op_nodes(src, "cat")
    assert where[cat] == ("Inception",)
    convs = op_nodes(src, "conv2d")
    assert len(convs) == 6
    boxes = sorted(where[c][1] for c in convs)
    assert boxes == ["branch1: Sequential"] + ["branch2: Sequential"] * 2 + \
        ["branch3: Sequential"] * 2 + ["branch4: Sequential"]
    (pool,) = op_nodes(src, "max_pool2d")
    assert where[pool] == ("Inception", "branch4: Sequential")
    assert "branch3.1.0.weight" in src                          # parameters are named
    assert "<B>input</B></TD></TR><TR><TD>(1, 6, 5, 5) float32" in src and where[  # and the
        re.search(r"(n\d+) \[label=<<TABLE[^>]*><TR><TD><B>input</B>", src).group(1)] == ()
    # input, outside the boxes


def test_residual_block_graph_boxes_every_layer():
    block = M.BasicBlock(4, 4)
    g = draw_module_graph(block, ac.randn(1, 4, 5, 5, requires_grad=True), show_data=False)
    where = clusters_of(g.source)
    (add,) = op_nodes(g.source, "add")
    assert where[add] == ("BasicBlock",)                        # the shortcut's addition
    convs = op_nodes(g.source, "conv2d")
    assert sorted(where[c] for c in convs) == [("BasicBlock", "conv1: Conv2d"),
                                               ("BasicBlock", "conv2: Conv2d")]
    relus = op_nodes(g.source, "relu")
    assert [where[r] for r in relus] == [("BasicBlock", "relu: ReLU")] * 2   # called twice


def test_bottleneck_with_downsample_and_depth_limit():
    block = M.Bottleneck(8, 2, stride=2, downsample=nn.Sequential(
        nn.Conv2d(8, 8, 1, stride=2, bias=False), nn.BatchNorm2d(8)))
    g = draw_module_graph(block, ac.randn(2, 8, 6, 6, requires_grad=True), group_depth=1,
                          show_data=False)
    where = clusters_of(g.source)
    convs = op_nodes(g.source, "conv2d")
    assert sorted(where[c][-1] for c in convs) == ["conv1: Conv2d", "conv2: Conv2d",
                                                   "conv3: Conv2d", "downsample: Sequential"]
    assert "0: Conv2d" not in g.source                          # nothing below depth 1


def test_tracing_a_whole_model_nests_the_boxes():
    model = M.resnet20(width_mult=0.25)
    with trace_modules(model) as scopes:
        out = model(ac.randn(1, 3, 8, 8))
    g = draw_graph(out, modules=scopes, group_depth=2, show_data=False, max_nodes=400)
    where = clusters_of(g.source)
    (fc,) = [n for n, c in where.items() if c and c[-1] == "fc: Linear" and n.endswith("op")]
    assert where[fc] == ("CifarResNet", "fc: Linear")
    assert any(c[:3] == ("CifarResNet", "layer2: Sequential", "0: BasicBlock")
               for c in where.values())


def test_without_modules_the_source_is_unchanged():
    w = ac.randn(3, 2, requires_grad=True)
    y = (ac.randn(4, 3) @ w).relu().sum()
    assert "cluster" not in draw_graph(y).source
    lin = nn.Linear(3, 2)
    with trace_modules(lin) as scopes:
        out = lin(ac.randn(2, 3))
    plain = draw_graph(out).source
    boxed = draw_graph(out, modules=scopes).source
    assert "cluster" not in plain and "subgraph cluster_0" in boxed
    assert sorted(re.findall(r"n\d+op? \[", plain)) == sorted(re.findall(r"n\d+op? \[", boxed))


def test_bad_arguments():
    lin = nn.Linear(3, 2)
    out = lin(ac.randn(2, 3))
    with pytest.raises(TypeError, match="trace_modules"):
        draw_graph(out, modules=lin)
    with trace_modules(lin) as scopes:
        out = lin(ac.randn(2, 3))
    with pytest.raises(ValueError, match="group_depth"):
        draw_graph(out, modules=scopes, group_depth=-1)
    with pytest.raises(TypeError, match="expected an nn.Module"):
        with trace_modules(lambda x: x):
            pass
    with ac.no_grad(), pytest.raises(ValueError, match="no recorded graph"):
        draw_module_graph(lin, ac.randn(2, 3))


def test_grouped_graph_renders():
    if shutil.which("dot") is None:
        pytest.fail(INSTALL_HINT)
    g = draw_module_graph(M.Inception(4, 1, 1, 1, 1, 1, 1),
                          ac.randn(1, 4, 3, 3, requires_grad=True), group_depth=1)
    svg = g.pipe(format="svg").decode()
    assert "<svg" in svg and "branch2: Sequential" in svg
