"""viz.backprop_steps: one frame per node the engine processes, in the engine's order, the
gradients delivered so far, the local derivative of each step; the last frame's gradients are
what backward() stores."""

import importlib.util
import re
import shutil

import numpy as np
import pytest

import autograd_cnn as ac
from autograd_cnn import Value, engine
from autograd_cnn.viz import INSTALL_HINT, BackpropSteps, backprop_steps
from autograd_cnn.viz.graph import HIGHLIGHT


def lecture():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f, (x, y, z, q)


def neuron():
    """The lecture's sigmoid neuron: f = 1 / (1 + exp(-(w0 x0 + w1 x1 + w2)))."""
    w0, x0, w1, x1, w2 = (Value(v, label=n) for v, n in
                          [(2.0, "w0"), (-1.0, "x0"), (-3.0, "w1"), (-2.0, "x1"), (-3.0, "w2")])
    f = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
    return f, (w0, x0, w1, x1, w2)


def highlighted(src: str) -> list:
    return re.findall(rf'^\s*(n\d+(?:op)?) \[[^\n]*{HIGHLIGHT}', src, flags=re.M)


def test_one_frame_per_node_in_the_engines_order():
    f, (x, y, z, q) = lecture()
    steps = backprop_steps(f)
    assert isinstance(steps, BackpropSteps) and len(steps) == 5 == len(list(steps))
    assert steps.nodes == list(reversed(engine.topological_order([f])))
    assert [n.label for n in steps.nodes] == ["f", "q", "x", "y", "z"]
    # the frame of step 2 outlines q and its op, and shows the local derivative of '+'
    src = steps[1].source
    assert highlighted(src) == ["n1", "n1op"]
    assert src.count('label="local 1, sends -4"') == 2
    assert "step 2: q has its gradient -4" in src
    # in step 1 only f's rule has run: q and z have theirs, x and y not yet
    first = steps[0].source
    assert "{ q | data 3 | grad -4 }" in first and "{ z | data -4 | grad 3 }" in first
    assert "{ x | data -2 | grad ? }" in first
    assert 'label="local -4, sends -4"' in first and 'label="local 3, sends 3"' in first


def test_the_last_frames_gradients_are_what_backward_stores():
    f, nodes = neuron()
    steps = backprop_steps(f)
    assert all(n.grad == 0.0 for n in nodes)          # drawing the steps stores nothing
    f.backward()                                       # and leaves the graph to backward
    for n in nodes:
        assert steps.grad_of(-1, n) == pytest.approx(n.grad)
    # the lecture's numbers
    assert [round(n.grad, 2) for n in nodes] == [-0.2, 0.39, -0.39, -0.59, 0.2]
    assert len(steps) == len(engine.topological_order([f])) == 15


def test_a_tensor_network_step_by_step():
    W = ac.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    a = ac.tensor([1.0, 2.0], requires_grad=True)
    b = ac.tensor([1.5, -5.0], requires_grad=True)      # W a + b = [0.5, -0.5]
    loss = ((W @ a + b).relu() * 3).sum()
    steps = backprop_steps(loss, params={"W": W, "a": a, "b": b})
    assert len(steps) == 8                            # sum, mul, relu, add, matmul, W, a, b
    relu = steps[2].source
    assert "step 3: 'relu' has its gradient [3, 3]" in relu
    assert 'label="local [1, 0], sends [3, 0]"' in relu   # relu' is the mask of x > 0
    assert steps[3].source.count('label="local [1, 1], sends [3, 0]"') == 2   # add
    matmul = steps[4].source                              # no diagonal to show: what it sends
    assert 'label="sends [3, 6, 0, 0]"' in matmul and 'label="sends [3, -3]"' in matmul
    loss.backward()
    for t in (W, a, b):
        np.testing.assert_allclose(steps.grad_of(-1, t), t.grad._data)


def test_html_slider_and_svgs():
    if shutil.which("dot") is None:
        pytest.fail(INSTALL_HINT)
    steps = backprop_steps(lecture()[0])
    svgs = steps.svgs()
    assert len(svgs) == 5 and all("<svg" in s for s in svgs)
    page = steps._repr_html_()
    assert page == steps.to_html()
    assert page.count("<svg") == 1 + 5                # the first frame, and all in the script
    assert 'type="range" min="0" max="4"' in page


def test_widget_needs_ipywidgets():
    steps = backprop_steps(lecture()[0])
    if importlib.util.find_spec("ipywidgets") is None:
        with pytest.raises(ImportError, match="pip install ipywidgets"):
            steps.widget()
    else:
        assert len(steps.widget().children) == 2


def test_errors():
    with pytest.raises(TypeError, match="Value or a Tensor"):
        backprop_steps(3.0)
    f, _ = lecture()
    f.backward()
    with pytest.raises(ValueError, match="already freed by backward"):
        backprop_steps(f)
    x = ac.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"shape \(2,\); pass gradient="):
        backprop_steps(x * 2)
    assert len(backprop_steps(x * 2, gradient=ac.tensor([1.0, 1.0]))) == 2
    with pytest.raises(ValueError, match="has no graph"):
        backprop_steps(ac.tensor([1.0]))
