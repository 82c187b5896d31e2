"""`rnndsl render SPEC [-o FILE] [--view folded|unrolled] [--format ...] [--shapes] [--steps N | --window A..B]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..backends.dot import FORMATS, RenderError, emit_dot, parse_window, render_bytes
from .common import UsageError, check_output_path, load, write_atomic

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the render sub-command."""
    p = sub.add_parser("render", help="draw a spec with Graphviz (no TensorFlow)")
    p.add_argument("spec", metavar="SPEC")
    p.add_argument("-o", "--output", metavar="FILE", help="output file (default: DOT to stdout)")
    p.add_argument("--view", choices=("unrolled", "folded"), default="unrolled")
    p.add_argument("--format", choices=FORMATS, help="default: from the file suffix")
    p.add_argument("--shapes", action="store_true", help="label values and edges with tensor shapes")
    p.add_argument("--steps", type=int, metavar="N", help="draw only the first N steps (then ..., then the last)")
    p.add_argument("--window", metavar="A..B",
                   help="draw only steps A..B (B may be last or last-K); reads from outside come from a ... node")
    p.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    fmt = args.format
    if fmt is None:
        suffix = Path(args.output).suffix.lstrip(".").lower() if args.output else "dot"
        if suffix not in ("svg", "png", "pdf", "dot", "gv"):
            raise UsageError(f"cannot tell the format from '{args.output}'; use --format svg|png|pdf|dot")
        fmt = "dot" if suffix == "gv" else suffix
    if args.steps is not None and args.steps < 1:
        raise UsageError("--steps must be at least 1")
    if args.steps is not None and args.window is not None:
        raise UsageError("use --steps or --window, not both")
    if fmt != "dot" and not args.output:
        raise UsageError(f"{fmt} output needs -o FILE")
    out = check_output_path(args.output, protect=(args.spec,)) if args.output else None
    analysed, _ = load(args.spec)
    window = None
    if args.window is not None:
        try:
            window = parse_window(args.window, analysed.checked.program.steps)
        except ValueError as err:
            raise UsageError(str(err)) from None
    dot = emit_dot(analysed.checked, view=args.view, shapes=args.shapes, max_steps=args.steps, window=window)
    try:
        data = render_bytes(dot, fmt)
    except RenderError as err:
        raise UsageError(str(err)) from None
    if out is not None:
        write_atomic(out, data)
        print(f"rnndsl: wrote {args.output} ({args.view} view, {fmt})", file=sys.stderr)
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0
