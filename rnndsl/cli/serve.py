"""`rnndsl serve [--port PORT] [--read-only] [FOLDER]`: the web playground on 127.0.0.1 (no TensorFlow)."""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from .common import UsageError

__all__ = ["add_parser"]

DEFAULT_PORT = 8765


def _port(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got '{text}'") from None
    if not 0 <= n <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, got {n}")
    return n


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the serve sub-command."""
    p = sub.add_parser("serve", help="a web playground on 127.0.0.1: edit a spec, see its diagnostics and diagrams live")
    p.add_argument("folder", metavar="FOLDER", nargs="?",
                   help="serve the .rnn files of this folder (or open this .rnn file); default: an embedded example")
    p.add_argument("--port", type=_port, default=DEFAULT_PORT,
                   help=f"the port on 127.0.0.1 (default {DEFAULT_PORT}; 0 picks a free one)")
    p.add_argument("--read-only", action="store_true", help="no Save button: never write a file")
    p.add_argument("--log", action="store_true", help="print a line per request")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serve import make_server  # here, not at the top: the other commands start without http.server

    folder = args.folder
    if folder is not None:
        path = Path(folder)
        if not path.exists():
            raise UsageError(f"{folder}: no such folder")
        if path.is_file() and path.suffix != ".rnn":
            raise UsageError(f"{folder}: not a folder or a .rnn file")
        if not path.is_dir() and not path.is_file():
            raise UsageError(f"{folder}: not a folder or a .rnn file")
    try:
        server = make_server(folder, port=args.port, read_only=args.read_only, quiet=not args.log)
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise UsageError(f"port {args.port} is in use; choose another with --port (0 picks a free one)") from None
        raise UsageError(f"cannot serve: {err.strerror or err}") from None
    where = f"{server.folder.root}" if server.folder else "the embedded example"
    print(f"rnndsl: serving {where} on {server.url} (127.0.0.1 only; Ctrl-C stops)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("rnndsl: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
