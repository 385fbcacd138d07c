"""Graph drawing: structure, stable DOT source, cut-off of big graphs, rendering with and without
graphviz's `dot`."""

import shutil

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import Value
from autograd_cnn.viz import INSTALL_HINT, DotNotFoundError, Graph, draw_graph


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
    assert max(len(line) for line in src.splitlines()) < 200   # summaries, never arrays
    lean = draw_graph(loss, show_data=False, show_grad=False).source
    assert "mean" not in lean and "grad norm" not in lean


def test_tensor_graph_freed_by_backward_is_a_clear_error():
    w = ac.randn(3, 2, requires_grad=True)
    loss = (ac.randn(4, 3) @ w).sum()
    loss.backward()
    with pytest.raises(ValueError, match=r"freed by backward\(\).*retain_graph=True"):
        draw_graph(loss)


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
