"""The model view: ``draw_model(model, input_size)`` draws a network the way papers do, one node
per layer (its type, input and output shapes, parameter count), shapes on the edges, the ops
that join paths drawn as small ellipses: a residual block's ``add``, an Inception module's
``cat`` of its four branches. Containers (Sequential, blocks, Inception modules) are boxes.

It runs one forward pass on a random input under ``trace_modules`` (in eval mode, so batch norm
uses and keeps its running statistics and dropout is off; the mode is restored afterwards) and
draws that graph with ``draw_graph(group_by_module=True, show_tensors=False)``.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from .graph import Graph, draw_graph
from .modules import _flat, trace_modules

__all__ = ["draw_model"]


def draw_model(model, input_size, depth: int | None = None, dtype="float32",
               rankdir: str = "TB", max_nodes: int = 20000) -> Graph:
    """Draw ``model`` as one node per layer for an input of shape ``input_size`` (with the batch
    dimension, e.g. ``(1, 3, 224, 224)``).

    depth: boxes for the containers down to this many levels below the model, and every module
           deeper than that drawn as one node (None: every container a box, a node per layer)
    """
    if not hasattr(model, "named_modules"):
        raise TypeError(f"draw_model: expected an nn.Module, got {type(model).__name__}")
    size = tuple(input_size)
    if not size or not all(isinstance(n, (int, np.integer)) and n > 0 for n in size):
        raise ValueError(f"draw_model: input_size must be a tuple of positive ints with the "
                         f"batch dimension first, e.g. (1, 3, 224, 224), got {input_size!r}")
    x = Tensor(np.random.default_rng(0).standard_normal(size).astype(dtype))
    was_training = model.training
    model.eval()
    try:
        with trace_modules(model) as scopes:
            out = model(x)
    finally:
        model.train(was_training)
    outs = _flat(out)
    if not outs or not outs[0]._parents:
        raise ValueError(f"draw_model: {type(model).__name__}'s forward recorded no graph (does "
                         "it have parameters that require grad, and is grad mode on?)")
    return draw_graph(outs[0], modules=scopes, group_by_module=True, depth=depth,
                      show_tensors=False, show_data=False, show_grad=False, rankdir=rankdir,
                      params={"input": x}, max_nodes=max_nodes)
