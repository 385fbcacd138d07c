"""Pictures: computational graphs (graphviz) and, later, training plots (matplotlib, imported
only when a plot is made)."""

from .graph import INSTALL_HINT, DotNotFoundError, Graph, draw_graph

__all__ = ["draw_graph", "Graph", "DotNotFoundError", "INSTALL_HINT"]
