"""DOT text -> image bytes through the system Graphviz (the only place `dot` is run)."""

from __future__ import annotations

import graphviz
from ...errors import RnndslError

__all__ = ["RenderError", "render_bytes", "FORMATS"]

FORMATS = ("svg", "png", "pdf", "dot")


class RenderError(RnndslError):
    """Graphviz is missing or failed (message is user-facing)."""


def render_bytes(dot: str, fmt: str) -> bytes:
    """Lay out and draw DOT text as svg, png or pdf (dot returns the text itself)."""
    if fmt == "dot":
        return dot.encode("utf-8")
    if fmt not in FORMATS:
        raise RenderError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    try:
        return graphviz.Source(dot).pipe(format=fmt, engine="dot")
    except graphviz.ExecutableNotFound:
        raise RenderError("Graphviz's `dot` program is not installed, so only DOT output is possible. "
                          "Install it with `apt-get install graphviz` (Debian/Ubuntu) or `brew install graphviz` "
                          "(macOS), or write DOT with --format dot") from None
    except graphviz.CalledProcessError as err:
        raise RenderError(f"Graphviz failed: {err.stderr.decode(errors='replace').strip()[:500]}") from None
