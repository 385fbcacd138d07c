"""Pictures: computational graphs (graphviz), grouped by module if asked, the model view,
backprop step by step, and training plots (matplotlib, imported only when a plot is made)."""

from .graph import (INSTALL_HINT, DotNotFoundError, Graph, ModuleScopes, draw_graph,
                    draw_module_graph, trace_modules)
from .model_view import draw_model
from .steps import BackpropSteps, backprop_steps

__all__ = ["draw_graph", "draw_model", "backprop_steps", "BackpropSteps", "draw_module_graph",
           "trace_modules", "ModuleScopes", "Graph", "DotNotFoundError", "INSTALL_HINT"]
