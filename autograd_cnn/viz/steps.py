"""Backprop, one step at a time: ``backprop_steps(root)`` draws the backward pass as the engine
runs it.

The engine (``engine.run_backward``) visits the nodes in reverse topological order; at each node
the total gradient d root / d node is complete, and the node's rule sends one contribution to each
of its inputs (the chain rule: the node's gradient times the local derivative d node / d input).
Contributions meeting at a node are added. Each frame shows one such step:

- the node being processed (and its op) outlined in red;
- every gradient delivered so far filled in (the sum of the contributions received until now;
  '?' where nothing has arrived yet);
- on the edges into the node's op, the step's local derivative (Values) and what it sends.

The steps come from the engine itself (its ``on_step`` callback), run with ``retain_graph=True``
and without storing ``.grad``: drawing the steps changes nothing, and ``root.backward()`` can be
called afterwards. So the last frame's gradients are exactly what ``backward()`` stores.
"""

from __future__ import annotations

import json

import numpy as np

from .. import engine
from .graph import Graph, _fmt, _values, draw_graph

__all__ = ["backprop_steps", "BackpropSteps"]


# ops whose output element i depends on input element i only: their local derivative is a
# diagonal Jacobian, shown as one number per element (the rule applied to a gradient of ones)
ELEMENTWISE = {"add", "sub", "mul", "div", "pow", "neg", "abs", "exp", "log", "sqrt", "sin",
               "cos", "square", "clip", "clamp", "maximum", "minimum", "relu", "sigmoid", "tanh",
               "elu", "leaky_relu", "softplus", "hardtanh", "clone"}


def _local_derivative(node, k: int):
    """d node / d input k for a Value; its diagonal for an elementwise Tensor op with an input of
    the output's shape; None otherwise (a full Jacobian is not drawn)."""
    if not hasattr(node, "shape"):
        return node._backward(node, 1.0)[k]
    parent = node._parents[k]
    if node._op not in ELEMENTWISE or parent.shape != node.shape:
        return None
    return node._backward(node, np.ones(node.shape, node.dtype))[k]


class StepState:
    """What one frame shows: gradients delivered so far, the node processed, what it sent."""

    def __init__(self, grads: dict, current: int, sent: dict, title: str):
        self.grads = grads          # id(node) -> gradient delivered so far
        self.current = current      # id of the node whose step this is
        self.sent = sent            # parent index -> edge label
        self.title = title


def _summary(g) -> str:
    """A number for a Value's gradient; values or the norm for a Tensor's."""
    if isinstance(g, (float, int)):
        return _fmt(g)
    a = np.asarray(g)
    if a.size <= 6:
        return _values(a)
    return f"norm {_fmt(float(np.linalg.norm(a.astype(np.float64))))}"


def _name(node) -> str:
    label = getattr(node, "label", "")
    if label:
        return label
    return f"'{node._op}'" if node._op else "a leaf"


class BackpropSteps:
    """The frames of one backward pass: a sequence of ``Graph`` drawings (``len``, indexing,
    iteration), with

    ``nodes[i]``, ``grads[i]``: the node processed at step i, and {id(node): gradient delivered
        so far} after it (``grad_of(i, node)`` reads it);
    ``svgs()``: the frames as SVG strings (needs graphviz's ``dot``);
    ``to_html()``: one self-contained HTML string, a slider over the SVG frames (it is also what
        Jupyter displays);
    ``widget()``: an ipywidgets slider, when ipywidgets is installed.
    """

    def __init__(self, frames: list, nodes: list, grads: list):
        self.frames, self.nodes, self.grads = frames, nodes, grads

    def __len__(self) -> int:
        return len(self.frames)

    def __getitem__(self, i) -> Graph:
        return self.frames[i]

    def __iter__(self):
        return iter(self.frames)

    def grad_of(self, i: int, node):
        """The gradient delivered to ``node`` after step ``i`` (None if nothing yet)."""
        return self.grads[i].get(id(node))

    def svgs(self) -> list:
        return [f.pipe(format="svg").decode() for f in self.frames]

    def to_html(self) -> str:
        svgs = self.svgs()
        uid = f"bp{id(self):x}"
        frames = json.dumps(svgs)
        return (
            f'<div id="{uid}"><input type="range" min="0" max="{len(svgs) - 1}" value="0" '
            f'style="width:60%" oninput="{uid}_show(this.value)"> '
            f'<span id="{uid}_n">step 1 of {len(svgs)}</span>'
            f'<div id="{uid}_svg">{svgs[0]}</div></div>'
            f"<script>var {uid}_frames = {frames};"
            f"function {uid}_show(i) {{ document.getElementById('{uid}_svg').innerHTML = "
            f"{uid}_frames[i]; document.getElementById('{uid}_n').textContent = "
            f"'step ' + (Number(i) + 1) + ' of {len(svgs)}'; }}</script>")

    def _repr_html_(self) -> str:
        return self.to_html()

    def widget(self):
        """An ipywidgets slider showing one frame at a time."""
        try:
            import ipywidgets as widgets
        except ImportError:
            raise ImportError("BackpropSteps.widget() needs ipywidgets (pip install "
                              "ipywidgets); to_html() gives a slider without it") from None
        svgs = self.svgs()
        out = widgets.HTML(svgs[0])
        slider = widgets.IntSlider(min=0, max=len(svgs) - 1, description="step")
        slider.observe(lambda change: setattr(out, "value", svgs[change["new"]]), names="value")
        return widgets.VBox([slider, out])

    def __repr__(self) -> str:
        return f"BackpropSteps({len(self)} frames)"


def backprop_steps(root, gradient=None, **draw_kwargs) -> BackpropSteps:
    """One drawing per step of the backward pass from ``root`` (a Value, or a Tensor: a
    one-element one, or pass ``gradient``), in the engine's order. Keyword arguments go to
    ``draw_graph`` (``params``, ``rankdir``, ``show_data``, ...).

    Draw the steps before ``root.backward()``: the graph must not have been freed yet. The
    frames keep a copy of the delivered gradients per step, so this is meant for graphs of a
    size one reads step by step (tens of nodes), not for real networks.
    """
    if not hasattr(root, "_parents"):
        raise TypeError(f"backprop_steps: expected a Value or a Tensor, got "
                        f"{type(root).__name__}")
    if not root.requires_grad:
        raise ValueError("backprop_steps: the root has no graph (nothing it depends on "
                         "requires grad)")
    if root._backward is engine.freed_rule:
        raise ValueError(f"backprop_steps: the graph behind this node (op '{root._op}') was "
                         "already freed by backward(); draw the steps before calling backward()")
    is_value = not hasattr(root, "shape")
    if is_value:
        seed = 1.0
    elif gradient is None:
        if root._data.size != 1:
            raise ValueError(f"backprop_steps: the root has shape {root.shape}; pass gradient= "
                             "(as for backward()) or draw the steps of a one-element output")
        seed = np.ones(root.shape, root.dtype)
    else:
        seed = np.asarray(getattr(gradient, "_data", gradient), dtype=root.dtype)
        if seed.shape != root.shape:
            raise ValueError(f"backprop_steps: gradient has shape {seed.shape} but the root "
                             f"has shape {root.shape}")

    delivered: dict = {id(root): seed}
    nodes, snapshots, states = [], [], []

    def on_step(node, grad, sent):
        labels = {}
        for k, (parent, g) in enumerate(zip(node._parents, sent)):
            if g is None:
                continue
            key = id(parent)
            delivered[key] = g if key not in delivered else delivered[key] + g
            local = _local_derivative(node, k)
            labels[k] = (f"sends {_summary(g)}" if local is None else
                         f"local {_summary(local)}, sends {_summary(g)}")
        step = len(nodes) + 1
        if node._backward is None:
            title = f"step {step}: {_name(node)} receives its gradient {_summary(grad)}"
        else:
            title = (f"step {step}: {_name(node)} has its gradient {_summary(grad)}; "
                     f"its rule sends it on to its {len(node._parents)} input(s)")
        nodes.append(node)
        snapshots.append(dict(delivered))
        states.append(StepState(dict(delivered), id(node), labels, title))

    # no .grad is stored (inputs=[]), the graph is kept: this is a dry run of the real pass
    engine.run_backward([root], [seed], retain_graph=True, inputs=[], on_step=on_step)
    frames = [draw_graph(root, _step=state, **draw_kwargs) for state in states]
    return BackpropSteps(frames, nodes, snapshots)
