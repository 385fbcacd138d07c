"""Graph drawing: structure, stable DOT source, cut-off of big graphs, rendering with and without
graphviz's `dot`."""

import gc
import re
import shutil
import struct
import weakref

import numpy as np
import pytest

import autograd_cnn as ac
import autograd_cnn.nn as nn
import autograd_cnn.nn.functional as F
from autograd_cnn import Value
from autograd_cnn.viz import INSTALL_HINT, DotNotFoundError, Graph, draw_graph
from autograd_cnn.viz.graph import COLORS


def _lecture_graph():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def require_dot():
    if shutil.which("dot") is None:
        pytest.fail(INSTALL_HINT)


def test_value_graph_nodes_and_edges():
    f = _lecture_graph()
    src = draw_graph(f).source
    assert src.count("shape=record") == 5          # x, y, z, q, f
    assert src.count("shape=ellipse") == 2         # +, *
    assert "data -12" in src and "grad 0" in src
    f.backward()
    src = draw_graph(f).source
    assert "{ x | data -2 | grad -4 }" in src and "{ z | data -4 | grad 3 }" in src


def test_edges_follow_argument_order():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    src = draw_graph(a - b).source
    # the walk numbers the root n0, then its parents in argument order: a -> n1, b -> n2
    assert 'n1 -> n0op [taillabel=0]' in src and 'n2 -> n0op [taillabel=1]' in src


def test_dot_source_is_stable_between_runs():
    assert draw_graph(_lecture_graph()).source == draw_graph(_lecture_graph()).source
    assert "n0" in draw_graph(_lecture_graph()).to_dot()


def test_big_graph_is_cut_with_a_visible_note():
    x = Value(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    g = draw_graph(y, max_nodes=30)
    assert g.source.count("shape=record") == 30
    assert "more node(s) not drawn (max_nodes=30)" in g.source


def labels(src: str) -> dict:
    """node name -> the text its label shows (HTML tags and record syntax removed)."""
    out = {}
    for name, html, plain in re.findall(r"^\s*(\w+) \[label=(?:<(.*)>|\"([^\"]*)\"|(?:\S+))",
                                        src, flags=re.M):
        text = re.sub(r"<[^>]*>", " | ", html) if html else plain
        out[name] = " ".join(t for t in re.split(r"[\s|{}]+", text) if t)
    m = re.findall(r"^\s*(\w+) \[label=(\w+) ", src, flags=re.M)
    out.update({name: text for name, text in m if name not in out or not out[name]})
    return out


def fills(src: str) -> dict:
    """node name -> its fill colour (the table's BGCOLOR, or fillcolor for an op)."""
    out = {}
    for line in src.splitlines():
        m = re.match(r"\s*(\w+) \[label=", line)
        if m:
            c = re.search(r'BGCOLOR="(#\w+)"', line) or re.search(r'fillcolor="(#\w+)"', line)
            out[m.group(1)] = c.group(1) if c else None
    return out


def mlp_and_loss():
    ac.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    x = ac.randn(5, 4)
    loss = F.cross_entropy(model(x), ac.tensor([0, 1, 2, 1, 0]))
    return model, loss


def test_tensor_graph_shows_op_shape_dtype_and_names_without_arrays():
    w = ac.randn(3, 2, requires_grad=True)
    b = ac.zeros(2, requires_grad=True)
    x = ac.randn(400, 3)
    loss = (x @ w + b).relu().sum()
    loss.backward(retain_graph=True)
    src = draw_graph(loss, params={"fc.weight": w, "fc.bias": b}).source
    for text in ("matmul", "add", "relu", "sum", "(400, 3) float32", "(3, 2) float32",
                 "fc.weight", "fc.bias", "grad norm", "mean"):
        assert text in src
    assert max(len(t) for t in labels(src).values()) < 160     # summaries, never arrays
    lean = draw_graph(loss, show_data=False, show_grad=False).source
    assert "mean" not in lean and "grad norm" not in lean


def test_tensor_graphs_run_top_to_bottom_and_value_graphs_left_to_right():
    _, loss = mlp_and_loss()
    assert "rankdir=TB" in draw_graph(loss).source
    assert "rankdir=LR" in draw_graph(_lecture_graph()).source
    assert "rankdir=LR" in draw_graph(loss, rankdir="LR").source


def png_size(data: bytes) -> tuple:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_two_layer_mlp_with_its_loss_fits_a_notebook_cell():
    require_dot()
    model, loss = mlp_and_loss()
    loss.backward()
    g = draw_graph(loss, params=dict(model.named_parameters()))
    width, height = png_size(g.pipe(format="png"))
    assert width < 1000 and height < 1400, (width, height)
    svg = g.pipe(format="svg").decode()
    assert float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1)) < 750   # 1000 px


def test_nodes_are_coloured_by_role_and_parameters_named():
    model, loss = mlp_and_loss()
    loss.backward()
    src = draw_graph(loss, params=dict(model.named_parameters())).source
    text, fill = labels(src), fills(src)
    named = {t.split()[0]: n for n, t in text.items() if t.split()[0] in
             ("0.weight", "0.bias", "2.weight", "2.bias", "input", "output")}
    assert set(named) == {"0.weight", "0.bias", "2.weight", "2.bias", "input", "output"}
    for p in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert fill[named[p]] == COLORS["parameter"]
    assert fill[named["input"]] == COLORS["input"] and fill["n0"] == COLORS["output"]
    assert named["output"] == "n0"
    ops = [n for n in text if n.endswith("op")]
    assert ops and all(fill[n] == COLORS["op"] for n in ops)
    assert src.count(f'BGCOLOR="{COLORS["gradient"]}"') == 10   # every node but the input


def test_constants_fold_into_their_op():
    x = ac.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (2.0 - x * 3).mean() / 4
    src = draw_graph(y).source
    text = labels(src)
    assert "mul(·, 3)" in text.values() and "sub(2, ·)" in text.values()
    assert "div(·, 4)" in text.values()
    assert not any(t.startswith("input () float32") for t in text.values())
    assert len([n for n in text if not n.endswith("op")]) == 5      # x and 4 results
    _, loss = mlp_and_loss()            # cross-entropy's mean: a sum times 1/5
    assert "mul(·, 0.2)" in labels(draw_graph(loss).source).values()
    unfolded = labels(draw_graph(y, fold_constants=False).source)
    assert len([n for n in unfolded if not n.endswith("op")]) == 8


def test_every_node_shows_its_gradient_after_backward_without_retain_graph():
    x = ac.tensor([-2.0, 1.0], requires_grad=True)
    y = ac.tensor([5.0, 3.0], requires_grad=True)
    z = ac.tensor([-4.0, 2.0], requires_grad=True)
    q = x + y
    f = (q * z).sum()
    f.backward()                        # no retain_graph
    text = labels(draw_graph(f, params={"x": x, "y": y, "z": z}).source)
    shown = sorted(text.values())
    # df/dq = z, df/d(q*z) = 1, df/dz = q, df/dx = df/dy = z
    assert "x (2,) float32 [-2, 1] grad [-4, 2]" in shown
    assert "z (2,) float32 [-4, 2] grad [3, 4]" in shown
    assert "(2,) float32 [3, 4] grad [-4, 2]" in shown              # q, still alive here
    assert "(2,) float32 grad [1, 1]" in shown                      # q * z, freed
    assert "output () float32 -4 grad 1" in shown
    # the gradient is shown, never stored: PyTorch's .grad stays on the leaves
    assert q.grad is None
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        f.backward()


def test_backward_frees_activations_and_saved_arrays_but_keeps_the_links():
    x = ac.tensor(np.linspace(-1, 1, 40), requires_grad=True)
    h = (x * 2).exp()
    data, saved = weakref.ref(h._data), weakref.ref(h._saved) if h._saved is not None else None
    loss = h.var()
    del h
    gc.collect()
    assert data() is not None
    loss.backward()
    gc.collect()
    assert data() is None and (saved is None or saved() is None)    # the activation is gone
    src = draw_graph(loss, params={"x": x}).source
    text = labels(src)
    assert [t.split(" grad")[0] for n, t in sorted(text.items()) if n.endswith("op")] == \
        ["var", "exp", "mul(·, 2)"]
    assert sum("grad norm" in t for t in text.values()) == 3       # exp, mul and x
    assert "x (40,) float64" in " ".join(text.values())


def test_a_graph_drawn_after_an_in_place_op_shows_the_rebased_history():
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    h += 1                              # recorded: h becomes the result of add_
    loss = (h * h).sum()
    loss.backward()
    np.testing.assert_allclose(x.grad._data, 6 * (3 * x._data + 1))
    ops = sorted(t for n, t in labels(draw_graph(loss).source).items() if n.endswith("op"))
    assert ops == ["add_(·, 1)", "mul", "mul(·, 3)", "sum"]


def test_bad_arguments():
    with pytest.raises(TypeError, match="Value or a Tensor"):
        draw_graph(3.0)
    with pytest.raises(ValueError, match="rankdir"):
        draw_graph(Value(1.0), rankdir="XY")


def test_renders_svg_and_displays_in_jupyter(tmp_path):
    require_dot()
    g = draw_graph(_lecture_graph())
    assert isinstance(g, Graph)
    svg = g.pipe(format="svg").decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    bundle = g._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]
    out = g.render(tmp_path / "graph", format="png")
    assert (tmp_path / "graph.png").stat().st_size > 1000 and out.endswith(".png")


def test_rendering_without_dot_names_the_install_commands(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))        # an empty folder: no `dot` anywhere
    g = draw_graph(_lecture_graph())
    assert "digraph" in g.to_dot()                   # the source needs no dot
    with pytest.raises(DotNotFoundError) as info:
        g.pipe(format="svg")
    msg = str(info.value)
    for cmd in ("apt-get install graphviz", "brew install graphviz",
                "conda install -c conda-forge python-graphviz"):
        assert cmd in msg
    with pytest.raises(DotNotFoundError):
        g.render(tmp_path / "x", format="svg")


def test_tensor_graph_with_inf_and_nan_draws_without_warnings():
    import warnings
    x = ac.tensor([np.inf, 1.0, np.nan], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        src = draw_graph((x * 2).sum()).source
    assert "mul" in src and "nan" in src
