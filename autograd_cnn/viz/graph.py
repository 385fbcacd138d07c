"""Drawing computational graphs with graphviz.

``draw_graph(root)`` walks the graph from ``root`` to its leaves (iteratively; big graphs are cut
at ``max_nodes`` with a visible note) and returns a ``Graph`` (a ``graphviz.Digraph``): one node
per value or tensor, one ellipse per op, edges from the inputs to the op in argument order.
Value graphs run left to right (record nodes, as in the lecture); Tensor graphs top to bottom,
their nodes small tables coloured by role (``COLORS``), scalar constants folded into their op.
After backward every tensor node shows the gradient it received, also where the graph was freed
(backward leaves ``tensor.NodeRecord``s in place of the freed inputs). With module scopes
(``trace_modules``) modules are boxes, or single nodes (``group_by_module``; ``draw_model``).
Node ids are numbered in walk order (``n0`` is the root; ``m<k>`` the k-th module call), never
taken from ``id()``, so the DOT source is the same on every run. In Jupyter the graph displays
inline as SVG.

Building the graph needs only the ``graphviz`` Python package; rendering (SVG/PNG, Jupyter
display) needs graphviz's ``dot`` program, and without it raises ``DotNotFoundError`` naming the
install commands.
"""

from __future__ import annotations

from collections import deque

import graphviz
import numpy as np

from .modules import ModuleScopes, _flat, scopes_for, trace_modules


__all__ = ["draw_graph", "draw_module_graph", "trace_modules", "ModuleScopes", "Graph",
           "DotNotFoundError", "INSTALL_HINT"]

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


_MISSING = object()


def _walk(root, max_nodes: int, skip=lambda node, parent: False):
    """Breadth-first from the root over all parents (also those that need no grad), except
    those ``skip(node, parent)`` folds into their op. Returns (nodes in walk order,
    {id: index, -1 for a node left out}, number of nodes left out)."""
    seen = {id(root): 0}
    nodes = [root]
    queue = deque([root])
    left_out = 0
    while queue:
        node = queue.popleft()
        for parent in node._parents:
            if id(parent) in seen or skip(node, parent):
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


def _value_label(node, show_data, show_grad, grad=_MISSING) -> str:
    fields = [_escape(node.label) if node.label else " "]
    if show_data:
        fields.append(f"data {_fmt(node.data)}")
    if show_grad:
        grad = node.grad if grad is _MISSING else grad
        fields.append("grad ?" if grad is None else f"grad {_fmt(grad)}")
    return "{ " + " | ".join(fields) + " }"


# ---- tensor nodes ------------------------------------------------------------------------------

# fill colours by role, as in the lecture slides' legend
COLORS = {
    "input": "#dbeafe",       # data that needs no gradient (a batch, a target)
    "parameter": "#dcfce7",   # leaves that require grad (weights)
    "op": "#f3f4f6",          # the op ellipses
    "output": "#fde68a",      # the root
    "tensor": "#ffffff",      # intermediate results
    "gradient": "#fee2e2",    # the gradient row of every node after backward
    "module": "#ede9fe",      # a module drawn as one node (group_by_module, draw_model)
}
GRAD_FONT = "#b91c1c"
HIGHLIGHT = "#dc2626"         # the node whose rule runs in a backprop_steps frame
SMALL = 4                     # tensors with at most this many elements show their values


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _values(a: np.ndarray) -> str:
    a = np.asarray(a)
    if a.ndim == 0:
        return _fmt(a.item()) if a.dtype.kind in "fc" else str(a.item())
    flat = ", ".join(_fmt(v) if a.dtype.kind in "fc" else str(v) for v in a.reshape(-1).tolist())
    return f"[{flat}]"


def _is_constant(parent) -> bool:
    """A one-element leaf that needs no grad: a scalar operand, a mean's divisor."""
    return (getattr(parent, "_backward", 0) is None and not parent.requires_grad
            and hasattr(parent, "_data") and parent._data.size == 1)


class _View:
    """What a tensor node shows, read from a live Tensor or from the NodeRecord a freed graph
    keeps in its place (see ``tensor.NodeRecord``)."""

    def __init__(self, node):
        live = node
        if not hasattr(node, "_data"):          # a NodeRecord: the tensor may still be alive
            live = node.ref()
        self.shape, self.dtype, self.op = tuple(node.shape), node.dtype, node._op
        self.data = live._data if live is not None else None
        self.target = live if live is not None else node
        if node._op:                              # a result: the record's summary
            rec = getattr(node, "_record", node) if live is node else node
            self.grad = rec.grad if rec is not None else None
            if self.grad is None and live is not None and getattr(live, "grad", None) is not None:
                self.grad = live.grad._data        # retain_grad()
            self.role = "tensor"
        else:
            self.grad = live.grad._data if live is not None and live.grad is not None else None
            self.role = "parameter" if node.requires_grad else "input"


def _tensor_label(view: _View, name: str, show_data: bool, show_grad: bool,
                  highlight: bool = False) -> str:
    rows = []
    if name:
        rows.append(f"<B>{_html(name)}</B>")
    elif view.role in ("input", "parameter", "output"):
        rows.append(f"<I>{view.role}</I>")
    rows.append(f"{view.shape} {view.dtype}")
    d = view.data
    if show_data and d is not None and d.size:
        if d.size <= SMALL:
            rows.append(_html(_values(d)))
        elif d.dtype.kind in "fc":
            # a graph is drawn to debug Inf and NaN too: their statistics are inf/nan, silently
            with np.errstate(invalid="ignore", over="ignore"):
                rows.append(f"mean {_fmt(float(d.mean()))} std {_fmt(float(d.std()))}")
                rows.append(f"min {_fmt(float(d.min()))} max {_fmt(float(d.max()))}")
        else:
            rows.append(f"min {d.min()} max {d.max()}")
    cells = [f"<TR><TD>{r}</TD></TR>" for r in rows]
    g = view.grad
    if show_grad and g is not None:
        if isinstance(g, float):
            text = f"grad norm {_fmt(g)}"
        elif np.asarray(g).size <= SMALL:
            text = "grad " + _html(_values(g))
        else:
            with np.errstate(invalid="ignore", over="ignore"):
                text = f"grad norm {_fmt(float(np.linalg.norm(np.asarray(g, np.float64))))}"
        cells.append(f'<TR><TD BGCOLOR="{COLORS["gradient"]}"><FONT COLOR="{GRAD_FONT}">'
                     f"{text}</FONT></TD></TR>")
    border = f'BORDER="3" COLOR="{HIGHLIGHT}"' if highlight else 'BORDER="0"'
    return (f'<<TABLE {border} CELLBORDER="1" CELLSPACING="0" CELLPADDING="2" '
            f'BGCOLOR="{COLORS[view.role]}">' + "".join(cells) + "</TABLE>>")


def _op_label(node, folded: bool) -> str:
    """The op's name; with constants folded in, its arguments: ``mul(·, 0.2)``."""
    if not folded:
        return _escape(node._op)
    args = [_values(p._data) if _is_constant(p) else "·" for p in node._parents]
    return _escape(f"{node._op}({', '.join(args)})")


def draw_graph(root, rankdir: str | None = None, show_data: bool = True, show_grad: bool = True,
               max_nodes: int = 200, params: dict | None = None, modules=None,
               group_depth: int | None = None, fold_constants: bool = True,
               group_by_module: bool = False, depth: int | None = None, model=None,
               show_tensors: bool = True, _step=None) -> Graph:
    """Draw the graph that produced ``root`` (a Value or a Tensor).

    rankdir:   "TB" (inputs at the top, the output at the bottom: the default for Tensors, whose
               nodes are tall), "LR" (left to right: the default for Values, as in the lecture),
               "BT" or "RL"
    show_data: Values show their number; Tensors their values when they have at most 4
               elements, else a summary (mean, std, min, max), never arrays
    show_grad: Values show .grad; after backward every Tensor node shows the gradient it
               received (its values when small, else its norm), not only the leaves. Backward
               frees the graph's saved arrays but keeps its links (``tensor.NodeRecord``), so
               this works without ``retain_graph=True``.
    max_nodes: draw at most this many value/tensor nodes; the rest is summarised in a note
    params:    {name: tensor} (e.g. ``dict(model.named_parameters())``) to label parameters
    modules:   a ``ModuleScopes`` recorded with ``trace_modules(model)`` during the forward
               pass: every tensor (and its op) is drawn inside a box (a graphviz cluster) for
               the module call that produced it, nested like the modules, and parameters are
               labelled with their names. ``draw_module_graph`` does both steps.
    group_depth: with ``modules``, draw boxes only this many levels below the traced module
               (0: one box for the module; None: every level down to single layers)
    group_by_module: with ``model`` (whose forward ran under ``trace_modules(model)``) or
               ``modules``: each module down to ``depth`` levels below the model is a labelled
               box, and every module below ``depth`` (and every layer, a module without
               children) is one node with its input/output shapes and parameter count
               (None: boxes all the way down, a node per layer)
    show_tensors: False draws only the ops (and module nodes), the shapes on the edges
    fold_constants: draw one-element constants (a scalar operand, a mean's divisor) inside
               their op's label, ``mul(·, 0.2)``, rather than as nodes of their own

    Tensor nodes are coloured by role: ``COLORS`` (input, parameter, op, output, gradient).
    (``_step`` is ``steps.StepState``: the frames of ``backprop_steps`` draw through here.)
    """
    if rankdir is not None and rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_graph: rankdir must be 'LR', 'TB', 'RL' or 'BT', got {rankdir!r}")
    if not hasattr(root, "_parents"):
        raise TypeError(f"draw_graph: expected a Value or a Tensor, got {type(root).__name__}")
    if max_nodes < 1:
        raise ValueError(f"draw_graph: max_nodes must be at least 1, got {max_nodes}")
    if modules is not None and not isinstance(modules, ModuleScopes):
        raise TypeError(f"draw_graph: modules must be the ModuleScopes that trace_modules(model) "
                        f"records (with trace_modules(model) as scopes: out = model(x)), got "
                        f"{type(modules).__name__}; or call draw_module_graph(model, x)")
    if group_depth is not None and (isinstance(group_depth, bool)
                                    or not isinstance(group_depth, int) or group_depth < 0):
        raise ValueError(f"draw_graph: group_depth must be a non-negative int or None, got "
                         f"{group_depth!r}")
    if group_by_module:
        if modules is None:
            if model is None:
                raise TypeError("draw_graph: group_by_module=True needs model= (the module "
                                "whose forward made the root), or modules= from trace_modules")
            modules = scopes_for(model, root)
            if modules is None:
                raise ValueError(
                    f"draw_graph: group_by_module=True, but no forward of this "
                    f"{type(model).__name__} recorded under trace_modules made the root. Run "
                    "the forward as `with ac.viz.trace_modules(model): out = model(x)`, or "
                    "call draw_module_graph(model, x, group_by_module=True, depth=k)")
        group_depth = depth
    elif depth is not None:
        raise ValueError("draw_graph: depth= goes with group_by_module=True (for boxes without "
                         "module nodes, pass modules= and group_depth=)")
    if modules is not None and params is None:
        params = modules.params
    names = {id(t): n for n, t in (params or {}).items()}
    is_value = not hasattr(root, "shape")
    if rankdir is None:
        rankdir = "LR" if is_value else "TB"

    def fold(node, parent) -> bool:
        return (fold_constants and not is_value and id(parent) not in names
                and _is_constant(parent))

    nodes, index, left_out = _walk(root, max_nodes, fold)
    # with group_by_module, a layer (and any module below the depth) is one node "m<call>"
    inside = {}
    if group_by_module:
        for i, node in enumerate(nodes):
            call = modules.collapsed(node, group_depth)
            if call is not None:
                inside[i] = call

    def source(j: int) -> str:
        """The drawn node a tensor comes out of."""
        if j in inside:
            return f"m{inside[j]}"
        return f"n{j}op" if not show_tensors and nodes[j]._op else f"n{j}"

    g = Graph(graph_attr={"rankdir": rankdir, "ordering": "in", "nodesep": "0.15",
                          "ranksep": "0.25"},
              node_attr={"fontname": "Helvetica", "fontsize": "10"},
              edge_attr={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.6"})
    decls = []                                # (module path or None, node name, attributes)
    for call in sorted(set(inside.values())):
        c = modules.calls[call]
        parent = c.path.rpartition(".")[0]
        if group_depth is not None and parent:
            parent = ".".join(parent.split(".")[:group_depth])
        decls.append((parent, f"m{call}", {"label": _module_label(c), "shape": "plain",
                                           "tooltip": f"{c.path}: {c.type}"}))
    for i, node in enumerate(nodes):
        if i in inside:
            continue
        path = modules.scope(node, group_depth) if modules is not None else None
        current = _step is not None and id(node) == _step.current
        if is_value:
            grad = _step.grads.get(id(node)) if _step is not None else _MISSING
            attrs = {"label": _value_label(node, show_data, show_grad, grad), "shape": "record"}
            if current:
                attrs.update(style="filled,bold", fillcolor=COLORS["gradient"], color=HIGHLIGHT,
                             penwidth="2.5")
        else:
            view = _View(node)
            if i == 0:
                view.role = "output"
            if _step is not None:
                view.grad = _step.grads.get(id(node))
            attrs = {"label": _tensor_label(view, names.get(id(view.target), ""),
                                            show_data, show_grad, current), "shape": "plain"}
        if show_tensors or not node._op or i == 0:
            decls.append((path, f"n{i}", attrs))
        if node._op:
            folded = any(fold(node, p) for p in node._parents)
            op_attrs = {"label": _op_label(node, folded), "shape": "ellipse"}
            if not is_value:
                op_attrs.update(style="filled", fillcolor=COLORS["op"], margin="0.05,0.02",
                                height="0.3")
            if current:
                op_attrs.update(style="filled,bold", fillcolor=COLORS["gradient"],
                                color=HIGHLIGHT, penwidth="2.5")
            decls.append((path, f"n{i}op", op_attrs))
    if modules is None:
        for _, name, attrs in decls:
            g.node(name, **attrs)
    else:
        _emit_clusters(g, decls, modules)
    if 0 in inside:                           # the output comes out of a module node
        g.node("n0", label=_tensor_label(_output_view(root), "", show_data, show_grad),
               shape="plain")
        g.edge(f"m{inside[0]}", "n0", label=_shape_text(root.shape))
    for i, node in enumerate(nodes):
        if node._op and i not in inside and (show_tensors or i == 0):
            g.edge(f"n{i}op", f"n{i}", **({} if is_value else {"weight": "4"}))
    cut = False
    edges = set()
    for i, node in enumerate(nodes):
        if not node._op:
            continue
        target = f"m{inside[i]}" if i in inside else f"n{i}op"
        drawn = [p for p in node._parents if not fold(node, p)]
        for k, parent in enumerate(node._parents):
            if fold(node, parent):
                continue
            j = index[id(parent)]
            if j < 0:
                cut = True
                g.edge("more", target, style="dashed")
                continue
            src = source(j)
            if src == target or (src, target) in edges:
                continue                      # inside one module node, or drawn already
            edges.add((src, target))
            # the data path (results, not leaves) weighs more: drawn straight, leaves beside it
            attrs = {"weight": "4"} if parent._op and not is_value else {}
            if len(drawn) > 1 and i not in inside:
                attrs["taillabel"] = str(k)
            if src[0] == "m" or not show_tensors:
                attrs["label"] = _shape_text(parent.shape)
            if _step is not None and id(node) == _step.current and k in _step.sent:
                # the step's local derivative and what it sends, against the flow
                attrs.update(label=_step.sent[k], fontcolor=HIGHLIGHT, color=HIGHLIGHT,
                             penwidth="2")
            g.edge(src, target, **attrs)
    if cut or left_out:
        g.node("more", label=f"... {left_out} more node(s) not drawn (max_nodes={max_nodes})",
               shape="note", style="dashed")
    if _step is not None and _step.title:
        g.attr(label=_step.title, labelloc="t", fontname="Helvetica", fontsize="11")
    return g


def _shape_text(shape) -> str:
    return "×".join(str(n) for n in shape) if len(shape) else "scalar"


def _output_view(root) -> "_View":
    view = _View(root)
    view.role = "output"
    return view


def _module_label(c) -> str:
    """A module call drawn as one node: name and type, input and output shapes, parameters."""
    name = c.path.rpartition(".")[2] or c.type
    rows = [f"<B>{_html(name)}</B>: {_html(c.type)}" if c.path else f"<B>{_html(c.type)}</B>"]
    ins = ", ".join(_shape_text(s) for s in c.in_shapes) or "-"
    outs = ", ".join(_shape_text(s) for s in c.out_shapes) or "-"
    rows.append(f"{ins} → {outs}")
    if c.n_params:
        rows.append(f"{c.n_params:,} params")
    return ('<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="2" '
            f'BGCOLOR="{COLORS["module"]}">' + "".join(f"<TR><TD>{r}</TD></TR>" for r in rows)
            + "</TABLE>>")


def draw_module_graph(model, *inputs, group_depth: int | None = None, **kwargs) -> Graph:
    """Run ``model(*inputs)`` under ``trace_modules`` and draw the result's graph with a box per
    module, parameters and inputs labelled with their names (``draw_graph`` keyword arguments
    pass through). A tuple output draws its first tensor."""
    with trace_modules(model) as scopes:
        out = model(*inputs)
    outs = _flat(out)
    if not outs:
        raise TypeError(f"draw_module_graph: the model returned {type(out).__name__}, not a "
                        "Tensor")
    if not outs[0]._parents:
        raise ValueError("draw_module_graph: the output has no recorded graph; is grad mode on "
                         "(not inside no_grad) and does some parameter or input require grad?")
    if "params" not in kwargs:             # name the parameters and the inputs
        names = dict(scopes.params)
        tensors = _flat(list(inputs))
        names.update({("input" if len(tensors) == 1 else f"input{i}"): t
                      for i, t in enumerate(tensors)})
        kwargs["params"] = names
    return draw_graph(outs[0], modules=scopes, group_depth=group_depth, **kwargs)


def _emit_clusters(g, decls, modules: ModuleScopes) -> None:
    """Declare the nodes inside nested ``subgraph cluster_*`` blocks, one per module path."""
    tree: dict = {}                          # path -> list of (name, attrs); children by prefix
    for path, name, attrs in decls:
        tree.setdefault(path, []).append((name, attrs))
    for path in list(tree):                  # make sure every ancestor exists
        while path:
            path = path.rpartition(".")[0]
            tree.setdefault(path, [])
    for name, attrs in tree.pop(None, []):
        g.node(name, **attrs)
    ids = {path: f"cluster_{k}" for k, path in enumerate(sorted(tree))}

    def emit(parent, path: str) -> None:
        label = modules.types.get(path, "")
        label = f"{path.rpartition('.')[2]}: {label}" if path else label
        with parent.subgraph(name=ids[path]) as c:
            c.attr(label=label, style="rounded,dashed",
                   color="gray40", fontname="Helvetica", fontsize="10")
            for name, attrs in tree[path]:
                c.node(name, **attrs)
            prefix = path + "." if path else ""
            for child in sorted(tree):
                if child != path and child.startswith(prefix) and \
                        "." not in child[len(prefix):]:
                    emit(c, child)

    if "" in tree:
        emit(g, "")
    else:                                    # paths not under one traced root
        for top in sorted(p for p in tree if "." not in p):
            emit(g, top)
