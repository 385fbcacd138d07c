"""Drawing computational graphs with graphviz.

``draw_graph(root)`` walks the graph from ``root`` to its leaves (iteratively; big graphs are cut
at ``max_nodes`` with a visible note) and returns a ``Graph`` (a ``graphviz.Digraph``): one record
node per value or tensor, one ellipse per op, edges from the inputs to the op in argument order.
Node ids are numbered in walk order (``n0`` is the root), never taken from ``id()``, so the DOT
source is the same on every run. In Jupyter the graph displays inline as SVG.

Building the graph needs only the ``graphviz`` Python package; rendering (SVG/PNG, Jupyter
display) needs graphviz's ``dot`` program, and without it raises ``DotNotFoundError`` naming the
install commands.
"""

from __future__ import annotations

from collections import deque

import graphviz
import numpy as np

__all__ = ["draw_graph", "Graph", "DotNotFoundError", "INSTALL_HINT"]

INSTALL_HINT = (
    "graphviz's `dot` program is needed to render graphs and was not found on PATH. Install it "
    "with one of: `sudo apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` "
    "(macOS), `conda install -c conda-forge python-graphviz` (conda). "
    "Graph.to_dot() gives the DOT source without it."
)


class DotNotFoundError(graphviz.ExecutableNotFound):
    """Rendering needs graphviz's ``dot``, which is not installed."""

    def __init__(self, detail: str = ""):
        RuntimeError.__init__(self, INSTALL_HINT + (f" ({detail})" if detail else ""))


class Graph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose rendering errors say how to install ``dot``."""

    def to_dot(self) -> str:
        """The DOT source (no ``dot`` program needed)."""
        return self.source

    def pipe(self, *args, **kwargs):
        try:
            return super().pipe(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            raise DotNotFoundError(str(err)) from None

    def render(self, *args, **kwargs):
        try:
            return super().render(*args, **kwargs)
        except graphviz.ExecutableNotFound as err:
            raise DotNotFoundError(str(err)) from None


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _escape(text: str) -> str:
    for ch in "\\{}|<>\"":
        text = text.replace(ch, "\\" + ch)
    return text


def _walk(root, max_nodes: int):
    """Breadth-first from the root over all parents (also those that need no grad).
    Returns (nodes in walk order, number of nodes left out)."""
    seen = {id(root): 0}
    nodes = [root]
    queue = deque([root])
    left_out = 0
    while queue:
        node = queue.popleft()
        for parent in node._parents:
            if id(parent) in seen:
                continue
            if len(nodes) < max_nodes:
                seen[id(parent)] = len(nodes)
                nodes.append(parent)
                queue.append(parent)
            else:
                seen[id(parent)] = -1
                left_out += 1
                queue.append(parent)    # keep counting what is left out
    return nodes, seen, left_out


def _value_label(node, show_data, show_grad) -> str:
    fields = [_escape(node.label) if node.label else " "]
    if show_data:
        fields.append(f"data {_fmt(node.data)}")
    if show_grad:
        fields.append(f"grad {_fmt(node.grad)}")
    return "{ " + " | ".join(fields) + " }"


def _tensor_label(node, show_data, show_grad, names) -> str:
    name = names.get(id(node), "")
    head = _escape(name) if name else ("leaf" if not node._op else " ")
    fields = [head, f"{tuple(node.shape)} {node.dtype}"]
    if show_data and node.data.size:
        d = node.data
        if d.dtype.kind in "fc":
            fields.append(f"mean {_fmt(float(d.mean()))} std {_fmt(float(d.std()))}")
            fields.append(f"min {_fmt(float(d.min()))} max {_fmt(float(d.max()))}")
        elif d.size:
            fields.append(f"min {d.min()} max {d.max()}")
    if show_grad and node.grad is not None:
        fields.append(f"grad norm {_fmt(float(np.linalg.norm(node.grad.data)))}")
    return "{ " + " | ".join(fields) + " }"


def draw_graph(root, rankdir: str = "LR", show_data: bool = True, show_grad: bool = True,
               max_nodes: int = 200, params: dict | None = None) -> Graph:
    """Draw the graph that produced ``root`` (a Value or a Tensor).

    rankdir:   "LR" (inputs left, output right) or "TB"
    show_data: Values show their number; Tensors a summary (mean, std, min, max), never arrays
    show_grad: Values show .grad; Tensors the norm of .grad where it is set
    max_nodes: draw at most this many value/tensor nodes; the rest is summarised in a note
    params:    {name: tensor} (e.g. ``dict(model.named_parameters())``) to label parameters
    """
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if not hasattr(root, "_parents"):
        raise TypeError(f"draw_graph: expected a Value or a Tensor, got {type(root).__name__}")
    if max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1, got {max_nodes}")
    names = {id(t): n for n, t in (params or {}).items()}
    is_value = not hasattr(root, "shape")
    nodes, index, left_out = _walk(root, max_nodes)

    g = Graph(graph_attr={"rankdir": rankdir, "ordering": "in"},
              node_attr={"fontname": "Helvetica", "fontsize": "11"},
              edge_attr={"fontname": "Helvetica", "fontsize": "9"})
    for i, node in enumerate(nodes):
        label = (_value_label(node, show_data, show_grad) if is_value
                 else _tensor_label(node, show_data, show_grad, names))
        g.node(f"n{i}", label=label, shape="record")
        if node._op:
            g.node(f"n{i}op", label=_escape(node._op), shape="ellipse")
            g.edge(f"n{i}op", f"n{i}")
    cut = False
    for i, node in enumerate(nodes):
        if not node._op:
            continue
        for k, parent in enumerate(node._parents):
            j = index[id(parent)]
            if j < 0:
                cut = True
                g.edge("more", f"n{i}op", style="dashed")
            else:
                attrs = {"taillabel": str(k)} if len(node._parents) > 1 else {}
                g.edge(f"n{j}", f"n{i}op", **attrs)
    if cut or left_out:
        g.node("more", label=f"... {left_out} more node(s) not drawn (max_nodes={max_nodes})",
               shape="note", style="dashed")
    return g
