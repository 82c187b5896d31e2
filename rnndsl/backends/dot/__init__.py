"""The Graphviz backend: the checked IR as DOT text (two views), drawn by the system `dot`."""

from .emit import CROSS_LAG_K, EDGE_STYLE, emit_dot, lane_order, parse_window, value_reads
from .render import FORMATS, RenderError, render_bytes

__all__ = ["CROSS_LAG_K", "EDGE_STYLE", "emit_dot", "lane_order", "parse_window", "value_reads", "FORMATS",
           "RenderError", "render_bytes"]
