"""Pictures: computational graphs (graphviz), grouped by module if asked, the model view,
backprop step by step, and training plots (matplotlib, imported only when a plot is made)."""

from .graph import (INSTALL_HINT, DotNotFoundError, Graph, ModuleScopes, draw_graph,
                    draw_module_graph, trace_modules)
from .model_view import draw_model
from .steps import BackpropSteps, backprop_steps

__all__ = ["draw_graph", "draw_model", "backprop_steps", "BackpropSteps", "draw_module_graph",
           "trace_modules", "ModuleScopes", "Graph", "DotNotFoundError", "INSTALL_HINT"]

# Interpretation pictures (matplotlib imported only when one is drawn); GradientFlow records
# with hooks and draws with plot_gradient_flow.
from ..interpret.gradient_flow import GradientFlow
from .interpret_plots import (plot_embedding, plot_gradient_flow, plot_heatmaps,
                              plot_layer_norms, plot_patches)

__all__ += ["GradientFlow", "plot_gradient_flow", "plot_layer_norms", "plot_heatmaps",
            "plot_patches", "plot_embedding"]
