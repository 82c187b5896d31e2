"""`rnndsl lsp`: the Language Server over stdin and stdout, for editors (never imports TensorFlow)."""

from __future__ import annotations

import argparse

__all__ = ["add_parser"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the lsp sub-command."""
    p = sub.add_parser("lsp", help="run the language server for editors (LSP over stdin and stdout)",
                       description="A Language Server for .rnn specs: diagnostics as you type, hover (shapes, "
                                   "parameters, FLOPs, edge kinds), go to definition, completion. "
                                   "See docs/editors.md.")
    p.add_argument("--stdio", action="store_true",
                   help="talk over stdin and stdout (the default and only transport; accepted for editors that pass it)")
    p.add_argument("--log-level", choices=("debug", "info", "warning", "error"), default="warning",
                   help="what to log to stderr (default: warning)")
    p.set_defaults(func=cmd_lsp)


def cmd_lsp(args: argparse.Namespace) -> int:
    """Serve until the client says exit: 0 after a shutdown request, 1 otherwise (as LSP asks)."""
    from ..lsp.server import serve  # pygls loads only for this command

    return serve(log_level=args.log_level)
