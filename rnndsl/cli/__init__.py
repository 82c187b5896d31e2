"""The command line.  The only package that reads files, prints and chooses exit codes.

Exit codes are `errors.ExitCode` (documented in docs/commands.md#exit-codes): every error
rnndsl raises on purpose is an `RnndslError` carrying its code, translated here once; anything
else is a bug (exit 3).
`check` and `render` never import TensorFlow; `compile` imports it only when it runs.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Sequence

from ..errors import ExitCode, RnndslError, SpecError
from . import check, compare, compile, export, fmt, lsp, render, serve
from .common import UsageError

__all__ = ["main", "build_parser", "UsageError"]


def build_parser() -> argparse.ArgumentParser:
    from ..version import __version__

    ap = argparse.ArgumentParser(prog="rnndsl", description="Check, draw and compile recurrent wiring specs (.rnn).")
    ap.add_argument("--version", action="version", version=f"rnndsl {__version__}")
    ap.add_argument("--traceback", action="store_true", help="on an internal error, print the Python traceback")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check.add_parser(sub)
    render.add_parser(sub)
    compile.add_parser(sub)
    compare.add_parser(sub)
    export.add_parser(sub)
    lsp.add_parser(sub)
    fmt.add_parser(sub)
    serve.add_parser(sub)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `rnndsl` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SpecError:  # its diagnostics were printed where the spec was read
        return int(ExitCode.SPEC)
    except RnndslError as err:
        print(f"rnndsl: error: {err}", file=sys.stderr)
        return int(err.exit_code)
    except KeyboardInterrupt:
        print("rnndsl: interrupted", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except Exception as err:  # a bug in rnndsl: say so plainly, exit 3 (1 is for spec errors)
        if args.traceback:
            traceback.print_exc()
        print(f"rnndsl: internal error: {type(err).__name__}: {err}\n"
              f"  this is a bug in rnndsl; rerun with --traceback for details and please report it",
              file=sys.stderr)
        return int(ExitCode.INTERNAL)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
