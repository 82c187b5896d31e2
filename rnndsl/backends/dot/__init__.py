"""The Graphviz backend: the checked IR as DOT text (two views), drawn by the system `dot`."""

from .emit import EDGE_STYLE, emit_dot, value_reads
from .render import FORMATS, RenderError, render_bytes

__all__ = ["EDGE_STYLE", "emit_dot", "value_reads", "FORMATS", "RenderError", "render_bytes"]
